// cross_entropy: every public entry point (reduced mean/sum, both per-sample overloads, backward with
// grad_output != 1, per-sample backward, forward_backward and the CrossEntropyLoss methods) against
// xent::reference in long double over generated cases (random N, C, weights with zeros and negatives,
// ignore_index -100 / a valid class / out of range, label smoothing 0, 0.1, 0.5, 1, mean and sum,
// index and probability targets, both layouts); gradients against central finite differences in
// double; the full relative precision of a confident row. Other input kinds (storage orders, Maps,
// Blocks, Refs, integer target types) are in test_cross_entropy_inputs.cpp.
#include <string>
#include <vector>
#include <xent/reference.hpp>

#include "test_support.hpp"

using namespace xt;
using xent::CrossEntropyOptions;
using xent::Reduction;

namespace {

// ---- the generated cases ---------------------------------------------------------------------

// Random options for C classes; `description` says what was chosen (for failure messages).
CrossEntropyOptions random_options(Rng& rng, Index classes, bool probability_targets, Layout layout,
                                   std::string& description) {
  CrossEntropyOptions opts;
  opts.layout(layout);
  const Reduction reduction = rng.chance(0.5) ? Reduction::Mean : Reduction::Sum;
  opts.reduction(reduction);
  description = std::string(layout_name(layout)) + (reduction == Reduction::Mean ? ", mean" : ", sum");
  if (rng.chance(0.6)) {
    const Vec<double> w = random_weights(classes, rng);
    if (rng.chance(0.5)) {
      opts.weight(w);
    } else {
      opts.weight(Eigen::RowVectorXf(w.transpose().cast<float>()));  // any float/double vector
    }
    description += ", weight";
  }
  std::int64_t ignore = -100;
  if (!probability_targets) {
    switch (rng.integer(0, 3)) {
      case 0: ignore = -100; break;
      case 1: ignore = rng.integer(0, classes - 1); break;         // a valid class
      case 2: ignore = classes + rng.integer(0, 300); break;       // out of range
      default: ignore = rng.pick<std::int64_t>({-1, 1000000000000}); break;
    }
  } else if (rng.chance(0.5)) {
    ignore = -1;  // any negative value is accepted (and unused) with probability targets
  }
  opts.ignore_index(ignore);
  const double smoothing = rng.pick({0.0, 0.1, 0.5, 1.0});
  opts.label_smoothing(smoothing);
  description += ", ignore_index " + std::to_string(ignore) + ", label_smoothing " + std::to_string(smoothing);
  return opts;
}

// ---- an independent error model ---------------------------------------------------------------
// Per sample n (samples in rows), the loss is sum_c q_c (-log p_c) with the coefficient vector
//   index targets:       q_c = (1 - e) w_y [c = y] + (e / C) w_c      (q = 0 for an ignored sample)
//   probability targets: q_c = w_c t'_c,  t' = (1 - e) t + e / C,
// and the gradient of the loss is S p - q with S = sum_c q_c. With Q = sum_c |q_c| and M the largest
// |log p_c|, the rounding of the library's formulas in S (eps = S's epsilon) is bounded by
//   loss:      each -log p_c is within eps (|x_c - m| + |log p_c| + C + 2) (see test_softmax.cpp),
//              weighted by q:                       atol_n = 2 eps Q (2 M + C + 2);
//   gradient:  p_c is within eps p_c (|x_c - m| + C + 4) relative, S p_c and q_c are each rounded,
//              the target entry's 1 - p_y is others / s (C + 2 roundings):
//                 atol(n, c) = 2 eps (Q p_c (|x_c - m| + C + 4) + |q_c| (C + 4)) + 4 min_normal(S)
// (the factor 2 is headroom; the reference's own long double error is 2^11 times smaller than
// double's). min_normal: the library flushes exp results below it to 0 (test_softmax.cpp).
// Reductions add the per-sample bounds (the library sums in double or better) and divide them by
// |W| for the mean; the final rounding to S is rtol = 2 eps.
struct Model {
  Vec<LD> loss_atol;   // per sample
  Mat<LD> grad_atol;   // per element for grad_output 1, in the logits' layout
  Vec<LD> Q;           // per sample
  std::vector<bool> ignored;
  LD denominator = 0;  // the mean's: summed weights of the non-ignored targets, or N
  bool any_loss = false;
};

template <class S, class Y>
Model error_model(const Mat<S>& x, const Eigen::MatrixBase<Y>& y, const CrossEntropyOptions& opts) {
  using I = typename Y::Scalar;
  constexpr bool kIndex = std::is_integral<I>::value;
  const Layout layout = opts.layout();
  const Mat<LD> rows = samples_in_rows(x, layout).template cast<LD>();
  const Index N = rows.rows(), C = rows.cols();
  const Mat<LD> lp = xent::reference::log_softmax<LD>(rows);
  const LD e = static_cast<LD>(opts.label_smoothing());
  const auto w = [&](Index c) { return opts.has_weight() ? static_cast<LD>(opts.weight()(c)) : LD(1); };
  const double ep = eps<S>();
  Model model;
  model.loss_atol = Vec<LD>::Zero(N);
  model.Q = Vec<LD>::Zero(N);
  model.ignored.assign(static_cast<std::size_t>(N), false);
  Mat<LD> grad_atol = Mat<LD>::Zero(N, C);
  Mat<LD> t;
  if constexpr (!kIndex) t = samples_in_rows(y, layout).template cast<LD>();
  for (Index n = 0; n < N; ++n) {
    Vec<LD> q = Vec<LD>::Zero(C);
    if constexpr (kIndex) {
      const auto target = y(n);
      if (static_cast<std::int64_t>(target) == opts.ignore_index()) {
        model.ignored[static_cast<std::size_t>(n)] = true;
        continue;
      }
      const Index cls = static_cast<Index>(target);
      for (Index c = 0; c < C; ++c) q(c) = e / static_cast<LD>(C) * w(c);
      q(cls) += (1 - e) * w(cls);
      model.denominator += w(cls);
    } else {
      for (Index c = 0; c < C; ++c) q(c) = w(c) * ((1 - e) * t(n, c) + e / static_cast<LD>(C));
    }
    const LD Q = q.cwiseAbs().sum();
    const LD m = rows.row(n).maxCoeff();
    const LD M = lp.row(n).cwiseAbs().maxCoeff();
    model.Q(n) = Q;
    model.loss_atol(n) = 2 * ep * Q * (2 * M + static_cast<LD>(C) + 2);
    for (Index c = 0; c < C; ++c) {
      const LD p = std::exp(lp(n, c));
      grad_atol(n, c) = 2 * ep * (Q * p * (std::fabs(rows(n, c) - m) + static_cast<LD>(C) + 4) +
                                  std::fabs(q(c)) * (static_cast<LD>(C) + 4)) +
                        4 * LD(std::numeric_limits<S>::min());
    }
    model.any_loss = true;
  }
  if constexpr (!kIndex) model.denominator = static_cast<LD>(N);
  model.grad_atol = from_samples_in_rows(grad_atol, layout);
  return model;
}

// The per-sample values of a vector of N, arranged along the samples of the layout (for scaling the
// gradient's element tolerances by per-sample grad_outputs).
Mat<LD> scale_by_sample(const Mat<LD>& m, const Vec<LD>& per_sample, Layout layout) {
  Mat<LD> out = m;
  for (Index n = 0; n < per_sample.size(); ++n) {
    if (layout == Layout::SamplesInRows) {
      out.row(n) *= std::fabs(per_sample(n));
    } else {
      out.col(n) *= std::fabs(per_sample(n));
    }
  }
  return out;
}

// Rows (samples) of a gradient that must be exactly zero: the ignored ones.
template <class G>
void require_zero_ignored_rows(const G& grad, const Model& model, Layout layout, const char* what) {
  for (std::size_t n = 0; n < model.ignored.size(); ++n) {
    if (!model.ignored[n]) continue;
    const Index i = static_cast<Index>(n);
    const bool zero = layout == Layout::SamplesInRows ? (grad.row(i).array() == 0).all()
                                                      : (grad.col(i).array() == 0).all();
    INFO(what << ": sample " << n << " is ignored");
    REQUIRE(zero);
  }
}

// Every entry point on one case, against the long double reference.
template <class S, class Y>
void check_entry_points(const Mat<S>& x, const Y& y, const CrossEntropyOptions& opts, Rng& rng) {
  const Layout layout = opts.layout();
  const Index N = layout == Layout::SamplesInRows ? x.rows() : x.cols();
  const double e = eps<S>();
  const Model model = error_model(x, y, opts);
  const bool mean = opts.reduction() == Reduction::Mean;
  // A zero mean denominator with contributing samples makes the mean's loss and gradient x / 0:
  // non-finite in both, with signs that depend on rounding; only the loss's non-finiteness is checked.
  const bool degenerate_mean = mean && model.denominator == 0 && model.any_loss;
  // (With nothing contributing, e.g. every sample ignored, the mean is NaN and every gradient entry
  // exactly 0: a zero factor keeps the tolerances at exactly 0 then.)
  const LD reduce_factor = !mean ? LD(1) : model.denominator == 0 ? LD(0) : 1 / std::fabs(model.denominator);
  const LD reduced_atol = model.loss_atol.sum() * (degenerate_mean ? LD(0) : reduce_factor);

  // Reference values.
  const Vec<LD> ref_per_sample = xent::reference::cross_entropy_per_sample<LD>(x, y, opts);
  const LD ref_loss = xent::reference::cross_entropy<LD>(x, y, opts);
  const S g = static_cast<S>(rng.pick({-0.75, 2.5, 0.3}));  // grad_output != 1
  Vec<S> gv(N);
  for (Index n = 0; n < N; ++n) gv(n) = static_cast<S>(rng.uniform(-2, 2));
  const Mat<LD> ref_backward = xent::reference::cross_entropy_backward<LD>(x, y, opts, static_cast<LD>(g));
  const Mat<LD> ref_backward_1 = xent::reference::cross_entropy_backward<LD>(x, y, opts);
  const Mat<LD> ref_per_sample_backward = xent::reference::cross_entropy_per_sample_backward<LD>(x, y, gv, opts);
  const Mat<LD> grad_atol_1 = model.grad_atol * reduce_factor;

  // Reduced loss.
  const S loss = xent::cross_entropy(x, y, opts);
  if (degenerate_mean) {
    CHECK_FALSE(std::isfinite(loss));
    CHECK_FALSE(std::isfinite(static_cast<double>(ref_loss)));
  } else {
    require_close(loss, ref_loss, 2 * e, static_cast<double>(reduced_atol), "cross_entropy (reduced)");
  }

  // Per-sample, both overloads; ignored samples exactly 0.
  const Vec<S> per_sample = xent::cross_entropy_per_sample(x, y, opts);
  require_close(per_sample, ref_per_sample, 2 * e, model.loss_atol, "cross_entropy_per_sample");
  for (std::size_t n = 0; n < model.ignored.size(); ++n) {
    if (model.ignored[n]) REQUIRE(per_sample(static_cast<Index>(n)) == 0);
  }
  Vec<S> out(N + 5);  // resized
  xent::cross_entropy_per_sample(x, y, out, opts);
  require_same(out, per_sample, "cross_entropy_per_sample into a vector");

  // Gradients.
  if (!degenerate_mean) {
    const Mat<S> backward = xent::cross_entropy_backward(x, y, opts, g);
    require_close(backward, ref_backward, 2 * e, grad_atol_1 * std::fabs(static_cast<LD>(g)),
                  "cross_entropy_backward (grad_output " + std::to_string(g) + ")");
    require_zero_ignored_rows(backward, model, layout, "cross_entropy_backward");
  }
  const Mat<S> per_sample_backward = xent::cross_entropy_per_sample_backward(x, y, gv, opts);
  require_close(per_sample_backward, ref_per_sample_backward, 2 * e,
                scale_by_sample(model.grad_atol, gv.template cast<LD>(), layout), "cross_entropy_per_sample_backward");
  require_zero_ignored_rows(per_sample_backward, model, layout, "cross_entropy_per_sample_backward");

  // Fused forward + backward (grad_output 1), into a matrix of the wrong size.
  Mat<S> grad(1, 1);
  const S fused = xent::cross_entropy_forward_backward(x, y, grad, opts);
  if (degenerate_mean) {
    CHECK_FALSE(std::isfinite(fused));
  } else {
    require_close(fused, ref_loss, 2 * e, static_cast<double>(reduced_atol), "cross_entropy_forward_backward loss");
    require_close(grad, ref_backward_1, 2 * e, grad_atol_1, "cross_entropy_forward_backward gradient");
    // The same per-sample losses summed the same way as the reduced loss: equal up to the last bit.
    require_close(fused, loss, 2 * e, 0.0, "forward_backward loss vs cross_entropy");
    require_zero_ignored_rows(grad, model, layout, "cross_entropy_forward_backward");
  }

  // The loss object forwards to the same functions: identical results.
  const xent::CrossEntropyLoss criterion(opts);
  REQUIRE(criterion.options().reduction() == opts.reduction());
  REQUIRE(criterion.options().label_smoothing() == opts.label_smoothing());
  REQUIRE(criterion.options().ignore_index() == opts.ignore_index());
  const S object_loss = criterion(x, y);
  if (std::isnan(loss)) {
    REQUIRE(std::isnan(object_loss));
  } else {
    REQUIRE(object_loss == loss);
  }
  require_same(criterion.per_sample(x, y), per_sample, "CrossEntropyLoss::per_sample");
  Vec<S> object_out;
  criterion.per_sample(x, y, object_out);
  require_same(object_out, per_sample, "CrossEntropyLoss::per_sample(out)");
  require_same(criterion.per_sample_backward(x, y, gv), per_sample_backward, "CrossEntropyLoss::per_sample_backward");
  if (!degenerate_mean) {
    require_same(criterion.backward(x, y, g), xent::cross_entropy_backward(x, y, opts, g), "CrossEntropyLoss::backward");
    Mat<S> object_grad;
    const S object_fused = criterion.forward_backward(x, y, object_grad);
    REQUIRE((object_fused == fused || (std::isnan(object_fused) && std::isnan(fused))));
    require_same(object_grad, grad, "CrossEntropyLoss::forward_backward gradient");
  }
}

template <class S>
void run_generated_case(int seed) {
  Rng rng(static_cast<std::uint64_t>(seed));
  const Layout layout = rng.chance(0.5) ? Layout::SamplesInRows : Layout::SamplesInColumns;
  const Index N = rng.integer(0, 40), C = rng.integer(1, 40);
  const bool rows = layout == Layout::SamplesInRows;
  const double scale = rng.pick({0.5, 3.0, 12.0});
  const Mat<S> x = random_logits<S>(rows ? N : C, rows ? C : N, rng, scale, layout, 0.25);
  INFO("seed " << seed << ", " << scalar_name<S>() << ", N " << N << ", C " << C << ", logits scale " << scale);
  {
    std::string description;
    const CrossEntropyOptions opts = random_options(rng, C, false, layout, description);
    const Vec<std::int64_t> y = random_class_targets<std::int64_t>(N, C, rng, opts.ignore_index(), 0.2);
    INFO("class-index targets: " << description);
    check_entry_points<S>(x, y, opts, rng);
  }
  {
    std::string description;
    const CrossEntropyOptions opts = random_options(rng, C, true, layout, description);
    const Mat<S> t = random_probabilities<S>(N, C, rng, layout);
    INFO("probability targets: " << description);
    check_entry_points<S>(x, t, opts, rng);
  }
}

}  // namespace

TEMPLATE_TEST_CASE("cross_entropy entry points match the long double reference", "[cross_entropy]", float, double) {
  const int seed = GENERATE(range(1, 51));
  run_generated_case<TestType>(seed);
}

TEST_CASE("cross_entropy gradients match central finite differences", "[cross_entropy][gradient]") {
  const int seed = GENERATE(range(1, 51));
  Rng rng(static_cast<std::uint64_t>(1000 + seed));
  const Layout layout = rng.chance(0.5) ? Layout::SamplesInRows : Layout::SamplesInColumns;
  const Index N = rng.integer(1, 40), C = rng.integer(1, 40);
  const bool rows = layout == Layout::SamplesInRows;
  const Mat<double> x = random_logits<double>(rows ? N : C, rows ? C : N, rng, 3.0, layout, 0.25);
  Vec<double> gv(N);
  for (Index n = 0; n < N; ++n) gv(n) = rng.uniform(-2, 2);
  const auto entries = entries_to_check(x.rows(), x.cols(), rng);
  // loss = sum_n g_n loss_n, differentiated by central differences with step h = 1e-6. Tolerance:
  // the truncation error h^2 / 6 |d^3 loss| <= h^2 |g_n| Q_n (third derivatives of log-sum-exp are
  // bounded by ~1 per unit of coefficient) is covered by rtol 1e-7 and atol h^2 |g| Q; the rounding
  // of the two evaluations of loss_n (each within the model's loss_atol_n, for double) divided by the
  // step 2h gives |g_n| loss_atol_n / h.
  const auto check = [&](const auto& y, const CrossEntropyOptions& opts) {
    const Model model = error_model(x, y, opts);
    const Vec<double> fd = central_differences(
        [&](const Mat<double>& z) { return Mat<double>(xent::cross_entropy_per_sample(z, y, opts)); }, x, gv,
        entries, 1e-6);
    const Mat<double> analytic = xent::cross_entropy_per_sample_backward(x, y, gv, opts);
    Vec<double> atol(static_cast<Index>(entries.size()));
    for (std::size_t k = 0; k < entries.size(); ++k) {
      const Index n = rows ? entries[k].first : entries[k].second;
      atol(static_cast<Index>(k)) =
          std::fabs(gv(n)) * static_cast<double>(model.loss_atol(n) / LD(1e-6) + LD(1e-12) * model.Q(n));
    }
    require_close(gather(analytic, entries), fd, 1e-7, atol, "per-sample backward vs finite differences");
    // The reduced gradients are the per-sample ones with g_n = g / W (mean) or g (sum).
    if (!(opts.reduction() == Reduction::Mean && model.denominator == 0)) {
      const double g = 1.7;
      const double factor = opts.reduction() == Reduction::Mean ? g / static_cast<double>(model.denominator) : g;
      const Vec<double> fd_reduced = central_differences(
          [&](const Mat<double>& z) { return Mat<double>(xent::cross_entropy_per_sample(z, y, opts)); }, x,
          Vec<double>::Constant(N, factor), entries, 1e-6);
      Vec<double> atol_reduced(static_cast<Index>(entries.size()));
      for (std::size_t k = 0; k < entries.size(); ++k) {
        const Index n = rows ? entries[k].first : entries[k].second;
        atol_reduced(static_cast<Index>(k)) =
            std::fabs(factor) * static_cast<double>(model.loss_atol(n) / LD(1e-6) + LD(1e-12) * model.Q(n));
      }
      require_close(gather(xent::cross_entropy_backward(x, y, opts, g), entries), fd_reduced, 1e-7, atol_reduced,
                    "reduced backward vs finite differences");
    }
  };
  {
    std::string description;
    const CrossEntropyOptions opts = random_options(rng, C, false, layout, description);
    const Vec<std::int64_t> y = random_class_targets<std::int64_t>(N, C, rng, opts.ignore_index(), 0.2);
    INFO("seed " << seed << ", N " << N << ", C " << C << ", class-index targets: " << description);
    check(y, opts);
  }
  {
    std::string description;
    const CrossEntropyOptions opts = random_options(rng, C, true, layout, description);
    const Mat<double> t = random_probabilities<double>(N, C, rng, layout);
    INFO("seed " << seed << ", N " << N << ", C " << C << ", probability targets: " << description);
    check(t, opts);
  }
}

TEMPLATE_TEST_CASE("cross_entropy: one-hot probability targets equal class indices", "[cross_entropy]", float, double) {
  using S = TestType;
  const int seed = GENERATE(range(1, 11));
  Rng rng(static_cast<std::uint64_t>(2000 + seed));
  const Layout layout = rng.chance(0.5) ? Layout::SamplesInRows : Layout::SamplesInColumns;
  const Index N = rng.integer(1, 30), C = rng.integer(1, 30);
  const bool rows = layout == Layout::SamplesInRows;
  const Mat<S> x = random_logits<S>(rows ? N : C, rows ? C : N, rng, 3.0);
  std::string description;
  CrossEntropyOptions opts = random_options(rng, C, true, layout, description);  // ignore_index < 0
  INFO("seed " << seed << ", " << scalar_name<S>() << ": " << description);
  const Vec<std::int64_t> y = random_class_targets<std::int64_t>(N, C, rng, -100, 0.0);
  Mat<S> one_hot_rows = Mat<S>::Zero(N, C);
  for (Index n = 0; n < N; ++n) one_hot_rows(n, y(n)) = 1;
  const Mat<S> one_hot = from_samples_in_rows(one_hot_rows, layout);
  const Model model = error_model(x, y, opts);
  Vec<S> gv(N);
  for (Index n = 0; n < N; ++n) gv(n) = static_cast<S>(rng.uniform(-2, 2));
  // Two code paths for the same mathematics: each within the model's bound of the exact value.
  require_close(xent::cross_entropy_per_sample(x, one_hot, opts), xent::cross_entropy_per_sample(x, y, opts), 4 * eps<S>(),
                2 * model.loss_atol, "per-sample losses");
  require_close(xent::cross_entropy_per_sample_backward(x, one_hot, gv, opts),
                xent::cross_entropy_per_sample_backward(x, y, gv, opts), 4 * eps<S>(),
                2 * scale_by_sample(model.grad_atol, gv.template cast<LD>(), layout), "per-sample gradients");
  // Mean: the index form divides by the summed target weights W, the probability form by N.
  opts.reduction(Reduction::Sum);
  const double sum_atol = static_cast<double>(2 * model.loss_atol.sum());
  require_close(xent::cross_entropy(x, one_hot, opts), xent::cross_entropy(x, y, opts), 4 * eps<S>(), sum_atol, "sum");
  opts.reduction(Reduction::Mean);
  if (model.denominator != 0) {
    require_close(xent::cross_entropy(x, one_hot, opts) * static_cast<double>(N),
                  xent::cross_entropy(x, y, opts) * static_cast<double>(model.denominator), 8 * eps<S>(), sum_atol,
                  "mean * denominator");
  }
}

TEMPLATE_TEST_CASE("cross_entropy keeps full relative precision on confident rows", "[cross_entropy][precision]", float,
                   double) {
  using S = TestType;
  // p_y -> 1: the loss -log p_y = log1p(others / e^{x_y - m}) and the target entry of the gradient
  // -(1 - p_y) are tiny; computed as 1 - p_y or log(s) they would be 0 (float: 1 - p_y rounds to 0
  // below 6e-8). Expected values are closed forms in long double (log1p / division), independent of
  // the reference, whose log(s) in long double cannot resolve 1 + 1e-26 either. Tolerance: 64 eps
  // relative (7.6e-6 for float), i.e. a few roundings of each of a handful of operations.
  const double rtol = 64 * eps<S>();
  const S big = std::is_same<S, float>::value ? S(30) : S(60);
  const LD others = 2 * std::exp(-static_cast<LD>(big));  // the row [big, 0, 0], target 0
  const LD loss0 = std::log1p(others);
  const LD one_minus_p = others / (1 + others);
  const LD p_other = std::exp(-static_cast<LD>(big)) / (1 + others);
  for (const Layout layout : {Layout::SamplesInRows, Layout::SamplesInColumns}) {
    INFO(layout_name(layout) << ", " << scalar_name<S>());
    Mat<S> rows_x(2, 3);
    rows_x << big, 0, 0,  //
        0, big, 0;        // the second sample's target is class 1: p_y -> 1 again
    const Mat<S> x = from_samples_in_rows(rows_x, layout);
    Vec<std::int64_t> y(2);
    y << 0, 1;
    CrossEntropyOptions opts;
    opts.layout(layout).reduction(Reduction::Sum);
    const Vec<S> per_sample = xent::cross_entropy_per_sample(x, y, opts);
    require_close(per_sample(0), loss0, rtol, 0.0, "per-sample loss, sample 0");
    require_close(per_sample(1), loss0, rtol, 0.0, "per-sample loss, sample 1");
    require_close(xent::cross_entropy(x, y, opts), 2 * loss0, rtol, 0.0, "sum");
    const Mat<S> grad = samples_in_rows(xent::cross_entropy_backward(x, y, opts, S(1)), layout);
    Mat<LD> expected(2, 3);
    expected << -one_minus_p, p_other, p_other,  //
        p_other, -one_minus_p, p_other;
    require_close(grad, expected, rtol, 0.0, "gradient, every entry to full relative precision");
    Mat<S> fused_grad;
    opts.reduction(Reduction::Mean);
    const S mean = xent::cross_entropy_forward_backward(x, y, fused_grad, opts);
    require_close(mean, loss0, rtol, 0.0, "mean");
    require_close(samples_in_rows(fused_grad, layout), expected / 2, rtol, 0.0, "forward_backward gradient (mean)");

    // With a class weight, the same relative precision.
    Eigen::Vector3d w(2.5, 0.5, 1.0);
    opts.weight(w).reduction(Reduction::Sum);
    const Vec<S> weighted = xent::cross_entropy_per_sample(x, y, opts);
    require_close(weighted(0), 2.5L * loss0, rtol, 0.0, "weighted loss, sample 0");
    require_close(weighted(1), 0.5L * loss0, rtol, 0.0, "weighted loss, sample 1");
    const Mat<S> weighted_grad = samples_in_rows(xent::cross_entropy_backward(x, y, opts, S(1)), layout);
    Mat<LD> expected_weighted = expected;
    expected_weighted.row(0) *= 2.5L;
    expected_weighted.row(1) *= 0.5L;
    require_close(weighted_grad, expected_weighted, rtol, 0.0, "weighted gradient");
  }
}

TEMPLATE_TEST_CASE("cross_entropy on big close logits", "[cross_entropy][precision]", float, double) {
  using S = TestType;
  // [1e8, 1e8 + 8, 1e8 - 8] (exact in float): loss for target 0 is 8 + log(1 + e^-8 + e^-16), which a
  // log_softmax formed as x - (max + log s) would lose. Tolerance: 4 eps relative (values ~8 and
  // ~16) plus 4 eps absolute (the target-1 loss ~3.4e-4 = log(s) is a log of a number near 1).
  const S base = S(1e8);
  for (const Layout layout : {Layout::SamplesInRows, Layout::SamplesInColumns}) {
    INFO(layout_name(layout) << ", " << scalar_name<S>());
    Mat<S> rows_x(3, 3);
    rows_x << base, base + 8, base - 8, base, base + 8, base - 8, base, base + 8, base - 8;
    const Mat<S> x = from_samples_in_rows(rows_x, layout);
    Vec<std::int64_t> y(3);
    y << 0, 1, 2;
    CrossEntropyOptions opts;
    opts.layout(layout);
    const LD l = std::log1p(std::exp(-8.0L) + std::exp(-16.0L));
    Vec<LD> expected(3);
    expected << 8 + l, l, 16 + l;
    require_close(xent::cross_entropy_per_sample(x, y, opts), expected, 4 * eps<S>(), 4 * eps<S>(), "per-sample losses");
    require_close(xent::cross_entropy(x, y, opts), expected.mean(), 4 * eps<S>(), 4 * eps<S>(), "mean");
  }
}
