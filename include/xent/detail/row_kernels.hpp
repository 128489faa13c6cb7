// xent internals: explicitly vectorized passes over one contiguous sample (a row of logits), used
// whenever a sample's classes are adjacent in memory (samples in rows of a row-major matrix, or in
// columns of a column-major one). Written once over the vector layer (detail/simd/), whose ISA the
// user's compiler flags select; tails use masked loads filled with -inf, whose exp is exactly 0.
//
// They live in the layer's ISA-named inline namespace, so translation units built with different
// -m flags never share one of these symbols (the ODR hazard of header-only SIMD code).
#pragma once

#include <Eigen/Core>
#include <cmath>
#include <limits>

#include "simd/math.hpp"
#include "simd/vec.hpp"

namespace xent {
namespace detail {
inline namespace XENT_SIMD_ISA_NAMESPACE {
namespace simd {

// max over x[0, n) ignoring NaN (max keeps its first argument, the accumulator, when either is
// NaN); a NaN then surfaces through exp(NaN - max) in the sum.
template <class T>
T contiguous_max(const T* x, Eigen::Index n) {
  using V = Vec<T>;
  constexpr Eigen::Index W = V::width;
  const T lowest = -std::numeric_limits<T>::infinity();
  V m0 = V::set1(lowest), m1 = m0, m2 = m0, m3 = m0;  // 4 chains hide the max latency
  Eigen::Index i = 0;
  for (; i + 4 * W <= n; i += 4 * W) {
    m0 = max(m0, V::loadu(x + i));
    m1 = max(m1, V::loadu(x + i + W));
    m2 = max(m2, V::loadu(x + i + 2 * W));
    m3 = max(m3, V::loadu(x + i + 3 * W));
  }
  for (; i + W <= n; i += W) m0 = max(m0, V::loadu(x + i));
  if (i < n) m0 = max(m0, V::load_tail(x + i, static_cast<int>(n - i), lowest));
  return reduce_max(max(max(m0, m1), max(m2, m3)));
}

// The softmax statistics of one contiguous sample with a target class y (or y < 0 for none):
// sum = sum_c exp(x_c - m) and others = the same sum without the target's term, accumulated apart
// (never as sum - e_y, which would cancel as p_y -> 1). When e is given, exp(x_c - m) is also
// stored there (the fused gradient rescales it in place: one exp per element).
template <class T>
struct ContiguousStats {
  T max, sum, others, target_exp;
};

template <class T>
ContiguousStats<T> contiguous_stats(const T* x, Eigen::Index n, Eigen::Index y, T* e) {
  using V = Vec<T>;
  constexpr Eigen::Index W = V::width;
  const T lowest = -std::numeric_limits<T>::infinity();
  const T m = contiguous_max(x, n);
  const V vm = V::set1(m);
  V s0 = V::zero(), s1 = s0;
  T target_exp = 0;
  // The block holding the target is split: its target lane is taken out of the sum.
  const auto add_block = [&](Eigen::Index at, int count) {
    const V v = exp((count == W ? V::loadu(x + at) : V::load_tail(x + at, count, lowest)) - vm);
    if (e) {
      if (count == W) {
        v.storeu(e + at);
      } else {
        v.store_tail(e + at, count);
      }
    }
    if (y >= at && y < at + count) {
      alignas(64) T lanes[W];
      v.storeu(lanes);
      target_exp = lanes[y - at];
      lanes[y - at] = 0;
      s1 += V::loadu(lanes);
    } else {
      s0 += v;
    }
  };
  Eigen::Index i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {  // two chains where the target cannot be
    if (y >= i && y < i + 2 * W) {
      add_block(i, W);
      add_block(i + W, W);
      continue;
    }
    const V v0 = exp(V::loadu(x + i) - vm), v1 = exp(V::loadu(x + i + W) - vm);
    if (e) {
      v0.storeu(e + i);
      v1.storeu(e + i + W);
    }
    s0 += v0;
    s1 += v1;
  }
  for (; i < n; i += W) add_block(i, static_cast<int>(std::min<Eigen::Index>(W, n - i)));
  const T others = reduce_add(s0 + s1);
  return {m, others + target_exp, others, target_exp};
}

// e[c] = a * e[c] - b * w[c] over a contiguous row (w null: b alone is subtracted).
template <class T>
void contiguous_rescale(T* e, Eigen::Index n, T a, T b, const T* w) {
  using V = Vec<T>;
  constexpr Eigen::Index W = V::width;
  const V va = V::set1(a), vb = V::set1(b);
  Eigen::Index i = 0;
  const auto value = [&](V v, Eigen::Index at, int count) {
    if (b == 0) return va * v;
    if (!w) return va * v - vb;
    return va * v - vb * (count == W ? V::loadu(w + at) : V::load_tail(w + at, count, T(0)));
  };
  for (; i + W <= n; i += W) value(V::loadu(e + i), i, W).storeu(e + i);
  if (i < n) {
    const int count = static_cast<int>(n - i);
    value(V::load_tail(e + i, count, T(0)), i, count).store_tail(e + i, count);
  }
}

}  // namespace simd
}  // namespace XENT_SIMD_ISA_NAMESPACE
}  // namespace detail
}  // namespace xent
