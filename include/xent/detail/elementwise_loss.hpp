// xent internals: the six entry points of the element-wise binary losses, written once over a
// kernel that provides
//   static void check(fn, x, targets, opts);            // everything but the weights' shapes
//   static Scalar loss(x, t, pos_weight);                // unweighted element loss
//   static Scalar grad(x, t, pos_weight);                // its derivative with respect to x
// Weights multiply both; Mean divides by the number of elements (zero weights still count).
#pragma once

#include "simd/isa.hpp"

#include <Eigen/Core>
#include <string>
#include <type_traits>

#include "checks.hpp"
#include "class_targets.hpp"
#include "parallel.hpp"
#include "reduce.hpp"
#include "views.hpp"

namespace xent {
namespace detail {
inline namespace XENT_SIMD_ISA_NAMESPACE {

// The weight and pos_weight of element (i, j), broadcast as the options say. The class axis is the
// columns for Layout::SamplesInRows and the rows for Layout::SamplesInColumns.
template <class Scalar, class Options>
class ElementWeights {
 public:
  ElementWeights(const char* fn, const Options& opts, Eigen::Index rows, Eigen::Index cols)
      : opts_(opts), rows_layout_(opts.layout() == Layout::SamplesInRows) {
    const Eigen::Index samples = samples_of(rows, cols, opts.layout());
    const Eigen::Index classes = classes_of(rows, cols, opts.layout());
    const Eigen::MatrixXd& w = opts.weight();
    switch (opts.weight_kind()) {
      case WeightKind::PerClass:
        if (w.size() != classes) {
          fail(fn, "weight (a row vector, one entry per class) has " + std::to_string(w.size()) +
                       " entries, expected " + std::to_string(classes));
        }
        break;
      case WeightKind::PerSample:
        if (w.size() != samples) {
          fail(fn, "weight (a column vector, one entry per sample) has " +
                       std::to_string(w.size()) + " entries, expected " + std::to_string(samples));
        }
        break;
      case WeightKind::Elementwise:
        if (w.rows() != rows || w.cols() != cols) {
          fail(fn, "weight (a matrix, one entry per element) has shape " +
                       shape_text(w.rows(), w.cols()) + ", expected the input's shape " +
                       shape_text(rows, cols));
        }
        break;
      case WeightKind::None:
        break;
    }
    if constexpr (has_pos_weight_option) {
      if (opts.has_pos_weight() && opts.pos_weight().size() != classes) {
        fail(fn, "pos_weight has " + std::to_string(opts.pos_weight().size()) +
                     " entries, expected one per class (" + std::to_string(classes) + ")");
      }
    }
  }

  Scalar weight(Eigen::Index i, Eigen::Index j) const {
    switch (opts_.weight_kind()) {
      case WeightKind::PerClass:
        return static_cast<Scalar>(opts_.weight()(class_index(i, j)));
      case WeightKind::PerSample:
        return static_cast<Scalar>(opts_.weight()(sample_index(i, j)));
      case WeightKind::Elementwise:
        return static_cast<Scalar>(opts_.weight()(i, j));
      case WeightKind::None:
        break;
    }
    return Scalar(1);
  }

  Scalar pos_weight(Eigen::Index i, Eigen::Index j) const {
    if constexpr (has_pos_weight_option) {
      if (opts_.has_pos_weight()) return static_cast<Scalar>(opts_.pos_weight()(class_index(i, j)));
    }
    return Scalar(1);
  }

 private:
  static constexpr bool has_pos_weight_option =
      std::is_same<Options, BCEWithLogitsLossOptions>::value;
  Eigen::Index class_index(Eigen::Index i, Eigen::Index j) const { return rows_layout_ ? j : i; }
  Eigen::Index sample_index(Eigen::Index i, Eigen::Index j) const { return rows_layout_ ? i : j; }

  const Options& opts_;
  bool rows_layout_;
};

// Checks every argument, then calls prepare() (which sizes the caller's output, so that a throwing
// call leaves it untouched) and visits every element in storage order with its input, target,
// weight and pos_weight.
// The outer index (rows of a row-major input, columns otherwise) is split into blocks that may run
// on several threads; outer_blocks(x) gives that split.
template <class X>
Blocks outer_blocks(const Eigen::MatrixBase<X>& x) {
  return Blocks(X::IsRowMajor ? x.rows() : x.cols());
}
template <class X>
Eigen::Index outer_index(Eigen::Index i, Eigen::Index j) {
  return X::IsRowMajor ? i : j;
}

template <class Kernel, class X, class T, class Options, class Prepare, class F>
void visit_elements(const char* fn, const Eigen::MatrixBase<X>& x,
                    const Eigen::DenseBase<T>& targets, const Options& opts, const Blocks& blocks,
                    Prepare&& prepare, F&& f) {
  using Scalar = typename X::Scalar;
  assert_public_scalar<Scalar>();
  static_assert(std::is_floating_point<typename T::Scalar>::value,
                "xent: binary targets must be floating point (convert boolean or integer labels)");
  check_same_shape(fn, "targets", targets, x.rows(), x.cols(), "input");
  const ElementWeights<Scalar, Options> weights(fn, opts, x.rows(), x.cols());
  const InputRef<X> in(x.derived());
  const InputRef<T> t(targets.derived());
  Kernel::check(fn, in, t);
  prepare();
  const auto element = [&](Eigen::Index i, Eigen::Index j) {
    f(i, j, in(i, j), static_cast<Scalar>(t(i, j)), weights.weight(i, j), weights.pos_weight(i, j));
  };
  const Eigen::Index outer = X::IsRowMajor ? x.rows() : x.cols();
  const Eigen::Index inner = X::IsRowMajor ? x.cols() : x.rows();
  for_each_block(blocks, outer, inner, [&](Eigen::Index begin, Eigen::Index end) {
    for (Eigen::Index o = begin; o < end; ++o) {
      for (Eigen::Index k = 0; k < inner; ++k) {
        if (X::IsRowMajor) {
          element(o, k);
        } else {
          element(k, o);
        }
      }
    }
  });
}

template <class Kernel, class X, class T, class Options>
typename X::Scalar elementwise_reduced(const char* fn, const Eigen::MatrixBase<X>& x,
                                       const Eigen::DenseBase<T>& targets, const Options& opts) {
  using Scalar = typename X::Scalar;
  const Blocks blocks = outer_blocks(x);
  BlockSums<Scalar> sums(blocks);
  visit_elements<Kernel>(
      fn, x, targets, opts, blocks, [] {},
      [&](Eigen::Index i, Eigen::Index j, Scalar xi, Scalar ti, Scalar w, Scalar p) {
        sums.add(outer_index<X>(i, j), w * Kernel::loss(xi, ti, p));
      });
  return reduce(sums.total(), opts.reduction(), static_cast<double>(x.size()));
}

template <class Kernel, class X, class T, class Out, class Options>
void elementwise_per_element(const char* fn, const Eigen::MatrixBase<X>& x,
                             const Eigen::DenseBase<T>& targets, const Eigen::MatrixBase<Out>& out,
                             const Options& opts) {
  using Scalar = typename X::Scalar;
  static_assert(std::is_same<typename Out::Scalar, Scalar>::value,
                "xent: the output must have the input's scalar type");
  auto& result = const_cast<Eigen::MatrixBase<Out>&>(out);
  visit_elements<Kernel>(
      fn, x, targets, opts, outer_blocks(x),
      [&] { prepare_output(fn, "out", result, x.rows(), x.cols()); },
      [&](Eigen::Index i, Eigen::Index j, Scalar xi, Scalar ti, Scalar w, Scalar p) {
        result(i, j) = w * Kernel::loss(xi, ti, p);
      });
}

// Writes grad(i, j) = scale(i, j) * w * d loss / d x; returns the reduced loss when wanted.
template <class Kernel, class X, class T, class G, class Options, class ScaleFn>
double elementwise_gradient(const char* fn, const Eigen::MatrixBase<X>& x,
                            const Eigen::DenseBase<T>& targets, Eigen::MatrixBase<G>& grad,
                            const Options& opts, ScaleFn&& scale, bool with_loss) {
  using Scalar = typename X::Scalar;
  static_assert(std::is_same<typename G::Scalar, Scalar>::value,
                "xent: grad must have the input's scalar type");
  const Blocks blocks = outer_blocks(x);
  BlockSums<Scalar> sums(blocks);
  visit_elements<Kernel>(
      fn, x, targets, opts, blocks, [&] { prepare_output(fn, "grad", grad, x.rows(), x.cols()); },
      [&](Eigen::Index i, Eigen::Index j, Scalar xi, Scalar ti, Scalar w, Scalar p) {
        if (with_loss) sums.add(outer_index<X>(i, j), w * Kernel::loss(xi, ti, p));
        grad(i, j) = scale(i, j) * w * Kernel::grad(xi, ti, p);
      });
  return sums.total().value();
}

template <class Kernel, class X, class T, class Options>
PlainMatrix<X> elementwise_backward(const char* fn, const Eigen::MatrixBase<X>& x,
                                    const Eigen::DenseBase<T>& targets, const Options& opts,
                                    typename X::Scalar grad_output) {
  using Scalar = typename X::Scalar;
  const Scalar scale =
      reduction_scale<Scalar>(opts.reduction(), grad_output, static_cast<double>(x.size()));
  PlainMatrix<X> grad(x.rows(), x.cols());
  elementwise_gradient<Kernel>(
      fn, x, targets, grad, opts, [&](Eigen::Index, Eigen::Index) { return scale; }, false);
  return grad;
}

template <class Kernel, class X, class T, class GO, class Options>
PlainMatrix<X> elementwise_per_element_backward(const char* fn, const Eigen::MatrixBase<X>& x,
                                                const Eigen::DenseBase<T>& targets,
                                                const Eigen::MatrixBase<GO>& grad_outputs,
                                                const Options& opts) {
  using Scalar = typename X::Scalar;
  check_same_shape(fn, "grad_outputs", grad_outputs, x.rows(), x.cols(), "input");
  PlainMatrix<X> grad(x.rows(), x.cols());
  elementwise_gradient<Kernel>(
      fn, x, targets, grad, opts,
      [&](Eigen::Index i, Eigen::Index j) { return static_cast<Scalar>(grad_outputs(i, j)); },
      false);
  return grad;
}

template <class Kernel, class X, class T, class G, class Options>
typename X::Scalar elementwise_forward_backward(const char* fn, const Eigen::MatrixBase<X>& x,
                                                const Eigen::DenseBase<T>& targets,
                                                const Eigen::MatrixBase<G>& grad,
                                                const Options& opts) {
  using Scalar = typename X::Scalar;
  const double numel = static_cast<double>(x.size());
  const Scalar scale = reduction_scale<Scalar>(opts.reduction(), 1.0, numel);
  auto& result = const_cast<Eigen::MatrixBase<G>&>(grad);
  const double sum = elementwise_gradient<Kernel>(
      fn, x, targets, result, opts, [&](Eigen::Index, Eigen::Index) { return scale; }, true);
  return static_cast<Scalar>(opts.reduction() == Reduction::Sum ? sum : sum / numel);
}

}  // namespace XENT_SIMD_ISA_NAMESPACE
}  // namespace detail
}  // namespace xent
