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

template <class T>
void cross_entropy_rows_of(const CrossEntropyCase& k, const T* x, const T* w, const T* scales,
                           T* loss, T* grad) {
  namespace kn = xent::detail;
  const bool smoothing = k.eps > 0;
  const T eps = static_cast<T>(k.eps);
  const kn::CrossEntropyRowsParams<T> p{smoothing, eps,
                                        smoothing ? eps / static_cast<T>(k.C) : T(0),
                                        static_cast<T>(k.weight_sum), w};
  static_assert(sizeof(long) == sizeof(Eigen::Index), "cls is passed as Eigen::Index");
  kn::cross_entropy_rows<T>(x, k.C, k.C, k.rows, reinterpret_cast<const Eigen::Index*>(k.cls), p,
                            loss, grad, k.C, scales, nullptr);
}
void march_cross_entropy_rows(const CrossEntropyCase& k, const float* x, const float* w,
                              const float* scales, float* loss, float* grad) {
  cross_entropy_rows_of(k, x, w, scales, loss, grad);
}
void march_cross_entropy_rows(const CrossEntropyCase& k, const double* x, const double* w,
                              const double* scales, double* loss, double* grad) {
  cross_entropy_rows_of(k, x, w, scales, loss, grad);
}

}  // namespace region_test
