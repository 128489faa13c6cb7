// Row-major N x C with few classes: the strips transposed by register tiles (lane_tiles_in /
// lane_tiles_out in detail/lane_kernels.hpp) for every lane kernel, probability targets in lanes,
// and nll_loss_forward_backward's per-block zero fill. Class counts around the tile width (2 to 33,
// not multiples of it) and the lane thresholds (80 for probability targets, 100 for softmax, 128
// for index targets), sample counts leaving partial tiles and strips, contiguous rows and
// outer-strided Maps; against xent::reference<long double>, and 1 vs 2 threads bitwise.
#include <string>
#include <xent/reference.hpp>

#include "test_support.hpp"

using namespace xt;
using xent::CrossEntropyOptions;
using xent::Reduction;

namespace {

LD finite_or_zero(LD v) { return std::isfinite(v) ? v : LD(0); }

#if XENT_TEST_FULL_SWEEP
const Index kClasses[] = {1,  2,  3,  4,  5,  7,  9,   10,  15,  16,  17, 24,
                          31, 32, 33, 64, 80, 81, 100, 101, 127, 128, 129};
const Index kSamples[] = {1, 3, 17, 64, 65, 130, 515};
#else
const Index kClasses[] = {2, 3, 10, 17, 33, 80, 81, 100, 101, 128, 129};
const Index kSamples[] = {1, 17, 130};
#endif

// log_softmax and softmax outputs: an element's error is a few ulps of the shifted logit
// (|x - m| + log s) for log_softmax, and of the value (times C + 4 ulps for the sum) for softmax.
template <class S, class X>
void check_softmaxes(const X& x, const std::string& what) {
  const double e = eps<S>();
  const Index N = x.rows(), C = x.cols();
  const Mat<LD> lp = xent::reference::log_softmax<LD>(x);
  Mat<LD> lp_tol(N, C), sm_tol(N, C);
  for (Index n = 0; n < N; ++n) {
    LD m = -std::numeric_limits<LD>::infinity();
    for (Index c = 0; c < C; ++c) m = std::max(m, static_cast<LD>(x(n, c)));
    for (Index c = 0; c < C; ++c) {
      lp_tol(n, c) = 4 * e * (finite_or_zero(std::fabs(x(n, c) - m)) + finite_or_zero(std::fabs(lp(n, c))) + static_cast<LD>(C));
      sm_tol(n, c) = 2 * e * static_cast<LD>(C + 4) * finite_or_zero(std::exp(lp(n, c)));
    }
  }
  RowMat<S> out(N, C);
  xent::log_softmax(x, out);
  require_close(out, lp, 0.0, lp_tol, what + ": log_softmax");
  xent::softmax(x, out);
  require_close(out, xent::reference::softmax<LD>(x), 0.0, sm_tol, what + ": softmax");
}

TEMPLATE_TEST_CASE("small C row-major: log_softmax and softmax through register tiles", "[small_classes]", float,
                   double) {
  using S = TestType;
  Rng rng(5);
  for (const Index C : kClasses) {
    for (const Index N : kSamples) {
      INFO(scalar_name<S>() << " N " << N << " C " << C);
      const RowMat<S> x = random_logits<S>(N, C, rng, 3.0, Layout::SamplesInRows, 0.3);
      check_softmaxes<S>(x, "contiguous");
      // An outer stride (C + 3): tiles load and store whole rows apart from each other.
      Eigen::Matrix<S, Dynamic, Dynamic, Eigen::RowMajor> big(N, C + 3);
      big.setConstant(S(7));
      big.leftCols(C) = x;
      const Eigen::Map<const RowMat<S>, 0, Eigen::OuterStride<>> strided(big.data(), N, C,
                                                                          Eigen::OuterStride<>(C + 3));
      check_softmaxes<S>(strided, "outer-strided");
    }
  }
}

// Probability targets in lanes (row-major), with the error model of probability_target_tolerances
// (test_support.hpp).
TEMPLATE_TEST_CASE("small C row-major: probability targets in lanes", "[small_classes][probabilities]", float,
                   double) {
  using S = TestType;
  Rng rng(17);
  const double e = eps<S>();
  for (const Index C : kClasses) {
    for (const Index N : kSamples) {
      for (int k = 0; k < 4; ++k) {
        CrossEntropyOptions opts;
        opts.reduction(k % 2 ? Reduction::Sum : Reduction::Mean);
        if (k & 2) opts.weight(random_weights(C, rng));
        opts.label_smoothing(rng.pick({0.0, 0.2}));
        RowMat<S> x = random_logits<S>(N, C, rng, 3.0, Layout::SamplesInRows, 0.3);
        const RowMat<S> t = random_probabilities<S>(N, C, rng, Layout::SamplesInRows);
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
        RowMat<S> grad(N, C);
        const S fb = xent::cross_entropy_forward_backward(x, t, grad, opts);
        require_close(fb, expected, 2 * e, static_cast<double>(loss_tol.sum() * scale), "forward_backward loss");
        require_close(grad, xent::reference::cross_entropy_backward<LD>(x, t, opts), 0.0, grad_tol * scale,
                      "forward_backward gradient");
      }
    }
  }
}

// NLL: the loss is -w_y x_y summed (exact up to the final rounding: 2 ulps of the sum of |terms|),
// the gradient -w_y * scale at the target (2 ulps) and exactly +0 elsewhere, ignored rows all +0.
TEMPLATE_TEST_CASE("small C row-major: nll_loss_forward_backward", "[small_classes][nll_loss]", float, double) {
  using S = TestType;
  Rng rng(23);
  for (const Index C : {Index(1), Index(2), Index(10), Index(33), Index(1000)}) {
    for (const Index N : {Index(1), Index(17), Index(300), Index(5000)}) {
      for (int k = 0; k < 2; ++k) {
        xent::NLLLossOptions opts;
        if (k) opts.weight(random_weights(C, rng)).ignore_index(0);
        const RowMat<S> x = random_logits<S>(N, C, rng);
        Vec<long> y(N);
        for (Index n = 0; n < N; ++n) y(n) = static_cast<long>(rng.integer(0, C - 1));
        RowMat<S> grad(N, C);
        grad.setConstant(std::numeric_limits<S>::quiet_NaN());  // every entry must be written
        const S loss = xent::nll_loss_forward_backward(x, y, grad, opts);
        INFO(scalar_name<S>() << " N " << N << " C " << C << " case " << k);
        const LD expected = xent::reference::nll_loss<LD>(x, y, opts);
        LD abs_sum = 0;
        for (Index n = 0; n < N; ++n) abs_sum += std::fabs(static_cast<LD>(x(n, y(n))));
        require_close(loss, expected, 2 * eps<S>(), 4 * eps<S>() * static_cast<double>(abs_sum) / static_cast<double>(N), "loss");
        // -w_y * scale, with scale = 1 / W rounded first: 2 ulps.
        require_close(grad, xent::reference::nll_loss_backward<LD>(x, y, opts), 2 * eps<S>(), 0.0, "gradient");
        for (Index n = 0; n < N; ++n)  // the zero fill: +0 (a target entry may be -0 * scale)
          for (Index c = 0; c < C; ++c)
            if (c != y(n) || y(n) == opts.ignore_index()) REQUIRE(!std::signbit(grad(n, c)));
      }
    }
  }
}

// Fixed blocks: every small-C row-major path gives the same bits on 1 and 2 threads.
TEMPLATE_TEST_CASE("small C row-major: 1 and 2 threads give the same bits", "[small_classes][threads]", float,
                   double) {
  using S = TestType;
  Rng rng(41);
  for (const Index C : {Index(3), Index(10), Index(32), Index(100), Index(128)}) {
    const Index N = 4099;
    const RowMat<S> x = random_logits<S>(N, C, rng);
    const RowMat<S> t = random_probabilities<S>(N, C, rng, Layout::SamplesInRows);
    Vec<long> y(N);
    for (Index n = 0; n < N; ++n) y(n) = static_cast<long>(rng.integer(0, C - 1));
    const auto opts = CrossEntropyOptions().label_smoothing(0.1);
    RowMat<S> ls[2], sm[2], g[2], gp[2], gn[2];
    S l[2], lp[2], ln[2];
    for (int k = 0; k < 2; ++k) {
      xent::set_num_threads(k + 1);
      ls[k].resize(N, C);
      sm[k].resize(N, C);
      g[k].resize(N, C);
      gp[k].resize(N, C);
      gn[k].resize(N, C);
      xent::log_softmax(x, ls[k]);
      xent::softmax(x, sm[k]);
      l[k] = xent::cross_entropy_forward_backward(x, y, g[k], opts);
      lp[k] = xent::cross_entropy_forward_backward(x, t, gp[k], opts);
      ln[k] = xent::nll_loss_forward_backward(x, y, gn[k]);
    }
    xent::set_num_threads(0);
    INFO(scalar_name<S>() << " C " << C);
    CHECK(l[0] == l[1]);
    CHECK(lp[0] == lp[1]);
    CHECK(ln[0] == ln[1]);
    require_same(ls[0], ls[1], "log_softmax");
    require_same(sm[0], sm[1], "softmax");
    require_same(g[0], g[1], "cross_entropy gradient");
    require_same(gp[0], gp[1], "probability gradient");
    require_same(gn[0], gn[1], "nll gradient");
  }
}

}  // namespace
