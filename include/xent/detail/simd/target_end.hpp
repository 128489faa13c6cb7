// xent internals: closes the target region target_begin.hpp opened and restores the tier of the
// compiler's flags (pass 0).
#if defined(__clang__)
#pragma clang attribute pop
#elif defined(__GNUC__)
#pragma GCC pop_options
#endif

#undef XENT_SIMD_TARGET_AVX2
#include "tier.hpp"
