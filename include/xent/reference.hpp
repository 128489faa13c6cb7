// xent::reference: the plain formulation of every loss, written the way the PyTorch documentation
// composes it -- log_softmax, gather each sample's target column, reduce -- with its own chain-rule
// backward. It is the specification the fast paths are tested against: independent of them, simple
// rather than fast, and templated on the computation type T (float, double or long double; T
// defaults to the input's scalar) so that it can serve as a high-precision reference.
//
// It shares with xent only the argument checks and the option objects, and follows xent's
// documented improvements over PyTorch (zero gradient rows for ignored samples, 0 log 0 = 0 for
// probability targets, BCE-with-logits limits at +-inf).
#pragma once

#include <Eigen/Core>
#include <cmath>
#include <limits>
#include <type_traits>

// Only the options and the argument checks: none of the fast paths or kernels, so that the
// specification cannot inherit their mistakes (and costs no kernel code to compile).
#include "detail/binary_checks.hpp"
#include "detail/checks.hpp"
#include "detail/class_checks.hpp"
#include "detail/layout.hpp"
#include "detail/simd/isa.hpp"
#include "options.hpp"

namespace xent {
inline namespace XENT_SIMD_ISA_NAMESPACE {
/// The plain formulation of every loss, as an executable specification.
///
/// Written the way the PyTorch documentation composes each loss -- log_softmax, gather each
/// sample's target column, reduce -- with its own chain-rule backward: simple rather than fast,
/// independent of the fast kernels (it shares only the argument checks and the option objects), and
/// following xent's documented differences from PyTorch. Every function takes an optional first
/// template argument T, the computation and result type (float, double, long double; by default
/// the input's scalar type), e.g. `xent::reference::cross_entropy<long double>(x, y, opts)`.
/// Results are column-major whatever the input's storage order.
namespace reference {

/// A column-major dynamic matrix of T: what the reference functions return.
template <class T>
using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
/// A dynamic column vector of T: what the reference's per-sample functions return.
template <class T>
using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;

namespace detail {

template <class T, class D>
using ComputeType = std::conditional_t<std::is_void<T>::value, typename D::Scalar, T>;

// The N x C matrix of samples in rows, converted to T.
template <class T, class D>
Matrix<T> samples_in_rows(const Eigen::DenseBase<D>& x, Layout layout) {
  if (layout == Layout::SamplesInRows) return x.derived().template cast<T>();
  return x.derived().transpose().template cast<T>();
}

// Back from samples in rows to the input's orientation.
template <class T>
Matrix<T> in_layout(const Matrix<T>& rows, Layout layout) {
  if (layout == Layout::SamplesInRows) return rows;
  return rows.transpose();
}

template <class T>
T max_with_nan(const Eigen::Ref<const Vector<T>>& v) {
  T m = -std::numeric_limits<T>::infinity();
  for (Eigen::Index c = 0; c < v.size(); ++c) {
    if (std::isnan(v(c))) return v(c);
    if (v(c) > m) m = v(c);
  }
  return m;
}

// log_softmax of samples in rows: x - max - log(sum exp(x - max)).
template <class T>
Matrix<T> log_softmax_rows(const Matrix<T>& x) {
  Matrix<T> out(x.rows(), x.cols());
  if (x.cols() == 0) return out;  // no classes: row(n) of an empty matrix is UB in Eigen
  for (Eigen::Index n = 0; n < x.rows(); ++n) {
    const Vector<T> row = x.row(n).transpose();
    const T m = max_with_nan<T>(row);
    T s = 0;
    for (Eigen::Index c = 0; c < x.cols(); ++c) s += std::exp(row(c) - m);
    for (Eigen::Index c = 0; c < x.cols(); ++c) out(n, c) = row(c) - m - std::log(s);
  }
  return out;
}

// The chain rule through log_softmax: g - exp(lp) * sum(g), per sample.
template <class T>
Matrix<T> log_softmax_backward_rows(const Matrix<T>& g, const Matrix<T>& lp) {
  Matrix<T> out(g.rows(), g.cols());
  if (g.cols() == 0) return out;  // no classes: row(n) of an empty matrix is UB in Eigen
  for (Eigen::Index n = 0; n < g.rows(); ++n) {
    const T sum = g.row(n).sum();
    for (Eigen::Index c = 0; c < g.cols(); ++c) out(n, c) = g(n, c) - std::exp(lp(n, c)) * sum;
  }
  return out;
}

template <class T, class Options>
T class_weight(const Options& opts, Eigen::Index c) {
  return opts.has_weight() ? static_cast<T>(opts.weight()(c)) : T(1);
}

// The reference reads class-index targets itself rather than through the kernels' class_of, so
// that a wrong ignore decision or mean denominator in the kernels shows up against it. Called after
// the argument checks (which throw on a target that is neither ignore_index nor in [0, C)): sample
// n's class, or -1 where the target equals ignore_index (compared as integers, as PyTorch does).
template <class Y, class Options>
Eigen::Index target_class(const Y& y, Eigen::Index n, const Options& opts) {
  const auto v = y.coeff(n);
  using V = std::decay_t<decltype(v)>;
  bool ignored;
  if constexpr (std::is_signed<V>::value) {
    ignored = static_cast<long long>(v) == static_cast<long long>(opts.ignore_index());
  } else {  // an unsigned target equals ignore_index only where that is non-negative
    ignored = opts.ignore_index() >= 0 && static_cast<unsigned long long>(v) ==
                                              static_cast<unsigned long long>(opts.ignore_index());
  }
  return ignored ? -1 : static_cast<Eigen::Index>(v);
}

// The mean's denominator of class-index targets: the summed class weights of the samples not
// ignored (their count without weights), summed plainly in T.
template <class T, class Y, class Options>
T target_denominator(const Y& y, Eigen::Index samples, const Options& opts) {
  T total = 0;
  for (Eigen::Index n = 0; n < samples; ++n) {
    const Eigen::Index t = target_class(y, n, opts);
    if (t >= 0) total += class_weight<T>(opts, t);
  }
  return total;
}

// Checks the arguments with the library's own checks (they throw; the tests check the exceptions
// against their own tables) and returns the mean's denominator, computed by the reference: the
// targets' summed weights, or N for probability targets.
template <class T, class X, class Y, class Options>
T checked_denominator(const char* fn, const Eigen::MatrixBase<X>& x, const Eigen::DenseBase<Y>& y,
                      const Options& opts) {
  xent::detail::check_class_loss(fn, x, y, opts);
  const Eigen::Index samples = xent::detail::samples_of(x.rows(), x.cols(), opts.layout());
  if constexpr (xent::detail::is_index_type<typename Y::Scalar>) {
    return target_denominator<T>(y.derived(), samples, opts);
  } else {
    return static_cast<T>(samples);
  }
}

// d loss_n / d lp for class-index targets (the gather's transpose, plus the smoothing term).
template <class T, class Y>
Matrix<T> ce_index_dlp(const Matrix<T>& lp, const Y& y, const CrossEntropyOptions& opts,
                       const Vector<T>& scale) {
  const Eigen::Index classes = lp.cols();
  const T eps = static_cast<T>(opts.label_smoothing());
  Matrix<T> d = Matrix<T>::Zero(lp.rows(), classes);
  for (Eigen::Index n = 0; n < lp.rows(); ++n) {
    const Eigen::Index t = target_class(y, n, opts);
    if (t < 0) continue;
    d(n, t) -= (1 - eps) * class_weight<T>(opts, t) * scale(n);
    if (eps > 0) {
      for (Eigen::Index c = 0; c < classes; ++c) {
        d(n, c) -= eps / static_cast<T>(classes) * class_weight<T>(opts, c) * scale(n);
      }
    }
  }
  return d;
}

template <class T>
Matrix<T> smoothed_targets(const Matrix<T>& t, T eps) {
  if (eps == 0) return t;
  return ((1 - eps) * t.array() + eps / static_cast<T>(t.cols())).matrix();
}

// Per-sample cross-entropy of samples in rows; returns the mean's denominator in `denominator`.
template <class T, class X, class Y>
Vector<T> ce_per_sample_rows(const Eigen::MatrixBase<X>& x, const Eigen::DenseBase<Y>& y,
                             const CrossEntropyOptions& opts, const char* fn, T& denominator) {
  denominator = checked_denominator<T>(fn, x, y, opts);
  const Matrix<T> lp = log_softmax_rows(samples_in_rows<T>(x, opts.layout()));
  Vector<T> loss = Vector<T>::Zero(lp.rows());
  const T eps = static_cast<T>(opts.label_smoothing());
  if constexpr (xent::detail::is_index_type<typename Y::Scalar>) {
    for (Eigen::Index n = 0; n < lp.rows(); ++n) {
      const Eigen::Index t = target_class(y.derived(), n, opts);
      if (t < 0) continue;
      loss(n) = -(1 - eps) * class_weight<T>(opts, t) * lp(n, t);  // the gather
      if (eps > 0) {
        T smooth = 0;
        for (Eigen::Index c = 0; c < lp.cols(); ++c) smooth -= class_weight<T>(opts, c) * lp(n, c);
        loss(n) += eps / static_cast<T>(lp.cols()) * smooth;
      }
    }
  } else {
    const Matrix<T> t = smoothed_targets(samples_in_rows<T>(y, opts.layout()), eps);
    for (Eigen::Index n = 0; n < lp.rows(); ++n) {
      for (Eigen::Index c = 0; c < lp.cols(); ++c) {
        // 0 log 0 = 0 for a masked class (log p_c = -inf) of a valid row; a row without a
        // distribution (all -inf, +inf or NaN logits: NaN log-probabilities) stays NaN, as in
        // PyTorch.
        if (t(n, c) != 0 || std::isnan(lp(n, c))) {
          loss(n) -= class_weight<T>(opts, c) * t(n, c) * lp(n, c);
        }
      }
    }
  }
  return loss;
}

template <class T, class X, class Y>
Matrix<T> ce_backward_rows(const Eigen::MatrixBase<X>& x, const Eigen::DenseBase<Y>& y,
                           const CrossEntropyOptions& opts, const Vector<T>& scale) {
  const Matrix<T> lp = log_softmax_rows(samples_in_rows<T>(x, opts.layout()));
  Matrix<T> dlp;
  if constexpr (xent::detail::is_index_type<typename Y::Scalar>) {
    dlp = ce_index_dlp(lp, y.derived(), opts, scale);
  } else {
    const Matrix<T> t = smoothed_targets(samples_in_rows<T>(y, opts.layout()),
                                         static_cast<T>(opts.label_smoothing()));
    dlp = Matrix<T>::Zero(lp.rows(), lp.cols());
    for (Eigen::Index n = 0; n < lp.rows(); ++n)
      for (Eigen::Index c = 0; c < lp.cols(); ++c)
        dlp(n, c) = -class_weight<T>(opts, c) * t(n, c) * scale(n);
  }
  Matrix<T> grad = log_softmax_backward_rows(dlp, lp);
  if constexpr (xent::detail::is_index_type<typename Y::Scalar>) {
    // An ignored sample has no loss, so no gradient, whatever its logits hold.
    for (Eigen::Index n = 0; n < grad.rows(); ++n) {
      if (grad.cols() > 0 && target_class(y.derived(), n, opts) < 0) {
        grad.row(n).setZero();
      }
    }
  }
  return grad;
}

}  // namespace detail

namespace detail {

template <class T, class X, class Y>
Vector<T> nll_per_sample_rows(const Eigen::MatrixBase<X>& x, const Eigen::DenseBase<Y>& y,
                              const NLLLossOptions& opts, const char* fn, T& denominator) {
  denominator = checked_denominator<T>(fn, x, y, opts);
  const Matrix<T> lp = samples_in_rows<T>(x, opts.layout());
  Vector<T> loss = Vector<T>::Zero(lp.rows());
  for (Eigen::Index n = 0; n < lp.rows(); ++n) {
    const Eigen::Index t = target_class(y.derived(), n, opts);
    if (t >= 0) loss(n) = -class_weight<T>(opts, t) * lp(n, t);
  }
  return loss;
}

template <class T, class X, class Y>
Matrix<T> nll_backward_rows(const Eigen::MatrixBase<X>& x, const Eigen::DenseBase<Y>& y,
                            const NLLLossOptions& opts, const Vector<T>& scale) {
  const Eigen::Index samples = xent::detail::samples_of(x.rows(), x.cols(), opts.layout());
  const Eigen::Index classes = xent::detail::classes_of(x.rows(), x.cols(), opts.layout());
  Matrix<T> grad = Matrix<T>::Zero(samples, classes);
  for (Eigen::Index n = 0; n < samples; ++n) {
    const Eigen::Index t = target_class(y.derived(), n, opts);
    if (t >= 0) grad(n, t) = -class_weight<T>(opts, t) * scale(n);
  }
  return grad;
}

// BCE-with-logits as max(x, 0) - x t + log1p(exp(-|x|)), and with pos_weight P as that plus
// (P - 1) t (log1p(exp(-|x|)) + max(-x, 0)). At x = +-inf, where these forms
// evaluate inf - inf, the mathematical limit: the infinite term's coefficient times +inf, 0 if the
// coefficient is 0.
template <class T>
T bce_with_logits_element(T x, T t, T pos_weight, bool has_pos_weight) {
  if (std::isinf(x)) {
    const T coefficient = x > 0 ? 1 - t : pos_weight * t;
    return coefficient == 0 ? T(0) : coefficient * std::numeric_limits<T>::infinity();
  }
  const T tail = std::log1p(std::exp(-std::abs(x)));
  const T plain = std::max(x, T(0)) - x * t + tail;
  if (!has_pos_weight) return plain;
  // PyTorch's pos_weight form (1 - t) x + (1 + (P - 1) t) softplus(-x), regrouped as the plain form
  // plus (P - 1) t softplus(-x) so that t = 0 and x << 0 do not cancel.
  return plain + (pos_weight - 1) * t * (tail + std::max(-x, T(0)));
}

template <class T>
T bce_with_logits_element_grad(T x, T t, T pos_weight) {
  const T sigmoid = 1 / (1 + std::exp(-x));
  return (pos_weight * t + 1 - t) * sigmoid - pos_weight * t;
}

template <class T>
T bce_element(T p, T t) {
  return -(t * std::max(std::log(p), T(-100)) + (1 - t) * std::max(std::log(1 - p), T(-100)));
}

template <class T>
T bce_element_grad(T p, T t) {
  return (p - t) / std::max(p * (1 - p), T(1e-12));
}

// The weight of element (i, j) of a binary loss, broadcast as its setter says: along the class axis
// (the columns for Layout::SamplesInRows), the sample axis, or one per element.
template <class T, class Options>
T element_weight(const Options& opts, Eigen::Index i, Eigen::Index j) {
  const bool rows = opts.layout() == Layout::SamplesInRows;
  switch (opts.weight_kind()) {
    case WeightKind::PerClass:
      return static_cast<T>(opts.weight()(rows ? j : i));
    case WeightKind::PerSample:
      return static_cast<T>(opts.weight()(rows ? i : j));
    case WeightKind::Elementwise:
      return static_cast<T>(opts.weight()(i, j));
    case WeightKind::None:
      break;
  }
  return T(1);
}

template <class Options>
constexpr bool is_with_logits = std::is_same<Options, BCEWithLogitsLossOptions>::value;

// The pos_weight of element (i, j): along the class axis, 1 unless set.
template <class T, class Options>
T element_pos_weight(const Options& opts, Eigen::Index i, Eigen::Index j) {
  if constexpr (is_with_logits<Options>) {
    if (opts.has_pos_weight()) {
      return static_cast<T>(opts.pos_weight()(opts.layout() == Layout::SamplesInRows ? j : i));
    }
  }
  return T(1);
}

// Visits the elements of a binary loss in T, with their weights, after xent's argument checks.
template <class T, class X, class Y, class Options, class F>
void binary_elements(const char* fn, const Eigen::MatrixBase<X>& x, const Eigen::DenseBase<Y>& t,
                     const Options& opts, F&& f) {
  xent::detail::check_same_shape(fn, "targets", t, x.rows(), x.cols(), "input");
  xent::detail::check_binary_values(fn, x.derived(), t.derived(), opts);
  xent::detail::check_binary_weights(fn, opts, x.rows(), x.cols());
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    for (Eigen::Index j = 0; j < x.cols(); ++j) {
      f(i, j, static_cast<T>(x(i, j)), static_cast<T>(t.derived()(i, j)),
        element_weight<T>(opts, i, j), element_pos_weight<T>(opts, i, j));
    }
  }
}

template <class Options>
bool has_pos_weight(const Options& opts) {
  if constexpr (is_with_logits<Options>) {
    return opts.has_pos_weight();
  } else {
    return false;
  }
}

template <class T, class X, class Y, class Options>
Matrix<T> binary_per_element(const char* fn, const Eigen::MatrixBase<X>& x,
                             const Eigen::DenseBase<Y>& t, const Options& opts) {
  Matrix<T> loss(x.rows(), x.cols());
  binary_elements<T>(fn, x, t, opts, [&](Eigen::Index i, Eigen::Index j, T xi, T ti, T w, T p) {
    if constexpr (is_with_logits<Options>) {
      loss(i, j) = w * bce_with_logits_element(xi, ti, p, has_pos_weight(opts));
    } else {
      loss(i, j) = w * bce_element(xi, ti);
    }
  });
  return loss;
}

template <class T, class X, class Y, class Options, class G>
Matrix<T> binary_backward(const char* fn, const Eigen::MatrixBase<X>& x,
                          const Eigen::DenseBase<Y>& t, const Options& opts, const G& scale) {
  Matrix<T> grad(x.rows(), x.cols());
  binary_elements<T>(fn, x, t, opts, [&](Eigen::Index i, Eigen::Index j, T xi, T ti, T w, T p) {
    if constexpr (is_with_logits<Options>) {
      grad(i, j) = scale(i, j) * w * bce_with_logits_element_grad(xi, ti, p);
    } else {
      grad(i, j) = scale(i, j) * w * bce_element_grad(xi, ti);
    }
  });
  return grad;
}

template <class T>
T reduce(const Matrix<T>& losses, Reduction reduction, T denominator) {
  const T sum = losses.sum();
  return reduction == Reduction::Sum ? sum : sum / denominator;
}

}  // namespace detail

// ---- softmax family ----------------------------------------------------------------------------

/// log_softmax in T: x - max - log(sum exp(x - max)) per sample (see xent::log_softmax).
template <class T = void, class X>
Matrix<detail::ComputeType<T, X>> log_softmax(const Eigen::MatrixBase<X>& x,
                                              Layout layout = Layout::SamplesInRows) {
  using R = detail::ComputeType<T, X>;
  return detail::in_layout<R>(detail::log_softmax_rows(detail::samples_in_rows<R>(x, layout)),
                              layout);
}

/// softmax in T, as exp(reference::log_softmax) (see xent::softmax).
template <class T = void, class X>
Matrix<detail::ComputeType<T, X>> softmax(const Eigen::MatrixBase<X>& x,
                                          Layout layout = Layout::SamplesInRows) {
  using R = detail::ComputeType<T, X>;
  return log_softmax<T>(x, layout).unaryExpr([](R v) { return std::exp(v); });
}

// torch.logsumexp: the shift is the max, or 0 when the max is infinite (so all -inf gives -inf).
/// logsumexp in T, as torch.logsumexp: the shift is the max, or 0 when the max is infinite (so all
/// -inf gives -inf; see xent::logsumexp).
template <class T = void, class X>
Vector<detail::ComputeType<T, X>> logsumexp(const Eigen::MatrixBase<X>& x,
                                            Layout layout = Layout::SamplesInRows) {
  using R = detail::ComputeType<T, X>;
  const Matrix<R> rows = detail::samples_in_rows<R>(x, layout);
  Vector<R> out(rows.rows());
  // No classes: log of an empty sum (row(n) of an empty matrix is UB in Eigen).
  if (rows.cols() == 0) {
    return Vector<R>::Constant(rows.rows(), -std::numeric_limits<R>::infinity());
  }
  for (Eigen::Index n = 0; n < rows.rows(); ++n) {
    R m = detail::max_with_nan<R>(rows.row(n).transpose());
    if (std::isinf(m)) m = 0;
    R s = 0;
    for (Eigen::Index c = 0; c < rows.cols(); ++c) s += std::exp(rows(n, c) - m);
    out(n) = m + std::log(s);
  }
  return out;
}

/// log_softmax's gradient in T from its output: g - exp(y) * sum(g) per sample (see
/// xent::log_softmax_backward).
template <class T = void, class G, class Y>
Matrix<detail::ComputeType<T, Y>> log_softmax_backward(const Eigen::MatrixBase<G>& grad_output,
                                                       const Eigen::MatrixBase<Y>& output,
                                                       Layout layout = Layout::SamplesInRows) {
  using R = detail::ComputeType<T, Y>;
  return detail::in_layout<R>(
      detail::log_softmax_backward_rows<R>(detail::samples_in_rows<R>(grad_output, layout),
                                           detail::samples_in_rows<R>(output, layout)),
      layout);
}

/// softmax's gradient in T from its output: y * (g - sum(g * y)) per sample (see
/// xent::softmax_backward).
template <class T = void, class G, class Y>
Matrix<detail::ComputeType<T, Y>> softmax_backward(const Eigen::MatrixBase<G>& grad_output,
                                                   const Eigen::MatrixBase<Y>& output,
                                                   Layout layout = Layout::SamplesInRows) {
  using R = detail::ComputeType<T, Y>;
  const Matrix<R> g = detail::samples_in_rows<R>(grad_output, layout);
  const Matrix<R> y = detail::samples_in_rows<R>(output, layout);
  Matrix<R> out(g.rows(), g.cols());
  for (Eigen::Index n = 0; n < g.rows(); ++n) {
    R dot = 0;
    for (Eigen::Index c = 0; c < g.cols(); ++c) dot += g(n, c) * y(n, c);
    for (Eigen::Index c = 0; c < g.cols(); ++c) out(n, c) = y(n, c) * (g(n, c) - dot);
  }
  return detail::in_layout<R>(out, layout);
}

// ---- cross-entropy -----------------------------------------------------------------------------

/// The per-sample cross-entropy in T: log_softmax, then the gather of each target (index targets)
/// or the weighted sum over the smoothed target distribution (probability targets). See
/// xent::cross_entropy_per_sample.
template <class T = void, class X, class Y>
Vector<detail::ComputeType<T, X>> cross_entropy_per_sample(const Eigen::MatrixBase<X>& x,
                                                           const Eigen::DenseBase<Y>& y,
                                                           const CrossEntropyOptions& opts = {}) {
  detail::ComputeType<T, X> denominator;
  return detail::ce_per_sample_rows(x, y, opts, "reference::cross_entropy_per_sample", denominator);
}

/// The reduced cross-entropy in T (see xent::cross_entropy).
template <class T = void, class X, class Y>
detail::ComputeType<T, X> cross_entropy(const Eigen::MatrixBase<X>& x, const Eigen::DenseBase<Y>& y,
                                        const CrossEntropyOptions& opts = {}) {
  detail::ComputeType<T, X> denominator;
  const auto losses =
      detail::ce_per_sample_rows(x, y, opts, "reference::cross_entropy", denominator);
  return detail::reduce<detail::ComputeType<T, X>>(losses, opts.reduction(), denominator);
}

/// The cross-entropy's gradient in T, by the chain rule through log_softmax (see
/// xent::cross_entropy_backward).
template <class T = void, class X, class Y>
Matrix<detail::ComputeType<T, X>> cross_entropy_backward(
    const Eigen::MatrixBase<X>& x, const Eigen::DenseBase<Y>& y,
    const CrossEntropyOptions& opts = {}, detail::ComputeType<T, X> grad_output = 1) {
  using R = detail::ComputeType<T, X>;
  const R denominator =
      detail::checked_denominator<R>("reference::cross_entropy_backward", x, y, opts);
  const R scale = opts.reduction() == Reduction::Sum ? grad_output : grad_output / denominator;
  const Eigen::Index samples = xent::detail::samples_of(x.rows(), x.cols(), opts.layout());
  return detail::in_layout<R>(
      detail::ce_backward_rows<R>(x, y, opts, Vector<R>::Constant(samples, scale)), opts.layout());
}

/// The gradient of sum_n grad_outputs(n) * loss_n in T (see
/// xent::cross_entropy_per_sample_backward).
template <class T = void, class X, class Y, class G>
Matrix<detail::ComputeType<T, X>> cross_entropy_per_sample_backward(
    const Eigen::MatrixBase<X>& x, const Eigen::DenseBase<Y>& y,
    const Eigen::MatrixBase<G>& grad_outputs, const CrossEntropyOptions& opts = {}) {
  using R = detail::ComputeType<T, X>;
  xent::detail::check_class_loss("reference::cross_entropy_per_sample_backward", x, y, opts);
  const Vector<R> scale = grad_outputs.derived().reshaped().template cast<R>();
  return detail::in_layout<R>(detail::ce_backward_rows<R>(x, y, opts, scale), opts.layout());
}

// ---- nll_loss ----------------------------------------------------------------------------------

/// The per-sample NLL loss in T: -w_y x(n, y), 0 for ignored samples (see
/// xent::nll_loss_per_sample).
template <class T = void, class X, class Y>
Vector<detail::ComputeType<T, X>> nll_loss_per_sample(const Eigen::MatrixBase<X>& x,
                                                      const Eigen::DenseBase<Y>& y,
                                                      const NLLLossOptions& opts = {}) {
  detail::ComputeType<T, X> denominator;
  return detail::nll_per_sample_rows(x, y, opts, "reference::nll_loss_per_sample", denominator);
}

/// The reduced NLL loss in T (see xent::nll_loss).
template <class T = void, class X, class Y>
detail::ComputeType<T, X> nll_loss(const Eigen::MatrixBase<X>& x, const Eigen::DenseBase<Y>& y,
                                   const NLLLossOptions& opts = {}) {
  detail::ComputeType<T, X> denominator;
  const auto losses = detail::nll_per_sample_rows(x, y, opts, "reference::nll_loss", denominator);
  return detail::reduce<detail::ComputeType<T, X>>(losses, opts.reduction(), denominator);
}

/// The NLL loss's gradient in T (see xent::nll_loss_backward).
template <class T = void, class X, class Y>
Matrix<detail::ComputeType<T, X>> nll_loss_backward(const Eigen::MatrixBase<X>& x,
                                                    const Eigen::DenseBase<Y>& y,
                                                    const NLLLossOptions& opts = {},
                                                    detail::ComputeType<T, X> grad_output = 1) {
  using R = detail::ComputeType<T, X>;
  const R denominator = detail::checked_denominator<R>("reference::nll_loss_backward", x, y, opts);
  const R scale = opts.reduction() == Reduction::Sum ? grad_output : grad_output / denominator;
  const Eigen::Index samples = xent::detail::samples_of(x.rows(), x.cols(), opts.layout());
  return detail::in_layout<R>(
      detail::nll_backward_rows<R>(x, y, opts, Vector<R>::Constant(samples, scale)), opts.layout());
}

/// The gradient of sum_n grad_outputs(n) * loss_n in T (see xent::nll_loss_per_sample_backward).
template <class T = void, class X, class Y, class G>
Matrix<detail::ComputeType<T, X>> nll_loss_per_sample_backward(
    const Eigen::MatrixBase<X>& x, const Eigen::DenseBase<Y>& y,
    const Eigen::MatrixBase<G>& grad_outputs, const NLLLossOptions& opts = {}) {
  using R = detail::ComputeType<T, X>;
  xent::detail::check_class_loss("reference::nll_loss_per_sample_backward", x, y, opts);
  const Vector<R> scale = grad_outputs.derived().reshaped().template cast<R>();
  return detail::in_layout<R>(detail::nll_backward_rows<R>(x, y, opts, scale), opts.layout());
}

// ---- binary cross-entropy, on logits and on probabilities ---------------------------------------

/// BCE-with-logits' element losses in T, as max(x, 0) - x t + log1p(exp(-|x|)) plus the
/// pos_weight term, and the mathematical limit at x = +-inf (see
/// xent::binary_cross_entropy_with_logits_per_sample).
template <class T = void, class X, class Y>
Matrix<detail::ComputeType<T, X>> binary_cross_entropy_with_logits_per_sample(
    const Eigen::MatrixBase<X>& x, const Eigen::DenseBase<Y>& t,
    const BCEWithLogitsLossOptions& opts = {}) {
  return detail::binary_per_element<detail::ComputeType<T, X>>(
      "reference::binary_cross_entropy_with_logits", x, t, opts);
}

/// The reduced BCE with logits in T (see xent::binary_cross_entropy_with_logits).
template <class T = void, class X, class Y>
detail::ComputeType<T, X> binary_cross_entropy_with_logits(
    const Eigen::MatrixBase<X>& x, const Eigen::DenseBase<Y>& t,
    const BCEWithLogitsLossOptions& opts = {}) {
  using R = detail::ComputeType<T, X>;
  return detail::reduce<R>(binary_cross_entropy_with_logits_per_sample<R>(x, t, opts),
                           opts.reduction(), static_cast<R>(x.size()));
}

/// BCE-with-logits' gradient in T: w ((P t + 1 - t) sigmoid(x) - P t), scaled by the reduction
/// (see xent::binary_cross_entropy_with_logits_backward).
template <class T = void, class X, class Y>
Matrix<detail::ComputeType<T, X>> binary_cross_entropy_with_logits_backward(
    const Eigen::MatrixBase<X>& x, const Eigen::DenseBase<Y>& t,
    const BCEWithLogitsLossOptions& opts = {}, detail::ComputeType<T, X> grad_output = 1) {
  using R = detail::ComputeType<T, X>;
  const R scale =
      opts.reduction() == Reduction::Sum ? grad_output : grad_output / static_cast<R>(x.size());
  return detail::binary_backward<R>("reference::binary_cross_entropy_with_logits_backward", x, t,
                                    opts, [&](Eigen::Index, Eigen::Index) { return scale; });
}

/// The gradient of sum grad_outputs * (the element losses) in T (see
/// xent::binary_cross_entropy_with_logits_per_sample_backward).
template <class T = void, class X, class Y, class G>
Matrix<detail::ComputeType<T, X>> binary_cross_entropy_with_logits_per_sample_backward(
    const Eigen::MatrixBase<X>& x, const Eigen::DenseBase<Y>& t,
    const Eigen::MatrixBase<G>& grad_outputs, const BCEWithLogitsLossOptions& opts = {}) {
  using R = detail::ComputeType<T, X>;
  return detail::binary_backward<R>(
      "reference::binary_cross_entropy_with_logits_per_sample_backward", x, t, opts,
      [&](Eigen::Index i, Eigen::Index j) { return static_cast<R>(grad_outputs(i, j)); });
}

/// BCE's element losses in T: -w [t max(log p, -100) + (1 - t) max(log(1 - p), -100)] (see
/// xent::binary_cross_entropy_per_sample).
template <class T = void, class X, class Y>
Matrix<detail::ComputeType<T, X>> binary_cross_entropy_per_sample(const Eigen::MatrixBase<X>& p,
                                                                  const Eigen::DenseBase<Y>& t,
                                                                  const BCELossOptions& opts = {}) {
  return detail::binary_per_element<detail::ComputeType<T, X>>("reference::binary_cross_entropy", p,
                                                               t, opts);
}

/// The reduced BCE in T (see xent::binary_cross_entropy).
template <class T = void, class X, class Y>
detail::ComputeType<T, X> binary_cross_entropy(const Eigen::MatrixBase<X>& p,
                                               const Eigen::DenseBase<Y>& t,
                                               const BCELossOptions& opts = {}) {
  using R = detail::ComputeType<T, X>;
  return detail::reduce<R>(binary_cross_entropy_per_sample<R>(p, t, opts), opts.reduction(),
                           static_cast<R>(p.size()));
}

/// BCE's gradient in T: w (p - t) / max(p (1 - p), 1e-12), scaled by the reduction (see
/// xent::binary_cross_entropy_backward).
template <class T = void, class X, class Y>
Matrix<detail::ComputeType<T, X>> binary_cross_entropy_backward(
    const Eigen::MatrixBase<X>& p, const Eigen::DenseBase<Y>& t, const BCELossOptions& opts = {},
    detail::ComputeType<T, X> grad_output = 1) {
  using R = detail::ComputeType<T, X>;
  const R scale =
      opts.reduction() == Reduction::Sum ? grad_output : grad_output / static_cast<R>(p.size());
  return detail::binary_backward<R>("reference::binary_cross_entropy_backward", p, t, opts,
                                    [&](Eigen::Index, Eigen::Index) { return scale; });
}

/// The gradient of sum grad_outputs * (the element losses) in T (see
/// xent::binary_cross_entropy_per_sample_backward).
template <class T = void, class X, class Y, class G>
Matrix<detail::ComputeType<T, X>> binary_cross_entropy_per_sample_backward(
    const Eigen::MatrixBase<X>& p, const Eigen::DenseBase<Y>& t,
    const Eigen::MatrixBase<G>& grad_outputs, const BCELossOptions& opts = {}) {
  using R = detail::ComputeType<T, X>;
  return detail::binary_backward<R>(
      "reference::binary_cross_entropy_per_sample_backward", p, t, opts,
      [&](Eigen::Index i, Eigen::Index j) { return static_cast<R>(grad_outputs(i, j)); });
}

}  // namespace reference
}  // namespace XENT_SIMD_ISA_NAMESPACE
}  // namespace xent
