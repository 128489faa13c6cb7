// xent internals: access to class-index targets (checked by class_checks.hpp) and the reduction of
// the per-sample losses, shared by cross-entropy and NLL.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "../options.hpp"
#include "checks.hpp"
#include "reduce.hpp"
#include "simd/isa.hpp"

namespace xent {
namespace detail {
inline namespace XENT_SIMD_ISA_NAMESPACE {

// Sample n's target after check_class_targets (class_checks.hpp): its class, or -1 when the sample
// is ignored.
template <class Targets, class Options>
Eigen::Index class_of(const Targets& targets, Eigen::Index n, const Options& opts) {
  std::int64_t y = 0;
  to_int64(targets.coeff(n), y);
  return y == opts.ignore_index() ? -1 : static_cast<Eigen::Index>(y);
}

template <class Scalar>
Scalar reduce(const Accumulator<Scalar>& sum, Reduction reduction, double mean_denominator) {
  return static_cast<Scalar>(reduction == Reduction::Sum ? sum.value()
                                                         : sum.value() / mean_denominator);
}

// The factor d(reduced loss)/d(per-sample loss) applied to every gradient row.
template <class Scalar>
Scalar reduction_scale(Reduction reduction, double grad_output, double mean_denominator) {
  return static_cast<Scalar>(reduction == Reduction::Sum ? grad_output
                                                         : grad_output / mean_denominator);
}

}  // namespace XENT_SIMD_ISA_NAMESPACE
}  // namespace detail
}  // namespace xent
