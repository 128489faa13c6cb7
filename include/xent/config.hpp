// xent: configuration, version and the guard against value-unsafe floating-point modes.
#pragma once

#define XENT_VERSION_MAJOR 0
#define XENT_VERSION_MINOR 1
#define XENT_VERSION_PATCH 0

// -ffast-math / -ffinite-math-only let the compiler assume that no value is NaN or infinite. xent's
// semantics rest on exactly those values (masked -inf classes, NaN propagation, the all-ignored
// mean being NaN), so such a build would silently return wrong numbers. Define XENT_ALLOW_FAST_MATH
// to accept that risk explicitly.
#if defined(__FINITE_MATH_ONLY__) && __FINITE_MATH_ONLY__ && !defined(XENT_ALLOW_FAST_MATH)
#error \
    "xent: -ffast-math/-ffinite-math-only break xent's -inf/NaN rules; define XENT_ALLOW_FAST_MATH to build anyway"
#endif
