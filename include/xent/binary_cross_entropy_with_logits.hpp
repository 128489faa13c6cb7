// xent: binary cross-entropy on logits (torch's F.binary_cross_entropy_with_logits /
// nn.BCEWithLogitsLoss), element-wise over a matrix of any shape.
//
// With P = pos_weight and softplus(z) = log(1 + e^z), the loss of one element is
//   w * [ (1 - t) softplus(x) + P t softplus(-x) ]
// which equals PyTorch's w [(1-t) x + (1 + (P-1) t) softplus(-x)] but adds two non-negative terms
// instead of cancelling x against softplus(-x): it stays accurate in the tails (PyTorch 1.13
// returns 0 for x = -20, t = 0) and, skipping a term whose coefficient is 0, reaches the
// mathematical limits at x = +-inf (x = -inf, t = 0 gives 0 and x = +inf, t = 0 gives +inf, where
// PyTorch returns NaN). The gradient, w [(1 - t) sigmoid(x) - P t sigmoid(-x)], is finite
// everywhere.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>

#include "detail/elementwise_loss.hpp"
#include "detail/views.hpp"
#include "options.hpp"

namespace xent {
namespace detail {
inline namespace XENT_SIMD_ISA_NAMESPACE {

// log(1 + e^z) without overflow or loss of the tail.
template <class Scalar>
Scalar softplus(Scalar z) {
  return std::max(z, Scalar(0)) + std::log1p(std::exp(-std::abs(z)));
}

// 1 / (1 + e^-z), from whichever side does not overflow.
template <class Scalar>
Scalar sigmoid(Scalar z) {
  if (z >= 0) return 1 / (1 + std::exp(-z));
  const Scalar e = std::exp(z);
  return e / (1 + e);
}

struct BCEWithLogitsKernel {
  // Targets are used as given (t = 2 is accepted), as in PyTorch.
  template <class X, class T>
  static void check(const char*, const X&, const T&) {}

  template <class Scalar>
  static Scalar loss(Scalar x, Scalar t, Scalar pos_weight) {
    const Scalar negative = 1 - t;
    const Scalar positive = pos_weight * t;
    Scalar value = 0;
    if (negative != 0) value += negative * softplus(x);
    if (positive != 0) value += positive * softplus(-x);
    return value;
  }

  template <class Scalar>
  static Scalar grad(Scalar x, Scalar t, Scalar pos_weight) {
    return (1 - t) * sigmoid(x) - pos_weight * t * sigmoid(-x);
  }
};

}  // namespace XENT_SIMD_ISA_NAMESPACE
}  // namespace detail

inline namespace XENT_SIMD_ISA_NAMESPACE {

// Mean (default) or sum of the element losses.
template <class X, class T>
typename X::Scalar binary_cross_entropy_with_logits(const Eigen::MatrixBase<X>& logits,
                                                    const Eigen::DenseBase<T>& targets,
                                                    const BCEWithLogitsLossOptions& opts = {}) {
  return detail::elementwise_reduced<detail::BCEWithLogitsKernel>(
      "binary_cross_entropy_with_logits", logits, targets, opts);
}

// reduction='none': the element losses, the input's shape, into a caller's matrix.
template <class X, class T, class Out>
void binary_cross_entropy_with_logits_per_sample(const Eigen::MatrixBase<X>& logits,
                                                 const Eigen::DenseBase<T>& targets,
                                                 const Eigen::MatrixBase<Out>& out,
                                                 const BCEWithLogitsLossOptions& opts = {}) {
  detail::elementwise_per_element<detail::BCEWithLogitsKernel>(
      "binary_cross_entropy_with_logits_per_sample", logits, targets, out, opts);
}

template <class X, class T>
detail::PlainMatrix<X> binary_cross_entropy_with_logits_per_sample(
    const Eigen::MatrixBase<X>& logits, const Eigen::DenseBase<T>& targets,
    const BCEWithLogitsLossOptions& opts = {}) {
  detail::PlainMatrix<X> out(logits.rows(), logits.cols());
  binary_cross_entropy_with_logits_per_sample(logits, targets, out, opts);
  return out;
}

template <class X, class T>
detail::PlainMatrix<X> binary_cross_entropy_with_logits_backward(
    const Eigen::MatrixBase<X>& logits, const Eigen::DenseBase<T>& targets,
    const BCEWithLogitsLossOptions& opts = {}, typename X::Scalar grad_output = 1) {
  return detail::elementwise_backward<detail::BCEWithLogitsKernel>(
      "binary_cross_entropy_with_logits_backward", logits, targets, opts, grad_output);
}

// grad_outputs has the input's shape (one upstream gradient per element loss).
template <class X, class T, class G>
detail::PlainMatrix<X> binary_cross_entropy_with_logits_per_sample_backward(
    const Eigen::MatrixBase<X>& logits, const Eigen::DenseBase<T>& targets,
    const Eigen::MatrixBase<G>& grad_outputs, const BCEWithLogitsLossOptions& opts = {}) {
  return detail::elementwise_per_element_backward<detail::BCEWithLogitsKernel>(
      "binary_cross_entropy_with_logits_per_sample_backward", logits, targets, grad_outputs, opts);
}

template <class X, class T, class G>
typename X::Scalar binary_cross_entropy_with_logits_forward_backward(
    const Eigen::MatrixBase<X>& logits, const Eigen::DenseBase<T>& targets,
    const Eigen::MatrixBase<G>& grad, const BCEWithLogitsLossOptions& opts = {}) {
  return detail::elementwise_forward_backward<detail::BCEWithLogitsKernel>(
      "binary_cross_entropy_with_logits_forward_backward", logits, targets, grad, opts);
}

// The loss as an object, like torch::nn::BCEWithLogitsLoss.
class BCEWithLogitsLoss {
 public:
  explicit BCEWithLogitsLoss(BCEWithLogitsLossOptions opts = {}) : opts_(std::move(opts)) {}
  const BCEWithLogitsLossOptions& options() const { return opts_; }

  template <class X, class T>
  typename X::Scalar operator()(const Eigen::MatrixBase<X>& logits,
                                const Eigen::DenseBase<T>& targets) const {
    return binary_cross_entropy_with_logits(logits, targets, opts_);
  }
  template <class X, class T>
  detail::PlainMatrix<X> per_sample(const Eigen::MatrixBase<X>& logits,
                                    const Eigen::DenseBase<T>& targets) const {
    return binary_cross_entropy_with_logits_per_sample(logits, targets, opts_);
  }
  template <class X, class T, class Out>
  void per_sample(const Eigen::MatrixBase<X>& logits, const Eigen::DenseBase<T>& targets,
                  const Eigen::MatrixBase<Out>& out) const {
    binary_cross_entropy_with_logits_per_sample(logits, targets, out, opts_);
  }
  template <class X, class T>
  detail::PlainMatrix<X> backward(const Eigen::MatrixBase<X>& logits,
                                  const Eigen::DenseBase<T>& targets,
                                  typename X::Scalar grad_output = 1) const {
    return binary_cross_entropy_with_logits_backward(logits, targets, opts_, grad_output);
  }
  template <class X, class T, class G>
  detail::PlainMatrix<X> per_sample_backward(const Eigen::MatrixBase<X>& logits,
                                             const Eigen::DenseBase<T>& targets,
                                             const Eigen::MatrixBase<G>& grad_outputs) const {
    return binary_cross_entropy_with_logits_per_sample_backward(logits, targets, grad_outputs,
                                                                opts_);
  }
  template <class X, class T, class G>
  typename X::Scalar forward_backward(const Eigen::MatrixBase<X>& logits,
                                      const Eigen::DenseBase<T>& targets,
                                      const Eigen::MatrixBase<G>& grad) const {
    return binary_cross_entropy_with_logits_forward_backward(logits, targets, grad, opts_);
  }

 private:
  BCEWithLogitsLossOptions opts_;
};

}  // namespace XENT_SIMD_ISA_NAMESPACE
}  // namespace xent
