// Built for the x86-64 baseline (-march=x86-64): the layer for the flags' tier (SSE2), then again
// for AVX2 + FMA in a target region; the row kernels as xent's dispatch compiles them.
#include <xent/detail/dispatch.hpp>
#include <xent/detail/simd/math.hpp>

#include "region_math.hpp"

// clang-format off: the region first, then the layer again in it
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

}  // namespace region_test

#include <xent/detail/simd/target_end.hpp>

// After the region the flags' tier is back.
static_assert(xent::detail::simd::Vec<float>::width == 4, "the baseline unit's own tier is SSE2");
