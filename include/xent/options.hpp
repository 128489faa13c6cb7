// xent: the enums and the fluent option objects shared by every loss.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "config.hpp"
#include "detail/checks.hpp"

namespace xent {

// PyTorch's reduction='none' is the *_per_sample family of each loss.
enum class Reduction { Mean, Sum };

// Which axis of the logits matrix holds the samples. Always explicit, never guessed from the shape.
enum class Layout {
  SamplesInRows,     // N x C, a sample per row, as PyTorch (the default)
  SamplesInColumns,  // C x N, a sample per column
};

// How a BCE weight broadcasts, decided by its compile-time shape (see BCE options' weight()).
enum class WeightKind { None, PerClass, PerSample, Elementwise };

namespace detail {

// Copies any Eigen vector (float or double, row or column) into a double vector.
template <class Derived>
Eigen::VectorXd to_double_vector(const Eigen::DenseBase<Derived>& v, const char* setter) {
  if (v.rows() != 1 && v.cols() != 1 && v.size() != 0) {
    throw std::invalid_argument(std::string("xent::") + setter + ": expected a vector, got a " +
                                std::to_string(v.rows()) + "x" + std::to_string(v.cols()) +
                                " matrix");
  }
  Eigen::VectorXd out(v.size());
  for (Eigen::Index i = 0; i < v.size(); ++i) out(i) = static_cast<double>(v.derived().coeff(i));
  return out;
}

// Options shared by the two class-index losses (cross-entropy and NLL).
template <class Self>
class ClassLossOptions {
 public:
  Self& reduction(Reduction r) {
    reduction_ = r;
    return self();
  }
  Reduction reduction() const { return reduction_; }

  // Per-class weights, C entries; any Eigen vector of float or double.
  template <class Derived>
  Self& weight(const Eigen::DenseBase<Derived>& w) {
    static_assert(std::is_floating_point<typename Derived::Scalar>::value,
                  "xent: weight must hold float or double values");
    weight_ = to_double_vector(w, "weight");
    weight_float_ = weight_.cast<float>();
    has_weight_ = true;
    return self();
  }
  const Eigen::VectorXd& weight() const { return weight_; }
  bool has_weight() const { return has_weight_; }
  // The weights in the computation's type, converted once here so that no call allocates.
  template <class Scalar>
  const Eigen::Matrix<Scalar, Eigen::Dynamic, 1>& weight_as() const {
    if constexpr (std::is_same<Scalar, float>::value) {
      return weight_float_;
    } else {
      return weight_;
    }
  }

  // Targets equal to ignore_index contribute nothing (checked before the bounds check, so any value
  // works, as in PyTorch).
  Self& ignore_index(std::int64_t i) {
    ignore_index_ = i;
    return self();
  }
  std::int64_t ignore_index() const { return ignore_index_; }

  Self& layout(Layout l) {
    layout_ = l;
    return self();
  }
  Layout layout() const { return layout_; }

 private:
  Self& self() { return static_cast<Self&>(*this); }

  Reduction reduction_ = Reduction::Mean;
  Eigen::VectorXd weight_;
  Eigen::VectorXf weight_float_;
  bool has_weight_ = false;
  std::int64_t ignore_index_ = -100;
  Layout layout_ = Layout::SamplesInRows;
};

// Options shared by the two element-wise binary losses.
template <class Self>
class BinaryLossOptions {
 public:
  Self& reduction(Reduction r) {
    reduction_ = r;
    return self();
  }
  Reduction reduction() const { return reduction_; }

  // The weight's compile-time shape says how it broadcasts: a row vector has C entries (per class),
  // a column vector N entries (per sample), anything else is element-wise with the input's shape.
  template <class Derived>
  Self& weight(const Eigen::DenseBase<Derived>& w) {
    static_assert(std::is_floating_point<typename Derived::Scalar>::value,
                  "xent: weight must hold float or double values");
    if (Derived::RowsAtCompileTime == 1) {
      weight_kind_ = WeightKind::PerClass;
    } else if (Derived::ColsAtCompileTime == 1) {
      weight_kind_ = WeightKind::PerSample;
    } else {
      weight_kind_ = WeightKind::Elementwise;
    }
    weight_ = w.derived().template cast<double>();
    return self();
  }
  const Eigen::MatrixXd& weight() const { return weight_; }
  WeightKind weight_kind() const { return weight_kind_; }
  bool has_weight() const { return weight_kind_ != WeightKind::None; }

  Self& layout(Layout l) {
    layout_ = l;
    return self();
  }
  Layout layout() const { return layout_; }

 protected:
  Self& self() { return static_cast<Self&>(*this); }

 private:
  Reduction reduction_ = Reduction::Mean;
  Eigen::MatrixXd weight_;
  WeightKind weight_kind_ = WeightKind::None;
  Layout layout_ = Layout::SamplesInRows;
};

}  // namespace detail

// Options of cross_entropy / CrossEntropyLoss, like torch::nn::CrossEntropyLossOptions.
class CrossEntropyOptions : public detail::ClassLossOptions<CrossEntropyOptions> {
 public:
  // Mixes the target with the uniform distribution: q = (1 - e) * target + e / C. Unlike PyTorch,
  // which silently ignores negative values, anything outside [0, 1] (or NaN) is an error. Takes
  // any arithmetic type (label_smoothing(0), (0.1f), (0.1)); the value is checked in that type and
  // a rejected value is printed as it was passed (the shortest text that reads back as it, so
  // -0.1f prints as -0.1, not as the double it widens to). Stored as double.
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
  double label_smoothing() const { return label_smoothing_; }

 private:
  double label_smoothing_ = 0.0;
};

// Options of nll_loss / NLLLoss.
class NLLLossOptions : public detail::ClassLossOptions<NLLLossOptions> {};

// Options of binary_cross_entropy_with_logits / BCEWithLogitsLoss.
class BCEWithLogitsLossOptions : public detail::BinaryLossOptions<BCEWithLogitsLossOptions> {
 public:
  // Weight of the positive term, one entry per class along the class axis of the layout in use.
  template <class Derived>
  BCEWithLogitsLossOptions& pos_weight(const Eigen::DenseBase<Derived>& p) {
    static_assert(std::is_floating_point<typename Derived::Scalar>::value,
                  "xent: pos_weight must hold float or double values");
    pos_weight_ = detail::to_double_vector(p, "pos_weight");
    has_pos_weight_ = true;
    return *this;
  }
  const Eigen::VectorXd& pos_weight() const { return pos_weight_; }
  bool has_pos_weight() const { return has_pos_weight_; }

 private:
  Eigen::VectorXd pos_weight_;
  bool has_pos_weight_ = false;
};

// Options of binary_cross_entropy / BCELoss (inputs are probabilities).
class BCELossOptions : public detail::BinaryLossOptions<BCELossOptions> {};

}  // namespace xent
