// xent internals: the per-sample quantities every softmax-based function starts from.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <type_traits>
#include <utility>

#include "row_kernels.hpp"
#include "sample_loss.hpp"

namespace xent {
namespace detail {
inline namespace XENT_SIMD_ISA_NAMESPACE {

// exp of arguments that are <= 0 (logits minus their max), with exp(-inf) exactly 0. Eigen 3.4's
// vectorized exp clamps its argument (at about -88.7 for float, -709.8 for double) and so returns a
// tiny non-zero value for -inf; a masked class must get probability and gradient exactly 0. Below
// log(smallest normal) the true result is subnormal, and 0 is as close to it as Eigen's value.
template <class ArrayExpr>
auto exp_shifted(const ArrayExpr& v) {
  using Scalar = typename ArrayExpr::Scalar;
  const Scalar underflow = std::log(std::numeric_limits<Scalar>::min());
  return (v < underflow).select(Scalar(0), v.exp());  // NaN < underflow is false: NaN stays NaN
}

// exp(x - m) of a row x and its max m, with the subtraction's rounding error (TwoSum) folded in as
// exp(d) (1 + error): the accuracy of simd::exp_difference on the rows the vector passes cannot
// read. 0 where x - m is below the underflow (-inf included, whose error is NaN).
template <class ArrayExpr>
auto exp_shifted(const ArrayExpr& x, typename ArrayExpr::Scalar m) {
  using Scalar = typename ArrayExpr::Scalar;
  const Scalar underflow = std::log(std::numeric_limits<Scalar>::min());
  const auto d = x - m;
  const auto minus_m = d - x;
  const auto error = (x - (d - minus_m)) - (m + minus_m);
  return (d < underflow).select(Scalar(0), d.exp() + d.exp() * error);
}

// For a row x: the shift m = max x (NaN if any entry is NaN) and s = sum exp(x - m). As in PyTorch,
// a row holding +inf or only -inf yields a NaN s (inf - inf), and so NaN results.
template <class Scalar>
struct RowStats {
  Scalar max;
  Scalar sum;
  Scalar log_sum() const { return std::log(sum); }
};

// Whether a row's coefficients are adjacent in memory, so the vectorized passes can read it.
template <class Row>
constexpr bool is_contiguous_row =
    (int(Row::Flags) & Eigen::DirectAccessBit) != 0 && Row::InnerStrideAtCompileTime == 1;

// Whether every row of a matrix (or matrix view) is contiguous; false for "no matrix" (nullptr_t).
template <class M>
constexpr bool has_contiguous_rows() {
  if constexpr (std::is_same<M, std::nullptr_t>::value) {
    return false;
  } else {
    return is_contiguous_row<std::decay_t<decltype(std::declval<M&>().row(0))>>;
  }
}

// The distance between consecutive rows of a matrix view with contiguous rows (its row length
// when it has one row): what the pointer kernels take as a leading dimension.
template <class M>
Eigen::Index row_step(const M& m) {
  return m.rows() > 1 ? static_cast<Eigen::Index>(m.row(1).data() - m.row(0).data()) : m.cols();
}

// Whether every column of a matrix view is contiguous (samples adjacent in memory: the lane path).
template <class M>
constexpr bool has_contiguous_columns() {
  if constexpr (std::is_same<M, std::nullptr_t>::value) {
    return false;
  } else {
    using Column = std::decay_t<decltype(std::declval<M&>().col(0))>;
    return (int(Column::Flags) & Eigen::DirectAccessBit) != 0 &&
           Column::InnerStrideAtCompileTime == 1;
  }
}

template <class Row>
RowStats<typename Row::Scalar> row_stats(const Row& x) {
  using Scalar = typename Row::Scalar;
  if constexpr (is_contiguous_row<Row>) {
    const auto st = simd::contiguous_stats(x.data(), x.size(), -1, static_cast<Scalar*>(nullptr));
    return {st.max, st.sum};
  } else {
    const Scalar m = x.template maxCoeff<Eigen::PropagateNaN>();
    return {m, exp_shifted(x.array(), m).sum()};
  }
}

// The same, with the target's term kept apart: `others` = sum over c != y of exp(x_c - m). The loss
// and the gradient's target entry use it to keep full relative precision as p_y -> 1, where
// 1 - p_y = others / sum is exact but a rounded p_y subtracted from 1 is not.
template <class Scalar>
struct TargetRowStats : RowStats<Scalar> {
  Scalar others;
  Scalar target_exp;
};

// e, when given, receives exp(x_c - m) for every c (contiguous rows only; see contiguous_stats).
template <class Row>
TargetRowStats<typename Row::Scalar> target_row_stats(const Row& x, Eigen::Index y,
                                                      typename Row::Scalar* e = nullptr) {
  using Scalar = typename Row::Scalar;
  TargetRowStats<Scalar> st;
  if constexpr (is_contiguous_row<Row>) {
    const auto cs = simd::contiguous_stats(x.data(), x.size(), y, e);
    st.max = cs.max;
    st.sum = cs.sum;
    st.others = cs.others;
    st.target_exp = cs.target_exp;
  } else {
    const Eigen::Index classes = x.size();
    const Scalar m = x.template maxCoeff<Eigen::PropagateNaN>();
    const Scalar others = exp_shifted(x.head(y).array(), m).sum() +
                          exp_shifted(x.tail(classes - y - 1).array(), m).sum();
    const Scalar target_exp = simd::exp_difference(Scalar(x(y)), m);
    st.max = m;
    st.sum = others + target_exp;
    st.others = others;
    st.target_exp = target_exp;
  }
  return st;
}

}  // namespace XENT_SIMD_ISA_NAMESPACE
}  // namespace detail
}  // namespace xent
