// xent internals: how inputs of any Eigen type and either layout reach the kernels.
#pragma once

#include <Eigen/Core>
#include <type_traits>
#include <utility>

#include "../options.hpp"
#include "layout.hpp"
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

// A writable strided view of an output, the counterpart of InputRef; only for outputs it binds to
// without a copy (a matrix, an outer-strided Map or Block), see output_view.
template <class Derived>
using OutputRef = Eigen::Ref<PlainMatrix<Derived>, 0, Eigen::OuterStride<>>;

template <class Ref, class Derived>
constexpr bool binds_without_copy =
    Eigen::internal::traits<Ref>::template match<Derived>::MatchAtCompileTime != 0;

// out as an OutputRef where it binds without a copy (so with_samples_in_rows can re-seat it on a
// lone sample), else out itself.
template <class Out>
decltype(auto) output_view(Out& out) {
  if constexpr (binds_without_copy<OutputRef<Out>, Out>) {
    return OutputRef<Out>(out);
  } else {
    return (out);
  }
}

// Ref<P, 0, OuterStride<>> (P possibly const): the views xent makes of its operands.
template <class M>
struct OuterStridedRef : std::false_type {};
template <class P>
struct OuterStridedRef<Eigen::Ref<P, 0, Eigen::OuterStride<>>> : std::true_type {
  using Target = P;
};

// Calls f with an N x C view of m: m itself when samples are rows, its transpose otherwise. The
// kernels are thereby written once, for samples in rows.
//
// A lone sample whose classes are adjacent in memory although the storage order puts samples side
// by side (a column-major 1 x C Ref with samples in rows, a row-major C x 1 one with samples in
// columns) is handed over as a contiguous row instead: a Ref of the same type re-seated on the
// same memory in the other layout's shape, so f sees a type it is instantiated with anyway. The
// lane kernels would fill one lane of each packet with it (measured, float, AVX-512: 1 x 1000 and
// 1 x 128000 ran 7-16x slower than the per-row kernels, and than libtorch).
template <class M, class F>
decltype(auto) with_samples_in_rows(M&& m, Layout layout, F&& f) {
  using View = std::remove_reference_t<M>;  // const when m is
  using Ref = std::remove_const_t<View>;
  if constexpr (OuterStridedRef<Ref>::value) {
    using Target = typename OuterStridedRef<Ref>::Target;  // const for an input
    using Pointer = std::conditional_t<std::is_const<Target>::value, const typename Ref::Scalar*,
                                       typename Ref::Scalar*>;
    using Seated = Eigen::Map<Target, 0, Eigen::OuterStride<>>;
    const Eigen::Index size = m.size();
    if (size > 1 && m.outerStride() == 1) {
      const auto data = const_cast<Pointer>(m.data());
      if (layout == Layout::SamplesInRows && !Ref::IsRowMajor && m.rows() == 1) {
        Seated column(data, size, 1, Eigen::OuterStride<>(size));
        View seated(column);
        return f(seated.transpose());
      }
      if (layout == Layout::SamplesInColumns && Ref::IsRowMajor && m.cols() == 1) {
        Seated row(data, 1, size, Eigen::OuterStride<>(size));
        View seated(row);
        return f(seated);
      }
    }
  }
  if (layout == Layout::SamplesInRows) {
    return f(m);
  }
  return f(m.transpose());
}

}  // namespace XENT_SIMD_ISA_NAMESPACE
}  // namespace detail
}  // namespace xent
