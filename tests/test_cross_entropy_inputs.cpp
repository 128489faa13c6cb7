// cross_entropy on every kind of input the API accepts: logits as row- and column-major matrices,
// Maps with an OuterStride over padded buffers, Blocks of bigger matrices, Refs and transposed
// expressions; targets as row vectors, Maps and segments, probability targets in other storage;
// outputs (per-sample vectors and gradients) as Maps, Blocks and other storage orders, written inside
// their bounds only; class indices of every integer type. (Kept apart from test_cross_entropy.cpp,
// which checks the values over generated options, so that the two compile in parallel.)
#include <string>
#include <type_traits>
#include <vector>
#include <xent/reference.hpp>

#include "test_support.hpp"

using namespace xt;
using xent::CrossEntropyOptions;
using xent::Reduction;

namespace {

// A reference result for one case, with a tolerance that comfortably covers the library's rounding:
// the inputs here are small (C <= 12, logits ~N(0, 3^2), weights <= 3), where the error model of
// test_cross_entropy.cpp gives at most 2 eps Q (2 M + C + 2) <= ~200 eps for the per-sample losses
// and ~100 eps for gradient entries; every check below uses 256 eps absolute (+ 4 eps relative), so
// any wrong stride, offset, transposition or index would show up as an O(1) error.
template <class S>
struct Expected {
  Vec<LD> per_sample;
  LD loss;
  Mat<LD> grad;  // of the reduced loss, grad_output 1
  double atol;
  double rtol;
};

template <class S, class Y>
Expected<S> expected(const Mat<S>& x, const Y& y, const CrossEntropyOptions& opts) {
  return {xent::reference::cross_entropy_per_sample<LD>(x, y, opts), xent::reference::cross_entropy<LD>(x, y, opts),
          xent::reference::cross_entropy_backward<LD>(x, y, opts), 256 * eps<S>(), 4 * eps<S>()};
}

template <class S>
CrossEntropyOptions options(Layout layout, Rng& rng, Index classes, bool probability_targets) {
  CrossEntropyOptions opts;
  opts.layout(layout).reduction(rng.chance(0.5) ? Reduction::Mean : Reduction::Sum);
  if (rng.chance(0.7)) opts.weight(random_weights(classes, rng).cwiseAbs() + Vec<double>::Constant(classes, 0.25));
  opts.label_smoothing(rng.pick({0.0, 0.1}));
  if (!probability_targets) opts.ignore_index(rng.integer(0, classes - 1));
  return opts;
}

// Loss and gradient of the input view xv (values x) against the reference. (forward_backward only:
// every entry point binds its input the same way, and each extra instantiation costs compile time.)
template <class S, class XV, class Y>
void check_input_view(const XV& xv, const Y& y, const CrossEntropyOptions& opts, const Expected<S>& ref,
                      const char* what) {
  INFO(what << ", " << layout_name(opts.layout()));
  Mat<S> grad;
  const S loss = xent::cross_entropy_forward_backward(xv, y, grad, opts);
  require_close(loss, ref.loss, ref.rtol, ref.atol, "forward_backward loss");
  require_close(grad, ref.grad, ref.rtol, ref.atol, "forward_backward gradient");
}

template <class S>
Mat<S> logits_for(Layout layout, Index N, Index C, Rng& rng) {
  const bool rows = layout == Layout::SamplesInRows;
  return random_logits<S>(rows ? N : C, rows ? C : N, rng, 3.0);
}

}  // namespace

TEMPLATE_TEST_CASE("cross_entropy accepts logits of every dense kind", "[cross_entropy][inputs]", float, double) {
  using S = TestType;
  const int seed = GENERATE(range(1, 7));
  Rng rng(static_cast<std::uint64_t>(3000 + seed));
  for (const Layout layout : {Layout::SamplesInRows, Layout::SamplesInColumns}) {
    const Index N = rng.integer(1, 12), C = rng.integer(1, 12);
    const Mat<S> x = logits_for<S>(layout, N, C, rng);
    INFO("seed " << seed << ", " << scalar_name<S>() << ", N " << N << ", C " << C);
    const CrossEntropyOptions opts = options<S>(layout, rng, C, false);
    const Vec<std::int64_t> y = random_class_targets<std::int64_t>(N, C, rng, -100, 0.0);
    const Expected<S> ref = expected(x, y, opts);

    check_input_view<S>(x, y, opts, ref, "column-major Matrix");
    const RowMat<S> row_major = x;
    check_input_view<S>(row_major, y, opts, ref, "row-major Matrix");
    Padded<S, Eigen::ColMajor> padded_col = Padded<S, Eigen::ColMajor>::from(x);
    check_input_view<S>(padded_col.map(), y, opts, ref, "column-major Map with OuterStride");
    Padded<S, Eigen::RowMajor> padded_row = Padded<S, Eigen::RowMajor>::from(x);
    check_input_view<S>(padded_row.map(), y, opts, ref, "row-major Map with OuterStride");
    Embedded<S, Eigen::ColMajor> embedded(x);
    check_input_view<S>(embedded.block(), y, opts, ref, "Block of a bigger matrix");
    const Eigen::Ref<const Mat<S>> ref_view(x);
    check_input_view<S>(ref_view, y, opts, ref, "Ref<const Matrix>");

    // The transposed expression in the other layout is the same problem.
    CrossEntropyOptions flipped = opts;
    flipped.layout(layout == Layout::SamplesInRows ? Layout::SamplesInColumns : Layout::SamplesInRows);
    INFO("transposed expression");
    const auto grad_t = xent::cross_entropy_backward(x.transpose(), y, flipped);
    STATIC_REQUIRE(std::is_same<std::decay_t<decltype(grad_t)>, RowMat<S>>::value);
    require_close(grad_t.transpose(), ref.grad, ref.rtol, ref.atol, "backward");

    // The returned gradient keeps the input's storage order.
    const auto grad_row = xent::cross_entropy_backward(row_major, y, opts);
    STATIC_REQUIRE(std::is_same<std::decay_t<decltype(grad_row)>, RowMat<S>>::value);
    require_close(grad_row, ref.grad, ref.rtol, ref.atol, "backward of a row-major matrix");
  }
}

// Target and output kinds do not depend on the scalar type: double only, to save compile time.
TEST_CASE("cross_entropy accepts targets and outputs of every kind", "[cross_entropy][inputs]") {
  using S = double;
  const int seed = GENERATE(range(1, 5));
  Rng rng(static_cast<std::uint64_t>(4000 + seed));
  const Layout layout = GENERATE(Layout::SamplesInRows, Layout::SamplesInColumns);
  const Index N = rng.integer(1, 10), C = rng.integer(2, 10);
  const Mat<S> x = logits_for<S>(layout, N, C, rng);
  INFO("seed " << seed << ", " << layout_name(layout) << ", N " << N << ", C " << C);
  const CrossEntropyOptions opts = options<S>(layout, rng, C, false);
  const Vec<std::int64_t> y = random_class_targets<std::int64_t>(N, C, rng, opts.ignore_index(), 0.2);
  const Expected<S> ref = expected(x, y, opts);

  SECTION("class-index targets as a row vector, a Map and a segment") {
    const Eigen::Matrix<std::int64_t, 1, Dynamic> y_row = y.transpose();
    require_close(xent::cross_entropy_per_sample(x, y_row, opts), ref.per_sample, ref.rtol, ref.atol, "row vector");
    std::vector<std::int64_t> buffer(y.data(), y.data() + N);
    const Eigen::Map<const Vec<std::int64_t>> y_map(buffer.data(), N);
    require_close(xent::cross_entropy_per_sample(x, y_map, opts), ref.per_sample, ref.rtol, ref.atol, "Map");
    Vec<std::int64_t> holder = Vec<std::int64_t>::Constant(N + 4, 999);
    holder.segment(2, N) = y;
    require_close(xent::cross_entropy(x, holder.segment(2, N), opts), ref.loss, ref.rtol, ref.atol, "segment");
  }

  SECTION("probability targets in another storage order, a padded Map and a Block") {
    CrossEntropyOptions prob_opts = opts;
    prob_opts.ignore_index(-100);
    const Mat<S> t = random_probabilities<S>(N, C, rng, layout);
    const Expected<S> ref_prob = expected(x, t, prob_opts);
    const RowMat<S> t_row = t;
    require_close(xent::cross_entropy_per_sample(x, t_row, prob_opts), ref_prob.per_sample, ref.rtol, ref.atol,
                  "row-major targets");
    Padded<S, Eigen::RowMajor> t_padded = Padded<S, Eigen::RowMajor>::from(t);
    Mat<S> grad;
    const S loss = xent::cross_entropy_forward_backward(x, t_padded.map(), grad, prob_opts);
    require_close(loss, ref_prob.loss, ref.rtol, ref.atol, "padded Map targets: loss");
    require_close(grad, ref_prob.grad, ref.rtol, ref.atol, "padded Map targets: gradient");
    Embedded<S, Eigen::ColMajor> t_block(t);
    require_close(xent::cross_entropy_backward(x, t_block.block(), prob_opts), ref_prob.grad, ref.rtol, ref.atol,
                  "Block targets: gradient");
    // Targets of the other floating type are converted to the logits' type.
    const Mat<float> t_float = t.template cast<float>();
    const Mat<double> t_rounded = t_float.template cast<double>();
    require_close(xent::cross_entropy(x, t_float, prob_opts), xent::reference::cross_entropy<LD>(x, t_rounded, prob_opts),
                  ref.rtol, ref.atol, "float targets of double logits: loss");
  }

  SECTION("per-sample outputs: row vector, Map, segment") {
    Eigen::Matrix<S, 1, Dynamic> out_row;
    xent::cross_entropy_per_sample(x, y, out_row, opts);
    require_close(out_row.transpose(), ref.per_sample, ref.rtol, ref.atol, "row vector");
    std::vector<S> buffer(static_cast<std::size_t>(N + 2), S(-7.5));
    Eigen::Map<Vec<S>> out_map(buffer.data() + 1, N);
    xent::cross_entropy_per_sample(x, y, out_map, opts);
    require_close(out_map, ref.per_sample, ref.rtol, ref.atol, "Map");
    REQUIRE(buffer.front() == S(-7.5));
    REQUIRE(buffer.back() == S(-7.5));
    Vec<S> holder = Vec<S>::Constant(N + 3, S(-7.5));
    xent::cross_entropy_per_sample(x, y, holder.segment(1, N), opts);
    require_close(holder.segment(1, N), ref.per_sample, ref.rtol, ref.atol, "segment");
    REQUIRE(holder(0) == S(-7.5));
    REQUIRE(holder(N + 1) == S(-7.5));
    REQUIRE(holder(N + 2) == S(-7.5));
    // Strided: a row of a column-major matrix (memory step 3) and a column of a row-major one.
    Mat<S> strided = Mat<S>::Constant(3, N, S(-7.5));
    xent::cross_entropy_per_sample(x, y, strided.row(1), opts);
    require_close(strided.row(1).transpose(), ref.per_sample, ref.rtol, ref.atol, "row of a column-major matrix");
    REQUIRE((strided.row(0).array() == S(-7.5)).all());
    REQUIRE((strided.row(2).array() == S(-7.5)).all());
    RowMat<S> strided_rows = RowMat<S>::Constant(N, 3, S(-7.5));
    xent::cross_entropy_per_sample(x, y, strided_rows.col(2), opts);
    require_close(strided_rows.col(2), ref.per_sample, ref.rtol, ref.atol, "column of a row-major matrix");
    REQUIRE((strided_rows.leftCols(2).array() == S(-7.5)).all());
    // No direct access to memory: written coefficient by coefficient.
    Vec<S> reversed = Vec<S>::Constant(N, S(-7.5));
    xent::cross_entropy_per_sample(x, y, reversed.reverse(), opts);
    require_close(reversed.reverse(), ref.per_sample, ref.rtol, ref.atol, "reversed vector expression");
  }

  SECTION("gradient outputs: other storage order, padded Map, Block") {
    RowMat<S> grad_row;
    const S loss = xent::cross_entropy_forward_backward(x, y, grad_row, opts);
    require_close(loss, ref.loss, ref.rtol, ref.atol, "loss");
    require_close(grad_row, ref.grad, ref.rtol, ref.atol, "row-major gradient of column-major logits");
    Padded<S, Eigen::RowMajor> grad_padded(x.rows(), x.cols(), 2, S(-7.5));
    xent::cross_entropy_forward_backward(x, y, grad_padded.map(), opts);
    require_close(grad_padded.map(), ref.grad, ref.rtol, ref.atol, "padded Map gradient");
    REQUIRE(grad_padded.padding_intact());
    Embedded<S, Eigen::ColMajor> grad_block(x.rows(), x.cols(), S(-7.5));
    xent::cross_entropy_forward_backward(x, y, grad_block.block(), opts);
    require_close(grad_block.block(), ref.grad, ref.rtol, ref.atol, "Block gradient");
    REQUIRE((grad_block.big().array() == S(-7.5)).count() == grad_block.big().size() - x.size());
  }

  SECTION("per-sample grad_outputs as a row vector and a Map") {
    Vec<S> gv(N);
    for (Index n = 0; n < N; ++n) gv(n) = static_cast<S>(rng.uniform(-2, 2));
    const Mat<LD> ref_grad = xent::reference::cross_entropy_per_sample_backward<LD>(x, y, gv, opts);
    const Eigen::Matrix<S, 1, Dynamic> gv_row = gv.transpose();
    require_close(xent::cross_entropy_per_sample_backward(x, y, gv_row, opts), ref_grad, ref.rtol, ref.atol,
                  "row vector grad_outputs");
    const Eigen::Map<const Vec<S>> gv_map(gv.data(), N);
    require_close(xent::cross_entropy_per_sample_backward(x, y, gv_map, opts), ref_grad, ref.rtol, ref.atol,
                  "Map grad_outputs");
    Mat<S> gv_strided = Mat<S>::Zero(2, N);
    gv_strided.row(1) = gv.transpose();
    require_close(xent::cross_entropy_per_sample_backward(x, y, gv_strided.row(1), opts), ref_grad, ref.rtol,
                  ref.atol, "grad_outputs: a row of a column-major matrix");
    const Vec<S> gv_reversed = gv.reverse();
    require_close(xent::cross_entropy_per_sample_backward(x, y, gv_reversed.reverse(), opts), ref_grad, ref.rtol,
                  ref.atol, "grad_outputs: a reversed expression");
    const Vec<LD> gv_wide = gv.template cast<LD>();
    require_close(xent::cross_entropy_per_sample_backward(x, y, gv_wide, opts), ref_grad, ref.rtol, ref.atol,
                  "grad_outputs of another scalar type");
  }
}

TEMPLATE_TEST_CASE("cross_entropy takes class indices of every integer type", "[cross_entropy][inputs]", int, long,
                   std::int64_t, std::uint8_t, unsigned) {
  using I = TestType;
  using S = double;
  const int seed = GENERATE(range(1, 9));
  Rng rng(static_cast<std::uint64_t>(5000 + seed));
  const Layout layout = rng.chance(0.5) ? Layout::SamplesInRows : Layout::SamplesInColumns;
  const Index N = rng.integer(0, 12), C = rng.integer(1, 12);
  const Mat<S> x = logits_for<S>(layout, N, C, rng);
  CrossEntropyOptions opts = options<S>(layout, rng, C, false);
  opts.label_smoothing(rng.pick({0.0, 0.1}));
  // ignore_index: -100 (targets of signed types hold some; unsigned ones cannot), a valid class, or
  // the type's largest value (out of range for every C here, e.g. 255 for uint8_t).
  const std::int64_t largest = static_cast<std::int64_t>(
      std::min<unsigned long long>(static_cast<unsigned long long>(std::numeric_limits<I>::max()),
                                   static_cast<unsigned long long>(std::numeric_limits<std::int64_t>::max())));
  opts.ignore_index(rng.pick<std::int64_t>({-100, rng.integer(0, C - 1), largest}));
  const Vec<I> y = random_class_targets<I>(N, C, rng, opts.ignore_index(), 0.25);
  INFO("seed " << seed << ", N " << N << ", C " << C << ", ignore_index " << opts.ignore_index());

  // The same class indices as int64: the results must not depend on the integer type at all.
  const Vec<std::int64_t> y64 = y.template cast<std::int64_t>();
  require_same(xent::cross_entropy_per_sample(x, y, opts), xent::cross_entropy_per_sample(x, y64, opts),
               "per-sample losses vs int64 targets");
  Mat<S> grad, grad64;
  const S loss = xent::cross_entropy_forward_backward(x, y, grad, opts);
  const S loss64 = xent::cross_entropy_forward_backward(x, y64, grad64, opts);
  REQUIRE((loss == loss64 || (std::isnan(loss) && std::isnan(loss64))));
  require_same(grad, grad64, "gradient vs int64 targets");
  // And the values are right.
  const Expected<S> ref = expected(x, y64, opts);
  require_close(loss, ref.loss, ref.rtol, ref.atol, "loss vs reference");
  require_close(grad, ref.grad, ref.rtol, ref.atol, "gradient vs reference");
}
