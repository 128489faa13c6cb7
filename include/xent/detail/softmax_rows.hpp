// xent internals: softmax and log_softmax over contiguous rows (samples in rows of a row-major
// matrix, or in columns of a column-major one), as kernels with a fixed signature: pointers,
// leading dimensions and sizes. Compiled for the flags' tier and, where dispatch.hpp opens a target
// region, for a tier above it; xent::softmax / xent::log_softmax call the tier dispatch.hpp picks.
//
// The arguments are checked by the caller: rows >= 1, classes >= 1, x and out rows of `classes`
// elements `ld` apart; out may be x (in place).

#include <Eigen/Core>
#include <algorithm>

#include "row_kernels.hpp"
#include "simd/math.hpp"

// Included once per pass (simd/tier.hpp): the flags' tier, then each target region's.
#if (XENT_SIMD_PASS == 0 && !defined(XENT_SOFTMAX_ROWS_PASS0)) || \
    (XENT_SIMD_PASS == 1 && !defined(XENT_SOFTMAX_ROWS_PASS1))
#if XENT_SIMD_PASS == 0
#define XENT_SOFTMAX_ROWS_PASS0
#else
#define XENT_SOFTMAX_ROWS_PASS1
#endif

namespace xent {
namespace detail {
XENT_SIMD_NAMESPACE_INLINE namespace XENT_SIMD_ISA_NAMESPACE {
// log_softmax of each row: out[n * out_ld + c] = (x_c - max) - log(sum exp(x - max)).
template <class T>
void log_softmax_rows(const T* x, Eigen::Index x_ld, T* out, Eigen::Index out_ld,
                      Eigen::Index rows, Eigen::Index C, int threads, bool stream) {
  const auto src_row = [&](Eigen::Index n) { return x + n * x_ld; };
  const auto dst_row = [&](Eigen::Index n) { return out + n * out_ld; };
  // Short rows: the log-sums of a group of rows in one vector log (a libm log per row was 14 % of
  // the time at 4096 x 200); the same steps as the per-row code below otherwise. A row's log is
  // lane-wise, the same in any group.
  using V = simd::Vec<T>;
  const Eigen::Index group = simd::rows_per_log_group<T>(C);
  if (group > 1) {
    simd::for_row_groups(rows, group, threads, stream, [&](Eigen::Index n0, Eigen::Index count) {
      alignas(64) T maxes[V::width], logs[V::width];
      simd::group_log_sums(
          n0, count, rows, C, src_row,
          [&](Eigen::Index n) { return stream ? static_cast<T*>(nullptr) : dst_row(n); }, maxes,
          logs);
      for (Eigen::Index i = 0; i < count; ++i) {
        const Eigen::Index n = n0 + i;
        if (stream) {
          simd::contiguous_log_softmax(src_row(n), dst_row(n), C, maxes[i], logs[i], stream);
        } else {
          simd::contiguous_subtract(dst_row(n), C, logs[i]);
        }
      }
    });
    return;
  }
  simd::for_rows(rows, threads, stream, [&](Eigen::Index n) {
    simd::RowScan<T> scan;
    const T* src = src_row(n);
    T* row_out = dst_row(n);
    const T* next = n + 1 < rows ? src_row(n + 1) : nullptr;
    if (stream && !simd::online_row<T>(C, true)) {
      // A large output: the statistics as logsumexp takes them (nothing stored), then one pass
      // from x, in cache after two passes, streams the result out (written once).
      simd::scan_row<false>(src, C, simd::kMaxApart, static_cast<T*>(nullptr),
                            static_cast<const T*>(nullptr), scan, static_cast<T*>(nullptr), next);
      simd::contiguous_log_softmax(src, row_out, C, scan.max, scan.log_sum(), stream);
      return;
    }
    // x - max is stored while summing (the stores, and the reads of their lines, overlap the
    // exps), then the log-sum is subtracted in place. An online pass stores x itself, and (x -
    // max) - log-sum is formed in place. (Measured: the online pass reading x again to stream the
    // result is 30 % slower at 64 x 128000; without streaming, so is two passes at 4096 x 1000,
    // the output lines then being read in a pass with no exps to hide them.)
    simd::scan_row<false>(src, C, simd::kMaxApart, static_cast<T*>(nullptr),
                          static_cast<const T*>(nullptr), scan, row_out, next);
    if (scan.blocks == 0) {
      simd::contiguous_subtract(row_out, C, scan.log_sum());
    } else {
      simd::contiguous_log_softmax(row_out, row_out, C, scan.max, scan.log_sum(), false);
    }
  });
}

// softmax of each row: out[n * out_ld + c] = exp(x_c - max) / sum exp(x - max).
template <class T>
void softmax_rows(const T* x, Eigen::Index x_ld, T* out, Eigen::Index out_ld, Eigen::Index rows,
                  Eigen::Index C, int threads, bool stream) {
  simd::for_rows(rows, threads, stream, [&](Eigen::Index n) {
    // exp stored once, then scaled in place.
    T* e = out + n * out_ld;
    simd::RowScan<T> scan;
    const T* src = x + n * x_ld;
    const T* next = n + 1 < rows ? x + (n + 1) * x_ld : nullptr;
    // A large output with short rows: the exps go to a buffer in L1 and the scaled values are
    // streamed out, so the output is written once and never read. (Longer rows keep the exps in
    // the output: a row-long stack buffer is too big.)
    constexpr Eigen::Index kScratch = (32 << 10) / sizeof(T);  // 32 KiB
    if (stream && C <= kScratch) {
      alignas(64) T scratch[kScratch];
      simd::scan_row<false>(src, C, simd::kMaxApart, scratch, static_cast<const T*>(nullptr),
                            scan, static_cast<T*>(nullptr), next);
      simd::scan_scale_into(scratch, e, C, scan.ratio_to_sum(T(1)), scan, stream);
      return;
    }
    // The max's term apart: sum = 1 + others, one rounding (added among the others, the 1 made
    // every later term round at magnitude 1: 22 ulp on p_max at C = 1000).
    simd::scan_row<false>(src, C, simd::kMaxApart, e, static_cast<const T*>(nullptr), scan,
                          static_cast<T*>(nullptr), next);
    simd::scan_rescale(e, C, scan.ratio_to_sum(T(1)), T(0), static_cast<const T*>(nullptr), scan);
  });
}

}  // namespace XENT_SIMD_ISA_NAMESPACE
}  // namespace detail
}  // namespace xent

#endif  // pass guard
