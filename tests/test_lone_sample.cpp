// One sample stored with samples side by side: a column-major 1 x C matrix (samples in rows) or a
// row-major C x 1 one (samples in columns). Its classes are adjacent in memory, so
// detail::with_samples_in_rows hands it to the per-row kernels as a contiguous row (re-seated Refs)
// instead of the lane kernels, which would fill one lane per packet. Every function must give
// bitwise the results of the same sample stored as a row-major 1 x C matrix; operands in mixed
// storage, and a row of a bigger column-major matrix mapped with its outer stride (still the
// lanes), must agree with it within rounding.
#include <string>

#include "test_support.hpp"

using namespace xt;
using xent::CrossEntropyOptions;
using xent::Reduction;

namespace {

const Index kClasses[] = {2, 17, 1000, 70000};  // 70000 floats: beyond the online row switch

template <class S>
using Targets = Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1>;

// Lanes and rows sum in different orders: a few ulps of the largest terms (|x - m| + log C for
// log_softmax, the loss; 1 for probabilities and gradients), times the length of the sums.
template <class S>
double lane_tolerance(Index classes) {
  return 8 * eps<S>() * (50 + static_cast<double>(classes) / 64);
}

}  // namespace

TEMPLATE_TEST_CASE("a lone column-major sample: bitwise the row-major results, every function", "[lone_sample]", float,
                   double) {
  using S = TestType;
  Rng rng(5);
  for (const Index C : kClasses) {
    INFO(scalar_name<S>() << " C " << C);
    const RowMat<S> xr = random_logits<S>(1, C, rng, 4.0);
    const Mat<S> xc = xr;
    const RowMat<S> gr = random_logits<S>(1, C, rng, 1.0);
    const Mat<S> gc = gr;

    RowMat<S> out_r(1, C);
    Mat<S> out_c(1, C);
    xent::log_softmax(xr, out_r);
    xent::log_softmax(xc, out_c);
    require_same(out_c, out_r, "log_softmax");
    const RowMat<S> lsm = out_r;
    xent::softmax(xr, out_r);
    xent::softmax(xc, out_c);
    require_same(out_c, out_r, "softmax");
    const RowMat<S> sm = out_r;
    require_same(xent::logsumexp(xc), xent::logsumexp(xr), "logsumexp");

    const Mat<S> lsm_c = lsm, sm_c = sm;
    xent::log_softmax_backward(gr, lsm, out_r);
    xent::log_softmax_backward(gc, lsm_c, out_c);
    require_same(out_c, out_r, "log_softmax_backward");
    xent::softmax_backward(gr, sm, out_r);
    xent::softmax_backward(gc, sm_c, out_c);
    require_same(out_c, out_r, "softmax_backward");

    Targets<S> y(1);
    y(0) = rng.integer(0, C - 1);
    for (int k = 0; k < 3; ++k) {
      CrossEntropyOptions opts;
      if (k == 1) opts.label_smoothing(0.1).reduction(Reduction::Sum);
      if (k == 2) opts.weight(random_weights(C, rng)).label_smoothing(0.05);
      INFO("options case " << k);
      require_same(xent::cross_entropy_per_sample(xc, y, opts), xent::cross_entropy_per_sample(xr, y, opts),
                   "per-sample loss");
      const S fr = xent::cross_entropy_forward_backward(xr, y, out_r, opts);
      const S fc = xent::cross_entropy_forward_backward(xc, y, out_c, opts);
      CHECK(fc == fr);
      require_same(out_c, out_r, "fused gradient");
      require_same(xent::cross_entropy_backward(xc, y, opts), xent::cross_entropy_backward(xr, y, opts),
                   "backward");
      // Probability targets (the sample's softmax, a smooth target), in matching storage.
      const S pr = xent::cross_entropy_forward_backward(xr, sm, out_r, opts);
      const S pc = xent::cross_entropy_forward_backward(xc, sm_c, out_c, opts);
      CHECK(pc == pr);
      require_same(out_c, out_r, "probability-target gradient");
    }
    // The in-place fused call overwrites column-major logits with their gradient.
    Mat<S> in_place = xc;
    const S ip = xent::cross_entropy_forward_backward_in_place(in_place, y);
    const S fr = xent::cross_entropy_forward_backward(xr, y, out_r);
    CHECK(ip == fr);
    require_same(in_place, out_r, "in-place gradient");
  }
}

TEMPLATE_TEST_CASE("a lone row-major sample with samples in columns: bitwise the contiguous results", "[lone_sample]",
                   float, double) {
  using S = TestType;
  Rng rng(6);
  const Layout cols = Layout::SamplesInColumns;
  for (const Index C : kClasses) {
    INFO(scalar_name<S>() << " C " << C);
    const RowMat<S> xr = random_logits<S>(1, C, rng, 4.0);
    const RowMat<S> xt_rows = xr.transpose();  // C x 1, row-major: element c at c (outer stride 1)
    RowMat<S> out_r(1, C), out_t(C, 1);
    xent::log_softmax(xr, out_r);
    xent::log_softmax(xt_rows, out_t, cols);
    require_same(out_t.transpose(), out_r, "log_softmax");
    xent::softmax(xr, out_r);
    xent::softmax(xt_rows, out_t, cols);
    require_same(out_t.transpose(), out_r, "softmax");
    Targets<S> y(1);
    y(0) = rng.integer(0, C - 1);
    CrossEntropyOptions opts;
    opts.label_smoothing(0.1);
    const S fr = xent::cross_entropy_forward_backward(xr, y, out_r, opts);
    opts.layout(cols);
    const S ft = xent::cross_entropy_forward_backward(xt_rows, y, out_t, opts);
    CHECK(ft == fr);
    require_same(out_t.transpose(), out_r, "fused gradient");
  }
}

TEMPLATE_TEST_CASE("a lone sample in mixed storage, or strided: the same results within rounding", "[lone_sample]",
                   float, double) {
  using S = TestType;
  Rng rng(7);
  for (const Index C : kClasses) {
    INFO(scalar_name<S>() << " C " << C);
    const double tol = lane_tolerance<S>(C);
    const RowMat<S> xr = random_logits<S>(1, C, rng, 4.0);
    const Mat<S> xc = xr;
    RowMat<S> expected(1, C);
    xent::log_softmax(xr, expected);
    // Column-major logits, row-major output (re-seated input, plain output): still rows.
    RowMat<S> out_r(1, C);
    xent::log_softmax(xc, out_r);
    require_same(out_r, expected, "log_softmax, column-major in, row-major out");
    // Row 2 of a 5 x C column-major matrix as a 1 x C column-major Map with outer stride 5: read in
    // place, a lane per sample.
    using Strided = Eigen::Map<Mat<S>, 0, Eigen::OuterStride<>>;
    Mat<S> big = random_logits<S>(5, C, rng, 4.0);
    big.row(2) = xc;
    const Strided x_strided(big.data() + 2, 1, C, Eigen::OuterStride<>(5));
    Mat<S> big_out = Mat<S>::Zero(5, C);
    Strided out_strided(big_out.data() + 2, 1, C, Eigen::OuterStride<>(5));
    xent::log_softmax(x_strided, out_strided);
    require_close(big_out.row(2), expected, tol, tol, "log_softmax, strided row");
    CHECK(big_out.row(1).isZero());
    CHECK(big_out.row(3).isZero());
    Targets<S> y(1);
    y(0) = rng.integer(0, C - 1);
    RowMat<S> grad_r(1, C);
    const S fr = xent::cross_entropy_forward_backward(xr, y, grad_r);
    Mat<S> grad_big = Mat<S>::Zero(5, C);
    Strided grad_strided(grad_big.data() + 2, 1, C, Eigen::OuterStride<>(5));
    const S fb = xent::cross_entropy_forward_backward(x_strided, y, grad_strided);
    require_close(fb, fr, tol, tol, "cross_entropy, strided row");
    require_close(grad_big.row(2), grad_r, tol, tol, "fused gradient, strided row");
  }
}
