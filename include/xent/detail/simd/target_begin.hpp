// xent internals: opens a target region, where the SIMD layer is compiled for a tier above the one
// the compiler's flags select, in that tier's own namespace (the first step of run-time dispatch:
// such code is called only on a CPU that has the tier's instructions).
//
//   #define XENT_SIMD_TARGET_AVX2            // the x86-64-v3 set: AVX2, FMA, F16C, BMI1/2, LZCNT
//   #include <xent/detail/simd/target_begin.hpp>
//   #include <xent/detail/simd/math.hpp>     // again: now in xent::detail::isa_avx2_region::simd
//   ... functions defined here are compiled for the tier ...
//   #include <xent/detail/simd/target_end.hpp>
//
// GCC: `#pragma GCC target` applies to every function defined in the region, templates and lambdas
// included. Clang: `#pragma clang attribute` applies to the functions declared in the region, not
// to lambdas (a lambda calling the layer needs __attribute__((target(...))) itself). Eigen is
// included before (isa.hpp), so its functions keep the flags' tier; the layer's x86 tiers below
// AVX-512 call none of Eigen's packet functions (ops_common.hpp). The headers of the layer are
// included once per pass (tier.hpp), and the flags' tier is always included first.
#include <immintrin.h>  // before the region: the intrinsics carry their own target attributes

#include "math.hpp"  // the flags' tier (pass 0) first

#if !defined(XENT_SIMD_TARGET_AVX2)
#error "xent: define the region's tier (XENT_SIMD_TARGET_AVX2) before target_begin.hpp"
#endif
#if !(defined(__x86_64__) || defined(_M_X64))
#error "xent: target regions are for x86-64"
#endif

#include "tier.hpp"  // pass 1: the region's tier

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,bmi,bmi2,lzcnt,popcnt"))), \
                             apply_to = function)
#elif defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c,bmi,bmi2,lzcnt,popcnt")
#else
#error "xent: target regions need GCC or Clang"
#endif
