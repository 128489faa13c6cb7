// xent internals: the SSE2 tier's raw operations, Ops<float> and Ops<double> over its
// intrinsics (only simd::Vec, vec.hpp, uses them). Empty unless isa.hpp chose this tier.

#include "ops_common.hpp"

// Included once per pass (tier.hpp): the flags' tier, then each target region's.
#if (XENT_SIMD_PASS == 0 && !defined(XENT_SIMD_OPS_SSE2_PASS0)) || \
    (XENT_SIMD_PASS == 1 && !defined(XENT_SIMD_OPS_SSE2_PASS1))
#if XENT_SIMD_PASS == 0
#define XENT_SIMD_OPS_SSE2_PASS0
#else
#define XENT_SIMD_OPS_SSE2_PASS1
#endif

#if defined(XENT_SIMD_TIER_SSE2)

namespace xent {
namespace detail {
XENT_SIMD_NAMESPACE_INLINE namespace XENT_SIMD_ISA_NAMESPACE {
namespace simd {

// ---- SSE2 (SSE4.1's blendv where the build has it) ----------------------------------------------

template <>
struct Ops<float> {
  using Packet = __m128;
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

  // Horizontal reductions in Eigen's lane order (predux*): (v0 + v2) + (v1 + v3).
  static XENT_SIMD_INLINE float hsum(P a) {
    const P t = _mm_add_ps(a, _mm_movehl_ps(a, a));
    return _mm_cvtss_f32(_mm_add_ss(t, _mm_shuffle_ps(t, t, 1)));
  }
  static XENT_SIMD_INLINE float hmax(P a) {
    const P t = _mm_max_ps(a, _mm_movehl_ps(a, a));
    return _mm_cvtss_f32(_mm_max_ss(t, _mm_shuffle_ps(t, t, 1)));
  }
  static XENT_SIMD_INLINE float hmin(P a) {
    const P t = _mm_min_ps(a, _mm_movehl_ps(a, a));
    return _mm_cvtss_f32(_mm_min_ss(t, _mm_shuffle_ps(t, t, 1)));
  }
  // rows[r] lane c <- rows[c] lane r.
  static XENT_SIMD_INLINE void transpose(P* rows) {
    _MM_TRANSPOSE4_PS(rows[0], rows[1], rows[2], rows[3]);
  }
};

template <>
struct Ops<double> {
  using Packet = __m128d;
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

  static XENT_SIMD_INLINE double hsum(P a) {
    return _mm_cvtsd_f64(_mm_add_sd(a, _mm_unpackhi_pd(a, a)));
  }
  static XENT_SIMD_INLINE double hmax(P a) {
    return _mm_cvtsd_f64(_mm_max_sd(a, _mm_unpackhi_pd(a, a)));
  }
  static XENT_SIMD_INLINE double hmin(P a) {
    return _mm_cvtsd_f64(_mm_min_sd(a, _mm_unpackhi_pd(a, a)));
  }
  static XENT_SIMD_INLINE void transpose(P* rows) {
    const P lo = _mm_unpacklo_pd(rows[0], rows[1]), hi = _mm_unpackhi_pd(rows[0], rows[1]);
    rows[0] = lo;
    rows[1] = hi;
  }
};

}  // namespace simd
}  // namespace XENT_SIMD_ISA_NAMESPACE
}  // namespace detail
}  // namespace xent

#endif

#endif  // pass guard
