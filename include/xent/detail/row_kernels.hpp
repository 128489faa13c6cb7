// xent internals: explicitly vectorized passes over one contiguous sample (a row of logits), used
// whenever a sample's classes are adjacent in memory (samples in rows of a row-major matrix, or in
// columns of a column-major one). Written once over the vector layer (detail/simd/), whose ISA the
// user's compiler flags select; tails use masked loads filled with -inf, whose exp is exactly 0.
//
// They live in the layer's ISA-named inline namespace, so translation units built with different
// -m flags never share one of these symbols (the ODR hazard of header-only SIMD code).

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "../tuning.hpp"
#include "parallel.hpp"
#include "simd/math.hpp"
#include "simd/vec.hpp"

// Included once per pass (simd/tier.hpp): the flags' tier, then each target region's.
#if (XENT_SIMD_PASS == 0 && !defined(XENT_ROW_KERNELS_PASS0)) || \
    (XENT_SIMD_PASS == 1 && !defined(XENT_ROW_KERNELS_PASS1))
#if XENT_SIMD_PASS == 0
#define XENT_ROW_KERNELS_PASS0
#else
#define XENT_ROW_KERNELS_PASS1
#endif

namespace xent {
namespace detail {
XENT_SIMD_NAMESPACE_INLINE namespace XENT_SIMD_ISA_NAMESPACE {
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

// The first index of value in x[0, n), or -1: a packet compare per W elements, then the lanes of
// the packet that holds it.
template <class T>
Eigen::Index contiguous_find(const T* x, Eigen::Index n, T value) {
  using V = Vec<T>;
  constexpr Eigen::Index W = V::width;
  const V v = V::set1(value);
  Eigen::Index i = 0;
  while (i + W <= n && !any(V::loadu(x + i) == v)) i += W;
  for (; i < n; ++i) {
    if (x[i] == value) return i;
  }
  return -1;
}

// The softmax statistics of one contiguous sample with a target class y (or y < 0 for none):
// sum = sum_c exp(x_c - m) and others = the same sum without the target's term, accumulated apart
// (never as sum - e_y, which would cancel as p_y -> 1). When e is given, exp(x_c - m) is also
// stored there (the fused gradient rescales it in place: one exp per element).
template <class T>
struct ContiguousStats {
  T max, sum, others, target_exp;
};

// Asks for the cache lines of p[0, count) (a hint; nothing where the compiler has no builtin).
template <class T>
inline void prefetch_row_part(const T* p, Eigen::Index count) {
#if defined(__GNUC__) || defined(__clang__)
  const char* c = reinterpret_cast<const char*>(p);
  for (Eigen::Index b = 0; b < count * static_cast<Eigen::Index>(sizeof(T)); b += 64) {
    __builtin_prefetch(c + b);
  }
#else
  (void)p;
  (void)count;
#endif
}

// A running vector total with the rounding error of each addition kept apart (Knuth's TwoSum): the
// row totals of scan_row's chunk sums, which a long row adds thousands of on the scalar tier (4096
// chunks at C = 262 144: 18 ulp on a cross-entropy summed plainly), and the smoothing term's shifted
// sum, packet by packet (its terms are all of one sign and, at huge logits, all of one size: summed
// plainly, a prob-target loss of 4097 classes with logits +-1e30 was 64 ulp off; tools/accuracy).
// A few operations per addition. An infinite term (a masked class in the shifted sum) makes the
// sum infinite and the error NaN: add_lanes_to and with_finite drop the error then.
template <class T>
struct CompensatedTotal {
  // Declared, not implicit: Clang gives a target region's attributes to the functions declared in
  // it, not to implicit constructors, which then could not inline the region's Vec::zero().
  CompensatedTotal() : sum(Vec<T>::zero()), error(Vec<T>::zero()) {}
  Vec<T> sum, error;
  XENT_SIMD_INLINE void add(Vec<T> v) {
    const Vec<T> s = sum + v, v_part = s - sum;
    error += (sum - (s - v_part)) + (v - v_part);
    sum = s;
  }
  void scale(Vec<T> f) {
    sum *= f;
    error *= f;
  }
  // The total with a last partial sum: exactly `last` when nothing was added.
  Vec<T> with(Vec<T> last) const { return (sum + last) + error; }
  // Adds a chunk's compensated total. Summing a long row's terms packet by packet into one total
  // leaves its error term a plain sum of as many roundings: at 262 144 terms in one lane (the
  // scalar tier) that sum's own error cost 130 ulp on a loss; a chunk's total per addition here
  // keeps it to the chunks' count.
  void absorb(const CompensatedTotal& chunk) {
    add(chunk.sum);
    error += chunk.error;
  }
  // Adds every lane to a scalar compensated total (the horizontal sum, compensated as well).
  template <class Scalar>
  void add_lanes_to(Scalar& total) const {
    alignas(64) T s[Vec<T>::width], e[Vec<T>::width];
    sum.storeu(s);
    error.storeu(e);
    for (int i = 0; i < Vec<T>::width; ++i) {
      total.add(s[i]);
      total.error += e[i];
    }
  }
};

// The scalar form: a row's shifted sum gathered from the lanes and, in the online pass, its blocks.
template <class T>
struct CompensatedScalar {
  T sum = 0, error = 0;
  void add(T v) {
    const T s = sum + v, v_part = s - sum;
    error += (sum - (s - v_part)) + (v - v_part);
    sum = s;
  }
  // sum + error, or sum alone where it is not finite (its error is then NaN or meaningless).
  T total() const { return sum - sum == 0 ? sum + error : sum; }
};

// Accumulators of one scan: two sum chains (measured as fast as four), the shifted sum and its
// weights.
template <class T>
struct ScanAcc {
  Vec<T> s0, s1;  // sum of exp(x_c - m) over c != y
  CompensatedTotal<T> h0;  // sum of w_c (x_c - m), over one chunk (scan_row)
  Vec<T> w0;               // sum of w_c (weighted shifted sums only)
  T target_exp;
  void clear_shifted() {
    h0 = CompensatedTotal<T>();
    w0 = Vec<T>::zero();
  }
};

// Adds exp(x_c - m) for c in [lo, hi) to a (the target y apart), stores it into e when given and,
// with kShift, adds w_c (x_c - m) (w null: weights 1); x_c - m (with kStoreX: x_c itself) is
// stored into shifted_out when given. Every x_c is read once, before e_c is written: e may be x
// itself (the in-place gradient). prefetch, when given, is the next row: its lines are requested
// while the exps run.
template <bool kShift, bool kStoreX = false, class T>
void exp_range(const T* x, Eigen::Index lo, Eigen::Index hi, Eigen::Index y, T* e, const T* w,
               Vec<T> vm, ScanAcc<T>& acc, T* shifted_out = nullptr, const T* prefetch = nullptr) {
  using V = Vec<T>;
  // A local copy: packets may alias the floats stored into e, so accumulators reached through a
  // reference would go through memory at every store.
  ScanAcc<T> a = acc;
  constexpr Eigen::Index W = V::width;
  const T lowest = -std::numeric_limits<T>::infinity();
  const auto one = [&](Eigen::Index at, int count) {
    V d;
    const V xv = count == W ? V::loadu(x + at) : V::load_tail(x + at, count, lowest);
    const V v = exp_difference(xv, vm, d);
    if (shifted_out) {
      if (count == W) {
        (kStoreX ? xv : d).storeu(shifted_out + at);
      } else {
        (kStoreX ? xv : d).store_tail(shifted_out + at, count);
      }
    }
    if (e) {
      if (count == W) {
        v.storeu(e + at);
      } else {
        v.store_tail(e + at, count);
      }
    }
    if (kShift) {
      V t = d;
      if (w) {
        const V wv = count == W ? V::loadu(w + at) : V::load_tail(w + at, count, T(0));
        t = wv * d;
        a.w0 += wv;
      }
      a.h0.add(count == W ? t : select(Mask<T>::first(count), t, V::zero()));  // padding: -inf
    }
    if (y >= at && y < at + count) {
      alignas(64) T lanes[W];
      v.storeu(lanes);
      a.target_exp = lanes[y - at];
      lanes[y - at] = 0;
      a.s1 += V::loadu(lanes);
    } else {
      a.s0 += v;
    }
  };
  Eigen::Index i = lo;
  for (; i + 2 * W <= hi; i += 2 * W) {
    if (y >= i && y < i + 2 * W) {  // the target's packets go one by one
      one(i, W);
      one(i + W, W);
      continue;
    }
    if (prefetch) prefetch_row_part(prefetch + (i - lo), 2 * W);
    V d0, d1;
    const V x0 = V::loadu(x + i), x1 = V::loadu(x + i + W);
    const V v0 = exp_difference(x0, vm, d0);
    const V v1 = exp_difference(x1, vm, d1);
    if (shifted_out) {
      (kStoreX ? x0 : d0).storeu(shifted_out + i);
      (kStoreX ? x1 : d1).storeu(shifted_out + i + W);
    }
    if (e) {
      v0.storeu(e + i);
      v1.storeu(e + i + W);
    }
    if (kShift) {
      // The pair's terms, of one sign, summed before the compensated addition: one TwoSum per
      // two packets (that rounding is relative to the pair, so the row's sum stays within about
      // an ulp); two TwoSums cost the smoothed loss 17 % (AVX2, float, 4096 x 1000, fused).
      if (w) {
        const V w0 = V::loadu(w + i), w1 = V::loadu(w + i + W);
        a.h0.add(w0 * d0 + w1 * d1);
        a.w0 += w0 + w1;
      } else {
        a.h0.add(d0 + d1);
      }
    }
    a.s0 += v0;
    a.s1 += v1;
  }
  for (; i < hi; i += W) one(i, static_cast<int>(std::min<Eigen::Index>(W, hi - i)));
  acc = a;
}

// std::exp(x - m) for x <= m with the subtraction's rounding error folded in, as the vector
// exp_difference (the factor rescaling a row's sums when its running max grows).
template <class T>
T exp_difference(T x, T m) {
  const T d = x - m;
  const T e = std::exp(d);
  if (!(d >= MathConstants<T>::exp_lo)) return e;  // -inf, NaN, or 0 whatever the error
  const T minus_m = d - x;
  const T error = (x - (d - minus_m)) - (m + minus_m);
  return e + e * error;
}

// A factor high + low applied to stored exps: low is high's rounding error, or 0 (RowScan::
// block_factor).
template <class T>
struct Factor {
  T high, low;
};

// Calls body(scale) with scale(v) = v * f.high, or fma(v, high, v * low) when f has a low part:
// the caller's loop is compiled once per form, so the common one-part loop is not slowed.
template <class T, class Body>
XENT_SIMD_INLINE void with_factor(Factor<T> f, Body&& body) {
  const Vec<T> high = Vec<T>::set1(f.high), low = Vec<T>::set1(f.low);
  if (f.low == 0) {
    body([high](Vec<T> v) { return v * high; });
  } else {
    body([high, low](Vec<T> v) { return fma(v, high, v * low); });
  }
}

// The result of scanning one row: the statistics, the shifted sum sum_c w_c (x_c - max) when asked,
// and, after an online pass, the running max each block's stored exps were taken against.
template <class T>
struct RowScan {
  static constexpr Eigen::Index kMaxBlocks = 256;
  T max, sum, others, target_exp;
  T shifted;
  bool max_apart;  // scanned with kMaxApart and a finite max: target_exp = 1, others the rest
  // log(sum): log1p(others) when the max's term is apart, which keeps full precision as the max's
  // probability -> 1 (log of a rounded 1 + others loses others' digits below 2^-24: log_softmax's
  // max entry).
  T log_sum() const { return max_apart ? std::log1p(others) : std::log(sum); }
  // a * b / sum and the factors of the stored exps below carry one rounding for float rows: the
  // sum is taken as others + target_exp and the factors formed in double (as p_max -> 1 the float
  // sum's own rounding is up to 1 ulp of p_max = 1 / sum; tools/accuracy).
  using Wide = std::conditional_t<std::is_same<T, float>::value, double, T>;
  Wide ratio_to_sum(T a, T b = T(1)) const {
    return Wide(a) * Wide(b) / (Wide(others) + Wide(target_exp));
  }
  // ratio * exp(block_max[k] - max), the factor of block k's stored exps (ratio alone after two
  // passes and for the max's block), as high + low: low is high's rounding error for an online
  // float block (0 otherwise), applied as fma(e, high, e * low), so that block's results carry
  // only their exp's rounding and the last one (rounded once to float, the factor cost softmax
  // 1.56 ulp at C = 262 144 where an exp of 0.35 ulp met a factor of 0.48 ulp; 1.21 so).
  Factor<T> block_factor(Wide ratio, Eigen::Index k) const {
    if (blocks == 0 || block_max[k] == max) return {static_cast<T>(ratio), T(0)};
    if constexpr (std::is_same<T, float>::value) {  // the difference is exact in double
      const Wide f = ratio * std::exp(Wide(block_max[k]) - Wide(max));
      const T high = static_cast<T>(f);
      return {high, static_cast<T>(f - Wide(high))};
    } else {
      return {static_cast<T>(ratio * exp_difference(block_max[k], max)), T(0)};
    }
  }
  Eigen::Index block;   // online: the block length (exps of block b are exp(x - block_max[b]))
  Eigen::Index blocks;  // 0: two passes, every stored exp is exp(x - max)
  T block_max[kMaxBlocks];
};

// Whether a row of n classes takes the online pass: when what its two passes keep in cache, the
// row and, for a function that writes a row of results (writes), that row too, exceeds
// xent::online_row_bytes().
template <class T>
bool online_row(Eigen::Index n, bool writes) {
  return static_cast<std::size_t>(n) * sizeof(T) * (writes ? 2 : 1) > online_row_bytes();
}

// As the target of scan_row: keep the term of the row's first max apart (sum = others + 1, one
// rounding; RowScan::log_sum() = log1p(others)). A finite max only; else nothing is kept apart.
constexpr Eigen::Index kMaxApart = -2;

// Scans one contiguous row: two passes (max, then exp) or, for long rows, one block-wise online
// pass reading the row from memory once: each block's max (the block then sits in L1), the running
// sums rescaled by exp(old max - new max) when the max grows, then the block's exps. Blocks whose
// running max is still -inf hold only -inf and NaN: their exps are taken as exp(x - inf), 0 or NaN,
// which is what a finite final max gives; a row that stays -inf gets NaN sums, as in two passes.
// shifted_out, when given, receives x_c - max (two passes) or x_c itself (online: log_softmax then
// forms (x_c - max) - log sum in place, as from two passes; x_c - block_max[b] stored instead, and
// (max - block_max[b]) + log sum subtracted, rounded three times: log_softmax's mean 0.329 ulp at
// C = 262 144 against PyTorch's 0.321, max 1 ulp where PyTorch's is 0.5, tools/accuracy).
// next_row, when given, is prefetched during the last exp pass over this row.
template <bool kShift, class T>
void scan_row(const T* x, Eigen::Index n, Eigen::Index y, T* e, const T* w, RowScan<T>& r,
              T* shifted_out = nullptr, const T* next_row = nullptr) {
  using V = Vec<T>;
  constexpr Eigen::Index W = V::width;
  const T inf = std::numeric_limits<T>::infinity();
  ScanAcc<T> a;
  a.s0 = a.s1 = V::zero();
  a.clear_shifted();
  a.target_exp = 0;
  r.blocks = 0;
  r.block = n;
  r.max_apart = false;
  T spilled = 0;
  CompensatedScalar<T> shifted_total;
  // Two-level sums: each chunk of 32 packet pairs is summed into fresh accumulators, then added to
  // the row's compensated totals t0, t1, so a long row rounds about 32 times per accumulator
  // instead of n / (2 W). (One level, the scalar tier summed 262 144 terms in two accumulators:
  // 6e3 ulp on a cross-entropy; SSE2 at C = 262 144, 5x AVX-512's error; tools/accuracy.)
  // The shifted sum (label smoothing) is compensated packet by packet within a chunk (a.h0), chunk
  // by chunk into u, and in the online pass block by block into shifted_total.
  constexpr Eigen::Index kChunk = 64 * W;
  CompensatedTotal<T> t0, t1, u;
  // exp_range over [lo, hi) chunk by chunk; prefetch as exp_range takes it (for element lo). The
  // row's sum is t0.with(a.s0) + t1.with(a.s1), its shifted sum u after u.absorb(a.h0).
  const auto exps = [&](Eigen::Index lo, Eigen::Index hi, V vm, const T* prefetch, bool store_x) {
    if (store_x) {
      exp_range<kShift, true>(x, lo, hi, y, e, w, vm, a, shifted_out, prefetch);
    } else {
      exp_range<kShift>(x, lo, hi, y, e, w, vm, a, shifted_out, prefetch);
    }
  };
  const auto sum_range = [&](Eigen::Index lo, Eigen::Index hi, V vm, const T* prefetch,
                             bool store_x) {
    if (hi - lo <= kChunk) {  // one chunk (most rows): the one-level loop, sums left in a.s0, a.s1
      exps(lo, hi, vm, prefetch, store_x);
      return;
    }
    for (Eigen::Index c = lo; c < hi; c += kChunk) {
      exps(c, std::min(hi, c + kChunk), vm, prefetch ? prefetch + (c - lo) : nullptr, store_x);
      t0.add(a.s0);
      t1.add(a.s1);
      a.s0 = a.s1 = V::zero();
      if (kShift) {
        u.absorb(a.h0);
        a.h0 = CompensatedTotal<T>();
      }
    }
  };
  // The shifted sum so far into shifted_total.
  const auto shifted_into_total = [&] {
    u.absorb(a.h0);
    u.add_lanes_to(shifted_total);
    u = CompensatedTotal<T>();
  };
  if (!online_row<T>(n, e != nullptr || shifted_out != nullptr)) {
    r.max = contiguous_max(x, n);
    if (y == kMaxApart) {
      y = std::isfinite(r.max) ? contiguous_find(x, n, r.max) : -1;
      r.max_apart = y >= 0;
    }
    sum_range(0, n, V::set1(r.max), next_row, false);
    if (kShift) shifted_into_total();
  } else {
    // kMaxApart: each block that raises the max keeps the new max's term apart, the previous one
    // (rescaled) joining `spilled`, added to the others at the end.
    const bool max_apart = y == kMaxApart;
    if (max_apart) y = -1;
    // Blocks of 4 KiB (in L1 for the exp pass; measured: 2-4 KiB run 20-40 % faster than 8-32 KiB),
    // longer when the row needs more than kMaxBlocks.
    constexpr Eigen::Index kBlock = 4096 / static_cast<Eigen::Index>(sizeof(T));
    Eigen::Index block = (n + RowScan<T>::kMaxBlocks - 1) / RowScan<T>::kMaxBlocks;
    block = std::max(kBlock, (block + 4 * W - 1) / (4 * W) * (4 * W));
    T m = -inf, weight_sum = 0;
    Eigen::Index b = 0;
    for (Eigen::Index lo = 0; lo < n; lo += block, ++b) {
      const Eigen::Index hi = std::min(n, lo + block);
      const T m_new = std::max(m, contiguous_max(x + lo, hi - lo));
      if (m_new > m) {  // rescale what was summed against the old max (exp(-inf) = 0)
        const T f = exp_difference(m, m_new);
        const V vf = V::set1(f);
        t0.scale(vf);
        t1.scale(vf);
        a.target_exp *= f;
        spilled *= f;
        if (kShift && weight_sum != 0) shifted_total.add(-rounded((m_new - m) * weight_sum));
        if (max_apart) {
          spilled += a.target_exp;
          a.target_exp = 0;
          y = std::isfinite(m_new) ? lo + contiguous_find(x + lo, hi - lo, m_new) : -1;
        }
      }
      m = m_new;
      r.block_max[b] = m;
      sum_range(lo, hi, V::set1(m == -inf ? inf : m), hi < n ? x + hi : next_row,
                true);  // the next block's lines meanwhile; x itself stored (comment above)
      t0.add(a.s0);     // a block is at most a few chunks: its sums join the totals here
      t1.add(a.s1);
      a.s0 = a.s1 = V::zero();
      if (kShift) {
        shifted_into_total();
        weight_sum += w ? reduce_add(a.w0) : static_cast<T>(hi - lo);
        a.clear_shifted();
      }
    }
    r.max = m;
    r.block = block;
    r.blocks = b;
    r.max_apart = max_apart && std::isfinite(m);
    if (m == -inf) {  // (-inf) - (-inf), as the two-pass kernel
      t0.sum = V::set1(std::numeric_limits<T>::quiet_NaN());
      a.target_exp = t0.sum.lane(0);
    }
  }
  r.others = reduce_add(t0.with(a.s0) + t1.with(a.s1)) + spilled;
  r.target_exp = a.target_exp;
  r.sum = r.others + r.target_exp;
  r.shifted = shifted_total.total();
}

// Two passes always: every stored exp is exp(x_c - max), ready for contiguous_rescale.
template <class T>
ContiguousStats<T> contiguous_stats(const T* x, Eigen::Index n, Eigen::Index y, T* e) {
  using V = Vec<T>;
  ScanAcc<T> a;
  a.s0 = a.s1 = V::zero();
  a.clear_shifted();
  a.target_exp = 0;
  const T m = contiguous_max(x, n);
  exp_range<false>(x, 0, n, y, e, static_cast<const T*>(nullptr), V::set1(m), a);
  const T others = reduce_add(a.s0 + a.s1);
  return {m, others + a.target_exp, others, a.target_exp};
}

// e[c] = a * e[c] - b * w[c] over a contiguous row (w null: b alone is subtracted), a applied in
// its parts (with_factor).
template <class T>
void contiguous_rescale(T* e, Eigen::Index n, Factor<T> a, T b, const T* w) {
  using V = Vec<T>;
  constexpr Eigen::Index W = V::width;
  const V vb = V::set1(b);
  with_factor(a, [&](auto scale) {
    const auto value = [&](V v, Eigen::Index at, int count) {
      if (b == 0) return scale(v);
      if (!w) return scale(v) - vb;
      return scale(v) - vb * (count == W ? V::loadu(w + at) : V::load_tail(w + at, count, T(0)));
    };
    Eigen::Index i = 0;
    for (; i + W <= n; i += W) value(V::loadu(e + i), i, W).storeu(e + i);
    if (i < n) {
      const int count = static_cast<int>(n - i);
      value(V::load_tail(e + i, count, T(0)), i, count).store_tail(e + i, count);
    }
  });
}

// Whether an output of `elements` values is written with non-temporal stores
// (xent::set_stream_output_bytes).
template <class T>
bool stream_output(Eigen::Index elements) {
  return static_cast<std::size_t>(elements) * sizeof(T) > stream_output_bytes();
}

// out[i, i + count) = value(i, count) packet by packet over a contiguous row (count < width only
// for the masked packets at the ends). With stream, the packets aligned to the vector size go
// through non-temporal stores (Vec::stream; the caller calls stream_fence() once done), the
// unaligned head and the tail through masked stores; the values are the same either way.
template <class T, class F>
XENT_SIMD_INLINE void write_row(T* out, Eigen::Index n, bool stream, F&& value) {
  using V = Vec<T>;
  constexpr Eigen::Index W = V::width;
  Eigen::Index i = 0;
  if (stream) {
    constexpr std::uintptr_t kAlign = sizeof(typename V::Packet);
    const std::uintptr_t misaligned = reinterpret_cast<std::uintptr_t>(out) % kAlign;
    if (misaligned % sizeof(T) == 0) {  // else no packet of the row is aligned: plain stores
      i = std::min<Eigen::Index>(
          n, static_cast<Eigen::Index>((kAlign - misaligned) % kAlign / sizeof(T)));
      if (i > 0) value(0, static_cast<int>(i)).store_tail(out, static_cast<int>(i));
      for (; i + W <= n; i += W) value(i, static_cast<int>(W)).stream(out + i);
    }
  }
  for (; i + W <= n; i += W) value(i, static_cast<int>(W)).storeu(out + i);
  if (i < n) value(i, static_cast<int>(n - i)).store_tail(out + i, static_cast<int>(n - i));
}

// Runs f(n0, count) over groups of up to `group` consecutive rows of [0, rows) on `threads` threads
// (a static split by group; a row's result must not depend on its group, so any split gives the
// same bits), each thread then fencing its streamed stores.
template <class F>
void for_row_groups(Eigen::Index rows, Eigen::Index group, int threads, bool stream, F&& f) {
  const Eigen::Index groups = (rows + group - 1) / group;
  parallel_for(
      groups, threads, [&](Eigen::Index g) { f(g * group, std::min(group, rows - g * group)); },
      [stream] {
        if (stream) stream_fence();
      });
}

// Runs f(n) for every row n in [0, rows), as for_row_groups.
template <class F>
void for_rows(Eigen::Index rows, int threads, bool stream, F&& f) {
  for_row_groups(rows, 1, threads, stream, [&](Eigen::Index n, Eigen::Index) { f(n); });
}

// Rows per group where a per-row log is taken a packet of rows at a time (log_softmax, logsumexp):
// rows of up to 2 KiB, where a libm log per row was 14 % of log_softmax at 4096 x 200 (float), as
// many as fit in 16 KiB, at most a packet; longer rows take the per-row code (1: grouping them
// measured 5-20 % slower at 4096 x 1000, the second pass no longer reading a row straight after
// its scan).
template <class T>
Eigen::Index rows_per_log_group(Eigen::Index classes) {
  const Eigen::Index bytes = std::max<Eigen::Index>(1, classes * Eigen::Index(sizeof(T)));
  if (bytes > 2048) return 1;
  return std::max<Eigen::Index>(
      1, std::min<Eigen::Index>(Vec<T>::width, (Eigen::Index(16) << 10) / bytes));
}

// out[c] -= l over a contiguous row.
template <class T>
void contiguous_subtract(T* out, Eigen::Index n, T l) {
  using V = Vec<T>;
  constexpr Eigen::Index W = V::width;
  const V vl = V::set1(l);
  Eigen::Index i = 0;
  for (; i + W <= n; i += W) (V::loadu(out + i) - vl).storeu(out + i);
  if (i < n) {
    const int count = static_cast<int>(n - i);
    (V::load_tail(out + i, count, T(0)) - vl).store_tail(out + i, count);
  }
}

// The log-sums (RowScan::log_sum) of rows n0 .. n0 + count (at most a packet) of a matrix of
// `rows` contiguous rows of C entries, a vector log1p and log for them all: row(n) is row n's data,
// shifted(n) where to store its x - max (scan_row's shifted_out; nullptr for none); maxes[i] and
// logs[i] receive row n0 + i's max and log-sum (arrays of a packet).
template <class T, class RowData, class ShiftedOut>
void group_log_sums(Eigen::Index n0, Eigen::Index count, Eigen::Index rows, Eigen::Index C,
                    RowData&& row, ShiftedOut&& shifted, T* maxes, T* logs) {
  using V = Vec<T>;
  // Lanes past count keep benign values (log 1, log1p 1); apart: 1 where others excludes the max.
  alignas(64) T sums[V::width], others[V::width], apart[V::width] = {};
  for (Eigen::Index i = 0; i < V::width; ++i) sums[i] = others[i] = maxes[i] = T(1);
  for (Eigen::Index i = 0; i < count; ++i) {
    const Eigen::Index n = n0 + i;
    RowScan<T> r;
    T* const out = shifted(n);
    scan_row<false>(row(n), C, kMaxApart, static_cast<T*>(nullptr), static_cast<const T*>(nullptr),
                    r, out, n + 1 < rows ? row(n + 1) : nullptr);
    // An online scan stored x itself (rows this short take it only when tests force it).
    if (out && r.blocks > 0) contiguous_subtract(out, C, r.max);
    maxes[i] = r.max;
    sums[i] = r.sum;
    others[i] = r.others;
    apart[i] = r.max_apart ? T(1) : T(0);
  }
  select(V::loadu(apart) != V::zero(), log1p(V::loadu(others)), log(V::loadu(sums))).storeu(logs);
}

// log_softmax of a contiguous row from its statistics: out = (x - max) - log_sum, in that order
// (big, close logits stay exact), packet by packet from x (x may be out itself).
template <class T>
void contiguous_log_softmax(const T* x, T* out, Eigen::Index n, T max, T log_sum, bool stream) {
  using V = Vec<T>;
  constexpr int W = V::width;
  const V vm = V::set1(max), vl = V::set1(log_sum);
  write_row(out, n, stream, [&](Eigen::Index at, int count) {
    return ((count == W ? V::loadu(x + at) : V::load_tail(x + at, count, T(0))) - vm) - vl;
  });
}

// log_softmax's backward over a contiguous row: out = g - exp(y) * sum(g). (Measured: prefetching
// the next row's g during the exp pass, as scan_row does, is no faster here: three streams
// already keep the memory busy.)
template <class T>
void contiguous_log_softmax_backward(const T* g, const T* y, T* out, Eigen::Index n,
                                     bool stream = false) {
  using V = Vec<T>;
  constexpr int W = V::width;
  V s0 = V::zero(), s1 = s0;
  Eigen::Index i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    s0 += V::loadu(g + i);
    s1 += V::loadu(g + i + W);
  }
  for (; i < n; i += W) {
    s0 += V::load_tail(g + i, static_cast<int>(std::min<Eigen::Index>(W, n - i)), T(0));
  }
  const V vs = V::set1(reduce_add(s0 + s1));
  write_row(out, n, stream, [&](Eigen::Index at, int count) {
    if (count == W) return V::loadu(g + at) - exp(V::loadu(y + at)) * vs;
    const V gv = V::load_tail(g + at, count, T(0));
    const V yv = V::load_tail(y + at, count, -std::numeric_limits<T>::infinity());
    return gv - exp(yv) * vs;
  });
}

// softmax's backward over a contiguous row: out = y * (g - sum(g * y)).
template <class T>
void contiguous_softmax_backward(const T* g, const T* y, T* out, Eigen::Index n,
                                 bool stream = false) {
  using V = Vec<T>;
  constexpr int W = V::width;
  V s0 = V::zero(), s1 = s0;
  Eigen::Index i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    s0 += V::loadu(g + i) * V::loadu(y + i);
    s1 += V::loadu(g + i + W) * V::loadu(y + i + W);
  }
  for (; i < n; i += W) {
    const int count = static_cast<int>(std::min<Eigen::Index>(W, n - i));
    s0 += V::load_tail(g + i, count, T(0)) * V::load_tail(y + i, count, T(0));
  }
  const V vd = V::set1(reduce_add(s0 + s1));
  write_row(out, n, stream, [&](Eigen::Index at, int count) {
    if (count == W) return V::loadu(y + at) * (V::loadu(g + at) - vd);
    return V::load_tail(y + at, count, T(0)) * (V::load_tail(g + at, count, T(0)) - vd);
  });
}

// contiguous_rescale of exps stored by scan_row with a = ratio times each block's factor
// (RowScan::block_factor).
template <class T>
void scan_rescale(T* e, Eigen::Index n, typename RowScan<T>::Wide ratio, T b, const T* w,
                  const RowScan<T>& r) {
  if (r.blocks == 0) {
    contiguous_rescale(e, n, r.block_factor(ratio, 0), b, w);
    return;
  }
  for (Eigen::Index k = 0; k < r.blocks; ++k) {
    const Eigen::Index lo = k * r.block, len = std::min(r.block, n - lo);
    contiguous_rescale(e + lo, len, r.block_factor(ratio, k), b, w ? w + lo : w);
  }
}

// out = ratio * e over a contiguous row, e stored by scan_row (its online blocks rescaled as in
// scan_rescale), out written once (streamed when asked).
template <class T>
void scan_scale_into(const T* e, T* out, Eigen::Index n, typename RowScan<T>::Wide ratio,
                     const RowScan<T>& r, bool stream) {
  using V = Vec<T>;
  constexpr int W = V::width;
  const auto scale = [&](Eigen::Index lo, Eigen::Index len, Factor<T> f) {
    with_factor(f, [&](auto by) {
      write_row(out + lo, len, stream, [&](Eigen::Index at, int count) {
        return by(count == W ? V::loadu(e + lo + at) : V::load_tail(e + lo + at, count, T(0)));
      });
    });
  };
  if (r.blocks == 0) {
    scale(0, n, r.block_factor(ratio, 0));
    return;
  }
  for (Eigen::Index k = 0; k < r.blocks; ++k) {
    const Eigen::Index lo = k * r.block;
    scale(lo, std::min(r.block, n - lo), r.block_factor(ratio, k));
  }
}

}  // namespace simd
}  // namespace XENT_SIMD_ISA_NAMESPACE
}  // namespace detail
}  // namespace xent

#endif  // pass guard
