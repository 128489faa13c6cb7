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

#include "detail/elementwise_loss.hpp"
#include "detail/simd/math.hpp"
#include "detail/simd/vec.hpp"
#include "detail/views.hpp"
#include "options.hpp"

namespace xent {
namespace detail {
inline namespace XENT_SIMD_ISA_NAMESPACE {

struct BCEWithLogitsKernel {
  // Targets are used as given (t = 2 is accepted), as in PyTorch.
  template <class X, class T>
  static void check(const char*, const X&, const T&) {}

  // With e = exp(-|x|) in [0, 1] (one exp for everything) and r = 1 / (1 + e) (one division):
  // softplus(+-x) = max(+-x, 0) + log1p(e), sigmoid(|x|) = r, sigmoid(-|x|) = e r. A term whose
  // coefficient (1 - t or P t) is 0 is skipped, so the limits at x = +-inf hold (0 * inf would be
  // NaN); a NaN coefficient is not 0 and propagates, and a NaN x gives NaN (as in the reference).
  template <bool kLoss, bool kGrad, class T>
  static XENT_SIMD_INLINE void eval(simd::Vec<T> x, simd::Vec<T> t, simd::Vec<T> pos_weight,
                                    simd::Vec<T>& loss, simd::Vec<T>& grad) {
    using V = simd::Vec<T>;
    const V zero = V::zero(), one = V::set1(T(1));
    const V e = simd::exp(-simd::abs(x));
    const V u = one + e;
    const V r = one / u;
    const V negative = one - t;
    const V positive = pos_weight * t;
    if constexpr (kLoss) {
      const V tail = log1p_unit(e, u, r);
      const V softplus_x = simd::max(x, zero) + tail;
      const V softplus_minus_x = simd::max(-x, zero) + tail;
      loss = simd::select(negative != zero, negative * softplus_x, zero) +
             simd::select(positive != zero, positive * softplus_minus_x, zero);
      loss = simd::select(simd::is_nan(x), x, loss);  // even where both terms are skipped
    }
    if constexpr (kGrad) {
      const V q = e * r;
      const V sigmoid_x = simd::select(x >= zero, r, q);
      const V sigmoid_minus_x = simd::select(x <= zero, r, q);
      grad = negative * sigmoid_x - positive * sigmoid_minus_x;
    }
  }

 private:
  // log1p(e) for e in [0, 1], given u = 1 + e and r = 1 / u: simd::log1p's steps with its second
  // division c / u replaced by c r (c, the rounding error of 1 + e, is below half an ulp of u, so
  // the change is far below the result's ulp). A NaN e gives an unspecified value: the caller's
  // max(x, 0) + tail is NaN then anyway.
  template <class T>
  static XENT_SIMD_INLINE simd::Vec<T> log1p_unit(simd::Vec<T> e, simd::Vec<T> u, simd::Vec<T> r) {
    using V = simd::Vec<T>;
    const V c = e - (u - V::set1(T(1)));  // u - 1 is exact for u in [1, 2]
    V k, f;
    simd::math_impl::reduce_log_argument(u, k, f);
    return simd::math_impl::log_reconstruct(
        k, f, simd::fma(k, V::set1(simd::MathConstants<T>::ln2_lo), c * r));
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
