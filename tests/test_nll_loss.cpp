// nll_loss: every public entry point (reduced mean/sum, both per-sample overloads, backward with
// grad_output != 1, per-sample backward, forward_backward, the NLLLoss methods) against an
// independent closed form and xent::reference in long double over generated cases (random N, C,
// weights with zeros and negatives, ignore_index -100 / a valid class / out of range, mean and sum,
// both layouts); gradients against central finite differences; other input kinds and integer types;
// and the identity cross_entropy = nll_loss o log_softmax, values and gradients.
#include <string>
#include <type_traits>
#include <vector>
#include <xent/reference.hpp>

#include "test_support.hpp"

using namespace xt;
using xent::NLLLossOptions;
using xent::Reduction;

namespace {

NLLLossOptions random_options(Rng& rng, Index classes, Layout layout, std::string& description) {
  NLLLossOptions opts;
  opts.layout(layout).reduction(rng.chance(0.5) ? Reduction::Mean : Reduction::Sum);
  description = std::string(layout_name(layout)) + (opts.reduction() == Reduction::Mean ? ", mean" : ", sum");
  if (rng.chance(0.6)) {
    opts.weight(random_weights(classes, rng));
    description += ", weight";
  }
  std::int64_t ignore = -100;
  switch (rng.integer(0, 2)) {
    case 0: ignore = -100; break;
    case 1: ignore = rng.integer(0, classes - 1); break;  // a valid class
    default: ignore = classes + rng.integer(0, 1000); break;  // out of range
  }
  opts.ignore_index(ignore);
  description += ", ignore_index " + std::to_string(ignore);
  return opts;
}

// The closed form, independent of the library: loss_n = -w_{y_n} x_{n, y_n} (0 when ignored), the
// mean divides by W = the summed weights of the non-ignored targets, and the gradient of
// sum_n g_n loss_n is -g_n w_{y_n} at (n, y_n), 0 everywhere else.
struct Closed {
  Vec<LD> per_sample;
  Vec<LD> weight_of_target;  // w_{y_n}, 0 when ignored
  std::vector<bool> ignored;
  LD denominator = 0;
  bool any_loss = false;
};

template <class S, class Y>
Closed closed_form(const Mat<S>& x, const Y& y, const NLLLossOptions& opts) {
  const Mat<LD> rows = samples_in_rows(x, opts.layout()).template cast<LD>();
  Closed c;
  c.per_sample = Vec<LD>::Zero(rows.rows());
  c.weight_of_target = Vec<LD>::Zero(rows.rows());
  c.ignored.assign(static_cast<std::size_t>(rows.rows()), false);
  for (Index n = 0; n < rows.rows(); ++n) {
    if (static_cast<std::int64_t>(y(n)) == opts.ignore_index()) {
      c.ignored[static_cast<std::size_t>(n)] = true;
      continue;
    }
    const Index cls = static_cast<Index>(y(n));
    const LD w = opts.has_weight() ? static_cast<LD>(opts.weight()(cls)) : LD(1);
    c.per_sample(n) = -w * rows(n, cls);
    c.weight_of_target(n) = w;
    c.denominator += w;
    c.any_loss = true;
  }
  return c;
}

// The gradient of sum_n g_n loss_n in the layout's shape.
Mat<LD> closed_gradient(const Closed& c, const Vec<LD>& g, const Vec<std::int64_t>& y, Index C, Layout layout) {
  Mat<LD> rows = Mat<LD>::Zero(c.per_sample.size(), C);
  for (Index n = 0; n < rows.rows(); ++n) {
    if (!c.ignored[static_cast<std::size_t>(n)]) rows(n, static_cast<Index>(y(n))) = -g(n) * c.weight_of_target(n);
  }
  return from_samples_in_rows(rows, layout);
}

// Tolerances: a per-sample loss is one product -w x, rounded once (weights are multiples of 1/4, so
// the float product of a 24-bit x may round): rtol 2 eps. The reductions sum in double (float) or
// compensated double: atol = 2 eps sum_n |loss_n| (/ |W| for the mean), rtol 2 eps for the final
// rounding. Gradient entries are -w g / W with g / W formed in double and rounded to S: rtol 4 eps;
// every other entry is exactly 0 (atol 0).
template <class S>
void check_entry_points(const Mat<S>& x, const Vec<std::int64_t>& y, const NLLLossOptions& opts, Rng& rng) {
  const Layout layout = opts.layout();
  const Index N = layout == Layout::SamplesInRows ? x.rows() : x.cols();
  const Index C = layout == Layout::SamplesInRows ? x.cols() : x.rows();
  const double e = eps<S>();
  const Closed c = closed_form(x, y, opts);
  const bool mean = opts.reduction() == Reduction::Mean;
  const bool degenerate_mean = mean && c.denominator == 0 && c.any_loss;  // x / 0 with rounding-dependent sign
  const LD factor = !mean ? LD(1) : c.denominator == 0 ? LD(0) : 1 / c.denominator;
  const LD expected_loss = mean ? c.per_sample.sum() / c.denominator : c.per_sample.sum();
  const double reduced_atol = static_cast<double>(2 * e * c.per_sample.cwiseAbs().sum() * std::fabs(factor));

  // The reference agrees with the closed form.
  const Vec<LD> ref_per_sample = xent::reference::nll_loss_per_sample<LD>(x, y, opts);
  require_close(ref_per_sample, c.per_sample, 0.0, 0.0, "reference per-sample vs closed form");

  // Reduced, per-sample.
  const S loss = xent::nll_loss(x, y, opts);
  if (degenerate_mean) {
    CHECK_FALSE(std::isfinite(loss));
  } else {
    require_close(loss, expected_loss, 2 * e, reduced_atol, "nll_loss");
    require_close(loss, xent::reference::nll_loss<LD>(x, y, opts), 2 * e, reduced_atol, "nll_loss vs reference");
  }
  const Vec<S> per_sample = xent::nll_loss_per_sample(x, y, opts);
  require_close(per_sample, c.per_sample, 2 * e, 0.0, "nll_loss_per_sample");
  Vec<S> out(3);
  xent::nll_loss_per_sample(x, y, out, opts);
  require_same(out, per_sample, "nll_loss_per_sample into a vector");

  // Gradients.
  const S g = static_cast<S>(rng.pick({-0.75, 2.5, 0.3}));
  Vec<S> gv(N);
  for (Index n = 0; n < N; ++n) gv(n) = static_cast<S>(rng.uniform(-2, 2));
  if (!degenerate_mean) {
    const Mat<LD> expected = closed_gradient(c, Vec<LD>::Constant(N, static_cast<LD>(g) * factor), y, C, layout);
    const Mat<S> backward = xent::nll_loss_backward(x, y, opts, g);
    require_close(backward, expected, 4 * e, 0.0, "nll_loss_backward");
    require_close(backward, xent::reference::nll_loss_backward<LD>(x, y, opts, static_cast<LD>(g)), 4 * e, 0.0,
                  "nll_loss_backward vs reference");
    Mat<S> grad(2, 7);
    const S fused = xent::nll_loss_forward_backward(x, y, grad, opts);
    require_close(fused, expected_loss, 2 * e, reduced_atol, "nll_loss_forward_backward loss");
    require_close(grad, closed_gradient(c, Vec<LD>::Constant(N, factor), y, C, layout), 4 * e, 0.0,
                  "nll_loss_forward_backward gradient");
  }
  const Mat<S> per_sample_backward = xent::nll_loss_per_sample_backward(x, y, gv, opts);
  require_close(per_sample_backward, closed_gradient(c, gv.template cast<LD>(), y, C, layout), 2 * e, 0.0,
                "nll_loss_per_sample_backward");
  require_close(per_sample_backward, xent::reference::nll_loss_per_sample_backward<LD>(x, y, gv, opts), 2 * e, 0.0,
                "nll_loss_per_sample_backward vs reference");

  // The loss object forwards to the same functions.
  const xent::NLLLoss criterion(opts);
  REQUIRE(criterion.options().ignore_index() == opts.ignore_index());
  const S object_loss = criterion(x, y);
  REQUIRE((object_loss == loss || (std::isnan(object_loss) && std::isnan(loss))));
  require_same(criterion.per_sample(x, y), per_sample, "NLLLoss::per_sample");
  Vec<S> object_out;
  criterion.per_sample(x, y, object_out);
  require_same(object_out, per_sample, "NLLLoss::per_sample(out)");
  require_same(criterion.per_sample_backward(x, y, gv), per_sample_backward, "NLLLoss::per_sample_backward");
  if (!degenerate_mean) {
    require_same(criterion.backward(x, y, g), xent::nll_loss_backward(x, y, opts, g), "NLLLoss::backward");
    Mat<S> object_grad, grad;
    const S object_fused = criterion.forward_backward(x, y, object_grad);
    const S fused = xent::nll_loss_forward_backward(x, y, grad, opts);
    REQUIRE((object_fused == fused || (std::isnan(object_fused) && std::isnan(fused))));
    require_same(object_grad, grad, "NLLLoss::forward_backward gradient");
  }
}

template <class S>
Mat<S> log_probabilities(Layout layout, Index N, Index C, Rng& rng) {
  const bool rows = layout == Layout::SamplesInRows;
  return xent::log_softmax(random_logits<S>(rows ? N : C, rows ? C : N, rng, 3.0), layout);
}

}  // namespace

TEMPLATE_TEST_CASE("nll_loss entry points match the closed form and the reference", "[nll_loss]", float, double) {
  using S = TestType;
  const int seed = GENERATE(range(1, 41));
  Rng rng(static_cast<std::uint64_t>(seed));
  const Layout layout = rng.chance(0.5) ? Layout::SamplesInRows : Layout::SamplesInColumns;
  const Index N = rng.integer(0, 40), C = rng.integer(1, 40);
  std::string description;
  const NLLLossOptions opts = random_options(rng, C, layout, description);
  INFO("seed " << seed << ", " << scalar_name<S>() << ", N " << N << ", C " << C << ", " << description);
  // Inputs need not be log-probabilities (nothing checks): half of the cases use arbitrary values.
  Mat<S> x = log_probabilities<S>(layout, N, C, rng);
  if (rng.chance(0.5)) x = random_logits<S>(x.rows(), x.cols(), rng, 5.0);
  const Vec<std::int64_t> y = random_class_targets<std::int64_t>(N, C, rng, opts.ignore_index(), 0.2);
  check_entry_points<S>(x, y, opts, rng);
}

TEST_CASE("nll_loss gradients match central finite differences", "[nll_loss][gradient]") {
  const int seed = GENERATE(range(1, 21));
  Rng rng(static_cast<std::uint64_t>(100 + seed));
  const Layout layout = rng.chance(0.5) ? Layout::SamplesInRows : Layout::SamplesInColumns;
  const Index N = rng.integer(1, 20), C = rng.integer(1, 20);
  std::string description;
  const NLLLossOptions opts = random_options(rng, C, layout, description);
  INFO("seed " << seed << ", " << description);
  const Mat<double> x = log_probabilities<double>(layout, N, C, rng);
  const Vec<std::int64_t> y = random_class_targets<std::int64_t>(N, C, rng, opts.ignore_index(), 0.2);
  Vec<double> gv(N);
  for (Index n = 0; n < N; ++n) gv(n) = rng.uniform(-2, 2);
  const auto entries = entries_to_check(x.rows(), x.cols(), rng);
  const Vec<double> fd = central_differences(
      [&](const Mat<double>& z) { return Mat<double>(xent::nll_loss_per_sample(z, y, opts)); }, x, gv, entries);
  // The loss is linear in x: no truncation error; the two evaluations of -w x each round once
  // (eps |w x|), divided by the step 2h: atol = |g| |w| eps (|x| + 1) / h with |w| <= 3, |x| <~ 20.
  require_close(gather(xent::nll_loss_per_sample_backward(x, y, gv, opts), entries), fd, 1e-9,
                2.0 * 3 * eps<double>() * 21 / 1e-6, "nll_loss_per_sample_backward vs finite differences");
}

TEMPLATE_TEST_CASE("nll_loss reads only the target entries", "[nll_loss]", float, double) {
  using S = TestType;
  // The loss and its gradient depend on x(n, y_n) alone: non-finite values elsewhere change nothing.
  for (const Layout layout : {Layout::SamplesInRows, Layout::SamplesInColumns}) {
    INFO(layout_name(layout));
    Mat<S> rows_x(3, 4);
    const S nan = std::numeric_limits<S>::quiet_NaN(), inf = std::numeric_limits<S>::infinity();
    rows_x << nan, -1.5, inf, -inf,  //
        -0.25, nan, nan, nan,        //
        inf, -inf, nan, -3;
    Vec<std::int64_t> y(3);
    y << 1, 0, 3;
    NLLLossOptions opts;
    opts.layout(layout);
    const Mat<S> x = from_samples_in_rows(rows_x, layout);
    Vec<LD> expected(3);
    expected << 1.5L, 0.25L, 3;
    require_same(xent::nll_loss_per_sample(x, y, opts), expected, "per-sample losses");
    require_close(xent::nll_loss(x, y, opts), 4.75L / 3, 2 * eps<S>(), 0.0, "mean");
    Mat<LD> grad_rows = Mat<LD>::Zero(3, 4);
    grad_rows(0, 1) = grad_rows(1, 0) = grad_rows(2, 3) = -1.0L / 3;
    require_close(xent::nll_loss_backward(x, y, opts), from_samples_in_rows(grad_rows, layout), 2 * eps<S>(), 0.0,
                  "gradient");
  }
}

TEMPLATE_TEST_CASE("nll_loss of log_softmax is cross_entropy", "[nll_loss][cross_entropy]", float, double) {
  using S = TestType;
  const int seed = GENERATE(range(1, 11));
  Rng rng(static_cast<std::uint64_t>(200 + seed));
  const Layout layout = rng.chance(0.5) ? Layout::SamplesInRows : Layout::SamplesInColumns;
  const Index N = rng.integer(1, 30), C = rng.integer(1, 30);
  const bool rows = layout == Layout::SamplesInRows;
  const Mat<S> x = random_logits<S>(rows ? N : C, rows ? C : N, rng, 4.0);
  std::string description;
  const NLLLossOptions nll_opts = random_options(rng, C, layout, description);
  INFO("seed " << seed << ", " << scalar_name<S>() << ", " << description);
  xent::CrossEntropyOptions ce_opts;
  ce_opts.layout(layout).reduction(nll_opts.reduction()).ignore_index(nll_opts.ignore_index());
  if (nll_opts.has_weight()) ce_opts.weight(nll_opts.weight());
  const Vec<std::int64_t> y = random_class_targets<std::int64_t>(N, C, rng, nll_opts.ignore_index(), 0.2);
  const Mat<S> lp = xent::log_softmax(x, layout);
  // Both sides compute w_y (-log p_y) in S: each within 2 eps (|x - m| + |lp| + C + 2) |w_y| of the
  // exact value (see test_softmax.cpp); with |x - m| <= ~30, |w| <= 3: atol 2 * 2 eps * 3 * (60 + C + 2)
  // per sample, summed (and divided by |W|) for the reduction.
  const double per_sample_atol = 2 * 2 * eps<S>() * 3 * (60 + static_cast<double>(C) + 2);
  require_close(xent::nll_loss_per_sample(lp, y, nll_opts), xent::cross_entropy_per_sample(x, y, ce_opts), 0.0,
                per_sample_atol, "per-sample losses");
  // Chain rule: d CE / dx = log_softmax_backward(d NLL / d lp, lp). Gradient entries are within
  // ~2 eps (C + 4) |g w| of the exact value on both sides.
  Vec<S> gv(N);
  for (Index n = 0; n < N; ++n) gv(n) = static_cast<S>(rng.uniform(-2, 2));
  const Mat<S> chained = xent::log_softmax_backward(xent::nll_loss_per_sample_backward(lp, y, gv, nll_opts), lp, layout);
  require_close(chained, xent::cross_entropy_per_sample_backward(x, y, gv, ce_opts), 0.0,
                2 * 2 * eps<S>() * 2 * 3 * (static_cast<double>(C) + 34), "per-sample gradients via the chain rule");
}

TEMPLATE_TEST_CASE("nll_loss accepts other input kinds and integer types", "[nll_loss][inputs]", int, std::uint8_t,
                   unsigned) {
  using I = TestType;
  using S = float;
  const int seed = GENERATE(range(1, 5));
  Rng rng(static_cast<std::uint64_t>(300 + seed));
  const Layout layout = rng.chance(0.5) ? Layout::SamplesInRows : Layout::SamplesInColumns;
  const Index N = rng.integer(1, 12), C = rng.integer(1, 12);
  std::string description;
  NLLLossOptions opts = random_options(rng, C, layout, description);
  if (!representable<I>(opts.ignore_index())) opts.ignore_index(static_cast<std::int64_t>(std::numeric_limits<I>::max()));
  INFO("seed " << seed << ", " << description << ", ignore_index " << opts.ignore_index());
  const Mat<S> x = log_probabilities<S>(layout, N, C, rng);
  const Vec<I> y = random_class_targets<I>(N, C, rng, opts.ignore_index(), 0.2);
  const Vec<std::int64_t> y64 = y.template cast<std::int64_t>();
  // Results must not depend on the integer type or on how the input is stored: bitwise equal to the
  // plain column-major / int64 computation (the loss is a gather, no arithmetic order to change).
  const Vec<S> expected = xent::nll_loss_per_sample(x, y64, opts);
  Mat<S> expected_grad;
  const S expected_loss = xent::nll_loss_forward_backward(x, y64, expected_grad, opts);
  require_same(xent::nll_loss_per_sample(x, y, opts), expected, "integer type");

  const auto check = [&](const auto& xv, const char* what) {
    INFO(what);
    Mat<S> grad;
    const S loss = xent::nll_loss_forward_backward(xv, y, grad, opts);
    REQUIRE((loss == expected_loss || (std::isnan(loss) && std::isnan(expected_loss))));
    require_same(grad, expected_grad, "gradient");
  };
  check(x, "column-major Matrix");
  const RowMat<S> row_major = x;
  check(row_major, "row-major Matrix");
  Padded<S, Eigen::RowMajor> padded = Padded<S, Eigen::RowMajor>::from(x);
  check(padded.map(), "row-major Map with OuterStride");
  Embedded<S, Eigen::ColMajor> embedded(x);
  check(embedded.block(), "Block");
  Padded<S, Eigen::ColMajor> grad_out(x.rows(), x.cols(), 2, S(-7.5));
  xent::nll_loss_forward_backward(x, y, grad_out.map(), opts);
  require_same(grad_out.map(), expected_grad, "gradient into a padded Map");
  REQUIRE(grad_out.padding_intact());
}
