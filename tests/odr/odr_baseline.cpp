// Built with -march=x86-64 (SSE2).
#include "odr_unit.hpp"
XENT_ODR_UNIT(odr_baseline)
