// xent internals: the AVX2 + FMA tier's raw operations, Ops<float> and Ops<double> over its
// intrinsics (only simd::Vec, vec.hpp, uses them). Empty unless isa.hpp chose this tier.

#include "ops_common.hpp"

// Included once per pass (tier.hpp): the flags' tier, then each target region's.
#if (XENT_SIMD_PASS == 0 && !defined(XENT_SIMD_OPS_AVX2_PASS0)) || \
    (XENT_SIMD_PASS == 1 && !defined(XENT_SIMD_OPS_AVX2_PASS1))
#if XENT_SIMD_PASS == 0
#define XENT_SIMD_OPS_AVX2_PASS0
#else
#define XENT_SIMD_OPS_AVX2_PASS1
#endif

#if defined(XENT_SIMD_TIER_AVX2)

namespace xent {
namespace detail {
XENT_SIMD_NAMESPACE_INLINE namespace XENT_SIMD_ISA_NAMESPACE {
namespace simd {

// ---- AVX2 + FMA ---------------------------------------------------------------------------------

template <>
struct Ops<float> {
  using Packet = __m256;
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

  // Horizontal reductions in Eigen's lane order (predux*): the halves added, then SSE's order.
  static XENT_SIMD_INLINE float hsum(P a) {
    __m128 t = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    t = _mm_add_ps(t, _mm_movehl_ps(t, t));
    return _mm_cvtss_f32(_mm_add_ss(t, _mm_shuffle_ps(t, t, 1)));
  }
  static XENT_SIMD_INLINE float hmax(P a) {
    P t = _mm256_max_ps(a, _mm256_permute2f128_ps(a, a, 1));
    t = _mm256_max_ps(t, _mm256_shuffle_ps(t, t, _MM_SHUFFLE(1, 0, 3, 2)));
    return _mm256_cvtss_f32(_mm256_max_ps(t, _mm256_shuffle_ps(t, t, 1)));
  }
  static XENT_SIMD_INLINE float hmin(P a) {
    P t = _mm256_min_ps(a, _mm256_permute2f128_ps(a, a, 1));
    t = _mm256_min_ps(t, _mm256_shuffle_ps(t, t, _MM_SHUFFLE(1, 0, 3, 2)));
    return _mm256_cvtss_f32(_mm256_min_ps(t, _mm256_shuffle_ps(t, t, 1)));
  }
  // rows[r] lane c <- rows[c] lane r: pairs interleaved, then quads, then the 128-bit halves.
  static XENT_SIMD_INLINE void transpose(P* r) {
    const P t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    const P t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    const P t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    const P t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    constexpr int lo = _MM_SHUFFLE(1, 0, 1, 0), hi = _MM_SHUFFLE(3, 2, 3, 2);
    const P s0 = _mm256_shuffle_ps(t0, t2, lo), s1 = _mm256_shuffle_ps(t0, t2, hi);
    const P s2 = _mm256_shuffle_ps(t1, t3, lo), s3 = _mm256_shuffle_ps(t1, t3, hi);
    const P s4 = _mm256_shuffle_ps(t4, t6, lo), s5 = _mm256_shuffle_ps(t4, t6, hi);
    const P s6 = _mm256_shuffle_ps(t5, t7, lo), s7 = _mm256_shuffle_ps(t5, t7, hi);
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
    r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
    r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
  }
};

template <>
struct Ops<double> {
  using Packet = __m256d;
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

  static XENT_SIMD_INLINE double hsum(P a) {
    const __m128d t = _mm_add_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
    return _mm_cvtsd_f64(_mm_add_sd(t, _mm_unpackhi_pd(t, t)));
  }
  static XENT_SIMD_INLINE double hmax(P a) {
    const P t = _mm256_max_pd(a, _mm256_permute2f128_pd(a, a, 1));
    return _mm256_cvtsd_f64(_mm256_max_pd(t, _mm256_shuffle_pd(t, t, 1)));
  }
  static XENT_SIMD_INLINE double hmin(P a) {
    const P t = _mm256_min_pd(a, _mm256_permute2f128_pd(a, a, 1));
    return _mm256_cvtsd_f64(_mm256_min_pd(t, _mm256_shuffle_pd(t, t, 1)));
  }
  static XENT_SIMD_INLINE void transpose(P* r) {
    const P t0 = _mm256_unpacklo_pd(r[0], r[1]), t1 = _mm256_unpackhi_pd(r[0], r[1]);
    const P t2 = _mm256_unpacklo_pd(r[2], r[3]), t3 = _mm256_unpackhi_pd(r[2], r[3]);
    r[0] = _mm256_permute2f128_pd(t0, t2, 0x20);
    r[1] = _mm256_permute2f128_pd(t1, t3, 0x20);
    r[2] = _mm256_permute2f128_pd(t0, t2, 0x31);
    r[3] = _mm256_permute2f128_pd(t1, t3, 0x31);
  }
};

}  // namespace simd
}  // namespace XENT_SIMD_ISA_NAMESPACE
}  // namespace detail
}  // namespace xent

#endif

#endif  // pass guard
