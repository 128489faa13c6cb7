// xent internals: values printed into error messages.
//
// Outside the ISA namespace (see simd/isa.hpp): the option types, which are one type across the
// program, print a rejected value with it, and it holds no arithmetic the compiler could vectorize.
#pragma once

#include <charconv>
#include <sstream>
#include <string>
#include <type_traits>

namespace xent {
namespace detail {

// Prints a value the way a user would write it: the shortest text that reads back as the same
// floating-point value (std::to_chars), integers of any width (char-sized too) as numbers.
template <class T>
std::string to_text(T v) {
  if constexpr (std::is_floating_point<T>::value) {
    char buf[64];
    const auto end = std::to_chars(buf, buf + sizeof(buf), v).ptr;
    return std::string(buf, end);
  } else if constexpr (std::is_integral<T>::value) {
    return std::to_string(+v);
  } else {
    std::ostringstream os;
    os << v;
    return os.str();
  }
}

}  // namespace detail
}  // namespace xent
