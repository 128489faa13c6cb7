// Fuzz harness: the softmax family -- log_softmax, softmax, logsumexp (forward) and
// log_softmax_backward, softmax_backward -- against xent::reference<long double>.
//
// Tolerances, per sample (samples in rows), m = max_c x_c, s = sum_c exp(x_c - m), lse = log s,
// k = kUlps (fuzz_support.hpp), e = eps(S); sum|terms| is what multiplies k e:
//   log_softmax_c = (x_c - m) - lse:         |x_c - m| + lse + C + 2   (s carries C roundings)
//   softmax_c = exp(x_c - m) / s:            p_c (|x_c - m| + C + 4)   (+ k min_normal: flushes)
//   logsumexp = m + lse:                     |m| + lse + C + 2
//   log_softmax_backward_c = g_c - exp(y_c) sum_c g:   |g_c| + exp(y_c) sum|g| (C + 2)
//                                      (+ k min_normal (1 + sum|g|): exp(y_c) underflows in S)
//   softmax_backward_c = y_c (g_c - sum_c g_c y_c):    y_c (|g_c| + (C + 2) sum|g y|)
// The backward functions get y = the library's own forward output (a log-probability or a
// probability, the documented input) and g decoded freely.
//
// Value-checked: every forward entry, special values included (inf, -inf, NaN and subnormal
// logits: the reference follows torch's rules) and logits beyond the documented limit too (up to
// +-max: x_c - m overflowing S is an infinity where the reference is beyond S's range, which
// Case::check accepts, and exp of it is 0 on both sides); every backward entry (g is data: NaN
// propagates, an overflowing sum is an infinity, see fuzz_support.hpp) but these:
// log_softmax_backward's g_c - exp(y_c) sum_c g with an infinite sum where exp(y_c) is below S's
// normal range. There the library's exp flushes to 0 (0 * inf = NaN) where the reference's long
// double exp keeps a tiny factor (tiny * inf = inf); neither is wrong. And the rows whose finite g
// sum (or dot product with y) overflows S, and softmax_backward's entries whose g_c - dot does:
// intermediates beyond S's range.
#include <xent/reference.hpp>

#include "fuzz_support.hpp"

namespace {

using namespace xf;

template <class S>
void run_case(const Case& c, Storage<S>& xs, Storage<S>& gs, xent::Layout layout) {
  const Index rows = xs.rows, cols = xs.cols;
  Storage<S>::visit_pair(xs, gs, [&](const auto& x, const auto& g) {
    const LMat xr = rows_of(x, layout);  // N x C
    const Index N = xr.rows(), C = xr.cols();
    const LD e = eps<S>();
    const LD k = kUlps;
    const LD tiny = static_cast<LD>(std::numeric_limits<S>::min());

    // Per-sample statistics in long double for the tolerances.
    LVec m(N), lse(N);
    for (Index n = 0; n < N; ++n) {
      LD mx = -std::numeric_limits<LD>::infinity();
      for (Index j = 0; j < C; ++j)
        if (std::isfinite(xr(n, j))) mx = std::max(mx, xr(n, j));
      LD s = 0;
      for (Index j = 0; j < C; ++j)
        if (std::isfinite(xr(n, j))) s += std::exp(xr(n, j) - mx);
      m(n) = std::isfinite(mx) ? mx : LD(0);
      lse(n) = s > 0 ? std::log(s) : LD(0);
    }

    // ---- log_softmax ----
    const LMat ref_lp = xent::reference::log_softmax<LD>(x, layout);
    LMat tol_lp(N, C);
    for (Index n = 0; n < N; ++n)
      for (Index j = 0; j < C; ++j)
        tol_lp(n, j) =
            k * e * (finite_or_zero(std::fabs(xr(n, j) - m(n))) + lse(n) + static_cast<LD>(C) + 2);
    xent::detail::PlainMatrix<std::decay_t<decltype(x)>> lp;
    if (call(c, "log_softmax", nullptr, {}, [&] { lp = xent::log_softmax(x, layout); })) {
      c.check_matrix("log_softmax", "value", lp, ref_lp, in_layout(tol_lp, layout));
    }

    // ---- softmax, into a row-major output ----
    const LMat ref_p = xent::reference::softmax<LD>(x, layout);
    const LMat ref_p_rows = rows_of(ref_p, layout);
    LMat tol_p(N, C);
    for (Index n = 0; n < N; ++n)
      for (Index j = 0; j < C; ++j)
        tol_p(n, j) = k * e * finite_or_zero(ref_p_rows(n, j)) *
                          (finite_or_zero(std::fabs(xr(n, j) - m(n))) + static_cast<LD>(C) + 4) +
                      k * tiny;
    RowMat<S> p;
    if (call(c, "softmax", nullptr, {}, [&] { xent::softmax(x, p, layout); })) {
      c.check_matrix("softmax", "value", p, ref_p, in_layout(tol_p, layout));
    }

    // ---- logsumexp ----
    const LVec ref_lse = xent::reference::logsumexp<LD>(x, layout);
    LMat tol_lse(N, 1);
    for (Index n = 0; n < N; ++n)
      tol_lse(n, 0) = k * e * (std::fabs(m(n)) + lse(n) + static_cast<LD>(C) + 2);
    Vec<S> l;
    if (call(c, "logsumexp", nullptr, {}, [&] { l = xent::logsumexp(x, layout); })) {
      c.per_sample_result = true;
      c.check_matrix("logsumexp", "value", l, LMat(ref_lse), tol_lse);
      c.per_sample_result = false;
    }

    // ---- the backward functions, g in x's form, y the library's forward outputs ----
    // With no classes every result is empty: the library is called all the same (it once formed
    // row(n) of an N x 0 matrix, UB that clang's UBSan reports), only the tolerance loops skipped.
    {
      const LMat gr = rows_of(g, layout);
      if (lp.rows() == rows && lp.cols() == cols) {
        const LMat yr = rows_of(lp, layout);
        const LMat ref = xent::reference::log_softmax_backward<LD>(g, lp, layout);
        LMat tol(N, C);
        Mask skip = Mask::Constant(N, C, false);
        const LD flushed = static_cast<LD>(std::numeric_limits<S>::min());
        const LD max_s = static_cast<LD>(std::numeric_limits<S>::max());
        for (Index n = 0; C > 0 && n < N; ++n) {
          const LD abs_sum = gr.row(n).cwiseAbs().sum();
          LD finite_abs_sum = 0;
          for (Index j = 0; j < C; ++j) finite_abs_sum += finite_or_zero(std::fabs(gr(n, j)));
          // An infinite g: the sum is infinite; the entries where exp(y_c) flushes are skipped.
          // Finite g whose sum overflows S (found: -DBL_MAX and -1e300 in a row; with a -inf
          // too, DBL_MAX + 1e300 - inf = NaN against the reference's -inf): an intermediate
          // beyond S's range, so the row is skipped.
          const bool infinite_sum = std::isinf(abs_sum);
          const bool overflowing_sum = finite_abs_sum > max_s;
          for (Index j = 0; j < C; ++j)
            skip(n, j) = overflowing_sum || (infinite_sum && std::exp(yr(n, j)) < flushed);
          for (Index j = 0; j < C; ++j)
            tol(n, j) =
                k * e *
                    (finite_or_zero(std::fabs(gr(n, j))) +
                     finite_or_zero(std::exp(yr(n, j)) * abs_sum) * (static_cast<LD>(C) + 2)) +
                k * tiny * (1 + finite_or_zero(abs_sum));
        }
        xent::detail::PlainMatrix<std::decay_t<decltype(lp)>> out;
        if (call(c, "log_softmax_backward", nullptr, {},
                 [&] { out = xent::log_softmax_backward(g, lp, layout); })) {
          const Mask skip_in_layout =
              layout == xent::Layout::SamplesInRows ? skip : Mask(skip.transpose());
          c.check_matrix("log_softmax_backward", "value", out, ref, in_layout(tol, layout),
                         &skip_in_layout);
        }
      }
      if (p.rows() == rows && p.cols() == cols) {
        const LMat yr = rows_of(p, layout);
        const LMat ref = xent::reference::softmax_backward<LD>(g, p, layout);
        LMat tol(N, C);
        Mask skip = Mask::Constant(N, C, false);
        for (Index n = 0; C > 0 && n < N; ++n) {
          const LD dot_abs = (gr.row(n).array() * yr.row(n).array()).abs().sum();
          LD finite_dot_abs = 0;  // the finite products' part
          for (Index j = 0; j < C; ++j)
            finite_dot_abs += finite_or_zero(std::fabs(gr(n, j) * yr(n, j)));
          // A dot product whose finite part overflows S: skipped as log_softmax_backward's sum.
          const bool overflowing = finite_dot_abs > static_cast<LD>(std::numeric_limits<S>::max());
          // And an entry whose g_c - dot overflows S: y_c = 0 times it is NaN in S where the
          // reference's product is 0 (found: g_c = -DBL_MAX with dot = 1e300).
          for (Index j = 0; j < C; ++j)
            skip(n, j) = overflowing || finite_or_zero(std::fabs(gr(n, j))) + finite_dot_abs >
                                            static_cast<LD>(std::numeric_limits<S>::max());
          for (Index j = 0; j < C; ++j)
            tol(n, j) =
                k * e *
                    finite_or_zero(std::fabs(yr(n, j)) *
                                   (std::fabs(gr(n, j)) + (static_cast<LD>(C) + 2) * dot_abs)) +
                k * tiny;
        }
        ColMat<S> out;
        if (call(c, "softmax_backward", nullptr, {},
                 [&] { xent::softmax_backward(g, p, out, layout); })) {
          const Mask skip_in_layout =
              layout == xent::Layout::SamplesInRows ? skip : Mask(skip.transpose());
          c.check_matrix("softmax_backward", "value", out, ref, in_layout(tol, layout),
                         &skip_in_layout);
        }
      }
    }
  });
}

template <class S>
void run(FuzzInput& in) {
  Case c;
  c.harness = "fuzz_softmax";
  Index N = 0, C = 0;
  in.dims(N, C);
  const xent::Layout layout =
      in.flag() ? xent::Layout::SamplesInColumns : xent::Layout::SamplesInRows;
  const Index rows = layout == xent::Layout::SamplesInRows ? N : C;
  const Index cols = layout == xent::Layout::SamplesInRows ? C : N;
  const int kind = Storage<S>::decode_kind(in.byte());
  in.choose_special_rate();
  ColMat<S> x(rows, cols), g(rows, cols);
  for (Index j = 0; j < cols; ++j)
    for (Index i = 0; i < rows; ++i) x(i, j) = in.value<S>();
  for (Index j = 0; j < cols; ++j)
    for (Index i = 0; i < rows; ++i) g(i, j) = in.value<S>();
  c.description = std::string(scalar_name<S>()) + " N=" + std::to_string(N) +
                  " C=" + std::to_string(C) + " layout=" + layout_name(layout) +
                  " storage=" + Storage<S>::name(kind) + Tuning::apply(in);
  c.explain = [&](Index i, Index j) {
    // The sample holding entry (i, j) of a result in the layout (a logsumexp entry is (n, 0)).
    const bool by_rows = layout == xent::Layout::SamplesInRows;
    const Index n = by_rows || c.per_sample_result ? i : j;
    std::string out = "sample " + std::to_string(n) + ": x =";
    for (Index cl = 0; cl < C && cl < 64; ++cl)
      out += " " + text(static_cast<LD>(by_rows ? x(n, cl) : x(cl, n)));
    out += "; g =";
    for (Index cl = 0; cl < C && cl < 64; ++cl)
      out += " " + text(static_cast<LD>(by_rows ? g(n, cl) : g(cl, n)));
    return out;
  };
  Storage<S> xs(kind, x), gs(kind, g);
  run_case<S>(c, xs, gs, layout);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return xf::run_float_or_double(data, size, run<float>, run<double>);
}
