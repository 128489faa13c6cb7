// The translation unit clang-tidy analyses (.ci/run, stage "tidy"): it includes every public header
// and instantiates each entry point for float and double, both storage orders and both layouts, so
// the checks see the kernels' template bodies, not only their declarations. Compiled, never run.
#include <cstdint>
#include <xent/reference.hpp>
#include <xent/xent.hpp>

namespace {

template <class Scalar, int Order>
Scalar every_entry_point(xent::Layout layout) {
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Order>;
  using Targets = Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1>;
  const bool rows = layout == xent::Layout::SamplesInRows;
  const Eigen::Index n = 5, c = 7;
  const Matrix x = rows ? Matrix::Random(n, c) : Matrix::Random(c, n);
  const Matrix probs = xent::softmax(x, layout);
  Targets y(n);
  for (Eigen::Index i = 0; i < n; ++i) y(i) = i % c;
  Matrix grad(x.rows(), x.cols());
  Scalar sum = 0;

  const auto ce = xent::CrossEntropyOptions().layout(layout).label_smoothing(0.1);
  sum += xent::cross_entropy(x, y, ce) + xent::cross_entropy(x, probs, ce);
  sum += xent::cross_entropy_per_sample(x, y, ce).sum();
  sum += xent::cross_entropy_backward(x, y, ce).sum() +
         xent::cross_entropy_backward(x, probs, ce).sum();
  sum += xent::cross_entropy_forward_backward(x, y, grad, ce);
  sum += xent::cross_entropy_forward_backward(x, probs, grad, ce);
  Matrix in_place = x;  // NOLINT(performance-unnecessary-copy-initialization): written through the
                        // Eigen const-ref idiom
  sum += xent::cross_entropy_forward_backward_in_place(in_place, y, ce);
  sum += xent::CrossEntropyLoss(ce)(x, y);

  const auto nll = xent::NLLLossOptions().layout(layout);
  const Matrix lp = xent::log_softmax(x, layout);
  sum += xent::nll_loss(lp, y, nll) + xent::nll_loss_per_sample(lp, y, nll).sum();
  sum +=
      xent::nll_loss_backward(lp, y, nll).sum() + xent::nll_loss_forward_backward(lp, y, grad, nll);
  sum += xent::NLLLoss(nll)(lp, y);

  sum += xent::logsumexp(x, layout).sum();
  sum += xent::log_softmax_backward(x, lp, layout).sum() +
         xent::softmax_backward(x, probs, layout).sum();

  sum += xent::binary_cross_entropy_with_logits(x, probs) +
         xent::binary_cross_entropy_with_logits_per_sample(x, probs).sum() +
         xent::binary_cross_entropy_with_logits_backward(x, probs).sum() +
         xent::binary_cross_entropy_with_logits_forward_backward(x, probs, grad) +
         xent::BCEWithLogitsLoss()(x, probs);
  sum += xent::binary_cross_entropy(probs, probs) +
         xent::binary_cross_entropy_per_sample(probs, probs).sum() +
         xent::binary_cross_entropy_backward(probs, probs).sum() +
         xent::binary_cross_entropy_forward_backward(probs, probs, grad) +
         xent::BCELoss()(probs, probs);

  sum += static_cast<Scalar>(xent::reference::cross_entropy<long double>(x, y, ce));
  return sum;
}

}  // namespace

double instantiate_every_entry_point() {
  double sum = 0;
  for (const auto layout : {xent::Layout::SamplesInRows, xent::Layout::SamplesInColumns}) {
    sum += static_cast<double>(every_entry_point<float, Eigen::ColMajor>(layout));
    sum += static_cast<double>(every_entry_point<float, Eigen::RowMajor>(layout));
    sum += every_entry_point<double, Eigen::ColMajor>(layout);
    sum += every_entry_point<double, Eigen::RowMajor>(layout);
  }
  return sum;
}
