// xent internals: compile-time choice of the instruction set the SIMD layer is built for.
//
// The choice follows the compiler's flags, as Eigen's does (there is no run-time dispatch):
//
//   tier      when                                   vector (float / double)     XENT_SIMD_NAME
//   AVX-512   __AVX512F__ (Eigen: AVX512 + FMA)      __m512 / __m512d            "avx512"
//   AVX2      __AVX2__ && __FMA__                    __m256 / __m256d            "avx2"
//   SSE2      x86 with SSE2 (x86-64 baseline)        __m128 / __m128d            "sse2"
//   NEON      __aarch64__ with NEON                  float32x4_t / float64x2_t   "neon"
//   scalar    XENT_SIMD_SCALAR defined, or none of   float  / double             "scalar"
//             the above (e.g. EIGEN_DONT_VECTORIZE)
//
// Each tier is also required to be enabled in Eigen (EIGEN_VECTORIZE_*): the AVX-512 and NEON
// tiers still call Eigen's packet functions (ops_common.hpp). AVX without AVX2+FMA (e.g. -mavx) uses the SSE2 tier (with
// fused multiply-adds if -mfma is on). XENT_SIMD_HAS_FMA tells whether fma() is fused.
//
// One definition rule. A translation unit built with -march=x86-64-v4 and one built with
// -march=x86-64 see different bodies for the same inline function of this layer. Were they the same
// symbol, the linker would keep one body for both and the SSE2 unit could end up running AVX-512
// instructions. Everything in the layer therefore lives in an inline namespace named after the
// instruction set actually used for code generation. Not only the layer: every function of xent
// whose body is compiled from these headers (the kernels, the public loss functions, the checks,
// xent::reference) can differ between such units, if only through the compiler's
// auto-vectorization, so all of them live in it:
//
//   namespace xent { inline namespace XENT_SIMD_ISA_NAMESPACE { cross_entropy, log_softmax, ...,
//                                                               CrossEntropyLoss, reference } }
//   namespace xent { namespace detail { inline namespace XENT_SIMD_ISA_NAMESPACE {
//     simd, kernels, checks } } }
//
// so `xent::cross_entropy` or `xent::detail::simd::Vec<float>` is spelled the same everywhere but
// mangles differently per ISA. The name also separates flag sets that change the code of a tier
// without changing the tier: the SSE2 tier compiled with SSE4.1 (blendv), with AVX (VEX encoding)
// or FMA, AVX-512 with or without AVX512DQ, and the scalar tier with or without hardware FMA. Only
// the option types and enums (xent/options.hpp, with detail/text.hpp for their messages) and the
// settings (xent/threads.hpp, xent/tuning.hpp) stay outside, so that they are one type / one
// setting across the program; their inline functions hold no arithmetic worth vectorizing, and
// the options store their weights in std::vector (no Eigen object, whose allocation functions
// differ with the flags) and hand them out as Eigen::Map views. (xent::CrossEntropyLoss is in the ISA
// namespace: a loss object is not meant to be shared between units built for different instruction
// sets.)
//
// Value-safety: every function of the layer relies on IEEE infinities, NaN and subnormals and on
// the default rounding mode; flush-to-zero / denormals-are-zero modes (MXCSR FTZ/DAZ) change the
// subnormal results of exp and the subnormal inputs of log, and -ffast-math is refused by
// xent/config.hpp.
#pragma once

#include <Eigen/Core>

#include "../../config.hpp"

#include "tier.hpp"

// Run-time dispatch (xent/isa.hpp, detail/dispatch.hpp): a GCC or Clang build for x86-64 whose
// flags select SSE2 also compiles the dispatching kernels for AVX2 + FMA in a target region, unless
// XENT_NO_DISPATCH is defined. A build for AVX2 or above has no tier below its flags' to add.
#if !defined(XENT_NO_DISPATCH) && defined(XENT_SIMD_TIER_SSE2) && defined(__x86_64__) && \
    (defined(__GNUC__) || defined(__clang__))
#define XENT_SIMD_DISPATCH_AVX2 1
#endif

// Forces inlining of the layer's one-line primitives even at -O0/-O1 (the `test` preset builds at
// -O1, where GCC would otherwise leave each vector add a function call).
// XENT_SIMD_OUT_OF_LINE keeps a once-per-packet epilogue out of the loops around it: inlined, its
// code changed how GCC compiled the whole lane kernel (measured: the fused cross-entropy, float,
// column-major 8192 x 100, 20 % slower; out of line, the call costs under 1 %).
#if defined(_MSC_VER) && !defined(__clang__)
#define XENT_SIMD_INLINE __forceinline
#define XENT_SIMD_OUT_OF_LINE inline __declspec(noinline)
#else
#define XENT_SIMD_INLINE inline __attribute__((always_inline))
#define XENT_SIMD_OUT_OF_LINE inline __attribute__((noinline))
#endif
