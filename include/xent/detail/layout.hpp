// xent internals: which axis of an input holds the samples and which the classes.
#pragma once

#include <Eigen/Core>

#include "../options.hpp"
#include "simd/isa.hpp"

namespace xent {
namespace detail {
inline namespace XENT_SIMD_ISA_NAMESPACE {

inline Eigen::Index samples_of(Eigen::Index rows, Eigen::Index cols, Layout layout) {
  return layout == Layout::SamplesInRows ? rows : cols;
}
inline Eigen::Index classes_of(Eigen::Index rows, Eigen::Index cols, Layout layout) {
  return layout == Layout::SamplesInRows ? cols : rows;
}

}  // namespace XENT_SIMD_ISA_NAMESPACE
}  // namespace detail
}  // namespace xent
