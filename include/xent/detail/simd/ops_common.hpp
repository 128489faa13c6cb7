// xent internals: what every tier's raw operations (ops_<tier>.hpp) share: the guard against the
// compiler's fusing of products, the Ops<T> template they specialize, and the tail loads and stores
// through the stack for tiers without masked moves. See vec.hpp for the interface kernels use.

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "isa.hpp"

// Included once per pass (tier.hpp): the flags' tier, then each target region's.
#if (XENT_SIMD_PASS == 0 && !defined(XENT_SIMD_OPS_COMMON_PASS0)) || \
    (XENT_SIMD_PASS == 1 && !defined(XENT_SIMD_OPS_COMMON_PASS1))
#if XENT_SIMD_PASS == 0
#define XENT_SIMD_OPS_COMMON_PASS0
#else
#define XENT_SIMD_OPS_COMMON_PASS1
#endif

namespace xent {
namespace detail {
XENT_SIMD_NAMESPACE_INLINE namespace XENT_SIMD_ISA_NAMESPACE {
namespace simd {

// Products are kept apart from later additions. GCC fuses a * b followed by + c into one fma where
// the hardware has one (C++ defaults to -ffp-contract=fast), and does so at some call sites and not
// at others, so the same inline code would round differently in a loop body and in its tail. An
// empty asm statement that "modifies" the product hides it from that optimisation; it emits no
// instruction. fma() is the one way to a fused multiply-add.
#undef XENT_SIMD_OPAQUE
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

// A type whose name carries the ISA: a default template argument of this type puts the ISA into
// the mangled name of any template built on the layer, e.g.
//   template <class Derived, class Isa = simd::IsaTag>
//   void kernel(const Eigen::MatrixBase<Derived>& x);
struct IsaTag {
  static constexpr const char* name = XENT_SIMD_NAME;
  static constexpr bool has_fma = XENT_SIMD_HAS_FMA != 0;
};

// A scalar product rounded on its own, for the kernels' scalar epilogues: rounded(a * b) - c is
// two roundings at every optimization level (GCC fused it at -O2 and not at -O1, a loss one ulp
// apart between the two builds).
template <class T>
XENT_SIMD_INLINE T rounded(T product) {
  XENT_SIMD_OPAQUE(product);
  return product;
}

// Ops<T>: the raw per-tier operations on the tier's vector type. Only the Vec interface (vec.hpp)
// uses them; kernels use Vec. The x86 tiers below AVX-512 name no Eigen packet function: their
// horizontal reductions (hsum, hmax, hmin, in Eigen's lane order, so results are unchanged) and
// tile transposes are their own, the first step towards compiling a tier inside a target region
// whatever the global flags (AVX-512 and NEON still call Eigen's predux* and ptranspose).
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

}  // namespace simd
}  // namespace XENT_SIMD_ISA_NAMESPACE
}  // namespace detail
}  // namespace xent

#endif  // pass guard
