// xent against PyTorch, the softmax family and the fixtures themselves (golden_runner.hpp: the
// method and tolerances; test_golden_cross_entropy.cpp, test_golden_nll_bce.cpp: the losses).
#include <xent/reference.hpp>

#include "golden_runner.hpp"

namespace {

// ---- softmax family -----------------------------------------------------------------------------

template <class S>
void run_softmax_case(const Case& c) {
  using P = Precision<S>;
  Report r(c);
  const long N = c.N, C = c.C;
  const double logC = std::log(static_cast<double>(std::max(C, 1L)));

  Expect out;  // the forward result
  out.resize(c.output.size());
  out.v = c.output;
  out.rtol = P::rtol;
  out.cols = c.op == "logsumexp" ? 1 : C;
  Expect grad;  // the vjp
  grad.resize(c.grad_none.size());
  grad.v = c.grad_none;
  grad.rtol = P::rtol;
  grad.cols = C;
  for (long n = 0; n < N; ++n) {
    const double* row = &c.logits[static_cast<std::size_t>(n * C)];
    const double* g = &c.grad_outputs[static_cast<std::size_t>(c.op == "logsumexp" ? n : n * C)];
    double gabs = 0;
    for (long k = 0; k < (c.op == "logsumexp" ? 1 : C); ++k) gabs += std::fabs(g[k]);
    double m = 0;
    for (long k = 0; k < C; ++k)
      if (std::isfinite(row[k])) m = std::max(m, std::fabs(row[k]));
    for (long k = 0; k < C; ++k) {
      const auto i = static_cast<std::size_t>(n * C + k);
      if (c.op == "log_softmax") {
        out.atol[i] = P::K * P::eps * (1 + finite_range(row, C) + logC);
        grad.atol[i] = P::K * P::eps * 2 * gabs;  // g - exp(y) sum g, from PyTorch's y
      } else if (c.op == "softmax") {
        out.atol[i] = P::K * P::eps * (1 + logC);
        // exp(-inf - max) is exactly 0 in PyTorch (a masked class has probability 0, not a
        // denormal)
        if (row[k] == -HUGE_VAL && c.output[i] == 0) out.mode[i] = Mode::Exact;
        grad.atol[i] = P::K * P::eps * 2 * gabs;  // y (g - sum g y), from PyTorch's y
      } else {
        // softmax(x) g against PyTorch's g exp(x - lse), whose x - lse loses eps |lse|
        grad.atol[i] = P::K * P::eps * (1 + m + logC) * gabs;
      }
    }
    if (c.op == "logsumexp") out.atol[static_cast<std::size_t>(n)] = P::K * P::eps * (1 + m + logC);
  }

  for (Layout layout : {Layout::SamplesInRows, Layout::SamplesInColumns}) {
    const std::string tag =
        layout == Layout::SamplesInRows ? "samples-in-rows " : "samples-in-columns ";
    const MatC<S> x = in_layout<S>(c.logits, N, C, layout);
    const MatR<S> xr = x;
    if (c.op == "logsumexp") {
      r.compare(tag + "logsumexp", rows_of(xent::logsumexp(x, layout), layout), out);
      r.compare(tag + "logsumexp row-major", rows_of(xent::logsumexp(xr, layout), layout), out);
      Vec<S> o;
      xent::logsumexp(x, o, layout);
      r.compare(tag + "logsumexp(out)", rows_of(o, layout), out);
      r.compare(tag + "reference logsumexp",
                rows_of(xent::reference::logsumexp<long double>(x, layout), layout), out);
      // xent has no logsumexp_backward: its vjp is softmax(x) * g, checked against PyTorch's
      // g exp(x - lse) on every row. They agree wherever a row has no +inf logit (masked -inf
      // classes give 0 in both; NaN and all -inf rows give NaN in both). A row holding +inf is
      // NaN in xent's softmax (documented), where PyTorch's exp(inf - inf) is NaN only at the +inf
      // entries and 0 at the others: there the fixture must hold NaN at the +inf entries, and xent
      // NaN everywhere.
      const auto p = rows_of(xent::softmax(x, layout), layout);
      Expect want = grad;
      std::vector<double> got(p.size());
      for (long n = 0; n < N; ++n) {
        bool pos_inf = false;
        for (long k = 0; k < C; ++k)
          pos_inf = pos_inf || c.logits[static_cast<std::size_t>(n * C + k)] == HUGE_VAL;
        for (long k = 0; k < C; ++k) {
          const auto i = static_cast<std::size_t>(n * C + k);
          got[i] = p[i] *
                   static_cast<double>(static_cast<S>(c.grad_outputs[static_cast<std::size_t>(n)]));
          if (!pos_inf) continue;
          if (c.logits[i] == HUGE_VAL) CHECK(std::isnan(grad.v[i]));
          want.v[i] = std::numeric_limits<double>::quiet_NaN();
        }
      }
      r.compare(tag + "softmax(x) * g vs logsumexp vjp", got, want);
      continue;
    }
    const bool log = c.op == "log_softmax";
    const MatC<S> y = in_layout<S>(c.output, N, C, layout);
    const MatC<S> g = in_layout<S>(c.grad_outputs, N, C, layout);
    const std::string name = tag + c.op;
    r.compare(name, rows_of(log ? xent::log_softmax(x, layout) : xent::softmax(x, layout), layout),
              out);
    r.compare(name + " row-major",
              rows_of(log ? xent::log_softmax(xr, layout) : xent::softmax(xr, layout), layout),
              out);
    {
      MatC<S> o;
      if (log)
        xent::log_softmax(x, o, layout);
      else
        xent::softmax(x, o, layout);
      r.compare(name + "(out)", rows_of(o, layout), out);
      const Padded<S> padded(x);
      if (log)
        xent::log_softmax(padded.block(), o, layout);
      else
        xent::softmax(padded.block(), o, layout);
      r.compare(name + "(block, out)", rows_of(o, layout), out);
    }
    r.compare(name + "_backward",
              rows_of(log ? xent::log_softmax_backward(g, y, layout)
                          : xent::softmax_backward(g, y, layout),
                      layout),
              grad);
    r.compare(name + "_backward row-major",
              rows_of(log ? xent::log_softmax_backward(MatR<S>(g), MatR<S>(y), layout)
                          : xent::softmax_backward(MatR<S>(g), MatR<S>(y), layout),
                      layout),
              grad);
    r.compare(name + " reference",
              rows_of(log ? xent::reference::log_softmax<long double>(x, layout)
                          : xent::reference::softmax<long double>(x, layout),
                      layout),
              out);
    r.compare(name + "_backward reference",
              rows_of(log ? xent::reference::log_softmax_backward<long double>(g, y, layout)
                          : xent::reference::softmax_backward<long double>(g, y, layout),
                      layout),
              grad);
  }
  finish(c, r);
}

void run_softmax_cases(const std::string& op) {
  const auto cases = golden::cases_of(op);
  REQUIRE(!cases.empty());
  for (const Case* c : cases) {
    try {
      if (c->is_float32())
        run_softmax_case<float>(*c);
      else
        run_softmax_case<double>(*c);
    } catch (const std::exception& ex) {
      FAIL_CHECK("case " << c->where() << " threw: " << ex.what());
    }
  }
}

}  // namespace

TEST_CASE("golden fixtures load and cover every op and both dtypes") {
  const auto& all = golden::all_cases();
  CHECK(all.size() > 250);
  for (const char* op : {"cross_entropy", "nll_loss", "bce_with_logits", "bce", "log_softmax",
                         "softmax", "logsumexp"}) {
    for (const char* dtype : {"float32", "float64"}) {
      INFO(op << " " << dtype);
      CHECK(golden::cases_of(op, dtype).size() >= 5);
    }
  }
  // the improvements are exercised
  for (const char* reason : {"ignored_row_grad_zero", "zero_prob_target_masked", "bce_logits_tails",
                             "label_smoothing_negative"}) {
    INFO(reason);
    CHECK(std::count_if(all.begin(), all.end(), [&](const Case& c) { return c.differs(reason); }) >=
          2);
  }
  // float32 values round-trip: every float32 number in the files is a float
  for (const Case& c : all) {
    if (!c.is_float32()) continue;
    for (double v : c.logits) {
      if (std::isfinite(v) && static_cast<double>(static_cast<float>(v)) != v) {
        FAIL_CHECK(c.where() << ": logit " << v << " is not a float32 value");
        break;
      }
    }
  }
}

TEST_CASE("golden: log_softmax") { run_softmax_cases("log_softmax"); }
TEST_CASE("golden: softmax") { run_softmax_cases("softmax"); }
TEST_CASE("golden: logsumexp") { run_softmax_cases("logsumexp"); }
