// xent internals: the scalar (one lane) tier's raw operations, Ops<float> and Ops<double> over its
// intrinsics (only simd::Vec, vec.hpp, uses them). Empty unless isa.hpp chose this tier.

#include "ops_common.hpp"

// Included once per pass (tier.hpp): the flags' tier, then each target region's.
#if (XENT_SIMD_PASS == 0 && !defined(XENT_SIMD_OPS_SCALAR_PASS0)) || \
    (XENT_SIMD_PASS == 1 && !defined(XENT_SIMD_OPS_SCALAR_PASS1))
#if XENT_SIMD_PASS == 0
#define XENT_SIMD_OPS_SCALAR_PASS0
#else
#define XENT_SIMD_OPS_SCALAR_PASS1
#endif

#if defined(XENT_SIMD_TIER_SCALAR)

namespace xent {
namespace detail {
XENT_SIMD_NAMESPACE_INLINE namespace XENT_SIMD_ISA_NAMESPACE {
namespace simd {

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

  static XENT_SIMD_INLINE T hsum(P a) { return a; }
  static XENT_SIMD_INLINE T hmax(P a) { return a; }
  static XENT_SIMD_INLINE T hmin(P a) { return a; }
  static XENT_SIMD_INLINE void transpose(P*) {}
};

template <>
struct Ops<float> : ScalarOps<float, std::uint32_t> {};
template <>
struct Ops<double> : ScalarOps<double, std::uint64_t> {};

}  // namespace simd
}  // namespace XENT_SIMD_ISA_NAMESPACE
}  // namespace detail
}  // namespace xent

#endif

#endif  // pass guard
