// The accuracy study of xent (issue 5): its deterministic cells, their inputs, an accurate
// long-double truth, the error measure and the C++ contenders. Shared by tools/accuracy/accuracy.cpp
// (which also measures PyTorch's outputs) and tests/test_accuracy.cpp (which pins the bounds).
//
// Error measure: a value's error is |computed - truth| / ulp(truth), where truth is the long-double
// value and ulp(v) is the spacing of floats at the correctly rounded float of v: 2^(e - 23) for a
// rounded value in [2^e, 2^(e+1)), and the subnormal spacing 2^-149 below FLT_MIN (so a tiny value
// is judged by float's absolute resolution there, and a true 0 or a value that underflows to 0 in
// float costs nothing when computed as 0 or as the nearest subnormal). A correctly rounded result
// is within 0.5 ulp. An infinite or NaN truth counts as error 0 when computed exactly (the same
// infinity, or NaN); a non-finite result for a finite truth, or a finite one for a non-finite truth,
// is "non-finite": counted apart, and it makes the cell's max error infinite.
//
// The truth: per row m = max, rest = sum over every class but one argmax of exp(x_c - m), and
// log(sum exp(x - m)) = log1p(rest), all in long double; then log_softmax_c = (x_c - m) - log1p(rest),
// softmax_c = exp(x_c - m) / (1 + rest), CE = (m - x_y) + log1p(rest) (smoothing: the mix of those),
// and the gradient's target entry -rest / (1 + rest) (+ eps (1 - 1/C)) when the target is the
// argmax. xent::reference<long double> computes 1 - p_y and log(1 + rest) by rounding 1 + rest
// first: as p_y -> 1 (rest ~ 1e-20 in the confident cells) that loses every digit of 1 - p_y even
// in long double, so it is not the truth there (the study lists it as a contender to show it).
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <xent/reference.hpp>
#include <xent/xent.hpp>

namespace xacc {

using Eigen::Index;
using LD = long double;
using RowMatF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowMatLD = Eigen::Matrix<LD, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using VecF = Eigen::VectorXf;
using VecLD = Eigen::Matrix<LD, Eigen::Dynamic, 1>;
using VecI = Eigen::VectorXi;

// splitmix64: the same numbers with every standard library.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  double normal() {                                                            // Box-Muller
    const double u = 1.0 - uniform();
    return std::sqrt(-2.0 * std::log(u)) * std::cos(6.283185307179586 * uniform());
  }
  Index below(Index n) { return static_cast<Index>(next() % static_cast<std::uint64_t>(n)); }

 private:
  std::uint64_t state_;
};

// random: logits scale * N(0, 1). confident: the same, then the target's logit set to the row's max
// + log C + U(5, 60), so 1 - p_y spans ~1e-2 to 1e-26. masked: random, each non-target class -inf
// with probability 1/4. smoothing: random, label_smoothing 0.1 (cross-entropy only).
enum class Kind { Random, Confident, Masked, Smoothing };
inline const char* kind_name(Kind k) {
  switch (k) {
    case Kind::Random: return "random";
    case Kind::Confident: return "confident";
    case Kind::Masked: return "masked";
    default: return "smoothing";
  }
}

struct Cell {
  int id;
  Index classes, samples;
  double scale;
  Kind kind;
};

inline const std::vector<Index>& class_counts() {
  static const std::vector<Index> c{2, 10, 1000, 32768, 262144};
  return c;
}
inline Index samples_for(Index classes) {  // N * C stays at most 2^19
  return std::max<Index>(2, std::min<Index>(4096, (Index(1) << 19) / classes));
}

// Every cell, in a fixed order (ids are positions): the grid, then smoothing at scale 1e30 (ids
// 80-84), where label smoothing's sum_c (x_c - m) adds C terms of ~1e30 (an outside check found it
// summed plainly: 66 ulp on one such row).
inline std::vector<Cell> all_cells() {
  std::vector<Cell> cells;
  for (Index c : class_counts())
    for (double s : {1e-3, 1.0, 30.0, 1e4})
      for (Kind k : {Kind::Random, Kind::Confident, Kind::Masked, Kind::Smoothing})
        cells.push_back(Cell{static_cast<int>(cells.size()), c, samples_for(c), s, k});
  for (Index c : class_counts())
    cells.push_back(Cell{static_cast<int>(cells.size()), c, samples_for(c), 1e30, Kind::Smoothing});
  return cells;
}

struct Inputs {
  RowMatF x;      // N x C logits
  VecI y;         // N class indices
  RowMatF onehot; // N x C: y as probability targets
  RowMatF t;      // N x C BCE-with-logits targets (the same logits read element-wise)
  float eps = 0;  // label smoothing
};

inline Inputs make_inputs(const Cell& cell) {
  Rng rng(static_cast<std::uint64_t>(cell.id) * 7919u + 17u);
  const Index n = cell.samples, c = cell.classes;
  Inputs in;
  in.x.resize(n, c);
  in.y.resize(n);
  in.t.resize(n, c);
  in.onehot = RowMatF::Zero(n, c);
  in.eps = cell.kind == Kind::Smoothing ? 0.1f : 0.0f;
  const float inf = std::numeric_limits<float>::infinity();
  for (Index i = 0; i < n; ++i) {
    in.y(i) = static_cast<int>(rng.below(c));
    in.onehot(i, in.y(i)) = 1;
    for (Index j = 0; j < c; ++j) in.x(i, j) = static_cast<float>(cell.scale * rng.normal());
    if (cell.kind == Kind::Confident) {
      const float m = in.x.row(i).maxCoeff();
      const double gap = std::log(static_cast<double>(c)) + 5.0 + 55.0 * rng.uniform();
      in.x(i, in.y(i)) = static_cast<float>(static_cast<double>(m) + gap);
    }
    for (Index j = 0; j < c; ++j) {
      if (cell.kind == Kind::Masked && j != in.y(i) && rng.below(4) == 0) in.x(i, j) = -inf;
      // BCE targets: confident rows hold the hard label the logit predicts (tiny losses and
      // gradients), masked entries (-inf) t = 0 (limit 0), the rest U[0, 1).
      if (cell.kind == Kind::Confident) {
        in.t(i, j) = in.x(i, j) > 0 ? 1.0f : 0.0f;
      } else if (in.x(i, j) == -inf) {
        in.t(i, j) = 0.0f;
      } else {
        in.t(i, j) = static_cast<float>(rng.uniform());
      }
    }
  }
  return in;
}

// ---- the functions measured, and every contender's results -------------------------------------
// CEProb: the per-sample cross-entropy with y given as one-hot probability targets (the same value
// as CE; a separate code path), measured on the smoothing cells.
enum Function { CE, CEGrad, CEGradTarget, LogSoftmax, Softmax, BCE, BCEGrad, CEProb, kFunctions };
inline const char* function_name(int f) {
  static const char* names[] = {"ce",  "ce_grad",  "ce_grad_target", "log_softmax",
                                "softmax", "bce", "bce_grad", "ce_prob"};
  return names[f];
}
// A smoothing cell differs from its random twin only in the cross-entropy.
inline bool measured(const Cell& cell, int f) {
  if (f == CEProb) return cell.kind == Kind::Smoothing;
  return cell.kind != Kind::Smoothing || f == CE || f == CEGrad || f == CEGradTarget;
}

template <class S>
struct Results {
  Eigen::Matrix<S, Eigen::Dynamic, 1> ce, ce_prob;  // per-sample cross-entropy, both target kinds
  Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> grad, lsm, sm, bce, bce_grad;
};

inline xent::CrossEntropyOptions ce_options(const Inputs& in) {
  return xent::CrossEntropyOptions().label_smoothing(in.eps);
}

// xent, float, the public API: per-sample CE, the fused forward+backward of the summed loss.
inline Results<float> run_xent(const Inputs& in) {
  Results<float> r;
  r.ce = xent::cross_entropy_per_sample(in.x, in.y, ce_options(in));
  r.ce_prob = xent::cross_entropy_per_sample(in.x, in.onehot, ce_options(in));
  r.grad.resize(in.x.rows(), in.x.cols());
  xent::cross_entropy_forward_backward(in.x, in.y, r.grad,
                                       ce_options(in).reduction(xent::Reduction::Sum));
  r.lsm = xent::log_softmax(in.x);
  r.sm = xent::softmax(in.x);
  r.bce = xent::binary_cross_entropy_with_logits_per_sample(in.x, in.t);
  r.bce_grad = xent::binary_cross_entropy_with_logits_backward(
      in.x, in.t, xent::BCEWithLogitsLossOptions().reduction(xent::Reduction::Sum));
  return r;
}

// xent::reference<T> on the float inputs.
template <class T>
Results<T> run_reference(const Inputs& in) {
  namespace ref = xent::reference;
  Results<T> r;
  r.ce = ref::cross_entropy_per_sample<T>(in.x, in.y, ce_options(in));
  r.ce_prob = ref::cross_entropy_per_sample<T>(in.x, in.onehot, ce_options(in));
  r.grad = ref::cross_entropy_backward<T>(in.x, in.y, ce_options(in).reduction(xent::Reduction::Sum));
  r.lsm = ref::log_softmax<T>(in.x);
  r.sm = ref::softmax<T>(in.x);
  r.bce = ref::binary_cross_entropy_with_logits_per_sample<T>(in.x, in.t);
  r.bce_grad = ref::binary_cross_entropy_with_logits_backward<T>(
      in.x, in.t, xent::BCEWithLogitsLossOptions().reduction(xent::Reduction::Sum));
  return r;
}

// The textbook Eigen expressions, no max shift: lse = log(sum exp x); BCE as
// -(t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))). Overflow gives inf/NaN: counted, not fatal.
inline Results<float> run_naive(const Inputs& in) {
  Results<float> r;
  const Index n = in.x.rows(), c = in.x.cols();
  const RowMatF e = in.x.array().exp().matrix();
  const VecF s = e.rowwise().sum();
  const VecF lse = s.array().log().matrix();
  r.lsm = (in.x.array().colwise() - lse.array()).matrix();
  r.sm = (e.array().colwise() / s.array()).matrix();
  r.ce.resize(n);
  r.grad = r.sm;
  const float cf = static_cast<float>(c);
  for (Index i = 0; i < n; ++i) {
    const Index y = in.y(i);
    r.ce(i) = lse(i) - (1 - in.eps) * in.x(i, y);
    if (in.eps > 0) r.ce(i) -= in.eps / cf * in.x.row(i).sum();
    r.grad.row(i).array() -= in.eps / cf;
    r.grad(i, y) -= 1 - in.eps;
  }
  r.ce_prob = r.ce;  // the same expression for one-hot targets
  const RowMatF sig = (1.0f / (1.0f + (-in.x.array()).exp())).matrix();
  r.bce = (-(in.t.array() * sig.array().log() +
             (1.0f - in.t.array()) * (1.0f - sig.array()).log()))
              .matrix();
  r.bce_grad = (sig - in.t);
  return r;
}

// ---- the truth ---------------------------------------------------------------------------------
inline LD softplus(LD z) {  // log(1 + e^z), accurate everywhere
  if (std::isinf(z)) return z > 0 ? z : 0;
  return std::max(z, LD(0)) + std::log1p(std::exp(-std::fabs(z)));
}

inline Results<LD> truth(const Inputs& in) {
  const Index n = in.x.rows(), c = in.x.cols();
  const LD eps = in.eps, cl = static_cast<LD>(c);
  const LD inf = std::numeric_limits<LD>::infinity();
  Results<LD> r;
  r.ce.resize(n);
  r.grad.resize(n, c);
  r.lsm.resize(n, c);
  r.sm.resize(n, c);
  for (Index i = 0; i < n; ++i) {
    Index am = 0;
    for (Index j = 1; j < c; ++j)
      if (in.x(i, j) > in.x(i, am)) am = j;
    const LD m = in.x(i, am);
    LD rest = 0;
    for (Index j = 0; j < c; ++j)
      if (j != am) rest += std::exp(static_cast<LD>(in.x(i, j)) - m);
    const LD log_sum = std::log1p(rest);
    LD smooth = 0;  // sum_c -log p_c
    for (Index j = 0; j < c; ++j) {
      const LD d = static_cast<LD>(in.x(i, j)) - m;
      r.lsm(i, j) = std::isinf(d) ? -inf : d - log_sum;
      r.sm(i, j) = std::exp(d) / (1 + rest);
      smooth -= r.lsm(i, j);
      r.grad(i, j) = r.sm(i, j) - eps / cl;
    }
    const Index y = in.y(i);
    r.ce(i) = (1 - eps) * (m - static_cast<LD>(in.x(i, y)) + log_sum);
    if (eps > 0) r.ce(i) += eps / cl * smooth;
    r.grad(i, y) = y == am ? -rest / (1 + rest) + eps * (1 - 1 / cl) : r.sm(i, y) - (1 - eps) - eps / cl;
  }
  r.ce_prob = r.ce;  // one-hot targets: the same loss
  r.bce.resize(n, c);
  r.bce_grad.resize(n, c);
  for (Index i = 0; i < n; ++i) {
    for (Index j = 0; j < c; ++j) {
      const LD x = in.x(i, j), t = in.t(i, j);
      r.bce(i, j) = (t == 1 ? 0 : (1 - t) * softplus(x)) + (t == 0 ? 0 : t * softplus(-x));
      const LD sig = 1 / (1 + std::exp(-x)), sig_neg = 1 / (1 + std::exp(x));
      r.bce_grad(i, j) = (1 - t) * sig - t * sig_neg;  // sigmoid(x) - t without cancelling
    }
  }
  return r;
}

// ---- the error measure -------------------------------------------------------------------------
inline double ulp_of(LD truth_value) {
  const float rounded = static_cast<float>(truth_value);
  const double a = std::fabs(static_cast<double>(rounded));
  if (std::isinf(a)) return std::ldexp(1.0, 104);
  if (a < static_cast<double>(std::numeric_limits<float>::min())) return std::ldexp(1.0, -149);
  int e = 0;
  std::frexp(a, &e);  // a = f 2^e, f in [0.5, 1)
  return std::ldexp(1.0, e - 24);
}

struct Stats {
  Index count = 0, nonfinite = 0;
  double max = 0, sum = 0;
  double mean() const { return count > nonfinite ? sum / static_cast<double>(count - nonfinite) : 0; }
  double max_or_inf() const { return nonfinite ? std::numeric_limits<double>::infinity() : max; }
  void add(LD truth_value, LD computed) {
    ++count;
    const bool tf = std::isfinite(truth_value), cf = std::isfinite(computed);
    if (!tf || !cf) {
      const bool same = (std::isnan(truth_value) && std::isnan(computed)) || truth_value == computed;
      if (!same) ++nonfinite;
      return;
    }
    const double err = static_cast<double>(std::fabs(computed - truth_value)) / ulp_of(truth_value);
    max = std::max(max, err);
    sum += err;
  }
};

// The errors of one contender's results in one cell, per function (unmeasured ones stay empty).
template <class S>
std::vector<Stats> measure(const Cell& cell, const Inputs& in, const Results<S>& got,
                           const Results<LD>& want) {
  std::vector<Stats> st(kFunctions);
  auto all = [](Stats& s, const auto& w, const auto& g) {
    for (Index i = 0; i < w.rows(); ++i)
      for (Index j = 0; j < w.cols(); ++j) s.add(w(i, j), static_cast<LD>(g(i, j)));
  };
  if (measured(cell, CE)) all(st[CE], want.ce, got.ce);
  if (measured(cell, CEProb)) all(st[CEProb], want.ce, got.ce_prob);
  all(st[CEGrad], want.grad, got.grad);
  for (Index i = 0; i < in.y.size(); ++i)
    st[CEGradTarget].add(want.grad(i, in.y(i)), static_cast<LD>(got.grad(i, in.y(i))));
  if (measured(cell, LogSoftmax)) all(st[LogSoftmax], want.lsm, got.lsm);
  if (measured(cell, Softmax)) all(st[Softmax], want.sm, got.sm);
  if (measured(cell, BCE)) all(st[BCE], want.bce, got.bce);
  if (measured(cell, BCEGrad)) all(st[BCEGrad], want.bce_grad, got.bce_grad);
  return st;
}

inline std::string cell_label(const Cell& cell) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "C=%ld N=%ld scale=%g %s", static_cast<long>(cell.classes),
                static_cast<long>(cell.samples), cell.scale, kind_name(cell.kind));
  return buf;
}

}  // namespace xacc
