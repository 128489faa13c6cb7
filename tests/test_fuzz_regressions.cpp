// Findings of the fuzz harnesses (tests/fuzz/), each as a focused test. The inputs themselves are
// replayed by the fuzz_replay_<harness> tests (tests/fuzz/regressions/<harness>/).
#include <Eigen/Core>
#include <cmath>
#include <cstdint>
#include <limits>
#include <xent/reference.hpp>
#include <xent/xent.hpp>

#include "catch.hpp"

namespace {

using LD = long double;
using Targets = Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1>;

}  // namespace

// fuzz_softmax, regressions/softmax/reference_no_classes_ub: with C = 0 and N > 0 the reference
// took row(n) of an N x 0 matrix, which Eigen forms by offsetting a null data pointer (UBSan:
// "applying non-zero offset to null pointer"). The values were right; only the UB is new to check,
// so the test runs the reference functions that did it and asserts their (exact) results: an empty
// log-softmax, logsumexp = log of an empty sum = -inf, and an all-ignored batch's loss 0 and empty
// gradient.
TEST_CASE("reference: no classes (N x 0) is well defined") {
  const Eigen::MatrixXf x(3, 0);
  const Eigen::MatrixXf xt(0, 3);
  CHECK(xent::reference::log_softmax<LD>(x).size() == 0);
  CHECK(xent::reference::log_softmax<LD>(xt, xent::Layout::SamplesInColumns).size() == 0);
  const auto lse = xent::reference::logsumexp<LD>(x);
  REQUIRE(lse.size() == 3);
  for (Eigen::Index n = 0; n < 3; ++n) CHECK(lse(n) == -std::numeric_limits<LD>::infinity());
  // The library agrees.
  const Eigen::VectorXf lib = xent::logsumexp(x);
  for (Eigen::Index n = 0; n < 3; ++n) CHECK(lib(n) == -std::numeric_limits<float>::infinity());

  const Eigen::MatrixXf g(3, 0);
  CHECK(xent::reference::log_softmax_backward<LD>(g, x).size() == 0);

  Targets y(3);
  y << -100, -100, -100;  // every sample ignored: the only valid targets without classes
  const auto opts = xent::CrossEntropyOptions().reduction(xent::Reduction::Sum);
  CHECK(xent::reference::cross_entropy<LD>(x, y, opts) == 0);
  const auto grad = xent::reference::cross_entropy_backward<LD>(x, y, opts);
  CHECK(grad.rows() == 3);
  CHECK(grad.cols() == 0);
  CHECK(xent::cross_entropy(x, y, opts) == 0.0f);
}

// fuzz_class_index, regressions/class_index/ce_no_classes_ignored_row: the library's cross-entropy
// gradient zeroed an ignored sample's row with row(n).setZero() also when C = 0 (the same UB in
// Eigen). The gradient entry points on N x 0 logits with every sample ignored.
TEST_CASE("cross_entropy gradient with no classes") {
  const Eigen::MatrixXf x(3, 0);
  Targets y(3);
  y << -100, -100, -100;
  const auto opts = xent::CrossEntropyOptions().reduction(xent::Reduction::Sum);
  CHECK(xent::cross_entropy_backward(x, y, opts).size() == 0);
  Eigen::MatrixXf grad;
  CHECK(xent::cross_entropy_forward_backward(x, y, grad, opts) == 0.0f);
  CHECK(grad.rows() == 3);
  CHECK(xent::cross_entropy_per_sample_backward(x, y, Eigen::VectorXf::Ones(3), opts).size() == 0);
  // Mean over no non-ignored target: NaN, as in PyTorch.
  CHECK(std::isnan(xent::cross_entropy(x, y)));
}

// fuzz_class_index, regressions/class_index/nll_no_classes_memset_null: NLL's gradient with C = 0
// (every sample ignored) took the per-block fill, a memset of 0 bytes at the empty gradient's null
// data pointer (UBSan: "null pointer passed as argument 1, which is declared to never be null").
// Runs the entry points that fill the gradient on N x 0 logits, in both storage orders.
TEMPLATE_TEST_CASE("nll_loss gradient with no classes", "",
                   (Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic>),
                   (Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>)) {
  const TestType x(4, 0);
  Targets y = Targets::Constant(4, -100);
  const auto opts = xent::NLLLossOptions().reduction(xent::Reduction::Sum);
  TestType grad;
  CHECK(xent::nll_loss_forward_backward(x, y, grad, opts) == 0);
  CHECK(grad.rows() == 4);
  CHECK(grad.cols() == 0);
  CHECK(xent::nll_loss_backward(x, y, opts).size() == 0);
  const Eigen::Matrix<typename TestType::Scalar, Eigen::Dynamic, 1> g =
      Eigen::Matrix<typename TestType::Scalar, Eigen::Dynamic, 1>::Ones(4);
  CHECK(xent::nll_loss_per_sample_backward(x, y, g, opts).size() == 0);
  // Mean over no non-ignored target: NaN, as in PyTorch.
  CHECK(std::isnan(xent::nll_loss(x, y, xent::NLLLossOptions())));
}

// fuzz_binary, regressions/binary/small_pos_weight_gradient: the BCE-with-logits gradient formed
// W = 1 - t + P t as (P - 1) t + 1, where P - 1 rounds to -1 for P below float's epsilon: W came
// out 0 and the gradient -P t instead of -P t / 2 at x = 0 (here a subnormal x). Now W = P t + (1 -
// t) with one rounding; the gradient is checked against the closed form at pos_weights from tiny to
// large, both signs of x near 0, every storage path the size reaches (body and tail).
TEST_CASE("BCE-with-logits gradient keeps a pos_weight below epsilon") {
  for (const float p : {4.65661287e-10f, 1e-20f, 3e-8f, 1.0f, 7.5f}) {
    for (const float x0 : {-1.0874076e-42f, 0.0f, 1e-30f, -0.25f, 0.25f}) {
      for (const float t0 : {1.0f, 0.75f, 0.0f}) {
        const Eigen::MatrixXf x = Eigen::MatrixXf::Constant(37, 3, x0);
        const Eigen::MatrixXf t = Eigen::MatrixXf::Constant(37, 3, t0);
        const Eigen::VectorXf pw = Eigen::VectorXf::Constant(3, p);
        const auto opts =
            xent::BCEWithLogitsLossOptions().pos_weight(pw).reduction(xent::Reduction::Sum);
        const Eigen::MatrixXf g = xent::binary_cross_entropy_with_logits_backward(x, t, opts);
        // The closed form in long double, (1 - t) sigmoid(x) - P t sigmoid(-x): not the reference,
        // whose PyTorch form (P t + 1 - t) sigmoid(x) - P t loses P t / 2 when P t is tiny.
        const LD xl = LD(x0), tl = LD(t0), pl = LD(p);
        const LD expected = (1 - tl) / (1 + std::exp(-xl)) - pl * tl / (1 + std::exp(xl));
        INFO("pos_weight " << p << " x " << x0 << " t " << t0);
        for (Eigen::Index i = 0; i < g.size(); ++i) {
          // Four float roundings (sigmoid, W, the product, the difference) and exp's ulp: 8 eps
          // of the largest term, (1 - t) + P t.
          const LD scale = std::fabs(1 - tl) + pl * tl;
          REQUIRE(std::fabs(static_cast<LD>(g(i)) - expected) <=
                  8 * LD(std::numeric_limits<float>::epsilon()) * scale);
        }
      }
    }
  }
}
