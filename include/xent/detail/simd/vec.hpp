// xent internals: a tiny vector type over Eigen's packets, one definition per instruction set.
//
//   simd::Vec<T>   T = float or double: the widest Eigen packet of the tier (see isa.hpp), or a
//                  single value in the scalar tier; `Vec<T>::width` lanes.
//   simd::Mask<T>  the result of a lane-wise comparison: an AVX-512 mask register (__mmask16 /
//                  __mmask8), a vector of all-ones / all-zeros lanes (AVX2, SSE2, NEON), or a bool.
//
// Everything a kernel needs is here, each op a line or two over the tier's intrinsics (the raw
// layer, `Ops<T>`, below) and written once over it (the `Vec` interface, at the end):
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
#pragma once

#if defined(XENT_TEST_COUNT_STREAM_STORES)
#include <atomic>
#endif
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "isa.hpp"

namespace xent {
namespace detail {
inline namespace XENT_SIMD_ISA_NAMESPACE {
namespace simd {

// Products are kept apart from later additions. GCC fuses a * b followed by + c into one fma where
// the hardware has one (C++ defaults to -ffp-contract=fast), and does so at some call sites and not
// at others, so the same inline code would round differently in a loop body and in its tail. An
// empty asm statement that "modifies" the product hides it from that optimisation; it emits no
// instruction. fma() is the one way to a fused multiply-add.
#if XENT_SIMD_HAS_FMA && defined(__GNUC__)
#if defined(XENT_SIMD_TIER_AVX512)
#define XENT_SIMD_OPAQUE(v) __asm__("" : "+v"(v))
#elif defined(__aarch64__)
#define XENT_SIMD_OPAQUE(v) __asm__("" : "+w"(v))
#elif defined(__x86_64__) || defined(__i386__)
#define XENT_SIMD_OPAQUE(v) __asm__("" : "+x"(v))
#endif
#endif
#ifndef XENT_SIMD_OPAQUE
#define XENT_SIMD_OPAQUE(v) static_cast<void>(v)
#endif

// Ops<T>: the raw per-tier operations on Eigen's packet type. Only the Vec interface below uses
// them; kernels use Vec.
template <class T>
struct Ops;

// The copy-through-the-stack tail used where the ISA has no masked load/store of this width.
template <class O, class T>
XENT_SIMD_INLINE typename O::Packet load_tail_via_stack(const T* p, int n, T fill) {
  alignas(sizeof(typename O::Packet)) T buf[O::width];
  for (int i = 0; i < O::width; ++i) buf[i] = fill;
  for (int i = 0; i < n; ++i) buf[i] = p[i];
  return O::load(buf);
}
template <class O, class T>
XENT_SIMD_INLINE void store_tail_via_stack(T* p, int n, typename O::Packet v) {
  alignas(sizeof(typename O::Packet)) T buf[O::width];
  O::store(buf, v);
  for (int i = 0; i < n; ++i) p[i] = buf[i];
}

#if defined(XENT_SIMD_TIER_AVX512)
// ---- AVX-512 (AVX512F instructions only) --------------------------------------------------------

template <>
struct Ops<float> {
  using Packet = Eigen::internal::Packet16f;
  using MaskType = __mmask16;
  using Bits = std::uint32_t;
  static constexpr int width = 16;
  static constexpr bool has_scalef = true;
  using P = Packet;
  using M = MaskType;
  static XENT_SIMD_INLINE __m512i i(P a) { return _mm512_castps_si512(a); }
  static XENT_SIMD_INLINE P f(__m512i a) { return _mm512_castsi512_ps(a); }

  static XENT_SIMD_INLINE P set1(float v) { return _mm512_set1_ps(v); }
  static XENT_SIMD_INLINE P from_bits(Bits b) { return f(_mm512_set1_epi32(static_cast<int>(b))); }
  static XENT_SIMD_INLINE P load(const float* p) { return _mm512_load_ps(p); }
  static XENT_SIMD_INLINE P loadu(const float* p) { return _mm512_loadu_ps(p); }
  static XENT_SIMD_INLINE void store(float* p, P v) { _mm512_store_ps(p, v); }
  static XENT_SIMD_INLINE void stream(float* p, P v) { _mm512_stream_ps(p, v); }
  static XENT_SIMD_INLINE void storeu(float* p, P v) { _mm512_storeu_ps(p, v); }
  static XENT_SIMD_INLINE M first(int n) { return static_cast<M>((1u << n) - 1u); }
  static XENT_SIMD_INLINE P load_tail(const float* p, int n, float fill) {
    return _mm512_mask_loadu_ps(_mm512_set1_ps(fill), first(n), p);
  }
  static XENT_SIMD_INLINE void store_tail(float* p, int n, P v) {
    _mm512_mask_storeu_ps(p, first(n), v);
  }

  static XENT_SIMD_INLINE P add(P a, P b) { return _mm512_add_ps(a, b); }
  static XENT_SIMD_INLINE P sub(P a, P b) { return _mm512_sub_ps(a, b); }
  static XENT_SIMD_INLINE P mul(P a, P b) {
    P r = _mm512_mul_ps(a, b);
    XENT_SIMD_OPAQUE(r);
    return r;
  }
  static XENT_SIMD_INLINE P div(P a, P b) { return _mm512_div_ps(a, b); }
  static XENT_SIMD_INLINE P fma(P a, P b, P c) { return _mm512_fmadd_ps(a, b, c); }
  // vmaxps(x, y) = x > y ? x : y, so (b, a) gives (a < b) ? b : a.
  static XENT_SIMD_INLINE P max(P a, P b) { return _mm512_max_ps(b, a); }
  static XENT_SIMD_INLINE P min(P a, P b) { return _mm512_min_ps(b, a); }
  static XENT_SIMD_INLINE P band(P a, P b) { return f(_mm512_and_si512(i(a), i(b))); }
  static XENT_SIMD_INLINE P bor(P a, P b) { return f(_mm512_or_si512(i(a), i(b))); }
  static XENT_SIMD_INLINE P bxor(P a, P b) { return f(_mm512_xor_si512(i(a), i(b))); }
  static XENT_SIMD_INLINE P bandnot(P a, P b) { return f(_mm512_andnot_si512(i(b), i(a))); }
  static XENT_SIMD_INLINE P iadd(P a, P b) { return f(_mm512_add_epi32(i(a), i(b))); }
  static XENT_SIMD_INLINE P isub(P a, P b) { return f(_mm512_sub_epi32(i(a), i(b))); }
  template <int k>
  static XENT_SIMD_INLINE P shl(P a) {
    return f(_mm512_slli_epi32(i(a), k));
  }
  template <int k>
  static XENT_SIMD_INLINE P shr(P a) {
    return f(_mm512_srli_epi32(i(a), k));
  }
  // a * 2^floor(n), rounded once (overflow to inf, underflow to subnormal or 0).
  static XENT_SIMD_INLINE P scalef(P a, P n) { return _mm512_scalef_ps(a, n); }

  static XENT_SIMD_INLINE M lt(P a, P b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
  static XENT_SIMD_INLINE M le(P a, P b) { return _mm512_cmp_ps_mask(a, b, _CMP_LE_OQ); }
  static XENT_SIMD_INLINE M eq(P a, P b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
  static XENT_SIMD_INLINE M neq(P a, P b) { return _mm512_cmp_ps_mask(a, b, _CMP_NEQ_UQ); }
  static XENT_SIMD_INLINE M unord(P a, P b) { return _mm512_cmp_ps_mask(a, b, _CMP_UNORD_Q); }
  static XENT_SIMD_INLINE P select(M m, P a, P b) { return _mm512_mask_blend_ps(m, b, a); }
  static XENT_SIMD_INLINE M mand(M a, M b) { return static_cast<M>(a & b); }
  static XENT_SIMD_INLINE M mor(M a, M b) { return static_cast<M>(a | b); }
  static XENT_SIMD_INLINE M mnot(M a) { return static_cast<M>(~a); }
  static XENT_SIMD_INLINE bool any(M m) { return m != 0; }
  static XENT_SIMD_INLINE bool all(M m) { return m == 0xFFFF; }
};

template <>
struct Ops<double> {
  using Packet = Eigen::internal::Packet8d;
  using MaskType = __mmask8;
  using Bits = std::uint64_t;
  static constexpr int width = 8;
  static constexpr bool has_scalef = true;
  using P = Packet;
  using M = MaskType;
  static XENT_SIMD_INLINE __m512i i(P a) { return _mm512_castpd_si512(a); }
  static XENT_SIMD_INLINE P f(__m512i a) { return _mm512_castsi512_pd(a); }

  static XENT_SIMD_INLINE P set1(double v) { return _mm512_set1_pd(v); }
  static XENT_SIMD_INLINE P from_bits(Bits b) {
    return f(_mm512_set1_epi64(static_cast<long long>(b)));
  }
  static XENT_SIMD_INLINE P load(const double* p) { return _mm512_load_pd(p); }
  static XENT_SIMD_INLINE P loadu(const double* p) { return _mm512_loadu_pd(p); }
  static XENT_SIMD_INLINE void store(double* p, P v) { _mm512_store_pd(p, v); }
  static XENT_SIMD_INLINE void stream(double* p, P v) { _mm512_stream_pd(p, v); }
  static XENT_SIMD_INLINE void storeu(double* p, P v) { _mm512_storeu_pd(p, v); }
  static XENT_SIMD_INLINE M first(int n) { return static_cast<M>((1u << n) - 1u); }
  static XENT_SIMD_INLINE P load_tail(const double* p, int n, double fill) {
    return _mm512_mask_loadu_pd(_mm512_set1_pd(fill), first(n), p);
  }
  static XENT_SIMD_INLINE void store_tail(double* p, int n, P v) {
    _mm512_mask_storeu_pd(p, first(n), v);
  }

  static XENT_SIMD_INLINE P add(P a, P b) { return _mm512_add_pd(a, b); }
  static XENT_SIMD_INLINE P sub(P a, P b) { return _mm512_sub_pd(a, b); }
  static XENT_SIMD_INLINE P mul(P a, P b) {
    P r = _mm512_mul_pd(a, b);
    XENT_SIMD_OPAQUE(r);
    return r;
  }
  static XENT_SIMD_INLINE P div(P a, P b) { return _mm512_div_pd(a, b); }
  static XENT_SIMD_INLINE P fma(P a, P b, P c) { return _mm512_fmadd_pd(a, b, c); }
  static XENT_SIMD_INLINE P max(P a, P b) { return _mm512_max_pd(b, a); }
  static XENT_SIMD_INLINE P min(P a, P b) { return _mm512_min_pd(b, a); }
  static XENT_SIMD_INLINE P band(P a, P b) { return f(_mm512_and_si512(i(a), i(b))); }
  static XENT_SIMD_INLINE P bor(P a, P b) { return f(_mm512_or_si512(i(a), i(b))); }
  static XENT_SIMD_INLINE P bxor(P a, P b) { return f(_mm512_xor_si512(i(a), i(b))); }
  static XENT_SIMD_INLINE P bandnot(P a, P b) { return f(_mm512_andnot_si512(i(b), i(a))); }
  static XENT_SIMD_INLINE P iadd(P a, P b) { return f(_mm512_add_epi64(i(a), i(b))); }
  static XENT_SIMD_INLINE P isub(P a, P b) { return f(_mm512_sub_epi64(i(a), i(b))); }
  template <int k>
  static XENT_SIMD_INLINE P shl(P a) {
    return f(_mm512_slli_epi64(i(a), k));
  }
  template <int k>
  static XENT_SIMD_INLINE P shr(P a) {
    return f(_mm512_srli_epi64(i(a), k));
  }
  static XENT_SIMD_INLINE P scalef(P a, P n) { return _mm512_scalef_pd(a, n); }

  static XENT_SIMD_INLINE M lt(P a, P b) { return _mm512_cmp_pd_mask(a, b, _CMP_LT_OQ); }
  static XENT_SIMD_INLINE M le(P a, P b) { return _mm512_cmp_pd_mask(a, b, _CMP_LE_OQ); }
  static XENT_SIMD_INLINE M eq(P a, P b) { return _mm512_cmp_pd_mask(a, b, _CMP_EQ_OQ); }
  static XENT_SIMD_INLINE M neq(P a, P b) { return _mm512_cmp_pd_mask(a, b, _CMP_NEQ_UQ); }
  static XENT_SIMD_INLINE M unord(P a, P b) { return _mm512_cmp_pd_mask(a, b, _CMP_UNORD_Q); }
  static XENT_SIMD_INLINE P select(M m, P a, P b) { return _mm512_mask_blend_pd(m, b, a); }
  static XENT_SIMD_INLINE M mand(M a, M b) { return static_cast<M>(a & b); }
  static XENT_SIMD_INLINE M mor(M a, M b) { return static_cast<M>(a | b); }
  static XENT_SIMD_INLINE M mnot(M a) { return static_cast<M>(~a); }
  static XENT_SIMD_INLINE bool any(M m) { return m != 0; }
  static XENT_SIMD_INLINE bool all(M m) { return m == 0xFF; }
};

#elif defined(XENT_SIMD_TIER_AVX2)
// ---- AVX2 + FMA ---------------------------------------------------------------------------------

template <>
struct Ops<float> {
  using Packet = Eigen::internal::Packet8f;
  using MaskType = __m256;  // all-ones / all-zeros lanes
  using Bits = std::uint32_t;
  static constexpr int width = 8;
  static constexpr bool has_scalef = false;
  using P = Packet;
  using M = MaskType;
  static XENT_SIMD_INLINE __m256i i(P a) { return _mm256_castps_si256(a); }
  static XENT_SIMD_INLINE P f(__m256i a) { return _mm256_castsi256_ps(a); }

  static XENT_SIMD_INLINE P set1(float v) { return _mm256_set1_ps(v); }
  static XENT_SIMD_INLINE P from_bits(Bits b) { return f(_mm256_set1_epi32(static_cast<int>(b))); }
  static XENT_SIMD_INLINE P load(const float* p) { return _mm256_load_ps(p); }
  static XENT_SIMD_INLINE P loadu(const float* p) { return _mm256_loadu_ps(p); }
  static XENT_SIMD_INLINE void store(float* p, P v) { _mm256_store_ps(p, v); }
  static XENT_SIMD_INLINE void stream(float* p, P v) { _mm256_stream_ps(p, v); }
  static XENT_SIMD_INLINE void storeu(float* p, P v) { _mm256_storeu_ps(p, v); }
  static XENT_SIMD_INLINE __m256i first_int(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static XENT_SIMD_INLINE M first(int n) { return f(first_int(n)); }
  static XENT_SIMD_INLINE P load_tail(const float* p, int n, float fill) {
    const __m256i m = first_int(n);
    return _mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, m), f(m));
  }
  static XENT_SIMD_INLINE void store_tail(float* p, int n, P v) {
    _mm256_maskstore_ps(p, first_int(n), v);
  }

  static XENT_SIMD_INLINE P add(P a, P b) { return _mm256_add_ps(a, b); }
  static XENT_SIMD_INLINE P sub(P a, P b) { return _mm256_sub_ps(a, b); }
  static XENT_SIMD_INLINE P mul(P a, P b) {
    P r = _mm256_mul_ps(a, b);
    XENT_SIMD_OPAQUE(r);
    return r;
  }
  static XENT_SIMD_INLINE P div(P a, P b) { return _mm256_div_ps(a, b); }
  static XENT_SIMD_INLINE P fma(P a, P b, P c) { return _mm256_fmadd_ps(a, b, c); }
  static XENT_SIMD_INLINE P max(P a, P b) { return _mm256_max_ps(b, a); }
  static XENT_SIMD_INLINE P min(P a, P b) { return _mm256_min_ps(b, a); }
  static XENT_SIMD_INLINE P band(P a, P b) { return _mm256_and_ps(a, b); }
  static XENT_SIMD_INLINE P bor(P a, P b) { return _mm256_or_ps(a, b); }
  static XENT_SIMD_INLINE P bxor(P a, P b) { return _mm256_xor_ps(a, b); }
  static XENT_SIMD_INLINE P bandnot(P a, P b) { return _mm256_andnot_ps(b, a); }
  static XENT_SIMD_INLINE P iadd(P a, P b) { return f(_mm256_add_epi32(i(a), i(b))); }
  static XENT_SIMD_INLINE P isub(P a, P b) { return f(_mm256_sub_epi32(i(a), i(b))); }
  template <int k>
  static XENT_SIMD_INLINE P shl(P a) {
    return f(_mm256_slli_epi32(i(a), k));
  }
  template <int k>
  static XENT_SIMD_INLINE P shr(P a) {
    return f(_mm256_srli_epi32(i(a), k));
  }

  static XENT_SIMD_INLINE M lt(P a, P b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
  static XENT_SIMD_INLINE M le(P a, P b) { return _mm256_cmp_ps(a, b, _CMP_LE_OQ); }
  static XENT_SIMD_INLINE M eq(P a, P b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
  static XENT_SIMD_INLINE M neq(P a, P b) { return _mm256_cmp_ps(a, b, _CMP_NEQ_UQ); }
  static XENT_SIMD_INLINE M unord(P a, P b) { return _mm256_cmp_ps(a, b, _CMP_UNORD_Q); }
  static XENT_SIMD_INLINE P select(M m, P a, P b) { return _mm256_blendv_ps(b, a, m); }
  static XENT_SIMD_INLINE M mand(M a, M b) { return _mm256_and_ps(a, b); }
  static XENT_SIMD_INLINE M mor(M a, M b) { return _mm256_or_ps(a, b); }
  static XENT_SIMD_INLINE M mnot(M a) { return _mm256_xor_ps(a, f(_mm256_set1_epi32(-1))); }
  static XENT_SIMD_INLINE bool any(M m) { return _mm256_movemask_ps(m) != 0; }
  static XENT_SIMD_INLINE bool all(M m) { return _mm256_movemask_ps(m) == 0xFF; }
};

template <>
struct Ops<double> {
  using Packet = Eigen::internal::Packet4d;
  using MaskType = __m256d;
  using Bits = std::uint64_t;
  static constexpr int width = 4;
  static constexpr bool has_scalef = false;
  using P = Packet;
  using M = MaskType;
  static XENT_SIMD_INLINE __m256i i(P a) { return _mm256_castpd_si256(a); }
  static XENT_SIMD_INLINE P f(__m256i a) { return _mm256_castsi256_pd(a); }

  static XENT_SIMD_INLINE P set1(double v) { return _mm256_set1_pd(v); }
  static XENT_SIMD_INLINE P from_bits(Bits b) {
    return f(_mm256_set1_epi64x(static_cast<long long>(b)));
  }
  static XENT_SIMD_INLINE P load(const double* p) { return _mm256_load_pd(p); }
  static XENT_SIMD_INLINE P loadu(const double* p) { return _mm256_loadu_pd(p); }
  static XENT_SIMD_INLINE void store(double* p, P v) { _mm256_store_pd(p, v); }
  static XENT_SIMD_INLINE void stream(double* p, P v) { _mm256_stream_pd(p, v); }
  static XENT_SIMD_INLINE void storeu(double* p, P v) { _mm256_storeu_pd(p, v); }
  static XENT_SIMD_INLINE __m256i first_int(int n) {
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
  }
  static XENT_SIMD_INLINE M first(int n) { return f(first_int(n)); }
  static XENT_SIMD_INLINE P load_tail(const double* p, int n, double fill) {
    const __m256i m = first_int(n);
    return _mm256_blendv_pd(_mm256_set1_pd(fill), _mm256_maskload_pd(p, m), f(m));
  }
  static XENT_SIMD_INLINE void store_tail(double* p, int n, P v) {
    _mm256_maskstore_pd(p, first_int(n), v);
  }

  static XENT_SIMD_INLINE P add(P a, P b) { return _mm256_add_pd(a, b); }
  static XENT_SIMD_INLINE P sub(P a, P b) { return _mm256_sub_pd(a, b); }
  static XENT_SIMD_INLINE P mul(P a, P b) {
    P r = _mm256_mul_pd(a, b);
    XENT_SIMD_OPAQUE(r);
    return r;
  }
  static XENT_SIMD_INLINE P div(P a, P b) { return _mm256_div_pd(a, b); }
  static XENT_SIMD_INLINE P fma(P a, P b, P c) { return _mm256_fmadd_pd(a, b, c); }
  static XENT_SIMD_INLINE P max(P a, P b) { return _mm256_max_pd(b, a); }
  static XENT_SIMD_INLINE P min(P a, P b) { return _mm256_min_pd(b, a); }
  static XENT_SIMD_INLINE P band(P a, P b) { return _mm256_and_pd(a, b); }
  static XENT_SIMD_INLINE P bor(P a, P b) { return _mm256_or_pd(a, b); }
  static XENT_SIMD_INLINE P bxor(P a, P b) { return _mm256_xor_pd(a, b); }
  static XENT_SIMD_INLINE P bandnot(P a, P b) { return _mm256_andnot_pd(b, a); }
  static XENT_SIMD_INLINE P iadd(P a, P b) { return f(_mm256_add_epi64(i(a), i(b))); }
  static XENT_SIMD_INLINE P isub(P a, P b) { return f(_mm256_sub_epi64(i(a), i(b))); }
  template <int k>
  static XENT_SIMD_INLINE P shl(P a) {
    return f(_mm256_slli_epi64(i(a), k));
  }
  template <int k>
  static XENT_SIMD_INLINE P shr(P a) {
    return f(_mm256_srli_epi64(i(a), k));
  }

  static XENT_SIMD_INLINE M lt(P a, P b) { return _mm256_cmp_pd(a, b, _CMP_LT_OQ); }
  static XENT_SIMD_INLINE M le(P a, P b) { return _mm256_cmp_pd(a, b, _CMP_LE_OQ); }
  static XENT_SIMD_INLINE M eq(P a, P b) { return _mm256_cmp_pd(a, b, _CMP_EQ_OQ); }
  static XENT_SIMD_INLINE M neq(P a, P b) { return _mm256_cmp_pd(a, b, _CMP_NEQ_UQ); }
  static XENT_SIMD_INLINE M unord(P a, P b) { return _mm256_cmp_pd(a, b, _CMP_UNORD_Q); }
  static XENT_SIMD_INLINE P select(M m, P a, P b) { return _mm256_blendv_pd(b, a, m); }
  static XENT_SIMD_INLINE M mand(M a, M b) { return _mm256_and_pd(a, b); }
  static XENT_SIMD_INLINE M mor(M a, M b) { return _mm256_or_pd(a, b); }
  static XENT_SIMD_INLINE M mnot(M a) { return _mm256_xor_pd(a, f(_mm256_set1_epi32(-1))); }
  static XENT_SIMD_INLINE bool any(M m) { return _mm256_movemask_pd(m) != 0; }
  static XENT_SIMD_INLINE bool all(M m) { return _mm256_movemask_pd(m) == 0xF; }
};

#elif defined(XENT_SIMD_TIER_SSE2)
// ---- SSE2 (SSE4.1's blendv where the build has it) ----------------------------------------------

template <>
struct Ops<float> {
  using Packet = Eigen::internal::Packet4f;
  using MaskType = __m128;
  using Bits = std::uint32_t;
  static constexpr int width = 4;
  static constexpr bool has_scalef = false;
  using P = Packet;
  using M = MaskType;
  static XENT_SIMD_INLINE __m128i i(P a) { return _mm_castps_si128(a); }
  static XENT_SIMD_INLINE P f(__m128i a) { return _mm_castsi128_ps(a); }

  static XENT_SIMD_INLINE P set1(float v) { return _mm_set1_ps(v); }
  static XENT_SIMD_INLINE P from_bits(Bits b) { return f(_mm_set1_epi32(static_cast<int>(b))); }
  static XENT_SIMD_INLINE P load(const float* p) { return _mm_load_ps(p); }
  static XENT_SIMD_INLINE P loadu(const float* p) { return _mm_loadu_ps(p); }
  static XENT_SIMD_INLINE void store(float* p, P v) { _mm_store_ps(p, v); }
  static XENT_SIMD_INLINE void stream(float* p, P v) { _mm_stream_ps(p, v); }
  static XENT_SIMD_INLINE void storeu(float* p, P v) { _mm_storeu_ps(p, v); }
  static XENT_SIMD_INLINE M first(int n) {
    return f(_mm_cmpgt_epi32(_mm_set1_epi32(n), _mm_setr_epi32(0, 1, 2, 3)));
  }
  static XENT_SIMD_INLINE P load_tail(const float* p, int n, float fill) {
    return load_tail_via_stack<Ops>(p, n, fill);
  }
  static XENT_SIMD_INLINE void store_tail(float* p, int n, P v) {
    store_tail_via_stack<Ops>(p, n, v);
  }

  static XENT_SIMD_INLINE P add(P a, P b) { return _mm_add_ps(a, b); }
  static XENT_SIMD_INLINE P sub(P a, P b) { return _mm_sub_ps(a, b); }
  static XENT_SIMD_INLINE P mul(P a, P b) {
    P r = _mm_mul_ps(a, b);
    XENT_SIMD_OPAQUE(r);
    return r;
  }
  static XENT_SIMD_INLINE P div(P a, P b) { return _mm_div_ps(a, b); }
  static XENT_SIMD_INLINE P fma(P a, P b, P c) {
#if XENT_SIMD_HAS_FMA
    return _mm_fmadd_ps(a, b, c);
#else
    return _mm_add_ps(_mm_mul_ps(a, b), c);
#endif
  }
  static XENT_SIMD_INLINE P max(P a, P b) { return _mm_max_ps(b, a); }
  static XENT_SIMD_INLINE P min(P a, P b) { return _mm_min_ps(b, a); }
  static XENT_SIMD_INLINE P band(P a, P b) { return _mm_and_ps(a, b); }
  static XENT_SIMD_INLINE P bor(P a, P b) { return _mm_or_ps(a, b); }
  static XENT_SIMD_INLINE P bxor(P a, P b) { return _mm_xor_ps(a, b); }
  static XENT_SIMD_INLINE P bandnot(P a, P b) { return _mm_andnot_ps(b, a); }
  static XENT_SIMD_INLINE P iadd(P a, P b) { return f(_mm_add_epi32(i(a), i(b))); }
  static XENT_SIMD_INLINE P isub(P a, P b) { return f(_mm_sub_epi32(i(a), i(b))); }
  template <int k>
  static XENT_SIMD_INLINE P shl(P a) {
    return f(_mm_slli_epi32(i(a), k));
  }
  template <int k>
  static XENT_SIMD_INLINE P shr(P a) {
    return f(_mm_srli_epi32(i(a), k));
  }

  static XENT_SIMD_INLINE M lt(P a, P b) { return _mm_cmplt_ps(a, b); }
  static XENT_SIMD_INLINE M le(P a, P b) { return _mm_cmple_ps(a, b); }
  static XENT_SIMD_INLINE M eq(P a, P b) { return _mm_cmpeq_ps(a, b); }
  static XENT_SIMD_INLINE M neq(P a, P b) { return _mm_cmpneq_ps(a, b); }
  static XENT_SIMD_INLINE M unord(P a, P b) { return _mm_cmpunord_ps(a, b); }
  static XENT_SIMD_INLINE P select(M m, P a, P b) {
#if defined(__SSE4_1__)
    return _mm_blendv_ps(b, a, m);
#else
    return _mm_or_ps(_mm_and_ps(m, a), _mm_andnot_ps(m, b));
#endif
  }
  static XENT_SIMD_INLINE M mand(M a, M b) { return _mm_and_ps(a, b); }
  static XENT_SIMD_INLINE M mor(M a, M b) { return _mm_or_ps(a, b); }
  static XENT_SIMD_INLINE M mnot(M a) { return _mm_xor_ps(a, f(_mm_set1_epi32(-1))); }
  static XENT_SIMD_INLINE bool any(M m) { return _mm_movemask_ps(m) != 0; }
  static XENT_SIMD_INLINE bool all(M m) { return _mm_movemask_ps(m) == 0xF; }
};

template <>
struct Ops<double> {
  using Packet = Eigen::internal::Packet2d;
  using MaskType = __m128d;
  using Bits = std::uint64_t;
  static constexpr int width = 2;
  static constexpr bool has_scalef = false;
  using P = Packet;
  using M = MaskType;
  static XENT_SIMD_INLINE __m128i i(P a) { return _mm_castpd_si128(a); }
  static XENT_SIMD_INLINE P f(__m128i a) { return _mm_castsi128_pd(a); }

  static XENT_SIMD_INLINE P set1(double v) { return _mm_set1_pd(v); }
  static XENT_SIMD_INLINE P from_bits(Bits b) {
    return f(_mm_set1_epi64x(static_cast<long long>(b)));
  }
  static XENT_SIMD_INLINE P load(const double* p) { return _mm_load_pd(p); }
  static XENT_SIMD_INLINE P loadu(const double* p) { return _mm_loadu_pd(p); }
  static XENT_SIMD_INLINE void store(double* p, P v) { _mm_store_pd(p, v); }
  static XENT_SIMD_INLINE void stream(double* p, P v) { _mm_stream_pd(p, v); }
  static XENT_SIMD_INLINE void storeu(double* p, P v) { _mm_storeu_pd(p, v); }
  static XENT_SIMD_INLINE M first(int n) {
    // 64-bit lanes: lane j is on when j < n (n <= 2), built from 32-bit compares of (j, j).
    return f(_mm_cmpgt_epi32(_mm_set1_epi32(n), _mm_setr_epi32(0, 0, 1, 1)));
  }
  static XENT_SIMD_INLINE P load_tail(const double* p, int n, double fill) {
    return load_tail_via_stack<Ops>(p, n, fill);
  }
  static XENT_SIMD_INLINE void store_tail(double* p, int n, P v) {
    store_tail_via_stack<Ops>(p, n, v);
  }

  static XENT_SIMD_INLINE P add(P a, P b) { return _mm_add_pd(a, b); }
  static XENT_SIMD_INLINE P sub(P a, P b) { return _mm_sub_pd(a, b); }
  static XENT_SIMD_INLINE P mul(P a, P b) {
    P r = _mm_mul_pd(a, b);
    XENT_SIMD_OPAQUE(r);
    return r;
  }
  static XENT_SIMD_INLINE P div(P a, P b) { return _mm_div_pd(a, b); }
  static XENT_SIMD_INLINE P fma(P a, P b, P c) {
#if XENT_SIMD_HAS_FMA
    return _mm_fmadd_pd(a, b, c);
#else
    return _mm_add_pd(_mm_mul_pd(a, b), c);
#endif
  }
  static XENT_SIMD_INLINE P max(P a, P b) { return _mm_max_pd(b, a); }
  static XENT_SIMD_INLINE P min(P a, P b) { return _mm_min_pd(b, a); }
  static XENT_SIMD_INLINE P band(P a, P b) { return _mm_and_pd(a, b); }
  static XENT_SIMD_INLINE P bor(P a, P b) { return _mm_or_pd(a, b); }
  static XENT_SIMD_INLINE P bxor(P a, P b) { return _mm_xor_pd(a, b); }
  static XENT_SIMD_INLINE P bandnot(P a, P b) { return _mm_andnot_pd(b, a); }
  static XENT_SIMD_INLINE P iadd(P a, P b) { return f(_mm_add_epi64(i(a), i(b))); }
  static XENT_SIMD_INLINE P isub(P a, P b) { return f(_mm_sub_epi64(i(a), i(b))); }
  template <int k>
  static XENT_SIMD_INLINE P shl(P a) {
    return f(_mm_slli_epi64(i(a), k));
  }
  template <int k>
  static XENT_SIMD_INLINE P shr(P a) {
    return f(_mm_srli_epi64(i(a), k));
  }

  static XENT_SIMD_INLINE M lt(P a, P b) { return _mm_cmplt_pd(a, b); }
  static XENT_SIMD_INLINE M le(P a, P b) { return _mm_cmple_pd(a, b); }
  static XENT_SIMD_INLINE M eq(P a, P b) { return _mm_cmpeq_pd(a, b); }
  static XENT_SIMD_INLINE M neq(P a, P b) { return _mm_cmpneq_pd(a, b); }
  static XENT_SIMD_INLINE M unord(P a, P b) { return _mm_cmpunord_pd(a, b); }
  static XENT_SIMD_INLINE P select(M m, P a, P b) {
#if defined(__SSE4_1__)
    return _mm_blendv_pd(b, a, m);
#else
    return _mm_or_pd(_mm_and_pd(m, a), _mm_andnot_pd(m, b));
#endif
  }
  static XENT_SIMD_INLINE M mand(M a, M b) { return _mm_and_pd(a, b); }
  static XENT_SIMD_INLINE M mor(M a, M b) { return _mm_or_pd(a, b); }
  static XENT_SIMD_INLINE M mnot(M a) { return _mm_xor_pd(a, f(_mm_set1_epi32(-1))); }
  static XENT_SIMD_INLINE bool any(M m) { return _mm_movemask_pd(m) != 0; }
  static XENT_SIMD_INLINE bool all(M m) { return _mm_movemask_pd(m) == 0x3; }
};

#elif defined(XENT_SIMD_TIER_NEON)
// ---- NEON (AArch64) -----------------------------------------------------------------------------

template <>
struct Ops<float> {
  using Packet = Eigen::internal::Packet4f;
  using MaskType = uint32x4_t;
  using Bits = std::uint32_t;
  static constexpr int width = 4;
  static constexpr bool has_scalef = false;
  using P = Packet;
  using M = MaskType;
  static XENT_SIMD_INLINE uint32x4_t i(P a) { return vreinterpretq_u32_f32(a); }
  static XENT_SIMD_INLINE P f(uint32x4_t a) { return vreinterpretq_f32_u32(a); }

  static XENT_SIMD_INLINE P set1(float v) { return vdupq_n_f32(v); }
  static XENT_SIMD_INLINE P from_bits(Bits b) { return f(vdupq_n_u32(b)); }
  static XENT_SIMD_INLINE P load(const float* p) { return vld1q_f32(p); }
  static XENT_SIMD_INLINE P loadu(const float* p) { return vld1q_f32(p); }
  static XENT_SIMD_INLINE void store(float* p, P v) { vst1q_f32(p, v); }
  static XENT_SIMD_INLINE void stream(float* p, P v) { vst1q_f32(p, v); }  // no hint: a store
  static XENT_SIMD_INLINE void storeu(float* p, P v) { vst1q_f32(p, v); }
  static XENT_SIMD_INLINE M first(int n) {
    static const std::uint32_t iota[4] = {0, 1, 2, 3};
    return vcltq_u32(vld1q_u32(iota), vdupq_n_u32(static_cast<std::uint32_t>(n)));
  }
  static XENT_SIMD_INLINE P load_tail(const float* p, int n, float fill) {
    return load_tail_via_stack<Ops>(p, n, fill);
  }
  static XENT_SIMD_INLINE void store_tail(float* p, int n, P v) {
    store_tail_via_stack<Ops>(p, n, v);
  }

  static XENT_SIMD_INLINE P add(P a, P b) { return vaddq_f32(a, b); }
  static XENT_SIMD_INLINE P sub(P a, P b) { return vsubq_f32(a, b); }
  static XENT_SIMD_INLINE P mul(P a, P b) {
    P r = vmulq_f32(a, b);
    XENT_SIMD_OPAQUE(r);
    return r;
  }
  static XENT_SIMD_INLINE P div(P a, P b) { return vdivq_f32(a, b); }
  static XENT_SIMD_INLINE P fma(P a, P b, P c) { return vfmaq_f32(c, a, b); }
  // fmax/fmin return NaN for a NaN in either argument; the layer's semantics are x86's.
  static XENT_SIMD_INLINE P max(P a, P b) { return vbslq_f32(vcltq_f32(a, b), b, a); }
  static XENT_SIMD_INLINE P min(P a, P b) { return vbslq_f32(vcltq_f32(b, a), b, a); }
  static XENT_SIMD_INLINE P band(P a, P b) { return f(vandq_u32(i(a), i(b))); }
  static XENT_SIMD_INLINE P bor(P a, P b) { return f(vorrq_u32(i(a), i(b))); }
  static XENT_SIMD_INLINE P bxor(P a, P b) { return f(veorq_u32(i(a), i(b))); }
  static XENT_SIMD_INLINE P bandnot(P a, P b) { return f(vbicq_u32(i(a), i(b))); }
  static XENT_SIMD_INLINE P iadd(P a, P b) { return f(vaddq_u32(i(a), i(b))); }
  static XENT_SIMD_INLINE P isub(P a, P b) { return f(vsubq_u32(i(a), i(b))); }
  template <int k>
  static XENT_SIMD_INLINE P shl(P a) {
    return f(vshlq_n_u32(i(a), k));
  }
  template <int k>
  static XENT_SIMD_INLINE P shr(P a) {
    return f(vshrq_n_u32(i(a), k));
  }

  static XENT_SIMD_INLINE M lt(P a, P b) { return vcltq_f32(a, b); }
  static XENT_SIMD_INLINE M le(P a, P b) { return vcleq_f32(a, b); }
  static XENT_SIMD_INLINE M eq(P a, P b) { return vceqq_f32(a, b); }
  static XENT_SIMD_INLINE M neq(P a, P b) { return vmvnq_u32(vceqq_f32(a, b)); }
  static XENT_SIMD_INLINE M unord(P a, P b) {
    return vmvnq_u32(vandq_u32(vceqq_f32(a, a), vceqq_f32(b, b)));
  }
  static XENT_SIMD_INLINE P select(M m, P a, P b) { return vbslq_f32(m, a, b); }
  static XENT_SIMD_INLINE M mand(M a, M b) { return vandq_u32(a, b); }
  static XENT_SIMD_INLINE M mor(M a, M b) { return vorrq_u32(a, b); }
  static XENT_SIMD_INLINE M mnot(M a) { return vmvnq_u32(a); }
  static XENT_SIMD_INLINE bool any(M m) { return vmaxvq_u32(m) != 0; }
  static XENT_SIMD_INLINE bool all(M m) { return vminvq_u32(m) != 0; }
};

template <>
struct Ops<double> {
  using Packet = Eigen::internal::Packet2d;
  using MaskType = uint64x2_t;
  using Bits = std::uint64_t;
  static constexpr int width = 2;
  static constexpr bool has_scalef = false;
  using P = Packet;
  using M = MaskType;
  static XENT_SIMD_INLINE uint64x2_t i(P a) { return vreinterpretq_u64_f64(a); }
  static XENT_SIMD_INLINE P f(uint64x2_t a) { return vreinterpretq_f64_u64(a); }
  static XENT_SIMD_INLINE uint64x2_t not64(uint64x2_t a) {
    return vreinterpretq_u64_u32(vmvnq_u32(vreinterpretq_u32_u64(a)));
  }

  static XENT_SIMD_INLINE P set1(double v) { return vdupq_n_f64(v); }
  static XENT_SIMD_INLINE P from_bits(Bits b) { return f(vdupq_n_u64(b)); }
  static XENT_SIMD_INLINE P load(const double* p) { return vld1q_f64(p); }
  static XENT_SIMD_INLINE P loadu(const double* p) { return vld1q_f64(p); }
  static XENT_SIMD_INLINE void store(double* p, P v) { vst1q_f64(p, v); }
  static XENT_SIMD_INLINE void stream(double* p, P v) { vst1q_f64(p, v); }
  static XENT_SIMD_INLINE void storeu(double* p, P v) { vst1q_f64(p, v); }
  static XENT_SIMD_INLINE M first(int n) {
    static const std::uint64_t iota[2] = {0, 1};
    return vcltq_u64(vld1q_u64(iota), vdupq_n_u64(static_cast<std::uint64_t>(n)));
  }
  static XENT_SIMD_INLINE P load_tail(const double* p, int n, double fill) {
    return load_tail_via_stack<Ops>(p, n, fill);
  }
  static XENT_SIMD_INLINE void store_tail(double* p, int n, P v) {
    store_tail_via_stack<Ops>(p, n, v);
  }

  static XENT_SIMD_INLINE P add(P a, P b) { return vaddq_f64(a, b); }
  static XENT_SIMD_INLINE P sub(P a, P b) { return vsubq_f64(a, b); }
  static XENT_SIMD_INLINE P mul(P a, P b) {
    P r = vmulq_f64(a, b);
    XENT_SIMD_OPAQUE(r);
    return r;
  }
  static XENT_SIMD_INLINE P div(P a, P b) { return vdivq_f64(a, b); }
  static XENT_SIMD_INLINE P fma(P a, P b, P c) { return vfmaq_f64(c, a, b); }
  static XENT_SIMD_INLINE P max(P a, P b) { return vbslq_f64(vcltq_f64(a, b), b, a); }
  static XENT_SIMD_INLINE P min(P a, P b) { return vbslq_f64(vcltq_f64(b, a), b, a); }
  static XENT_SIMD_INLINE P band(P a, P b) { return f(vandq_u64(i(a), i(b))); }
  static XENT_SIMD_INLINE P bor(P a, P b) { return f(vorrq_u64(i(a), i(b))); }
  static XENT_SIMD_INLINE P bxor(P a, P b) { return f(veorq_u64(i(a), i(b))); }
  static XENT_SIMD_INLINE P bandnot(P a, P b) { return f(vbicq_u64(i(a), i(b))); }
  static XENT_SIMD_INLINE P iadd(P a, P b) { return f(vaddq_u64(i(a), i(b))); }
  static XENT_SIMD_INLINE P isub(P a, P b) { return f(vsubq_u64(i(a), i(b))); }
  template <int k>
  static XENT_SIMD_INLINE P shl(P a) {
    return f(vshlq_n_u64(i(a), k));
  }
  template <int k>
  static XENT_SIMD_INLINE P shr(P a) {
    return f(vshrq_n_u64(i(a), k));
  }

  static XENT_SIMD_INLINE M lt(P a, P b) { return vcltq_f64(a, b); }
  static XENT_SIMD_INLINE M le(P a, P b) { return vcleq_f64(a, b); }
  static XENT_SIMD_INLINE M eq(P a, P b) { return vceqq_f64(a, b); }
  static XENT_SIMD_INLINE M neq(P a, P b) { return not64(vceqq_f64(a, b)); }
  static XENT_SIMD_INLINE M unord(P a, P b) {
    return not64(vandq_u64(vceqq_f64(a, a), vceqq_f64(b, b)));
  }
  static XENT_SIMD_INLINE P select(M m, P a, P b) { return vbslq_f64(m, a, b); }
  static XENT_SIMD_INLINE M mand(M a, M b) { return vandq_u64(a, b); }
  static XENT_SIMD_INLINE M mor(M a, M b) { return vorrq_u64(a, b); }
  static XENT_SIMD_INLINE M mnot(M a) { return not64(a); }
  static XENT_SIMD_INLINE bool any(M m) { return vmaxvq_u32(vreinterpretq_u32_u64(m)) != 0; }
  static XENT_SIMD_INLINE bool all(M m) { return vminvq_u32(vreinterpretq_u32_u64(m)) != 0; }
};

#else
// ---- scalar fallback: one lane ------------------------------------------------------------------

template <class T, class U>
struct ScalarOps {
  using Packet = T;
  using MaskType = bool;
  using Bits = U;
  static constexpr int width = 1;
  static constexpr bool has_scalef = false;
  using P = T;
  using M = bool;
  static XENT_SIMD_INLINE U i(P a) {
    U u;
    std::memcpy(&u, &a, sizeof u);
    return u;
  }
  static XENT_SIMD_INLINE P f(U u) {
    P a;
    std::memcpy(&a, &u, sizeof a);
    return a;
  }

  static XENT_SIMD_INLINE P set1(T v) { return v; }
  static XENT_SIMD_INLINE P from_bits(Bits b) { return f(b); }
  static XENT_SIMD_INLINE P load(const T* p) { return *p; }
  static XENT_SIMD_INLINE P loadu(const T* p) { return *p; }
  static XENT_SIMD_INLINE void store(T* p, P v) { *p = v; }
  static XENT_SIMD_INLINE void stream(T* p, P v) { *p = v; }
  static XENT_SIMD_INLINE void storeu(T* p, P v) { *p = v; }
  static XENT_SIMD_INLINE M first(int n) { return n > 0; }
  static XENT_SIMD_INLINE P load_tail(const T* p, int n, T fill) { return n > 0 ? *p : fill; }
  static XENT_SIMD_INLINE void store_tail(T* p, int n, P v) {
    if (n > 0) *p = v;
  }

  static XENT_SIMD_INLINE P add(P a, P b) { return a + b; }
  static XENT_SIMD_INLINE P sub(P a, P b) { return a - b; }
  static XENT_SIMD_INLINE P mul(P a, P b) {
    P r = a * b;
    XENT_SIMD_OPAQUE(r);
    return r;
  }
  static XENT_SIMD_INLINE P div(P a, P b) { return a / b; }
  static XENT_SIMD_INLINE P fma(P a, P b, P c) {
#if XENT_SIMD_HAS_FMA
    return std::fma(a, b, c);
#else
    return a * b + c;
#endif
  }
  static XENT_SIMD_INLINE P max(P a, P b) { return (a < b) ? b : a; }
  static XENT_SIMD_INLINE P min(P a, P b) { return (b < a) ? b : a; }
  static XENT_SIMD_INLINE P band(P a, P b) { return f(i(a) & i(b)); }
  static XENT_SIMD_INLINE P bor(P a, P b) { return f(i(a) | i(b)); }
  static XENT_SIMD_INLINE P bxor(P a, P b) { return f(i(a) ^ i(b)); }
  static XENT_SIMD_INLINE P bandnot(P a, P b) { return f(i(a) & ~i(b)); }
  static XENT_SIMD_INLINE P iadd(P a, P b) { return f(static_cast<U>(i(a) + i(b))); }
  static XENT_SIMD_INLINE P isub(P a, P b) { return f(static_cast<U>(i(a) - i(b))); }
  template <int k>
  static XENT_SIMD_INLINE P shl(P a) {
    return f(static_cast<U>(i(a) << k));
  }
  template <int k>
  static XENT_SIMD_INLINE P shr(P a) {
    return f(static_cast<U>(i(a) >> k));
  }

  static XENT_SIMD_INLINE M lt(P a, P b) { return a < b; }
  static XENT_SIMD_INLINE M le(P a, P b) { return a <= b; }
  static XENT_SIMD_INLINE M eq(P a, P b) { return a == b; }
  static XENT_SIMD_INLINE M neq(P a, P b) { return !(a == b); }
  static XENT_SIMD_INLINE M unord(P a, P b) { return a != a || b != b; }
  static XENT_SIMD_INLINE P select(M m, P a, P b) { return m ? a : b; }
  static XENT_SIMD_INLINE M mand(M a, M b) { return a && b; }
  static XENT_SIMD_INLINE M mor(M a, M b) { return a || b; }
  static XENT_SIMD_INLINE M mnot(M a) { return !a; }
  static XENT_SIMD_INLINE bool any(M m) { return m; }
  static XENT_SIMD_INLINE bool all(M m) { return m; }
};

template <>
struct Ops<float> : ScalarOps<float, std::uint32_t> {};
template <>
struct Ops<double> : ScalarOps<double, std::uint64_t> {};

#endif

// ---- the interface kernels use ------------------------------------------------------------------

#if defined(XENT_TEST_COUNT_STREAM_STORES)
// Test instrumentation only (tests/test_stream_output.cpp defines the macro): the number of
// non-temporal stores made, so that a test can see that streaming was used at all.
inline std::atomic<long long>& stream_store_count() {
  static std::atomic<long long> count{0};
  return count;
}
#endif

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
  return Eigen::internal::predux(v.p);
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
  const T m = Eigen::internal::predux_max(v.p);
  return any(is_nan(v)) ? std::numeric_limits<T>::quiet_NaN() : m;
}
template <class T>
XENT_SIMD_INLINE T reduce_min(Vec<T> v) {
  const T m = Eigen::internal::predux_min(v.p);
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
