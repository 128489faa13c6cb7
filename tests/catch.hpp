// Catch2 shim: tests include "catch.hpp" and work with Catch2 v2 or v3.
// XENT_CATCH2_V3 is defined by tests/CMakeLists.txt when Catch2 3.x is found.
#ifndef XENT_TESTS_CATCH_HPP
#define XENT_TESTS_CATCH_HPP

#ifdef XENT_CATCH2_V3
#include <catch2/catch_all.hpp>
// v2 put Approx in the global namespace; v3 keeps it in Catch::.
using Catch::Approx;
#else
#include <catch2/catch.hpp>  // already declares ::Approx
#endif

#endif  // XENT_TESTS_CATCH_HPP
