// xent: the enums and the fluent option objects shared by every loss.
#pragma once

// The option objects are one type across the program, also between files built for different
// instruction sets (see detail/simd/isa.hpp): they hold no Eigen object (whose allocation functions
// could differ between such files), only std::vector, and call no code of the ISA namespace. The
// getters return Eigen::Map views of that storage.

#include <Eigen/Core>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "config.hpp"
#include "detail/text.hpp"

namespace xent {

/// How a loss reduces its per-sample (or per-element) losses to one value. PyTorch's
/// `reduction='none'` is the `*_per_sample` family of each loss.
enum class Reduction {
  Mean,  ///< The mean (the default): see each loss for its denominator.
  Sum    ///< The sum.
};

/// Which axis of the logits matrix holds the samples. Always explicit, never guessed from the
/// shape.
enum class Layout {
  SamplesInRows,     ///< N x C, a sample per row, as PyTorch's (N, C) (the default).
  SamplesInColumns,  ///< C x N, a sample per column (Eigen's natural column-major batch).
};

/// How a BCE weight broadcasts: which of the BCE options' setters set it.
enum class WeightKind {
  None,        ///< No weight set.
  PerClass,    ///< class_weight(): C entries, one per class (along the layout's class axis).
  PerSample,   ///< sample_weight(): N entries, one per sample.
  Elementwise  ///< element_weight(): a matrix of the input's shape, one weight per element.
};

namespace detail {

// Copies any Eigen vector (float or double, row or column) into a double vector, with a plain loop;
// a matrix throws, naming the setter, the shape and `hint` (appended to the message).
template <class Derived>
std::vector<double> to_double_vector(const Eigen::DenseBase<Derived>& v, const char* setter,
                                     const char* hint = "") {
  if (v.rows() != 1 && v.cols() != 1 && v.size() != 0) {
    throw std::invalid_argument(std::string("xent::") + setter + ": expected a vector, got a " +
                                std::to_string(v.rows()) + "x" + std::to_string(v.cols()) +
                                " matrix" + hint);
  }
  std::vector<double> out(static_cast<std::size_t>(v.size()));
  for (Eigen::Index i = 0; i < v.size(); ++i) {
    out[static_cast<std::size_t>(i)] = static_cast<double>(v.derived().coeff(i));
  }
  return out;
}

// A read-only Eigen view of a stored vector.
template <class Scalar>
Eigen::Map<const Eigen::Matrix<Scalar, Eigen::Dynamic, 1>> vector_view(
    const std::vector<Scalar>& v) {
  return {v.data(), static_cast<Eigen::Index>(v.size())};
}

// Whether an Eigen type may hold a vector: false only for a shape fixed at compile time with
// neither dimension 1 (or 0), which the vector setters reject with a static_assert.
template <class Derived>
constexpr bool may_be_vector() {
  constexpr int rows = Derived::RowsAtCompileTime, cols = Derived::ColsAtCompileTime;
  return rows == Eigen::Dynamic || cols == Eigen::Dynamic || rows <= 1 || cols <= 1;
}

// False, but only once T is known: a static_assert on it fires when its template is instantiated.
template <class T>
struct always_false : std::false_type {};

/// The options shared by the two class-index losses (cross-entropy and NLL); each setter returns
/// the options object, so that calls chain. Not used directly: see CrossEntropyOptions and
/// NLLLossOptions.
template <class Self>
class ClassLossOptions {
 public:
  /// Sets the reduction (default Reduction::Mean).
  Self& reduction(Reduction r) {
    reduction_ = r;
    return self();
  }
  /// The reduction.
  Reduction reduction() const { return reduction_; }

  /// Sets per-class weights, like PyTorch's `weight`: C entries (any Eigen vector, row or column,
  /// of float or double), checked against the logits' class count at each call. Stored as double.
  /// Always per class, whatever the vector's orientation (unlike the BCE options, which have no
  /// weight(w) but class_weight, sample_weight and element_weight).
  /// \throws std::invalid_argument if w is a matrix rather than a vector (a matrix of a fixed shape
  ///         does not compile).
  template <class Derived>
  Self& weight(const Eigen::DenseBase<Derived>& w) {
    static_assert(std::is_floating_point<typename Derived::Scalar>::value,
                  "xent: weight must hold float or double values");
    static_assert(may_be_vector<Derived>(),
                  "xent: weight takes a vector of C entries, one per class, not a matrix");
    weight_ = to_double_vector(w, "weight");
    weight_float_.resize(weight_.size());
    for (std::size_t c = 0; c < weight_.size(); ++c) {
      weight_float_[c] = static_cast<float>(weight_[c]);
    }
    has_weight_ = true;
    return self();
  }
  /// Sets per-class weights: the same as weight(w), under the name the BCE options use for their
  /// per-class weight.
  /// \throws std::invalid_argument if w is a matrix rather than a vector.
  template <class Derived>
  Self& class_weight(const Eigen::DenseBase<Derived>& w) {
    return weight(w);
  }
  /// The class weights (empty unless set), as a read-only Eigen view of the options' storage
  /// (valid while the options object lives and its weight is not set again).
  Eigen::Map<const Eigen::VectorXd> weight() const { return vector_view(weight_); }
  /// Whether class weights were set.
  bool has_weight() const { return has_weight_; }
  /// \private The weights in the computation's type, converted once here so that no call
  /// allocates.
  template <class Scalar>
  Eigen::Map<const Eigen::Matrix<Scalar, Eigen::Dynamic, 1>> weight_as() const {
    if constexpr (std::is_same<Scalar, float>::value) {
      return vector_view(weight_float_);
    } else {
      return vector_view(weight_);
    }
  }

  /// Sets the class index whose samples are ignored (default -100): they contribute nothing to the
  /// loss, are left out of the mean's denominator and get a zero gradient row. Checked before the
  /// bounds check, so any value works, as in PyTorch.
  Self& ignore_index(std::int64_t i) {
    ignore_index_ = i;
    return self();
  }
  /// The ignored class index.
  std::int64_t ignore_index() const { return ignore_index_; }

  /// Sets which axis of the logits holds the samples (default Layout::SamplesInRows).
  Self& layout(Layout l) {
    layout_ = l;
    return self();
  }
  /// The layout.
  Layout layout() const { return layout_; }

 private:
  Self& self() { return static_cast<Self&>(*this); }

  Reduction reduction_ = Reduction::Mean;
  std::vector<double> weight_;
  std::vector<float> weight_float_;  // weight_ in float, for float calls that must not allocate
  bool has_weight_ = false;
  std::int64_t ignore_index_ = -100;
  Layout layout_ = Layout::SamplesInRows;
};

/// The options shared by the two element-wise binary losses; each setter returns the options
/// object, so that calls chain. Not used directly: see BCEWithLogitsLossOptions and BCELossOptions.
template <class Self>
class BinaryLossOptions {
 public:
  /// Sets the reduction (default Reduction::Mean: divided by the number of elements).
  Self& reduction(Reduction r) {
    reduction_ = r;
    return self();
  }
  /// The reduction.
  Reduction reduction() const { return reduction_; }

  /// Sets one weight per class, like PyTorch's `weight` of shape `(C,)` (or `(1, C)`): C entries,
  /// any Eigen vector of float or double, row or column, applied along the class axis of the
  /// layout (the columns for Layout::SamplesInRows). Replaces any weight set before; checked
  /// against the input at each call; stored as double.
  /// \throws std::invalid_argument if w is a matrix rather than a vector (a matrix of a fixed shape
  ///         does not compile).
  template <class Derived>
  Self& class_weight(const Eigen::DenseBase<Derived>& w) {
    static_assert(std::is_floating_point<typename Derived::Scalar>::value,
                  "xent: class_weight must hold float or double values");
    static_assert(may_be_vector<Derived>(),
                  "xent: class_weight takes a vector of C entries, one per class; a weight of the "
                  "input's shape is element_weight(m)");
    return set_vector_weight(to_double_vector(w, "class_weight",
                                              " (class_weight takes C entries, one per class; a "
                                              "weight of the input's shape is element_weight)"),
                             WeightKind::PerClass);
  }

  /// Sets one weight per sample, like PyTorch's `weight` of shape `(N, 1)`: N entries, any Eigen
  /// vector of float or double, row or column. Replaces any weight set before; checked against
  /// the input at each call; stored as double.
  /// \throws std::invalid_argument if w is a matrix rather than a vector (a matrix of a fixed shape
  ///         does not compile).
  template <class Derived>
  Self& sample_weight(const Eigen::DenseBase<Derived>& w) {
    static_assert(std::is_floating_point<typename Derived::Scalar>::value,
                  "xent: sample_weight must hold float or double values");
    static_assert(may_be_vector<Derived>(),
                  "xent: sample_weight takes a vector of N entries, one per sample; a weight of "
                  "the input's shape is element_weight(m)");
    return set_vector_weight(to_double_vector(w, "sample_weight",
                                              " (sample_weight takes N entries, one per sample; a "
                                              "weight of the input's shape is element_weight)"),
                             WeightKind::PerSample);
  }

  /// Sets one weight per element, like PyTorch's `weight` of the input's shape: a matrix (any
  /// Eigen expression of float or double) of the input's shape as passed, N x C or, with
  /// Layout::SamplesInColumns, C x N. Replaces any weight set before; checked against the input
  /// at each call; stored as double.
  template <class Derived>
  Self& element_weight(const Eigen::DenseBase<Derived>& m) {
    static_assert(std::is_floating_point<typename Derived::Scalar>::value,
                  "xent: element_weight must hold float or double values");
    std::vector<double> values(static_cast<std::size_t>(m.size()));
    // Through Eigen's assignment, column-major: an expression (a product, say) is evaluated once,
    // not per coefficient.
    Eigen::Map<Eigen::MatrixXd>(values.data(), m.rows(), m.cols()) =
        m.derived().template cast<double>();
    return set_weight(std::move(values), m.rows(), m.cols(), WeightKind::Elementwise);
  }

  /// Does not compile: a BCE weight is set by what it weighs, class_weight(v), sample_weight(v) or
  /// element_weight(m). (PyTorch's `weight` broadcasts by its shape; a vector of C entries ported
  /// as per-sample weights gives another loss, silently when N == C.) The getter weight() stays.
  template <class T>
  Self& weight(const T&) {
    static_assert(always_false<T>::value,
                  "xent: BCE options have no weight(w): say what it weighs: class_weight(v) (C "
                  "entries: PyTorch's weight of shape (C,)), sample_weight(v) (N entries) or "
                  "element_weight(m) (the input's shape)");
    return self();
  }

  /// The weight (empty unless set): a column vector for class_weight and sample_weight, the matrix
  /// as given for element_weight; a read-only, column-major Eigen view of the options' storage
  /// (valid while the options object lives and its weight is not set again).
  Eigen::Map<const Eigen::MatrixXd> weight() const {
    return {weight_.data(), weight_rows_, weight_cols_};
  }
  /// How the weight broadcasts: which setter set it (WeightKind::None unless set).
  WeightKind weight_kind() const { return weight_kind_; }
  /// Whether a weight was set.
  bool has_weight() const { return weight_kind_ != WeightKind::None; }

  /// Sets which axis holds the samples (default Layout::SamplesInRows): per-class weights and
  /// pos_weight run along the other axis.
  Self& layout(Layout l) {
    layout_ = l;
    return self();
  }
  /// The layout.
  Layout layout() const { return layout_; }

 protected:
  /// \private The derived options object.
  Self& self() { return static_cast<Self&>(*this); }

 private:
  Self& set_vector_weight(std::vector<double> w, WeightKind kind) {
    const auto n = static_cast<Eigen::Index>(w.size());
    return set_weight(std::move(w), n, 1, kind);
  }
  Self& set_weight(std::vector<double> w, Eigen::Index rows, Eigen::Index cols, WeightKind kind) {
    weight_ = std::move(w);
    weight_rows_ = rows;
    weight_cols_ = cols;
    weight_kind_ = kind;
    return self();
  }

  Reduction reduction_ = Reduction::Mean;
  std::vector<double> weight_;  // column-major, weight_rows_ x weight_cols_
  Eigen::Index weight_rows_ = 0, weight_cols_ = 0;
  WeightKind weight_kind_ = WeightKind::None;
  Layout layout_ = Layout::SamplesInRows;
};

}  // namespace detail

/// The options of cross_entropy() and CrossEntropyLoss, like
/// `torch::nn::CrossEntropyLossOptions`: reduction, weight (per class), ignore_index, layout and
/// label_smoothing. Setters chain: `CrossEntropyOptions().label_smoothing(0.1f).ignore_index(-1)`.
class CrossEntropyOptions : public detail::ClassLossOptions<CrossEntropyOptions> {
 public:
  /// Sets the label smoothing e (default 0): the target is mixed with the uniform distribution,
  /// q = (1 - e) * target + e / C.
  ///
  /// Unlike PyTorch, which silently ignores negative values, anything outside [0, 1] (or NaN) is
  /// an error. Takes any arithmetic type (label_smoothing(0), (0.1f), (0.1)); the value is checked
  /// in that type and a rejected value is printed as it was passed (the shortest text that reads
  /// back as it, so -0.1f prints as -0.1, not as the double it widens to). Stored as double.
  /// \throws std::invalid_argument if e is outside [0, 1] or NaN.
  template <class T>
  CrossEntropyOptions& label_smoothing(T e) {
    static_assert(std::is_arithmetic<T>::value && !std::is_same<T, bool>::value,
                  "xent: label_smoothing takes a number");
    bool valid = false;
    if constexpr (std::is_floating_point<T>::value) {
      valid = e >= T(0) && e <= T(1);  // false for NaN
    } else {
      valid = e == T(0) || e == T(1);
    }
    if (!valid) {
      throw std::invalid_argument(
          "xent::CrossEntropyOptions::label_smoothing: label_smoothing must be "
          "between 0.0 and 1.0. Got: " +
          detail::to_text(e));
    }
    label_smoothing_ = static_cast<double>(e);
    return *this;
  }
  /// The label smoothing.
  double label_smoothing() const { return label_smoothing_; }

 private:
  double label_smoothing_ = 0.0;
};

/// The options of nll_loss() and NLLLoss, like `torch::nn::NLLLossOptions`: reduction, weight
/// (per class), ignore_index and layout.
class NLLLossOptions : public detail::ClassLossOptions<NLLLossOptions> {};

/// The options of binary_cross_entropy_with_logits() and BCEWithLogitsLoss, like
/// `torch::nn::BCEWithLogitsLossOptions`: reduction, weight (class_weight, sample_weight or
/// element_weight: PyTorch's `weight` broadcast by its shape), pos_weight and layout.
class BCEWithLogitsLossOptions : public detail::BinaryLossOptions<BCEWithLogitsLossOptions> {
 public:
  /// Sets the weight P of the positive term, one entry per class (any Eigen vector of float or
  /// double, C entries along the class axis of the layout in use). Stored as double.
  /// \throws std::invalid_argument if p is a matrix rather than a vector.
  template <class Derived>
  BCEWithLogitsLossOptions& pos_weight(const Eigen::DenseBase<Derived>& p) {
    static_assert(std::is_floating_point<typename Derived::Scalar>::value,
                  "xent: pos_weight must hold float or double values");
    pos_weight_ = detail::to_double_vector(p, "pos_weight");
    has_pos_weight_ = true;
    return *this;
  }
  /// The positive weights (empty unless set), as a read-only Eigen view of the options' storage
  /// (valid while the options object lives and pos_weight is not set again).
  Eigen::Map<const Eigen::VectorXd> pos_weight() const { return detail::vector_view(pos_weight_); }
  /// Whether pos_weight was set.
  bool has_pos_weight() const { return has_pos_weight_; }

 private:
  std::vector<double> pos_weight_;
  bool has_pos_weight_ = false;
};

/// The options of binary_cross_entropy() and BCELoss (inputs are probabilities), like
/// `torch::nn::BCELossOptions`: reduction, weight (class_weight, sample_weight or element_weight:
/// PyTorch's `weight` broadcast by its shape) and layout.
class BCELossOptions : public detail::BinaryLossOptions<BCELossOptions> {};

}  // namespace xent
