// One program linking two translation units that include xent with different -march flags (the
// situation of a program with a runtime-dispatched AVX2 file). Each unit must get its own copy of
// every xent function: had the two instantiations of xent::cross_entropy<MatrixXf, VectorXi> the
// same symbol, the linker would keep one body for both (one address), and a machine without AVX2
// could execute the AVX2 body from the baseline unit. The ISA-named inline namespace
// (detail/simd/isa.hpp) gives them different symbols, hence different addresses.
#include <cmath>
#include <cstdio>
#include <cstring>

#include "odr_unit.hpp"

OdrUnit odr_baseline();
OdrUnit odr_avx2();

int main() {
  const OdrUnit base = odr_baseline(), avx2 = odr_avx2();
  std::printf("baseline unit: xent::%s, avx2 unit: xent::%s\n", base.isa_namespace,
              avx2.isa_namespace);
  int failures = 0;
  if (std::strcmp(base.isa_namespace, avx2.isa_namespace) == 0) {
    // Only a build that forces one tier everywhere (XENT_SIMD_SCALAR) gets here: one body is right.
    std::printf("both units use the same instruction set: nothing to separate\n");
  } else if (base.cross_entropy == avx2.cross_entropy || base.log_softmax == avx2.log_softmax) {
    std::printf("FAILED: the units share one xent function body across instruction sets\n");
    ++failures;
  }
  // Call the baseline unit's functions (runs on any x86-64) and, where the CPU allows, the AVX2
  // unit's; both must compute the same loss to within float rounding.
  Eigen::MatrixXf x(37, 11), out;
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = std::sin(0.7f * float(i)) * 5;
  Eigen::VectorXi y(37);
  for (Eigen::Index i = 0; i < y.size(); ++i) y(i) = int(i % 11);
  const float a = base.cross_entropy(x, y, {});
  base.log_softmax(x, out, xent::Layout::SamplesInRows);
  if (!(std::isfinite(a) && a > 0)) ++failures;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    const float b = avx2.cross_entropy(x, y, {});
    // A mean of 37 losses of order 5: a few float ulps of it (exp/log <= 1 ulp each, different
    // summation orders per vector width).
    if (!(std::fabs(a - b) <= 1e-5f * std::fabs(a))) {
      std::printf("FAILED: losses differ: %.9g vs %.9g\n", a, b);
      ++failures;
    }
  }
  std::printf(failures ? "FAILED\n" : "passed\n");
  return failures ? 1 : 0;
}
