// xent internals: run-time dispatch of the fixed-signature kernels. The kernels are compiled for
// the flags' tier and, where the flags select SSE2 on x86-64 (XENT_SIMD_DISPATCH_AVX2, isa.hpp), a
// second time for AVX2 + FMA in a target region (namespace isa_avx2_region); each call runs the
// tier xent::active_isa() names. Kernels that dispatch so far: softmax and log_softmax over
// contiguous rows (softmax_rows.hpp) and cross-entropy with class-index targets over contiguous
// rows (cross_entropy_rows.hpp); everything else runs the flags' tier.
#pragma once

#include <Eigen/Core>

#include "../isa.hpp"
#include "cross_entropy_rows.hpp"
#include "softmax_rows.hpp"

// The order matters (clang-format must not sort these): open the region, compile the kernels
// again in it, close it.
// clang-format off
#if defined(XENT_SIMD_DISPATCH_AVX2)
#define XENT_SIMD_TARGET_AVX2
#include "simd/target_begin.hpp"
#include "softmax_rows.hpp"
#include "cross_entropy_rows.hpp"
#include "simd/target_end.hpp"
#endif
// clang-format on

namespace xent {
namespace detail {
inline namespace XENT_SIMD_ISA_NAMESPACE {

// Whether calls should take the AVX2 region's kernels (false where the unit has none).
inline bool dispatch_to_avx2() {
#if defined(XENT_SIMD_DISPATCH_AVX2)
  return active_isa() == Isa::Avx2;
#else
  (void)active_isa();  // a bad XENT_ISA or set_isa request throws everywhere alike
  return false;
#endif
}

template <class T>
void dispatch_log_softmax_rows(const T* x, Eigen::Index x_ld, T* out, Eigen::Index out_ld,
                               Eigen::Index rows, Eigen::Index C, int threads, bool stream) {
#if defined(XENT_SIMD_DISPATCH_AVX2)
  if (dispatch_to_avx2()) {
    isa_avx2_region::log_softmax_rows(x, x_ld, out, out_ld, rows, C, threads, stream);
    return;
  }
#else
  dispatch_to_avx2();
#endif
  log_softmax_rows(x, x_ld, out, out_ld, rows, C, threads, stream);
}

template <class T>
void dispatch_softmax_rows(const T* x, Eigen::Index x_ld, T* out, Eigen::Index out_ld,
                           Eigen::Index rows, Eigen::Index C, int threads, bool stream) {
#if defined(XENT_SIMD_DISPATCH_AVX2)
  if (dispatch_to_avx2()) {
    isa_avx2_region::softmax_rows(x, x_ld, out, out_ld, rows, C, threads, stream);
    return;
  }
#else
  dispatch_to_avx2();
#endif
  softmax_rows(x, x_ld, out, out_ld, rows, C, threads, stream);
}

template <class T>
void dispatch_cross_entropy_rows(const T* x, Eigen::Index x_ld, Eigen::Index classes,
                                 Eigen::Index count, const Eigen::Index* cls,
                                 const CrossEntropyRowsParams<T>& p, T* losses, T* grad,
                                 Eigen::Index grad_ld, const T* scales, const T* next) {
#if defined(XENT_SIMD_DISPATCH_AVX2)
  if (dispatch_to_avx2()) {
    const isa_avx2_region::CrossEntropyRowsParams<T> q{p.smoothing, p.eps, p.eps_per_class,
                                                       p.weight_sum, p.w};
    isa_avx2_region::cross_entropy_rows(x, x_ld, classes, count, cls, q, losses, grad, grad_ld,
                                        scales, next);
    return;
  }
#else
  dispatch_to_avx2();
#endif
  cross_entropy_rows(x, x_ld, classes, count, cls, p, losses, grad, grad_ld, scales, next);
}

}  // namespace XENT_SIMD_ISA_NAMESPACE
}  // namespace detail
}  // namespace xent
