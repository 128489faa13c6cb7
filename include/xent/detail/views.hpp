// xent internals: how inputs of any Eigen type and either layout reach the kernels.
#pragma once

#include <Eigen/Core>
#include <utility>

#include "../options.hpp"
#include "simd/isa.hpp"

namespace xent {
namespace detail {
inline namespace XENT_SIMD_ISA_NAMESPACE {

// The dense matrix type matching an input's scalar and storage order; results have this type.
template <class Derived>
using PlainMatrix = Eigen::Matrix<typename Derived::Scalar, Eigen::Dynamic, Eigen::Dynamic,
                                  Derived::IsRowMajor ? Eigen::RowMajor : Eigen::ColMajor>;

template <class Derived>
using PlainVector = Eigen::Matrix<typename Derived::Scalar, Eigen::Dynamic, 1>;

// A read-only strided view. Matrices, outer-strided Maps, Blocks and Refs bind without a copy; any
// other expression (a product, an inner-strided Map) is evaluated once into a temporary.
template <class Derived>
using InputRef = Eigen::Ref<const PlainMatrix<Derived>, 0, Eigen::OuterStride<>>;

// Calls f with an N x C view of m: m itself when samples are rows, its transpose otherwise. The
// kernels are thereby written once, for samples in rows.
template <class M, class F>
decltype(auto) with_samples_in_rows(M&& m, Layout layout, F&& f) {
  if (layout == Layout::SamplesInRows) {
    return f(std::forward<M>(m));
  }
  return f(m.transpose());
}

inline Eigen::Index samples_of(Eigen::Index rows, Eigen::Index cols, Layout layout) {
  return layout == Layout::SamplesInRows ? rows : cols;
}
inline Eigen::Index classes_of(Eigen::Index rows, Eigen::Index cols, Layout layout) {
  return layout == Layout::SamplesInRows ? cols : rows;
}

}  // namespace XENT_SIMD_ISA_NAMESPACE
}  // namespace detail
}  // namespace xent
