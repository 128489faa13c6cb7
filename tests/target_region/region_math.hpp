// The interface of the two units of test_target_region: the SIMD layer's exp, log and log1p over
// an array, and the softmax / log_softmax row kernels, compiled for AVX2 + FMA once in a target
// region of a baseline unit (region_unit.cpp) and once by the compiler's flags (march_unit.cpp,
// -march=x86-64-v3).
#pragma once

#include <cstddef>

namespace region_test {

enum class Fn { Exp, Log, Log1p };

struct Tier {
  const char* name;
  int float_width;
  int double_width;
};

// y[i] = fn(x[i]) for i < n, whole vectors and a masked tail.
void region_apply(Fn fn, const float* x, float* y, std::size_t n);
void region_apply(Fn fn, const double* x, double* y, std::size_t n);
Tier region_tier();
void march_apply(Fn fn, const float* x, float* y, std::size_t n);
void march_apply(Fn fn, const double* x, double* y, std::size_t n);
Tier march_tier();

// softmax (log: log_softmax) of `rows` contiguous rows of C classes into y, one thread; stream: the
// streamed-store variant of the kernels.
void region_softmax_rows(bool log, const float* x, float* y, long rows, long C, bool stream);
void region_softmax_rows(bool log, const double* x, double* y, long rows, long C, bool stream);
void march_softmax_rows(bool log, const float* x, float* y, long rows, long C, bool stream);
void march_softmax_rows(bool log, const double* x, double* y, long rows, long C, bool stream);

// Cross-entropy with class indices over `rows` contiguous rows of C classes: cls[n] (negative:
// ignored), per-sample losses into loss, with grad (else null) the gradient scaled by scales[n];
// smoothing e, class weights w (or null, then W = C) of sum weight_sum.
struct CrossEntropyCase {
  long rows, C;
  const long* cls;
  double eps;
  double weight_sum;
};
void region_cross_entropy_rows(const CrossEntropyCase& k, const float* x, const float* w,
                               const float* scales, float* loss, float* grad);
void region_cross_entropy_rows(const CrossEntropyCase& k, const double* x, const double* w,
                               const double* scales, double* loss, double* grad);
void march_cross_entropy_rows(const CrossEntropyCase& k, const float* x, const float* w,
                              const float* scales, float* loss, float* grad);
void march_cross_entropy_rows(const CrossEntropyCase& k, const double* x, const double* w,
                              const double* scales, double* loss, double* grad);

}  // namespace region_test
