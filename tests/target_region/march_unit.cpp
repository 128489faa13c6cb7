// Built with -march=x86-64-v3: the layer's AVX2 tier chosen by the flags, as before target regions.
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

}  // namespace region_test
