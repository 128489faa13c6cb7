// xent: configuration, version and the guard against value-unsafe floating-point modes.
#pragma once

/// @file
/// xent's version (kept equal to CMake's project(VERSION) by tests/test_version.cpp) and build
/// configuration checks.

/// The major version: a change breaks the API (a new major is not found by find_package(xent 0.1)).
#define XENT_VERSION_MAJOR 0
/// The minor version: features added compatibly.
#define XENT_VERSION_MINOR 1
/// The patch version: fixes only.
#define XENT_VERSION_PATCH 0

/// @cond
#define XENT_DETAIL_STRINGIFY2(x) #x
#define XENT_DETAIL_STRINGIFY(x) XENT_DETAIL_STRINGIFY2(x)
/// @endcond
/// The version as a string literal, "MAJOR.MINOR.PATCH" (e.g. "0.1.0").
#define XENT_VERSION_STRING                 \
  XENT_DETAIL_STRINGIFY(XENT_VERSION_MAJOR) \
  "." XENT_DETAIL_STRINGIFY(XENT_VERSION_MINOR) "." XENT_DETAIL_STRINGIFY(XENT_VERSION_PATCH)

namespace xent {

/// The version of the xent headers in use, "MAJOR.MINOR.PATCH" (e.g. "0.1.0"): a NUL-terminated
/// string literal with static storage, usable in constant expressions (XENT_VERSION_STRING).
constexpr const char* version() noexcept { return XENT_VERSION_STRING; }

}  // namespace xent

// -ffast-math / -ffinite-math-only let the compiler assume that no value is NaN or infinite. xent's
// semantics rest on exactly those values (masked -inf classes, NaN propagation, the all-ignored
// mean being NaN), so such a build would silently return wrong numbers. Define XENT_ALLOW_FAST_MATH
// to accept that risk explicitly.
#if defined(__FINITE_MATH_ONLY__) && __FINITE_MATH_ONLY__ && !defined(XENT_ALLOW_FAST_MATH)
#error \
    "xent: -ffast-math/-ffinite-math-only break xent's -inf/NaN rules; define XENT_ALLOW_FAST_MATH to build anyway"
#endif
