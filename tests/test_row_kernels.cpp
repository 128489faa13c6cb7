// The contiguous-row kernels (a sample's classes adjacent in memory: row-major N x C logits) against
// xent::reference<long double>: class counts from 1 to 70 000 (and 300 000 in the full sweep) that
// are no multiple of the vector width, the two-pass and the block-wise online pass (forced with
// xent::set_online_row_bytes(0)), adversarial values, options, strided views, threads and the
// in-place fused call.
//
// Tolerances (relative, plus the absolute floors named at each check):
//   rtol(C) = eps * (32 + 4 sqrt(C)). A row's sums add C terms in a few vector chains: their
//   rounding errors add up like a random walk, O(sqrt(C)) eps, with margin; the exp and log of the
//   vector layer are within 1 ulp. Entries much smaller than their row's largest come out of the
//   same sums, so their absolute floor is rtol * 1e-3 * the row's largest |expected| entry.
#include <cstring>
#include <xent/reference.hpp>

#include "test_support.hpp"

#ifndef XENT_TEST_FULL_SWEEP
#define XENT_TEST_FULL_SWEEP 1
#endif

using namespace xt;
using xent::CrossEntropyOptions;
using xent::Reduction;

namespace {

// Sets the online switch for one scope.
class OnlineRows {
 public:
  explicit OnlineRows(std::size_t bytes) : saved_(xent::online_row_bytes()) {
    xent::set_online_row_bytes(bytes);
  }
  ~OnlineRows() { xent::set_online_row_bytes(saved_); }
  OnlineRows(const OnlineRows&) = delete;
  OnlineRows& operator=(const OnlineRows&) = delete;

 private:
  std::size_t saved_;
};

constexpr std::size_t kAlwaysOnline = 0;
constexpr std::size_t kNeverOnline = std::size_t(1) << 40;

template <class S>
double rtol(Index classes) {
  return eps<S>() * (32 + 4 * std::sqrt(static_cast<double>(classes)));
}

// Per-entry absolute floor: tol * share * the largest finite |expected| of the entry's row (at
// least `at_least`), plus 16 long double epsilons of it (of 4 at least, the largest gradient
// scale of these tests): the reference's own rounding, which shows where it forms 1 - p_y as
// p_y -> 1.
template <class M>
Mat<LD> row_floor(const Eigen::MatrixBase<M>& expected, double tol, double at_least = 0,
                  double share = 1e-3) {
  Mat<LD> floor(expected.rows(), expected.cols());
  for (Index i = 0; i < expected.rows(); ++i) {
    LD largest = 0;
    for (Index j = 0; j < expected.cols(); ++j) {
      const LD v = std::abs(static_cast<LD>(expected(i, j)));
      if (std::isfinite(static_cast<double>(v))) largest = std::max(largest, v);
    }
    floor.row(i).setConstant(
        std::max<LD>(static_cast<LD>(tol * share) * largest, static_cast<LD>(at_least)) +
        16 * std::numeric_limits<LD>::epsilon() * std::max<LD>(largest, 4));
  }
  return floor;
}

template <class A, class B>
bool bitwise_equal(const Eigen::MatrixBase<A>& a, const Eigen::MatrixBase<B>& b) {
  using S = typename A::Scalar;
  if (a.rows() != b.rows() || a.cols() != b.cols()) return false;
  for (Index j = 0; j < a.cols(); ++j) {
    for (Index i = 0; i < a.rows(); ++i) {
      const S x = a(i, j), y = b(i, j);
      if (std::memcmp(&x, &y, sizeof x) != 0) return false;
    }
  }
  return true;
}

template <class S, class = std::enable_if_t<std::is_floating_point<S>::value>>
bool bitwise_equal(S a, S b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

std::vector<Index> class_counts() {
  std::vector<Index> c = {1, 2, 3, 7, 15, 16, 17, 31, 33, 65, 100, 257, 1023, 4099};
#if XENT_TEST_FULL_SWEEP
  c.push_back(16385);
  c.push_back(70000);
#endif
  return c;
}

// The option sets of the sweep: plain mean, class weights with smoothing and ignore_index,
// smoothing alone with Sum, and None-like per-sample checks through the per-sample functions.
std::vector<std::pair<CrossEntropyOptions, std::string>> option_sets(Index classes, Rng& rng,
                                                                     bool index_targets) {
  std::vector<std::pair<CrossEntropyOptions, std::string>> out;
  CrossEntropyOptions plain;
  if (index_targets) plain.ignore_index(-1);
  out.emplace_back(plain, "mean, ignore_index -1");
  Vec<double> w = random_weights(classes, rng);
  for (Index c = 0; c < classes; ++c) w(c) = std::abs(w(c)) + 0.25;  // a non-zero mean denominator
  CrossEntropyOptions weighted;
  weighted.weight(w).label_smoothing(0.1);
  if (index_targets) weighted.ignore_index(-1);
  out.emplace_back(weighted, "weights, label_smoothing 0.1, ignore_index -1");
  CrossEntropyOptions summed;
  summed.label_smoothing(0.3).reduction(Reduction::Sum);
  if (index_targets) summed.ignore_index(-1);
  out.emplace_back(summed, "label_smoothing 0.3, ignore_index -1, sum");
  return out;
}

// Every row-major function of the sweep against the reference, under the current online setting.
template <class S>
void check_row_functions(const RowMat<S>& x, const Vec<int>& y, const RowMat<S>& t,
                         const CrossEntropyOptions& opts, const std::string& what) {
  const Index classes = x.cols();
  const double e = eps<S>();
  const Mat<LD> xl = x.template cast<LD>();
  // The error model of test_support.hpp (cross_entropy_tolerances): every per-sample loss and
  // gradient entry within a bound of its own value; the reduced loss within their sum (divided by
  // the mean's denominator) and 2 eps of its value (the double sum's rounding to S).
  const auto reduced_tol = [&](const Vec<LD>& per_sample, const CrossEntropyOptions& o,
                               LD denominator) {
    return static_cast<double>(per_sample.sum() /
                               (o.reduction() == Reduction::Mean ? std::fabs(denominator) : 1));
  };
  const auto w = [&](const CrossEntropyOptions& o, Index c) {
    return o.has_weight() ? static_cast<LD>(o.weight()(c)) : LD(1);
  };
  // Index targets: per-sample losses, the reduced loss, the fused gradient.
  {
    INFO(what << ", index targets");
    const auto [loss_tol, grad_tol] = index_target_tolerances<S>(xl, y, opts);
    LD denominator = 0;
    for (Index n = 0; n < x.rows(); ++n)
      if (y(n) != opts.ignore_index()) denominator += w(opts, y(n));
    const Vec<S> losses = xent::cross_entropy_per_sample(x, y, opts);
    require_close(losses, xent::reference::cross_entropy_per_sample<LD>(x, y, opts), 0.0, loss_tol,
                  "per-sample losses");
    RowMat<S> grad(x.rows(), classes);
    const S loss = xent::cross_entropy_forward_backward(x, y, grad, opts);
    require_close(loss, xent::reference::cross_entropy<LD>(x, y, opts), 2 * e,
                  reduced_tol(loss_tol, opts, denominator), "loss");
    REQUIRE(bitwise_equal(loss, xent::cross_entropy(x, y, opts)));
    const LD scale = opts.reduction() == Reduction::Mean ? 1 / std::fabs(denominator) : LD(1);
    require_close(grad, xent::reference::cross_entropy_backward<LD>(x, y, opts), 0.0,
                  grad_tol * scale, "fused gradient");
  }
  // Probability targets (no ignore_index); the mean divides by N.
  if (opts.ignore_index() < 0) {
    INFO(what << ", probability targets");
    CrossEntropyOptions popts = opts;
    popts.ignore_index(-100);
    const auto [loss_tol, grad_tol] = probability_target_tolerances<S>(x, t, popts);
    const LD n = static_cast<LD>(x.rows());
    const Vec<S> losses = xent::cross_entropy_per_sample(x, t, popts);
    require_close(losses, xent::reference::cross_entropy_per_sample<LD>(x, t, popts), 0.0,
                  loss_tol, "per-sample losses");
    RowMat<S> grad(x.rows(), classes);
    const S loss = xent::cross_entropy_forward_backward(x, t, grad, popts);
    require_close(loss, xent::reference::cross_entropy<LD>(x, t, popts), 2 * e,
                  reduced_tol(loss_tol, popts, n), "loss");
    const LD scale = popts.reduction() == Reduction::Mean ? 1 / n : LD(1);
    require_close(grad, xent::reference::cross_entropy_backward<LD>(x, t, popts), 0.0,
                  grad_tol * scale, "fused gradient");
  }
}

template <class S>
void check_softmax_family(const RowMat<S>& x, const std::string& what) {
  INFO(what);
  const double tol = rtol<S>(x.cols());
  // log p = (x - m) - log s: absolute error about tol * (|log p| + 1).
  const RowMat<S> lp = xent::log_softmax(x);
  require_close(lp, xent::reference::log_softmax<LD>(x), tol, tol, "log_softmax");
  const RowMat<S> p = xent::softmax(x);
  const Mat<LD> p_ref = xent::reference::softmax<LD>(x);
  require_close(p, p_ref, tol, row_floor(p_ref, tol), "softmax");
  const Vec<S> lse = xent::logsumexp(x);
  require_close(lse, xent::reference::logsumexp<LD>(x), tol, tol, "logsumexp");
  // The backwards from the library's own outputs; g - exp(y) sum(g) and y (g - <g, y>) cancel,
  // so the floor is relative to the row's largest gradient entry.
  Rng rng(static_cast<std::uint64_t>(x.cols()));
  const RowMat<S> g = random_uniform<S>(x.rows(), x.cols(), rng, -1, 1);
  const Mat<LD> lb = xent::reference::log_softmax_backward<LD>(g, lp);
  require_close(xent::log_softmax_backward(g, lp), lb, tol, row_floor(g, tol * 1e3, 0),
                "log_softmax_backward");
  // y (g - <g, y>): the difference cancels, so each entry's floor is tol y_c (|g_c| + max |g|).
  const Mat<LD> sb = xent::reference::softmax_backward<LD>(g, p);
  Mat<LD> sb_floor(x.rows(), x.cols());
  for (Index i = 0; i < x.rows(); ++i) {
    const LD g_max = g.row(i).cwiseAbs().maxCoeff();
    for (Index j = 0; j < x.cols(); ++j) {
      sb_floor(i, j) = static_cast<LD>(tol) * std::abs(static_cast<LD>(p(i, j))) *
                       (std::abs(static_cast<LD>(g(i, j))) + g_max);
    }
  }
  require_close(xent::softmax_backward(g, p), sb, tol, sb_floor, "softmax_backward");
}

template <class S>
void sweep_case(Index samples, Index classes, std::uint64_t seed) {
  Rng rng(seed);
  const RowMat<S> x = random_logits<S>(samples, classes, rng, 3.0, Layout::SamplesInRows, 0.5);
  Vec<int> y = random_class_targets<int>(samples, classes, rng, -1, 0.2);
  const RowMat<S> t = random_probabilities<S>(samples, classes, rng, Layout::SamplesInRows);
  for (const std::size_t online : {kNeverOnline, kAlwaysOnline}) {
    const OnlineRows setting(online);
    const std::string what = std::string(scalar_name<S>()) + ", N = " + std::to_string(samples) +
                             ", C = " + std::to_string(classes) +
                             (online == kAlwaysOnline ? ", online pass" : ", two passes");
    check_softmax_family(x, what);
    for (const auto& [opts, name] : option_sets(classes, rng, true)) {
      check_row_functions(x, y, t, opts, what + ", " + name);
    }
  }
}

}  // namespace

TEMPLATE_TEST_CASE("row kernels match the reference for C from 1 to 70 000, both passes",
                   "[row_kernels]", float, double) {
  std::uint64_t seed = 1;
  for (const Index classes : class_counts()) {
    sweep_case<TestType>(classes > 20000 ? 3 : 9, classes, seed++);
  }
}

#if XENT_TEST_FULL_SWEEP
TEMPLATE_TEST_CASE("row kernels match the reference at C = 300 000", "[row_kernels][slow]", float,
                   double) {
  sweep_case<TestType>(2, 300000, 99);
}
#endif

TEMPLATE_TEST_CASE("online and two-pass results agree", "[row_kernels]", float, double) {
  using S = TestType;
  Rng rng(5);
  for (const Index classes : {Index(5), Index(333), Index(5000)}) {
    const RowMat<S> x = random_logits<S>(7, classes, rng, 4.0, Layout::SamplesInRows, 0.5);
    const Vec<int> y = random_class_targets<int>(7, classes, rng, -1, 0.2);
    const auto opts = CrossEntropyOptions().label_smoothing(0.2).ignore_index(-1);
    RowMat<S> g_two(7, classes), g_online(7, classes), lp_two, lp_online;
    S l_two, l_online;
    {
      const OnlineRows setting(kNeverOnline);
      l_two = xent::cross_entropy_forward_backward(x, y, g_two, opts);
      lp_two = xent::log_softmax(x);
    }
    {
      const OnlineRows setting(kAlwaysOnline);
      l_online = xent::cross_entropy_forward_backward(x, y, g_online, opts);
      lp_online = xent::log_softmax(x);
    }
    const double tol = 2 * rtol<S>(classes);
    INFO("C = " << classes);
    require_close(l_online, l_two, tol, tol, "loss");
    require_close(g_online, g_two, tol, row_floor(g_two, tol), "gradient");
    require_close(lp_online, lp_two, tol, tol, "log_softmax");
  }
}

TEMPLATE_TEST_CASE("row kernels on adversarial values", "[row_kernels]", float, double) {
  using S = TestType;
  const S inf = std::numeric_limits<S>::infinity();
  const S nan = std::numeric_limits<S>::quiet_NaN();
  for (const Index classes : {Index(5), Index(100), Index(4099)}) {
    Rng rng(static_cast<std::uint64_t>(classes));
    RowMat<S> x = random_logits<S>(9, classes, rng, 3.0);
    for (Index c = 0; c < classes; ++c) {
      x(0, c) = (c % 2 ? S(1e30) : S(-1e30));  // huge of both signs
      x(1, c) = c % 3 == 0 ? -inf : x(1, c);   // masked classes (the target below is not masked)
      x(3, c) = S(0.5);                        // equal logits
      x(4, c) = c == classes / 2 ? S(1e30) : S(0);  // one huge logit: p_y = 1
      x(5, c) = -inf;                               // all -inf: NaN, as PyTorch
      x(6, c) = c == classes - 1 ? S(25) : S(0);    // confident: -log p_y ~ (C-1) e^-25
    }
    x(2, classes / 3) = nan;  // NaN propagates to its row
    x(7, 0) = inf;            // +inf: NaN row
    Vec<int> y(9);
    for (Index n = 0; n < 9; ++n) y(n) = static_cast<int>((n * 7 + 1) % classes);
    y(1) = classes > 1 ? 1 : 0;
    y(4) = static_cast<int>(classes / 2);
    y(6) = static_cast<int>(classes - 1);
    y(8) = -100;  // ignored
    // Strictly positive targets, except zeros on row 1's masked classes (0 log 0 = 0).
    RowMat<S> t = random_uniform<S>(9, classes, rng, 0.1, 1.0);
    for (Index c = 0; c < classes; c += 3) t(1, c) = 0;
    for (const std::size_t online : {kNeverOnline, kAlwaysOnline}) {
      const OnlineRows setting(online);
      const std::string what = std::string(scalar_name<S>()) + ", C = " + std::to_string(classes) +
                               (online == kAlwaysOnline ? ", online pass" : ", two passes");
      check_softmax_family(x, what);
      check_row_functions(x, y, t, CrossEntropyOptions(), what);
      // p_y -> 1 keeps full relative precision: a tiny loss (6e-8 in float) checked against an
      // absolute floor of only 16 long double epsilons (the reference's log(1 + tiny) rounding).
      const Vec<S> losses = xent::cross_entropy_per_sample(x, y);
      const LD expected = xent::reference::cross_entropy_per_sample<LD>(x, y)(6);
      INFO(what);
      require_close(losses(6), expected, rtol<S>(classes),
                    16 * static_cast<double>(std::numeric_limits<LD>::epsilon()),
                    "confident row's loss");
      REQUIRE(losses(4) == S(0));
      REQUIRE(std::isnan(losses(5)));
      RowMat<S> grad(9, classes);
      xent::cross_entropy_forward_backward(x, y, grad);
      REQUIRE((grad.row(8).array() == S(0)).all());  // ignored row: exactly 0
      for (Index c = 0; c < classes; c += 3) {
        if (c != y(1)) REQUIRE(grad(1, c) == S(0));  // masked classes: exactly 0
      }
    }
  }
}

// As p_max -> 1, softmax's dominant entry is 1 / (1 + others): with the row's sum formed in
// double from others and the max's term (RowScan::ratio_to_sum) it is the correctly rounded value
// of the float statistics, within 0.5 ulp plus the sum's own error (others ~ 1.5e-5 here, summed
// within ~1e-6 of itself: 1e-11, under 0.001 ulp of p_max). Rounding the float sum 1 + others
// before the reciprocal, as before, cost up to 1.5 ulp (2.27 ulp on a C = 1000 cell of
// tools/accuracy). Both passes; the online pass stores the max's block unscaled.
TEST_CASE("softmax's dominant entry is correctly rounded as p_max -> 1",
          "[row_kernels][precision]") {
  const Index rows = 512, classes = 1000;
  Rng rng(2027);
  RowMat<float> x = random_uniform<float>(rows, classes, rng, -4.0, 0.0);
  for (Index n = 0; n < rows; ++n) x(n, (n * 37) % classes) = static_cast<float>(14 + (n % 7));
  for (const std::size_t online : {kNeverOnline, kAlwaysOnline}) {
    const OnlineRows setting(online);
    INFO((online == kAlwaysOnline ? "online pass" : "two passes"));
    const RowMat<float> p = xent::softmax(x);
    const Mat<LD> expected = xent::reference::softmax<LD>(x);
    double worst = 0;
    for (Index n = 0; n < rows; ++n) {
      const Index c = (n * 37) % classes;
      const double ulp = std::ldexp(1.0, -24);  // p_max in [1/2, 1)
      worst = std::max(worst, static_cast<double>(std::fabs(p(n, c) - expected(n, c))) / ulp);
    }
    INFO("worst p_max error: " << worst << " ulp");
    REQUIRE(worst <= 0.501);
  }
}

TEMPLATE_TEST_CASE("row kernels read outer-strided Maps and Blocks in place", "[row_kernels]", float,
                   double) {
  using S = TestType;
  Rng rng(17);
  for (const Index classes : {Index(19), Index(3001)}) {
    const RowMat<S> x = random_logits<S>(6, classes, rng);
    const Vec<int> y = random_class_targets<int>(6, classes, rng, -1, 0.2);
    const RowMat<S> t = random_probabilities<S>(6, classes, rng, Layout::SamplesInRows);
    const auto opts = CrossEntropyOptions().label_smoothing(0.1).ignore_index(-1);
    for (const std::size_t online : {kNeverOnline, kAlwaysOnline}) {
      const OnlineRows setting(online);
      RowMat<S> g(6, classes), gp(6, classes);
      const S l = xent::cross_entropy_forward_backward(x, y, g, opts);
      const S lp = xent::cross_entropy_forward_backward(x, t, gp, CrossEntropyOptions());
      auto xm = Padded<S, Eigen::RowMajor>::from(x);
      Embedded<S, Eigen::RowMajor> xb(x);
      Padded<S, Eigen::RowMajor> gm(6, classes);
      REQUIRE(bitwise_equal(xent::cross_entropy_forward_backward(xm.map(), y, gm.map(), opts), l));
      REQUIRE(bitwise_equal(gm.map(), g));
      REQUIRE(gm.padding_intact());
      Embedded<S, Eigen::RowMajor> gb(6, classes, S(-7));
      REQUIRE(bitwise_equal(xent::cross_entropy_forward_backward(xb.block(), t, gb.block(),
                                                                 CrossEntropyOptions()),
                            lp));
      REQUIRE(bitwise_equal(gb.block(), gp));
      RowMat<S> out(6, classes);
      xent::log_softmax(xm.map(), out);
      REQUIRE(bitwise_equal(out, xent::log_softmax(x)));
      xent::softmax(xb.block(), gm.map());
      REQUIRE(bitwise_equal(gm.map(), xent::softmax(x)));
      REQUIRE(gm.padding_intact());
    }
  }
}

TEST_CASE("row kernels give the same bits for 1 and 2 threads", "[row_kernels][threads]") {
  using S = float;
  Rng rng(23);
  const RowMat<S> x = random_logits<S>(300, 1000, rng);
  const Vec<int> y = random_class_targets<int>(300, 1000, rng, -1, 0.1);
  const RowMat<S> t = random_probabilities<S>(300, 1000, rng, Layout::SamplesInRows);
  const auto opts = CrossEntropyOptions().label_smoothing(0.1).ignore_index(-1);
  for (const std::size_t online : {kNeverOnline, kAlwaysOnline}) {
    const OnlineRows setting(online);
    RowMat<S> g1(300, 1000), g2(300, 1000), p1(300, 1000), p2(300, 1000);
    xent::set_num_threads(1);
    const S l1 = xent::cross_entropy_forward_backward(x, y, g1, opts);
    const S q1 = xent::cross_entropy_forward_backward(x, t, p1);
    const S f1 = xent::cross_entropy(x, y, opts);
    const RowMat<S> lsm1 = xent::log_softmax(x), sm1 = xent::softmax(x);
    const Vec<S> lse1 = xent::logsumexp(x);
    xent::set_num_threads(2);
    const S l2 = xent::cross_entropy_forward_backward(x, y, g2, opts);
    const S q2 = xent::cross_entropy_forward_backward(x, t, p2);
    const S f2 = xent::cross_entropy(x, y, opts);
    const RowMat<S> lsm2 = xent::log_softmax(x), sm2 = xent::softmax(x);
    const Vec<S> lse2 = xent::logsumexp(x);
    xent::set_num_threads(0);
    REQUIRE(bitwise_equal(lsm1, lsm2));
    REQUIRE(bitwise_equal(sm1, sm2));
    REQUIRE(bitwise_equal(lse1, lse2));
    REQUIRE(bitwise_equal(l1, l2));
    REQUIRE(bitwise_equal(g1, g2));
    REQUIRE(bitwise_equal(q1, q2));
    REQUIRE(bitwise_equal(p1, p2));
    REQUIRE(bitwise_equal(f1, f2));
  }
}

TEMPLATE_TEST_CASE("cross_entropy_forward_backward_in_place equals the out-of-place call bitwise",
                   "[row_kernels][in_place]", float, double) {
  using S = TestType;
  Rng rng(29);
  for (const Index classes : {Index(1), Index(13), Index(1000)}) {
    const Mat<S> x = random_logits<S>(21, classes, rng, 3.0, Layout::SamplesInRows, 0.3);
    const Vec<int> y = random_class_targets<int>(21, classes, rng, -1, 0.2);
    const Mat<S> t = random_probabilities<S>(21, classes, rng, Layout::SamplesInRows);
    for (const std::size_t online : {kNeverOnline, kAlwaysOnline}) {
      const OnlineRows setting(online);
      for (const auto& [opts, name] : option_sets(classes, rng, true)) {
        INFO(scalar_name<S>() << ", C = " << classes << ", " << name
                              << (online == kAlwaysOnline ? ", online pass" : ", two passes"));
        // Row-major (the row kernels) and column-major (other paths), index targets.
        const RowMat<S> xr = x;
        RowMat<S> gr(21, classes), ir = xr;
        const S lr = xent::cross_entropy_forward_backward(xr, y, gr, opts);
        REQUIRE(bitwise_equal(xent::cross_entropy_forward_backward_in_place(ir, y, opts), lr));
        REQUIRE(bitwise_equal(ir, gr));
        Mat<S> gc(21, classes), ic = x;
        const S lc = xent::cross_entropy_forward_backward(x, y, gc, opts);
        REQUIRE(bitwise_equal(xent::cross_entropy_forward_backward_in_place(ic, y, opts), lc));
        REQUIRE(bitwise_equal(ic, gc));
        // Probability targets.
        CrossEntropyOptions popts = opts;
        popts.ignore_index(-100);
        const RowMat<S> tr = t;
        RowMat<S> pr(21, classes), jr = xr;
        const S lp = xent::cross_entropy_forward_backward(xr, tr, pr, popts);
        REQUIRE(bitwise_equal(xent::cross_entropy_forward_backward_in_place(jr, tr, popts), lp));
        REQUIRE(bitwise_equal(jr, pr));
        // A Block of a bigger matrix, written in place.
        Embedded<S, Eigen::RowMajor> big(xr);
        REQUIRE(bitwise_equal(xent::cross_entropy_forward_backward_in_place(big.block(), y, opts), lr));
        REQUIRE(bitwise_equal(big.block(), gr));
      }
    }
  }
}
