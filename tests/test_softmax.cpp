// log_softmax, softmax, logsumexp and their backward: values against xent::reference in long double
// and gradients against central finite differences, over float and double, both layouts, both
// storage orders and the input kinds the API accepts (Matrix, Map with OuterStride, Block, Ref, a
// transposed expression), the out-parameter overloads, empty and one-class shapes, big close logits
// and -inf entries.
#include <string>
#include <type_traits>
#include <xent/reference.hpp>

#include "test_support.hpp"

using namespace xt;

namespace {

const Layout kLayouts[] = {Layout::SamplesInRows, Layout::SamplesInColumns};

// ---- tolerances ----------------------------------------------------------------------------------
// Each bound below is the rounding error of the formula the library evaluates in S (eps = S's machine
// epsilon), doubled for headroom; the reference is long double (64-bit mantissa), whose own error is
// negligible (2^11 times smaller than double's). For sample n with max m, s = sum_c exp(x_c - m):
//  * x_c - m is rounded once: <= eps/2 |x_c - m|;
//  * s: every exp has ~1 ulp of error and the sum of C terms at most (C - 1) eps relative, so log(s)
//    carries at most (C + 2) eps absolute error;
//  * log_softmax = (x_c - m) - log(s): the above plus one rounding of |lp_c|:
//      atol(n, c) = 2 eps (|x_c - m| + |lp_c| + C + 2),
//    i.e. a few ulp of |x - max|, the accuracy PyTorch's own float kernel has (see
//    pytorch-semantics.md section 1); relative error is NOT promised for the dominant class, whose
//    log-probability is -log(s) ~ -tiny.
//  * softmax = exp(x_c - m) / s: relative error eps (|x_c - m| / 2 + C + 4), so
//      atol(n, c) = 2 eps p_c (|x_c - m| + C + 4) + 4 min_normal(S):
//    the last term because below the smallest normal number relative accuracy ends: the library
//    flushes exp(x_c - m) < min_normal to 0 (Eigen 3.4's vectorized exp clamps its argument and
//    would return 2^-128 in float even for -inf), where the exact value is subnormal or smaller;
//  * logsumexp = m + log(s): atol = 2 eps (|m| + |lse| + C + 2).
template <class S>
struct ForwardTolerances {
  Mat<LD> lp, p;  // per element, in the input's layout
  Vec<LD> lse;    // per sample
};

template <class S>
ForwardTolerances<S> forward_tolerances(const Mat<S>& x, Layout layout) {
  const double e = eps<S>();
  const Mat<LD> rows = samples_in_rows(x, layout).template cast<LD>();
  const Mat<LD> lp_rows = xent::reference::log_softmax<LD>(rows);
  const Vec<LD> lse = xent::reference::logsumexp<LD>(rows);
  const LD C = static_cast<LD>(rows.cols());
  Mat<LD> tol_lp(rows.rows(), rows.cols()), tol_p(rows.rows(), rows.cols());
  Vec<LD> tol_lse(rows.rows());
  for (Index n = 0; n < rows.rows(); ++n) {
    const LD m = rows.cols() > 0 ? rows.row(n).maxCoeff() : LD(0);
    for (Index c = 0; c < rows.cols(); ++c) {
      const LD shifted = std::fabs(rows(n, c) - m);
      tol_lp(n, c) = 2 * e * (shifted + std::fabs(lp_rows(n, c)) + C + 2);
      tol_p(n, c) = 2 * e * std::exp(lp_rows(n, c)) * (shifted + C + 4) + 4 * LD(std::numeric_limits<S>::min());
    }
    tol_lse(n) = 2 * e * (std::fabs(m) + std::fabs(lse(n)) + C + 2);
  }
  return {from_samples_in_rows(tol_lp, layout), from_samples_in_rows(tol_p, layout), tol_lse};
}

// Backward, with g and y given exactly to both sides (only the backward's own rounding counts):
//  * log_softmax_backward = g_c - exp(y_c) sum(g): the sum of C terms has at most C eps sum|g|
//    error and exp(y_c) a relative eps (1 + |y_c|), so
//      atol(n, c) = 2 eps (|g_c| + exp(y_c) sum|g| (C + 2 + |y_c|));
//  * softmax_backward = y_c (g_c - sum(g y)): atol(n, c) = 2 eps y_c (|g_c| + (C + 2) sum|g y|).
template <class S>
Mat<LD> log_softmax_backward_tolerance(const Mat<S>& g, const Mat<S>& y, Layout layout) {
  const Mat<LD> gr = samples_in_rows(g, layout).template cast<LD>(), yr = samples_in_rows(y, layout).template cast<LD>();
  Mat<LD> tol(gr.rows(), gr.cols());
  const LD C = static_cast<LD>(gr.cols());
  for (Index n = 0; n < gr.rows(); ++n) {
    const LD abs_sum = gr.row(n).cwiseAbs().sum();
    for (Index c = 0; c < gr.cols(); ++c)
      tol(n, c) = 2 * eps<S>() * (std::fabs(gr(n, c)) + std::exp(yr(n, c)) * abs_sum * (C + 2 + std::fabs(yr(n, c))));
  }
  return from_samples_in_rows(tol, layout);
}

template <class S>
Mat<LD> softmax_backward_tolerance(const Mat<S>& g, const Mat<S>& y, Layout layout) {
  const Mat<LD> gr = samples_in_rows(g, layout).template cast<LD>(), yr = samples_in_rows(y, layout).template cast<LD>();
  Mat<LD> tol(gr.rows(), gr.cols());
  const LD C = static_cast<LD>(gr.cols());
  for (Index n = 0; n < gr.rows(); ++n) {
    const LD dot = (gr.row(n).array() * yr.row(n).array()).abs().sum();
    for (Index c = 0; c < gr.cols(); ++c)
      tol(n, c) = 2 * eps<S>() * std::fabs(yr(n, c)) * (std::fabs(gr(n, c)) + (C + 2) * dot) +
                  4 * LD(std::numeric_limits<S>::min());  // y may hold subnormals, see above
  }
  return from_samples_in_rows(tol, layout);
}

// The returned matrix has the input's scalar and storage order.
template <class XV, class R>
void require_plain_result_type(const R&) {
  using Expected = Eigen::Matrix<typename XV::Scalar, Dynamic, Dynamic, XV::IsRowMajor ? Eigen::RowMajor : Eigen::ColMajor>;
  STATIC_REQUIRE(std::is_same<R, Expected>::value);
}

// The three forward functions on an input view xv whose values are x's.
template <class S, class XV>
void check_forward(const XV& xv, const Mat<S>& x, Layout layout, const std::string& what) {
  INFO(what << ", " << layout_name(layout) << ", " << x.rows() << "x" << x.cols());
  const ForwardTolerances<S> tol = forward_tolerances(x, layout);
  const auto lp = xent::log_softmax(xv, layout);
  require_plain_result_type<XV>(lp);
  require_close(lp, xent::reference::log_softmax<LD>(x, layout), 0.0, tol.lp, "log_softmax");
  const auto p = xent::softmax(xv, layout);
  require_plain_result_type<XV>(p);
  require_close(p, xent::reference::softmax<LD>(x, layout), 0.0, tol.p, "softmax");
  const Vec<S> lse = xent::logsumexp(xv, layout);
  require_close(lse, xent::reference::logsumexp<LD>(x, layout), 0.0, tol.lse, "logsumexp");
}

template <class S>
void check_backward_values(const Mat<S>& g, const Mat<S>& y_log, const Mat<S>& y_soft, Layout layout) {
  require_close(xent::log_softmax_backward(g, y_log, layout), xent::reference::log_softmax_backward<LD>(g, y_log, layout),
                0.0, log_softmax_backward_tolerance(g, y_log, layout), "log_softmax_backward");
  require_close(xent::softmax_backward(g, y_soft, layout), xent::reference::softmax_backward<LD>(g, y_soft, layout), 0.0,
                softmax_backward_tolerance(g, y_soft, layout), "softmax_backward");
}

}  // namespace

TEMPLATE_TEST_CASE("softmax family matches the long double reference on random logits", "[softmax]", float, double) {
  using S = TestType;
  const int seed = GENERATE(range(1, 21));
  Rng rng(static_cast<std::uint64_t>(seed));
  for (const Layout layout : kLayouts) {
    const Index N = rng.integer(0, 24), C = rng.integer(1, 40);
    const bool rows = layout == Layout::SamplesInRows;
    const double scale = rng.pick({0.5, 3.0, 20.0});
    const Mat<S> x = random_logits<S>(rows ? N : C, rows ? C : N, rng, scale, layout, 0.3);
    INFO("seed " << seed << ", " << scalar_name<S>() << ", logits scale " << scale);
    check_forward(x, x, layout, "plain matrix");

    // Backward on random upstream gradients and the forward outputs.
    const Mat<S> g = random_logits<S>(x.rows(), x.cols(), rng, 1.0);
    check_backward_values<S>(g, xent::log_softmax(x, layout), xent::softmax(x, layout), layout);
  }
}

TEMPLATE_TEST_CASE("softmax family accepts every kind of dense input", "[softmax]", float, double) {
  using S = TestType;
  const int seed = GENERATE(range(1, 7));
  Rng rng(static_cast<std::uint64_t>(100 + seed));
  for (const Layout layout : kLayouts) {
    const Index N = rng.integer(1, 9), C = rng.integer(1, 12);
    const bool rows = layout == Layout::SamplesInRows;
    const Mat<S> x = random_logits<S>(rows ? N : C, rows ? C : N, rng, 4.0);
    INFO("seed " << seed << ", " << scalar_name<S>());

    const RowMat<S> row_major = x;
    check_forward(row_major, x, layout, "row-major matrix");

    Padded<S, Eigen::ColMajor> padded_col = Padded<S, Eigen::ColMajor>::from(x);
    check_forward(padded_col.map(), x, layout, "column-major Map with OuterStride");
    Padded<S, Eigen::RowMajor> padded_row = Padded<S, Eigen::RowMajor>::from(x);
    check_forward(padded_row.map(), x, layout, "row-major Map with OuterStride");

    Embedded<S, Eigen::ColMajor> embedded_col(x);
    check_forward(embedded_col.block(), x, layout, "Block of a column-major matrix");

    const Eigen::Ref<const Mat<S>> ref(x);
    check_forward(ref, x, layout, "Ref<const Matrix>");

    // A transposed expression in the other layout is the same problem.
    const Layout other = rows ? Layout::SamplesInColumns : Layout::SamplesInRows;
    const Mat<S> xt_plain = x.transpose();
    check_forward(x.transpose(), xt_plain, other, "transpose expression, other layout");

    // Backward with mixed argument kinds.
    const Mat<S> g = random_logits<S>(x.rows(), x.cols(), rng, 1.0);
    const Mat<S> y_log = xent::log_softmax(x, layout), y_soft = xent::softmax(x, layout);
    {
      INFO("backward on row-major matrices");
      const RowMat<S> gr = g, yl = y_log, ys = y_soft;
      const auto a = xent::log_softmax_backward(gr, yl, layout);
      require_plain_result_type<RowMat<S>>(a);
      require_close(a, xent::reference::log_softmax_backward<LD>(g, y_log, layout), 0.0,
                    log_softmax_backward_tolerance(g, y_log, layout), "log_softmax_backward");
      require_close(xent::softmax_backward(gr, ys, layout), xent::reference::softmax_backward<LD>(g, y_soft, layout), 0.0,
                    softmax_backward_tolerance(g, y_soft, layout), "softmax_backward");
    }
    {
      INFO("backward on a padded Map (grad_output) and a Block (output)");
      Padded<S, Eigen::RowMajor> gp = Padded<S, Eigen::RowMajor>::from(g);
      Embedded<S, Eigen::ColMajor> yl(y_log), ys(y_soft);
      require_close(xent::log_softmax_backward(gp.map(), yl.block(), layout),
                    xent::reference::log_softmax_backward<LD>(g, y_log, layout), 0.0,
                    log_softmax_backward_tolerance(g, y_log, layout), "log_softmax_backward");
      require_close(xent::softmax_backward(gp.map(), ys.block(), layout),
                    xent::reference::softmax_backward<LD>(g, y_soft, layout), 0.0,
                    softmax_backward_tolerance(g, y_soft, layout), "softmax_backward");
    }
  }
}

TEMPLATE_TEST_CASE("softmax family out-parameter overloads", "[softmax]", float, double) {
  using S = TestType;
  const Layout layout = GENERATE(Layout::SamplesInRows, Layout::SamplesInColumns);
  Rng rng(7);
  {
    INFO(layout_name(layout) << ", " << scalar_name<S>());
    const bool rows = layout == Layout::SamplesInRows;
    const Index N = 5, C = 7;
    const Mat<S> x = random_logits<S>(rows ? N : C, rows ? C : N, rng, 3.0);
    const Mat<S> lp = xent::log_softmax(x, layout), p = xent::softmax(x, layout);
    const Vec<S> lse = xent::logsumexp(x, layout);
    const ForwardTolerances<S> tol = forward_tolerances(x, layout);
    require_close(lp, xent::reference::log_softmax<LD>(x, layout), 0.0, tol.lp, "log_softmax");

    // Every output kind is compared with the reference; the storage order of the output may change
    // which of Eigen's exp implementations runs (vectorized along contiguous rows), so results of
    // different output types agree within the tolerances, not bitwise.
    const auto check_lp = [&](const Mat<S>& out, const char* what) {
      require_close(out, xent::reference::log_softmax<LD>(x, layout), 0.0, tol.lp, what);
    };
    const auto check_p = [&](const Mat<S>& out, const char* what) {
      require_close(out, xent::reference::softmax<LD>(x, layout), 0.0, tol.p, what);
    };
    const auto check_lse = [&](const Vec<S>& out, const char* what) {
      require_close(out, xent::reference::logsumexp<LD>(x, layout), 0.0, tol.lse, what);
    };
    SECTION("a plain matrix of the wrong size is resized") {
      Mat<S> out(1, 2);
      xent::log_softmax(x, out, layout);
      require_same(out, lp, "log_softmax into a resized Matrix (the same computation as the returning overload)");
      RowMat<S> out_row(3, 1);
      xent::softmax(x, out_row, layout);
      check_p(out_row, "softmax into a resized row-major Matrix");
      Vec<S> v(1);
      xent::logsumexp(x, v, layout);
      require_same(v, lse, "logsumexp into a resized vector");
      Eigen::Matrix<S, 1, Dynamic> v_row;
      xent::logsumexp(x, v_row, layout);
      check_lse(v_row.transpose(), "logsumexp into a row vector");
    }
    SECTION("a padded Map is written inside its stride only") {
      Padded<S, Eigen::ColMajor> out_col(x.rows(), x.cols(), 2, S(-7.5));
      xent::log_softmax(x, out_col.map(), layout);
      check_lp(out_col.map(), "log_softmax into a column-major Map");
      REQUIRE(out_col.padding_intact());
      Padded<S, Eigen::RowMajor> out_row(x.rows(), x.cols(), 2, S(-7.5));
      xent::softmax(x, out_row.map(), layout);
      check_p(out_row.map(), "softmax into a row-major Map");
      REQUIRE(out_row.padding_intact());
      std::vector<S> buffer(static_cast<std::size_t>(N + 2), S(-7.5));
      Eigen::Map<Vec<S>> v(buffer.data() + 1, N);
      xent::logsumexp(x, v, layout);
      check_lse(v, "logsumexp into a Map");
      REQUIRE(buffer.front() == S(-7.5));
      REQUIRE(buffer.back() == S(-7.5));
    }
    SECTION("a Block of a bigger matrix is written inside the block only") {
      Embedded<S, Eigen::RowMajor> big(x.rows(), x.cols(), S(-7.5));
      xent::log_softmax(x, big.block(), layout);
      check_lp(big.block(), "log_softmax into a Block");
      const Index outside = (big.big().array() == S(-7.5)).count();
      REQUIRE(outside == big.big().size() - x.size());
      Embedded<S, Eigen::ColMajor> big_soft(x.rows(), x.cols(), S(-7.5));
      xent::softmax(x, big_soft.block(), layout);
      check_p(big_soft.block(), "softmax into a Block");
      Vec<S> holder = Vec<S>::Constant(N + 3, S(-7.5));
      xent::logsumexp(x, holder.segment(1, N), layout);
      check_lse(holder.segment(1, N), "logsumexp into a segment");
      REQUIRE(holder(0) == S(-7.5));
      REQUIRE(holder(N + 1) == S(-7.5));
      REQUIRE(holder(N + 2) == S(-7.5));
    }
  }
}

TEST_CASE("softmax family gradients match central finite differences", "[softmax][gradient]") {
  const int seed = GENERATE(range(1, 16));
  Rng rng(static_cast<std::uint64_t>(200 + seed));
  for (const Layout layout : kLayouts) {
    INFO("seed " << seed << ", " << layout_name(layout));
    const bool rows = layout == Layout::SamplesInRows;
    const Index N = rng.integer(1, 6), C = rng.integer(1, 9);
    const Mat<double> x = random_logits<double>(rows ? N : C, rows ? C : N, rng, 3.0);
    const Mat<double> g = random_logits<double>(x.rows(), x.cols(), rng, 1.0);
    const auto entries = entries_to_check(x.rows(), x.cols(), rng);
    // Tolerance: the step h = 1e-6 leaves a truncation error h^2/6 |f'''| ~ 1e-13 sum|g|, covered by
    // rtol 1e-7; the rounding of the affected outputs (each within 2 eps (|x - m| + C + 4), see
    // above) is divided by the step 2h, giving atol = sum|g| * 2 eps (max|x - m| + C + 4) / h,
    // about 1e-8 here.
    const double spread = x.maxCoeff() - x.minCoeff();
    const double atol = g.cwiseAbs().sum() * 2 * eps<double>() * (spread + static_cast<double>(C) + 4) / 1e-6;

    const Vec<double> fd_log = central_differences(
        [&](const Mat<double>& z) { return Mat<double>(xent::log_softmax(z, layout)); }, x, g, entries);
    const Mat<double> grad_log = xent::log_softmax_backward(g, xent::log_softmax(x, layout), layout);
    require_close(gather(grad_log, entries), fd_log, 1e-7, atol, "log_softmax_backward vs finite differences");

    const Vec<double> fd_soft = central_differences(
        [&](const Mat<double>& z) { return Mat<double>(xent::softmax(z, layout)); }, x, g, entries);
    const Mat<double> grad_soft = xent::softmax_backward(g, xent::softmax(x, layout), layout);
    require_close(gather(grad_soft, entries), fd_soft, 1e-7, atol, "softmax_backward vs finite differences");

    // logsumexp's gradient is softmax: check it with per-sample weights.
    Vec<double> w(N);
    for (Index n = 0; n < N; ++n) w(n) = rng.uniform(-2, 2);
    const Vec<double> fd_lse = central_differences(
        [&](const Mat<double>& z) { return Mat<double>(xent::logsumexp(z, layout)); }, x, w, entries);
    Mat<double> expected = xent::softmax(x, layout);
    for (Index n = 0; n < N; ++n) {
      if (rows) {
        expected.row(n) *= w(n);
      } else {
        expected.col(n) *= w(n);
      }
    }
    require_close(gather(expected, entries), fd_lse, 1e-7, atol, "softmax vs finite differences of logsumexp");
  }
}

TEMPLATE_TEST_CASE("softmax family on degenerate shapes", "[softmax][shapes]", float, double) {
  using S = TestType;
  const Layout layout = GENERATE(Layout::SamplesInRows, Layout::SamplesInColumns);
  Rng rng(11);
  {
    INFO(layout_name(layout) << ", " << scalar_name<S>());
    const bool rows = layout == Layout::SamplesInRows;
    const auto shaped = [&](Index samples, Index classes) {
      return random_logits<S>(rows ? samples : classes, rows ? classes : samples, rng, 5.0);
    };

    SECTION("C = 1: log_softmax 0, softmax 1, logsumexp x, zero gradients") {
      for (const Index N : {Index(0), Index(1), Index(6)}) {
        const Mat<S> x = shaped(N, 1);
        const Mat<S> lp = xent::log_softmax(x, layout);
        const Mat<S> p = xent::softmax(x, layout);
        require_same(lp, Mat<S>::Zero(x.rows(), x.cols()), "log_softmax");
        require_same(p, Mat<S>::Ones(x.rows(), x.cols()), "softmax");
        const Vec<S> x_vec = Eigen::Map<const Vec<S>>(x.data(), x.size());
        require_same(xent::logsumexp(x, layout), x_vec, "logsumexp");
        const Mat<S> g = shaped(N, 1);
        require_same(xent::log_softmax_backward(g, lp, layout), Mat<S>::Zero(x.rows(), x.cols()), "log_softmax_backward");
        require_same(xent::softmax_backward(g, p, layout), Mat<S>::Zero(x.rows(), x.cols()), "softmax_backward");
      }
    }
    SECTION("N = 0: empty results of the input's shape") {
      const Mat<S> x = shaped(0, 4);
      const Mat<S> lp = xent::log_softmax(x, layout);
      CHECK(lp.rows() == x.rows());
      CHECK(lp.cols() == x.cols());
      const Mat<S> p = xent::softmax(x, layout);
      CHECK(p.rows() == x.rows());
      CHECK(p.cols() == x.cols());
      CHECK(xent::logsumexp(x, layout).size() == 0);
      const Mat<S> g = xent::log_softmax_backward(x, lp, layout);
      CHECK(g.size() == 0);
      CHECK(xent::softmax_backward(x, p, layout).size() == 0);
    }
    SECTION("N = 1") {
      const Mat<S> x = shaped(1, 9);
      check_forward(x, x, layout, "one sample");
      const Mat<S> g = shaped(1, 9);
      check_backward_values<S>(g, xent::log_softmax(x, layout), xent::softmax(x, layout), layout);
    }
    SECTION("C = 0: empty rows, logsumexp of nothing is -inf") {
      const Mat<S> x = shaped(3, 0);
      const Mat<S> lp = xent::log_softmax(x, layout);
      CHECK(lp.rows() == x.rows());
      CHECK(lp.cols() == x.cols());
      CHECK(xent::softmax(x, layout).size() == 0);
      const Vec<S> lse = xent::logsumexp(x, layout);
      require_same(lse, Vec<S>::Constant(3, -std::numeric_limits<S>::infinity()), "logsumexp");
      require_same(lse, xent::reference::logsumexp<LD>(x, layout), "logsumexp vs reference");
      CHECK(xent::log_softmax_backward(x, lp, layout).size() == 0);
    }
  }
}

TEMPLATE_TEST_CASE("softmax family keeps big close logits exact", "[softmax][precision]", float, double) {
  using S = TestType;
  // Logits around 1e8 (float: spacing 8, so 1e8 +- 8 are exact) and 1e16 (double: spacing 2). A
  // log_softmax computed as x - (max + log s) would lose log s = 3.35e-4 entirely (PyTorch issue
  // #11752). The dominant class's log-probability -log(s) ~ -3.35e-4 is only accurate to a few ulp
  // of 1 (log of a number near 1), so the tolerance is 4 eps absolute plus 4 eps relative.
  const S base = std::is_same<S, float>::value ? S(1e8) : S(1e16);
  for (const Layout layout : kLayouts) {
    INFO(layout_name(layout) << ", " << scalar_name<S>());
    Mat<S> rows_x(2, 3);
    rows_x << base, base + 8, base - 8,   //
        -base, -base + 8, -base - 8;      // and big negative ones
    const Mat<S> x = from_samples_in_rows(rows_x, layout);
    const double e = eps<S>();
    const Mat<S> lp = xent::log_softmax(x, layout);
    require_close(lp, xent::reference::log_softmax<LD>(x, layout), 4 * e, 4 * e, "log_softmax");
    // The exact values: -8 - log(1 + e^-8 + e^-16) etc.
    const double l = std::log1p(std::exp(-8.0) + std::exp(-16.0));
    Mat<double> expected_rows(2, 3);
    expected_rows << -8 - l, -l, -16 - l, -8 - l, -l, -16 - l;
    require_close(lp, from_samples_in_rows(expected_rows, layout), 4 * e, 4 * e, "log_softmax, closed form");
    require_close(xent::softmax(x, layout), xent::reference::softmax<LD>(x, layout), 4 * e, 4 * e, "softmax");
    // logsumexp = max + log(s): the reference's exact value rounded to S is within half an ulp of
    // the max (~1e8 or 1e16), so allow 2 eps relative.
    require_close(xent::logsumexp(x, layout), xent::reference::logsumexp<LD>(x, layout), 2 * e, 0.0, "logsumexp");
  }
}

TEMPLATE_TEST_CASE("softmax family on rows with -inf entries", "[softmax][masked]", float, double) {
  using S = TestType;
  const S inf = std::numeric_limits<S>::infinity();
  for (const Layout layout : kLayouts) {
    INFO(layout_name(layout) << ", " << scalar_name<S>());
    Mat<S> rows_x(4, 3);
    rows_x << 1, 2, -inf,  //
        -inf, 0, -inf,     // one finite class: log-probability 0
        -inf, -inf, -inf,  // all masked: NaN log-probabilities (as PyTorch), logsumexp -inf
        -1e30f, 0, 1;      // far but finite
    const Mat<S> x = from_samples_in_rows(rows_x, layout);
    const Mat<S> lp = xent::log_softmax(x, layout), p = xent::softmax(x, layout);
    const Mat<S> lp_rows = samples_in_rows(lp, layout), p_rows = samples_in_rows(p, layout);
    const double e = eps<S>();
    // Finite entries: a few ulp (values of order 1); masked entries exactly -inf / 0.
    require_close(lp, xent::reference::log_softmax<LD>(x, layout), 4 * e, 4 * e, "log_softmax");
    require_close(p, xent::reference::softmax<LD>(x, layout), 4 * e, 4 * e, "softmax");
    CHECK(lp_rows(0, 2) == -inf);
    CHECK(p_rows(0, 2) == 0);
    CHECK(lp_rows(1, 1) == 0);
    CHECK(p_rows(1, 1) == 1);
    CHECK(p_rows(1, 0) == 0);
    CHECK(std::isnan(lp_rows(2, 0)));
    CHECK(std::isnan(p_rows(2, 1)));
    CHECK(lp_rows(3, 0) == S(-1e30f));  // -1e30 - 1 - log(1 + e^-1) rounds to -1e30
    require_close(lp_rows(0, 0), -1.3132616875182228, 4 * e, 0.0, "log_softmax([1, 2, -inf])[0]");
    require_close(p_rows(0, 1), 0.7310585786300049, 4 * e, 0.0, "softmax([1, 2, -inf])[1]");

    const Vec<S> lse = xent::logsumexp(x, layout);
    require_close(lse, xent::reference::logsumexp<LD>(x, layout), 4 * e, 4 * e, "logsumexp");
    CHECK(lse(1) == 0);
    CHECK(lse(2) == -inf);

    // Backward through the masked entries: log_softmax_backward gives g_c - 0 there, softmax_backward 0.
    Mat<S> g_rows(4, 3);
    g_rows << 0.5, -1, 2, 1, 1, 1, 0.25, 0.5, 0.75, -2, 1, 0.5;
    const Mat<S> g = from_samples_in_rows(g_rows, layout);
    const Mat<S> gl = samples_in_rows(xent::log_softmax_backward(g, lp, layout), layout);
    const Mat<S> gs = samples_in_rows(xent::softmax_backward(g, p, layout), layout);
    CHECK(gl(0, 2) == g_rows(0, 2));
    CHECK(gs(0, 2) == 0);
    const auto finite_rows = [&](const Mat<S>& m) { return Mat<S>(m.topRows(2)); };
    const Mat<LD> ref_gl = samples_in_rows(xent::reference::log_softmax_backward<LD>(g, lp, layout), layout);
    const Mat<LD> ref_gs = samples_in_rows(xent::reference::softmax_backward<LD>(g, p, layout), layout);
    require_close(finite_rows(gl), Mat<LD>(ref_gl.topRows(2)), 8 * e, 8 * e, "log_softmax_backward");
    require_close(finite_rows(gs), Mat<LD>(ref_gs.topRows(2)), 8 * e, 8 * e, "softmax_backward");
  }
}
