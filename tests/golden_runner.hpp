// The machinery of the golden tests (test_golden*.cpp, split in three files so that the loss
// families compile in parallel): the fixture cases run through every entry point of a loss family.
//
// xent against PyTorch: every case of tests/golden/*.txt (written by tests/golden/generate.py from
// torch 1.13.1) is run through xent in the case's dtype (float32 -> float, float64 -> double), in
// several input forms and layouts, through every entry point (reduced, per-sample, backward,
// per-sample backward, forward_backward, the loss object), and through xent::reference in long
// double. Where a case is marked `xent_differs`, xent's documented value (notes/api.md, the four
// improvements) is asserted instead of PyTorch's; it is computed here, not hard-coded.
//
// Tolerances. PyTorch and xent evaluate the same formulas with different exp/log (Sleef vs libm),
// summation orders and fusions, so float results agree to a few ulp of the quantities involved, not
// bit for bit. Each element gets |got - expected| <= atol + rtol * |expected| with
//   rtol = 1e-5 (float32) / 1e-12 (float64), and
//   atol = K * eps * (the natural magnitude of the element's error), K = 8 (float32) / 64
//   (float64),
// i.e. a few ulp for each side. The magnitudes (derived in the helpers below) are:
//   log-probabilities / CE losses : (1 + max_c|x_c - max x| + log C) * sum_c |q_c|  (q = the
//   weights
//                                   the loss puts on each -log p_c); the error of x - max - logsum
//   softmax / CE gradients        : (1 + log C) * sum_c |q_c| * |upstream scale|; p_c's absolute
//                                   error is <= eps (|x_c - m| p_c + log s) ~ eps (1 + log C)
//   BCE-with-logits losses        : |w| ((1-t)|x| + L (1 + |x|)); torch 1.13 forms log(e^-m +
//   e^-x-m) + m
//                                   without log1p, so its absolute error scales with |x|
//   BCE                           : |w| (1 + the two clamped logs); gradients: rtol only
//   reductions                    : the sum of the element bounds plus rtol * sum |element|
// Non-finite expectations are exact: NaN must be NaN, +-inf must be the same infinity. Entries that
// are structurally zero in PyTorch must be exactly 0 in xent too: gradients of ignored rows, of
// -inf logits with no target weight and of NLL's non-target columns, and softmax at a -inf logit.
// Two documented allowances, both for PyTorch quirks rather than xent: a 'mean' whose denominator
// is 0 (weights summing to 0 over the used targets) only has to be non-finite where PyTorch's is,
// and BCE gradients where torch 1.13's clamp max(p(1-p), 1e-12) is active get a relative 1e-8
// (torch clamps at float(1e-12) even in float64).
#pragma once

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <iomanip>
#include <limits>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>
#include <xent/reference.hpp>
#include <xent/xent.hpp>

#include "catch.hpp"
#include "golden_fixtures.hpp"

namespace {

using Eigen::Dynamic;
using Eigen::Index;
using golden::Case;
using xent::Layout;
using xent::Reduction;

template <class S>
using MatC = Eigen::Matrix<S, Dynamic, Dynamic, Eigen::ColMajor>;
template <class S>
using MatR = Eigen::Matrix<S, Dynamic, Dynamic, Eigen::RowMajor>;
template <class S>
using Vec = Eigen::Matrix<S, Dynamic, 1>;
using IndexVec = Eigen::Matrix<std::int64_t, Dynamic, 1>;

// ---- precision ----------------------------------------------------------------------------------

template <class S>
struct Precision;
template <>
struct Precision<float> {
  static constexpr double eps = FLT_EPSILON;
  static constexpr double K = 8;  // a few ulp for PyTorch's Sleef exp/log plus a few for xent's
  static constexpr double rtol =
      1e-5;  // PyTorch's summation order / cascade sums vs xent's double sums
  static constexpr double denorm = std::numeric_limits<float>::denorm_min();
};
template <>
struct Precision<double> {
  static constexpr double eps = DBL_EPSILON;
  static constexpr double K = 64;  // ~1.4e-14 per unit magnitude
  static constexpr double rtol = 1e-12;
  static constexpr double denorm = std::numeric_limits<double>::denorm_min();
};

// ---- expectations and the comparison ------------------------------------------------------------

enum class Mode {
  Close,           // within atol + rtol |expected| (non-finite: exact)
  Exact,           // bitwise value equality (0 == -0), NaN == NaN
  NonFiniteAgree,  // a degenerate 0/0 or x/0 mean: any non-finite value where PyTorch's is
                   // non-finite
};

struct Expect {
  std::vector<double> v;     // expected values, samples-in-rows, row-major
  std::vector<double> atol;  // per element
  std::vector<Mode> mode;
  double rtol = 0;
  long cols = 1;  // for messages: element i is (i / cols, i % cols)

  void resize(std::size_t n) {
    v.assign(n, 0.0);
    atol.assign(n, 0.0);
    mode.assign(n, Mode::Close);
  }
  Expect scaled(double f) const {
    Expect e = *this;
    for (std::size_t i = 0; i < v.size(); ++i) {
      e.v[i] = v[i] * f;
      e.atol[i] = atol[i] * std::fabs(f);
    }
    return e;
  }
};

inline Expect scalar_expect(double value, double atol, double rtol) {
  Expect e;
  e.resize(1);
  e.v[0] = value;
  e.atol[0] = atol;
  e.rtol = rtol;
  return e;
}

// Scales every tolerance; building with e.g. -DXENT_GOLDEN_TOL_SCALE=0.1 shows how much margin
// the tolerances leave.
#ifndef XENT_GOLDEN_TOL_SCALE
#define XENT_GOLDEN_TOL_SCALE 1.0
#endif

inline bool agrees(double got, double exp, double atol, double rtol, Mode mode) {
  atol *= XENT_GOLDEN_TOL_SCALE;
  rtol *= XENT_GOLDEN_TOL_SCALE;
  if (std::isnan(exp))
    return std::isnan(got) || (mode == Mode::NonFiniteAgree && !std::isfinite(got));
  if (std::isinf(exp)) return mode == Mode::NonFiniteAgree ? !std::isfinite(got) : got == exp;
  if (mode == Mode::Exact) return got == exp;
  if (!std::isfinite(got)) return false;
  return std::fabs(got - exp) <= atol + rtol * std::fabs(exp);
}

// Collects the mismatches of one case, grouped by check (entry point and input variant); one Catch
// assertion per case.
class Report {
 public:
  explicit Report(const Case& c) : case_(c) {}

  void compare(const std::string& what, const std::vector<double>& got, const Expect& e) {
    ++compared_;
    if (got.size() != e.v.size()) {
      fail(what, std::to_string(got.size()) + " values, expected " + std::to_string(e.v.size()));
      return;
    }
    for (std::size_t i = 0; i < got.size(); ++i) {
      if (agrees(got[i], e.v[i], e.atol[i], e.rtol, e.mode[i])) continue;
      std::ostringstream os;
      os << std::setprecision(17);
      if (got.size() > 1)
        os << "[" << i / static_cast<std::size_t>(e.cols) << ","
           << i % static_cast<std::size_t>(e.cols) << "] ";
      os << "got " << got[i] << ", expected " << e.v[i];
      if (e.mode[i] == Mode::Exact) {
        os << " exactly";
      } else if (std::isfinite(e.v[i])) {
        os << " (diff " << std::fabs(got[i] - e.v[i]) << ", allowed "
           << e.atol[i] + e.rtol * std::fabs(e.v[i]) << ")";
      }
      fail(what, os.str());
    }
  }
  void compare(const std::string& what, double got, const Expect& e) {
    compare(what, std::vector<double>{got}, e);
  }
  void fail(const std::string& what, const std::string& detail) {
    ++failures_;
    for (auto& g : groups_) {
      if (g.what == what) {
        if (++g.count <= 2) g.examples.push_back(detail);
        return;
      }
    }
    groups_.push_back({what, 1, {detail}});
  }
  int failures() const { return failures_; }
  int compared() const { return compared_; }
  std::string text() const {
    std::ostringstream os;
    os << failures_ << " mismatches in case " << case_.where() << "\n";
    std::size_t shown = 0;
    for (const auto& g : groups_) {
      if (++shown > 30) {
        os << "  ... and " << groups_.size() - 30 << " more checks\n";
        break;
      }
      os << "  " << g.what << ": " << g.count << " mismatches, e.g.\n";
      for (const auto& ex : g.examples) os << "      " << ex << "\n";
    }
    return os.str();
  }

 private:
  struct Group {
    std::string what;
    int count;
    std::vector<std::string> examples;
  };
  const Case& case_;
  std::vector<Group> groups_;
  int failures_ = 0;
  int compared_ = 0;
};

// ---- conversions
// ----------------------------------------------------------------------------------

// Fixture data (row-major rows x cols) as an Eigen matrix of S; the values are S-exact.
template <class S, class M = MatC<S>>
M matrix(const std::vector<double>& v, long rows, long cols) {
  M m(rows, cols);
  for (long i = 0; i < rows; ++i)
    for (long j = 0; j < cols; ++j)
      m(i, j) = static_cast<S>(v[static_cast<std::size_t>(i * cols + j)]);
  return m;
}

template <class S, class V = Vec<S>>
V vector(const std::vector<double>& v) {
  V out(static_cast<Index>(v.size()));
  for (std::size_t i = 0; i < v.size(); ++i) out(static_cast<Index>(i)) = static_cast<S>(v[i]);
  return out;
}

// A result in the given layout, as row-major samples-in-rows doubles (vectors: their entries).
template <class M>
std::vector<double> rows_of(const Eigen::MatrixBase<M>& m, Layout layout = Layout::SamplesInRows) {
  std::vector<double> out;
  out.reserve(static_cast<std::size_t>(m.size()));
  if (m.rows() == 1 || m.cols() == 1) {
    for (Index i = 0; i < m.size(); ++i) out.push_back(static_cast<double>(m.derived().coeff(i)));
    return out;
  }
  const bool rows = layout == Layout::SamplesInRows;
  const Index R = rows ? m.rows() : m.cols(), C = rows ? m.cols() : m.rows();
  for (Index n = 0; n < R; ++n)
    for (Index c = 0; c < C; ++c)
      out.push_back(static_cast<double>(rows ? m.derived().coeff(n, c) : m.derived().coeff(c, n)));
  return out;
}

// The input in the given layout: N x C, or its transpose for samples in columns.
template <class S, class M = MatC<S>>
M in_layout(const std::vector<double>& v, long N, long C, Layout layout) {
  const MatR<S> rows = matrix<S, MatR<S>>(v, N, C);
  if (layout == Layout::SamplesInRows) return M(rows);
  return M(rows.transpose());
}

// A padded matrix whose block (1, 2, rows, cols) holds m: Blocks with an outer stride.
template <class S>
struct Padded {
  MatC<S> big;
  explicit Padded(const MatC<S>& m) : big(MatC<S>::Constant(m.rows() + 2, m.cols() + 3, S(12345))) {
    big.block(1, 2, m.rows(), m.cols()) = m;
  }
  auto block() const { return big.block(1, 2, big.rows() - 2, big.cols() - 3); }
};

inline double finite_range(const double* row, long C) {
  double m = -std::numeric_limits<double>::infinity();
  for (long c = 0; c < C; ++c)
    if (std::isfinite(row[c])) m = std::max(m, row[c]);
  double r = 0;
  for (long c = 0; c < C; ++c)
    if (std::isfinite(row[c])) r = std::max(r, std::fabs(row[c] - m));
  return r;
}

// ---- expectations for the losses
// ------------------------------------------------------------------

struct LossExpect {
  Expect none, mean, sum, gmean, gsum, gnone;
};

// Fills the reduced expectations from per-element bounds: sum |error| <= sum (atol_i + rtol |l_i|).
inline void reductions(LossExpect& e, double loss_mean, double loss_sum, double denominator,
                       double rtol) {
  double bound = 0;
  for (std::size_t i = 0; i < e.none.v.size(); ++i) {
    if (std::isfinite(e.none.v[i])) bound += e.none.atol[i] + e.none.rtol * std::fabs(e.none.v[i]);
  }
  e.sum = scalar_expect(loss_sum, bound, rtol);
  e.mean = scalar_expect(loss_mean, denominator != 0 ? bound / std::fabs(denominator) : 0.0, rtol);
}

// log p of a row in long double (m = max, NaN-propagating like PyTorch).
inline std::vector<long double> log_probs(const std::vector<long double>& x) {
  long double m = -std::numeric_limits<long double>::infinity();
  for (long double v : x) m = std::isnan(v) || std::isnan(m) ? NAN : std::max(m, v);
  long double s = 0;
  for (long double v : x) s += std::exp(v - m);
  std::vector<long double> lp;
  for (long double v : x) lp.push_back(v - m - std::log(s));
  return lp;
}

// Cross-entropy and NLL (index or probability targets). `in_fmt` values are S-exact.
template <class S>
LossExpect class_expect(const Case& c) {
  using P = Precision<S>;
  const bool nll = c.op == "nll_loss";
  const bool prob = c.has_targets_prob;
  const long N = c.N, C = c.C;
  const double ls = std::max(c.label_smoothing, 0.0);  // PyTorch ignores a negative value
  const double logC = std::log(static_cast<double>(std::max(C, 1L)));
  std::vector<double> w(static_cast<std::size_t>(C), 1.0);
  if (c.has_weight) w = c.weight;
  double wabs = 0;
  for (double v : w) wabs += std::fabs(v);

  std::vector<bool> ignored(static_cast<std::size_t>(N), false);
  std::vector<double> qabs(static_cast<std::size_t>(N), 0.0),
      range(static_cast<std::size_t>(N), 0.0);
  double W = 0;  // the mean's denominator, as PyTorch
  for (long n = 0; n < N; ++n) {
    const auto sn = static_cast<std::size_t>(n);
    const double* row = &c.logits[static_cast<std::size_t>(n * C)];
    if (prob) {
      for (long k = 0; k < C; ++k) {
        double t = c.targets_prob[static_cast<std::size_t>(n * C + k)];
        if (ls > 0) t = (1 - ls) * t + ls / static_cast<double>(C);
        qabs[sn] += std::fabs(w[static_cast<std::size_t>(k)] * t);
      }
      W += 1;
      range[sn] = finite_range(row, C);
    } else {
      const std::int64_t y = c.targets_index[sn];
      if (y == c.ignore_index) {
        ignored[sn] = true;
        continue;
      }
      const double wy = w[static_cast<std::size_t>(y)];
      qabs[sn] =
          nll ? std::fabs(wy) : (1 - ls) * std::fabs(wy) + ls / static_cast<double>(C) * wabs;
      W += wy;
      range[sn] = nll ? (std::isfinite(row[y]) ? std::fabs(row[y]) : 0.0) : finite_range(row, C);
    }
  }
  bool any_used = false;
  for (long n = 0; n < N; ++n) any_used = any_used || !ignored[static_cast<std::size_t>(n)];
  const bool degenerate_mean = W == 0 && any_used;  // x/0: PyTorch's inf/NaN pattern is its own

  LossExpect e;
  e.none.resize(static_cast<std::size_t>(N));
  e.none.rtol = P::rtol;
  e.none.v = c.loss_none;
  for (long n = 0; n < N; ++n) {
    const auto sn = static_cast<std::size_t>(n);
    e.none.atol[sn] = P::K * P::eps * qabs[sn] * (1 + range[sn] + logC);
  }

  auto grads = [&](const std::vector<double>& v, auto&& scale_of) {
    Expect g;
    g.resize(v.size());
    g.v = v;
    g.rtol = P::rtol;
    g.cols = C;
    for (long n = 0; n < N; ++n) {
      for (long k = 0; k < C; ++k) {
        const auto i = static_cast<std::size_t>(n * C + k);
        g.atol[i] = P::K * P::eps * 2 * qabs[static_cast<std::size_t>(n)] * (1 + logC) *
                    std::fabs(scale_of(n));
        const bool structural_zero =
            ignored[static_cast<std::size_t>(n)] || nll || c.logits[i] == -HUGE_VAL;
        if (v[i] == 0 && structural_zero) g.mode[i] = Mode::Exact;
      }
    }
    return g;
  };
  e.gsum = grads(c.grad_sum, [](long) { return 1.0; });
  e.gmean = grads(c.grad_mean, [&](long) { return W != 0 ? 1.0 / W : 0.0; });
  e.gnone = grads(c.grad_none, [&](long n) { return c.grad_outputs[static_cast<std::size_t>(n)]; });
  if (degenerate_mean) {
    for (std::size_t i = 0; i < e.gmean.v.size(); ++i)
      if (!std::isfinite(e.gmean.v[i])) e.gmean.mode[i] = Mode::NonFiniteAgree;
  }

  double loss_mean = c.loss_mean, loss_sum = c.loss_sum;
  // (1) an ignored sample's gradient row is exactly 0, whatever its logits.
  if (c.differs("ignored_row_grad_zero")) {
    for (Expect* g : {&e.gmean, &e.gsum, &e.gnone}) {
      for (long n = 0; n < N; ++n) {
        if (!ignored[static_cast<std::size_t>(n)]) continue;
        for (long k = 0; k < C; ++k) {
          const auto i = static_cast<std::size_t>(n * C + k);
          g->v[i] = 0.0;
          g->mode[i] = Mode::Exact;
        }
      }
    }
  }
  // (2) probability targets: a zero smoothed target contributes 0 even at a -inf logit. The loss is
  // computed here in long double from the S-exact inputs.
  if (c.differs("zero_prob_target_masked")) {
    long double total = 0;
    for (long n = 0; n < N; ++n) {
      std::vector<long double> x;
      for (long k = 0; k < C; ++k) x.push_back(c.logits[static_cast<std::size_t>(n * C + k)]);
      const auto lp = log_probs(x);
      long double l = 0;
      for (long k = 0; k < C; ++k) {
        long double t = static_cast<S>(c.targets_prob[static_cast<std::size_t>(n * C + k)]);
        if (ls > 0) t = (1 - static_cast<long double>(ls)) * t + static_cast<long double>(ls) / C;
        if (t != 0)
          l -= static_cast<long double>(w[static_cast<std::size_t>(k)]) * t *
               lp[static_cast<std::size_t>(k)];
      }
      e.none.v[static_cast<std::size_t>(n)] = static_cast<double>(l);
      total += l;
    }
    loss_sum = static_cast<double>(total);
    loss_mean = static_cast<double>(total / N);
  }
  reductions(e, loss_mean, loss_sum, W, P::rtol);
  // x/0 with smoothing: PyTorch divides its NLL and smoothing parts by W = 0 separately (inf - inf
  // = NaN in float32, inf in float64), xent divides their sum once (+-inf). Both are degenerate.
  if (degenerate_mean) e.mean.mode[0] = Mode::NonFiniteAgree;
  return e;
}

// softplus(z) = log(1 + e^z) in long double, exact at +-inf.
inline long double softplus(long double z) {
  if (z > 0) return z + std::log1p(std::exp(-z));
  return std::log1p(std::exp(z));
}

// The weight of element (n, k) of a BCE case (1 without weight).
inline double bce_weight(const Case& c, long n, long k) {
  if (!c.has_weight) return 1.0;
  if (c.weight_kind == "per_class") return c.weight[static_cast<std::size_t>(k)];
  if (c.weight_kind == "per_sample") return c.weight[static_cast<std::size_t>(n)];
  return c.weight[static_cast<std::size_t>(n * c.C + k)];
}

template <class S>
LossExpect binary_expect(const Case& c) {
  using P = Precision<S>;
  const bool logits = c.op == "bce_with_logits";
  const long N = c.N, C = c.C;
  const std::size_t NC = static_cast<std::size_t>(N * C);
  const double numel = static_cast<double>(N * C);
  LossExpect e;
  e.none.resize(NC);
  e.none.v = c.loss_none;
  e.none.rtol = P::rtol;
  e.none.cols = C;
  std::vector<double> gunit(NC, 0.0);
  std::vector<bool> clamped(NC, false);
  for (long n = 0; n < N; ++n) {
    for (long k = 0; k < C; ++k) {
      const auto i = static_cast<std::size_t>(n * C + k);
      const double x = c.logits[i], t = c.targets_prob[i], w = std::fabs(bce_weight(c, n, k));
      if (logits) {
        const double pw = c.has_pos_weight ? c.pos_weight[static_cast<std::size_t>(k)] : 1.0;
        const double L = 1 + (pw - 1) * t, ax = std::isfinite(x) ? std::fabs(x) : 0.0;
        e.none.atol[i] = P::K * P::eps * w * (std::fabs(1 - t) * ax + std::fabs(L) * (1 + ax));
        gunit[i] = P::K * P::eps * w * (std::fabs(pw * t + 1 - t) + std::fabs(pw * t));
      } else {
        const double lp = std::min(-std::log(x), 100.0), l1p = std::min(-std::log1p(-x), 100.0);
        e.none.atol[i] = P::K * P::eps * w * (1 + std::fabs(t) * lp + std::fabs(1 - t) * l1p);
        // gradients: w g (p - t) / max(p (1 - p), 1e-12) is relatively accurate: rtol only. Except
        // where the clamp is active: torch 1.13 clamps at float(1e-12) = 9.99999996e-13 even in
        // float64 (observed), a relative difference of 4e-9 from the documented 1e-12.
        clamped[i] = x * (1 - x) < 1e-12;
      }
    }
  }
  auto grads = [&](const std::vector<double>& v, auto&& scale_of) {
    Expect g;
    g.resize(NC);
    g.v = v;
    g.rtol = P::rtol;
    g.cols = C;
    for (std::size_t i = 0; i < NC; ++i) {
      g.atol[i] = clamped[i] ? 1e-8 * std::fabs(v[i]) : gunit[i] * std::fabs(scale_of(i));
    }
    return g;
  };
  e.gsum = grads(c.grad_sum, [](std::size_t) { return 1.0; });
  e.gmean = grads(c.grad_mean, [&](std::size_t) { return 1.0 / numel; });
  e.gnone = grads(c.grad_none, [&](std::size_t i) { return c.grad_outputs[i]; });

  double loss_mean = c.loss_mean, loss_sum = c.loss_sum;
  // (3) BCE-with-logits: the exact w [(1-t) softplus(x) + P t softplus(-x)] (0 * inf = 0), which
  // xent must meet to a few ulp (denormal results: a few denormal steps).
  if (c.differs("bce_logits_tails")) {
    long double total = 0;
    for (long n = 0; n < N; ++n) {
      for (long k = 0; k < C; ++k) {
        const auto i = static_cast<std::size_t>(n * C + k);
        const long double x = c.logits[i], t = c.targets_prob[i];
        const long double pw = c.has_pos_weight ? c.pos_weight[static_cast<std::size_t>(k)] : 1.0;
        const long double a = 1 - t, b = pw * t;
        const long double l =
            (a == 0 ? 0.0L : a * softplus(x)) + (b == 0 ? 0.0L : b * softplus(-x));
        const long double wl = static_cast<long double>(bce_weight(c, n, k)) * l;
        e.none.v[i] = static_cast<double>(static_cast<S>(wl));
        e.none.atol[i] = 8 * P::denorm;
        total += wl;
      }
    }
    e.none.rtol = 16 * P::eps;
    loss_sum = static_cast<double>(total);
    loss_mean = static_cast<double>(total / numel);
  }
  reductions(e, loss_mean, loss_sum, numel, P::rtol);
  if (c.differs("bce_logits_tails")) {
    e.sum.rtol = e.mean.rtol = 16 * P::eps;
  }
  return e;
}

// ---- running the loss APIs
// --------------------------------------------------------------------------

// The six entry points, the loss object and the reference of each loss, under one name.
#define XENT_GOLDEN_FAMILY(Fam, fn, Opts, LossT)                                    \
  struct Fam {                                                                      \
    using Options = xent::Opts;                                                     \
    using Loss = xent::LossT;                                                       \
    template <class... A>                                                           \
    static auto loss(const A&... a) {                                               \
      return xent::fn(a...);                                                        \
    }                                                                               \
    template <class... A>                                                           \
    static auto per_sample(const A&... a) {                                         \
      return xent::fn##_per_sample(a...);                                           \
    }                                                                               \
    template <class X, class Y, class O>                                            \
    static void per_sample_into(const X& x, const Y& y, O& out, const Options& o) { \
      xent::fn##_per_sample(x, y, out, o);                                          \
    }                                                                               \
    template <class... A>                                                           \
    static auto backward(const A&... a) {                                           \
      return xent::fn##_backward(a...);                                             \
    }                                                                               \
    template <class... A>                                                           \
    static auto per_sample_backward(const A&... a) {                                \
      return xent::fn##_per_sample_backward(a...);                                  \
    }                                                                               \
    template <class... A>                                                           \
    static auto forward_backward(A&&... a) {                                        \
      return xent::fn##_forward_backward(a...);                                     \
    }                                                                               \
    template <class... A>                                                           \
    static auto ref_loss(const A&... a) {                                           \
      return xent::reference::fn<long double>(a...);                                \
    }                                                                               \
    template <class... A>                                                           \
    static auto ref_per_sample(const A&... a) {                                     \
      return xent::reference::fn##_per_sample<long double>(a...);                   \
    }                                                                               \
    template <class... A>                                                           \
    static auto ref_backward(const A&... a) {                                       \
      return xent::reference::fn##_backward<long double>(a...);                     \
    }                                                                               \
    template <class... A>                                                           \
    static auto ref_per_sample_backward(const A&... a) {                            \
      return xent::reference::fn##_per_sample_backward<long double>(a...);          \
    }                                                                               \
  };

XENT_GOLDEN_FAMILY(CE, cross_entropy, CrossEntropyOptions, CrossEntropyLoss)
XENT_GOLDEN_FAMILY(NLL, nll_loss, NLLLossOptions, NLLLoss)
XENT_GOLDEN_FAMILY(BCEL, binary_cross_entropy_with_logits, BCEWithLogitsLossOptions,
                   BCEWithLogitsLoss)
XENT_GOLDEN_FAMILY(BCE, binary_cross_entropy, BCELossOptions, BCELoss)
#undef XENT_GOLDEN_FAMILY

template <class O>
O with_reduction(O o, Reduction r) {
  o.reduction(r);
  return o;
}

// Runs every entry point of family F on input X (any Eigen form) and targets Y in `layout`, and
// compares with the expectations. G: the per-sample upstream gradients in the API's shape.
template <class F, class S, class X, class Y, class G>
void run_loss_api(Report& r, const LossExpect& e, const X& x, const Y& y, const G& g,
                  typename F::Options opts, Layout layout, const std::string& tag) {
  using Grad =
      Eigen::Matrix<S, Dynamic, Dynamic, X::IsRowMajor ? Eigen::RowMajor : Eigen::ColMajor>;
  opts.layout(layout);
  const auto mean = with_reduction(opts, Reduction::Mean);
  const auto sum = with_reduction(opts, Reduction::Sum);
  const std::string t = tag + " ";

  r.compare(t + "per_sample", rows_of(F::per_sample(x, y, opts), layout), e.none);
  {
    typename std::conditional<std::is_same<F, CE>::value || std::is_same<F, NLL>::value, Vec<S>,
                              Grad>::type out;  // resized by the call
    F::per_sample_into(x, y, out, opts);
    r.compare(t + "per_sample(out)", rows_of(out, layout), e.none);
  }
  r.compare(t + "mean", static_cast<double>(F::loss(x, y, mean)), e.mean);
  r.compare(t + "sum", static_cast<double>(F::loss(x, y, sum)), e.sum);
  r.compare(t + "backward(mean)", rows_of(F::backward(x, y, mean), layout), e.gmean);
  r.compare(t + "backward(sum)", rows_of(F::backward(x, y, sum), layout), e.gsum);
  r.compare(t + "backward(sum, g=-0.75)", rows_of(F::backward(x, y, sum, S(-0.75)), layout),
            e.gsum.scaled(-0.75));
  r.compare(t + "per_sample_backward", rows_of(F::per_sample_backward(x, y, g, opts), layout),
            e.gnone);
  {
    Grad grad;
    r.compare(t + "forward_backward(mean) loss",
              static_cast<double>(F::forward_backward(x, y, grad, mean)), e.mean);
    r.compare(t + "forward_backward(mean) grad", rows_of(grad, layout), e.gmean);
    // into a grad of the other storage order, already of the right size
    Eigen::Matrix<S, Dynamic, Dynamic, X::IsRowMajor ? Eigen::ColMajor : Eigen::RowMajor> other(
        x.rows(), x.cols());
    r.compare(t + "forward_backward(sum) loss",
              static_cast<double>(F::forward_backward(x, y, other, sum)), e.sum);
    r.compare(t + "forward_backward(sum) grad", rows_of(other, layout), e.gsum);
  }
  {
    const typename F::Loss lm(mean), lsum(sum);
    r.compare(t + "Loss(mean)()", static_cast<double>(lm(x, y)), e.mean);
    r.compare(t + "Loss(sum)()", static_cast<double>(lsum(x, y)), e.sum);
    r.compare(t + "Loss.per_sample", rows_of(lm.per_sample(x, y), layout), e.none);
    {
      typename std::conditional<std::is_same<F, CE>::value || std::is_same<F, NLL>::value, Vec<S>,
                                Grad>::type out;
      lsum.per_sample(x, y, out);
      r.compare(t + "Loss.per_sample(out)", rows_of(out, layout), e.none);
    }
    r.compare(t + "Loss(mean).backward", rows_of(lm.backward(x, y), layout), e.gmean);
    r.compare(t + "Loss(sum).backward(2)", rows_of(lsum.backward(x, y, S(2)), layout),
              e.gsum.scaled(2));
    r.compare(t + "Loss.per_sample_backward", rows_of(lm.per_sample_backward(x, y, g), layout),
              e.gnone);
    Grad grad;
    r.compare(t + "Loss(sum).forward_backward loss",
              static_cast<double>(lsum.forward_backward(x, y, grad)), e.sum);
    r.compare(t + "Loss(sum).forward_backward grad", rows_of(grad, layout), e.gsum);
  }
}

// xent::reference<long double> against the same expectations (PyTorch's error dominates).
template <class F, class X, class Y, class G>
void run_reference(Report& r, const LossExpect& e, const X& x, const Y& y, const G& g,
                   typename F::Options opts, Layout layout, const std::string& tag) {
  opts.layout(layout);
  const auto mean = with_reduction(opts, Reduction::Mean);
  const auto sum = with_reduction(opts, Reduction::Sum);
  const std::string t = tag + " reference ";
  r.compare(t + "per_sample", rows_of(F::ref_per_sample(x, y, opts), layout), e.none);
  r.compare(t + "mean", static_cast<double>(F::ref_loss(x, y, mean)), e.mean);
  r.compare(t + "sum", static_cast<double>(F::ref_loss(x, y, sum)), e.sum);
  r.compare(t + "backward(mean)", rows_of(F::ref_backward(x, y, mean), layout), e.gmean);
  r.compare(t + "backward(sum)", rows_of(F::ref_backward(x, y, sum), layout), e.gsum);
  r.compare(t + "per_sample_backward", rows_of(F::ref_per_sample_backward(x, y, g, opts), layout),
            e.gnone);
}

inline void finish(const Case& c, const Report& r) {
  INFO("case " << c.where() << ", " << r.compared() << " comparisons");
  if (r.failures() != 0) {
    FAIL_CHECK(r.text());
  } else {
    SUCCEED();
  }
}

// ---- the class losses ---------------------------------------------------------------------------

template <class F, class S>
void run_class_case(const Case& c) {
  Report r(c);
  const long N = c.N, C = c.C;
  typename F::Options opts;
  if (c.has_weight) opts.weight(vector<S>(c.weight));
  opts.ignore_index(c.ignore_index);
  if constexpr (std::is_same<F, CE>::value) {
    if (c.differs("label_smoothing_negative")) {
      // (4) PyTorch silently treats label_smoothing < 0 as 0 (the fixture's values); xent rejects
      // it.
      // The fixture's values are PyTorch's at smoothing 0, which opts keeps.
      REQUIRE(c.label_smoothing < 0);
      CHECK_THROWS_AS(xent::CrossEntropyOptions().label_smoothing(c.label_smoothing),
                      std::invalid_argument);
    } else {
      opts.label_smoothing(c.label_smoothing);
    }
  }
  const LossExpect e = class_expect<S>(c);
  const Vec<S> g = vector<S>(c.grad_outputs);

  const MatC<S> x = matrix<S>(c.logits, N, C);
  const MatR<S> xr = x;
  const MatC<S> xt = x.transpose();
  const Padded<S> padded(x);

  if (c.has_targets_index) {
    IndexVec y(N);
    Eigen::VectorXi yi(N);
    for (long n = 0; n < N; ++n) {
      y(n) = c.targets_index[static_cast<std::size_t>(n)];
      yi(n) = static_cast<int>(y(n));
    }
    run_loss_api<F, S>(r, e, x, y, g, opts, Layout::SamplesInRows, "col-major");
    run_loss_api<F, S>(r, e, xr, yi, g, opts, Layout::SamplesInRows, "row-major/int32 targets");
    run_loss_api<F, S>(r, e, padded.block(), y, g, opts, Layout::SamplesInRows, "block");
    run_loss_api<F, S>(r, e, xt, y, g.transpose(), opts, Layout::SamplesInColumns,
                       "samples-in-columns");
    run_reference<F>(r, e, x, y, g, opts, Layout::SamplesInRows, "col-major");
    run_reference<F>(r, e, xt, y, g, opts, Layout::SamplesInColumns, "samples-in-columns");
  } else if constexpr (std::is_same<F, CE>::value) {  // probability targets: cross_entropy only
    const MatC<S> t = matrix<S>(c.targets_prob, N, C);
    const MatR<S> tr = t;
    const MatC<S> tt = t.transpose();
    run_loss_api<F, S>(r, e, x, t, g, opts, Layout::SamplesInRows, "col-major");
    run_loss_api<F, S>(r, e, xr, tr, g, opts, Layout::SamplesInRows, "row-major");
    run_loss_api<F, S>(r, e, padded.block(), t, g, opts, Layout::SamplesInRows, "block");
    run_loss_api<F, S>(r, e, xt, tt, g, opts, Layout::SamplesInColumns, "samples-in-columns");
    run_reference<F>(r, e, x, t, g, opts, Layout::SamplesInRows, "col-major");
    run_reference<F>(r, e, xt, tt, g, opts, Layout::SamplesInColumns, "samples-in-columns");
  } else {
    r.fail("targets", "probability targets for " + c.op);
  }
  finish(c, r);
}

// ---- the binary losses --------------------------------------------------------------------------

template <class F, class S>
typename F::Options binary_options(const Case& c, Layout layout) {
  typename F::Options opts;
  const long N = c.N, C = c.C;
  if (c.has_weight) {
    // PyTorch's weight broadcasts by its shape; xent's setter says what it weighs. A (C,) weight
    // ported as the natural column vector is per class through class_weight.
    if (c.weight_kind == "per_class") {
      opts.class_weight(vector<S, Vec<S>>(c.weight));  // PyTorch's (C,): one weight per class
    } else if (c.weight_kind == "per_sample") {
      opts.sample_weight(vector<S, Vec<S>>(c.weight));  // PyTorch's (N, 1): one per sample
    } else {
      opts.element_weight(in_layout<S>(c.weight, N, C, layout));  // (N, C): the input's shape
    }
  }
  if constexpr (std::is_same<F, BCEL>::value) {
    if (c.has_pos_weight) opts.pos_weight(vector<S>(c.pos_weight));
  }
  return opts;
}

template <class F, class S>
void run_binary_case(const Case& c) {
  Report r(c);
  const long N = c.N, C = c.C;
  const LossExpect e = binary_expect<S>(c);
  for (Layout layout : {Layout::SamplesInRows, Layout::SamplesInColumns}) {
    const bool rows = layout == Layout::SamplesInRows;
    const std::string tag = rows ? "samples-in-rows" : "samples-in-columns";
    const auto opts = binary_options<F, S>(c, layout);
    const MatC<S> x = in_layout<S>(c.logits, N, C, layout);
    const MatC<S> t = in_layout<S>(c.targets_prob, N, C, layout);
    const MatC<S> g = in_layout<S>(c.grad_outputs, N, C, layout);
    run_loss_api<F, S>(r, e, x, t, g, opts, layout, tag + " col-major");
    run_loss_api<F, S>(r, e, MatR<S>(x), MatR<S>(t), MatR<S>(g), opts, layout, tag + " row-major");
    if (rows) {
      const Padded<S> padded(x);
      run_loss_api<F, S>(r, e, padded.block(), t, g, opts, layout, tag + " block");
    }
    run_reference<F>(r, e, x, t, g, opts, layout, tag);
  }
  finish(c, r);
}

template <class F>
void run_loss_cases(const std::string& op, bool index_targets, bool prob_targets) {
  const auto cases = golden::cases_of(op);
  REQUIRE(!cases.empty());
  for (const Case* c : cases) {
    if (c->is_loss() && (c->has_targets_index ? !index_targets : !prob_targets)) continue;
    try {
      if constexpr (std::is_same<F, CE>::value || std::is_same<F, NLL>::value) {
        if (c->is_float32())
          run_class_case<F, float>(*c);
        else
          run_class_case<F, double>(*c);
      } else {
        if (c->is_float32())
          run_binary_case<F, float>(*c);
        else
          run_binary_case<F, double>(*c);
      }
    } catch (const std::exception& ex) {
      FAIL_CHECK("case " << c->where() << " threw: " << ex.what());
    }
  }
}

}  // namespace
