// xent internals: the NEON tier's raw operations, Ops<float> and Ops<double> over its
// intrinsics (only simd::Vec, vec.hpp, uses them). Empty unless isa.hpp chose this tier.

#include "ops_common.hpp"

// Included once per pass (tier.hpp): the flags' tier, then each target region's.
#if (XENT_SIMD_PASS == 0 && !defined(XENT_SIMD_OPS_NEON_PASS0)) || \
    (XENT_SIMD_PASS == 1 && !defined(XENT_SIMD_OPS_NEON_PASS1))
#if XENT_SIMD_PASS == 0
#define XENT_SIMD_OPS_NEON_PASS0
#else
#define XENT_SIMD_OPS_NEON_PASS1
#endif

#if defined(XENT_SIMD_TIER_NEON)

namespace xent {
namespace detail {
XENT_SIMD_NAMESPACE_INLINE namespace XENT_SIMD_ISA_NAMESPACE {
namespace simd {

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
