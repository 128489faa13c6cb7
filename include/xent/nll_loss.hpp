// xent: the negative log-likelihood loss on log-probabilities (torch's F.nll_loss /
// nn.NLLLoss): loss_n = -w_{y_n} x_{n, y_n}, 0 for ignored samples; its gradient is -w_{y_n} at the
// target entry and 0 elsewhere, whatever the other inputs hold.
#pragma once

#include <Eigen/Core>
#include <cstddef>
#include <type_traits>

#include "detail/checks.hpp"
#include "detail/class_loss.hpp"
#include "detail/class_targets.hpp"
#include "detail/views.hpp"
#include "options.hpp"

namespace xent {
namespace detail {
inline namespace XENT_SIMD_ISA_NAMESPACE {

struct NLLLossKernel {
  template <class X, class Y>
  static double check(const char* fn, const Eigen::MatrixBase<X>& x,
                      const Eigen::DenseBase<Y>& targets, const NLLLossOptions& opts) {
    static_assert(is_index_type<typename Y::Scalar>,
                  "xent::nll_loss: targets must be integer class indices");
    return check_class_targets(fn, targets, samples_of(x.rows(), x.cols(), opts.layout()),
                               classes_of(x.rows(), x.cols(), opts.layout()), opts);
  }

  template <class Rows, class Y, class LossFn, class GradRows, class ScaleFn>
  static void run(const Rows& x, const Y& targets, const NLLLossOptions& opts, LossFn&& loss,
                  GradRows&& grad, ScaleFn&& scale, Eigen::Index begin, Eigen::Index end) {
    using Scalar = typename Rows::Scalar;
    constexpr bool kGrad = !std::is_same<std::decay_t<GradRows>, std::nullptr_t>::value;
    for (Eigen::Index n = begin; n < end; ++n) {
      const Eigen::Index y = class_of(targets, n, opts);
      if constexpr (kGrad) grad.row(n).setZero();
      if (y < 0) {
        loss(n, Scalar(0));
        continue;
      }
      const Scalar w_y = opts.has_weight() ? static_cast<Scalar>(opts.weight()(y)) : Scalar(1);
      loss(n, -w_y * x(n, y));
      if constexpr (kGrad) grad(n, y) = -w_y * scale(n);
    }
  }
};

}  // namespace XENT_SIMD_ISA_NAMESPACE
}  // namespace detail

inline namespace XENT_SIMD_ISA_NAMESPACE {

// Mean (default) or sum of -w_y * logprobs(n, y_n), like F.nll_loss.
template <class X, class Y>
typename X::Scalar nll_loss(const Eigen::MatrixBase<X>& log_probs,
                            const Eigen::DenseBase<Y>& targets, const NLLLossOptions& opts = {}) {
  return detail::reduced_loss<detail::NLLLossKernel>("nll_loss", log_probs, targets, opts);
}

template <class X, class Y, class Out>
void nll_loss_per_sample(const Eigen::MatrixBase<X>& log_probs, const Eigen::DenseBase<Y>& targets,
                         const Eigen::MatrixBase<Out>& out, const NLLLossOptions& opts = {}) {
  detail::per_sample_loss<detail::NLLLossKernel>("nll_loss_per_sample", log_probs, targets, out,
                                                 opts);
}

template <class X, class Y>
detail::PlainVector<X> nll_loss_per_sample(const Eigen::MatrixBase<X>& log_probs,
                                           const Eigen::DenseBase<Y>& targets,
                                           const NLLLossOptions& opts = {}) {
  detail::PlainVector<X> out;
  nll_loss_per_sample(log_probs, targets, out, opts);
  return out;
}

template <class X, class Y>
detail::PlainMatrix<X> nll_loss_backward(const Eigen::MatrixBase<X>& log_probs,
                                         const Eigen::DenseBase<Y>& targets,
                                         const NLLLossOptions& opts = {},
                                         typename X::Scalar grad_output = 1) {
  return detail::loss_backward<detail::NLLLossKernel>("nll_loss_backward", log_probs, targets, opts,
                                                      grad_output);
}

template <class X, class Y, class G>
detail::PlainMatrix<X> nll_loss_per_sample_backward(const Eigen::MatrixBase<X>& log_probs,
                                                    const Eigen::DenseBase<Y>& targets,
                                                    const Eigen::MatrixBase<G>& grad_outputs,
                                                    const NLLLossOptions& opts = {}) {
  return detail::per_sample_loss_backward<detail::NLLLossKernel>(
      "nll_loss_per_sample_backward", log_probs, targets, grad_outputs, opts);
}

template <class X, class Y, class G>
typename X::Scalar nll_loss_forward_backward(const Eigen::MatrixBase<X>& log_probs,
                                             const Eigen::DenseBase<Y>& targets,
                                             const Eigen::MatrixBase<G>& grad,
                                             const NLLLossOptions& opts = {}) {
  return detail::loss_forward_backward<detail::NLLLossKernel>("nll_loss_forward_backward",
                                                              log_probs, targets, grad, opts);
}

// The loss as an object, like torch::nn::NLLLoss.
class NLLLoss {
 public:
  explicit NLLLoss(NLLLossOptions opts = {}) : opts_(std::move(opts)) {}
  const NLLLossOptions& options() const { return opts_; }

  template <class X, class Y>
  typename X::Scalar operator()(const Eigen::MatrixBase<X>& log_probs,
                                const Eigen::DenseBase<Y>& targets) const {
    return nll_loss(log_probs, targets, opts_);
  }
  template <class X, class Y>
  detail::PlainVector<X> per_sample(const Eigen::MatrixBase<X>& log_probs,
                                    const Eigen::DenseBase<Y>& targets) const {
    return nll_loss_per_sample(log_probs, targets, opts_);
  }
  template <class X, class Y, class Out>
  void per_sample(const Eigen::MatrixBase<X>& log_probs, const Eigen::DenseBase<Y>& targets,
                  const Eigen::MatrixBase<Out>& out) const {
    nll_loss_per_sample(log_probs, targets, out, opts_);
  }
  template <class X, class Y>
  detail::PlainMatrix<X> backward(const Eigen::MatrixBase<X>& log_probs,
                                  const Eigen::DenseBase<Y>& targets,
                                  typename X::Scalar grad_output = 1) const {
    return nll_loss_backward(log_probs, targets, opts_, grad_output);
  }
  template <class X, class Y, class G>
  detail::PlainMatrix<X> per_sample_backward(const Eigen::MatrixBase<X>& log_probs,
                                             const Eigen::DenseBase<Y>& targets,
                                             const Eigen::MatrixBase<G>& grad_outputs) const {
    return nll_loss_per_sample_backward(log_probs, targets, grad_outputs, opts_);
  }
  template <class X, class Y, class G>
  typename X::Scalar forward_backward(const Eigen::MatrixBase<X>& log_probs,
                                      const Eigen::DenseBase<Y>& targets,
                                      const Eigen::MatrixBase<G>& grad) const {
    return nll_loss_forward_backward(log_probs, targets, grad, opts_);
  }

 private:
  NLLLossOptions opts_;
};

}  // namespace XENT_SIMD_ISA_NAMESPACE
}  // namespace xent
