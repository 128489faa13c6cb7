// xent internals: a SIMD lane per sample. Used whenever the samples, not the classes, are adjacent
// in memory (a column-major N x C matrix with samples in rows, or a row-major one with samples in
// columns), and for row-major matrices with few classes after a transpose into stack scratch
// (per-row horizontal reductions cost more than the work itself when C is small).
//
// The kernels work on a "strip": n samples stored lane-major, element (sample i, class c) at
// x[c * ld + i]. Every pass walks the classes in order and, per class, the strip's packets of
// samples, so per-sample results never depend on where a strip starts (bitwise the same for any
// thread count) and a strip row is read sequentially. Tails use masked loads (filled with -inf,
// whose lanes are computed but never stored). Per-lane state lives in LaneState's stack arrays.
//
// Same arithmetic as the per-row kernels (row_kernels.hpp): max ignoring NaN (max keeps its first
// argument), exp(x - m) summed with the target's term kept apart, the fused gradient stores the
// exps into the output and rescales them in place (or, for strips beyond L2, recomputes them and
// writes the output with streaming stores). Strips beyond L3 find the max and the sum in one
// online pass (lane_online).
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "../tuning.hpp"
#include "parallel.hpp"
#include "sample_loss.hpp"
#include "simd/math.hpp"
#include "simd/vec.hpp"

namespace xent {
namespace detail {
inline namespace XENT_SIMD_ISA_NAMESPACE {
namespace simd {

// Most samples per strip (bounds the per-lane stack arrays), and the strip over column-major
// storage. Wide: every class of a strip is a visit to another page (N a few thousand), so a strip
// costs C TLB misses per pass, and its samples must fill several cache lines for the prefetchers.
// (Narrower strips that would keep the C x S strip in L2 measured 2-4x slower at 4096 x 1000: the
// columns' power-of-two stride also maps them onto a few cache sets.)
constexpr Eigen::Index kLaneStripMax = 256;

// Whether a pass may store exp(x - m) into the output for the next pass to rescale: only when the
// strip's output stays in L2. Beyond, the last pass reads x again and recomputes the exps: the
// output is then written once rather than written, read back from L3 and written again (the exp
// is cheap next to those misses).
template <class T>
bool lane_keep_exps(Eigen::Index classes, Eigen::Index n) {
  return classes * n * Eigen::Index(sizeof(T)) <= (Eigen::Index(192) << 10);
}

// Whether one online pass for the max and the sum (lane_online_max_sum) replaces two passes: only
// for strips beyond xent::online_lane_strip_bytes() (default 8 MiB), where each pass streams the
// strip from DRAM. Below, the second read comes from L3 and costs less than the online pass's
// extra work (measured, float, AVX-512, 1 thread, col/row-major Gelem/s ratio, two passes ->
// online: 4096 x 1000 (1 MiB strips) softmax 0.42 -> 0.38, fused cross-entropy 0.41 -> 0.38;
// 16384 x 4096 (4 MiB) 0.32 -> 0.26, 0.30 -> 0.23; 512 x 32000 (31 MiB) 0.17 -> 0.22, 0.14 ->
// 0.17). Such a strip never keeps its exps (lane_keep_exps): the online pass computes none at the
// final max.
template <class T>
bool lane_online(Eigen::Index classes, Eigen::Index n) {
  return static_cast<std::size_t>(classes * n) * sizeof(T) > online_lane_strip_bytes();
}

template <class T>
struct LaneState {
  alignas(64) T max[kLaneStripMax];
  alignas(64) T sum[kLaneStripMax];  // others (target's term excluded) when there is a target
  alignas(64) T a[kLaneStripMax];
  alignas(64) T b[kLaneStripMax];
};

// Calls f(i, count) for each packet of the strip: i its first sample, count <= W its size.
template <class T, class F>
XENT_SIMD_INLINE void for_each_packet(Eigen::Index n, F&& f) {
  constexpr Eigen::Index W = Vec<T>::width;
  Eigen::Index i = 0;
  for (; i + W <= n; i += W) f(i, static_cast<int>(W));
  if (i < n) f(i, static_cast<int>(n - i));
}

// Each class of a strip is a separate stretch of memory, ld apart (pages apart for a big N), which
// the hardware prefetchers do not follow; the passes ask for the class kPrefetchAhead rows ahead.
constexpr Eigen::Index kPrefetchAhead = 12;

template <class T>
XENT_SIMD_INLINE const T* row_ahead(const T* x, Eigen::Index ld, Eigen::Index c,
                                    Eigen::Index classes) {
  return c + kPrefetchAhead < classes ? x + (c + kPrefetchAhead) * ld : nullptr;
}
template <class T>
XENT_SIMD_INLINE void prefetch_lanes(const T* ahead, Eigen::Index i) {
#if defined(__GNUC__)
  if (ahead) __builtin_prefetch(ahead + i);
#else
  if (ahead) Eigen::internal::prefetch(ahead + i);
#endif
}
// The same for a line about to be written (its ownership is requested early).
template <class T>
XENT_SIMD_INLINE void prefetch_out(T* ahead, Eigen::Index i) {
#if defined(__GNUC__)
  if (ahead) __builtin_prefetch(ahead + i, 1);
#else
  if (ahead) Eigen::internal::prefetch(ahead + i);
#endif
}
template <class T>
XENT_SIMD_INLINE T* out_ahead(T* out, Eigen::Index ld, Eigen::Index c, Eigen::Index classes) {
  return c + kPrefetchAhead < classes ? out + (c + kPrefetchAhead) * ld : nullptr;
}

template <class T>
XENT_SIMD_INLINE Vec<T> load_lanes(const T* p, int count, T fill) {
  return count == Vec<T>::width ? Vec<T>::loadu(p) : Vec<T>::load_tail(p, count, fill);
}
template <class T>
XENT_SIMD_INLINE void store_lanes(T* p, int count, Vec<T> v) {
  if (count == Vec<T>::width) {
    v.storeu(p);
  } else {
    v.store_tail(p, count);
  }
}

// Output strips beyond L2 (!lane_keep_exps) are written with non-temporal stores where the ISA has
// them: the lines are not read for ownership first, which otherwise competes with the strided reads
// of the logits (measured, 4096 x 1000 float, AVX-512: a strided read + write pass at 6.2 Gelem/s,
// 11 with streaming stores). Not in place (an output over its input: the lines were just read, and
// plain stores measured faster). Only for whole, aligned packets; stream_fence() orders them
// before the strip's results are used (by another thread, say).
// One streaming store of a whole packet at p (aligned to the packet); false where the tier has none
// (Vec::stream is a plain store there, and store_lanes does as well).
template <class T>
XENT_SIMD_INLINE bool stream_packet(T* p, Vec<T> v) {
#if defined(XENT_SIMD_TIER_AVX512) || defined(XENT_SIMD_TIER_AVX2) || defined(XENT_SIMD_TIER_SSE2)
  v.stream(p);
  return true;
#else
  static_cast<void>(p);
  static_cast<void>(v);
  return false;
#endif
}

template <class T>
XENT_SIMD_INLINE void stream_lanes(T* p, int count, Vec<T> v) {
  if (count == Vec<T>::width && reinterpret_cast<std::uintptr_t>(p) % sizeof(Vec<T>) == 0 &&
      stream_packet(p, v)) {
    return;
  }
  store_lanes(p, count, v);
}
// stream_fence() is in simd/vec.hpp.

// A strip's running sum over the classes (one per lane), taken kClassGroup classes at a time: a
// group's terms accumulate apart and join the total once per group, so the total rounds at its
// own magnitude C / 4 times instead of C (the group's sums round at the group's magnitude). The
// classes still stream one at a time (the same one load and store per class and packet, on the
// group's array). Measured (tools/accuracy, AVX-512, C = 10): softmax mean 0.575 -> 0.535 ulp,
// cross-entropy gradient 0.60 -> 0.57 (PyTorch 0.575 and 1.06). Cost (float, AVX-512, 1 thread,
// 8192 x 10 and 4096 x 100): 0-4 %, 7-9 % on the fused passes of a column-major 4096 x 100.
// (A tree (t0 + t1) + (t2 + t3) per group was a little more accurate but 20-35 % slower there.)
// Beyond kCompensateFrom classes the groups join the total with TwoSum (CompensatedClassSum): C / 4
// plain additions of terms of one sign round the same way (AVX2, float, column-major 8 x 262 144
// at logit scale 1e-3: the cross-entropy 457 ulp off; with smoothing, whose Q sums C terms
// e / C, 20 000 ulp; compensated: under 2).
constexpr Eigen::Index kClassGroup = 4;
constexpr Eigen::Index kCompensateFrom = 16 * kClassGroup;

template <class T>
class GroupedClassSum {
 public:
  // total: the running sums (n lanes), set to zero here.
  GroupedClassSum(T* total, Eigen::Index n, Eigen::Index classes)
      : total_(total), classes_(classes), compensated_(classes > kCompensateFrom) {
    for_each_packet<T>(n, [&](Eigen::Index i, int) {
      Vec<T>::zero().store(total + i);
      if (compensated_) Vec<T>::zero().store(error_ + i);
    });
  }
  // Adds class c's terms of packet i (classes in order, each over every packet of the strip).
  XENT_SIMD_INLINE void add(Eigen::Index c, Eigen::Index i, Vec<T> v) {
    const Vec<T> group = c % kClassGroup == 0 ? v : Vec<T>::load(part_ + i) + v;
    if (c % kClassGroup == kClassGroup - 1 || c + 1 == classes_) {
      if (compensated_) {
        add_compensated(c, i, group);
      } else {
        (Vec<T>::load(total_ + i) + group).store(total_ + i);
      }
    } else {
      group.store(part_ + i);
    }
  }

 private:
  XENT_SIMD_INLINE void add_compensated(Eigen::Index c, Eigen::Index i, Vec<T> v) {
    const Vec<T> sum = Vec<T>::load(total_ + i), s = sum + v, v_part = s - sum;
    const Vec<T> error = Vec<T>::load(error_ + i) + ((sum - (s - v_part)) + (v - v_part));
    if (c + 1 == classes_) {  // the total: the error dropped where the sum is not finite
      select(s - s == Vec<T>::zero(), s + error, s).store(total_ + i);
    } else {
      s.store(total_ + i);
      error.store(error_ + i);
    }
  }

  alignas(64) T part_[kLaneStripMax];
  alignas(64) T error_[kLaneStripMax];
  T* total_;
  Eigen::Index classes_;
  bool compensated_;
};

// A strip's running sum over the classes with each addition's rounding error kept apart (TwoSum,
// as simd::CompensatedTotal): label smoothing's shifted sum sum_c w_c (x_c - m), whose terms are
// all of one sign and, at huge logits, all of one size (grouped, a column-major 16 x 4097 batch
// with logits +-1e30 was 108 ulp off in float; compensated, under 1). The total is exact but for
// its last rounding; an infinite term (a masked class) leaves the sum infinite.
template <class T>
class CompensatedClassSum {
 public:
  CompensatedClassSum(T* total, Eigen::Index n, Eigen::Index classes)
      : total_(total), classes_(classes) {
    for_each_packet<T>(n, [&](Eigen::Index i, int) {
      Vec<T>::zero().store(total + i);
      Vec<T>::zero().store(error_ + i);
    });
  }
  // Adds class c's terms of packet i (classes in order, each over every packet of the strip).
  XENT_SIMD_INLINE void add(Eigen::Index c, Eigen::Index i, Vec<T> v) {
    const Vec<T> sum = Vec<T>::load(total_ + i), s = sum + v, v_part = s - sum;
    const Vec<T> error = Vec<T>::load(error_ + i) + ((sum - (s - v_part)) + (v - v_part));
    if (c + 1 == classes_) {  // the total: the error dropped where the sum is not finite
      select(s - s == Vec<T>::zero(), s + error, s).store(total_ + i);
    } else {
      s.store(total_ + i);
      error.store(error_ + i);
    }
  }

 private:
  alignas(64) T error_[kLaneStripMax];
  T* total_;
  Eigen::Index classes_;
};

// m[i] = max_c x(i, c), ignoring NaN (NaN then surfaces through exp(NaN - m) in the sum); arg[i],
// when given, the first class holding it (-1 for a lane of -inf and NaN only).
template <class T>
void lane_max(const T* x, Eigen::Index ld, Eigen::Index classes, Eigen::Index n, T* m,
              T* arg = nullptr) {
  using V = Vec<T>;
  const T lowest = -std::numeric_limits<T>::infinity();
  for_each_packet<T>(n, [&](Eigen::Index i, int) {
    V::set1(lowest).store(m + i);
    if (arg) V::set1(T(-1)).store(arg + i);
  });
  for (Eigen::Index c = 0; c < classes; ++c) {
    const T* row = x + c * ld;
    const T* ahead = row_ahead(x, ld, c, classes);
    const V cv = V::set1(static_cast<T>(c));
    for_each_packet<T>(n, [&](Eigen::Index i, int count) {
      prefetch_lanes(ahead, i);
      const V v = load_lanes(row + i, count, lowest), old = V::load(m + i);
      if (arg) select(v > old, cv, V::load(arg + i)).store(arg + i);
      max(old, v).store(m + i);
    });
  }
}

// s[i] = sum_c exp(x(i, c) - m[i]), without class cls[i] when cls is given; e(i, c) receives each
// exp when e is given.
template <class T>
void lane_exp_sum(const T* x, Eigen::Index ld, Eigen::Index classes, Eigen::Index n, const T* m,
                  T* s, T* e, Eigen::Index eld, const T* cls = nullptr) {
  using V = Vec<T>;
  const T lowest = -std::numeric_limits<T>::infinity();
  GroupedClassSum<T> sum(s, n, classes);
  for (Eigen::Index c = 0; c < classes; ++c) {
    const T* row = x + c * ld;
    const T* ahead = row_ahead(x, ld, c, classes);
    T* e_ahead = e ? out_ahead(e, eld, c, classes) : nullptr;
    const V cv = V::set1(static_cast<T>(c));
    for_each_packet<T>(n, [&](Eigen::Index i, int count) {
      prefetch_lanes(ahead, i);
      prefetch_out(e_ahead, i);
      const V v = exp_difference(load_lanes(row + i, count, lowest), V::load(m + i));
      sum.add(c, i, cls ? select(V::load(cls + i) == cv, V::zero(), v) : v);
      if (e) store_lanes(e + c * eld + i, count, v);
    });
  }
}

// The max and the sum of lane_max and lane_exp_sum in one pass over a strip (for strips beyond
// L3, see lane_online): s is kept relative to the running max and
// rescaled by exp(old - new) when a lane's max grows, which a packet checks first (after the first
// classes it rarely does). s[i] excludes class cls[i] when cls is given (the target's term, see
// cross_entropy_lanes). The rounding differs from the two passes by a few ulp of s, not in kind:
// NaN entries leave the max and reach the sum, +inf ones give the same NaN, a -inf entry adds an
// exact 0 (two passes give NaN there only when the final max is -inf: such lanes get a NaN sum at
// the end, as lane_exp_sum gives them).
template <class T>
void lane_online_max_sum(const T* x, Eigen::Index ld, Eigen::Index classes, Eigen::Index n,
                         const T* cls, T* m, T* s) {
  using V = Vec<T>;
  const T lowest = -std::numeric_limits<T>::infinity();
  const V minus_inf = V::set1(lowest);
  for_each_packet<T>(n, [&](Eigen::Index i, int) {
    minus_inf.store(m + i);
    V::zero().store(s + i);
  });
  for (Eigen::Index c = 0; c < classes; ++c) {
    const T* row = x + c * ld;
    const T* ahead = row_ahead(x, ld, c, classes);
    const V cv = V::set1(static_cast<T>(c));
    for_each_packet<T>(n, [&](Eigen::Index i, int count) {
      prefetch_lanes(ahead, i);
      const V v = load_lanes(row + i, count, lowest);
      const V old = V::load(m + i);
      const V mx = max(old, v);
      V sum = V::load(s + i);
      const auto grown = mx > old;
      if (any(grown)) {  // only the grown lanes: exp(-inf - -inf) would be NaN
        sum = select(grown, sum * exp_difference(old, mx), sum);
        mx.store(m + i);
      }
      V e = select(v == minus_inf, V::zero(), exp_difference(v, mx));
      if (cls) e = select(V::load(cls + i) == cv, V::zero(), e);
      (sum + e).store(s + i);
    });
  }
  const V nan = V::set1(std::numeric_limits<T>::quiet_NaN());
  for_each_packet<T>(n, [&](Eigen::Index i, int) {
    select(V::load(m + i) == minus_inf, nan, V::load(s + i)).store(s + i);
  });
}

// ---- log_softmax, softmax, logsumexp ------------------------------------------------------------

// out(i, c) = (x(i, c) - m) - log s, in that order (as the per-row path). With two passes, log s is
// log1p of the sum without the first max's term, as RowScan::log_sum (NaN where the max is
// infinite: inf - inf, -inf - -inf); the online pass keeps log s.
template <class T>
void log_softmax_lanes(const T* x, Eigen::Index ld, Eigen::Index classes, Eigen::Index n, T* out,
                       Eigen::Index old, LaneState<T>& st) {
  using V = Vec<T>;
  if (!lane_online<T>(classes, n)) {
    lane_max(x, ld, classes, n, st.max, st.b);
    lane_exp_sum(x, ld, classes, n, st.max, st.sum, static_cast<T*>(nullptr), 0, st.b);
    const V inf = V::set1(std::numeric_limits<T>::infinity());
    const V nan = V::set1(std::numeric_limits<T>::quiet_NaN());
    for_each_packet<T>(n, [&](Eigen::Index i, int) {
      select(abs(V::load(st.max + i)) < inf, log1p(V::load(st.sum + i)), nan).store(st.a + i);
    });
  } else {
    lane_online_max_sum(x, ld, classes, n, static_cast<const T*>(nullptr), st.max, st.sum);
    for_each_packet<T>(n, [&](Eigen::Index i, int) { log(V::load(st.sum + i)).store(st.a + i); });
  }
  const bool stream = !lane_keep_exps<T>(classes, n) && out != x;
  for (Eigen::Index c = 0; c < classes; ++c) {
    const T* ahead = row_ahead(x, ld, c, classes);
    T* o_ahead = stream ? nullptr : out_ahead(out, old, c, classes);
    for_each_packet<T>(n, [&](Eigen::Index i, int count) {
      prefetch_lanes(ahead, i);
      prefetch_out(o_ahead, i);
      const V v = load_lanes(x + c * ld + i, count, T(0));
      const V r = (v - V::load(st.max + i)) - V::load(st.a + i);
      if (stream) {
        stream_lanes(out + c * old + i, count, r);
      } else {
        store_lanes(out + c * old + i, count, r);
      }
    });
  }
  if (stream) stream_fence();
}

// 1 / (1 + o) for o >= 0 (or NaN) within about half an ulp where the multiply-add is fused: the
// rounding error of 1 + o (TwoSum) and the reciprocal's residual 1 - r (1 + o) (exact with FMA)
// folded back in by one Newton step. As p_max -> 1, a float 1 / (1 + o) carries the sum's rounding
// too: up to 1.5 ulp on p_max (softmax at C = 2 to 10, tools/accuracy: every mean and max lower).
// Without FMA the residual is rounded and the step measured worse in some cells: plain division.
template <class T>
XENT_SIMD_INLINE Vec<T> reciprocal_of_one_plus(Vec<T> o) {
  using V = Vec<T>;
  const V one = V::set1(T(1));
#if XENT_SIMD_HAS_FMA
  const V s = one + o, o_part = s - one;
  const V error = (one - (s - o_part)) + (o - o_part);  // (1 + o) - s
  const V r = one / s;
  const V residual = fma(V::zero() - r, s, one);
  return fma(r, residual - r * error, r);
#else
  return one / (one + o);
#endif
}

// out = exp(x - m) * (1 / s): the exps are stored once, then scaled in place.
template <class T>
void softmax_lanes(const T* x, Eigen::Index ld, Eigen::Index classes, Eigen::Index n, T* out,
                   Eigen::Index old, LaneState<T>& st) {
  using V = Vec<T>;
  const bool online = lane_online<T>(classes, n);
  const bool keep = !online && lane_keep_exps<T>(classes, n);
  if (!online) {
    // The first max's term apart: s = 1 + others, one rounding (NaN where the max is infinite),
    // as the per-row path.
    lane_max(x, ld, classes, n, st.max, st.b);
    lane_exp_sum(x, ld, classes, n, st.max, st.sum, keep ? out : nullptr, old, st.b);
    const V inf = V::set1(std::numeric_limits<T>::infinity());
    const V nan = V::set1(std::numeric_limits<T>::quiet_NaN());
    for_each_packet<T>(n, [&](Eigen::Index i, int) {
      select(abs(V::load(st.max + i)) < inf, reciprocal_of_one_plus(V::load(st.sum + i)), nan)
          .store(st.a + i);
    });
  } else {
    lane_online_max_sum(x, ld, classes, n, static_cast<const T*>(nullptr), st.max, st.sum);
    for_each_packet<T>(
        n, [&](Eigen::Index i, int) { (V::set1(T(1)) / V::load(st.sum + i)).store(st.a + i); });
  }
  const bool stream = !keep && static_cast<const T*>(out) != x;
  for (Eigen::Index c = 0; c < classes; ++c) {
    const T* ahead = keep ? nullptr : row_ahead(x, ld, c, classes);
    T* o_ahead = stream ? nullptr : out_ahead(out, old, c, classes);
    for_each_packet<T>(n, [&](Eigen::Index i, int count) {
      prefetch_lanes(ahead, i);
      prefetch_out(o_ahead, i);
      T* p = out + c * old + i;
      const V e = keep ? load_lanes(p, count, T(0))
                       : exp_difference(
                             load_lanes(x + c * ld + i, count, -std::numeric_limits<T>::infinity()),
                             V::load(st.max + i));
      if (!stream) {
        store_lanes(p, count, e * V::load(st.a + i));
      } else {
        stream_lanes(p, count, e * V::load(st.a + i));
      }
    });
  }
  if (stream) stream_fence();
}

// out[i] = m + log s, with torch.logsumexp's rules where the max is infinite: all -inf gives -inf,
// +inf gives +inf; any NaN gives NaN (the max ignores NaN, so those rare lanes are rescanned).
template <class T>
void logsumexp_lanes(const T* x, Eigen::Index ld, Eigen::Index classes, Eigen::Index n, T* out,
                     LaneState<T>& st) {
  using V = Vec<T>;
  lane_max(x, ld, classes, n, st.max, st.b);  // the first max's term apart: log1p(others)
  lane_exp_sum(x, ld, classes, n, st.max, st.sum, static_cast<T*>(nullptr), 0, st.b);
  for_each_packet<T>(n, [&](Eigen::Index i, int count) {
    const V m = V::load(st.max + i);
    store_lanes(out + i, count, m + log1p(V::load(st.sum + i)));  // infinite max: fixed below
  });
  for (Eigen::Index i = 0; i < n; ++i) {
    const T m = st.max[i];
    if (!std::isinf(m)) continue;
    bool nan = false;
    for (Eigen::Index c = 0; c < classes; ++c) nan = nan || std::isnan(x[c * ld + i]);
    out[i] = nan ? std::numeric_limits<T>::quiet_NaN() : m;
  }
}

// ---- backward of softmax / log_softmax from their outputs y -------------------------------------

// log_softmax: out = g - exp(y) * sum_c g. softmax: out = y * (g - sum_c g y).
template <bool kLog, class T>
void softmax_backward_lanes(const T* g, Eigen::Index gld, const T* y, Eigen::Index yld,
                            Eigen::Index classes, Eigen::Index n, T* out, Eigen::Index old,
                            LaneState<T>& st) {
  using V = Vec<T>;
  for_each_packet<T>(n, [&](Eigen::Index i, int) { V::zero().store(st.sum + i); });
  for (Eigen::Index c = 0; c < classes; ++c) {
    for_each_packet<T>(n, [&](Eigen::Index i, int count) {
      V v = load_lanes(g + c * gld + i, count, T(0));
      if (!kLog) v = v * load_lanes(y + c * yld + i, count, T(0));
      (V::load(st.sum + i) + v).store(st.sum + i);
    });
  }
  const bool stream = !lane_keep_exps<T>(classes, n) && out != g && out != y;
  for (Eigen::Index c = 0; c < classes; ++c) {
    for_each_packet<T>(n, [&](Eigen::Index i, int count) {
      const V gv = load_lanes(g + c * gld + i, count, T(0));
      const V yv = load_lanes(y + c * yld + i, count, T(0));
      const V s = V::load(st.sum + i);
      const V r = kLog ? gv - exp(yv) * s : yv * (gv - s);
      if (stream) {
        stream_lanes(out + c * old + i, count, r);
      } else {
        store_lanes(out + c * old + i, count, r);
      }
    });
  }
  if (stream) stream_fence();
}

// ---- cross-entropy with class-index targets
// ------------------------------------------------------

template <class T>
struct CrossEntropyLaneParams {
  bool weighted, smoothing;
  T eps, eps_per_class, weight_sum;
  const T* w;  // class weights, or null
};

// Per-sample loss (and gradient when g is given) of a strip. cls[i] is sample i's class as T, set
// for whole packets (negative: ignored, loss 0 and an exactly-zero gradient row). losses receives
// the n losses (aligned, whole packets: padding lanes get 0); with g, scales holds the n gradient
// scales. Plain arrays rather than the caller's callbacks, so the kernel is compiled once per T.
// Closed forms and precision care as CrossEntropyKernel::run_index: `others` (the sum without the
// target's term) gives 1 - p_y and -log p_y = log1p(others) exactly when the target is the max.
template <class T>
void cross_entropy_lanes(const T* x, Eigen::Index ld, Eigen::Index classes, Eigen::Index n,
                         const T* cls, const CrossEntropyLaneParams<T>& p, T* losses, T* g,
                         Eigen::Index gld, const T* scales, LaneState<T>& st) {
  using V = Vec<T>;
  constexpr Eigen::Index W = V::width;
  const T lowest = -std::numeric_limits<T>::infinity();
  // One pass for the max and the sum where the strip is beyond L3 (label smoothing's sum of
  // x_c - m needs the final max: two passes).
  const bool online = !p.smoothing && lane_online<T>(classes, n);
  const bool keep = g && !online && lane_keep_exps<T>(classes, n);
  if (!online) lane_max(x, ld, classes, n, st.max);
  // b: the target's logit (read directly, once per sample), sum: the others (the target's term
  // masked out as it is accumulated), shifted: sum_c w_c (x_c - m).
  alignas(64) T shifted[kLaneStripMax];
  GroupedClassSum<T> others_sum(st.sum, n, classes);
  CompensatedClassSum<T> shifted_sum(shifted, n, classes);
  for (Eigen::Index i = 0; i < (n + W - 1) / W * W; ++i) {
    st.b[i] = (i < n && cls[i] >= 0) ? x[static_cast<Eigen::Index>(cls[i]) * ld + i] : T(0);
  }
  if (online) lane_online_max_sum(x, ld, classes, n, cls, st.max, st.sum);
  for (Eigen::Index c = 0; !online && c < classes; ++c) {
    const T* row = x + c * ld;
    const T* ahead = row_ahead(x, ld, c, classes);
    T* g_ahead = keep ? out_ahead(g, gld, c, classes) : nullptr;
    const V cv = V::set1(static_cast<T>(c));
    for_each_packet<T>(n, [&](Eigen::Index i, int count) {
      prefetch_lanes(ahead, i);
      prefetch_out(g_ahead, i);
      const V v = load_lanes(row + i, count, lowest);
      V d;
      const V e = exp_difference(v, V::load(st.max + i), d);
      const auto is_target = V::load(cls + i) == cv;
      others_sum.add(c, i, select(is_target, V::zero(), e));
      if (p.smoothing) shifted_sum.add(c, i, p.w ? V::set1(p.w[c]) * d : d);
      if (keep) store_lanes(g + c * gld + i, count, e);
    });
  }
  // Per packet: the losses, then (fused) the rescale factors a, b and the target's gradient.
  alignas(64) T lane_w[kLaneStripMax], lane_g[kLaneStripMax], target_grad[kLaneStripMax];
  for (Eigen::Index i = 0; i < (n + W - 1) / W * W; ++i) {  // whole packets: no unset lane
    const Eigen::Index y = i < n ? static_cast<Eigen::Index>(cls[i]) : -1;
    lane_w[i] = (p.weighted && y >= 0) ? p.w[y] : T(1);
    lane_g[i] = (g && i < n) ? scales[i] : T(0);
  }
  const V one = V::set1(T(1)), eps = V::set1(p.eps), epc = V::set1(p.eps_per_class),
          wsum = V::set1(p.weight_sum);
  for_each_packet<T>(n, [&](Eigen::Index i, int) {
    const auto ignored = V::load(cls + i) < V::zero();
    const V m = V::load(st.max + i), others = V::load(st.sum + i), xy = V::load(st.b + i),
            wy = V::load(lane_w + i);
    const V te = exp_difference(xy, m);  // the value the class pass computed for the target
    const V sum = others + te;
    const V v = sample_losses(m, others, te, xy, wy, V::load(shifted + i),
                              {p.smoothing, p.eps, p.eps_per_class, p.weight_sum});
    select(ignored, V::zero(), v).store(losses + i);
    if (g) {
      const V gs = V::load(lane_g + i);
      const V total_q = p.smoothing ? (one - eps) * wy + epc * wsum : wy;
      (gs * total_q / sum).store(st.a + i);
      (gs * epc).store(st.b + i);
      const V tg =
          target_gradients(others, te, wy, gs, {p.smoothing, p.eps, p.eps_per_class, p.weight_sum});
      tg.store(target_grad + i);
    }
  });
  if (!g) return;
  // grad = a e - b w_c, the target's entry replaced, exactly 0 in ignored lanes.
  const bool stream = !keep && static_cast<const T*>(g) != x;
  for (Eigen::Index c = 0; c < classes; ++c) {
    const V cv = V::set1(static_cast<T>(c));
    const V wc = V::set1(p.w ? p.w[c] : T(1));
    T* row = g + c * gld;
    const T* ahead = keep ? nullptr : row_ahead(x, ld, c, classes);
    T* g_ahead = stream ? nullptr : out_ahead(g, gld, c, classes);
    for_each_packet<T>(n, [&](Eigen::Index i, int count) {
      prefetch_lanes(ahead, i);
      prefetch_out(g_ahead, i);
      const V cl = V::load(cls + i);
      const V e =
          keep ? load_lanes(row + i, count, T(0))
               : exp_difference(load_lanes(x + c * ld + i, count, lowest), V::load(st.max + i));
      V gv = V::load(st.a + i) * e;
      if (p.smoothing) gv = gv - (p.w ? V::load(st.b + i) * wc : V::load(st.b + i));
      gv = select(cl == cv, V::load(target_grad + i), gv);
      gv = select(cl < V::zero(), V::zero(), gv);
      if (!stream) {
        store_lanes(row + i, count, gv);
      } else {
        stream_lanes(row + i, count, gv);
      }
    });
  }
  if (stream) stream_fence();
}

// ---- cross-entropy with class-probability targets -----------------------------------------------

// t' = (1 - e) t + e / C, q_c = w_c t'_c, Q = sum_c q_c: loss = Q log s - sum_{t'_c != 0} q_c (x_c
// - m) (a class with t'_c = 0 adds nothing even where x_c = -inf), grad = (g Q / s) exp(x_c - m) -
// g q_c. Same formulas and order of operations per element as
// CrossEntropyKernel::run_probabilities. losses and scales as for cross_entropy_lanes.
template <class T>
void cross_entropy_probability_lanes(const T* x, Eigen::Index ld, const T* t, Eigen::Index tld,
                                     Eigen::Index classes, Eigen::Index n,
                                     const CrossEntropyLaneParams<T>& p, T* losses, T* g,
                                     Eigen::Index gld, const T* scales, LaneState<T>& st) {
  using V = Vec<T>;
  const T lowest = -std::numeric_limits<T>::infinity();
  const bool keep = g && lane_keep_exps<T>(classes, n);
  const V one_minus_eps = V::set1(T(1) - p.eps), epc = V::set1(p.eps_per_class);
  const auto weighted_target = [&](Eigen::Index c, Eigen::Index i, int count) {
    const V smoothed = one_minus_eps * load_lanes(t + c * tld + i, count, T(0)) + epc;
    return p.w ? V::set1(p.w[c]) * smoothed : smoothed;
  };
  lane_max(x, ld, classes, n, st.max);
  // sum: s, a: Q, b: sum_{t'_c != 0} q_c (x_c - m)
  GroupedClassSum<T> exp_sum(st.sum, n, classes), q_sum(st.a, n, classes);
  CompensatedClassSum<T> shifted_sum(st.b, n, classes);
  for (Eigen::Index c = 0; c < classes; ++c) {
    const T* ahead = row_ahead(x, ld, c, classes);
    T* g_ahead = keep ? out_ahead(g, gld, c, classes) : nullptr;
    for_each_packet<T>(n, [&](Eigen::Index i, int count) {
      prefetch_lanes(ahead, i);
      prefetch_out(g_ahead, i);
      V d;
      const V e = exp_difference(load_lanes(x + c * ld + i, count, lowest), V::load(st.max + i), d);
      const V smoothed = one_minus_eps * load_lanes(t + c * tld + i, count, T(0)) + epc;
      const V q = p.w ? V::set1(p.w[c]) * smoothed : smoothed;
      exp_sum.add(c, i, e);
      q_sum.add(c, i, q);
      shifted_sum.add(c, i, select(smoothed != V::zero(), q * d, V::zero()));
      if (keep) store_lanes(g + c * gld + i, count, e);
    });
  }
  for_each_packet<T>(n, [&](Eigen::Index i, int count) {
    const V s = V::load(st.sum + i), total = V::load(st.a + i);
    (total * log(s) - V::load(st.b + i)).store(losses + i);
    if (g) {
      const V gs = load_lanes(scales + i, count, T(0));
      (gs * total / s).store(st.a + i);
      gs.store(st.b + i);
    }
  });
  if (!g) return;
  const bool stream = !keep && static_cast<const T*>(g) != x;
  for (Eigen::Index c = 0; c < classes; ++c) {
    T* row = g + c * gld;
    const T* ahead = keep ? nullptr : row_ahead(x, ld, c, classes);
    T* g_ahead = stream ? nullptr : out_ahead(g, gld, c, classes);
    for_each_packet<T>(n, [&](Eigen::Index i, int count) {
      prefetch_lanes(ahead, i);
      prefetch_out(g_ahead, i);
      const V e =
          keep ? load_lanes(row + i, count, T(0))
               : exp_difference(load_lanes(x + c * ld + i, count, lowest), V::load(st.max + i));
      const V r = V::load(st.a + i) * e - V::load(st.b + i) * weighted_target(c, i, count);
      if (!stream) {
        store_lanes(row + i, count, r);
      } else {
        stream_lanes(row + i, count, r);
      }
    });
  }
  if (stream) stream_fence();
}

// ---- strips over an N x C view ------------------------------------------------------------------

// Classes up to which contiguous rows are transposed into lane-major scratch rather than reduced
// row by row. Measured at N = 8192 / 16384, float, AVX-512 (Zen 5, shared and noisy; Gelem/s,
// lanes with register-tile transposes / the per-row path, same run):
//   C           17         33         48         64         100        128        160
//   CE fwd      -          1.2/0.38   -          1.7/0.75   1.8/1.05   1.8/1.35   -
//   CE fused    -          1.0/0.35   -          1.05/0.70  1.08/0.89  1.08/1.0   -
//   log_sm      2.56/0.51  2.85/0.91  3.21/1.46  3.19/1.93  2.92/2.20  2.96/3.06  (rows 3.3)
//   softmax     2.70/0.60  2.96/1.07  3.32/1.73  3.39/2.26  3.08/2.46  3.10/3.42  (rows 3.8)
//   lsm bwd     2.32/2.00  2.44/3.25  2.82/5.51  2.75/6.35  2.49/5.63  2.57/6.75  (rows 6.6)
//   logsumexp: lanes 1.2 vs 0.14-0.3 per row (not vectorized) for every C up to 100.
// A second run (loaded machine) had CE fused 0.62/0.47 at 64, 0.63/0.61 at 100, 0.63/0.81 at 128.
// (Below 17 classes the lanes win by 3-10x everywhere.) So the cross_entropy forward with index
// targets and logsumexp take the lanes up to 128 classes (the scratch bound), the fused
// cross_entropy and log_softmax / softmax up to 100, their backward (two streams in, one out, no
// exp per class: the per-row path is cheap there) up to 16.
constexpr Eigen::Index kLaneSmallClasses = 128;
constexpr Eigen::Index kLaneSmallClassesFused = 100;
constexpr Eigen::Index kLaneSmallClassesSoftmax = 100;
// Probability targets (a second operand transposed in): lanes / rows, fused, 8192 x C float:
// C = 10: 1.17/0.33, 33: 1.56/0.78, 64: 1.92/1.50, 100: 1.6/1.65 (noisy tie), 128: 1.7/2.1;
// forward alone the same. Between 64 and 100.
constexpr Eigen::Index kLaneSmallClassesProbabilities = 80;
constexpr Eigen::Index kLaneSmallClassesBackward = 16;
// Samples per transposed strip: 256 bytes of each class (64 floats, 32 doubles), so at most
// 32 KiB of scratch per operand.
template <class T>
constexpr Eigen::Index kLaneSmallStrip = 256 / static_cast<Eigen::Index>(sizeof(T));

// Transposes between contiguous rows (sample i, class c at src[i * ld + c]) and a lane-major strip
// (buf[c * S + i], S = kLaneSmallStrip) by W x W tiles in registers (Ops<T>::transpose): a row of
// a tile is one (masked) vector load or store, a column one aligned vector store or load. Measured
// against the element-by-element copy (8192 samples, AVX-512, ns per element, copy in / tiles in,
// copy out / tiles out): float C = 2: 0.46/0.31, 0.28/0.34; C = 3: 0.44/0.22, 0.28/0.24; C = 10:
// 0.20/0.08, 0.25/0.08; C = 32: 0.24/0.05, 0.24/0.05; double C = 2: 0.42/0.26, 0.42/0.26; C = 10:
// 0.24/0.10, 0.25/0.10. So tiles everywhere but the output of 2 float classes (a tile is mostly
// padding).
// A W x W tile: W packets (a struct, so that the tile is copied as a value).
template <class T>
struct LaneTile {
  typename Vec<T>::Packet packet[Vec<T>::width];
  XENT_SIMD_INLINE void transpose() { Ops<T>::transpose(packet); }
};

// buf[c * S + i] = src[i * ld + c] for i < count, c < classes; lanes [count, round up to W) of
// every buf row get zeros (never read as samples: the kernels mask the strip's tail).
template <class T, Eigen::Index S>
void lane_tiles_in(const T* src, Eigen::Index ld, Eigen::Index classes, Eigen::Index count,
                   T* buf) {
  using V = Vec<T>;
  constexpr int W = V::width;
  if constexpr (W == 1) {
    for (Eigen::Index i = 0; i < count; ++i) {
      for (Eigen::Index c = 0; c < classes; ++c) buf[c * S + i] = src[i * ld + c];
    }
  } else {
    for (Eigen::Index i0 = 0; i0 < count; i0 += W) {
      const int rows = static_cast<int>(std::min<Eigen::Index>(W, count - i0));
      for (Eigen::Index c0 = 0; c0 < classes; c0 += W) {
        const int cols = static_cast<int>(std::min<Eigen::Index>(W, classes - c0));
        LaneTile<T> tile;
        const T* p = src + i0 * ld + c0;
        for (int r = 0; r < W; ++r) {
          tile.packet[r] = r >= rows   ? V::zero().p
                           : cols == W ? V::loadu(p + r * ld).p
                                       : V::load_tail(p + r * ld, cols, T(0)).p;
        }
        tile.transpose();
        for (int k = 0; k < cols; ++k) V{tile.packet[k]}.store(buf + (c0 + k) * S + i0);
      }
    }
  }
}

// dst[i * ld + c] = buf[c * S + i] for i < count, c < classes.
template <class T, Eigen::Index S>
void lane_tiles_out(const T* buf, Eigen::Index classes, Eigen::Index count, T* dst,
                    Eigen::Index ld) {
  using V = Vec<T>;
  constexpr int W = V::width;
  if constexpr (W == 1) {
    for (Eigen::Index i = 0; i < count; ++i) {
      for (Eigen::Index c = 0; c < classes; ++c) dst[i * ld + c] = buf[c * S + i];
    }
  } else {
    if (classes * Eigen::Index(sizeof(T)) <= 8) {  // 2 floats: tiles measured slower (above)
      for (Eigen::Index i = 0; i < count; ++i) {
        for (Eigen::Index c = 0; c < classes; ++c) dst[i * ld + c] = buf[c * S + i];
      }
      return;
    }
    for (Eigen::Index i0 = 0; i0 < count; i0 += W) {
      const int rows = static_cast<int>(std::min<Eigen::Index>(W, count - i0));
      for (Eigen::Index c0 = 0; c0 < classes; c0 += W) {
        const int cols = static_cast<int>(std::min<Eigen::Index>(W, classes - c0));
        LaneTile<T> tile;
        for (int k = 0; k < W; ++k) {
          tile.packet[k] = k < cols ? V::load(buf + (c0 + k) * S + i0).p : V::zero().p;
        }
        tile.transpose();
        T* p = dst + i0 * ld + c0;
        for (int r = 0; r < rows; ++r) {
          if (cols == W) {
            V{tile.packet[r]}.storeu(p + r * ld);
          } else {
            V{tile.packet[r]}.store_tail(p + r * ld, cols);
          }
        }
      }
    }
  }
}

// Whether a view's samples (rows of the N x C view) are adjacent in memory.
template <class M>
constexpr bool lane_contiguous_columns() {
  if constexpr (std::is_same<std::decay_t<M>, std::nullptr_t>::value) {
    return false;
  } else {
    using Column = std::decay_t<decltype(std::declval<M&>().col(0))>;
    return (int(Column::Flags) & Eigen::DirectAccessBit) != 0 &&
           Column::InnerStrideAtCompileTime == 1;
  }
}
template <class M>
constexpr bool lane_contiguous_rows() {
  if constexpr (std::is_same<std::decay_t<M>, std::nullptr_t>::value) {
    return false;
  } else {
    using Row = std::decay_t<decltype(std::declval<M&>().row(0))>;
    return (int(Row::Flags) & Eigen::DirectAccessBit) != 0 && Row::InnerStrideAtCompileTime == 1;
  }
}

// A lane-major view of one strip of an N x C operand: its storage when the samples are adjacent,
// else a transposed copy in stack scratch (rows contiguous, C <= kLaneSmallClasses).
template <class P>
struct LaneOperand {
  P data;  // const T* (an input) or T* (the output)
  Eigen::Index ld;
};

// Runs f(n0, count, xs, ys, outs) over strips of the samples [begin, end): xs / ys the lane-major
// inputs (ys may be absent: Y = nullptr_t), outs the lane-major output (absent: Out = nullptr_t).
// kTransposed selects the scratch path (callers check C <= kLaneSmallClasses).
template <bool kTransposed, class T, class X, class Y, class Out, class F>
void for_each_lane_strip(const X& x, const Y& y, Out&& out, Eigen::Index begin, Eigen::Index end,
                         F&& f) {
  constexpr bool kHasY = !std::is_same<std::decay_t<Y>, std::nullptr_t>::value;
  constexpr bool kHasOut = !std::is_same<std::decay_t<Out>, std::nullptr_t>::value;
  const Eigen::Index classes = x.cols();
  if constexpr (!kTransposed) {
    constexpr Eigen::Index strip = kLaneStripMax;
    for (Eigen::Index n0 = begin; n0 < end; n0 += strip) {
      const Eigen::Index count = std::min(strip, end - n0);
      LaneOperand<const T*> xs{&x.coeffRef(n0, 0), x.outerStride()}, ys{nullptr, 0};
      LaneOperand<T*> os{nullptr, 0};
      if constexpr (kHasY) ys = {&y.coeffRef(n0, 0), y.outerStride()};
      if constexpr (kHasOut) os = {&out.coeffRef(n0, 0), out.outerStride()};
      f(n0, count, xs, ys, os);
    }
  } else {
    constexpr Eigen::Index S = kLaneSmallStrip<T>;
    alignas(64) T xbuf[kLaneSmallClasses * S];
    alignas(64) T ybuf[kHasY ? kLaneSmallClasses * S : 1];
    alignas(64) T obuf[kHasOut ? kLaneSmallClasses * S : 1];
    const auto gather = [&](const auto& m, T* buf, Eigen::Index n0, Eigen::Index count) {
      lane_tiles_in<T, S>(&m.coeffRef(n0, 0), m.outerStride(), classes, count, buf);
    };
    for (Eigen::Index n0 = begin; n0 < end; n0 += S) {
      const Eigen::Index count = std::min(S, end - n0);
      gather(x, xbuf, n0, count);
      LaneOperand<const T*> xs{xbuf, S}, ys{nullptr, 0};
      LaneOperand<T*> os{nullptr, 0};
      if constexpr (kHasY) {
        gather(y, ybuf, n0, count);
        ys = {ybuf, S};
      }
      if constexpr (kHasOut) os = {obuf, S};
      f(n0, count, xs, ys, os);
      if constexpr (kHasOut) {
        lane_tiles_out<T, S>(obuf, classes, count, &out.coeffRef(n0, 0), out.outerStride());
      }
    }
  }
}

// Absent operands (nullptr_t) never block a path.
template <class M>
constexpr bool lane_columns_ok() {
  return std::is_same<std::decay_t<M>, std::nullptr_t>::value || lane_contiguous_columns<M>();
}
template <class M>
constexpr bool lane_rows_ok() {
  return std::is_same<std::decay_t<M>, std::nullptr_t>::value || lane_contiguous_rows<M>();
}

// for_each_lane_strip over all samples in items of `item` samples, the items split over the
// threads (f keeps its scratch in its own frame). The items are the single-threaded ones whatever
// the count, and each sample's result depends only on its strip: the same bits for any count.
template <bool kTransposed, class T, class X, class Y, class Out, class F>
void run_lane_items(const X& x, const Y& y, Out&& out, F&& f, Eigen::Index item) {
  const Eigen::Index n = x.rows(), items = (n + item - 1) / item;
  parallel_for(items, threads_for(items, item * x.cols()), [&](Eigen::Index k) {
    for_each_lane_strip<kTransposed, T>(x, y, out, k * item, std::min(n, (k + 1) * item), f);
  });
}

// Runs f (see for_each_lane_strip) over all samples when the views allow a lane path: adjacent
// samples (one strip per thread item), or contiguous rows of at most small_classes classes
// (chunks of 16 transposed strips per item); on several threads either way. Returns whether it
// ran.
template <class T, class X, class Y, class Out, class F>
bool run_lanes(const X& x, const Y& y, Out&& out, F&& f,
               Eigen::Index small_classes = kLaneSmallClassesSoftmax) {
  if (x.rows() == 0 || x.cols() == 0) return false;
  if constexpr (lane_contiguous_columns<const X>() && lane_columns_ok<const Y>() &&
                lane_columns_ok<Out>()) {
    run_lane_items<false, T>(x, y, out, f, kLaneStripMax);
    return true;
  } else if constexpr (lane_contiguous_rows<const X>() && lane_rows_ok<const Y>() &&
                       lane_rows_ok<Out>()) {
    if (x.cols() > std::min(small_classes, kLaneSmallClasses)) return false;
    run_lane_items<true, T>(x, y, out, f, 16 * kLaneSmallStrip<T>);
    return true;
  } else {
    return false;
  }
}

}  // namespace simd
}  // namespace XENT_SIMD_ISA_NAMESPACE
}  // namespace detail
}  // namespace xent
