// xent: the negative log-likelihood loss on log-probabilities (torch's F.nll_loss /
// nn.NLLLoss): loss_n = -w_{y_n} x_{n, y_n}, 0 for ignored samples; its gradient is -w_{y_n} at the
// target entry and 0 elsewhere, whatever the other inputs hold.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string>
#include <type_traits>

#include "detail/checks.hpp"
#include "detail/class_checks.hpp"
#include "detail/class_loss.hpp"
#include "detail/class_targets.hpp"
#include "detail/parallel.hpp"
#include "detail/views.hpp"
#include "options.hpp"

namespace xent {
namespace detail {
inline namespace XENT_SIMD_ISA_NAMESPACE {

struct NLLLossKernel {
  template <class Rows, class Y, class LossFn, class GradRows, class ScaleFn>
  static void run(const Rows& x, const Y& targets, const NLLLossOptions& opts, LossFn&& loss,
                  GradRows&& grad, ScaleFn&& scale, Eigen::Index begin, Eigen::Index end) {
    using Scalar = typename Rows::Scalar;
    constexpr bool kGrad = !std::is_same<std::decay_t<GradRows>, std::nullptr_t>::value;
    for (Eigen::Index n = begin; n < end; ++n) {
      const Eigen::Index y = class_of(targets, n, opts);
      if constexpr (kGrad) {
        if (grad.cols() > 0) grad.row(n).setZero();  // (row() of an N x 0 matrix is UB in Eigen)
      }
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

// The gradient of NLL is 0 but at one entry per sample, whatever the input holds: a zero fill of
// the whole gradient (a memset when its memory is one contiguous array, in either storage order,
// its chunks shared among the threads) and then a scatter of -w_y * scale(n).
template <class G>
void zero_fill(G& grad) {
  using Scalar = typename G::Scalar;
  if constexpr ((int(G::Flags) & Eigen::DirectAccessBit) != 0) {
    const Eigen::Index size = grad.size();
    if (grad.innerStride() == 1 &&
        (grad.outerSize() <= 1 || grad.outerStride() == grad.innerSize())) {
      // Chunks of 2^20 entries: a big gradient is cleared by a few large memsets, which the C
      // library does with streaming stores (the old contents are not read). Zeros are the same
      // bits whoever writes them, so the chunks are simply shared among the threads.
      constexpr Eigen::Index kChunk = Eigen::Index(1) << 20;
      const Eigen::Index chunks = (size + kChunk - 1) / kChunk;
      Scalar* data = grad.data();
      parallel_for(chunks, threads_for(chunks, kChunk), [&](Eigen::Index k) {
        const Eigen::Index first = k * kChunk, last = std::min(size, first + kChunk);
        // All-zero bits are +0.0 in IEEE float and double.
        std::memset(static_cast<void*>(data + first), 0,
                    static_cast<std::size_t>(last - first) * sizeof(Scalar));
      });
      return;
    }
  }
  grad.setZero();
}

// Sums the losses -w_y x(n, y) of the samples into sums (if not nullptr), and, unless grad is
// nullptr, zero-fills grad and writes -w_y * scale(n) at each sample's target.
template <class X, class Y, class G, class ScaleFn>
void nll_gather_scatter(const Eigen::MatrixBase<X>& x, const Eigen::DenseBase<Y>& targets,
                        const NLLLossOptions& opts, BlockSums<typename X::Scalar>* sums, G* grad,
                        ScaleFn&& scale) {
  using Scalar = typename X::Scalar;
  constexpr bool kGrad = !std::is_same<G, std::nullptr_t>::value;
  const bool rows = opts.layout() == Layout::SamplesInRows;
  const Eigen::Index samples = samples_of(x.rows(), x.cols(), opts.layout());
  const Eigen::Index classes = classes_of(x.rows(), x.cols(), opts.layout());
  const InputRef<X> in(x.derived());
  const auto w = opts.template weight_as<Scalar>();
  const Blocks blocks(samples);
  const bool weighted = opts.has_weight();
  constexpr bool kDirect = [] {
    if constexpr (kGrad) {
      return (int(G::Flags) & Eigen::DirectAccessBit) != 0;
    } else {
      return false;
    }
  }();
  // Strides and pointers in locals: through the captured views the compiler reloads them after
  // every store into the gradient (it cannot prove they do not alias), a third of the cost at
  // small C. The block's sum goes into a local accumulator and is handed over once: the same
  // additions in the same order, so the same bits.
  const Scalar* xd = in.data();
  const Eigen::Index x_rs = in.rowStride(), x_cs = in.colStride();
  // When each sample's gradient row is contiguous and a block of them is small, every block is
  // zeroed right before its scatter (the scatter's stores then hit L1, not lines the fill of the
  // whole gradient pushed out to L2: measured 1.4x at 8192 x 10 float); otherwise the whole
  // gradient is filled first.
  bool block_fill = false;
  if constexpr (kDirect) {
    const Eigen::Index gs = rows ? grad->rowStride() : grad->colStride();
    const Eigen::Index gc = rows ? grad->colStride() : grad->rowStride();
    const Eigen::Index block_bytes =
        (blocks.end(0) - blocks.begin(0)) * classes * static_cast<Eigen::Index>(sizeof(Scalar));
    // classes > 0: no memset of an empty gradient's null data (UB, found by fuzz_class_index).
    block_fill = classes > 0 && gc == 1 && gs == classes && block_bytes <= (Eigen::Index(32) << 10);
  }
  if constexpr (kGrad) {
    if (!block_fill) zero_fill(*grad);
  }
  const auto block = [&](auto is_rows, Eigen::Index begin, Eigen::Index end) {
    const Eigen::Index xs = is_rows ? x_rs : x_cs, xc = is_rows ? x_cs : x_rs;
    const Scalar* wd = weighted ? w.data() : nullptr;
    Scalar* gd = nullptr;
    Eigen::Index gs = 0, gc = 0;
    if constexpr (kDirect) {
      gd = grad->data();
      gs = is_rows ? grad->rowStride() : grad->colStride();
      gc = is_rows ? grad->colStride() : grad->rowStride();
      if (block_fill) {
        // All-zero bits are +0.0 in IEEE float and double.
        std::memset(static_cast<void*>(gd + begin * gs), 0,
                    static_cast<std::size_t>((end - begin) * gs) * sizeof(Scalar));
      }
    }
    // Sample n's loss, and its gradient entry.
    const auto one = [&](Eigen::Index n) -> Scalar {
      const Eigen::Index y = class_of(targets.derived(), n, opts);
      if (y < 0) return Scalar(0);
      const Scalar w_y = wd ? wd[y] : Scalar(1);
      if constexpr (kGrad) {
        if constexpr (kDirect) {
          gd[n * gs + y * gc] = -w_y * scale(n);
        } else {
          (is_rows ? grad->coeffRef(n, y) : grad->coeffRef(y, n)) = -w_y * scale(n);
        }
      }
      return -w_y * xd[n * xs + y * xc];
    };
    // Two accumulators, even and odd samples (one add per sample was the loop's latency bound),
    // summed at the end: a fixed order within the block, whatever the threads.
    Accumulator<Scalar> even, odd;
    Eigen::Index n = begin;
    for (; n + 2 <= end; n += 2) {
      even.add(one(n));
      odd.add(one(n + 1));
    }
    if (n < end) even.add(one(n));
    if (sums != nullptr && begin < end) {
      Accumulator<Scalar> block_sum;
      block_sum.add(even.value());
      block_sum.add(odd.value());
      sums->add(begin, block_sum.value());
    }
  };
  for_each_block(blocks, samples, 1, [&](Eigen::Index begin, Eigen::Index end) {
    if (rows) {
      block(std::true_type{}, begin, end);
    } else {
      block(std::false_type{}, begin, end);
    }
  });
}

template <class X, class Y, class ScaleFn>
PlainMatrix<X> nll_gradient(const Eigen::MatrixBase<X>& x, const Eigen::DenseBase<Y>& targets,
                            const NLLLossOptions& opts, ScaleFn&& scale) {
  PlainMatrix<X> grad(x.rows(), x.cols());
  nll_gather_scatter(x, targets, opts, nullptr, &grad, scale);
  return grad;
}

}  // namespace XENT_SIMD_ISA_NAMESPACE
}  // namespace detail

inline namespace XENT_SIMD_ISA_NAMESPACE {

/// The negative log-likelihood loss, reduced to one value, like `F.nll_loss(log_probs, targets)`.
///
/// Sample n's loss is -w_{y_n} log_probs(n, y_n), 0 when its target equals ignore_index.
/// \param log_probs  log-probabilities (e.g. log_softmax's output), N x C (or C x N with
///                   Layout::SamplesInColumns), float or double.
/// \param targets    an integer vector of N class indices (any integral type).
/// \param opts       reduction, class weight, ignore_index and layout.
/// \return the mean (default: divided by the summed weights of the samples not ignored; NaN when
///         every sample is ignored or N = 0) or the sum.
/// \throws std::out_of_range a class index outside [0, C) that is not ignore_index.
/// \throws std::invalid_argument mismatched shapes or a weight of the wrong length.
template <class X, class Y>
typename X::Scalar nll_loss(const Eigen::MatrixBase<X>& log_probs,
                            const Eigen::DenseBase<Y>& targets, const NLLLossOptions& opts = {}) {
  return detail::reduced_loss<detail::NLLLossKernel>("nll_loss", log_probs, targets, opts);
}

/// The per-sample NLL loss (`reduction='none'`), into a caller's vector of N entries: 0 for an
/// ignored sample.
/// \param log_probs  log-probabilities (e.g. log_softmax's output), N x C (or C x N with
///                   Layout::SamplesInColumns), float or double.
/// \param targets    an integer vector of N class indices (any integral type).
/// \param out        N entries: a resizable vector (column or row) is resized, a Map, Block or Ref
///                   must have N entries (else std::invalid_argument).
/// \param opts       as for nll_loss(); the reduction is not used.
template <class X, class Y, class Out>
void nll_loss_per_sample(const Eigen::MatrixBase<X>& log_probs, const Eigen::DenseBase<Y>& targets,
                         const Eigen::MatrixBase<Out>& out, const NLLLossOptions& opts = {}) {
  detail::per_sample_loss<detail::NLLLossKernel>("nll_loss_per_sample", log_probs, targets, out,
                                                 opts);
}

/// The per-sample NLL loss (`reduction='none'`), returned as a new column vector of N entries
/// (see the overload with `out`).
template <class X, class Y>
detail::PlainVector<X> nll_loss_per_sample(const Eigen::MatrixBase<X>& log_probs,
                                           const Eigen::DenseBase<Y>& targets,
                                           const NLLLossOptions& opts = {}) {
  detail::PlainVector<X> out;
  nll_loss_per_sample(log_probs, targets, out, opts);
  return out;
}

/// The gradient of grad_output * nll_loss(log_probs, targets, opts) with respect to log_probs,
/// returned as a new matrix of log_probs' shape and storage order: -w_y (scaled by the reduction)
/// at each sample's target entry, 0 everywhere else (ignored samples: a row of 0).
template <class X, class Y>
detail::PlainMatrix<X> nll_loss_backward(const Eigen::MatrixBase<X>& log_probs,
                                         const Eigen::DenseBase<Y>& targets,
                                         const NLLLossOptions& opts = {},
                                         typename X::Scalar grad_output = 1) {
  using Scalar = typename X::Scalar;
  detail::assert_public_scalar<Scalar>();
  const double denominator =
      detail::check_class_loss("nll_loss_backward", log_probs, targets, opts);
  const Scalar scale = detail::reduction_scale<Scalar>(opts.reduction(), grad_output, denominator);
  return detail::nll_gradient(log_probs, targets, opts, [&](Eigen::Index) { return scale; });
}

/// The gradient of sum_n grad_outputs(n) * loss_n (the per-sample losses) with respect to
/// log_probs, returned as a new matrix of log_probs' shape and storage order: the backward of
/// nll_loss_per_sample().
/// \param log_probs     as for nll_loss().
/// \param targets       as for nll_loss().
/// \param grad_outputs  a vector of N upstream gradients, one per sample.
/// \param opts          as for nll_loss(); the reduction is not used.
template <class X, class Y, class G>
detail::PlainMatrix<X> nll_loss_per_sample_backward(const Eigen::MatrixBase<X>& log_probs,
                                                    const Eigen::DenseBase<Y>& targets,
                                                    const Eigen::MatrixBase<G>& grad_outputs,
                                                    const NLLLossOptions& opts = {}) {
  using Scalar = typename X::Scalar;
  const char* fn = "nll_loss_per_sample_backward";
  detail::assert_public_scalar<Scalar>();
  detail::check_class_loss(fn, log_probs, targets, opts);
  const Eigen::Index samples =
      detail::samples_of(log_probs.rows(), log_probs.cols(), opts.layout());
  if ((grad_outputs.rows() != 1 && grad_outputs.cols() != 1) || grad_outputs.size() != samples) {
    detail::fail(fn, "grad_outputs has shape " +
                         detail::shape_text(grad_outputs.rows(), grad_outputs.cols()) +
                         ", expected a vector of " + std::to_string(samples) +
                         " entries (one per sample)");
  }
  return detail::nll_gradient(log_probs, targets, opts, [&](Eigen::Index n) {
    return static_cast<Scalar>(grad_outputs.derived().coeff(n));
  });
}

/// The reduced loss, with its gradient written into grad: nll_loss() and nll_loss_backward()
/// (grad_output = 1) at once, as a zero fill of grad plus one entry per sample.
/// \param log_probs  as for nll_loss().
/// \param targets    as for nll_loss().
/// \param grad       the gradient, log_probs' shape and scalar type: a resizable Matrix is
///                   resized, a Map, Block or Ref must have log_probs' shape (else
///                   std::invalid_argument). It must not share memory with log_probs: grad is
///                   zero-filled before the losses are read (docs/aliasing.md).
/// \param opts       as for nll_loss().
/// \return the reduced loss, as nll_loss() returns it.
template <class X, class Y, class G>
typename X::Scalar nll_loss_forward_backward(const Eigen::MatrixBase<X>& log_probs,
                                             const Eigen::DenseBase<Y>& targets,
                                             const Eigen::MatrixBase<G>& grad,
                                             const NLLLossOptions& opts = {}) {
  using Scalar = typename X::Scalar;
  const char* fn = "nll_loss_forward_backward";
  detail::assert_public_scalar<Scalar>();
  static_assert(std::is_same<typename G::Scalar, Scalar>::value,
                "xent: grad must have the logits' scalar type");
  const double denominator = detail::check_class_loss(fn, log_probs, targets, opts);
  auto& result = const_cast<Eigen::MatrixBase<G>&>(grad);
  detail::prepare_output(fn, "grad", result, log_probs.rows(), log_probs.cols());
  const Scalar scale = detail::reduction_scale<Scalar>(opts.reduction(), 1.0, denominator);
  const detail::Blocks blocks(
      detail::samples_of(log_probs.rows(), log_probs.cols(), opts.layout()));
  detail::BlockSums<Scalar> sums(blocks);
  detail::nll_gather_scatter(log_probs, targets, opts, &sums, &result.derived(),
                             [&](Eigen::Index) { return scale; });
  return detail::reduce(sums.total(), opts.reduction(), denominator);
}

/// The NLL loss as an object holding its options, like `torch::nn::NLLLoss`: each member calls
/// the free function of the same name with options().
class NLLLoss {
 public:
  /// A loss with these options (PyTorch's defaults when none are given).
  explicit NLLLoss(NLLLossOptions opts = {}) : opts_(std::move(opts)) {}
  /// The options the loss was built with.
  const NLLLossOptions& options() const { return opts_; }

  /// nll_loss(log_probs, targets, options()): the reduced loss.
  template <class X, class Y>
  typename X::Scalar operator()(const Eigen::MatrixBase<X>& log_probs,
                                const Eigen::DenseBase<Y>& targets) const {
    return nll_loss(log_probs, targets, opts_);
  }
  /// nll_loss_per_sample(log_probs, targets, options()): a new vector of N losses.
  template <class X, class Y>
  detail::PlainVector<X> per_sample(const Eigen::MatrixBase<X>& log_probs,
                                    const Eigen::DenseBase<Y>& targets) const {
    return nll_loss_per_sample(log_probs, targets, opts_);
  }
  /// nll_loss_per_sample(log_probs, targets, out, options()): the N losses into out.
  template <class X, class Y, class Out>
  void per_sample(const Eigen::MatrixBase<X>& log_probs, const Eigen::DenseBase<Y>& targets,
                  const Eigen::MatrixBase<Out>& out) const {
    nll_loss_per_sample(log_probs, targets, out, opts_);
  }
  /// nll_loss_backward(log_probs, targets, options(), grad_output): the gradient.
  template <class X, class Y>
  detail::PlainMatrix<X> backward(const Eigen::MatrixBase<X>& log_probs,
                                  const Eigen::DenseBase<Y>& targets,
                                  typename X::Scalar grad_output = 1) const {
    return nll_loss_backward(log_probs, targets, opts_, grad_output);
  }
  /// nll_loss_per_sample_backward(log_probs, targets, grad_outputs, options()).
  template <class X, class Y, class G>
  detail::PlainMatrix<X> per_sample_backward(const Eigen::MatrixBase<X>& log_probs,
                                             const Eigen::DenseBase<Y>& targets,
                                             const Eigen::MatrixBase<G>& grad_outputs) const {
    return nll_loss_per_sample_backward(log_probs, targets, grad_outputs, opts_);
  }
  /// nll_loss_forward_backward(log_probs, targets, grad, options()): the reduced loss, its
  /// gradient into grad.
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
