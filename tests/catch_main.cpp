// Catch2 v2 only: main() compiled once and linked into every test executable.
// (With Catch2 v3 the tests link Catch2::Catch2WithMain instead.)
#define CATCH_CONFIG_MAIN
#include "catch.hpp"
