// The vector kernels of the element-wise losses (binary_cross_entropy_with_logits,
// binary_cross_entropy) and of nll_loss's gather / zero-fill-and-scatter, against
// xent::reference<long double>:
// - sizes N*C from 0 to a few thousand that are not multiples of any vector width (masked tails,
//   flat chunks running across line ends, lines longer than a chunk); bigger ones under
//   XENT_TEST_FULL_SWEEP;
// - adversarial values: logits +-1e30, +-inf, NaN, 0, far tails; targets 0, 1, fractional, NaN;
//   pos_weight 0 and 1e6; weights with zeros and negatives;
// - every option: each weight kind (per class / per sample / element-wise), pos_weight, mean and
//   sum, both layouts; inputs and targets of both storage orders (the flat path when they match,
//   the per-line path with staged targets otherwise), outer-strided Maps, Blocks, outputs of the
//   other storage order (scattered through the kernel's buffer);
// - bitwise the same results for 1 and 2 threads (OpenMP builds).
//
// Tolerances (eps = epsilon of the computation's type S). Expected values are the long double
// reference rounded to S (so that an overflow to inf in S is expected as inf).
// - Element loss: 8 eps |loss| + 4 denorm_min (the kernel evaluates two non-negative terms with
//   exp, log1p <= 1 ulp each and a few roundings), plus the reference's own rounding in long double
//   on its cancelling form max(x, 0) - x t + ..., 4 LDBL_EPSILON |w| (|x| + 2) (P + 1).
// - Gradient: 8 eps |w| ((1 - t) sigmoid(x) + P t sigmoid(-x)) (the two terms may cancel) plus
//   4 LDBL_EPSILON |w| (P + 1) for the reference's form, times |scale|, plus 4 denorm_min.
// - Reduced losses: the sum of the element tolerances (times 1/numel for the mean) plus 2 eps
//   relative (the final rounding to S).
// - BCE on probabilities: loss 8 eps |loss|; gradient 8 eps |w| (p + t) / max(p (1 - p), 1e-12).
// - nll_loss: the terms -w_y x and the gradient entries -w_y scale are rounded to S: 2 eps
//   relative, plus eps times the summed |terms| for the sums (cancellation).
#include <cstring>
#include <string>
#include <type_traits>
#include <xent/reference.hpp>

#include "test_support.hpp"

using namespace xt;
using xent::BCELossOptions;
using xent::BCEWithLogitsLossOptions;
using xent::NLLLossOptions;
using xent::Reduction;

namespace {

constexpr LD kLdEps = std::numeric_limits<LD>::epsilon();

template <class S>
LD tiny() {
  return 4 * static_cast<LD>(std::numeric_limits<S>::denorm_min());
}

// Expected values rounded to S (non-finite stay as they are).
template <class S>
Mat<LD> in_s(const Mat<LD>& m) {
  return m.template cast<S>().template cast<LD>();
}
template <class S>
LD in_s(LD v) {
  return static_cast<LD>(static_cast<S>(v));
}

// Replaces non-finite tolerances (NaN inputs) by 0: NaN / inf expected values must match exactly.
Mat<LD> finite_or_zero(Mat<LD> m) {
  for (Index k = 0; k < m.size(); ++k) {
    if (!std::isfinite(m.data()[k])) m.data()[k] = 0;
  }
  return m;
}

// ---- data ------------------------------------------------------------------------------------

template <class S>
Mat<S> adversarial_logits(Index rows, Index cols, Rng& rng) {
  const S inf = std::numeric_limits<S>::infinity();
  Mat<S> x(rows, cols);
  for (Index k = 0; k < x.size(); ++k) {
    const double u = rng.uniform();
    S v;
    if (u < 0.03) {
      v = rng.chance(0.5) ? S(1e30) : S(-1e30);
    } else if (u < 0.05) {
      v = rng.chance(0.5) ? inf : -inf;
    } else if (u < 0.06) {
      v = std::numeric_limits<S>::quiet_NaN();
    } else if (u < 0.09) {
      v = S(0);
    } else if (u < 0.2) {
      v = static_cast<S>(rng.uniform(-120, 120));  // the tails, exp(-|x|) subnormal or 0 in float
    } else {
      v = static_cast<S>(5 * rng.normal());
    }
    x.data()[k] = v;
  }
  return x;
}

template <class S>
Mat<S> adversarial_targets(Index rows, Index cols, Rng& rng, bool with_nan) {
  Mat<S> t(rows, cols);
  for (Index k = 0; k < t.size(); ++k) {
    const double u = rng.uniform();
    t.data()[k] = u < 0.35 ? S(0) : u < 0.7 ? S(1) : (with_nan && u < 0.71) ? std::numeric_limits<S>::quiet_NaN()
                                                                         : static_cast<S>(rng.uniform());
  }
  return t;
}

// pos_weight entries: 0, 1e6 ("huge"), and ordinary values.
Vec<double> adversarial_pos_weight(Index n, Rng& rng) {
  Vec<double> p(n);
  for (Index i = 0; i < n; ++i) p(i) = rng.pick({0.0, 0.25, 1.0, 3.0, 1e6});
  return p;
}

enum class Kind { None, PerClass, PerSample, Elementwise };
constexpr Kind kKinds[] = {Kind::None, Kind::PerClass, Kind::PerSample, Kind::Elementwise};
const char* kind_name(Kind k) {
  switch (k) {
    case Kind::None: return "no weight";
    case Kind::PerClass: return "per-class weight";
    case Kind::PerSample: return "per-sample weight";
    case Kind::Elementwise: return "element-wise weight";
  }
  return "";
}

// Options for one combination, and the full rows x cols weight and pos_weight matrices (long
// double) they stand for.
template <class Options>
struct Combo {
  Options opts;
  Mat<LD> w, pos;
  std::string name;
};

template <class Options>
Combo<Options> make_combo(Layout layout, Kind kind, bool pos_weight, Reduction reduction, Index rows, Index cols,
                          Rng& rng) {
  Combo<Options> c;
  c.opts.layout(layout).reduction(reduction);
  const bool in_rows = layout == Layout::SamplesInRows;
  const Index classes = in_rows ? cols : rows, samples = in_rows ? rows : cols;
  c.w = Mat<LD>::Ones(rows, cols);
  c.pos = Mat<LD>::Ones(rows, cols);
  const auto class_of = [&](Index i, Index j) { return in_rows ? j : i; };
  const auto sample_of = [&](Index i, Index j) { return in_rows ? i : j; };
  switch (kind) {
    case Kind::None: break;
    case Kind::PerClass: {
      const Vec<double> w = random_weights(classes, rng);
      c.opts.class_weight(w);
      for (Index i = 0; i < rows; ++i)
        for (Index j = 0; j < cols; ++j) c.w(i, j) = static_cast<LD>(w(class_of(i, j)));
      break;
    }
    case Kind::PerSample: {
      const Vec<double> w = random_weights(samples, rng);
      c.opts.sample_weight(w);
      for (Index i = 0; i < rows; ++i)
        for (Index j = 0; j < cols; ++j) c.w(i, j) = static_cast<LD>(w(sample_of(i, j)));
      break;
    }
    case Kind::Elementwise: {
      Mat<double> w(rows, cols);
      for (Index j = 0; j < cols; ++j) w.col(j) = random_weights(rows, rng);
      c.opts.element_weight(w);
      c.w = w.cast<LD>();
      break;
    }
  }
  if constexpr (std::is_same<Options, BCEWithLogitsLossOptions>::value) {
    if (pos_weight) {
      const Vec<double> p = adversarial_pos_weight(classes, rng);
      c.opts.pos_weight(p);
      for (Index i = 0; i < rows; ++i)
        for (Index j = 0; j < cols; ++j) c.pos(i, j) = static_cast<LD>(p(class_of(i, j)));
    }
  }
  c.name = std::string(layout_name(layout)) + ", " + kind_name(kind) + (pos_weight ? ", pos_weight" : "") +
           (reduction == Reduction::Mean ? ", mean" : ", sum");
  return c;
}

// ---- expected values and tolerances ----------------------------------------------------------

struct Expected {
  Mat<LD> loss, loss_atol;  // weighted element losses
  Mat<LD> grad, grad_atol;  // weighted element gradients (scale 1)
};

template <class S>
Expected with_logits_expected(const Mat<S>& x, const Mat<S>& t, const Combo<BCEWithLogitsLossOptions>& c) {
  const double e = eps<S>();
  Expected r;
  r.loss = xent::reference::binary_cross_entropy_with_logits_per_sample<LD>(x, t, c.opts);
  BCEWithLogitsLossOptions sum_opts = c.opts;
  sum_opts.reduction(Reduction::Sum);
  r.grad = xent::reference::binary_cross_entropy_with_logits_backward<LD>(x, t, sum_opts);
  r.loss_atol.resize(x.rows(), x.cols());
  r.grad_atol.resize(x.rows(), x.cols());
  for (Index j = 0; j < x.cols(); ++j)
    for (Index i = 0; i < x.rows(); ++i) {
      const LD xi = x(i, j), ti = t(i, j), P = c.pos(i, j), W = std::fabs(c.w(i, j));
      const LD sig = 1 / (1 + std::exp(-xi)), sig_minus = 1 / (1 + std::exp(xi));
      r.loss_atol(i, j) = 8 * e * std::fabs(r.loss(i, j)) + 4 * kLdEps * W * (std::fabs(xi) + 2) * (P + 1);
      r.grad_atol(i, j) = 8 * e * W * (std::fabs((1 - ti) * sig) + std::fabs(P * ti * sig_minus)) +
                          4 * kLdEps * W * (P + 1);
    }
  r.loss_atol = finite_or_zero(r.loss_atol).array() + tiny<S>();
  r.grad_atol = finite_or_zero(r.grad_atol).array() + tiny<S>();
  return r;
}

template <class S>
Expected probabilities_expected(const Mat<S>& p, const Mat<S>& t, const Combo<BCELossOptions>& c) {
  const double e = eps<S>();
  Expected r;
  r.loss = xent::reference::binary_cross_entropy_per_sample<LD>(p, t, c.opts);
  BCELossOptions sum_opts = c.opts;
  sum_opts.reduction(Reduction::Sum);
  r.grad = xent::reference::binary_cross_entropy_backward<LD>(p, t, sum_opts);
  r.loss_atol.resize(p.rows(), p.cols());
  r.grad_atol.resize(p.rows(), p.cols());
  for (Index j = 0; j < p.cols(); ++j)
    for (Index i = 0; i < p.rows(); ++i) {
      const LD pi = p(i, j), ti = t(i, j), W = std::fabs(c.w(i, j));
      r.loss_atol(i, j) = 8 * e * std::fabs(r.loss(i, j)) + 4 * kLdEps * W * (std::fabs(r.loss(i, j)) + 3);
      r.grad_atol(i, j) = 8 * e * W * (pi + ti) / std::max(pi * (1 - pi), LD(1e-12));
    }
  r.loss_atol = finite_or_zero(r.loss_atol).array() + tiny<S>();
  r.grad_atol = finite_or_zero(r.grad_atol).array() + tiny<S>();
  return r;
}

// The bundled entry points of one loss (the free functions are overload sets).
struct WithLogits {
  using Options = BCEWithLogitsLossOptions;
  template <class... A> static auto reduced(const A&... a) { return xent::binary_cross_entropy_with_logits(a...); }
  template <class... A> static void per_element(const A&... a) { xent::binary_cross_entropy_with_logits_per_sample(a...); }
  template <class... A> static auto backward(const A&... a) { return xent::binary_cross_entropy_with_logits_backward(a...); }
  template <class... A> static auto per_element_backward(const A&... a) { return xent::binary_cross_entropy_with_logits_per_sample_backward(a...); }
  template <class... A> static auto forward_backward(const A&... a) { return xent::binary_cross_entropy_with_logits_forward_backward(a...); }
};
struct OnProbabilities {
  using Options = BCELossOptions;
  template <class... A> static auto reduced(const A&... a) { return xent::binary_cross_entropy(a...); }
  template <class... A> static void per_element(const A&... a) { xent::binary_cross_entropy_per_sample(a...); }
  template <class... A> static auto backward(const A&... a) { return xent::binary_cross_entropy_backward(a...); }
  template <class... A> static auto per_element_backward(const A&... a) { return xent::binary_cross_entropy_per_sample_backward(a...); }
  template <class... A> static auto forward_backward(const A&... a) { return xent::binary_cross_entropy_forward_backward(a...); }
};

// Every entry point of loss F on the views xv, tv (the values of x, t) against the expectation.
// Output kinds: OutM for the per-element losses and the fused gradient (a plain matrix of either
// storage order).
template <class S, class F, class OutM, class XV, class TV>
void check_entry_points(const XV& xv, const TV& tv, const Mat<S>& go, const typename F::Options& opts,
                        const Expected& ex, const std::string& what) {
  INFO(what);
  const double e = eps<S>();
  const bool mean = opts.reduction() == Reduction::Mean;
  const LD factor = mean ? 1 / static_cast<LD>(xv.size()) : LD(1);
  const LD sum = ex.loss.sum();
  const double sum_atol = static_cast<double>(ex.loss_atol.sum() * factor);

  const S loss = F::reduced(xv, tv, opts);
  require_close(loss, in_s<S>(sum * factor), 2 * e, sum_atol, "reduced loss");

  OutM out(xv.rows(), xv.cols());
  F::per_element(xv, tv, out, opts);
  require_close(out, in_s<S>(ex.loss), 0.0, ex.loss_atol, "element losses");

  const S g = S(-0.75);
  const Mat<S> backward = F::backward(xv, tv, opts, g);
  const LD scale = static_cast<LD>(g) * factor;
  require_close(backward, in_s<S>(ex.grad * scale), 2 * e, ex.grad_atol * std::fabs(scale), "backward");

  const Mat<S> per_backward = F::per_element_backward(xv, tv, go, opts);
  const Mat<LD> go_ld = go.template cast<LD>();
  require_close(per_backward, in_s<S>((ex.grad.array() * go_ld.array()).matrix()), 2 * e,
                (ex.grad_atol.array() * go_ld.array().abs()).matrix(), "per-element backward");

  OutM grad(xv.rows(), xv.cols());
  const S fused = F::forward_backward(xv, tv, grad, opts);
  require_close(fused, in_s<S>(sum * factor), 2 * e, sum_atol, "forward_backward loss");
  require_close(grad, in_s<S>(ex.grad * factor), 2 * e, ex.grad_atol * factor, "forward_backward gradient");
}

// One shape: every option combination on the plain matrices of both storage orders, targets of
// the same (flat path) and the other order (per-line path); the first combinations also on a
// padded Map, a Block and outputs of the other order.
template <class S, class F>
void check_shape(Index rows, Index cols, std::uint64_t seed) {
  Rng rng(seed);
  const bool logits = std::is_same<F, WithLogits>::value;
  Mat<S> x, t;
  if (logits) {
    x = adversarial_logits<S>(rows, cols, rng);
    t = adversarial_targets<S>(rows, cols, rng, true);
  } else {
    // Probabilities in [0, 1] with exact 0 and 1 (the -100 clamp, the 1e-12 clamp), near-ends.
    x.resize(rows, cols);
    for (Index k = 0; k < x.size(); ++k) {
      const double u = rng.uniform();
      x.data()[k] = u < 0.05 ? S(0) : u < 0.1 ? S(1) : u < 0.15 ? static_cast<S>(rng.uniform(1e-6, 2e-6))
                                                                  : static_cast<S>(rng.uniform());
    }
    t = adversarial_targets<S>(rows, cols, rng, false);
  }
  const Mat<S> go = random_uniform<S>(rows, cols, rng, -2, 2);
  const RowMat<S> x_row = x, t_row = t;
  int combo_index = 0;
  for (const Layout layout : {Layout::SamplesInRows, Layout::SamplesInColumns}) {
    for (const Kind kind : kKinds) {
      for (const bool pos_weight : {false, true}) {
        if (!logits && pos_weight) continue;
        for (const Reduction reduction : {Reduction::Mean, Reduction::Sum}) {
          const auto c = make_combo<typename F::Options>(layout, kind, pos_weight, reduction, rows, cols, rng);
          Expected ex;
          if constexpr (std::is_same<F, WithLogits>::value) {
            ex = with_logits_expected(x, t, c);
          } else {
            ex = probabilities_expected(x, t, c);
          }
          const std::string base = std::string(scalar_name<S>()) + ", " + std::to_string(rows) + "x" +
                                   std::to_string(cols) + ", " + c.name;
          check_entry_points<S, F, Mat<S>>(x, t, go, c.opts, ex, base + ", column-major");
          check_entry_points<S, F, RowMat<S>>(x_row, t_row, go, c.opts, ex, base + ", row-major");
          check_entry_points<S, F, Mat<S>>(x_row, t, go, c.opts, ex,
                                           base + ", row-major input, column-major targets and outputs");
          if (combo_index++ % 3 == 0) {
            Padded<S, Eigen::ColMajor> x_map = Padded<S, Eigen::ColMajor>::from(x);
            Embedded<S, Eigen::RowMajor> t_block(t);
            check_entry_points<S, F, RowMat<S>>(x_map.map(), t_block.block(), go, c.opts, ex,
                                                base + ", padded column-major Map, row-major Block targets");
          }
        }
      }
    }
  }
}

// Sizes: N*C from 0 to a few thousand, none a multiple of 16 except by accident of one dimension;
// lines shorter and longer than the kernel's chunk (256).
struct Shape {
  Index rows, cols;
};
constexpr Shape kShapes[] = {{0, 0}, {0, 3}, {4, 0}, {1, 1}, {1, 7}, {3, 5}, {17, 1}, {2, 33},
                             {7, 17}, {13, 29}, {1, 300}, {300, 1}, {3, 517}, {61, 43}};
#if XENT_TEST_FULL_SWEEP
constexpr Shape kFullShapes[] = {{97, 131}, {1031, 3}};
#endif

}  // namespace

TEMPLATE_TEST_CASE("BCE-with-logits vector kernels match the reference on adversarial values",
                   "[elementwise][bce_with_logits]", float, double) {
  std::uint64_t seed = 1;
  for (const Shape s : kShapes) check_shape<TestType, WithLogits>(s.rows, s.cols, seed++);
#if XENT_TEST_FULL_SWEEP
  for (const Shape s : kFullShapes) check_shape<TestType, WithLogits>(s.rows, s.cols, seed++);
#endif
}

TEMPLATE_TEST_CASE("BCE vector kernels match the reference", "[elementwise][bce]", float, double) {
  std::uint64_t seed = 101;
  for (const Shape s : kShapes) check_shape<TestType, OnProbabilities>(s.rows, s.cols, seed++);
#if XENT_TEST_FULL_SWEEP
  for (const Shape s : kFullShapes) check_shape<TestType, OnProbabilities>(s.rows, s.cols, seed++);
#endif
}

TEMPLATE_TEST_CASE("BCE-with-logits special values are those of the scalar definition",
                   "[elementwise][bce_with_logits][special]", float, double) {
  using S = TestType;
  const S inf = std::numeric_limits<S>::infinity(), nan = std::numeric_limits<S>::quiet_NaN();
  // 19 elements (a full vector plus a tail on every ISA): t = 0 / 1 at x = +-inf take the limit
  // (the term with coefficient 0 is skipped), a NaN x or t gives NaN (x = NaN also where t = 1 and
  // P = 0 leave no term), the tails keep their value down to subnormals.
  Mat<S> x(1, 19), t(1, 19);
  x << -inf, inf, inf, -inf, nan, nan, 0, -0.0, S(1e30), S(-1e30), 40, -40, 100, -100, inf, -inf, nan, 3, -3;
  t << 0, 0, 1, 1, 0, 1, 0, 1, 0, 1, 1, 0, 1, 0, 0.5, 0.5, 1, nan, 1;
  Eigen::Matrix<double, 1, Eigen::Dynamic> p = Eigen::Matrix<double, 1, Eigen::Dynamic>::Ones(19);
  p(16) = 0;  // x = NaN, t = 1, P = 0: both coefficients 0
  const auto opts = BCEWithLogitsLossOptions().pos_weight(p.transpose()).reduction(Reduction::Sum);
  const Mat<S> loss = xent::binary_cross_entropy_with_logits_per_sample(x, t, opts);
  const Mat<S> grad = xent::binary_cross_entropy_with_logits_backward(x, t, opts);
  const S expected_loss[] = {0, inf, 0, inf, nan, nan, S(std::log(2.0L)), S(std::log(2.0L)), S(1e30), S(1e30),
                             S(std::log1p(std::exp(-40.0L))), S(std::log1p(std::exp(-40.0L))),
                             S(std::log1p(std::exp(-100.0L))), S(std::log1p(std::exp(-100.0L))), inf, inf, nan, nan,
                             S(3 + std::log1p(std::exp(-3.0L)))};
  for (int j = 0; j < 19; ++j) {
    INFO("x = " << x(0, j) << ", t = " << t(0, j) << ", P = " << p(j));
    const double want = static_cast<double>(expected_loss[j]);
    if (std::isnan(want)) {
      CHECK(std::isnan(loss(0, j)));
    } else {
      CHECK(static_cast<double>(loss(0, j)) ==
            Approx(want).epsilon(8 * eps<S>()).margin(4 * std::numeric_limits<S>::denorm_min()));
    }
  }
  // The gradient is finite wherever x and t are not NaN; at +-inf it is the limit.
  const S expected_grad[] = {0, 1, 0, -1, nan, nan, 0.5, -0.5, 1, -1};
  for (int j = 0; j < 10; ++j) {
    INFO("gradient at x = " << x(0, j) << ", t = " << t(0, j));
    if (std::isnan(expected_grad[j])) {
      CHECK(std::isnan(grad(0, j)));
    } else {
      CHECK(grad(0, j) == expected_grad[j]);
    }
  }
  CHECK(std::isnan(grad(0, 16)));
  CHECK(std::isnan(grad(0, 17)));
  CHECK(grad(0, 14) == S(0.5));   // (1 - 0.5) * 1 - 0.5 * 0
  CHECK(grad(0, 15) == S(-0.5));
}

TEMPLATE_TEST_CASE("nll_loss gather and zero-fill-and-scatter match the reference", "[elementwise][nll_loss]", float,
                   double) {
  using S = TestType;
  const double e = eps<S>();
  std::uint64_t seed = 201;
  for (const Shape s : kShapes) {
    for (const Layout layout : {Layout::SamplesInRows, Layout::SamplesInColumns}) {
      Rng rng(seed++);
      const Mat<S> x = adversarial_logits<S>(s.rows, s.cols, rng);
      const Index samples = layout == Layout::SamplesInRows ? s.rows : s.cols;
      const Index classes = layout == Layout::SamplesInRows ? s.cols : s.rows;
      if (classes == 0 && samples > 0) continue;  // no valid target
      const Vec<int> y = random_class_targets<int>(samples, std::max<Index>(classes, 1), rng, -100, 0.2);
      for (const bool weighted : {false, true}) {
        for (const Reduction reduction : {Reduction::Mean, Reduction::Sum}) {
          NLLLossOptions opts;
          opts.layout(layout).reduction(reduction);
          if (weighted) opts.weight(random_weights(classes, rng));
          INFO(scalar_name<S>() << ", " << s.rows << "x" << s.cols << ", " << layout_name(layout)
                                << (weighted ? ", weighted" : "") << (reduction == Reduction::Mean ? ", mean" : ", sum"));
          const LD expected = xent::reference::nll_loss<LD>(x, y, opts);
          // Each term -w_y x is rounded to S (half an ulp) and summed in double: up to eps of the
          // summed magnitudes, which matters only when large terms cancel.
          const Vec<LD> per = xent::reference::nll_loss_per_sample<LD>(x, y, opts);
          LD magnitude = 0;
          for (Index n = 0; n < per.size(); ++n) {
            if (std::isfinite(per(n))) magnitude += std::fabs(per(n));
          }
          LD denominator = 0;  // the mean's: the summed weights of the non-ignored targets
          for (Index n = 0; n < samples; ++n) {
            if (y(n) != -100) denominator += weighted ? static_cast<LD>(opts.weight()(y(n))) : LD(1);
          }
          const double sum_atol = static_cast<double>(
              static_cast<LD>(e) * magnitude /
              (reduction == Reduction::Mean && denominator != 0 ? std::fabs(denominator) : LD(1)));
          const Mat<LD> expected_grad = xent::reference::nll_loss_backward<LD>(x, y, opts);
          const Vec<S> go = random_uniform<S>(samples, 1, rng, -2, 2);
          const Mat<LD> expected_per = xent::reference::nll_loss_per_sample_backward<LD>(x, y, go, opts);
          const auto check = [&](const auto& xv, auto& grad, const char* what) {
            INFO(what);
            grad.setConstant(S(7));  // every entry must be written
            const S loss = xent::nll_loss_forward_backward(xv, y, grad, opts);
            require_close(loss, in_s<S>(expected), 2 * e, sum_atol, "forward_backward loss");
            require_close(grad, in_s<S>(expected_grad), 2 * e, 0.0, "forward_backward gradient");
            require_close(xent::nll_loss(xv, y, opts), in_s<S>(expected), 2 * e, sum_atol, "nll_loss");
            require_close(xent::nll_loss_backward(xv, y, opts), in_s<S>(expected_grad), 2 * e, 0.0, "backward");
            require_close(xent::nll_loss_per_sample_backward(xv, y, go, opts), in_s<S>(expected_per), 2 * e, 0.0,
                          "per-sample backward");
          };
          const RowMat<S> x_row = x;
          Mat<S> g_col(s.rows, s.cols);
          RowMat<S> g_row(s.rows, s.cols);
          check(x, g_col, "column-major");
          check(x_row, g_row, "row-major");
          check(x_row, g_col, "row-major input, column-major gradient");
          Padded<S, Eigen::RowMajor> g_map(s.rows, s.cols, 2, S(1234.5));
          auto map = g_map.map();
          check(x, map, "gradient into a padded row-major Map");
          REQUIRE(g_map.padding_intact());
          Embedded<S, Eigen::ColMajor> g_block(s.rows, s.cols, S(1234.5));
          auto block = g_block.block();
          check(x_row, block, "gradient into a Block");
          REQUIRE((g_block.big().array() == S(1234.5)).count() == g_block.big().size() - x.size());
        }
      }
    }
  }
}

// ---- threads --------------------------------------------------------------------------------

namespace {

template <class M>
bool bitwise_equal(const Eigen::MatrixBase<M>& a, const Eigen::MatrixBase<M>& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.derived().data(), b.derived().data(),
                     sizeof(typename M::Scalar) * static_cast<std::size_t>(a.size())) == 0;
}
bool bitwise_equal(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }
bool bitwise_equal(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

template <class F>
void require_thread_invariant(F&& f, const char* what) {
  INFO(what);
  xent::set_num_threads(1);
  const auto one = f();
  xent::set_num_threads(2);
  const auto two = f();
  xent::set_num_threads(0);
  REQUIRE(bitwise_equal(one, two));
}

}  // namespace

TEMPLATE_TEST_CASE("element-wise kernels give bitwise the same results for 1 and 2 threads",
                   "[elementwise][threads]", float, double) {
  using S = TestType;
  // Big enough to be split across two threads (>= 64 K elements), with adversarial values; long
  // lines (per-line path with broadcast weights) and short ones (chunks of whole lines).
  const auto shape = GENERATE(std::pair<Index, Index>{300, 251}, std::pair<Index, Index>{8000, 9});
  const Index rows = shape.first, cols = shape.second;  // (lambdas cannot capture bindings in C++17)
  Rng rng(77);
  const Mat<S> x = adversarial_logits<S>(rows, cols, rng);
  const Mat<S> t = adversarial_targets<S>(rows, cols, rng, false);
  const RowMat<S> x_row = x, t_row = t;
  for (const Kind kind : kKinds) {
    const auto c = make_combo<BCEWithLogitsLossOptions>(Layout::SamplesInRows, kind, kind != Kind::None,
                                                        Reduction::Mean, rows, cols, rng);
    INFO(c.name);
    require_thread_invariant([&] { return xent::binary_cross_entropy_with_logits(x, t, c.opts); }, "col-major loss");
    require_thread_invariant([&] { return xent::binary_cross_entropy_with_logits(x_row, t, c.opts); },
                             "row-major input, col-major targets: loss");
    require_thread_invariant(
        [&] {
          RowMat<S> g(rows, cols);
          const S loss = xent::binary_cross_entropy_with_logits_forward_backward(x_row, t_row, g, c.opts);
          g(0, 0) = loss;  // loss and gradient in one comparison
          return g;
        },
        "row-major forward_backward");
    require_thread_invariant(
        [&] {
          Mat<S> g(rows, cols);
          const S loss = xent::binary_cross_entropy_with_logits_forward_backward(x, t, g, c.opts);
          g(0, 0) = loss;
          return g;
        },
        "col-major forward_backward");
  }
  Mat<S> p(rows, cols);
  for (Index k = 0; k < p.size(); ++k) {
    const S v = x.data()[k];
    p.data()[k] = std::isnan(v) ? S(0.5) : static_cast<S>(1 / (1 + std::exp(-static_cast<LD>(v))));
  }
  require_thread_invariant([&] { return xent::binary_cross_entropy(p, t); }, "binary_cross_entropy");
  const Vec<int> y = random_class_targets<int>(rows, cols, rng, -100, 0.1);
  require_thread_invariant(
      [&] {
        Mat<S> g(rows, cols);
        const S loss = xent::nll_loss_forward_backward(x, y, g);
        g(0, 0) = loss;
        return g;
      },
      "nll_loss_forward_backward");
}
