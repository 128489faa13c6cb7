// xent internals: argument checks that throw exceptions naming the argument, position and value.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "simd/isa.hpp"
#include "text.hpp"

namespace xent {
namespace detail {
inline namespace XENT_SIMD_ISA_NAMESPACE {

[[noreturn]] inline void fail(const char* fn, const std::string& what) {
  throw std::invalid_argument(std::string("xent::") + fn + ": " + what);
}

inline std::string shape_text(Eigen::Index rows, Eigen::Index cols) {
  return "(" + std::to_string(rows) + ", " + std::to_string(cols) + ")";
}

// Class-index targets are any integral type except bool (whose meaning as a class would be a
// guess).
template <class T>
constexpr bool is_index_type = std::is_integral<T>::value && !std::is_same<T, bool>::value;

// A class index as int64, or false when it cannot be represented (huge unsigned values), which the
// callers then treat as out of bounds.
template <class I>
bool to_int64(I v, std::int64_t& out) {
  if constexpr (std::is_unsigned<I>::value) {
    if (static_cast<std::uint64_t>(v) >
        static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return false;
    }
  }
  out = static_cast<std::int64_t>(v);
  return true;
}

// Checks that the targets are a vector of n entries.
template <class Y>
void check_target_vector(const char* fn, const Eigen::DenseBase<Y>& y, Eigen::Index n) {
  if (y.rows() != 1 && y.cols() != 1 && y.size() != 0) {
    fail(fn, "class-index targets must be a vector, got a matrix of shape " +
                 shape_text(y.rows(), y.cols()));
  }
  if (y.size() != n) {
    fail(fn, "Expected input batch_size (" + std::to_string(n) + ") to match target batch_size (" +
                 std::to_string(y.size()) + "): targets has " + std::to_string(y.size()) +
                 " entries, logits have " + std::to_string(n) + " samples");
  }
}

// Prepares a caller's output: a resizable Eigen::Matrix is resized (allocating only when its size
// changes); a Map, Block or Ref must already have the right shape.
template <class Out>
void prepare_output(const char* fn, const char* name, Eigen::MatrixBase<Out>& out,
                    Eigen::Index rows, Eigen::Index cols) {
  if constexpr (std::is_base_of<Eigen::PlainObjectBase<Out>, Out>::value) {
    if (out.rows() != rows || out.cols() != cols) {
      if ((Out::RowsAtCompileTime == Eigen::Dynamic || Out::RowsAtCompileTime == rows) &&
          (Out::ColsAtCompileTime == Eigen::Dynamic || Out::ColsAtCompileTime == cols)) {
        out.derived().resize(rows, cols);
      }
    }
  }
  if (out.rows() != rows || out.cols() != cols) {
    fail(fn, std::string(name) + " has shape " + shape_text(out.rows(), out.cols()) +
                 ", expected " + shape_text(rows, cols));
  }
}

// A per-sample output of n entries, accepted as a column or a row vector.
template <class Out>
void prepare_vector_output(const char* fn, const char* name, Eigen::MatrixBase<Out>& out,
                           Eigen::Index n) {
  if (Out::RowsAtCompileTime == 1) {
    prepare_output(fn, name, out, 1, n);
  } else {
    prepare_output(fn, name, out, n, 1);
  }
}

template <class In>
void check_same_shape(const char* fn, const char* name, const Eigen::DenseBase<In>& in,
                      Eigen::Index rows, Eigen::Index cols, const char* like) {
  if (in.rows() != rows || in.cols() != cols) {
    fail(fn, std::string(name) + " has shape " + shape_text(in.rows(), in.cols()) + ", expected " +
                 like + "'s shape " + shape_text(rows, cols));
  }
}

template <class T>
constexpr void assert_public_scalar() {
  static_assert(std::is_same<T, float>::value || std::is_same<T, double>::value,
                "xent: the public API computes in float or double (xent::reference takes any "
                "floating type)");
}

}  // namespace XENT_SIMD_ISA_NAMESPACE
}  // namespace detail
}  // namespace xent
