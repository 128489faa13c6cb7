// xent internals: the argument checks of the class losses (cross-entropy and NLL), shared by the
// fast paths and xent::reference. They run before anything is computed, so that a bad argument
// leaves the caller's outputs untouched.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "../options.hpp"
#include "checks.hpp"
#include "layout.hpp"
#include "reduce.hpp"
#include "simd/isa.hpp"

namespace xent {
namespace detail {
inline namespace XENT_SIMD_ISA_NAMESPACE {

// The vector of per-class weights must have C entries.
inline void check_class_weight(const char* fn, const char* name, Eigen::Index size,
                               Eigen::Index classes) {
  if (size != classes) {
    fail(fn, std::string(name) + " should be defined either for all " + std::to_string(classes) +
                 " classes or no classes but got " + name + " of size " + std::to_string(size));
  }
}

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

// Checks the arguments of a cross-entropy call (index or probability targets); returns the mean's
// denominator.
template <class X, class Y>
double check_class_loss(const char* fn, const Eigen::MatrixBase<X>& x,
                        const Eigen::DenseBase<Y>& targets, const CrossEntropyOptions& opts) {
  const Eigen::Index samples = samples_of(x.rows(), x.cols(), opts.layout());
  const Eigen::Index classes = classes_of(x.rows(), x.cols(), opts.layout());
  if constexpr (is_index_type<typename Y::Scalar>) {
    return check_class_targets(fn, targets, samples, classes, opts);
  } else {
    static_assert(std::is_floating_point<typename Y::Scalar>::value,
                  "xent: targets must be integer class indices or floating class probabilities");
    check_same_shape(fn, "targets (class probabilities)", targets, x.rows(), x.cols(), "logits");
    if (opts.ignore_index() >= 0) {
      fail(fn, "ignore_index is not supported for floating point target: ignore_index = " +
                   std::to_string(opts.ignore_index()) + " (must be negative)");
    }
    if (opts.has_weight()) check_class_weight(fn, "weight", opts.weight().size(), classes);
    return static_cast<double>(samples);
  }
}

// Checks the arguments of an NLL call; returns the mean's denominator.
template <class X, class Y>
double check_class_loss(const char* fn, const Eigen::MatrixBase<X>& x,
                        const Eigen::DenseBase<Y>& targets, const NLLLossOptions& opts) {
  static_assert(is_index_type<typename Y::Scalar>,
                "xent::nll_loss: targets must be integer class indices");
  return check_class_targets(fn, targets, samples_of(x.rows(), x.cols(), opts.layout()),
                             classes_of(x.rows(), x.cols(), opts.layout()), opts);
}

}  // namespace XENT_SIMD_ISA_NAMESPACE
}  // namespace detail
}  // namespace xent
