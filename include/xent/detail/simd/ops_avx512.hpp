// xent internals: the AVX-512 tier's raw operations, Ops<float> and Ops<double> over its
// intrinsics (only simd::Vec, vec.hpp, uses them). Empty unless isa.hpp chose this tier.

#include "ops_common.hpp"

// Included once per pass (tier.hpp): the flags' tier, then each target region's.
#if (XENT_SIMD_PASS == 0 && !defined(XENT_SIMD_OPS_AVX512_PASS0)) || \
    (XENT_SIMD_PASS == 1 && !defined(XENT_SIMD_OPS_AVX512_PASS1))
#if XENT_SIMD_PASS == 0
#define XENT_SIMD_OPS_AVX512_PASS0
#else
#define XENT_SIMD_OPS_AVX512_PASS1
#endif

#if defined(XENT_SIMD_TIER_AVX512)

namespace xent {
namespace detail {
XENT_SIMD_NAMESPACE_INLINE namespace XENT_SIMD_ISA_NAMESPACE {
namespace simd {

// ---- AVX-512 (AVX512F instructions only) --------------------------------------------------------

template <>
struct Ops<float> {
  using Packet = __m512;
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

  // Horizontal reductions and the W x W transpose: Eigen's (predux*, ptranspose), available since
  // this tier is chosen only where Eigen vectorizes for it.
  static XENT_SIMD_INLINE float hsum(P a) { return Eigen::internal::predux(a); }
  static XENT_SIMD_INLINE float hmax(P a) { return Eigen::internal::predux_max(a); }
  static XENT_SIMD_INLINE float hmin(P a) { return Eigen::internal::predux_min(a); }
  static XENT_SIMD_INLINE void transpose(P* rows) {
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-attributes"  // PacketBlock<__m512, ...>
#endif
    Eigen::internal::PacketBlock<P, width> tile;
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
    for (int r = 0; r < width; ++r) tile.packet[r] = rows[r];
    Eigen::internal::ptranspose(tile);
    for (int r = 0; r < width; ++r) rows[r] = tile.packet[r];
  }
};

template <>
struct Ops<double> {
  using Packet = __m512d;
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

  // Horizontal reductions and the W x W transpose: Eigen's (predux*, ptranspose), available since
  // this tier is chosen only where Eigen vectorizes for it.
  static XENT_SIMD_INLINE double hsum(P a) { return Eigen::internal::predux(a); }
  static XENT_SIMD_INLINE double hmax(P a) { return Eigen::internal::predux_max(a); }
  static XENT_SIMD_INLINE double hmin(P a) { return Eigen::internal::predux_min(a); }
  static XENT_SIMD_INLINE void transpose(P* rows) {
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-attributes"  // PacketBlock<__m512, ...>
#endif
    Eigen::internal::PacketBlock<P, width> tile;
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
    for (int r = 0; r < width; ++r) tile.packet[r] = rows[r];
    Eigen::internal::ptranspose(tile);
    for (int r = 0; r < width; ++r) rows[r] = tile.packet[r];
  }
};

}  // namespace simd
}  // namespace XENT_SIMD_ISA_NAMESPACE
}  // namespace detail
}  // namespace xent

#endif

#endif  // pass guard
