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
  // With a = |x|, e = exp(-a) in [0, 1] (one exp for everything), tail = log1p(e):
  //   softplus(x) = max(x, 0) + tail, softplus(-x) = max(-x, 0) + tail,
  //   loss = (1 - t) softplus(x) + P t softplus(-x) = (1 - t + P t) tail + c a,
  //   c = 1 - t for x > 0, P t otherwise (the coefficient of the softplus that grows with a);
  //   sigmoid(-a) = q = e / (1 + e), sigmoid(a) = 1 - q.
  // For t in [0, 1] and P >= 0 every term is non-negative: no cancellation, full accuracy in the
  // tails. c a is skipped when c = 0, so that the limits at x = +-inf hold (0 * inf would be NaN):
  // x = +inf, t = 1 gives 0, x = -inf, t = 0 gives 0. A NaN x, t or P gives NaN.
  template <bool kLoss, bool kGrad, class T>
  static XENT_SIMD_INLINE void eval(simd::Vec<T> x, simd::Vec<T> t, simd::Vec<T> pos_weight,
                                    simd::Vec<T>& loss, simd::Vec<T>& grad) {
    using V = simd::Vec<T>;
    const V zero = V::zero(), one = V::set1(T(1));
    const V a = simd::abs(x);
    const V e = simd::exp_nonpositive(-a);
    V tail, q;
    tail_and_sigmoid<kLoss>(e, tail, q);
    const V negative = one - t;
    const V positive = pos_weight * t;
    // W = 1 - t + P t = negative + positive, rounded once (exactly 1 without pos_weight: 1 - t is
    // within half an ulp of exact, and t + (1 - t) then rounds to 1). Not (P - 1) t + 1: P - 1
    // rounds P away when P < eps (found by fuzz_binary: the gradient came out 2x at P = 4.7e-10).
    const V w = simd::fma(pos_weight, t, negative);
    const simd::Mask<T> x_positive = x > zero;
    if constexpr (kLoss) {
      const V c = simd::select(x_positive, negative, positive);
      const V growing = simd::select(c != zero, c * a, zero);
      loss = simd::fma(w, tail, growing);
    }
    if constexpr (kGrad) {
      // (1 - t) sigmoid(x) - P t sigmoid(-x) with sigmoid(+-a) = 1 - q or q, regrouped so that the
      // only rounded sigmoid is q: (1 - t) - W q for x > 0, W q - P t otherwise (W = 1 - t + P t).
      // Where the gradient cancels (sigmoid(x) ~ t) this keeps q's rounding alone: forming 1 - q
      // first, and both products, made it 2-3 times less accurate than PyTorch's sigmoid(x) - t
      // (tools/accuracy). At x = 0 both forms give 1 - t - W/2 = W/2 - P t.
      grad = simd::select(x_positive, simd::fma(-w, q, negative), simd::fma(w, q, -positive));
    }
  }

 private:
  // tail = log1p(e) (when kLoss) and q = e / (1 + e), for e in [0, 1] (NaN in, NaN out); q is
  // exactly 0 at e = 0 and 1/2 at e = 1. The division is cheap next to a polynomial of the same
  // accuracy: it runs beside the multiply-adds (measured with AVX-512 on AMD Zen 4).
  //
  // float: log1p(e) = e L(s), L a polynomial of degree 10 in s = 2e - 1 in [-1, 1], the Chebyshev
  // interpolant of log1p(e)/e (the function's only singularity, e = -1, is far enough for 2^-26.9
  // relative accuracy at that degree, coefficients rounded to float included): no logarithm's
  // range reduction, full relative accuracy as e -> 0, and exactly 0 at e = 0. Evaluated as
  // e c0 + e (L - c0) with c0 = L(0) in two floats (hi exact in the fma): only the final fma
  // rounds at the result's magnitude. (Rounding L, then e L, as before: mean 0.50 ulp on the loss
  // near x = 0 against PyTorch's 0.445; now 0.36, tools/accuracy. simd::log1p's steps measured as
  // accurate but 20-28 % slower: a second division.) Tested within 8 eps.
  // double: simd::log1p's steps, its division c / u replaced by c r with r = 1 / (1 + e).
  template <bool kLoss>
  static XENT_SIMD_INLINE void tail_and_sigmoid(simd::Vec<float> e, simd::Vec<float>& tail,
                                                simd::Vec<float>& q) {
    using V = simd::Vec<float>;
    // L's coefficients of s^10 down to s^1; c0 = kC0Hi + kC0Lo.
    static constexpr float kLog1pOverE[] = {1.940133415700984e-06f,  -6.356139692798024e-06f,
                                            1.5670666471123695e-05f, -5.268831591820344e-05f,
                                            0.00018512118549551815f, -0.0006428557680919766f,
                                            0.0022882013581693172f,  -0.008460952900350094f,
                                            0.03315243870019913f,    -0.14426355063915253f};
    static constexpr float kC0Hi = 0.8109301924705505f, kC0Lo = 2.3745778676698137e-08f;
    if constexpr (kLoss) {
      const V s = simd::fma(e, V::set1(2.0f), V::set1(-1.0f));
      const V rest = simd::fma(s, simd::math_impl::horner(s, kLog1pOverE), V::set1(kC0Lo));
      tail = simd::fma(e, V::set1(kC0Hi), e * rest);
    }
    q = e / (V::set1(1.0f) + e);
  }

  template <bool kLoss>
  static XENT_SIMD_INLINE void tail_and_sigmoid(simd::Vec<double> e, simd::Vec<double>& tail,
                                                simd::Vec<double>& q) {
    using V = simd::Vec<double>;
    const V one = V::set1(1.0);
    const V u = one + e;
    const V r = one / u;
    q = e * r;
    if constexpr (kLoss) {
      // log1p(e) = log(u) + c / u, c = e - (u - 1) the rounding error of 1 + e (u - 1 is exact
      // for u in [1, 2]); c r for c / u changes the result far below its ulp.
      const V c = e - (u - one);
      V k, f;
      simd::math_impl::reduce_log_argument(u, k, f);
      tail = simd::math_impl::log_reconstruct(
          k, f, simd::fma(k, V::set1(simd::MathConstants<double>::ln2_lo), c * r));
    }
  }
};

}  // namespace XENT_SIMD_ISA_NAMESPACE
}  // namespace detail

inline namespace XENT_SIMD_ISA_NAMESPACE {

/// Binary cross-entropy on logits, element-wise, reduced to one value, like
/// `F.binary_cross_entropy_with_logits(logits, targets)`.
///
/// Each element's loss is w [(1 - t) softplus(x) + P t softplus(-x)] (w: weight, P: pos_weight,
/// both 1 without), which is PyTorch's formula evaluated without cancellation: accurate in the
/// tails, and the mathematical limit at x = +-inf.
/// \param logits   a floating matrix of any shape (N x C, or C x N with Layout::SamplesInColumns).
/// \param targets  a floating matrix of the logits' shape; used as given (t = 2 is accepted).
/// \param opts     reduction, weight (class_weight, sample_weight or element_weight),
///                 pos_weight and layout.
/// \return the mean (default: divided by the number of elements) or the sum of the element losses.
/// \throws std::invalid_argument mismatched shapes, or a weight or pos_weight of the wrong size.
template <class X, class T>
typename X::Scalar binary_cross_entropy_with_logits(const Eigen::MatrixBase<X>& logits,
                                                    const Eigen::DenseBase<T>& targets,
                                                    const BCEWithLogitsLossOptions& opts = {}) {
  return detail::elementwise_reduced<detail::BCEWithLogitsKernel>(
      "binary_cross_entropy_with_logits", logits, targets, opts);
}

/// The element losses (`reduction='none'`), into a caller's matrix of the logits' shape.
/// \param logits   a floating matrix of any shape (N x C, or C x N with Layout::SamplesInColumns).
/// \param targets  a floating matrix of the logits' shape; used as given (t = 2 is accepted).
/// \param out      the logits' shape: a resizable Matrix is resized, a Map, Block or Ref must have
///                 the logits' shape (else std::invalid_argument).
/// \param opts     as for binary_cross_entropy_with_logits(); the reduction is not used.
template <class X, class T, class Out>
void binary_cross_entropy_with_logits_per_sample(const Eigen::MatrixBase<X>& logits,
                                                 const Eigen::DenseBase<T>& targets,
                                                 const Eigen::MatrixBase<Out>& out,
                                                 const BCEWithLogitsLossOptions& opts = {}) {
  detail::elementwise_per_element<detail::BCEWithLogitsKernel>(
      "binary_cross_entropy_with_logits_per_sample", logits, targets, out, opts);
}

/// The element losses (`reduction='none'`), returned as a new matrix of the logits' shape and
/// storage order (see the overload with `out`).
template <class X, class T>
detail::PlainMatrix<X> binary_cross_entropy_with_logits_per_sample(
    const Eigen::MatrixBase<X>& logits, const Eigen::DenseBase<T>& targets,
    const BCEWithLogitsLossOptions& opts = {}) {
  detail::PlainMatrix<X> out(logits.rows(), logits.cols());
  binary_cross_entropy_with_logits_per_sample(logits, targets, out, opts);
  return out;
}

/// The gradient of grad_output * binary_cross_entropy_with_logits(logits, targets, opts) with
/// respect to the logits, returned as a new matrix of the logits' shape and storage order: per
/// element w [(1 - t) sigmoid(x) - P t sigmoid(-x)], scaled by the reduction; finite everywhere.
template <class X, class T>
detail::PlainMatrix<X> binary_cross_entropy_with_logits_backward(
    const Eigen::MatrixBase<X>& logits, const Eigen::DenseBase<T>& targets,
    const BCEWithLogitsLossOptions& opts = {}, typename X::Scalar grad_output = 1) {
  return detail::elementwise_backward<detail::BCEWithLogitsKernel>(
      "binary_cross_entropy_with_logits_backward", logits, targets, opts, grad_output);
}

/// The gradient of sum grad_outputs * (the element losses) with respect to the logits, returned as
/// a new matrix of the logits' shape and storage order: the backward of
/// binary_cross_entropy_with_logits_per_sample().
/// \param logits        as for binary_cross_entropy_with_logits().
/// \param targets       as for binary_cross_entropy_with_logits().
/// \param grad_outputs  the logits' shape: one upstream gradient per element loss.
/// \param opts          as for binary_cross_entropy_with_logits(); the reduction is not used.
template <class X, class T, class G>
detail::PlainMatrix<X> binary_cross_entropy_with_logits_per_sample_backward(
    const Eigen::MatrixBase<X>& logits, const Eigen::DenseBase<T>& targets,
    const Eigen::MatrixBase<G>& grad_outputs, const BCEWithLogitsLossOptions& opts = {}) {
  return detail::elementwise_per_element_backward<detail::BCEWithLogitsKernel>(
      "binary_cross_entropy_with_logits_per_sample_backward", logits, targets, grad_outputs, opts);
}

/// The reduced loss, with its gradient written into grad in the same pass:
/// binary_cross_entropy_with_logits() and its backward (grad_output = 1) at once.
/// \param logits   as for binary_cross_entropy_with_logits().
/// \param targets  as for binary_cross_entropy_with_logits().
/// \param grad     the gradient, the logits' shape: a resizable Matrix is resized, a Map, Block or
///                 Ref must have the logits' shape (else std::invalid_argument). It may be logits
///                 itself (bitwise the same loss and gradient; docs/aliasing.md).
/// \param opts     as for binary_cross_entropy_with_logits().
/// \return the reduced loss.
template <class X, class T, class G>
typename X::Scalar binary_cross_entropy_with_logits_forward_backward(
    const Eigen::MatrixBase<X>& logits, const Eigen::DenseBase<T>& targets,
    const Eigen::MatrixBase<G>& grad, const BCEWithLogitsLossOptions& opts = {}) {
  return detail::elementwise_forward_backward<detail::BCEWithLogitsKernel>(
      "binary_cross_entropy_with_logits_forward_backward", logits, targets, grad, opts);
}

/// Binary cross-entropy on logits as an object holding its options, like
/// `torch::nn::BCEWithLogitsLoss`: each member calls the free function of the same name with
/// options().
class BCEWithLogitsLoss {
 public:
  /// A loss with these options (PyTorch's defaults when none are given).
  explicit BCEWithLogitsLoss(BCEWithLogitsLossOptions opts = {}) : opts_(std::move(opts)) {}
  /// The options the loss was built with.
  const BCEWithLogitsLossOptions& options() const { return opts_; }

  /// binary_cross_entropy_with_logits(logits, targets, options()): the reduced loss.
  template <class X, class T>
  typename X::Scalar operator()(const Eigen::MatrixBase<X>& logits,
                                const Eigen::DenseBase<T>& targets) const {
    return binary_cross_entropy_with_logits(logits, targets, opts_);
  }
  /// binary_cross_entropy_with_logits_per_sample(logits, targets, options()): a new matrix of
  /// element losses.
  template <class X, class T>
  detail::PlainMatrix<X> per_sample(const Eigen::MatrixBase<X>& logits,
                                    const Eigen::DenseBase<T>& targets) const {
    return binary_cross_entropy_with_logits_per_sample(logits, targets, opts_);
  }
  /// binary_cross_entropy_with_logits_per_sample(logits, targets, out, options()).
  template <class X, class T, class Out>
  void per_sample(const Eigen::MatrixBase<X>& logits, const Eigen::DenseBase<T>& targets,
                  const Eigen::MatrixBase<Out>& out) const {
    binary_cross_entropy_with_logits_per_sample(logits, targets, out, opts_);
  }
  /// binary_cross_entropy_with_logits_backward(logits, targets, options(), grad_output).
  template <class X, class T>
  detail::PlainMatrix<X> backward(const Eigen::MatrixBase<X>& logits,
                                  const Eigen::DenseBase<T>& targets,
                                  typename X::Scalar grad_output = 1) const {
    return binary_cross_entropy_with_logits_backward(logits, targets, opts_, grad_output);
  }
  /// binary_cross_entropy_with_logits_per_sample_backward(logits, targets, grad_outputs,
  /// options()).
  template <class X, class T, class G>
  detail::PlainMatrix<X> per_sample_backward(const Eigen::MatrixBase<X>& logits,
                                             const Eigen::DenseBase<T>& targets,
                                             const Eigen::MatrixBase<G>& grad_outputs) const {
    return binary_cross_entropy_with_logits_per_sample_backward(logits, targets, grad_outputs,
                                                                opts_);
  }
  /// binary_cross_entropy_with_logits_forward_backward(logits, targets, grad, options()).
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
