// xent: binary cross-entropy on probabilities (torch's F.binary_cross_entropy / nn.BCELoss),
// element-wise over a matrix of any shape:
//   loss = -w [ t max(log p, -100) + (1 - t) max(log1p(-p), -100) ]
//   grad = w (p - t) / max(p (1 - p), 1e-12)
// The clamps are PyTorch's; log1p(-p) is PyTorch main's (1.13 used log(1 - p)). Inputs and targets
// outside [0, 1] or NaN are errors (1.13 checks only the input; main checks both).
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>

#include "detail/elementwise_loss.hpp"
#include "detail/simd/math.hpp"
#include "detail/simd/vec.hpp"
#include "detail/views.hpp"
#include "options.hpp"

namespace xent {
namespace detail {
inline namespace XENT_SIMD_ISA_NAMESPACE {

struct BCEKernel {
  // The clamps are selects: max(log p, -100) keeps log p's NaN (none here: inputs are checked).
  template <bool kLoss, bool kGrad, class T>
  static XENT_SIMD_INLINE void eval(simd::Vec<T> p, simd::Vec<T> t, simd::Vec<T>,
                                    simd::Vec<T>& loss, simd::Vec<T>& grad) {
    using V = simd::Vec<T>;
    const V one = V::set1(T(1));
    if constexpr (kLoss) {
      const V log_p = simd::max(simd::log(p), V::set1(T(-100)));
      const V log_1mp = simd::max(simd::log1p(-p), V::set1(T(-100)));
      loss = -(t * log_p + (one - t) * log_1mp);
    }
    if constexpr (kGrad) grad = (p - t) / simd::max(p * (one - p), V::set1(T(1e-12)));
  }
};

}  // namespace XENT_SIMD_ISA_NAMESPACE
}  // namespace detail

inline namespace XENT_SIMD_ISA_NAMESPACE {

/// Binary cross-entropy on probabilities, element-wise, reduced to one value, like
/// `F.binary_cross_entropy(probs, targets)`.
///
/// Each element's loss is -w [t max(log p, -100) + (1 - t) max(log1p(-p), -100)] (w: weight, 1
/// without), with PyTorch's clamps.
/// \param probs    probabilities in [0, 1], a floating matrix of any shape (N x C, or C x N with
///                 Layout::SamplesInColumns).
/// \param targets  a floating matrix of probs' shape, entries in [0, 1].
/// \param opts     reduction, weight (class_weight, sample_weight or element_weight) and layout.
/// \return the mean (default: divided by the number of elements) or the sum of the element losses.
/// \throws std::invalid_argument an input or target outside [0, 1] or NaN (the message names the
///         first one), mismatched shapes, or a weight of the wrong size.
template <class X, class T>
typename X::Scalar binary_cross_entropy(const Eigen::MatrixBase<X>& probs,
                                        const Eigen::DenseBase<T>& targets,
                                        const BCELossOptions& opts = {}) {
  return detail::elementwise_reduced<detail::BCEKernel>("binary_cross_entropy", probs, targets,
                                                        opts);
}

/// The element losses (`reduction='none'`), into a caller's matrix of probs' shape.
/// \param probs    probabilities in [0, 1], a floating matrix of any shape (N x C, or C x N with
///                 Layout::SamplesInColumns).
/// \param targets  a floating matrix of probs' shape, entries in [0, 1].
/// \param out      probs' shape: a resizable Matrix is resized, a Map, Block or Ref must have
///                 probs' shape (else std::invalid_argument).
/// \param opts     as for binary_cross_entropy(); the reduction is not used.
template <class X, class T, class Out>
void binary_cross_entropy_per_sample(const Eigen::MatrixBase<X>& probs,
                                     const Eigen::DenseBase<T>& targets,
                                     const Eigen::MatrixBase<Out>& out,
                                     const BCELossOptions& opts = {}) {
  detail::elementwise_per_element<detail::BCEKernel>("binary_cross_entropy_per_sample", probs,
                                                     targets, out, opts);
}

/// The element losses (`reduction='none'`), returned as a new matrix of probs' shape and storage
/// order (see the overload with `out`).
template <class X, class T>
detail::PlainMatrix<X> binary_cross_entropy_per_sample(const Eigen::MatrixBase<X>& probs,
                                                       const Eigen::DenseBase<T>& targets,
                                                       const BCELossOptions& opts = {}) {
  detail::PlainMatrix<X> out(probs.rows(), probs.cols());
  binary_cross_entropy_per_sample(probs, targets, out, opts);
  return out;
}

/// The gradient of grad_output * binary_cross_entropy(probs, targets, opts) with respect to probs,
/// returned as a new matrix of probs' shape and storage order: per element
/// w (p - t) / max(p (1 - p), 1e-12), scaled by the reduction.
template <class X, class T>
detail::PlainMatrix<X> binary_cross_entropy_backward(const Eigen::MatrixBase<X>& probs,
                                                     const Eigen::DenseBase<T>& targets,
                                                     const BCELossOptions& opts = {},
                                                     typename X::Scalar grad_output = 1) {
  return detail::elementwise_backward<detail::BCEKernel>("binary_cross_entropy_backward", probs,
                                                         targets, opts, grad_output);
}

/// The gradient of sum grad_outputs * (the element losses) with respect to probs, returned as a new
/// matrix of probs' shape and storage order: the backward of binary_cross_entropy_per_sample().
/// \param probs         as for binary_cross_entropy().
/// \param targets       as for binary_cross_entropy().
/// \param grad_outputs  probs' shape: one upstream gradient per element loss.
/// \param opts          as for binary_cross_entropy(); the reduction is not used.
template <class X, class T, class G>
detail::PlainMatrix<X> binary_cross_entropy_per_sample_backward(
    const Eigen::MatrixBase<X>& probs, const Eigen::DenseBase<T>& targets,
    const Eigen::MatrixBase<G>& grad_outputs, const BCELossOptions& opts = {}) {
  return detail::elementwise_per_element_backward<detail::BCEKernel>(
      "binary_cross_entropy_per_sample_backward", probs, targets, grad_outputs, opts);
}

/// The reduced loss, with its gradient written into grad in the same pass: binary_cross_entropy()
/// and its backward (grad_output = 1) at once.
/// \param probs    as for binary_cross_entropy().
/// \param targets  as for binary_cross_entropy().
/// \param grad     the gradient, probs' shape: a resizable Matrix is resized, a Map, Block or Ref
///                 must have probs' shape (else std::invalid_argument). It may be probs itself
///                 (bitwise the same loss and gradient; docs/aliasing.md).
/// \param opts     as for binary_cross_entropy().
/// \return the reduced loss.
template <class X, class T, class G>
typename X::Scalar binary_cross_entropy_forward_backward(const Eigen::MatrixBase<X>& probs,
                                                         const Eigen::DenseBase<T>& targets,
                                                         const Eigen::MatrixBase<G>& grad,
                                                         const BCELossOptions& opts = {}) {
  return detail::elementwise_forward_backward<detail::BCEKernel>(
      "binary_cross_entropy_forward_backward", probs, targets, grad, opts);
}

/// Binary cross-entropy on probabilities as an object holding its options, like
/// `torch::nn::BCELoss`: each member calls the free function of the same name with options().
class BCELoss {
 public:
  /// A loss with these options (PyTorch's defaults when none are given).
  explicit BCELoss(BCELossOptions opts = {}) : opts_(std::move(opts)) {}
  /// The options the loss was built with.
  const BCELossOptions& options() const { return opts_; }

  /// binary_cross_entropy(probs, targets, options()): the reduced loss.
  template <class X, class T>
  typename X::Scalar operator()(const Eigen::MatrixBase<X>& probs,
                                const Eigen::DenseBase<T>& targets) const {
    return binary_cross_entropy(probs, targets, opts_);
  }
  /// binary_cross_entropy_per_sample(probs, targets, options()): a new matrix of element losses.
  template <class X, class T>
  detail::PlainMatrix<X> per_sample(const Eigen::MatrixBase<X>& probs,
                                    const Eigen::DenseBase<T>& targets) const {
    return binary_cross_entropy_per_sample(probs, targets, opts_);
  }
  /// binary_cross_entropy_per_sample(probs, targets, out, options()).
  template <class X, class T, class Out>
  void per_sample(const Eigen::MatrixBase<X>& probs, const Eigen::DenseBase<T>& targets,
                  const Eigen::MatrixBase<Out>& out) const {
    binary_cross_entropy_per_sample(probs, targets, out, opts_);
  }
  /// binary_cross_entropy_backward(probs, targets, options(), grad_output).
  template <class X, class T>
  detail::PlainMatrix<X> backward(const Eigen::MatrixBase<X>& probs,
                                  const Eigen::DenseBase<T>& targets,
                                  typename X::Scalar grad_output = 1) const {
    return binary_cross_entropy_backward(probs, targets, opts_, grad_output);
  }
  /// binary_cross_entropy_per_sample_backward(probs, targets, grad_outputs, options()).
  template <class X, class T, class G>
  detail::PlainMatrix<X> per_sample_backward(const Eigen::MatrixBase<X>& probs,
                                             const Eigen::DenseBase<T>& targets,
                                             const Eigen::MatrixBase<G>& grad_outputs) const {
    return binary_cross_entropy_per_sample_backward(probs, targets, grad_outputs, opts_);
  }
  /// binary_cross_entropy_forward_backward(probs, targets, grad, options()).
  template <class X, class T, class G>
  typename X::Scalar forward_backward(const Eigen::MatrixBase<X>& probs,
                                      const Eigen::DenseBase<T>& targets,
                                      const Eigen::MatrixBase<G>& grad) const {
    return binary_cross_entropy_forward_backward(probs, targets, grad, opts_);
  }

 private:
  BCELossOptions opts_;
};

}  // namespace XENT_SIMD_ISA_NAMESPACE
}  // namespace xent
