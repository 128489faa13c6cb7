// xent internals: the per-sample closed forms of cross-entropy with class-index targets, from a
// sample's softmax statistics: its loss and its gradient's target entry, shared by the per-row
// path (cross_entropy.hpp, PendingLosses) and the lane kernels. Float samples are finished in
// double: a handful of operations per sample, against the C exps of its row.

#include <Eigen/Core>
#include <algorithm>
#include <limits>

#include "simd/math.hpp"
#include "simd/vec.hpp"

// Included once per pass (simd/tier.hpp): the flags' tier, then each target region's.
#if (XENT_SIMD_PASS == 0 && !defined(XENT_SAMPLE_LOSS_PASS0)) || \
    (XENT_SIMD_PASS == 1 && !defined(XENT_SAMPLE_LOSS_PASS1))
#if XENT_SIMD_PASS == 0
#define XENT_SAMPLE_LOSS_PASS0
#else
#define XENT_SAMPLE_LOSS_PASS1
#endif

namespace xent {
namespace detail {
XENT_SIMD_NAMESPACE_INLINE namespace XENT_SIMD_ISA_NAMESPACE {
namespace simd {

template <class T>
struct SampleLossSmoothing {
  bool on;
  T eps, eps_per_class, weight_sum;
};

// The loss of samples whose row has max m, target logit x_y and target weight w_y, with
// target_exp = exp(x_y - m) and others = sum_{c != y} exp(x_c - m):
//   -log p_y = log(sum) - (x_y - m),   log(sum) = log1p((target_exp - 1) + others),
// times w_y; with label smoothing (1 - eps) w_y (-log p_y) + (eps / C) (W log(sum) - shifted),
// shifted = sum_c w_c (x_c - m). One log1p gives both forms PyTorch's limit needs: a target holding
// the max has target_exp - 1 = 0 and so -log p_y = log1p(others) with full precision as p_y -> 1;
// elsewhere the loss is at least ln 2 and the sum's roundings are far below its ulp. A +inf max
// leaves the NaN of inf - inf, as PyTorch.
//
// Float samples are finished in double (two double packets per float packet): the float form's
// three roundings (log, x_y - m, the subtraction) left its mean error at 0.36 ulp against PyTorch's
// 0.35 (C = 10, scale 1e-3, the accuracy study); in double only the final rounding and the sum's
// own error remain (mean 0.27). Cost, measured side by side (tools/accuracy/misses.md): the
// forward within +-1.6 %, the fused forward + backward 4-10 % at C <= 257, +-2 % from C = 1000.
template <class T>
XENT_SIMD_INLINE Vec<T> sample_losses_in(Vec<T> m, Vec<T> others, Vec<T> target_exp, Vec<T> x_y,
                                         Vec<T> w_y, Vec<T> shifted,
                                         const SampleLossSmoothing<T>& s) {
  using V = Vec<T>;
  const V one = V::set1(T(1));
  const V log_sum = log1p((target_exp - one) + others);
  V v = w_y * (log_sum - (x_y - m));
  if (s.on) {
    v = (one - V::set1(s.eps)) * v +
        V::set1(s.eps_per_class) * (V::set1(s.weight_sum) * log_sum - shifted);
  }
  return v;
}

XENT_SIMD_INLINE Vec<double> sample_losses(Vec<double> m, Vec<double> others,
                                           Vec<double> target_exp, Vec<double> x_y, Vec<double> w_y,
                                           Vec<double> shifted,
                                           const SampleLossSmoothing<double>& s) {
  return sample_losses_in(m, others, target_exp, x_y, w_y, shifted, s);
}

XENT_SIMD_OUT_OF_LINE Vec<float> sample_losses(Vec<float> m, Vec<float> others,
                                               Vec<float> target_exp, Vec<float> x_y,
                                               Vec<float> w_y, Vec<float> shifted,
                                               const SampleLossSmoothing<float>& s) {
  using D = Vec<double>;
  D m_lo, m_hi, o_lo, o_hi, e_lo, e_hi, y_lo, y_hi, w_lo, w_hi, s_lo, s_hi;
  widen(m, m_lo, m_hi);
  widen(others, o_lo, o_hi);
  widen(target_exp, e_lo, e_hi);
  widen(x_y, y_lo, y_hi);
  widen(w_y, w_lo, w_hi);
  widen(shifted, s_lo, s_hi);
  const SampleLossSmoothing<double> sd{s.on, s.eps, s.eps_per_class, s.weight_sum};
  const D lo = sample_losses_in(m_lo, o_lo, e_lo, y_lo, w_lo, s_lo, sd);
  if constexpr (Vec<float>::width == 1) return narrow(lo, lo);  // scalar tier: no hi lanes
  return narrow(lo, sample_losses_in(m_hi, o_hi, e_hi, y_hi, w_hi, s_hi, sd));
}

// The gradient's target entry, g (S p_y - q_y) with S = sum_c q_c: -g w_y (1 - p_y), or with
// label smoothing g (-(1 - eps) w_y (1 - p_y) + (eps / C) (W p_y - w_y)), where
// 1 - p_y = others / (others + target_exp): full relative precision as p_y -> 1. U is double (a
// scalar or a packet); float samples are widened first. In float, others / sum carried the
// rounding of the sum and 1 - target_exp / sum that of p_y (1.4 ulp at C >= 1000 where PyTorch is
// correctly rounded); in double neither reaches the float result.
template <class U>
XENT_SIMD_INLINE U target_gradient_in(U others, U target_exp, U w_y, U g, U one,
                                      const SampleLossSmoothing<double>& s, U eps, U eps_per_class,
                                      U weight_sum) {
  const U sum = others + target_exp;
  const U one_minus_p = others / sum;
  if (!s.on) return -(g * w_y * one_minus_p);
  return g * (-((one - eps) * w_y * one_minus_p) +
              eps_per_class * (weight_sum * (target_exp / sum) - w_y));
}

template <class T>
XENT_SIMD_INLINE T target_gradient(T others, T target_exp, T w_y, T g,
                                   const SampleLossSmoothing<T>& s) {
  const SampleLossSmoothing<double> sd{s.on, s.eps, s.eps_per_class, s.weight_sum};
  return static_cast<T>(target_gradient_in<double>(others, target_exp, w_y, g, 1.0, sd, sd.eps,
                                                   sd.eps_per_class, sd.weight_sum));
}

XENT_SIMD_INLINE Vec<double> target_gradients(Vec<double> others, Vec<double> target_exp,
                                              Vec<double> w_y, Vec<double> g,
                                              const SampleLossSmoothing<double>& s) {
  using D = Vec<double>;
  return target_gradient_in(others, target_exp, w_y, g, D::set1(1.0), s, D::set1(s.eps),
                            D::set1(s.eps_per_class), D::set1(s.weight_sum));
}

XENT_SIMD_OUT_OF_LINE Vec<float> target_gradients(Vec<float> others, Vec<float> target_exp,
                                                  Vec<float> w_y, Vec<float> g,
                                                  const SampleLossSmoothing<float>& s) {
  using D = Vec<double>;
  D o_lo, o_hi, e_lo, e_hi, w_lo, w_hi, g_lo, g_hi;
  widen(others, o_lo, o_hi);
  widen(target_exp, e_lo, e_hi);
  widen(w_y, w_lo, w_hi);
  widen(g, g_lo, g_hi);
  const SampleLossSmoothing<double> sd{s.on, s.eps, s.eps_per_class, s.weight_sum};
  const D lo = target_gradients(o_lo, e_lo, w_lo, g_lo, sd);
  if constexpr (Vec<float>::width == 1) return narrow(lo, lo);  // scalar tier: no hi lanes
  return narrow(lo, target_gradients(o_hi, e_hi, w_hi, g_hi, sd));
}

}  // namespace simd

// Cross-entropy losses of up to a packet of samples, finished together (simd::sample_losses): one
// vector log1p for a packet of samples instead of a libm call per sample (measured, float,
// AVX-512: logf was 15 % of the forward at 4096 x 200, 6 % at 4096 x 1000). flush() hands the
// values to loss(n, value) in the order the samples were added, so reductions sum in the same
// order as before.
template <class T>
class PendingLosses {
 public:
  using Smoothing = simd::SampleLossSmoothing<T>;
  // Every lane starts with benign values (log1p 0): a partial flush computes all lanes, and lanes
  // past count_ keep earlier samples' values, whose results are never used.
  explicit PendingLosses(const Smoothing& s) : s_(s) {
    for (int k = 0; k < kSize; ++k) put_at(k, 0, T(0), T(0), T(1), T(0), T(0), T(0), true);
  }

  // Sample n with row max m, others = sum_{c != y} exp(x_c - m), target_exp = exp(x_y - m), target
  // logit x_y and weight w_y, and shifted = sum_c w_c (x_c - m) (with label smoothing).
  template <class LossFn>
  void add(Eigen::Index n, T m, T others, T target_exp, T x_y, T w_y, T shifted, LossFn& loss) {
    put(n, m, others, target_exp, x_y, w_y, shifted, false);
    if (count_ == kSize) flush(loss);
  }
  // An ignored sample: its loss is exactly 0.
  template <class LossFn>
  void add_ignored(Eigen::Index n, LossFn& loss) {
    put(n, T(0), T(0), T(1), T(0), T(0), T(0), true);
    if (count_ == kSize) flush(loss);
  }

  template <class LossFn>
  void flush(LossFn& loss) {
    using V = simd::Vec<T>;
    if (count_ == 0) return;
    const V v = simd::sample_losses(V::loadu(max_), V::loadu(others_), V::loadu(target_exp_),
                                    V::loadu(x_y_), V::loadu(w_y_), V::loadu(shifted_), s_);
    alignas(64) T value[kSize];
    v.storeu(value);
    // count == count_: the bound spelled out for g++'s -Warray-bounds (scalar tier: kSize 1).
    const int count = std::min(count_, kSize);
    count_ = 0;
    for (int k = 0; k < count; ++k) loss(n_[k], ignored_[k] ? T(0) : value[k]);
  }

 private:
  static constexpr int kSize = simd::Vec<T>::width;
  void put(Eigen::Index n, T m, T others, T target_exp, T x_y, T w_y, T shifted, bool ignored) {
    put_at(count_++, n, m, others, target_exp, x_y, w_y, shifted, ignored);
  }
  void put_at(int k, Eigen::Index n, T m, T others, T target_exp, T x_y, T w_y, T shifted,
              bool ignored) {
    n_[k] = n;
    max_[k] = m;
    others_[k] = others;
    target_exp_[k] = target_exp;
    x_y_[k] = x_y;
    w_y_[k] = w_y;
    shifted_[k] = shifted;
    ignored_[k] = ignored;
  }

  Smoothing s_;
  int count_ = 0;
  Eigen::Index n_[kSize];
  T max_[kSize], others_[kSize], target_exp_[kSize], x_y_[kSize], w_y_[kSize], shifted_[kSize];
  bool ignored_[kSize];
};

}  // namespace XENT_SIMD_ISA_NAMESPACE
}  // namespace detail
}  // namespace xent

#endif  // pass guard
