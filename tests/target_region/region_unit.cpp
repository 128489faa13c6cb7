// Built for the x86-64 baseline (-march=x86-64): the layer for the flags' tier (SSE2), then again
// for AVX2 + FMA in a target region; the row kernels as xent's dispatch compiles them.
#include <xent/detail/dispatch.hpp>
#include <xent/detail/simd/math.hpp>

#include "region_math.hpp"

// The region first, then the layer again in it.
// clang-format off
#define XENT_SIMD_TARGET_AVX2
#include <xent/detail/simd/target_begin.hpp>
#include <xent/detail/simd/math.hpp>
// clang-format on

namespace region_test {
namespace {
namespace simd = xent::detail::isa_avx2_region::simd;
#include "apply.hpp"
}  // namespace

void region_apply(Fn fn, const float* x, float* y, std::size_t n) {
  apply_over<simd::Vec<float>>(fn, x, y, n);
}
void region_apply(Fn fn, const double* x, double* y, std::size_t n) {
  apply_over<simd::Vec<double>>(fn, x, y, n);
}
Tier region_tier() {
  return {simd::IsaTag::name, simd::Vec<float>::width, simd::Vec<double>::width};
}

template <class T>
void softmax_rows_of(bool log, const T* x, T* y, long rows, long C, bool stream) {
  namespace k = xent::detail::isa_avx2_region;
  if (log) {
    k::log_softmax_rows(x, C, y, C, rows, C, 1, stream);
  } else {
    k::softmax_rows(x, C, y, C, rows, C, 1, stream);
  }
}
void region_softmax_rows(bool log, const float* x, float* y, long rows, long C, bool stream) {
  softmax_rows_of(log, x, y, rows, C, stream);
}
void region_softmax_rows(bool log, const double* x, double* y, long rows, long C, bool stream) {
  softmax_rows_of(log, x, y, rows, C, stream);
}

template <class T>
void cross_entropy_rows_of(const CrossEntropyCase& k, const T* x, const T* w, const T* scales,
                           T* loss, T* grad) {
  namespace kn = xent::detail::isa_avx2_region;
  const bool smoothing = k.eps > 0;
  const T eps = static_cast<T>(k.eps);
  const kn::CrossEntropyRowsParams<T> p{smoothing, eps,
                                        smoothing ? eps / static_cast<T>(k.C) : T(0),
                                        static_cast<T>(k.weight_sum), w};
  static_assert(sizeof(long) == sizeof(Eigen::Index), "cls is passed as Eigen::Index");
  kn::cross_entropy_rows<T>(x, k.C, k.C, k.rows, reinterpret_cast<const Eigen::Index*>(k.cls), p,
                            loss, grad, k.C, scales, nullptr);
}
void region_cross_entropy_rows(const CrossEntropyCase& k, const float* x, const float* w,
                               const float* scales, float* loss, float* grad) {
  cross_entropy_rows_of(k, x, w, scales, loss, grad);
}
void region_cross_entropy_rows(const CrossEntropyCase& k, const double* x, const double* w,
                               const double* scales, double* loss, double* grad) {
  cross_entropy_rows_of(k, x, w, scales, loss, grad);
}

}  // namespace region_test

#include <xent/detail/simd/target_end.hpp>

// After the region the flags' tier is back.
static_assert(xent::detail::simd::Vec<float>::width == 4, "the baseline unit's own tier is SSE2");
