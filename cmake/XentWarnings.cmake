# xent_strict_warnings(<target>): the warning policy for xent's own tests, examples and benchmarks.
# Never applied to the xent target itself: consumers choose their own warnings.

# g++ 12 reports false -Wuninitialized / -Wmaybe-uninitialized warnings inside its own AVX-512
# intrinsic headers (the `__m512 __Y = __Y;` idiom of avx512fintrin.h) when Eigen instantiates
# AVX-512 packets, and false -Warray-bounds warnings for 512-bit loads in vectorized loops that
# never run on small fixed buffers (_mm512_loadu_ps on a 28-byte vector); with -Werror that fails the build. They are silenced only for GCC builds with
# an AVX-512-enabling flag in CMAKE_CXX_FLAGS (where -march is passed to this project).
set(XENT_AVX512_FLAG_REGEX
  "-march=(native|x86-64-v4|skylake-avx512|cascadelake|cooperlake|cannonlake|icelake-client|icelake-server|tigerlake|rocketlake|sapphirerapids|znver4)|-mavx512")
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_FLAGS MATCHES "${XENT_AVX512_FLAG_REGEX}")
  set(XENT_GCC_AVX512 ON)
else()
  set(XENT_GCC_AVX512 OFF)
endif()

function(xent_strict_warnings target)
  if(MSVC)
    target_compile_options(${target} PRIVATE /W4 /WX /permissive-)
  else()
    # -Wconversion: every narrowing (Index -> int, double -> float) is spelled out; under clang++ it
    # also covers -Wsign-conversion. -Wshadow: no local hides another name.
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Werror)
  endif()
  if(XENT_GCC_AVX512)
    target_compile_options(${target} PRIVATE -Wno-uninitialized -Wno-maybe-uninitialized -Wno-array-bounds)
  endif()
endfunction()
