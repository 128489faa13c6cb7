// The lane-per-sample paths (detail/lane_kernels.hpp): taken when the samples are adjacent in
// memory (column-major with samples in rows, row-major with samples in columns, as matrices, Maps
// with an outer stride and Blocks) and, after a transpose into stack scratch, for contiguous rows
// of at most kLaneSmallClasses classes (fewer for some functions). Checked against
// xent::reference<long double> for log_softmax, softmax, logsumexp, both backward functions and
// cross_entropy with index targets (every entry point and option), over class counts around the
// vector width and the small-C thresholds, sample counts with partial packets and strips,
// adversarial values, and 1 vs 2 threads.
#include <cstdint>
#include <string>
#include <xent/reference.hpp>

#include "test_support.hpp"

using namespace xt;
using xent::CrossEntropyOptions;
using xent::Reduction;

namespace {

const Layout kLayouts[] = {Layout::SamplesInRows, Layout::SamplesInColumns};

// Class and sample counts: 1, around the widest packet (16 floats), the transposed paths'
// thresholds (16, 100, 128 classes) and strip (64 samples); N = 0 and partial packets.
#if XENT_TEST_FULL_SWEEP
const Index kClasses[] = {1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 33, 64, 100, 101, 128, 129, 257, 1000};
const Index kSamples[] = {0, 1, 5, 16, 17, 63, 64, 65, 130, 300};
#else
const Index kClasses[] = {1, 3, 16, 17, 32, 33, 100, 101, 128, 129};
const Index kSamples[] = {0, 1, 17, 65, 130};
#endif

// ---- data ----------------------------------------------------------------------------------------
// Random logits in the layout's shape; some samples are made adversarial: entries of +-1e30, masked
// (-inf) classes, an all -inf sample, a NaN, all-equal logits, one huge logit.
template <class S>
Mat<S> adversarial_logits(Index samples, Index classes, Layout layout, Rng& rng) {
  Mat<S> rows = random_logits<S>(samples, classes, rng, 3.0, Layout::SamplesInRows, 0.3);
  const S inf = std::numeric_limits<S>::infinity();
  for (Index n = 0; n < samples; ++n) {
    if (!rng.chance(0.35)) continue;
    const Index c = rng.integer(0, classes - 1);
    switch (rng.integer(0, 6)) {
      case 0: rows(n, c) = S(1e30); break;
      case 1: rows(n, c) = S(-1e30); break;
      case 2:
        for (Index k = 0; k < classes; ++k) {
          if (k != c && rng.chance(0.5)) rows(n, k) = -inf;
        }
        break;
      case 3: rows.row(n).setConstant(-inf); break;
      case 4: rows(n, c) = std::numeric_limits<S>::quiet_NaN(); break;
      case 5: rows.row(n).setConstant(S(2.5)); break;
      default: rows(n, c) = S(1e4); break;
    }
  }
  return from_samples_in_rows(rows, layout);
}

// ---- tolerances (the derivations are in test_softmax.cpp and test_cross_entropy.cpp) -----------
// With eps = S's epsilon, m the sample's max and |x_c - m| taken as 0 where it is not finite (there
// the expected value is exact: 0, -inf or NaN, which the comparison checks exactly):
//   log_softmax  2 eps (|x_c - m| + |lp_c| + C + 2)
//   softmax      2 eps p_c (|x_c - m| + C + 4) + 4 min_normal (exps below min_normal may flush to 0)
//   logsumexp    2 eps (|m| + |lse| + C + 2)
//   log_softmax_backward  2 eps (|g_c| + exp(y_c) sum|g| (C + 2 + |y_c|)) + 4 min_normal
//   softmax_backward      2 eps y_c (|g_c| + (C + 2) sum|g y|) + 4 min_normal
//   cross_entropy (index targets, q the loss's coefficient vector, Q = sum |q|, M = max finite
//   |log p|): loss 2 eps Q (2 M + C + 2), plus 2 eps Q M C for label smoothing's sum_c w_c (x_c - m),
//   accumulated class by class in each lane (sequential: (C - 1) eps relative, where the per-row
//   path's pairwise sum has log C); gradient 2 eps (Q p_c (|x_c - m| + C + 4) +
//   |q_c| (C + 4)) + 4 min_normal, times |grad_output|; reductions add the per-sample bounds
//   (divided by |denominator| for the mean) with rtol 2 eps.
LD finite_or_zero(LD v) { return std::isfinite(v) ? v : LD(0); }

template <class S>
struct RowsLD {
  Mat<LD> x, lp;  // samples in rows
  Vec<LD> max;
};

template <class S>
RowsLD<S> rows_ld(const Mat<S>& x, Layout layout) {
  RowsLD<S> r;
  r.x = samples_in_rows(x, layout).template cast<LD>();
  r.lp = xent::reference::log_softmax<LD>(r.x);
  r.max = Vec<LD>::Zero(r.x.rows());
  for (Index n = 0; n < r.x.rows(); ++n) {
    LD m = -std::numeric_limits<LD>::infinity();
    for (Index c = 0; c < r.x.cols(); ++c) m = std::max(m, r.x(n, c));
    r.max(n) = m;
  }
  return r;
}

template <class S>
void check_softmax_family(const Mat<S>& x, Layout layout, const std::string& what, Rng& rng) {
  const double e = eps<S>();
  const LD tiny = 4 * LD(std::numeric_limits<S>::min());
  const RowsLD<S> r = rows_ld(x, layout);
  const Index N = r.x.rows(), C = r.x.cols();
  const Vec<LD> lse = xent::reference::logsumexp<LD>(r.x);
  Mat<LD> tol_lp(N, C), tol_p(N, C);
  Vec<LD> tol_lse(N);
  for (Index n = 0; n < N; ++n) {
    for (Index c = 0; c < C; ++c) {
      const LD shifted = finite_or_zero(std::fabs(r.x(n, c) - r.max(n)));
      tol_lp(n, c) = 2 * e * (shifted + finite_or_zero(std::fabs(r.lp(n, c))) + C + 2);
      tol_p(n, c) = 2 * e * finite_or_zero(std::exp(r.lp(n, c))) * (shifted + C + 4) + tiny;
    }
    tol_lse(n) = 2 * e * (finite_or_zero(std::fabs(r.max(n))) + finite_or_zero(std::fabs(lse(n))) + C + 2);
  }
  const auto check = [&](const auto& xv, const std::string& kind) {
    INFO(what << ", input " << kind);
    require_close(xent::log_softmax(xv, layout), xent::reference::log_softmax<LD>(x, layout), 0.0,
                  from_samples_in_rows(tol_lp, layout), "log_softmax");
    require_close(xent::softmax(xv, layout), xent::reference::softmax<LD>(x, layout), 0.0,
                  from_samples_in_rows(tol_p, layout), "softmax");
    const Vec<S> v = xent::logsumexp(xv, layout);
    require_close(v, xent::reference::logsumexp<LD>(x, layout), 0.0, tol_lse, "logsumexp");
  };
  check(x, "column-major");
  check(to_row_major(x), "row-major");
  auto padded = Padded<S>::from(x);
  check(padded.map(), "column-major Map with outer stride");
  auto padded_rows = Padded<S, Eigen::RowMajor>::from(x);
  check(padded_rows.map(), "row-major Map with outer stride");
  Embedded<S, Eigen::RowMajor> embedded(x);
  check(embedded.block(), "row-major Block");

  // Backward, from finite outputs of random logits (a NaN output only propagates).
  const Mat<S> xf = random_logits<S>(x.rows(), x.cols(), rng, 3.0, layout);
  const Mat<S> y_log = xent::log_softmax(xf, layout), y_soft = xent::softmax(xf, layout);
  const Mat<S> g = random_logits<S>(x.rows(), x.cols(), rng, 1.0);
  const Mat<LD> gr = samples_in_rows(g, layout).template cast<LD>();
  const Mat<LD> ylr = samples_in_rows(y_log, layout).template cast<LD>();
  const Mat<LD> ysr = samples_in_rows(y_soft, layout).template cast<LD>();
  Mat<LD> tol_bl(N, C), tol_bs(N, C);
  for (Index n = 0; n < N; ++n) {
    const LD abs_sum = gr.row(n).cwiseAbs().sum();
    const LD dot = (gr.row(n).array() * ysr.row(n).array()).abs().sum();
    for (Index c = 0; c < C; ++c) {
      tol_bl(n, c) = 2 * e * (std::fabs(gr(n, c)) + std::exp(ylr(n, c)) * abs_sum * (C + 2 + std::fabs(ylr(n, c)))) + tiny;
      tol_bs(n, c) = 2 * e * std::fabs(ysr(n, c)) * (std::fabs(gr(n, c)) + (C + 2) * dot) + tiny;
    }
  }
  const auto check_backward = [&](const auto& gv, const auto& ylv, const auto& ysv, const std::string& kind) {
    INFO(what << ", backward inputs " << kind);
    require_close(xent::log_softmax_backward(gv, ylv, layout), xent::reference::log_softmax_backward<LD>(g, y_log, layout),
                  0.0, from_samples_in_rows(tol_bl, layout), "log_softmax_backward");
    require_close(xent::softmax_backward(gv, ysv, layout), xent::reference::softmax_backward<LD>(g, y_soft, layout), 0.0,
                  from_samples_in_rows(tol_bs, layout), "softmax_backward");
  };
  check_backward(g, y_log, y_soft, "column-major");
  check_backward(to_row_major(g), to_row_major(y_log), to_row_major(y_soft), "row-major");
  auto pg = Padded<S>::from(g);
  Embedded<S> eyl(y_log), eys(y_soft);
  check_backward(pg.map(), eyl.block(), eys.block(), "column-major Map and Blocks");
}

// ---- cross_entropy with index targets --------------------------------------------------------------

CrossEntropyOptions options_case(int k, Index classes, Layout layout, Rng& rng, std::string& name) {
  CrossEntropyOptions opts;
  opts.layout(layout);
  opts.reduction(k % 2 == 0 ? Reduction::Mean : Reduction::Sum);
  name = std::string(layout_name(layout)) + (k % 2 == 0 ? ", mean" : ", sum");
  if (k & 2) {
    opts.weight(random_weights(classes, rng));
    name += ", weight";
  }
  if (k & 4) {
    opts.label_smoothing(rng.pick({0.1, 1.0}));
    name += ", label_smoothing " + std::to_string(opts.label_smoothing());
  }
  opts.ignore_index(k & 8 ? rng.integer(0, classes - 1) : -100);
  name += ", ignore_index " + std::to_string(opts.ignore_index());
  return opts;
}

template <class S>
void check_cross_entropy(const Mat<S>& x, const Vec<int>& y, const CrossEntropyOptions& opts, const std::string& what) {
  const Layout layout = opts.layout();
  const double e = eps<S>();
  const RowsLD<S> r = rows_ld(x, layout);
  const Index N = r.x.rows();
  const auto w = [&](Index c) { return opts.has_weight() ? static_cast<LD>(opts.weight()(c)) : LD(1); };
  // Named members, not structured bindings: C++17 lambdas cannot capture those (clang rejects it).
  const CrossEntropyTolerances tols = index_target_tolerances<S>(r.x, y, opts);
  const Vec<LD>& loss_tol = tols.loss;
  const Mat<LD>& grad_tol = tols.grad;
  LD denominator = 0;
  for (Index n = 0; n < N; ++n)
    if (y(n) != opts.ignore_index()) denominator += w(y(n));
  const LD sum_tol = loss_tol.sum();
  const bool mean = opts.reduction() == Reduction::Mean;
  const LD scale = mean ? (denominator != 0 ? 1 / std::fabs(denominator) : LD(0)) : LD(1);
  const auto check = [&](const auto& xv, auto& grad, const std::string& kind) {
    INFO(what << ", logits " << kind);
    const Vec<S> per_sample = xent::cross_entropy_per_sample(xv, y, opts);
    require_close(per_sample, xent::reference::cross_entropy_per_sample<LD>(x, y, opts), 0.0, loss_tol, "per-sample loss");
    // A mean over targets whose weights sum to 0 is non-finite, with a different sign / NaN than
    // PyTorch's (documented in README); test_cross_entropy covers it, the lanes add nothing there.
    if (mean && denominator == 0) return;
    const LD expected = xent::reference::cross_entropy<LD>(x, y, opts);
    require_close(xent::cross_entropy(xv, y, opts), expected, 2 * e, static_cast<double>(sum_tol * scale), "loss");
    const Mat<LD> ref_grad = xent::reference::cross_entropy_backward<LD>(x, y, opts);
    const Mat<LD> gtol = from_samples_in_rows(grad_tol, layout) * (mean ? scale : LD(1));
    const S fb = xent::cross_entropy_forward_backward(xv, y, grad, opts);
    require_close(fb, expected, 2 * e, static_cast<double>(sum_tol * scale), "forward_backward loss");
    require_close(grad, ref_grad, 0.0, gtol, "forward_backward gradient");
    require_close(xent::cross_entropy_backward(xv, y, opts, S(0.5)), ref_grad * LD(0.5), 0.0, gtol * LD(0.5),
                  "backward, grad_output 0.5");
    Vec<S> go(N);
    for (Index n = 0; n < N; ++n) go(n) = static_cast<S>(n % 3) - S(1);  // -1, 0, 1
    const Mat<LD> ref_ps = xent::reference::cross_entropy_per_sample_backward<LD>(x, y, go, opts);
    require_close(xent::cross_entropy_per_sample_backward(xv, y, go, opts), ref_ps, 0.0,
                  from_samples_in_rows(grad_tol, layout), "per-sample backward");
  };
  Mat<S> grad_c(x.rows(), x.cols());
  RowMat<S> grad_r(x.rows(), x.cols());
  check(x, grad_c, "column-major");
  const RowMat<S> xr = to_row_major(x);
  check(xr, grad_r, "row-major");
  auto padded = Padded<S>::from(x);
  Padded<S> padded_grad(x.rows(), x.cols());
  auto grad_map = padded_grad.map();
  check(padded.map(), grad_map, "column-major Map with outer stride (grad too)");
  REQUIRE(padded_grad.padding_intact());
  Embedded<S, Eigen::RowMajor> embedded(x), embedded_grad(x.rows(), x.cols(), S(7));
  auto grad_block = embedded_grad.block();
  check(embedded.block(), grad_block, "row-major Block (grad too)");
  Mat<S> big = embedded_grad.big();
  big.block(2, 1, x.rows(), x.cols()).setConstant(S(7));
  REQUIRE((big.array() == S(7)).all());  // nothing written outside the block
}

template <class S>
void sweep() {
  Rng rng(2026);
  for (const Index C : kClasses) {
    for (const Index N : kSamples) {
      for (const Layout layout : kLayouts) {
        const Mat<S> x = adversarial_logits<S>(N, C, layout, rng);
        const std::string what = std::string(scalar_name<S>()) + " N " + std::to_string(N) + " C " + std::to_string(C) +
                                 " " + layout_name(layout);
        check_softmax_family(x, layout, what, rng);
        Vec<int> y(N);
        for (Index n = 0; n < N; ++n) y(n) = static_cast<int>(rng.integer(0, C - 1));
        const int k = static_cast<int>(rng.integer(0, 15));
        std::string name;
        const CrossEntropyOptions opts = options_case(k, C, layout, rng, name);
        for (Index n = 0; n < N; ++n) {
          if (rng.chance(0.1)) y(n) = static_cast<int>(opts.ignore_index());
        }
        check_cross_entropy(x, y, opts, what + ", " + name);
      }
    }
  }
}

}  // namespace

TEMPLATE_TEST_CASE("lane paths match the long double reference", "[lanes]", float, double) { sweep<TestType>(); }

TEMPLATE_TEST_CASE("lane paths: every option combination", "[lanes][options]", float, double) {
  using S = TestType;
  Rng rng(7);
  for (const Index C : {Index(5), Index(40)}) {
    const Index N = 83;
    for (const Layout layout : kLayouts) {
      for (int k = 0; k < 16; ++k) {
        const Mat<S> x = adversarial_logits<S>(N, C, layout, rng);
        Vec<int> y(N);
        std::string name;
        const CrossEntropyOptions opts = options_case(k, C, layout, rng, name);
        for (Index n = 0; n < N; ++n) {
          y(n) = rng.chance(0.1) ? static_cast<int>(opts.ignore_index()) : static_cast<int>(rng.integer(0, C - 1));
        }
        check_cross_entropy(x, y, opts, std::string(scalar_name<S>()) + " C " + std::to_string(C) + ", " + name);
      }
    }
  }
}

// A confident sample (p_y -> 1) keeps full relative precision in the lanes too: -log p_y =
// log1p(others) and the target's gradient -(1 - p_y) = -others / s. Tolerance 4 eps C relative:
// each of the C - 1 exps has ~1 ulp, their sum C - 2 roundings, log1p and the division one each.
TEMPLATE_TEST_CASE("lane paths keep a confident sample's precision", "[lanes][precision]", float, double) {
  using S = TestType;
  for (const Index C : {Index(3), Index(20), Index(50)}) {
    Mat<S> x = Mat<S>::Constant(19, C, S(-30));
    Vec<int> y(19);
    for (Index n = 0; n < 19; ++n) {
      y(n) = static_cast<int>(n % C);
      x(n, y(n)) = S(0);
    }
    // Closed forms (the long double reference's log(1 + tiny) has only ~1e-19 / others of
    // relative precision here): others = (C - 1) exp(-30), loss = log1p(others), the target's
    // gradient -others / (1 + others).
    const LD others = static_cast<LD>(C - 1) * std::exp(LD(-30));
    const Vec<LD> ref = Vec<LD>::Constant(19, std::log1p(others));
    const LD ref_target_grad = -others / (1 + others);
    const double e = eps<S>();
    require_close(xent::cross_entropy_per_sample(x, y), ref, 4 * e * static_cast<double>(C), 0.0, "column-major per-sample loss");
    require_close(xent::cross_entropy_per_sample(to_row_major(x), y), ref, 4 * e * static_cast<double>(C), 0.0, "row-major per-sample loss");
    const Mat<S> g = xent::cross_entropy_backward(x, y, CrossEntropyOptions().reduction(Reduction::Sum));
    for (Index n = 0; n < 19; ++n) require_close(g(n, y(n)), ref_target_grad, 4 * e * static_cast<double>(C), 0.0, "target gradient");
  }
}

// Fixed blocks: the lane kernels never depend on the thread count (run with OpenMP when available).
TEMPLATE_TEST_CASE("lane paths give the same bits on 1 and 2 threads", "[lanes][threads]", float, double) {
  using S = TestType;
  Rng rng(99);
  for (const Index C : {Index(10), Index(300)}) {
    const Index N = 4099;
    const Mat<S> x = random_logits<S>(N, C, rng);
    Vec<int> y(N);
    for (Index n = 0; n < N; ++n) y(n) = static_cast<int>(rng.integer(0, C - 1));
    const auto opts = CrossEntropyOptions().label_smoothing(0.1);
    const RowMat<S> xr = x;
    Mat<S> g1(N, C), g2(N, C);
    RowMat<S> r1(N, C), r2(N, C);
    xent::set_num_threads(1);
    const S l1 = xent::cross_entropy_forward_backward(x, y, g1, opts);
    const S m1 = xent::cross_entropy_forward_backward(xr, y, r1, opts);
    xent::set_num_threads(2);
    const S l2 = xent::cross_entropy_forward_backward(x, y, g2, opts);
    const S m2 = xent::cross_entropy_forward_backward(xr, y, r2, opts);
    xent::set_num_threads(0);
    CHECK(l1 == l2);
    CHECK(m1 == m2);
    require_same(g1, g2, "column-major gradient");
    require_same(r1, r2, "row-major gradient");
  }
}

// Probability targets on adjacent samples (column-major logits, targets and gradient), against the
// reference with the error model above: q_c = w_c t'_c, Q = sum |q_c|; a class with t'_c = 0 adds
// nothing even where its logit is -inf.
TEMPLATE_TEST_CASE("lane paths: probability targets", "[lanes][probabilities]", float, double) {
  using S = TestType;
  Rng rng(31);
  const double e = eps<S>();
  for (const Index C : {Index(1), Index(3), Index(17), Index(100)}) {
    for (const Index N : {Index(1), Index(17), Index(300)}) {
      for (int k = 0; k < 4; ++k) {
        CrossEntropyOptions opts;
        opts.reduction(k % 2 ? Reduction::Sum : Reduction::Mean);
        if (k & 2) opts.weight(random_weights(C, rng));
        opts.label_smoothing(rng.pick({0.0, 0.2}));
        Mat<S> x = random_logits<S>(N, C, rng, 3.0, Layout::SamplesInRows, 0.3);
        const Mat<S> t = random_probabilities<S>(N, C, rng, Layout::SamplesInRows);
        if (opts.label_smoothing() == 0) {  // -inf logits where the target is 0
          for (Index n = 0; n < N; ++n)
            for (Index c = 0; c < C; ++c)
              if (t(n, c) == 0 && rng.chance(0.3)) x(n, c) = -std::numeric_limits<S>::infinity();
        }
        const auto [loss_tol, grad_tol] = probability_target_tolerances<S>(x, t, opts);
        const LD scale = opts.reduction() == Reduction::Mean ? LD(1) / N : LD(1);
        INFO(scalar_name<S>() << " N " << N << " C " << C << " case " << k);
        require_close(xent::cross_entropy_per_sample(x, t, opts), xent::reference::cross_entropy_per_sample<LD>(x, t, opts),
                      0.0, loss_tol, "per-sample loss");
        const LD expected = xent::reference::cross_entropy<LD>(x, t, opts);
        auto padded = Padded<S>::from(x);
        Padded<S> padded_grad(N, C);
        auto grad = padded_grad.map();
        const S fb = xent::cross_entropy_forward_backward(padded.map(), t, grad, opts);
        require_close(fb, expected, 2 * e, static_cast<double>(loss_tol.sum() * scale), "forward_backward loss");
        require_close(grad, xent::reference::cross_entropy_backward<LD>(x, t, opts), 0.0, grad_tol * scale,
                      "forward_backward gradient");
        REQUIRE(padded_grad.padding_intact());
      }
    }
  }
}

// Forces the lanes' online pass (xent::set_online_lane_strip_bytes) for a scope.
struct OnlineLanes {
  OnlineLanes() { xent::set_online_lane_strip_bytes(0); }
  ~OnlineLanes() { xent::set_online_lane_strip_bytes(xent::detail::kDefaultOnlineLaneStripBytes); }
  OnlineLanes(const OnlineLanes&) = delete;
  OnlineLanes& operator=(const OnlineLanes&) = delete;
};

// The lanes' online pass for the max and the sum (lane_online_max_sum, the sum rescaled when a
// lane's max grows; by default for strips beyond 8 MiB, forced here), in softmax, log_softmax and
// cross-entropy without label smoothing: adversarial values, every option combination, rows whose
// logits rise class by class (a rescale at every class, the worst case for its rounding) and rows
// that start with -inf classes, strips that would keep their exps, both storage orders (the
// transposed small-C path too). Same tolerances as above: each rescale adds ~2 ulp to the sum, within
// the C eps budgeted for the sequential sum.
TEMPLATE_TEST_CASE("lane paths: the online max and sum", "[lanes][online]", float, double) {
  using S = TestType;
  const OnlineLanes online;
  Rng rng(4242);
#if XENT_TEST_FULL_SWEEP
  const Index kOnlineClasses[] = {1, 3, 17, 100, 257};
#else
  const Index kOnlineClasses[] = {3, 17, 257};
#endif
  for (const Index C : kOnlineClasses) {
    for (const Index N : {Index(17), Index(300)}) {
      for (const Layout layout : kLayouts) {
        Mat<S> rows = samples_in_rows(adversarial_logits<S>(N, C, layout, rng), layout);
        for (Index n = 0; n < N; n += 7) {
          for (Index c = 0; c < C; ++c) rows(n, c) = S(0.05) * static_cast<S>(c) - S(3);
        }
        for (Index n = 3; n < N; n += 11) {
          for (Index c = 0; c < C / 2; ++c) rows(n, c) = -std::numeric_limits<S>::infinity();
        }
        const Mat<S> x = from_samples_in_rows(rows, layout);
        const std::string what = std::string(scalar_name<S>()) + " online, N " + std::to_string(N) + " C " +
                                 std::to_string(C) + " " + layout_name(layout);
        check_softmax_family(x, layout, what, rng);
        for (int k = 0; k < 16; ++k) {
          Vec<int> y(N);
          std::string name;
          const CrossEntropyOptions opts = options_case(k, C, layout, rng, name);
          for (Index n = 0; n < N; ++n) {
            y(n) = rng.chance(0.1) ? static_cast<int>(opts.ignore_index()) : static_cast<int>(rng.integer(0, C - 1));
          }
          check_cross_entropy(x, y, opts, what + ", " + name);
        }
      }
    }
  }
}

// The online pass on 1 and 2 threads: the same bits (no label smoothing, so the one-pass path).
TEMPLATE_TEST_CASE("lane paths: the online pass gives the same bits on 1 and 2 threads", "[lanes][online][threads]", float,
                   double) {
  using S = TestType;
  const OnlineLanes online;
  Rng rng(5);
  const Index N = 2051, C = 300;
  const Mat<S> x = adversarial_logits<S>(N, C, Layout::SamplesInRows, rng);
  Vec<int> y(N);
  for (Index n = 0; n < N; ++n) y(n) = static_cast<int>(rng.integer(0, C - 1));
  Mat<S> g1(N, C), g2(N, C);
  xent::set_num_threads(1);
  const S l1 = xent::cross_entropy_forward_backward(x, y, g1);
  const Vec<S> p1 = xent::cross_entropy_per_sample(x, y);
  xent::set_num_threads(2);
  const S l2 = xent::cross_entropy_forward_backward(x, y, g2);
  const Vec<S> p2 = xent::cross_entropy_per_sample(x, y);
  xent::set_num_threads(0);
  CHECK((l1 == l2 || (std::isnan(l1) && std::isnan(l2))));
  require_same(g1, g2, "gradient");
  require_same(p1, p2, "per-sample loss");
}
