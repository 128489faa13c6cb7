// Built with -march=x86-64-v3: the layer's AVX2 tier chosen by the flags, as before target regions.
#include <xent/detail/dispatch.hpp>
#include <xent/detail/simd/math.hpp>

#include "region_math.hpp"

namespace region_test {
namespace {
namespace simd = xent::detail::simd;
#include "apply.hpp"
}  // namespace

void march_apply(Fn fn, const float* x, float* y, std::size_t n) {
  apply_over<simd::Vec<float>>(fn, x, y, n);
}
void march_apply(Fn fn, const double* x, double* y, std::size_t n) {
  apply_over<simd::Vec<double>>(fn, x, y, n);
}
Tier march_tier() {
  return {simd::IsaTag::name, simd::Vec<float>::width, simd::Vec<double>::width};
}

template <class T>
void softmax_rows_of(bool log, const T* x, T* y, long rows, long C, bool stream) {
  if (log) {
    xent::detail::log_softmax_rows(x, C, y, C, rows, C, 1, stream);
  } else {
    xent::detail::softmax_rows(x, C, y, C, rows, C, 1, stream);
  }
}
void march_softmax_rows(bool log, const float* x, float* y, long rows, long C, bool stream) {
  softmax_rows_of(log, x, y, rows, C, stream);
}
void march_softmax_rows(bool log, const double* x, double* y, long rows, long C, bool stream) {
  softmax_rows_of(log, x, y, rows, C, stream);
}

}  // namespace region_test
