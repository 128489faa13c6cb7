// xent internals: validation and access of class-index targets, shared by cross-entropy and NLL.
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

// Checks every target before anything is computed, so that a bad target leaves the caller's outputs
// untouched. As in PyTorch, the ignore test comes before the bounds test, so ignore_index may be
// any value. Returns the mean's denominator W: the summed weights of the non-ignored targets (their
// count without weights).
template <class Targets, class Options>
double check_class_targets(const char* fn, const Eigen::DenseBase<Targets>& targets,
                           Eigen::Index samples, Eigen::Index classes, const Options& opts) {
  check_target_vector(fn, targets, samples);
  if (opts.has_weight()) check_class_weight(fn, "weight", opts.weight().size(), classes);
  // Without weights W is a count (exact in an integer, and no compensated add per sample): a
  // branch-free scan first (this check is a large part of NLL's cost at small C); the loop below
  // then only runs to find the bad target for the message, or for weights.
  if (!opts.has_weight()) {
    const std::int64_t ignore = opts.ignore_index();
    const auto limit = static_cast<std::uint64_t>(classes);
    Eigen::Index count = 0;
    bool bad = false;
    for (Eigen::Index n = 0; n < samples; ++n) {
      std::int64_t y = 0;
      const bool representable = to_int64(targets.derived().coeff(n), y);
      const bool ignored = representable && y == ignore;
      count += ignored ? 0 : 1;
      // A negative y wraps to a huge unsigned value: one comparison tests both bounds.
      bad |= !ignored && (!representable || static_cast<std::uint64_t>(y) >= limit);
    }
    if (!bad) return static_cast<double>(count);
  }
  Accumulator<double> total;
  Eigen::Index count = 0;
  for (Eigen::Index n = 0; n < samples; ++n) {
    const auto raw = targets.derived().coeff(n);
    std::int64_t y = 0;
    const bool representable = to_int64(raw, y);
    if (representable && y == opts.ignore_index()) continue;
    if (!representable || y < 0 || y >= classes) {
      throw std::out_of_range("xent::" + std::string(fn) + ": Target " + to_text(raw) +
                              " is out of bounds: targets[" + std::to_string(n) +
                              "] = " + to_text(raw) + ", expected a class in [0, " +
                              std::to_string(classes) + ") or ignore_index (" +
                              std::to_string(opts.ignore_index()) + ")");
    }
    if (opts.has_weight()) {
      total.add(opts.weight()(y));
    } else {
      ++count;
    }
  }
  return opts.has_weight() ? total.value() : static_cast<double>(count);
}

// Sample n's target after check_class_targets: its class, or -1 when the sample is ignored.
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
