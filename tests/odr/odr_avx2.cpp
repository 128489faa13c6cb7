// Built with -march=x86-64-v3 (AVX2 + FMA).
#include "odr_unit.hpp"
XENT_ODR_UNIT(odr_avx2)
