// xent internals: cross-entropy with class-index targets over contiguous rows of logits (samples
// in rows of a row-major matrix, or in columns of a column-major one), as a kernel with a fixed
// signature: pointers, leading dimensions, sizes and a parameter struct. Compiled for the flags'
// tier and, where dispatch.hpp opens a target region, for a tier above it; CrossEntropyKernel
// (cross_entropy.hpp) calls the tier dispatch.hpp picks.
//
// Per sample, with m = max x, s = sum_c exp(x_c - m): loss = (1-e) w_y (log s - (x_y - m)) +
// (e/C) (W log s - sum_c w_c (x_c - m)), gradient g (S p - q) (closed forms: sample_loss.hpp).

#include <Eigen/Core>
#include <algorithm>

#include "row_kernels.hpp"
#include "sample_loss.hpp"

// Included once per pass (simd/tier.hpp): the flags' tier, then each target region's.
#if (XENT_SIMD_PASS == 0 && !defined(XENT_CROSS_ENTROPY_ROWS_PASS0)) || \
    (XENT_SIMD_PASS == 1 && !defined(XENT_CROSS_ENTROPY_ROWS_PASS1))
#if XENT_SIMD_PASS == 0
#define XENT_CROSS_ENTROPY_ROWS_PASS0
#else
#define XENT_CROSS_ENTROPY_ROWS_PASS1
#endif

namespace xent {
namespace detail {
XENT_SIMD_NAMESPACE_INLINE namespace XENT_SIMD_ISA_NAMESPACE {
template <class T>
struct CrossEntropyRowsParams {
  bool smoothing;
  T eps, eps_per_class;  // e, e / C
  T weight_sum;          // W = sum_c w_c (C without weights)
  const T* w;            // class weights, or null
};

// For the samples i < count: logits x + i * x_ld (classes >= 1 of them), class cls[i] (negative:
// ignored, loss 0 and a gradient row of exact zeros, whatever the logits); losses[i] receives the
// loss. With grad, the row grad + i * grad_ld receives scales[i] * d loss_i / d x_i; it may be
// the logits' own row (each row is read before it is written). next (or null) is prefetched after
// the last row.
template <class T>
void cross_entropy_rows(const T* x, Eigen::Index x_ld, Eigen::Index classes, Eigen::Index count,
                        const Eigen::Index* cls, const CrossEntropyRowsParams<T>& p, T* losses,
                        T* grad, Eigen::Index grad_ld, const T* scales, const T* next) {
  const simd::SampleLossSmoothing<T> smoothing{p.smoothing, p.eps, p.eps_per_class, p.weight_sum};
  PendingLosses<T> pending(smoothing);
  const auto put = [&](Eigen::Index i, T v) { losses[i] = v; };
  for (Eigen::Index i = 0; i < count; ++i) {
    const Eigen::Index y = cls[i];
    T* g_row = grad ? grad + i * grad_ld : nullptr;
    if (y < 0) {
      pending.add_ignored(i, put);
      if (g_row) std::fill(g_row, g_row + classes, T(0));
      continue;
    }
    const T* row = x + i * x_ld;
    // Read before the fused scan writes the gradient row, which may be the logits themselves.
    const T x_y = row[y];
    // The fused path stores exp(x - m) in the gradient row, then rescales it in place; two passes
    // prefetch the next row while the exps run.
    simd::RowScan<T> scan;
    const T* ahead = i + 1 < count ? row + x_ld : next;
    if (p.smoothing) {
      simd::scan_row<true>(row, classes, y, g_row, p.w, scan, static_cast<T*>(nullptr), ahead);
    } else {
      simd::scan_row<false>(row, classes, y, g_row, p.w, scan, static_cast<T*>(nullptr), ahead);
    }
    const T w_y = p.w ? p.w[y] : T(1);
    pending.add(i, scan.max, scan.others, scan.target_exp, x_y, w_y, scan.shifted, put);
    if (!g_row) continue;
    // Without smoothing the other classes' weights must not enter at all (a NaN weight on an
    // unused class leaves PyTorch's gradient finite).
    const T g = scales[i];
    const T target_grad = simd::target_gradient(scan.others, scan.target_exp, w_y, g, smoothing);
    if (!p.smoothing) {
      simd::scan_rescale(g_row, classes, scan.ratio_to_sum(g, w_y), T(0),
                         static_cast<const T*>(nullptr), scan);
    } else {
      const T total_q = (1 - p.eps) * w_y + p.eps_per_class * p.weight_sum;  // S = sum_c q_c
      simd::scan_rescale(g_row, classes, scan.ratio_to_sum(g, total_q), g * p.eps_per_class, p.w,
                         scan);
    }
    g_row[y] = target_grad;
  }
  pending.flush(put);
}

}  // namespace XENT_SIMD_ISA_NAMESPACE
}  // namespace detail
}  // namespace xent

#endif  // pass guard
