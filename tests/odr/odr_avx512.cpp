// Built with -march=x86-64-v4 (AVX-512), and linked only where the build machine has AVX-512
// (tests/CMakeLists.txt): a program holding AVX-512 code can run it through any inline function
// the linker keeps from this unit, so it must not run on a CPU without it.
#include "odr_unit.hpp"
XENT_ODR_UNIT(odr_avx512)
