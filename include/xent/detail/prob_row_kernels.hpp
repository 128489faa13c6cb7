// xent internals: cross-entropy with class-probability targets over one contiguous row of logits
// and the matching contiguous row of targets. Per row, with t'_c = (1 - e) t_c + e/C and
// q_c = w_c t'_c:
//   loss = Q log s - sum_{c: t'_c != 0} q_c (x_c - m),   Q = sum_c q_c,  s = sum_c exp(x_c - m)
//   grad = g (Q / s) exp(x_c - m) - g q_c
// (0 log 0 = 0: a class whose smoothed target is exactly 0 adds nothing, even at x_c = -inf.)
// The scan reads x_c and t_c before it stores exp(x_c - m) into e_c, so e may be x itself.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>

#include "row_kernels.hpp"

namespace xent {
namespace detail {
inline namespace XENT_SIMD_ISA_NAMESPACE {
namespace simd {

template <class T>
struct ProbTargets {
  const T* t;
  const T* w;  // null: unweighted
  T keep;      // 1 - e
  T spread;    // e / C
  // q_c over one packet (padding lanes 0) and whether t'_c is 0 (or the lane is padding).
  XENT_SIMD_INLINE Vec<T> q(Eigen::Index at, int count, Mask<T>& zero) const {
    using V = Vec<T>;
    constexpr int W = V::width;
    const V tv = count == W ? V::loadu(t + at) : V::load_tail(t + at, count, T(0));
    const V tp = V::set1(keep) * tv + V::set1(spread);
    zero = tp == V::zero();
    V qv = tp;
    if (w) qv = (count == W ? V::loadu(w + at) : V::load_tail(w + at, count, T(0))) * tp;
    if (count == W) return qv;
    const Mask<T> inside = Mask<T>::first(count);
    zero = zero | ~inside;  // padding lanes count as zero targets
    return select(inside, qv, V::zero());
  }
};

// The sums of one row, each compensated (CompensatedTotal): exp(x_c - m); Q = sum_c q_c; the kept
// q_c (t'_c != 0, for the online pass's rescaling); sum_{t'_c != 0} q_c (x_c - m). Summed plainly,
// Q alone cost 6 000 ulp on a loss at C = 262 144 with label smoothing (C tiny terms e / C joining
// one total, each rounding the same way) and the shifted sum 64 ulp at logits +-1e30
// (tools/accuracy). The exps and the kept q_c (used only by the online pass) join their totals a
// chunk at a time, as in scan_row; Q and the shifted sum packet by packet.
template <class T>
struct ProbSums {
  CompensatedTotal<T> exps, q, kept_q, shifted;
};

// Adds [lo, hi) against the shift vm to the sums (exps stored into e when given).
template <class T>
void prob_range(const T* x, Eigen::Index lo, Eigen::Index hi, const ProbTargets<T>& p, T* e,
                Vec<T> vm, ProbSums<T>& sums, const T* prefetch) {
  using V = Vec<T>;
  constexpr Eigen::Index W = V::width;
  constexpr Eigen::Index kChunk = 64 * W;
  const T lowest = -std::numeric_limits<T>::infinity();
  ProbSums<T> a = sums;  // local: packets may alias the stored floats
  for (Eigen::Index c = lo; c < hi; c += kChunk) {
    const Eigen::Index c_hi = std::min(hi, c + kChunk);
    V exps = V::zero(), kept_q = V::zero();  // joining their totals once per chunk
    CompensatedTotal<T> q, shifted;           // compensated within the chunk, then absorbed
    for (Eigen::Index i = c; i < c_hi; i += W) {
      const int count = static_cast<int>(std::min<Eigen::Index>(W, c_hi - i));
      if (prefetch) prefetch_row_part(prefetch + (i - lo), W);
      V d;
      const V v =
          exp_difference(count == W ? V::loadu(x + i) : V::load_tail(x + i, count, lowest), vm, d);
      Mask<T> zero;
      const V qv = p.q(i, count, zero);
      if (e) {
        if (count == W) {
          v.storeu(e + i);
        } else {
          v.store_tail(e + i, count);
        }
      }
      exps += v;
      q.add(qv);
      shifted.add(select(zero, V::zero(), qv * d));
      kept_q += select(zero, V::zero(), qv);
    }
    a.exps.add(exps);
    a.kept_q.add(kept_q);
    a.q.absorb(q);
    a.shifted.absorb(shifted);
  }
  sums = a;
}

// A compensated total's lanes, summed compensated.
template <class T>
T lane_total(const CompensatedTotal<T>& t) {
  CompensatedScalar<T> total;
  t.add_lanes_to(total);
  return total.total();
}

// The statistics of one row (two passes, or the online pass of scan_row for long rows); r.shifted
// receives sum_{t'_c != 0} q_c (x_c - max) and total + total_low Q. next_row (or null) is prefetched.
template <class T>
void scan_prob_row(const T* x, Eigen::Index n, const ProbTargets<T>& p, T* e, RowScan<T>& r,
                   T& total, T& total_low, const T* next_row) {
  using V = Vec<T>;
  const T inf = std::numeric_limits<T>::infinity();
  ProbSums<T> a;
  r.blocks = 0;
  r.block = n;
  CompensatedScalar<T> shifted;
  if (!online_row<T>(n, e != nullptr)) {
    r.max = contiguous_max(x, n);
    prob_range(x, 0, n, p, e, V::set1(r.max), a, next_row);
    a.shifted.add_lanes_to(shifted);
  } else {  // as scan_row
    constexpr Eigen::Index W = V::width;
    constexpr Eigen::Index kBlock = 4096 / static_cast<Eigen::Index>(sizeof(T));
    Eigen::Index block = (n + RowScan<T>::kMaxBlocks - 1) / RowScan<T>::kMaxBlocks;
    block = std::max(kBlock, (block + 4 * W - 1) / (4 * W) * (4 * W));
    T m = -inf;
    CompensatedScalar<T> q_sum;
    Eigen::Index b = 0;
    for (Eigen::Index lo = 0; lo < n; lo += block, ++b) {
      const Eigen::Index hi = std::min(n, lo + block);
      const T m_new = std::max(m, contiguous_max(x + lo, hi - lo));
      if (m_new > m) {
        a.exps.scale(V::set1(exp_difference(m, m_new)));
        const T kept = q_sum.total();
        if (kept != 0) shifted.add(-rounded((m_new - m) * kept));
      }
      m = m_new;
      r.block_max[b] = m;
      prob_range(x, lo, hi, p, e, V::set1(m == -inf ? inf : m), a, hi < n ? x + hi : next_row);
      a.shifted.add_lanes_to(shifted);
      a.kept_q.add_lanes_to(q_sum);
      a.shifted = a.kept_q = CompensatedTotal<T>();
    }
    r.max = m;
    r.block = block;
    r.blocks = b;
    if (m == -inf) a.exps.sum = V::set1(std::numeric_limits<T>::quiet_NaN());
  }
  r.others = r.sum = lane_total(a.exps);
  r.target_exp = 0;
  r.shifted = shifted.total();
  // Q as total + total_low: the loss multiplies log s by both, so Q's rounding to T does not enter
  // it (rounded, Q = 1 - 6e-8 for a true 1 - 2e-8 cost 0.8 ulp of a loss of 12 at C = 262 144).
  CompensatedScalar<T> q;
  a.q.add_lanes_to(q);
  total = q.total();
  total_low = std::isfinite(total) ? q.error - (total - q.sum) : T(0);
}

// e_c = a_b e_c - g q_c over a row scanned by scan_prob_row, a_b = ratio times the block's factor
// (RowScan::block_factor, applied by with_factor).
template <class T>
void prob_rescale(T* e, Eigen::Index n, const ProbTargets<T>& p, typename RowScan<T>::Wide ratio,
                  T g, const RowScan<T>& r) {
  using V = Vec<T>;
  constexpr Eigen::Index W = V::width;
  const V vg = V::set1(g);
  const Eigen::Index block = r.blocks == 0 ? std::max<Eigen::Index>(n, 1) : r.block;
  for (Eigen::Index lo = 0, k = 0; lo < n; lo += block, ++k) {
    const Eigen::Index hi = std::min(n, lo + block);
    with_factor(r.block_factor(ratio, k), [&](auto scale) {
      for (Eigen::Index i = lo; i < hi; i += W) {
        const int count = static_cast<int>(std::min<Eigen::Index>(W, hi - i));
        Mask<T> zero;
        const V qv = p.q(i, count, zero);
        if (count == W) {
          (scale(V::loadu(e + i)) - vg * qv).storeu(e + i);
        } else {
          (scale(V::load_tail(e + i, count, T(0))) - vg * qv).store_tail(e + i, count);
        }
      }
    });
  }
}

}  // namespace simd
}  // namespace XENT_SIMD_ISA_NAMESPACE
}  // namespace detail
}  // namespace xent
