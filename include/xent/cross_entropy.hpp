// xent: cross-entropy on logits, with class-index or class-probability targets (torch's
// F.cross_entropy / nn.CrossEntropyLoss), its gradient and the fused forward+backward.
//
// Closed forms, per sample, with m = max x, s = sum_c exp(x_c - m), p = softmax(x):
//   index targets:       loss = (1-e) w_y (-log p_y) + (e/C) sum_c w_c (-log p_c)
//                        grad = S p - q,  q_c = (1-e) w_y [c=y] + (e/C) w_c,  S = sum_c q_c
//   probability targets: t' = (1-e) t + e/C,  loss = -sum_c w_c t'_c log p_c,  grad = p sum_c w_c
//   t'_c - w t'
// Reduction: Sum adds the per-sample losses; Mean divides by the summed weights of the non-ignored
// targets (index targets) or by N (probability targets), exactly as PyTorch.
#pragma once

#include <Eigen/Core>
#include <cmath>
#include <cstddef>
#include <limits>
#include <type_traits>

#include "detail/checks.hpp"
#include "detail/class_checks.hpp"
#include "detail/class_loss.hpp"
#include "detail/class_targets.hpp"
#include "detail/dispatch.hpp"
#include "detail/lane_kernels.hpp"
#include "detail/prob_row_kernels.hpp"
#include "detail/row_stats.hpp"
#include "detail/views.hpp"
#include "options.hpp"

namespace xent {
namespace detail {
inline namespace XENT_SIMD_ISA_NAMESPACE {

struct CrossEntropyKernel {
  template <class Rows, class Y, class LossFn, class GradRows, class ScaleFn>
  static void run(const Rows& x, const Y& targets, const CrossEntropyOptions& opts, LossFn&& loss,
                  GradRows&& grad, ScaleFn&& scale, Eigen::Index begin, Eigen::Index end) {
    if constexpr (is_index_type<typename Y::Scalar>) {
      run_index(x, targets, opts, loss, grad, scale, begin, end);
    } else {
      const InputRef<Y> probs(targets);
      with_samples_in_rows(probs, opts.layout(), [&](const auto& prob_rows) {
        run_probabilities(x, prob_rows, opts, loss, grad, scale, begin, end);
      });
    }
  }

  template <class Rows, class Y, class LossFn, class GradRows, class ScaleFn>
  static void run_index(const Rows& x, const Y& targets, const CrossEntropyOptions& opts,
                        LossFn& loss, GradRows& grad, ScaleFn& scale, Eigen::Index begin,
                        Eigen::Index end) {
    using Scalar = typename Rows::Scalar;
    constexpr bool kGrad = !std::is_same<std::decay_t<GradRows>, std::nullptr_t>::value;
    const Eigen::Index classes = x.cols();
    const bool weighted = opts.has_weight();
    const bool smoothing = opts.label_smoothing() > 0;
    const Scalar eps = static_cast<Scalar>(opts.label_smoothing());
    const Scalar eps_per_class = smoothing ? eps / static_cast<Scalar>(classes) : Scalar(0);
    const Scalar weight_sum =
        weighted ? static_cast<Scalar>(opts.weight().sum()) : static_cast<Scalar>(classes);
    const auto w = opts.template weight_as<Scalar>().transpose();
    // Contiguous logits and gradient rows (or none) take the fused vectorized kernel.
    constexpr bool kFused = has_contiguous_rows<const Rows>() &&
                            (!kGrad || has_contiguous_rows<std::decay_t<GradRows>>());
    // Samples adjacent in memory (a column-major N x C matrix) are vectorized a lane per sample;
    // so are contiguous rows with few classes, transposed a strip at a time into stack scratch.
    if constexpr (has_contiguous_columns<const Rows>() &&
                  (!kGrad || has_contiguous_columns<std::decay_t<GradRows>>())) {
      if (classes > 0 && classes < (Eigen::Index(1) << 24)) {  // classes compared as floats
        begin = run_index_lanes<false>(x, targets, opts, loss, grad, scale, begin, end);
      }
    } else if constexpr (kFused) {
      if (classes > 0 &&
          classes <= (kGrad ? simd::kLaneSmallClassesFused : simd::kLaneSmallClasses)) {
        begin = run_index_lanes<true>(x, targets, opts, loss, grad, scale, begin, end);
      } else if (classes > 0) {
        run_index_rows(x, targets, opts, loss, grad, scale, begin, end);
        return;
      }
    }

    // Here: logits in contiguous rows with a strided gradient, or logits rows with a stride (and
    // classes = 0, where every sample is ignored).
    PendingLosses<Scalar> losses({smoothing, eps, eps_per_class, weight_sum});
    for (Eigen::Index n = begin; n < end; ++n) {
      const Eigen::Index y = class_of(targets, n, opts);
      if (y < 0) {  // ignored: contributes 0 and its gradient row is exactly 0, whatever its logits
        losses.add_ignored(n, loss);
        if constexpr (kGrad) {
          if (classes > 0) grad.row(n).setZero();  // (row() of an N x 0 matrix is UB in Eigen)
        }
        continue;
      }
      const auto row = x.row(n);
      const Scalar x_y = row(y);
      TargetRowStats<Scalar> st;
      Scalar shifted_sum = 0;  // sum_c w_c (x_c - m), for smoothing
      if constexpr (has_contiguous_rows<const Rows>()) {
        simd::RowScan<Scalar> scan;
        Scalar* const exps = nullptr;  // no gradient row to scan into (strided or none)
        const Scalar* wp = weighted ? opts.template weight_as<Scalar>().data() : nullptr;
        // Two passes prefetch the next row while the exps run.
        const Scalar* next = n + 1 < end ? x.row(n + 1).data() : nullptr;
        if (smoothing) {
          simd::scan_row<true>(row.data(), classes, y, exps, wp, scan,
                               static_cast<Scalar*>(nullptr), next);
        } else {
          simd::scan_row<false>(row.data(), classes, y, exps, wp, scan,
                                static_cast<Scalar*>(nullptr), next);
        }
        st.max = scan.max;
        st.sum = scan.sum;
        st.others = scan.others;
        st.target_exp = scan.target_exp;
        shifted_sum = scan.shifted;
      } else {
        st = target_row_stats(row, y);
        if (smoothing) {  // compensated, as the vector kernels' (simd::CompensatedTotal)
          simd::CompensatedScalar<Scalar> sum;
          for (Eigen::Index c = 0; c < classes; ++c) {
            const Scalar d = row(c) - st.max;
            sum.add(weighted ? simd::rounded(w(c) * d) : d);
          }
          shifted_sum = sum.total();
        }
      }
      const Scalar w_y = weighted ? w(y) : Scalar(1);
      losses.add(n, st.max, st.others, st.target_exp, x_y, w_y, shifted_sum, loss);
      if constexpr (kGrad) {
        // Without smoothing the other classes' weights must not enter at all (a NaN weight on an
        // unused class leaves PyTorch's gradient finite).
        const Scalar g = scale(n);
        const Scalar total_q = (1 - eps) * w_y + eps_per_class * weight_sum;  // S = sum_c q_c
        const Scalar target_grad = simd::target_gradient(
            st.others, st.target_exp, w_y, g, {smoothing, eps, eps_per_class, weight_sum});
        auto out = grad.row(n);
        if (!smoothing) {
          out = (g * w_y / st.sum) * exp_shifted(row.array(), st.max);
          out(y) = target_grad;
          continue;
        }
        out = (g * total_q / st.sum) * exp_shifted(row.array(), st.max);
        if (weighted) {
          out.array() -= (g * eps_per_class) * w.array();
        } else {
          out.array() -= g * eps_per_class;
        }
        out(y) = target_grad;
      }
    }
    losses.flush(loss);
  }

  // Contiguous logits rows, and contiguous gradient rows or none: the fixed-signature kernel
  // (detail/cross_entropy_rows.hpp) of the tier dispatch.hpp picks, a chunk of samples at a time.
  template <class Rows, class Y, class LossFn, class GradRows, class ScaleFn>
  static void run_index_rows(const Rows& x, const Y& targets, const CrossEntropyOptions& opts,
                             LossFn& loss, GradRows& grad, ScaleFn& scale, Eigen::Index begin,
                             Eigen::Index end) {
    using Scalar = typename Rows::Scalar;
    constexpr bool kGrad = !std::is_same<std::decay_t<GradRows>, std::nullptr_t>::value;
    constexpr Eigen::Index kChunk = 256;
    const Eigen::Index classes = x.cols();
    CrossEntropyRowsParams<Scalar> p;
    p.smoothing = opts.label_smoothing() > 0;
    p.eps = static_cast<Scalar>(opts.label_smoothing());
    p.eps_per_class = p.smoothing ? p.eps / static_cast<Scalar>(classes) : Scalar(0);
    p.weight_sum =
        opts.has_weight() ? static_cast<Scalar>(opts.weight().sum()) : static_cast<Scalar>(classes);
    p.w = opts.has_weight() ? opts.template weight_as<Scalar>().data() : nullptr;
    Eigen::Index cls[kChunk];
    alignas(64) Scalar losses[kChunk], scales[kChunk];
    for (Eigen::Index n0 = begin; n0 < end; n0 += kChunk) {
      const Eigen::Index count = std::min(kChunk, end - n0);
      for (Eigen::Index i = 0; i < count; ++i) cls[i] = class_of(targets, n0 + i, opts);
      Scalar* g = nullptr;
      Eigen::Index g_ld = 0;
      const Scalar* g_scales = nullptr;  // read only with a gradient
      if constexpr (kGrad) {
        g = grad.row(n0).data();
        g_ld = grad.rowStride();
        for (Eigen::Index i = 0; i < count; ++i) scales[i] = scale(n0 + i);
        g_scales = scales;
      }
      const Scalar* next = n0 + count < end ? x.row(n0 + count).data() : nullptr;
      dispatch_cross_entropy_rows(x.row(n0).data(), x.rowStride(), classes, count, cls, p, losses,
                                  g, g_ld, g_scales, next);
      for (Eigen::Index i = 0; i < count; ++i) loss(n0 + i, losses[i]);
    }
  }

  // A lane per sample (detail/lane_kernels.hpp) over the samples [begin, end): strips of the
  // storage itself, or (kTransposed) of a lane-major copy of contiguous rows. Returns end.
  template <bool kTransposed, class Rows, class Y, class LossFn, class GradRows, class ScaleFn>
  static Eigen::Index run_index_lanes(const Rows& x, const Y& targets,
                                      const CrossEntropyOptions& opts, LossFn& loss, GradRows& grad,
                                      ScaleFn& scale, Eigen::Index begin, Eigen::Index end) {
    using Scalar = typename Rows::Scalar;
    constexpr Eigen::Index W = simd::Vec<Scalar>::width;
    const Eigen::Index classes = x.cols();
    simd::CrossEntropyLaneParams<Scalar> p;
    p.weighted = opts.has_weight();
    p.smoothing = opts.label_smoothing() > 0;
    p.eps = static_cast<Scalar>(opts.label_smoothing());
    p.eps_per_class = p.smoothing ? p.eps / static_cast<Scalar>(classes) : Scalar(0);
    p.weight_sum =
        p.weighted ? static_cast<Scalar>(opts.weight().sum()) : static_cast<Scalar>(classes);
    p.w = p.weighted ? opts.template weight_as<Scalar>().data() : nullptr;
    simd::LaneState<Scalar> st;
    alignas(64) Scalar cls[simd::kLaneStripMax], losses[simd::kLaneStripMax],
        scales[simd::kLaneStripMax];
    simd::for_each_lane_strip<kTransposed, Scalar>(
        x, nullptr, grad, begin, end,
        [&](Eigen::Index n0, Eigen::Index count, auto xs, auto, auto gs) {
          for (Eigen::Index i = 0; i < (count + W - 1) / W * W; ++i) {  // -1: ignored / past end
            cls[i] = i < count ? static_cast<Scalar>(class_of(targets, n0 + i, opts)) : Scalar(-1);
          }
          if (gs.data) {
            for (Eigen::Index i = 0; i < count; ++i) scales[i] = scale(n0 + i);
          }
          // (scales is read only with a gradient: null otherwise, never uninitialized memory)
          simd::cross_entropy_lanes(xs.data, xs.ld, classes, count, cls, p, losses, gs.data, gs.ld,
                                    gs.data ? scales : nullptr, st);
          for (Eigen::Index i = 0; i < count; ++i) loss(n0 + i, losses[i]);
        });
    return end;
  }

  // A lane per sample over strips of samples: read in place when samples are adjacent in memory
  // (kTranspose false), transposed by register tiles from contiguous rows otherwise.
  template <bool kTranspose, class Rows, class ProbRows, class LossFn, class GradRows,
            class ScaleFn>
  static void probability_lanes(const Rows& x, const ProbRows& probs,
                                const CrossEntropyOptions& opts, LossFn& loss, GradRows& grad,
                                ScaleFn& scale, Eigen::Index begin, Eigen::Index end) {
    using Scalar = typename Rows::Scalar;
    const Eigen::Index classes = x.cols();
    simd::CrossEntropyLaneParams<Scalar> p{};
    p.eps = static_cast<Scalar>(opts.label_smoothing());
    p.eps_per_class = p.eps / static_cast<Scalar>(classes);
    p.w = opts.has_weight() ? opts.template weight_as<Scalar>().data() : nullptr;
    simd::LaneState<Scalar> st;
    alignas(64) Scalar losses[simd::kLaneStripMax], scales[simd::kLaneStripMax];
    simd::for_each_lane_strip<kTranspose, Scalar>(
        x, probs, grad, begin, end,
        [&](Eigen::Index n0, Eigen::Index count, auto xs, auto ts, auto gs) {
          if (gs.data) {
            for (Eigen::Index i = 0; i < count; ++i) scales[i] = scale(n0 + i);
          }
          simd::cross_entropy_probability_lanes(xs.data, xs.ld, ts.data, ts.ld, classes, count, p,
                                                losses, gs.data, gs.ld, gs.data ? scales : nullptr,
                                                st);
          for (Eigen::Index i = 0; i < count; ++i) loss(n0 + i, losses[i]);
        });
  }

  template <class Rows, class ProbRows, class LossFn, class GradRows, class ScaleFn>
  static void run_probabilities(const Rows& x, const ProbRows& probs,
                                const CrossEntropyOptions& opts, LossFn& loss, GradRows& grad,
                                ScaleFn& scale, Eigen::Index begin, Eigen::Index end) {
    using Scalar = typename Rows::Scalar;
    constexpr bool kGrad = !std::is_same<std::decay_t<GradRows>, std::nullptr_t>::value;
    const Eigen::Index classes = x.cols();
    const bool weighted = opts.has_weight();
    const Scalar eps = static_cast<Scalar>(opts.label_smoothing());
    const Scalar eps_per_class = classes > 0 ? eps / static_cast<Scalar>(classes) : Scalar(0);
    // Samples adjacent in memory (logits, targets and gradient) take a lane per sample.
    if constexpr (has_contiguous_columns<const Rows>() &&
                  has_contiguous_columns<const ProbRows>() &&
                  std::is_same<typename ProbRows::Scalar, Scalar>::value &&
                  (!kGrad || has_contiguous_columns<std::decay_t<GradRows>>())) {
      if (classes > 0) {
        probability_lanes<false>(x, probs, opts, loss, grad, scale, begin, end);
        return;
      }
    }
    const auto w = opts.weight().template cast<Scalar>().transpose();
    // Contiguous logits, targets (of the logits' type) and gradient rows: the vectorized path.
    constexpr bool kVector = has_contiguous_rows<const Rows>() &&
                             has_contiguous_rows<const ProbRows>() &&
                             std::is_same<typename ProbRows::Scalar, Scalar>::value &&
                             (!kGrad || has_contiguous_rows<std::decay_t<GradRows>>());
    // Few classes: a lane per sample after a transpose of strips into stack scratch, as for index
    // targets (measured in lane_kernels.hpp: 3.5x at 8192 x 10, float, AVX-512).
    if constexpr (kVector) {
      if (classes > 0 && classes <= simd::kLaneSmallClassesProbabilities) {
        probability_lanes<true>(x, probs, opts, loss, grad, scale, begin, end);
        return;
      }
    }

    for (Eigen::Index n = begin; n < end; ++n) {
      if (classes == 0) {  // an empty sum
        loss(n, Scalar(0));
        continue;
      }
      if constexpr (kVector) {
        const simd::ProbTargets<Scalar> p{probs.row(n).data(),
                                          weighted ? opts.weight_as<Scalar>().data() : nullptr,
                                          1 - eps, eps_per_class};
        Scalar* exps = nullptr;  // the fused path stores exp(x - m) in the gradient row
        if constexpr (kGrad) exps = grad.row(n).data();
        simd::RowScan<Scalar> scan;
        Scalar total, total_low;
        simd::scan_prob_row(x.row(n).data(), classes, p, exps, scan, total, total_low,
                            n + 1 < end ? x.row(n + 1).data() : nullptr);
        // Q log s - shifted in double for float rows, as the index path's (one rounding to float
        // at the end: in float, log's, the product's and the difference's roundings reached 2 ulp
        // at C = 262 144, tools/accuracy cell 71).
        using Wide = typename simd::RowScan<Scalar>::Wide;
        const Wide log_sum = std::log(static_cast<Wide>(scan.sum));
        loss(n, static_cast<Scalar>(simd::rounded(static_cast<Wide>(total) * log_sum) +
                                    (simd::rounded(static_cast<Wide>(total_low) * log_sum) -
                                     static_cast<Wide>(scan.shifted))));
        if constexpr (kGrad) {
          const Scalar g = scale(n);
          simd::prob_rescale(exps, classes, p, scan.ratio_to_sum(g, total), g, scan);
        }
        continue;
      }
      const auto row = x.row(n);
      // The smoothed target t' and its weighted form; with e = 0, t' is t exactly.
      const auto smoothed =
          (1 - eps) * probs.row(n).array().template cast<Scalar>() + eps_per_class;
      const Scalar total = weighted ? (w.array() * smoothed).sum() : smoothed.sum();
      const auto st = row_stats(row);
      // -sum_c w_c t'_c (x_c - m - log s). A class with t'_c = 0 contributes 0 even where
      // x_c = -inf (0 log 0 = 0), where PyTorch returns NaN.
      const auto shifted = row.array() - st.max;
      const auto weighted_target = [&](Eigen::Index c) {
        return weighted ? w(c) * smoothed(c) : Scalar(smoothed(c));
      };
      simd::CompensatedScalar<Scalar> shifted_sum;  // as the vector kernels' (CompensatedTotal)
      for (Eigen::Index c = 0; c < classes; ++c) {
        if (smoothed(c) != 0) shifted_sum.add(simd::rounded(weighted_target(c) * shifted(c)));
      }
      loss(n, simd::rounded(total * st.log_sum()) - shifted_sum.total());
      if constexpr (kGrad) {
        const Scalar g = scale(n);
        auto out = grad.row(n);
        out = (g * total / st.sum) * exp_shifted(row.array(), st.max);
        for (Eigen::Index c = 0; c < classes; ++c) out(c) -= g * weighted_target(c);
      }
    }
  }
};

}  // namespace XENT_SIMD_ISA_NAMESPACE
}  // namespace detail

inline namespace XENT_SIMD_ISA_NAMESPACE {

/// The cross-entropy of logits against class targets, reduced to one value, like
/// `F.cross_entropy(logits, targets)`.
///
/// Per sample, with p = softmax(logits): index targets give (1-e) w_y (-log p_y) + (e/C)
/// sum_c w_c (-log p_c); probability targets t give -sum_c w_c t'_c log p_c with
/// t' = (1-e) t + e/C (e: label smoothing, w: class weights, 1 without).
/// \param logits   N x C (or C x N with Layout::SamplesInColumns), float or double: a Matrix of
///                 either storage order, a Map, Block, Ref or any expression.
/// \param targets  an integer vector of N class indices (any integral type), or a floating matrix
///                 of the logits' shape holding class probabilities.
/// \param opts     reduction, class weight, ignore_index, label_smoothing and layout.
/// \return the mean (default) or the sum of the per-sample losses. The mean divides by the summed
///         weights of the samples not ignored (index targets) or by N (probability targets): NaN
///         when every sample is ignored or N = 0.
/// \throws std::out_of_range a class index outside [0, C) that is not ignore_index.
/// \throws std::invalid_argument mismatched shapes, a weight of the wrong length, or
///         ignore_index >= 0 with probability targets.
template <class X, class Y>
typename X::Scalar cross_entropy(const Eigen::MatrixBase<X>& logits,
                                 const Eigen::DenseBase<Y>& targets,
                                 const CrossEntropyOptions& opts = {}) {
  return detail::reduced_loss<detail::CrossEntropyKernel>("cross_entropy", logits, targets, opts);
}

/// The per-sample cross-entropy (`reduction='none'`), into a caller's vector of N entries: 0 for
/// an ignored sample.
/// \param logits   N x C (or C x N with Layout::SamplesInColumns), float or double: a Matrix of
///                 either storage order, a Map, Block, Ref or any expression.
/// \param targets  an integer vector of N class indices (any integral type), or a floating matrix
///                 of the logits' shape holding class probabilities.
/// \param out      N entries: a resizable vector (column or row) is resized, a Map, Block or Ref
///                 must have N entries (else std::invalid_argument).
/// \param opts     as for cross_entropy(); the reduction is not used.
template <class X, class Y, class Out>
void cross_entropy_per_sample(const Eigen::MatrixBase<X>& logits,
                              const Eigen::DenseBase<Y>& targets, const Eigen::MatrixBase<Out>& out,
                              const CrossEntropyOptions& opts = {}) {
  detail::per_sample_loss<detail::CrossEntropyKernel>("cross_entropy_per_sample", logits, targets,
                                                      out, opts);
}

/// The per-sample cross-entropy (`reduction='none'`), returned as a new column vector of N
/// entries (see the overload with `out`).
template <class X, class Y>
detail::PlainVector<X> cross_entropy_per_sample(const Eigen::MatrixBase<X>& logits,
                                                const Eigen::DenseBase<Y>& targets,
                                                const CrossEntropyOptions& opts = {}) {
  detail::PlainVector<X> out;
  cross_entropy_per_sample(logits, targets, out, opts);
  return out;
}

/// The gradient of grad_output * cross_entropy(logits, targets, opts) with respect to the logits,
/// returned as a new matrix of the logits' shape and storage order.
///
/// Per sample, S p - q, with q the (weighted, smoothed) target distribution and S = sum_c q_c,
/// scaled by the reduction. An ignored sample's gradient row is exactly 0, whatever its logits.
template <class X, class Y>
detail::PlainMatrix<X> cross_entropy_backward(const Eigen::MatrixBase<X>& logits,
                                              const Eigen::DenseBase<Y>& targets,
                                              const CrossEntropyOptions& opts = {},
                                              typename X::Scalar grad_output = 1) {
  return detail::loss_backward<detail::CrossEntropyKernel>("cross_entropy_backward", logits,
                                                           targets, opts, grad_output);
}

/// The gradient of sum_n grad_outputs(n) * loss_n (the per-sample losses) with respect to the
/// logits, returned as a new matrix of the logits' shape and storage order: the backward of
/// cross_entropy_per_sample().
/// \param logits        as for cross_entropy().
/// \param targets       as for cross_entropy().
/// \param grad_outputs  a vector of N upstream gradients, one per sample.
/// \param opts          as for cross_entropy(); the reduction is not used.
template <class X, class Y, class G>
detail::PlainMatrix<X> cross_entropy_per_sample_backward(const Eigen::MatrixBase<X>& logits,
                                                         const Eigen::DenseBase<Y>& targets,
                                                         const Eigen::MatrixBase<G>& grad_outputs,
                                                         const CrossEntropyOptions& opts = {}) {
  return detail::per_sample_loss_backward<detail::CrossEntropyKernel>(
      "cross_entropy_per_sample_backward", logits, targets, grad_outputs, opts);
}

/// The reduced loss, with its gradient written into grad in the same pass: cross_entropy() and
/// cross_entropy_backward() (grad_output = 1) at once.
/// \param logits   as for cross_entropy().
/// \param targets  as for cross_entropy().
/// \param grad     the gradient, the logits' shape and scalar type: a resizable Matrix is
///                 resized, a Map, Block or Ref must have the logits' shape (else
///                 std::invalid_argument). It may be logits itself (bitwise the same loss and
///                 gradient; see cross_entropy_forward_backward_in_place() and docs/aliasing.md).
/// \param opts     as for cross_entropy().
/// \return the reduced loss, as cross_entropy() returns it.
template <class X, class Y, class G>
typename X::Scalar cross_entropy_forward_backward(const Eigen::MatrixBase<X>& logits,
                                                  const Eigen::DenseBase<Y>& targets,
                                                  const Eigen::MatrixBase<G>& grad,
                                                  const CrossEntropyOptions& opts = {}) {
  return detail::loss_forward_backward<detail::CrossEntropyKernel>("cross_entropy_forward_backward",
                                                                   logits, targets, grad, opts);
}

/// cross_entropy_forward_backward() with the gradient written over the logits (for memory-bound
/// shapes: one N x C buffer instead of two).
///
/// Every kernel reads a sample's logits before it writes that sample's gradient, so the loss and
/// the gradient are bitwise those of cross_entropy_forward_backward() (tests/test_aliasing.cpp;
/// docs/aliasing.md lists every output that may be written over an input). logits must be writable
/// (a Matrix, Map, Block or Ref; an inner-strided Map works through a copy).
/// \return the reduced loss; logits then hold its gradient.
template <class X, class Y>
typename X::Scalar cross_entropy_forward_backward_in_place(const Eigen::MatrixBase<X>& logits,
                                                           const Eigen::DenseBase<Y>& targets,
                                                           const CrossEntropyOptions& opts = {}) {
  return detail::loss_forward_backward<detail::CrossEntropyKernel>(
      "cross_entropy_forward_backward_in_place", logits, targets, logits, opts);
}

/// The cross-entropy as an object holding its options, like `torch::nn::CrossEntropyLoss`: each
/// member calls the free function of the same name with options().
class CrossEntropyLoss {
 public:
  /// A loss with these options (PyTorch's defaults when none are given).
  explicit CrossEntropyLoss(CrossEntropyOptions opts = {}) : opts_(std::move(opts)) {}
  /// The options the loss was built with.
  const CrossEntropyOptions& options() const { return opts_; }

  /// cross_entropy(logits, targets, options()): the reduced loss.
  template <class X, class Y>
  typename X::Scalar operator()(const Eigen::MatrixBase<X>& logits,
                                const Eigen::DenseBase<Y>& targets) const {
    return cross_entropy(logits, targets, opts_);
  }
  /// cross_entropy_per_sample(logits, targets, options()): a new vector of N losses.
  template <class X, class Y>
  detail::PlainVector<X> per_sample(const Eigen::MatrixBase<X>& logits,
                                    const Eigen::DenseBase<Y>& targets) const {
    return cross_entropy_per_sample(logits, targets, opts_);
  }
  /// cross_entropy_per_sample(logits, targets, out, options()): the N losses into out.
  template <class X, class Y, class Out>
  void per_sample(const Eigen::MatrixBase<X>& logits, const Eigen::DenseBase<Y>& targets,
                  const Eigen::MatrixBase<Out>& out) const {
    cross_entropy_per_sample(logits, targets, out, opts_);
  }
  /// cross_entropy_backward(logits, targets, options(), grad_output): the gradient.
  template <class X, class Y>
  detail::PlainMatrix<X> backward(const Eigen::MatrixBase<X>& logits,
                                  const Eigen::DenseBase<Y>& targets,
                                  typename X::Scalar grad_output = 1) const {
    return cross_entropy_backward(logits, targets, opts_, grad_output);
  }
  /// cross_entropy_per_sample_backward(logits, targets, grad_outputs, options()).
  template <class X, class Y, class G>
  detail::PlainMatrix<X> per_sample_backward(const Eigen::MatrixBase<X>& logits,
                                             const Eigen::DenseBase<Y>& targets,
                                             const Eigen::MatrixBase<G>& grad_outputs) const {
    return cross_entropy_per_sample_backward(logits, targets, grad_outputs, opts_);
  }
  /// cross_entropy_forward_backward(logits, targets, grad, options()): the reduced loss, its
  /// gradient into grad.
  template <class X, class Y, class G>
  typename X::Scalar forward_backward(const Eigen::MatrixBase<X>& logits,
                                      const Eigen::DenseBase<Y>& targets,
                                      const Eigen::MatrixBase<G>& grad) const {
    return cross_entropy_forward_backward(logits, targets, grad, opts_);
  }

 private:
  CrossEntropyOptions opts_;
};

}  // namespace XENT_SIMD_ISA_NAMESPACE
}  // namespace xent
