// binary_cross_entropy_with_logits and binary_cross_entropy: every public entry point (reduced
// mean/sum, both per-element overloads, backward with grad_output != 1, per-element backward,
// forward_backward, the BCEWithLogitsLoss / BCELoss methods) against independent closed forms in
// long double and xent::reference, over generated cases: every weight kind (class_weight,
// sample_weight, element_weight, vectors of either orientation; in Layout::SamplesInColumns the
// class axis is the rows), pos_weight, mean and sum, both layouts, logits far into the tails; gradients against
// central finite differences; other input and output kinds.
#include <string>
#include <type_traits>
#include <xent/reference.hpp>

#include "test_support.hpp"

using namespace xt;
using xent::BCELossOptions;
using xent::BCEWithLogitsLossOptions;
using xent::Reduction;

namespace {

// ---- weights, broadcast independently of the library ----------------------------------------

enum class Kind { None, PerClass, PerSample, Elementwise };

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::None: return "no weight";
    case Kind::PerClass: return "per-class weight (class_weight)";
    case Kind::PerSample: return "per-sample weight (sample_weight)";
    case Kind::Elementwise: return "element-wise weight (element_weight)";
  }
  return "";
}

// A random weight of the kind for a rows x cols input, set on opts, and the full rows x cols matrix
// it stands for: the class axis is the columns for SamplesInRows and the rows for SamplesInColumns.
template <class Options>
Mat<LD> set_random_weight(Options& opts, Kind kind, Index rows, Index cols, Rng& rng) {
  const bool samples_in_rows = opts.layout() == Layout::SamplesInRows;
  const Index classes = samples_in_rows ? cols : rows, samples = samples_in_rows ? rows : cols;
  Mat<LD> full = Mat<LD>::Ones(rows, cols);
  switch (kind) {
    case Kind::None: break;
    case Kind::PerClass: {
      const Vec<double> w = random_weights(classes, rng);
      if (rng.chance(0.5)) {  // either orientation, float or double
        opts.class_weight(Eigen::RowVectorXd(w.transpose()));
      } else {
        opts.class_weight(Eigen::VectorXf(w.cast<float>()));
      }
      for (Index i = 0; i < rows; ++i)
        for (Index j = 0; j < cols; ++j) full(i, j) = static_cast<LD>(w(samples_in_rows ? j : i));
      break;
    }
    case Kind::PerSample: {
      const Vec<double> w = random_weights(samples, rng);
      if (samples % 2 == 0) {  // either orientation (no extra draw: the cases stay as they were)
        opts.sample_weight(w);
      } else {
        opts.sample_weight(Eigen::RowVectorXd(w.transpose()));
      }
      for (Index i = 0; i < rows; ++i)
        for (Index j = 0; j < cols; ++j) full(i, j) = static_cast<LD>(w(samples_in_rows ? i : j));
      break;
    }
    case Kind::Elementwise: {
      Mat<double> w(rows, cols);
      for (Index j = 0; j < cols; ++j) w.col(j) = random_weights(rows, rng);
      opts.element_weight(w);
      full = w.cast<LD>();
      break;
    }
  }
  return full;
}

Kind random_kind(Rng& rng) { return static_cast<Kind>(rng.integer(0, 3)); }

// Targets in [0, 1]: exact 0 and 1 (hard labels) and fractional ones (soft labels).
template <class S>
Mat<S> random_targets(Index rows, Index cols, Rng& rng) {
  Mat<S> t(rows, cols);
  for (Index j = 0; j < cols; ++j)
    for (Index i = 0; i < rows; ++i) {
      const double u = rng.uniform();
      t(i, j) = u < 0.35 ? S(0) : u < 0.7 ? S(1) : static_cast<S>(rng.uniform());
    }
  return t;
}

// ---- closed forms in long double ------------------------------------------------------------
// BCE with logits, element (x, t) with positive weight P (1 without pos_weight):
//   loss = (1 - t) softplus(x) + P t softplus(-x),   grad = (1 - t) sigmoid(x) - P t sigmoid(-x),
// with softplus(z) = max(z, 0) + log1p(exp(-|z|)) and sigmoid(z) = 1 / (1 + exp(-z)): both terms
// non-negative (t in [0, 1], P >= 0), each accurate to long double precision even in the tails.
LD softplus(LD z) { return std::max(z, LD(0)) + std::log1p(std::exp(-std::fabs(z))); }
LD sigmoid(LD z) { return 1 / (1 + std::exp(-z)); }

struct Elements {
  Mat<LD> loss, grad;      // unweighted-by-g, weighted by w
  Mat<LD> loss_atol, grad_atol;
};

// Tolerances (eps = S's epsilon): the library evaluates the same two non-negative terms in S, with a
// correctly rounded-ish exp/log1p per softplus and a few products: relative error <= ~6 eps, so
// loss: rtol 8 eps (applied through atol = 8 eps |loss|) plus 4 denorm_min for results in the
// subnormal range. The gradient's two terms can cancel: atol = 8 eps |w| ((1 - t) sigmoid(x) +
// P t sigmoid(-x)) + 4 denorm_min.
template <class S>
Elements bce_with_logits_closed(const Mat<S>& x, const Mat<S>& t, const Mat<LD>& w, const Mat<LD>& pos) {
  const double e = eps<S>();
  const LD tiny = 4 * static_cast<LD>(std::numeric_limits<S>::denorm_min());
  Elements r{Mat<LD>(x.rows(), x.cols()), Mat<LD>(x.rows(), x.cols()), Mat<LD>(x.rows(), x.cols()),
             Mat<LD>(x.rows(), x.cols())};
  for (Index j = 0; j < x.cols(); ++j)
    for (Index i = 0; i < x.rows(); ++i) {
      const LD xi = x(i, j), ti = t(i, j), P = pos(i, j), W = w(i, j);
      const LD neg = (1 - ti) * softplus(xi), posterm = P * ti * softplus(-xi);
      r.loss(i, j) = W * (neg + posterm);
      r.loss_atol(i, j) = 8 * e * std::fabs(r.loss(i, j)) + tiny;
      const LD a = (1 - ti) * sigmoid(xi), b = P * ti * sigmoid(-xi);
      r.grad(i, j) = W * (a - b);
      r.grad_atol(i, j) = 8 * e * std::fabs(W) * (a + b) + tiny;
    }
  return r;
}

// BCE on probabilities: loss = -w (t max(log p, -100) + (1 - t) max(log1p(-p), -100)),
// grad = w (p - t) / max(p (1 - p), 1e-12). Loss: two non-negative terms, rtol 8 eps. Gradient:
// p - t and p (1 - p) each rounded: atol 8 eps |w| (p + t) / max(p (1 - p), 1e-12).
template <class S>
Elements bce_closed(const Mat<S>& p, const Mat<S>& t, const Mat<LD>& w) {
  const double e = eps<S>();
  const LD tiny = 4 * static_cast<LD>(std::numeric_limits<S>::denorm_min());
  Elements r{Mat<LD>(p.rows(), p.cols()), Mat<LD>(p.rows(), p.cols()), Mat<LD>(p.rows(), p.cols()),
             Mat<LD>(p.rows(), p.cols())};
  for (Index j = 0; j < p.cols(); ++j)
    for (Index i = 0; i < p.rows(); ++i) {
      const LD pi = p(i, j), ti = t(i, j), W = w(i, j);
      const LD log_p = std::max(std::log(pi), LD(-100)), log_q = std::max(std::log1p(-pi), LD(-100));
      r.loss(i, j) = -W * (ti * log_p + (1 - ti) * log_q);
      r.loss_atol(i, j) = 8 * e * std::fabs(r.loss(i, j)) + tiny;
      const LD denom = std::max(pi * (1 - pi), LD(1e-12));
      r.grad(i, j) = W * (pi - ti) / denom;
      r.grad_atol(i, j) = 8 * e * std::fabs(W) * (pi + ti) / denom + tiny;
    }
  return r;
}

// ---- one battery for both losses --------------------------------------------------------------
// The six entry points and the loss object of one binary loss, bundled so that one checker serves
// both (the free functions are overload sets, hence the lambdas).
struct WithLogits {
  using Options = BCEWithLogitsLossOptions;
  using Loss = xent::BCEWithLogitsLoss;
  template <class... A> static auto reduced(const A&... a) { return xent::binary_cross_entropy_with_logits(a...); }
  template <class... A> static auto per_element(const A&... a) { return xent::binary_cross_entropy_with_logits_per_sample(a...); }
  template <class... A> static void per_element_out(const A&... a) { xent::binary_cross_entropy_with_logits_per_sample(a...); }
  template <class... A> static auto backward(const A&... a) { return xent::binary_cross_entropy_with_logits_backward(a...); }
  template <class... A> static auto per_element_backward(const A&... a) { return xent::binary_cross_entropy_with_logits_per_sample_backward(a...); }
  template <class... A> static auto forward_backward(const A&... a) { return xent::binary_cross_entropy_with_logits_forward_backward(a...); }
  template <class... A> static auto ref_reduced(const A&... a) { return xent::reference::binary_cross_entropy_with_logits<LD>(a...); }
  template <class... A> static auto ref_per_element(const A&... a) { return xent::reference::binary_cross_entropy_with_logits_per_sample<LD>(a...); }
  template <class... A> static auto ref_backward(const A&... a) { return xent::reference::binary_cross_entropy_with_logits_backward<LD>(a...); }
  template <class... A> static auto ref_per_element_backward(const A&... a) { return xent::reference::binary_cross_entropy_with_logits_per_sample_backward<LD>(a...); }
};

struct OnProbabilities {
  using Options = BCELossOptions;
  using Loss = xent::BCELoss;
  template <class... A> static auto reduced(const A&... a) { return xent::binary_cross_entropy(a...); }
  template <class... A> static auto per_element(const A&... a) { return xent::binary_cross_entropy_per_sample(a...); }
  template <class... A> static void per_element_out(const A&... a) { xent::binary_cross_entropy_per_sample(a...); }
  template <class... A> static auto backward(const A&... a) { return xent::binary_cross_entropy_backward(a...); }
  template <class... A> static auto per_element_backward(const A&... a) { return xent::binary_cross_entropy_per_sample_backward(a...); }
  template <class... A> static auto forward_backward(const A&... a) { return xent::binary_cross_entropy_forward_backward(a...); }
  template <class... A> static auto ref_reduced(const A&... a) { return xent::reference::binary_cross_entropy<LD>(a...); }
  template <class... A> static auto ref_per_element(const A&... a) { return xent::reference::binary_cross_entropy_per_sample<LD>(a...); }
  template <class... A> static auto ref_backward(const A&... a) { return xent::reference::binary_cross_entropy_backward<LD>(a...); }
  template <class... A> static auto ref_per_element_backward(const A&... a) { return xent::reference::binary_cross_entropy_per_sample_backward<LD>(a...); }
};

// The reference evaluates other (algebraically equal) forms in long double, e.g. the loss
// max(x, 0) - x t + log1p(exp(-|x|)) and the gradient (P t + 1 - t) sigmoid(x) - P t, whose own
// rounding is LDBL_EPSILON times the size of their terms (|x| (1 + P) and 1 + P): against it the
// tolerance adds 4 LDBL_EPSILON |w| (|loss| + (|x| + 2) (P + 1)) (P = 0 for BCE on probabilities).
template <class S, class F>
void check_binary(const Mat<S>& x, const Mat<S>& t, const typename F::Options& opts, const Elements& closed,
                  const Mat<LD>& w, const Mat<LD>& pos, Rng& rng) {
  const double e = eps<S>();
  const LD ld_eps = std::numeric_limits<LD>::epsilon();
  const bool mean = opts.reduction() == Reduction::Mean;
  const LD numel = static_cast<LD>(x.size());
  const LD factor = mean ? 1 / numel : LD(1);  // numel 0: the mean is NaN, there are no gradients
  const LD expected_loss = closed.loss.sum() * factor;
  const double loss_atol = static_cast<double>(closed.loss_atol.sum() * factor);
  const Mat<LD> ref_slack =
      4 * ld_eps *
      (w.cwiseAbs().array() * (closed.loss.cwiseAbs().array() +
                               (x.template cast<LD>().array().abs() + 2) * (pos.array() + 1)))
          .matrix();

  // Reduced and per-element losses.
  const S loss = F::reduced(x, t, opts);
  require_close(loss, expected_loss, 2 * e, loss_atol, "reduced loss");
  require_close(loss, F::ref_reduced(x, t, opts), 2 * e, loss_atol + static_cast<double>(ref_slack.sum() * factor),
                "reduced loss vs reference");
  const Mat<S> per_element = F::per_element(x, t, opts);
  require_close(per_element, closed.loss, 0.0, closed.loss_atol, "per-element losses");
  require_close(per_element, F::ref_per_element(x, t, opts), 0.0, closed.loss_atol + ref_slack,
                "per-element losses vs reference");
  Mat<S> out(2, 1);
  F::per_element_out(x, t, out, opts);
  require_same(out, per_element, "per-element losses into a matrix");

  // Gradients: of grad_output * reduced loss (grad_output != 1), of sum g_ij loss_ij, and fused.
  const S g = static_cast<S>(rng.pick({-0.75, 2.5, 0.3}));
  const Mat<S> go = random_uniform<S>(x.rows(), x.cols(), rng, -2, 2);
  const Mat<S> backward = F::backward(x, t, opts, g);
  const LD scale = static_cast<LD>(g) * factor;
  require_close(backward, closed.grad * scale, 4 * e, closed.grad_atol * std::fabs(scale), "backward");
  require_close(backward, F::ref_backward(x, t, opts, static_cast<LD>(g)), 4 * e,
                (closed.grad_atol + ref_slack) * std::fabs(scale), "backward vs reference");
  const Mat<S> per_element_backward = F::per_element_backward(x, t, go, opts);
  const Mat<LD> go_ld = go.template cast<LD>();
  require_close(per_element_backward, (closed.grad.array() * go_ld.array()).matrix(), 4 * e,
                (closed.grad_atol.array() * go_ld.array().abs()).matrix(), "per-element backward");
  require_close(per_element_backward, F::ref_per_element_backward(x, t, go, opts), 4 * e,
                ((closed.grad_atol + ref_slack).array() * go_ld.array().abs()).matrix(),
                "per-element backward vs reference");
  Mat<S> grad(1, 1);
  const S fused = F::forward_backward(x, t, grad, opts);
  require_close(fused, expected_loss, 2 * e, loss_atol, "forward_backward loss");
  require_close(grad, closed.grad * factor, 4 * e, closed.grad_atol * factor, "forward_backward gradient");

  // The loss object forwards to the same functions.
  const typename F::Loss criterion(opts);
  REQUIRE(criterion.options().reduction() == opts.reduction());
  const S object_loss = criterion(x, t);
  REQUIRE((object_loss == loss || (std::isnan(object_loss) && std::isnan(loss))));
  require_same(criterion.per_sample(x, t), per_element, "loss object per_sample");
  Mat<S> object_out;
  criterion.per_sample(x, t, object_out);
  require_same(object_out, per_element, "loss object per_sample(out)");
  require_same(criterion.backward(x, t, g), backward, "loss object backward");
  require_same(criterion.per_sample_backward(x, t, go), per_element_backward, "loss object per_sample_backward");
  Mat<S> object_grad;
  const S object_fused = criterion.forward_backward(x, t, object_grad);
  REQUIRE((object_fused == fused || (std::isnan(object_fused) && std::isnan(fused))));
  require_same(object_grad, grad, "loss object forward_backward");
}

template <class S>
void run_with_logits_case(int seed) {
  Rng rng(static_cast<std::uint64_t>(seed));
  const Layout layout = rng.chance(0.5) ? Layout::SamplesInRows : Layout::SamplesInColumns;
  const Index rows = rng.integer(0, 15), cols = rng.integer(0, 15);
  const double scale = rng.pick({1.0, 5.0, 30.0});  // 30: far into both tails (|x| up to ~100)
  const Mat<S> x = random_logits<S>(rows, cols, rng, scale);
  const Mat<S> t = random_targets<S>(rows, cols, rng);
  BCEWithLogitsLossOptions opts;
  opts.layout(layout).reduction(rng.chance(0.5) ? Reduction::Mean : Reduction::Sum);
  const Kind kind = random_kind(rng);
  const Mat<LD> w = set_random_weight(opts, kind, rows, cols, rng);
  Mat<LD> pos = Mat<LD>::Ones(rows, cols);
  const bool with_pos_weight = rng.chance(0.5);
  if (with_pos_weight) {
    const Index classes = layout == Layout::SamplesInRows ? cols : rows;
    const Vec<double> p = random_weights(classes, rng).cwiseAbs();  // >= 0, with zeros
    opts.pos_weight(p);
    for (Index i = 0; i < rows; ++i)
      for (Index j = 0; j < cols; ++j) pos(i, j) = static_cast<LD>(p(layout == Layout::SamplesInRows ? j : i));
  }
  INFO("seed " << seed << ", " << scalar_name<S>() << ", " << rows << "x" << cols << ", " << layout_name(layout)
                << ", " << (opts.reduction() == Reduction::Mean ? "mean" : "sum") << ", " << kind_name(kind)
                << (with_pos_weight ? ", pos_weight" : "") << ", logits scale " << scale);
  check_binary<S, WithLogits>(x, t, opts, bce_with_logits_closed(x, t, w, pos), w, pos, rng);
}

template <class S>
void run_probabilities_case(int seed) {
  Rng rng(static_cast<std::uint64_t>(500 + seed));
  const Layout layout = rng.chance(0.5) ? Layout::SamplesInRows : Layout::SamplesInColumns;
  const Index rows = rng.integer(0, 15), cols = rng.integer(0, 15);
  // Probabilities: mostly in (1e-3, 1 - 1e-3), some exactly 0 or 1 (the -100 clamp of the log and
  // the 1e-12 clamp of the gradient's denominator) and some within 1e-6 of the ends.
  Mat<S> p(rows, cols);
  for (Index j = 0; j < cols; ++j)
    for (Index i = 0; i < rows; ++i) {
      const double u = rng.uniform();
      p(i, j) = u < 0.05 ? S(0) : u < 0.1 ? S(1) : u < 0.15 ? static_cast<S>(rng.uniform(1e-6, 2e-6))
                                                             : static_cast<S>(rng.uniform(1e-3, 1 - 1e-3));
    }
  const Mat<S> t = random_targets<S>(rows, cols, rng);
  BCELossOptions opts;
  opts.layout(layout).reduction(rng.chance(0.5) ? Reduction::Mean : Reduction::Sum);
  const Kind kind = random_kind(rng);
  const Mat<LD> w = set_random_weight(opts, kind, rows, cols, rng);
  INFO("seed " << seed << ", " << scalar_name<S>() << ", " << rows << "x" << cols << ", " << layout_name(layout)
                << ", " << (opts.reduction() == Reduction::Mean ? "mean" : "sum") << ", " << kind_name(kind));
  check_binary<S, OnProbabilities>(p, t, opts, bce_closed(p, t, w), w, Mat<LD>::Zero(rows, cols), rng);
}

}  // namespace

TEMPLATE_TEST_CASE("binary_cross_entropy_with_logits entry points match the closed form and the reference",
                   "[bce_with_logits]", float, double) {
  const int seed = GENERATE(range(1, 51));
  run_with_logits_case<TestType>(seed);
}

TEMPLATE_TEST_CASE("binary_cross_entropy entry points match the closed form and the reference", "[bce]", float,
                   double) {
  const int seed = GENERATE(range(1, 41));
  run_probabilities_case<TestType>(seed);
}

TEST_CASE("binary cross-entropy gradients match central finite differences", "[bce][bce_with_logits][gradient]") {
  const int seed = GENERATE(range(1, 21));
  Rng rng(static_cast<std::uint64_t>(900 + seed));
  const Layout layout = rng.chance(0.5) ? Layout::SamplesInRows : Layout::SamplesInColumns;
  const Index rows = rng.integer(1, 10), cols = rng.integer(1, 10);
  const Mat<double> t = random_targets<double>(rows, cols, rng);
  const Mat<double> go = random_uniform<double>(rows, cols, rng, -2, 2);
  const auto entries = entries_to_check(rows, cols, rng);
  // Each element loss depends on its own input only. Step h = 1e-6: the truncation error
  // h^2/6 |l'''| (|l'''| <= ~|w| (1 + P) for the logits form, <= |w| 2 / min(p, 1-p)^3 <= 2000 |w|
  // on probabilities in [0.1, 0.9]) is within rtol 1e-7 and atol 1e-9 |w|; the rounding of the two
  // evaluations (8 eps |loss| each) over the step 2h adds 8 eps |g w loss| / h <~ 1e-8.
  {
    BCEWithLogitsLossOptions opts;
    opts.layout(layout);
    const Mat<LD> w = set_random_weight(opts, random_kind(rng), rows, cols, rng);
    if (rng.chance(0.5)) opts.pos_weight(random_weights(layout == Layout::SamplesInRows ? cols : rows, rng).cwiseAbs());
    const Mat<double> x = random_logits<double>(rows, cols, rng, 3.0);
    const Vec<double> fd = central_differences(
        [&](const Mat<double>& z) { return xent::binary_cross_entropy_with_logits_per_sample(z, t, opts); }, x, go,
        entries);
    const double atol = 1e-9 * static_cast<double>(w.cwiseAbs().maxCoeff()) * 8;
    require_close(gather(xent::binary_cross_entropy_with_logits_per_sample_backward(x, t, go, opts), entries), fd, 1e-7,
                  atol, "binary_cross_entropy_with_logits_per_sample_backward vs finite differences");
  }
  {
    BCELossOptions opts;
    opts.layout(layout);
    const Mat<LD> w = set_random_weight(opts, random_kind(rng), rows, cols, rng);
    const Mat<double> p = random_uniform<double>(rows, cols, rng, 0.1, 0.9);
    const Vec<double> fd = central_differences(
        [&](const Mat<double>& z) { return xent::binary_cross_entropy_per_sample(z, t, opts); }, p, go, entries);
    const double atol = 1e-9 * static_cast<double>(w.cwiseAbs().maxCoeff()) * 2000;
    require_close(gather(xent::binary_cross_entropy_per_sample_backward(p, t, go, opts), entries), fd, 1e-7, atol,
                  "binary_cross_entropy_per_sample_backward vs finite differences");
  }
}

TEMPLATE_TEST_CASE("binary_cross_entropy_with_logits keeps the tails", "[bce_with_logits][precision]", float, double) {
  using S = TestType;
  // Element losses far out in the tails, to full relative precision (8 eps): PyTorch 1.13 returns 0
  // for x = -20, t = 0 in float; x - log_sigmoid(x) (PyTorch main) returns 0 at x = -40 in double.
  Mat<S> x(1, 8), t(1, 8);
  x << -20, -40, 20, 30, -80, 80, 15, -15;
  t << 0, 0, 1, 1, 0, 1, 0.25, 0.75;
  const Mat<LD> ones = Mat<LD>::Ones(1, 8);
  const Elements closed = bce_with_logits_closed(x, t, ones, ones);
  const Mat<S> loss = xent::binary_cross_entropy_with_logits_per_sample(x, t);
  require_close(loss, closed.loss, 8 * eps<S>(), 4 * std::numeric_limits<S>::denorm_min(), "element losses");
  CHECK(loss(0, 0) > 0);
  CHECK(loss(0, 1) > 0);
  const Mat<S> grad = xent::binary_cross_entropy_with_logits_per_sample_backward(x, t, Mat<S>::Ones(1, 8));
  require_close(grad, closed.grad, 8 * eps<S>(), 4 * std::numeric_limits<S>::denorm_min(), "element gradients");
}

TEMPLATE_TEST_CASE("binary cross-entropy accepts other input and output kinds", "[bce][bce_with_logits][inputs]", float,
                   double) {
  using S = TestType;
  const int seed = GENERATE(range(1, 4));
  Rng rng(static_cast<std::uint64_t>(700 + seed));
  const Layout layout = rng.chance(0.5) ? Layout::SamplesInRows : Layout::SamplesInColumns;
  const Index rows = rng.integer(1, 9), cols = rng.integer(1, 9);
  const Mat<S> x = random_logits<S>(rows, cols, rng, 4.0);
  const Mat<S> t = random_targets<S>(rows, cols, rng);
  BCEWithLogitsLossOptions opts;
  opts.layout(layout).reduction(Reduction::Mean);
  const Mat<LD> w = set_random_weight(opts, Kind::PerClass, rows, cols, rng);
  const Index classes = layout == Layout::SamplesInRows ? cols : rows;
  const Vec<double> pw = random_weights(classes, rng).cwiseAbs();
  opts.pos_weight(pw);
  Mat<LD> pos(rows, cols);
  for (Index i = 0; i < rows; ++i)
    for (Index j = 0; j < cols; ++j) pos(i, j) = static_cast<LD>(pw(layout == Layout::SamplesInRows ? j : i));
  const Elements closed = bce_with_logits_closed(x, t, w, pos);
  const LD numel = static_cast<LD>(x.size());
  INFO("seed " << seed << ", " << scalar_name<S>() << ", " << layout_name(layout));

  const auto check = [&](const auto& xv, const auto& tv, const char* what) {
    INFO(what);
    Mat<S> grad;
    const S loss = xent::binary_cross_entropy_with_logits_forward_backward(xv, tv, grad, opts);
    require_close(loss, closed.loss.sum() / numel, 2 * eps<S>(), static_cast<double>(closed.loss_atol.sum() / numel),
                  "loss");
    require_close(grad, closed.grad / numel, 4 * eps<S>(), closed.grad_atol / numel, "gradient");
  };
  const RowMat<S> x_row = x, t_row = t;
  check(x_row, t_row, "row-major input and targets");
  Padded<S, Eigen::ColMajor> x_padded = Padded<S, Eigen::ColMajor>::from(x);
  Padded<S, Eigen::RowMajor> t_padded = Padded<S, Eigen::RowMajor>::from(t);
  check(x_padded.map(), t_padded.map(), "padded Maps");
  Embedded<S, Eigen::RowMajor> x_block(x);
  check(x_block.block(), t, "Block input");
  const Eigen::Ref<const Mat<S>> x_ref(x);
  check(x_ref, t, "Ref input");

  // Outputs: per-element losses into a padded Map and a Block, gradients into a padded Map.
  Padded<S, Eigen::RowMajor> out_padded(rows, cols, 2, S(-7.5));
  xent::binary_cross_entropy_with_logits_per_sample(x, t, out_padded.map(), opts);
  require_close(out_padded.map(), closed.loss, 0.0, closed.loss_atol, "per-element losses into a padded Map");
  REQUIRE(out_padded.padding_intact());
  Embedded<S, Eigen::ColMajor> out_block(rows, cols, S(-7.5));
  xent::binary_cross_entropy_with_logits_per_sample(x, t, out_block.block(), opts);
  require_close(out_block.block(), closed.loss, 0.0, closed.loss_atol, "per-element losses into a Block");
  REQUIRE((out_block.big().array() == S(-7.5)).count() == out_block.big().size() - x.size());
  Padded<S, Eigen::ColMajor> grad_padded(rows, cols, 2, S(-7.5));
  xent::binary_cross_entropy_with_logits_forward_backward(x, t, grad_padded.map(), opts);
  require_close(grad_padded.map(), closed.grad / numel, 4 * eps<S>(), closed.grad_atol / numel,
                "gradient into a padded Map");
  REQUIRE(grad_padded.padding_intact());

  // binary_cross_entropy on the same kinds, with probabilities sigmoid(x).
  const Mat<S> p = x.unaryExpr([](S v) { return static_cast<S>(1 / (1 + std::exp(-static_cast<double>(v)))); });
  BCELossOptions bce_opts;
  bce_opts.layout(layout).reduction(Reduction::Sum);
  const Mat<LD> w2 = set_random_weight(bce_opts, Kind::PerSample, rows, cols, rng);
  const Elements closed_p = bce_closed(p, t, w2);
  const RowMat<S> p_row = p;
  Padded<S, Eigen::RowMajor> p_padded = Padded<S, Eigen::RowMajor>::from(p);
  Mat<S> grad;
  const S loss = xent::binary_cross_entropy_forward_backward(p_padded.map(), t_row, grad, bce_opts);
  require_close(loss, closed_p.loss.sum(), 2 * eps<S>(), static_cast<double>(closed_p.loss_atol.sum()),
                "binary_cross_entropy of a padded Map: loss");
  require_close(grad, closed_p.grad, 4 * eps<S>(), closed_p.grad_atol, "binary_cross_entropy of a padded Map: gradient");
  require_close(xent::binary_cross_entropy_per_sample(p_row, t, bce_opts), closed_p.loss, 0.0, closed_p.loss_atol,
                "binary_cross_entropy of a row-major matrix: losses");
}

// Issue 20: PyTorch's `weight=torch.tensor([C values])` on an (N, C) input is per class. Ported as a
// column vector (Eigen::VectorXf, the natural spelling) through class_weight it stays per class, in
// either orientation, even when N == C, where the per-sample reading gives another number and no
// size check could tell them apart. The expected values are PyTorch's (Debian's python3-torch
// 1.13.1, CPU, 1 thread):
//   x = [[1, -2, 0.5], [0, 1.5, -1], [2, -0.5, 0.25]], p = [[0.8, 0.1, 0.6], [0.5, 0.7, 0.3],
//   [0.9, 0.4, 0.55]], t = [[1, 0, 1], [0, 1, 1], [1, 1, 0]], w = [0.25, 1, 2]
//   F.binary_cross_entropy_with_logits(x, t, weight=w)           float64 0.7569231862378293
//                                                                float32 0.756923258304596
//   F.binary_cross_entropy_with_logits(x, t, weight=w.view(3, 1)) float64 0.6989197385500102
//                                                                float32 0.6989197731018066
//   F.binary_cross_entropy(p, t, weight=w)                       float64 0.7400390279970117
//                                                                float32 0.7400389909744263
//   F.binary_cross_entropy(p, t, weight=w.view(3, 1))            float64 0.6782161376676251
//                                                                float32 0.6782162189483643
// Tolerance: xent and PyTorch each round nine element losses and their mean; 8 eps relative covers
// both (xent sums in double).
TEMPLATE_TEST_CASE("a (C,) weight ported as class_weight gives PyTorch's loss when N == C",
                   "[bce][bce_with_logits][weight]", float, double) {
  using S = TestType;
  const bool f32 = std::is_same<S, float>::value;
  Mat<S> x(3, 3), p(3, 3), t(3, 3);
  x << S(1), S(-2), S(0.5), S(0), S(1.5), S(-1), S(2), S(-0.5), S(0.25);
  p << S(0.8), S(0.1), S(0.6), S(0.5), S(0.7), S(0.3), S(0.9), S(0.4), S(0.55);
  t << S(1), S(0), S(1), S(0), S(1), S(1), S(1), S(1), S(0);
  const Vec<S> w = (Vec<S>(3) << S(0.25), S(1), S(2)).finished();  // PyTorch's (C,), as a VectorX
  const double logits_per_class = f32 ? 0.756923258304596 : 0.7569231862378293;
  const double logits_per_sample = f32 ? 0.6989197731018066 : 0.6989197385500102;
  const double probs_per_class = f32 ? 0.7400389909744263 : 0.7400390279970117;
  const double probs_per_sample = f32 ? 0.6782162189483643 : 0.6782161376676251;
  const double rtol = 8 * eps<S>();
  INFO(scalar_name<S>());

  SECTION("binary_cross_entropy_with_logits") {
    const S loss = xent::binary_cross_entropy_with_logits(x, t, BCEWithLogitsLossOptions().class_weight(w));
    require_close(loss, logits_per_class, rtol, 0.0, "class_weight(column vector)");
    const Eigen::RowVectorXd w_row = w.transpose().template cast<double>();
    require_close(xent::binary_cross_entropy_with_logits(x, t, BCEWithLogitsLossOptions().class_weight(w_row)),
                  logits_per_class, rtol, 0.0, "class_weight(row vector of double)");
    // Samples in columns: the class axis is the rows.
    const Mat<S> xt = x.transpose(), tt = t.transpose();
    require_close(xent::binary_cross_entropy_with_logits(
                      xt, tt, BCEWithLogitsLossOptions().class_weight(w).layout(Layout::SamplesInColumns)),
                  logits_per_class, rtol, 0.0, "class_weight, samples in columns");
    // PyTorch's (N, 1) weight is sample_weight: a different loss, as in PyTorch.
    const S per_sample =
        xent::binary_cross_entropy_with_logits(x, t, BCEWithLogitsLossOptions().sample_weight(w));
    require_close(per_sample, logits_per_sample, rtol, 0.0, "sample_weight");
    CHECK(std::fabs(static_cast<double>(loss) - static_cast<double>(per_sample)) > 0.05);
    // element_weight of the broadcast matrix agrees with class_weight.
    const Mat<S> full = Vec<S>::Ones(3) * w.transpose();
    require_close(xent::binary_cross_entropy_with_logits(x, t, BCEWithLogitsLossOptions().element_weight(full)),
                  logits_per_class, rtol, 0.0, "element_weight of w broadcast over the rows");
    // The object and the later setter wins.
    const xent::BCEWithLogitsLoss module(BCEWithLogitsLossOptions().sample_weight(w).class_weight(w));
    require_close(module(x, t), logits_per_class, rtol, 0.0, "BCEWithLogitsLoss, the last setter wins");
  }
  SECTION("binary_cross_entropy") {
    const S loss = xent::binary_cross_entropy(p, t, BCELossOptions().class_weight(w));
    require_close(loss, probs_per_class, rtol, 0.0, "class_weight(column vector)");
    const Eigen::RowVectorXf w_row = w.transpose().template cast<float>();
    require_close(xent::binary_cross_entropy(p, t, BCELossOptions().class_weight(w_row)), probs_per_class, rtol, 0.0,
                  "class_weight(row vector of float)");
    const S per_sample = xent::binary_cross_entropy(p, t, BCELossOptions().sample_weight(w));
    require_close(per_sample, probs_per_sample, rtol, 0.0, "sample_weight");
    CHECK(std::fabs(static_cast<double>(loss) - static_cast<double>(per_sample)) > 0.05);
  }
}

TEST_CASE("BCE weight setters and getters", "[bce][weight]") {
  const Eigen::Vector3f w(0.25f, 1.0f, 2.0f);
  BCELossOptions opts;
  CHECK_FALSE(opts.has_weight());
  CHECK(opts.weight_kind() == xent::WeightKind::None);
  opts.class_weight(w);
  CHECK(opts.weight_kind() == xent::WeightKind::PerClass);
  CHECK(opts.has_weight());
  CHECK(opts.weight().size() == 3);
  CHECK(opts.weight()(2) == 2.0);
  opts.sample_weight(w.transpose());
  CHECK(opts.weight_kind() == xent::WeightKind::PerSample);
  opts.element_weight(Eigen::Matrix<double, 2, 3>::Ones());
  CHECK(opts.weight_kind() == xent::WeightKind::Elementwise);
  CHECK(opts.weight().rows() == 2);
  CHECK(opts.weight().cols() == 3);
  // Cross-entropy's weight stays PyTorch's, per class, and class_weight is the same setter.
  const auto ce = xent::CrossEntropyOptions().class_weight(w.transpose());
  CHECK(ce.has_weight());
  CHECK(ce.weight() == xent::CrossEntropyOptions().weight(w).weight());
}
