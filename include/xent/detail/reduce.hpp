// xent internals: reductions that keep their accuracy over millions of samples.
#pragma once

#include <cmath>
#include <type_traits>

#include "simd/isa.hpp"

namespace xent {
namespace detail {
inline namespace XENT_SIMD_ISA_NAMESPACE {

// Sums per-sample losses. float accumulates in double (exact enough for 10^7 samples); double uses
// Neumaier's compensated summation. Once the running sum is not finite, the compensation is
// meaningless (inf - inf) and is dropped.
template <class Scalar>
class Accumulator {
 public:
  void add(double v) {
    if constexpr (std::is_same<Scalar, float>::value) {
      sum_ += v;
    } else {
      const double t = sum_ + v;
      if (std::abs(sum_) >= std::abs(v)) {
        comp_ += (sum_ - t) + v;
      } else {
        comp_ += (v - t) + sum_;
      }
      sum_ = t;
    }
  }
  double value() const { return std::isfinite(sum_) ? sum_ + comp_ : sum_; }

 private:
  double sum_ = 0.0;
  double comp_ = 0.0;
};

}  // namespace XENT_SIMD_ISA_NAMESPACE
}  // namespace detail
}  // namespace xent
