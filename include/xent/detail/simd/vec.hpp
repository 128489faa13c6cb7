// xent internals: a tiny vector type over the tier's vector registers, one definition per
// instruction set.
//
//   simd::Vec<T>   T = float or double: the tier's widest vector (__m512, __m256, __m128,
//                  float32x4_t, ... and the double ones; see isa.hpp), or a
//                  single value in the scalar tier; `Vec<T>::width` lanes.
//   simd::Mask<T>  the result of a lane-wise comparison: an AVX-512 mask register (__mmask16 /
//                  __mmask8), a vector of all-ones / all-zeros lanes (AVX2, SSE2, NEON), or a bool.
//
// Everything a kernel needs is here, each op a line or two over the tier's intrinsics (the raw
// layer, `Ops<T>`, one file per tier: ops_avx512.hpp, ops_avx2.hpp, ops_sse2.hpp, ops_neon.hpp,
// ops_scalar.hpp) and written once over it (the `Vec` interface, below):
//
//   construction  Vec::set1(v), Vec::zero(), Vec::from_bits(pattern)
//   memory        Vec::load(p) (aligned to sizeof(Vec)), Vec::loadu(p), v.store(p), v.storeu(p),
//                 v.stream(p) (aligned, non-temporal on x86; then stream_fence()),
//                 Vec::load_tail(p, n, fill): lanes [0, n) from p[0..n), the others = fill;
//                 v.store_tail(p, n): writes p[0..n) only. 0 <= n <= width; memory past p + n is
//                 neither read nor written (AVX-512 masked moves, AVX2 vmaskmov, elsewhere a copy
//                 through the stack), so a tail at the end of a page cannot fault.
//   arithmetic    + - * / (and unary -), abs, fma(a, b, c) = a*b + c: fused, one rounding,
//                 exactly where XENT_SIMD_HAS_FMA is 1 (AVX-512, AVX2, NEON; SSE2 or scalar built
//                 with hardware FMA), a multiply and an add otherwise. a * b + c is always two
//                 roundings: the compiler is kept from fusing it (see XENT_SIMD_OPAQUE), so one
//                 piece of code rounds the same wherever it is inlined.
//   max, min      max(a, b) = (a < b) ? b : a and min(a, b) = (b < a) ? b : a, on every tier (the
//                 x86 semantics, which Eigen's pmax/pmin keep; NEON gets them with a compare and a
//                 select). So when either argument is NaN the FIRST argument is returned: put the
//                 value that must win (e.g. an accumulator) first. max_nan / min_nan return NaN
//                 when either argument is NaN.
//   comparisons   < <= > >= == (ordered: false if either is NaN), != (true if either is NaN),
//                 is_nan(v); masks combine with & | ~ and reduce with any(m) / all(m)
//   select        select(m, a, b) = m ? a : b lane-wise
//   horizontal    reduce_add(v) (lane order is the tier's: differs across tiers in rounding),
//                 reduce_add_double(v) (lanes summed in double, in lane order), reduce_max(v) /
//                 reduce_min(v) (NaN if any lane is NaN)
//   bits          bit_and/or/xor/andnot on the lanes' bit patterns, int_add/int_sub (lanes as
//                 32- or 64-bit integers, wrapping), shift_left<k>/shift_right<k> (logical) — the
//                 exponent manipulation of math.hpp
//   lanes         v.lane(i) (slow, for tests and epilogues)

#if defined(XENT_TEST_COUNT_STREAM_STORES)
#include <atomic>
#endif
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "isa.hpp"
#include "ops_avx2.hpp"
#include "ops_avx512.hpp"
#include "ops_neon.hpp"
#include "ops_scalar.hpp"
#include "ops_sse2.hpp"

#if defined(XENT_TEST_COUNT_STREAM_STORES) && !defined(XENT_SIMD_STREAM_STORE_COUNT)
#define XENT_SIMD_STREAM_STORE_COUNT
namespace xent {
namespace detail {
// Test instrumentation only (tests/test_stream_output.cpp defines the macro): the number of
// non-temporal stores made by every tier's kernels, so that a test can see that streaming was used
// at all. One counter for the program (not per tier: a dispatched kernel counts too).
inline std::atomic<long long>& stream_store_count() {
  static std::atomic<long long> count{0};
  return count;
}
}  // namespace detail
}  // namespace xent
#endif

// Included once per pass (tier.hpp): the flags' tier, then each target region's.
#if (XENT_SIMD_PASS == 0 && !defined(XENT_SIMD_VEC_PASS0)) || \
    (XENT_SIMD_PASS == 1 && !defined(XENT_SIMD_VEC_PASS1))
#if XENT_SIMD_PASS == 0
#define XENT_SIMD_VEC_PASS0
#else
#define XENT_SIMD_VEC_PASS1
#endif

namespace xent {
namespace detail {
XENT_SIMD_NAMESPACE_INLINE namespace XENT_SIMD_ISA_NAMESPACE {
namespace simd {

// ---- the interface kernels use ------------------------------------------------------------------


template <class T>
struct Mask {
  using MaskType = typename Ops<T>::MaskType;
  MaskType m;
  // Lanes [0, n) on, the others off (0 <= n <= width).
  static XENT_SIMD_INLINE Mask first(int n) { return {Ops<T>::first(n)}; }
};

template <class T>
struct Vec {
  static_assert(std::is_same<T, float>::value || std::is_same<T, double>::value,
                "simd::Vec is defined for float and double");
  using Scalar = T;
  using Packet = typename Ops<T>::Packet;
  using Bits = typename Ops<T>::Bits;
  static constexpr int width = Ops<T>::width;

  Packet p;

  static XENT_SIMD_INLINE Vec set1(T v) { return {Ops<T>::set1(v)}; }
  static XENT_SIMD_INLINE Vec zero() { return {Ops<T>::set1(T(0))}; }
  static XENT_SIMD_INLINE Vec from_bits(Bits b) { return {Ops<T>::from_bits(b)}; }
  static XENT_SIMD_INLINE Vec load(const T* ptr) { return {Ops<T>::load(ptr)}; }
  static XENT_SIMD_INLINE Vec loadu(const T* ptr) { return {Ops<T>::loadu(ptr)}; }
  static XENT_SIMD_INLINE Vec load_tail(const T* ptr, int n, T fill) {
    return {Ops<T>::load_tail(ptr, n, fill)};
  }
  XENT_SIMD_INLINE void store(T* ptr) const { Ops<T>::store(ptr, p); }
  XENT_SIMD_INLINE void storeu(T* ptr) const { Ops<T>::storeu(ptr, p); }
  XENT_SIMD_INLINE void store_tail(T* ptr, int n) const { Ops<T>::store_tail(ptr, n, p); }
  // A non-temporal store (x86: past the caches, no read of the line first) to ptr aligned to
  // sizeof(Packet); a plain aligned store on NEON and in the scalar tier. Stores made this way are
  // ordered with later ones only after stream_fence().
  XENT_SIMD_INLINE void stream(T* ptr) const {
#if defined(XENT_TEST_COUNT_STREAM_STORES)
    stream_store_count().fetch_add(1, std::memory_order_relaxed);
#endif
    Ops<T>::stream(ptr, p);
  }

  // One lane (0 <= i < width). Goes through memory: for tests and epilogues, not inner loops.
  T lane(int i) const {
    alignas(sizeof(Packet)) T buf[width];
    Ops<T>::store(buf, p);
    return buf[i];
  }

  XENT_SIMD_INLINE Vec& operator+=(Vec b) { return *this = {Ops<T>::add(p, b.p)}; }
  XENT_SIMD_INLINE Vec& operator-=(Vec b) { return *this = {Ops<T>::sub(p, b.p)}; }
  XENT_SIMD_INLINE Vec& operator*=(Vec b) { return *this = {Ops<T>::mul(p, b.p)}; }
  XENT_SIMD_INLINE Vec& operator/=(Vec b) { return *this = {Ops<T>::div(p, b.p)}; }
};

template <class T>
XENT_SIMD_INLINE Vec<T> operator+(Vec<T> a, Vec<T> b) {
  return {Ops<T>::add(a.p, b.p)};
}
template <class T>
XENT_SIMD_INLINE Vec<T> operator-(Vec<T> a, Vec<T> b) {
  return {Ops<T>::sub(a.p, b.p)};
}
template <class T>
XENT_SIMD_INLINE Vec<T> operator*(Vec<T> a, Vec<T> b) {
  return {Ops<T>::mul(a.p, b.p)};
}
template <class T>
XENT_SIMD_INLINE Vec<T> operator/(Vec<T> a, Vec<T> b) {
  return {Ops<T>::div(a.p, b.p)};
}
// -a flips the sign bit (so -(+0) = -0 and NaN stays NaN).
template <class T>
XENT_SIMD_INLINE Vec<T> operator-(Vec<T> a) {
  return {Ops<T>::bxor(a.p, Ops<T>::set1(T(-0.0)))};
}

// a * b + c; one rounding where XENT_SIMD_HAS_FMA, two on SSE2 (and a scalar build without FMA).
template <class T>
XENT_SIMD_INLINE Vec<T> fma(Vec<T> a, Vec<T> b, Vec<T> c) {
  return {Ops<T>::fma(a.p, b.p, c.p)};
}
template <class T>
XENT_SIMD_INLINE Vec<T> abs(Vec<T> a) {
  return {Ops<T>::bandnot(a.p, Ops<T>::set1(T(-0.0)))};
}

// (a < b) ? b : a — the first argument when either is NaN.
template <class T>
XENT_SIMD_INLINE Vec<T> max(Vec<T> a, Vec<T> b) {
  return {Ops<T>::max(a.p, b.p)};
}
// (b < a) ? b : a — the first argument when either is NaN.
template <class T>
XENT_SIMD_INLINE Vec<T> min(Vec<T> a, Vec<T> b) {
  return {Ops<T>::min(a.p, b.p)};
}
// NaN when either argument is NaN (then b if b is NaN, else a).
template <class T>
XENT_SIMD_INLINE Vec<T> max_nan(Vec<T> a, Vec<T> b) {
  return {Ops<T>::select(Ops<T>::unord(b.p, b.p), b.p, Ops<T>::max(a.p, b.p))};
}
template <class T>
XENT_SIMD_INLINE Vec<T> min_nan(Vec<T> a, Vec<T> b) {
  return {Ops<T>::select(Ops<T>::unord(b.p, b.p), b.p, Ops<T>::min(a.p, b.p))};
}

template <class T>
XENT_SIMD_INLINE Mask<T> operator<(Vec<T> a, Vec<T> b) {
  return {Ops<T>::lt(a.p, b.p)};
}
template <class T>
XENT_SIMD_INLINE Mask<T> operator<=(Vec<T> a, Vec<T> b) {
  return {Ops<T>::le(a.p, b.p)};
}
template <class T>
XENT_SIMD_INLINE Mask<T> operator>(Vec<T> a, Vec<T> b) {
  return {Ops<T>::lt(b.p, a.p)};
}
template <class T>
XENT_SIMD_INLINE Mask<T> operator>=(Vec<T> a, Vec<T> b) {
  return {Ops<T>::le(b.p, a.p)};
}
template <class T>
XENT_SIMD_INLINE Mask<T> operator==(Vec<T> a, Vec<T> b) {
  return {Ops<T>::eq(a.p, b.p)};
}
template <class T>
XENT_SIMD_INLINE Mask<T> operator!=(Vec<T> a, Vec<T> b) {
  return {Ops<T>::neq(a.p, b.p)};
}
template <class T>
XENT_SIMD_INLINE Mask<T> is_nan(Vec<T> a) {
  return {Ops<T>::unord(a.p, a.p)};
}

template <class T>
XENT_SIMD_INLINE Mask<T> operator&(Mask<T> a, Mask<T> b) {
  return {Ops<T>::mand(a.m, b.m)};
}
template <class T>
XENT_SIMD_INLINE Mask<T> operator|(Mask<T> a, Mask<T> b) {
  return {Ops<T>::mor(a.m, b.m)};
}
template <class T>
XENT_SIMD_INLINE Mask<T> operator~(Mask<T> a) {
  return {Ops<T>::mnot(a.m)};
}
template <class T>
XENT_SIMD_INLINE bool any(Mask<T> m) {
  return Ops<T>::any(m.m);
}
template <class T>
XENT_SIMD_INLINE bool all(Mask<T> m) {
  return Ops<T>::all(m.m);
}

// m ? a : b, lane-wise.
template <class T>
XENT_SIMD_INLINE Vec<T> select(Mask<T> m, Vec<T> a, Vec<T> b) {
  return {Ops<T>::select(m.m, a.p, b.p)};
}

// Orders the non-temporal stores made by Vec::stream before every later store (x86 sfence; nothing
// where stream is a plain store). Call it once a kernel's streamed output is complete.
XENT_SIMD_INLINE void stream_fence() {
#if defined(XENT_SIMD_TIER_AVX512) || defined(XENT_SIMD_TIER_AVX2) || defined(XENT_SIMD_TIER_SSE2)
  _mm_sfence();
#endif
}

// ---- bit patterns (the lanes as unsigned 32- / 64-bit integers) ---------------------------------
template <class T>
XENT_SIMD_INLINE Vec<T> bit_and(Vec<T> a, Vec<T> b) {
  return {Ops<T>::band(a.p, b.p)};
}
template <class T>
XENT_SIMD_INLINE Vec<T> bit_or(Vec<T> a, Vec<T> b) {
  return {Ops<T>::bor(a.p, b.p)};
}
template <class T>
XENT_SIMD_INLINE Vec<T> bit_xor(Vec<T> a, Vec<T> b) {
  return {Ops<T>::bxor(a.p, b.p)};
}
// a & ~b
template <class T>
XENT_SIMD_INLINE Vec<T> bit_andnot(Vec<T> a, Vec<T> b) {
  return {Ops<T>::bandnot(a.p, b.p)};
}
template <class T>
XENT_SIMD_INLINE Vec<T> int_add(Vec<T> a, Vec<T> b) {
  return {Ops<T>::iadd(a.p, b.p)};
}
template <class T>
XENT_SIMD_INLINE Vec<T> int_sub(Vec<T> a, Vec<T> b) {
  return {Ops<T>::isub(a.p, b.p)};
}
template <int k, class T>
XENT_SIMD_INLINE Vec<T> shift_left(Vec<T> a) {
  return {Ops<T>::template shl<k>(a.p)};
}
template <int k, class T>
XENT_SIMD_INLINE Vec<T> shift_right(Vec<T> a) {
  return {Ops<T>::template shr<k>(a.p)};
}

// ---- horizontal ---------------------------------------------------------------------------------

// Sum of the lanes, in the tier's order (Eigen's predux: pairwise halves).
template <class T>
XENT_SIMD_INLINE T reduce_add(Vec<T> v) {
  return Ops<T>::hsum(v.p);
}

// Sum of the lanes in double, in lane order: for per-row float sums that are accumulated in double.
template <class T>
inline double reduce_add_double(Vec<T> v) {
  alignas(sizeof(typename Vec<T>::Packet)) T buf[Vec<T>::width];
  v.store(buf);
  double s = 0;
  for (int i = 0; i < Vec<T>::width; ++i) s += static_cast<double>(buf[i]);
  return s;
}

// Largest / smallest lane; NaN if any lane is NaN (-inf / +inf lanes take part as usual).
template <class T>
XENT_SIMD_INLINE T reduce_max(Vec<T> v) {
  const T m = Ops<T>::hmax(v.p);
  return any(is_nan(v)) ? std::numeric_limits<T>::quiet_NaN() : m;
}
template <class T>
XENT_SIMD_INLINE T reduce_min(Vec<T> v) {
  const T m = Ops<T>::hmin(v.p);
  return any(is_nan(v)) ? std::numeric_limits<T>::quiet_NaN() : m;
}

// ---- widening float lanes to double (element-wise loss sums accumulate float in double) ---------
// lo gets lanes [0, w) of v and hi lanes [w, 2w), w = Vec<double>::width; in the scalar tier (one
// lane each) lo = v and hi = 0.
XENT_SIMD_INLINE void widen(Vec<float> v, Vec<double>& lo, Vec<double>& hi) {
#if defined(XENT_SIMD_TIER_AVX512)
  lo.p = _mm512_cvtps_pd(_mm512_castps512_ps256(v.p));
  hi.p = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v.p), 1)));
#elif defined(XENT_SIMD_TIER_AVX2)
  lo.p = _mm256_cvtps_pd(_mm256_castps256_ps128(v.p));
  hi.p = _mm256_cvtps_pd(_mm256_extractf128_ps(v.p, 1));
#elif defined(XENT_SIMD_TIER_SSE2)
  lo.p = _mm_cvtps_pd(v.p);
  hi.p = _mm_cvtps_pd(_mm_movehl_ps(v.p, v.p));
#elif defined(XENT_SIMD_TIER_NEON)
  lo.p = vcvt_f64_f32(vget_low_f32(v.p));
  hi.p = vcvt_high_f64_f32(v.p);
#else
  lo.p = static_cast<double>(v.p);
  hi.p = 0.0;
#endif
}

// The inverse: lanes [0, w) from lo and [w, 2w) from hi, each rounded to float (to nearest).
XENT_SIMD_INLINE Vec<float> narrow(Vec<double> lo, Vec<double> hi) {
  Vec<float> v;
#if defined(XENT_SIMD_TIER_AVX512)
  const __m256 l = _mm512_cvtpd_ps(lo.p), h = _mm512_cvtpd_ps(hi.p);
  v.p = _mm512_castpd_ps(
      _mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_castps_pd(l)), _mm256_castps_pd(h), 1));
#elif defined(XENT_SIMD_TIER_AVX2)
  v.p =
      _mm256_insertf128_ps(_mm256_castps128_ps256(_mm256_cvtpd_ps(lo.p)), _mm256_cvtpd_ps(hi.p), 1);
#elif defined(XENT_SIMD_TIER_SSE2)
  v.p = _mm_movelh_ps(_mm_cvtpd_ps(lo.p), _mm_cvtpd_ps(hi.p));
#elif defined(XENT_SIMD_TIER_NEON)
  v.p = vcvt_high_f32_f64(vcvt_f32_f64(lo.p), hi.p);
#else
  (void)hi;
  v.p = static_cast<float>(lo.p);
#endif
  return v;
}

}  // namespace simd
}  // namespace XENT_SIMD_ISA_NAMESPACE
}  // namespace detail
}  // namespace xent

#endif  // pass guard
