// xent internals: the macros of the SIMD tier being compiled (XENT_SIMD_TIER_<tier>,
// XENT_SIMD_NAME, XENT_SIMD_HAS_FMA, XENT_SIMD_ISA_NAMESPACE, XENT_SIMD_PASS,
// XENT_SIMD_NAMESPACE_INLINE). No include guard: included by isa.hpp for the tier the compiler's
// flags select (pass 0, an inline namespace), and again by target_begin.hpp / target_end.hpp around
// a target region, which compiles a tier above the flags' (pass 1: AVX2 + FMA, the x86-64-v3 set,
// in namespace isa_avx2_region) and then restores the flags' tier.
// Again (a region's start or end): the previous pass's macros go first. (Only then: Doxygen's
// XENT_SIMD_ISA_NAMESPACE, docs/Doxyfile.in, must survive the first inclusion.)
#if defined(XENT_SIMD_PASS)
#undef XENT_SIMD_TIER_SCALAR
#undef XENT_SIMD_TIER_AVX512
#undef XENT_SIMD_TIER_AVX2
#undef XENT_SIMD_TIER_SSE2
#undef XENT_SIMD_TIER_NEON
#undef XENT_SIMD_NAME
#undef XENT_SIMD_HAS_FMA
#undef XENT_SIMD_ISA_NAMESPACE
#undef XENT_SIMD_PASS
#undef XENT_SIMD_NAMESPACE_INLINE
#endif

#if defined(XENT_SIMD_TARGET_AVX2)
// A target region (target_begin.hpp): the code is compiled with AVX2, FMA, F16C, BMI1/2, LZCNT and
// POPCNT whatever the flags; only called on a CPU that has them.
#define XENT_SIMD_PASS 1
// Not inline: xent::detail::simd stays the flags' tier's, and a region's code is reached by name.
#define XENT_SIMD_NAMESPACE_INLINE
#define XENT_SIMD_TIER_AVX2 1
#define XENT_SIMD_NAME "avx2"
#define XENT_SIMD_HAS_FMA 1
#define XENT_SIMD_ISA_NAMESPACE isa_avx2_region

#else
#define XENT_SIMD_PASS 0
#define XENT_SIMD_NAMESPACE_INLINE inline
#if defined(XENT_SIMD_SCALAR)
#define XENT_SIMD_TIER_SCALAR 1
#elif defined(__AVX512F__) && defined(EIGEN_VECTORIZE_AVX512)
#define XENT_SIMD_TIER_AVX512 1
#elif defined(__AVX2__) && (defined(__FMA__) || defined(_MSC_VER)) && \
    defined(EIGEN_VECTORIZE_AVX2) && defined(EIGEN_VECTORIZE_FMA)  // MSVC: /arch:AVX2 implies FMA
#define XENT_SIMD_TIER_AVX2 1
#elif (defined(__SSE2__) || defined(_M_X64) || (defined(_M_IX86_FP) && _M_IX86_FP >= 2)) && \
    defined(EIGEN_VECTORIZE_SSE2)
#define XENT_SIMD_TIER_SSE2 1
#elif defined(__aarch64__) && defined(EIGEN_VECTORIZE_NEON)
#define XENT_SIMD_TIER_NEON 1
#else
#define XENT_SIMD_TIER_SCALAR 1
#endif

#if defined(XENT_SIMD_TIER_AVX512)
#define XENT_SIMD_NAME "avx512"
#define XENT_SIMD_HAS_FMA 1
#if defined(__AVX512DQ__)
#define XENT_SIMD_ISA_NAMESPACE isa_avx512
#else
#define XENT_SIMD_ISA_NAMESPACE isa_avx512f
#endif
#include <immintrin.h>

#elif defined(XENT_SIMD_TIER_AVX2)
#define XENT_SIMD_NAME "avx2"
#define XENT_SIMD_HAS_FMA 1
#define XENT_SIMD_ISA_NAMESPACE isa_avx2
#include <immintrin.h>

#elif defined(XENT_SIMD_TIER_SSE2)
#define XENT_SIMD_NAME "sse2"
#if defined(__FMA__)  // e.g. -mavx -mfma without AVX2: 128-bit vectors, fused multiply-add
#define XENT_SIMD_HAS_FMA 1
#define XENT_SIMD_ISA_NAMESPACE isa_sse2_fma
#include <immintrin.h>
#else
#define XENT_SIMD_HAS_FMA 0
#endif
#if defined(XENT_SIMD_ISA_NAMESPACE)
#elif defined(__AVX__)
#define XENT_SIMD_ISA_NAMESPACE isa_sse2_vex
#elif defined(__SSE4_1__)
#define XENT_SIMD_ISA_NAMESPACE isa_sse2_sse41
#else
#define XENT_SIMD_ISA_NAMESPACE isa_sse2
#endif
#include <emmintrin.h>

#elif defined(XENT_SIMD_TIER_NEON)
#define XENT_SIMD_NAME "neon"
#define XENT_SIMD_HAS_FMA 1  // AArch64 always has fused multiply-add
#define XENT_SIMD_ISA_NAMESPACE isa_neon
#include <arm_neon.h>

#else
#define XENT_SIMD_NAME "scalar"
// The scalar tier fuses (std::fma) only where that is a single instruction; a software fma would
// be far slower than the two roundings it saves.
#if defined(__FP_FAST_FMA) || defined(FP_FAST_FMA) || defined(__FMA__) || defined(__aarch64__)
#define XENT_SIMD_HAS_FMA 1
#define XENT_SIMD_ISA_NAMESPACE isa_scalar_fma
#else
#define XENT_SIMD_HAS_FMA 0
#define XENT_SIMD_ISA_NAMESPACE isa_scalar
#endif
#endif
#endif
