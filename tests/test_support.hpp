// Shared helpers of the xent value tests (test_softmax, test_cross_entropy, test_nll_loss, test_bce):
// a reproducible random generator and data makers, a matrix comparison that treats NaN == NaN and
// equal infinities as equal, central finite differences in double, and the layout / storage-order /
// view conversions the tests feed the library with.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <xent/reference.hpp>
#include <xent/xent.hpp>

#include "catch.hpp"

namespace xt {

using Eigen::Dynamic;
using Eigen::Index;
using xent::Layout;
using LD = long double;

template <class S>
using Mat = Eigen::Matrix<S, Dynamic, Dynamic>;  // column-major
template <class S>
using RowMat = Eigen::Matrix<S, Dynamic, Dynamic, Eigen::RowMajor>;
template <class S>
using Vec = Eigen::Matrix<S, Dynamic, 1>;

template <class S>
constexpr double eps() {
  return static_cast<double>(std::numeric_limits<S>::epsilon());
}

template <class S>
const char* scalar_name() {
  return std::is_same<S, float>::value ? "float" : "double";
}

inline const char* layout_name(Layout l) {
  return l == Layout::SamplesInRows ? "SamplesInRows" : "SamplesInColumns";
}

// ---- reproducible random numbers ---------------------------------------------------------------
// The standard's distributions are implementation-defined, so values come from a hand-written
// splitmix64 generator instead: the same seed gives the same cases with every standard library (up
// to the last bit of libm's log/cos in normal()).
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull) {
    for (int i = 0; i < 4; ++i) next();  // decorrelate nearby seeds
  }

  std::uint64_t next() {  // splitmix64: tiny, fully specified, good enough for test data
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // An integer in [lo, hi] (inclusive); the modulo bias is irrelevant for test data.
  std::int64_t integer(std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(next() % static_cast<std::uint64_t>(hi - lo + 1));
  }
  bool chance(double p) { return uniform() < p; }
  double normal() {  // Box-Muller
    const double u = 1.0 - uniform();  // (0, 1]
    const double v = uniform();
    return std::sqrt(-2.0 * std::log(u)) * std::cos(6.283185307179586 * v);
  }
  template <class T>
  T pick(std::initializer_list<T> values) {
    return *(values.begin() + integer(0, static_cast<std::int64_t>(values.size()) - 1));
  }

 private:
  std::uint64_t state_;
};

// rows x cols logits ~ scale * N(0, 1), rounded to S. With probability `shift_chance` a sample gets a
// common offset (softmax is shift-invariant, the implementation must subtract its max correctly).
template <class S>
Mat<S> random_logits(Index rows, Index cols, Rng& rng, double scale = 3.0, Layout layout = Layout::SamplesInRows,
                     double shift_chance = 0.0, double shift = 40.0) {
  Mat<S> x(rows, cols);
  for (Index j = 0; j < cols; ++j)
    for (Index i = 0; i < rows; ++i) x(i, j) = static_cast<S>(scale * rng.normal());
  if (shift_chance > 0) {
    const Index samples = layout == Layout::SamplesInRows ? rows : cols;
    for (Index n = 0; n < samples; ++n) {
      if (!rng.chance(shift_chance)) continue;
      const S offset = static_cast<S>(rng.uniform(-shift, shift));
      if (layout == Layout::SamplesInRows) {
        x.row(n).array() += offset;
      } else {
        x.col(n).array() += offset;
      }
    }
  }
  return x;
}

// rows x cols values uniform in [lo, hi], rounded to S.
template <class S>
Mat<S> random_uniform(Index rows, Index cols, Rng& rng, double lo, double hi) {
  Mat<S> x(rows, cols);
  for (Index j = 0; j < cols; ++j)
    for (Index i = 0; i < rows; ++i) x(i, j) = static_cast<S>(rng.uniform(lo, hi));
  return x;
}

// Weights that are multiples of 1/4 in [-2, 3]: exact in float and double, and so are all their
// partial sums, so the mean's denominator is exactly the same in the library (double) and in the
// long double reference (a denominator of 0 stays exactly 0 in both). Mostly positive, with zeros
// and negatives (PyTorch accepts both).
inline Vec<double> random_weights(Index n, Rng& rng) {
  Vec<double> w(n);
  for (Index i = 0; i < n; ++i) {
    const double u = rng.uniform();
    if (u < 0.12) {
      w(i) = 0.0;
    } else if (u < 0.25) {
      w(i) = -0.25 * static_cast<double>(rng.integer(1, 8));
    } else {
      w(i) = 0.25 * static_cast<double>(rng.integer(1, 12));
    }
  }
  return w;
}

// Can the value v be stored in the integer type I?
template <class I>
bool representable(std::int64_t v) {
  if constexpr (std::is_unsigned<I>::value) {
    return v >= 0 && static_cast<std::uint64_t>(v) <= static_cast<std::uint64_t>(std::numeric_limits<I>::max());
  } else {
    return v >= static_cast<std::int64_t>(std::numeric_limits<I>::min()) &&
           v <= static_cast<std::int64_t>(std::numeric_limits<I>::max());
  }
}

// n class indices in [0, classes); each is replaced by ignore_index with probability ignore_chance
// when I can hold it.
template <class I>
Vec<I> random_class_targets(Index n, Index classes, Rng& rng, std::int64_t ignore_index, double ignore_chance) {
  Vec<I> y(n);
  for (Index i = 0; i < n; ++i) {
    if (representable<I>(ignore_index) && rng.chance(ignore_chance)) {
      y(i) = static_cast<I>(ignore_index);
    } else {
      y(i) = static_cast<I>(rng.integer(0, classes - 1));
    }
  }
  return y;
}

// Class probabilities in the layout's shape: each sample's entries sum to 1 (up to rounding), with
// exact zeros and, now and then, a one-hot sample.
template <class S>
Mat<S> random_probabilities(Index samples, Index classes, Rng& rng, Layout layout) {
  Mat<S> rows(samples, classes);
  for (Index n = 0; n < samples; ++n) {
    if (rng.chance(0.15)) {
      rows.row(n).setZero();
      rows(n, rng.integer(0, classes - 1)) = S(1);
      continue;
    }
    double total = 0;
    for (Index c = 0; c < classes; ++c) {
      const double v = rng.chance(0.2) ? 0.0 : rng.uniform(0.0, 1.0);
      rows(n, c) = static_cast<S>(v);
      total += v;
    }
    if (total == 0) {
      rows(n, 0) = S(1);
    } else {
      rows.row(n) /= static_cast<S>(total);
    }
  }
  if (layout == Layout::SamplesInRows) return rows;
  return rows.transpose();
}

// ---- layouts and storage orders ----------------------------------------------------------------

// The samples-in-rows (N x C) form of a matrix in the given layout, as a plain column-major matrix.
template <class M>
Mat<typename M::Scalar> samples_in_rows(const Eigen::MatrixBase<M>& m, Layout layout) {
  if (layout == Layout::SamplesInRows) return m;
  return m.transpose();
}

// The inverse: from N x C to the layout's shape.
template <class M>
Mat<typename M::Scalar> from_samples_in_rows(const Eigen::MatrixBase<M>& rows, Layout layout) {
  if (layout == Layout::SamplesInRows) return rows;
  return rows.transpose();
}

template <class S, class M>
Mat<S> cast(const Eigen::MatrixBase<M>& m) {
  return m.template cast<S>();
}

template <class M>
RowMat<typename M::Scalar> to_row_major(const Eigen::MatrixBase<M>& m) {
  return m;
}

template <class M>
Mat<typename M::Scalar> to_col_major(const Eigen::MatrixBase<M>& m) {
  return m;
}

// A rows x cols matrix stored with `pad` extra entries at the end of every column (column-major) or
// row (row-major), reached through a Map with an OuterStride. The padding, and a margin before and
// after, hold a sentinel: NaN by default, so that a read outside the matrix shows up as NaN in the
// results, or any value whose overwrite padding_intact() then detects.
template <class S, int Order = Eigen::ColMajor>
class Padded {
 public:
  using Plain = Eigen::Matrix<S, Dynamic, Dynamic, Order>;
  using MapType = Eigen::Map<Plain, 0, Eigen::OuterStride<>>;
  static constexpr Index kMargin = 3;

  Padded(Index rows, Index cols, Index pad = 3, S sentinel = std::numeric_limits<S>::quiet_NaN())
      : rows_(rows), cols_(cols), stride_((Order == Eigen::RowMajor ? cols : rows) + pad),
        sentinel_(sentinel),
        buffer_(static_cast<std::size_t>(2 * kMargin + stride_ * (Order == Eigen::RowMajor ? rows : cols)), sentinel) {}

  template <class M>
  static Padded from(const Eigen::MatrixBase<M>& m, Index pad = 3) {
    Padded p(m.rows(), m.cols(), pad);
    p.map() = m;
    return p;
  }

  MapType map() { return MapType(buffer_.data() + kMargin, rows_, cols_, Eigen::OuterStride<>(stride_)); }

  // True when no entry outside the matrix differs from the sentinel (bitwise for NaN).
  bool padding_intact() const {
    const Index inner = Order == Eigen::RowMajor ? cols_ : rows_;
    for (Index k = 0; k < static_cast<Index>(buffer_.size()); ++k) {
      const Index pos = k - kMargin;
      const bool inside = pos >= 0 && pos < static_cast<Index>(buffer_.size()) - 2 * kMargin && pos % stride_ < inner;
      if (inside) continue;
      const S v = buffer_[static_cast<std::size_t>(k)];
      if (std::isnan(sentinel_) ? !std::isnan(v) : !(v == sentinel_)) return false;
    }
    return true;
  }

 private:
  Index rows_, cols_, stride_;
  S sentinel_;
  std::vector<S> buffer_;
};

// A bigger matrix of the given storage order holding m at offset (2, 1), everything else NaN; its
// block() is m as an Eigen::Block.
template <class S, int Order = Eigen::ColMajor>
class Embedded {
 public:
  using Plain = Eigen::Matrix<S, Dynamic, Dynamic, Order>;
  template <class M>
  explicit Embedded(const Eigen::MatrixBase<M>& m)
      : big_(Plain::Constant(m.rows() + 3, m.cols() + 4, std::numeric_limits<S>::quiet_NaN())),
        rows_(m.rows()), cols_(m.cols()) {
    block() = m;
  }
  Embedded(Index rows, Index cols, S fill)
      : big_(Plain::Constant(rows + 3, cols + 4, fill)), rows_(rows), cols_(cols) {}
  Eigen::Block<Plain> block() { return big_.block(2, 1, rows_, cols_); }
  const Plain& big() const { return big_; }

 private:
  Plain big_;
  Index rows_, cols_;
};

// ---- comparison --------------------------------------------------------------------------------

namespace detail {

inline std::string fmt(LD v) {
  std::ostringstream os;
  os.precision(21);
  os << v;
  return os.str();
}

// Are a and b equal within atol + rtol * |b|? NaN equals NaN, an infinity equals only itself, and a
// non-finite value never equals a finite one. `excess` receives |a - b| / allowed (inf for a
// non-finite mismatch) so that the worst element can be reported.
inline bool close(LD a, LD b, double rtol, double atol, LD& excess) {
  excess = 0;
  if (std::isnan(a) || std::isnan(b)) {
    if (std::isnan(a) && std::isnan(b)) return true;
    excess = std::numeric_limits<LD>::infinity();
    return false;
  }
  if (std::isinf(a) || std::isinf(b)) {
    if (a == b) return true;
    excess = std::numeric_limits<LD>::infinity();
    return false;
  }
  const LD diff = std::fabs(a - b);
  const LD allowed = static_cast<LD>(atol) + static_cast<LD>(rtol) * std::fabs(b);
  excess = allowed > 0 ? diff / allowed : (diff > 0 ? std::numeric_limits<LD>::infinity() : LD(0));
  return diff <= allowed;
}

// The comparison itself, on long double copies (one non-template function for every caller).
inline void require_close_impl(const Mat<LD>& actual, const Mat<LD>& expected, double rtol, double atol_scalar,
                               const Mat<LD>* atol_matrix, const std::string& what) {
  INFO(what << ": shapes " << actual.rows() << "x" << actual.cols() << " (actual) vs " << expected.rows() << "x"
            << expected.cols() << " (expected)");
  REQUIRE(actual.rows() == expected.rows());
  REQUIRE(actual.cols() == expected.cols());
  if (atol_matrix != nullptr) {
    REQUIRE(atol_matrix->rows() == expected.rows());
    REQUIRE(atol_matrix->cols() == expected.cols());
  }
  const auto atol = [&](Index i, Index j) {
    return atol_matrix != nullptr ? static_cast<double>((*atol_matrix)(i, j)) : atol_scalar;
  };
  Index bad = 0, wi = -1, wj = -1;
  LD worst = -1;
  for (Index j = 0; j < actual.cols(); ++j) {
    for (Index i = 0; i < actual.rows(); ++i) {
      LD excess = 0;
      if (!close(actual(i, j), expected(i, j), rtol, atol(i, j), excess)) ++bad;
      if (excess > worst) {
        worst = excess;
        wi = i;
        wj = j;
      }
    }
  }
  // Tuning aid: with XENT_TEST_REPORT_MARGIN set, every comparison prints how much of its tolerance
  // the worst entry used (1 = exactly at the tolerance).
  if (std::getenv("XENT_TEST_REPORT_MARGIN") != nullptr && worst >= 0) {
    std::fprintf(stderr, "margin %.3Lg  %s\n", worst, what.c_str());
  }
  std::string message;
  if (bad != 0) {
    const LD a = actual(wi, wj), b = expected(wi, wj);
    const double tol = atol(wi, wj);
    message = what + ": " + std::to_string(bad) + " of " + std::to_string(actual.size()) +
              " entries differ; worst at (" + std::to_string(wi) + ", " + std::to_string(wj) + "): actual " + fmt(a) +
              ", expected " + fmt(b) + ", |diff| " + fmt(std::fabs(a - b)) + ", allowed " +
              fmt(static_cast<LD>(tol) + static_cast<LD>(rtol) * std::fabs(b)) + " (rtol " + fmt(rtol) +
              ", atol " + fmt(tol) + ")";
  }
  INFO(message);
  REQUIRE(bad == 0);
}

}  // namespace detail

// Element-wise |actual - expected| <= atol + rtol * |expected|, with NaN == NaN and equal infinities
// equal. On failure, reports how many entries differ and the worst one (index, both values, the
// difference and what was allowed).
template <class A, class B>
void require_close(const Eigen::MatrixBase<A>& actual, const Eigen::MatrixBase<B>& expected, double rtol,
                   double atol, const std::string& what = "values") {
  detail::require_close_impl(actual.template cast<LD>(), expected.template cast<LD>(), rtol, atol, nullptr, what);
}

// The same with one absolute tolerance per entry (a matrix of the expected's shape).
template <class A, class B, class T>
void require_close(const Eigen::MatrixBase<A>& actual, const Eigen::MatrixBase<B>& expected, double rtol,
                   const Eigen::MatrixBase<T>& atol, const std::string& what = "values") {
  const Mat<LD> atol_ld = atol.template cast<LD>();
  detail::require_close_impl(actual.template cast<LD>(), expected.template cast<LD>(), rtol, 0.0, &atol_ld, what);
}

// Scalars.
template <class A, class B, class = std::enable_if_t<std::is_arithmetic<A>::value && std::is_arithmetic<B>::value>>
void require_close(A actual, B expected, double rtol, double atol, const std::string& what = "value") {
  Mat<LD> a(1, 1), b(1, 1);
  a(0, 0) = static_cast<LD>(actual);
  b(0, 0) = static_cast<LD>(expected);
  detail::require_close_impl(a, b, rtol, atol, nullptr, what);
}

// Bitwise-equal values (NaN == NaN): for results that must not depend on the input's storage.
template <class A, class B>
void require_same(const Eigen::MatrixBase<A>& actual, const Eigen::MatrixBase<B>& expected,
                  const std::string& what = "values") {
  require_close(actual, expected, 0.0, 0.0, what);
}

// ---- central finite differences (double) -------------------------------------------------------

// Up to `limit` (i, j) positions of a rows x cols matrix: all of them when there are few, else a
// reproducible random subset.
inline std::vector<std::pair<Index, Index>> entries_to_check(Index rows, Index cols, Rng& rng, Index limit = 96) {
  std::vector<std::pair<Index, Index>> out;
  if (rows * cols <= limit) {
    for (Index j = 0; j < cols; ++j)
      for (Index i = 0; i < rows; ++i) out.emplace_back(i, j);
    return out;
  }
  for (Index k = 0; k < limit; ++k) out.emplace_back(rng.integer(0, rows - 1), rng.integer(0, cols - 1));
  return out;
}

// d/dx(i, j) of sum(weights ⊙ f(x)) by central differences with step h, for each requested entry.
// f maps x (a double matrix) to a matrix or vector of the weights' shape. The difference
// f(x + h e_ij) - f(x - h e_ij) is formed entry by entry before weighting, so the outputs that do not
// depend on x(i, j) cancel exactly and only the rounding of the affected outputs reaches the result.
// The divisor is the step actually taken, (x + h) - (x - h), exact in double.
template <class F, class W>
Vec<double> central_differences(F&& f, const Mat<double>& x, const Eigen::MatrixBase<W>& weights,
                                const std::vector<std::pair<Index, Index>>& entries, double h = 1e-6) {
  Vec<double> out(static_cast<Index>(entries.size()));
  Mat<double> xp = x;
  for (std::size_t k = 0; k < entries.size(); ++k) {
    const Index i = entries[k].first, j = entries[k].second;
    const double plus = x(i, j) + h, minus = x(i, j) - h;
    xp(i, j) = plus;
    const Mat<double> fp = f(xp);
    xp(i, j) = minus;
    const Mat<double> fm = f(xp);
    xp(i, j) = x(i, j);
    const double diff = (weights.derived().template cast<double>().array() * (fp - fm).array()).sum();
    out(static_cast<Index>(k)) = diff / (plus - minus);
  }
  return out;
}

// The analytic gradient's entries at the same positions.
template <class M>
Vec<double> gather(const Eigen::MatrixBase<M>& m, const std::vector<std::pair<Index, Index>>& entries) {
  Vec<double> out(static_cast<Index>(entries.size()));
  for (std::size_t k = 0; k < entries.size(); ++k)
    out(static_cast<Index>(k)) = static_cast<double>(m(entries[k].first, entries[k].second));
  return out;
}

// ---- error model of cross-entropy -----------------------------------------------------------------
// Per-sample loss and gradient tolerances (unscaled by the reduction and the upstream gradient), for
// logits x (samples in rows) and the loss's coefficients q_c (loss = sum_c q_c L_c, L_c = -log p_c,
// gradient Q p_c - q_c with Q = sum_c q_c): with eps = S's epsilon, ulp(v) the spacing of S at v,
// q split into `point` (the target's own coefficient, one term) and `summed` (coefficients that
// enter sums over the classes: label smoothing's eps / C w_c, probability targets), and two
// growth factors of a sum of C rounded terms:
// - sigma = 4 + 2 sqrt(C) for the row sum s = sum_c exp(x_c - m), which the kernels add in chunks
//   of 64 packets into compensated totals: a random walk of eps-sized steps, with a margin;
// - lambda = 4 + C / 4 for the sums of the coefficients (Q, sum_c w_c (x_c - m)), added plainly in
//   a few vector chains: their roundings do not cancel like a random walk (a double gradient at
//   C = 70 000 on AVX2 was off by 1 700 eps of p_c), and the scalar tier has two chains of C / 2.
//   loss     sum_c |q_c| (4 ulp(L_c) + eps sigma (1 - p_max)) + eps (sigma + lambda + 4)
//            sum_c |summed_c| L_c + ulp(loss) [+ eps |Q| for probability targets] + reference
//            + 4 min_normal
//   gradient eps (p_c (|Q| (8 + sigma (1 - p_max)) + lambda sum_c |summed_c|) + 2 |g_c| +
//            4 |summed_c|) + reference + 4 min_normal
// Each L_c is within 4 ulp (README: the per-sample cross-entropy and log_softmax bounds, pinned by
// test_accuracy) plus the row sum's error: the shift x_c - m enters its exp with its rounding
// error folded back, and -log p_c = (m - x_c) + log1p(others) loses others' relative error times
// 1 - p_max (the lanes' online pass rescales others whenever the max grows: 7 ulp measured on a
// double loss of 0.46 at C = 257). The
// summed coefficients enter as (eps / C) (W log s - sum_c w_c (x_c - m)) (probability targets:
// Q log s - sum_c q_c (x_c - m)): two sums of C terms, their difference and product, and the online
// pass's rescaling of the shifted sum when the max grows. Probability targets take log s of the
// rounded s (no log1p: eps |Q| absolute, which is thousands of ulps of a loss near 0 as the
// targets' class gets p -> 1; as PyTorch's log_softmax). p_c is within 8 eps (the exp, the row
// sum's 1 ulp, the scaling, and the online passes' rescaling by exp(old max - new max): 7.5
// measured in double) plus the row sum's error, sigma eps of the terms other than the max, i.e.
// sigma eps (1 - p_max) of the sum. A summed q_c is itself formed in S (w_c ((1 - eps) t_c +
// eps / C): up to 4 eps |q_c|, which matters where Q p_c - q_c cancels); the target's point
// coefficient is exact (the target entry is finished in double). Neither bound grows with the logits' magnitude beyond the
// value computed: a -1e30 logit makes its own L_c 1e30 (and its bound 4 ulp of that), nothing
// else. The long double reference's own error (its eps times |x_c - m| + |log s| + 1, which for
// double results near 0 is several ulps) is added. Infinite terms (a masked class with q_c != 0:
// the loss is +inf, compared exactly) add nothing.
struct CrossEntropyTolerances {
  Vec<LD> loss;
  Mat<LD> grad;
};

template <class S>
LD ulp_in(LD v) {
  const LD tiny = static_cast<LD>(std::numeric_limits<S>::denorm_min());
  if (!std::isfinite(v) || std::fabs(v) < static_cast<LD>(std::numeric_limits<S>::min())) return tiny;
  return std::ldexp(static_cast<LD>(eps<S>()), std::ilogb(v));
}

template <class S>
CrossEntropyTolerances cross_entropy_tolerances(const Mat<LD>& x, const Mat<LD>& point,
                                                const Mat<LD>& summed, bool probability_targets) {
  const auto finite_or_zero = [](LD v) { return std::isfinite(v) ? v : LD(0); };
  const LD e = static_cast<LD>(eps<S>());
  const LD e_ref = std::numeric_limits<LD>::epsilon();
  const LD tiny = 4 * LD(std::numeric_limits<S>::min());
  const Index N = x.rows(), C = x.cols();
  const LD sigma = 4 + 2 * std::sqrt(static_cast<LD>(C));
  const LD lambda = 4 + static_cast<LD>(C) / 4;
  const Mat<LD> lp = xent::reference::log_softmax<LD>(x);
  CrossEntropyTolerances tol{Vec<LD>(N), Mat<LD>(N, C)};
  for (Index n = 0; n < N; ++n) {
    LD Q = 0, summed_abs = 0, loss = 0, loss_tol = 0, p_max = 0, m = -HUGE_VALL;
    for (Index c = 0; c < C; ++c) {
      m = std::max(m, x(n, c));
      p_max = std::max(p_max, finite_or_zero(std::exp(lp(n, c))));
    }
    // The reference's error in lp_c: its eps of (x_c - m) - log s.
    const auto ref_err = [&](Index c) {
      return e_ref * (1 + finite_or_zero(std::fabs(x(n, c) - m)) + finite_or_zero(std::fabs(lp(n, c))));
    };
    for (Index c = 0; c < C; ++c) {
      const LD q = point(n, c) + summed(n, c);
      Q += q;
      summed_abs += std::fabs(summed(n, c));
      if (q == 0) continue;  // 0 L_c = 0, even where L_c is infinite
      const LD L = -lp(n, c);
      loss += q * L;
      loss_tol += finite_or_zero(std::fabs(q) * (4 * ulp_in<S>(L) + e * sigma * (1 - p_max) + ref_err(c)) +
                                 e * (sigma + lambda + 4) * std::fabs(summed(n, c)) * L);
    }
    if (probability_targets) loss_tol += e * std::fabs(Q);
    tol.loss(n) = loss_tol + finite_or_zero(ulp_in<S>(loss)) + tiny;
    for (Index c = 0; c < C; ++c) {
      const LD p = finite_or_zero(std::exp(lp(n, c)));
      const LD g = finite_or_zero(Q * p - (point(n, c) + summed(n, c)));
      tol.grad(n, c) =
          finite_or_zero(e * (p * (std::fabs(Q) * (8 + sigma * (1 - p_max)) + lambda * summed_abs) +
                              2 * std::fabs(g) + 4 * std::fabs(summed(n, c))) +
                         std::fabs(Q) * p * ref_err(c)) +
          tiny;
    }
  }
  return tol;
}

// Probability targets t (samples in rows): every coefficient w_c ((1 - eps) t_c + eps / C) is summed.
template <class S, class X, class T>
CrossEntropyTolerances probability_target_tolerances(const X& x, const T& t,
                                                     const xent::CrossEntropyOptions& opts) {
  const Index N = x.rows(), C = x.cols();
  const LD eps_ls = static_cast<LD>(opts.label_smoothing());
  Mat<LD> summed(N, C);
  for (Index n = 0; n < N; ++n)
    for (Index c = 0; c < C; ++c)
      summed(n, c) = (opts.has_weight() ? static_cast<LD>(opts.weight()(c)) : LD(1)) *
                     ((1 - eps_ls) * static_cast<LD>(t(n, c)) + eps_ls / C);
  return cross_entropy_tolerances<S>(x.template cast<LD>(), Mat<LD>::Zero(N, C), summed, true);
}

// Index targets y (samples in rows; samples whose target is ignore_index get zero tolerances):
// the target's w_y (1 - eps) is one term, smoothing's eps / C w_c are summed.
template <class S, class X, class Y>
CrossEntropyTolerances index_target_tolerances(const X& x, const Y& y,
                                               const xent::CrossEntropyOptions& opts) {
  const Index N = x.rows(), C = x.cols();
  const LD eps_ls = static_cast<LD>(opts.label_smoothing());
  const auto w = [&](Index c) {
    return opts.has_weight() ? static_cast<LD>(opts.weight()(c)) : LD(1);
  };
  Mat<LD> point = Mat<LD>::Zero(N, C), summed = Mat<LD>::Zero(N, C);
  for (Index n = 0; n < N; ++n) {
    if (static_cast<Index>(y(n)) == opts.ignore_index()) continue;
    for (Index c = 0; c < C; ++c) summed(n, c) = eps_ls / C * w(c);
    point(n, static_cast<Index>(y(n))) = (1 - eps_ls) * w(static_cast<Index>(y(n)));
  }
  return cross_entropy_tolerances<S>(x.template cast<LD>(), point, summed, false);
}

}  // namespace xt
