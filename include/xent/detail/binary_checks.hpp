// xent internals: the argument checks of the element-wise binary losses (BCE on probabilities and
// on logits), shared by the fast paths and xent::reference.
#pragma once

#include <Eigen/Core>
#include <string>
#include <type_traits>

#include "../options.hpp"
#include "checks.hpp"
#include "layout.hpp"
#include "simd/isa.hpp"

namespace xent {
namespace detail {
inline namespace XENT_SIMD_ISA_NAMESPACE {

// The weight (and pos_weight) must fit the input of shape rows x cols as its setter says: C entries
// per class along the layout's class axis, N per sample, or the input's shape.
template <class Options>
void check_binary_weights(const char* fn, const Options& opts, Eigen::Index rows,
                          Eigen::Index cols) {
  const Eigen::Index samples = samples_of(rows, cols, opts.layout());
  const Eigen::Index classes = classes_of(rows, cols, opts.layout());
  const auto w = opts.weight();
  switch (opts.weight_kind()) {
    case WeightKind::PerClass:
      if (w.size() != classes) {
        fail(fn, "class_weight has " + std::to_string(w.size()) +
                     " entries, expected one per class (" + std::to_string(classes) + ")");
      }
      break;
    case WeightKind::PerSample:
      if (w.size() != samples) {
        fail(fn, "sample_weight has " + std::to_string(w.size()) +
                     " entries, expected one per sample (" + std::to_string(samples) + ")");
      }
      break;
    case WeightKind::Elementwise:
      if (w.rows() != rows || w.cols() != cols) {
        fail(fn, "element_weight has shape " + shape_text(w.rows(), w.cols()) +
                     ", expected the input's shape " + shape_text(rows, cols));
      }
      break;
    case WeightKind::None:
      break;
  }
  if constexpr (std::is_same<Options, BCEWithLogitsLossOptions>::value) {
    if (opts.has_pos_weight() && opts.pos_weight().size() != classes) {
      fail(fn, "pos_weight has " + std::to_string(opts.pos_weight().size()) +
                   " entries, expected one per class (" + std::to_string(classes) + ")");
    }
  }
}

// Read in storage order (a row-major matrix row by row), each line checked without branches so
// the compiler can vectorize it; only a line holding a bad value is searched again for the
// first one, which the message names.
template <class M>
void check_unit_interval(const char* fn, const char* name, const M& m) {
  constexpr bool kRowMajor = bool(M::IsRowMajor);
  const Eigen::Index outer = kRowMajor ? m.rows() : m.cols();
  const Eigen::Index inner = kRowMajor ? m.cols() : m.rows();
  const auto at = [&m](Eigen::Index o, Eigen::Index k) { return kRowMajor ? m(o, k) : m(k, o); };
  for (Eigen::Index o = 0; o < outer; ++o) {
    bool line_ok = true;
    for (Eigen::Index k = 0; k < inner; ++k) {
      const auto v = at(o, k);
      line_ok &= (v >= 0) & (v <= 1);
    }
    if (line_ok) continue;
    for (Eigen::Index k = 0; k < inner; ++k) {
      const auto v = at(o, k);
      if (!(v >= 0 && v <= 1)) {
        const Eigen::Index i = kRowMajor ? o : k, j = kRowMajor ? k : o;
        fail(fn, std::string("all elements of ") + name + " should be between 0 and 1: " + name +
                     "(" + std::to_string(i) + ", " + std::to_string(j) + ") = " + to_text(v));
      }
    }
  }
}

// BCE on probabilities: inputs and targets must lie in [0, 1] (NaN is an error), input first.
template <class X, class T>
void check_binary_values(const char* fn, const X& p, const T& t, const BCELossOptions&) {
  check_unit_interval(fn, "input", p);
  check_unit_interval(fn, "target", t);
}

// BCE on logits: any input, and targets are used as given (t = 2 is accepted), as in PyTorch.
template <class X, class T>
void check_binary_values(const char*, const X&, const T&, const BCEWithLogitsLossOptions&) {}

}  // namespace XENT_SIMD_ISA_NAMESPACE
}  // namespace detail
}  // namespace xent
