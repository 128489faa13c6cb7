// Fuzz harness: cross_entropy and nll_loss with class-index targets -- every reduction, per-sample,
// backward, per-sample backward, fused forward+backward (and cross-entropy's in-place form) --
// against xent::reference<long double>, with weights (zeros, negatives, wrong lengths),
// ignore_index inside and outside [0, C), label_smoothing in and out of [0, 1], out-of-range
// targets.
//
// Tolerances, per sample n with target y (samples in rows; k = kUlps, e = eps(S)):
//   cross-entropy: q_c = (1 - ls) w_y [c = y] + (ls / C) w_c, Q = sum_c |q_c|, m = max x, lse = log
//   sum exp(x - m), p = softmax(x):
//     loss_n = sum_c q_c (lse - (x_c - m)):  sum|terms| = sum_c |q_c| (|x_c - m| + lse + C + 2)
//       (each -log p_c carries the log-softmax error of fuzz_softmax.cpp)
//     grad_nc = s_n (p_c sum_c q_c - q_c):   |s_n| (Q p_c (|x_c - m| + lse + C + 4) + 2 |q_c|)
//       + k min_normal Q |s_n| (p_c flushed), s_n the upstream factor (grad_output / W, or 1);
//       relative to the entry's own p_c and q_c (see ce_tolerances: an off-by-p_y target entry
//       exceeds it)
//   nll: loss_n = -w_y x_y: |w_y x_y|;  grad_ny = -w_y s_n: |w_y s_n| (every other entry exactly 0)
//   reduced: sum_n tol_n + k e sum_n |loss_n| (accumulation), / |W| for the mean, + k e |result|.
#include <xent/reference.hpp>

#include "fuzz_support.hpp"

namespace {

using namespace xf;

template <class S>
struct Problem {
  ColMat<S> x;  // in the layout
  Vec<typename std::conditional<std::is_same<S, float>::value, int, std::int64_t>::type> y;
  Vec<S> g;  // per-sample upstream gradients
  S grad_output = 1;
  xent::Layout layout = xent::Layout::SamplesInRows;
  Index N = 0, C = 0;
};

// PyTorch's argument checks and ignore decisions, written here independently of the library's
// (detail::check_class_loss, which xent::reference shares, and the kernels' class_of): the
// weight's length first, then every target that is not ignore_index (compared as an int64: a
// value no target type holds ignores nothing) must be a class in [0, C).
struct Decisions {
  static Decisions error(std::exception_ptr e) {
    Decisions d;
    d.ex = std::move(e);
    return d;
  }
  std::exception_ptr ex;    // the expected exception, or null
  std::vector<Index> cls;   // sample n's class, -1 when it is ignored
  std::vector<Index> kept;  // the samples not ignored
  LD W = 0;                 // the mean's denominator: the kept samples' summed weights (or count)
};

// A compensated (Neumaier) sum: W exact to long double's precision, as the library's compensated
// double sum is to double's (weights of 1e300 and -1e300 with ordinary ones cancel exactly).
struct CompensatedSum {
  LD sum = 0, error = 0;
  void add(LD v) {
    const LD t = sum + v;
    error += std::fabs(sum) >= std::fabs(v) ? (sum - t) + v : (v - t) + sum;
    sum = t;
  }
  LD value() const { return std::isfinite(sum) ? sum + error : sum; }  // inf - inf: NaN
};

template <class Y, class Options>
Decisions decide(const Y& y, Index C, const Options& opts) {
  Decisions d;
  CompensatedSum W;
  if (opts.has_weight() && opts.weight().size() != C) {
    return Decisions::error(std::make_exception_ptr(std::invalid_argument("weight")));
  }
  for (Index n = 0; n < y.size(); ++n) {
    const auto target = static_cast<std::int64_t>(y(n));
    if (target == opts.ignore_index()) {
      d.cls.push_back(-1);
      continue;
    }
    if (target < 0 || target >= C) {
      return Decisions::error(std::make_exception_ptr(std::out_of_range("Target")));
    }
    d.cls.push_back(static_cast<Index>(target));
    d.kept.push_back(n);
    W.add(opts.has_weight() ? static_cast<LD>(opts.weight()(target)) : LD(1));
  }
  d.W = W.value();
  return d;
}

template <class Options>
LD class_weight(const Options& opts, Index c) {
  return opts.has_weight() ? static_cast<LD>(opts.weight()(c)) : LD(1);
}

// The coefficients q_c of a sample with target y: (1 - ls) w_y [c = y] + (ls / C) w_c, the
// smoothing term only with ls > 0 (as PyTorch's formula: a weight it does not multiply in, even
// an infinite one, leaves the sample alone).
LVec coefficients(const xent::CrossEntropyOptions& opts, Index C, Index y) {
  const LD ls = static_cast<LD>(opts.label_smoothing());
  LVec q = LVec::Zero(C);
  for (Index c = 0; ls > 0 && c < C; ++c) q(c) = ls / static_cast<LD>(C) * class_weight(opts, c);
  if (y >= 0 && y < C) q(y) += (1 - ls) * class_weight(opts, y);
  return q;
}

// Tolerances of the per-sample losses (N) and gradient rows (N x C, s_n = 1), samples in rows.
struct Tolerances {
  LVec loss;
  LMat grad;
};

// The gradient entry g_c = p_c sum q - q_c, p_c = exp(x_c - m - lse) (or exp(x_c - m) / s): p_c
// carries a relative error of (|x_c - m| + lse + C + 2) e -- the rounding of x_c - m, magnified by
// exp; lse's absolute error (its log, and the sum s of C exps, C roundings relative to s); the exp
// itself -- so p_c sum q errs by Q p_c (|x_c - m| + lse + C + 4) e (two more for sum q's own
// roundings, whose C terms are in Q's C). q_c itself is (1 - ls) w_y or ls w_c / C, two roundings:
// 2 |q_c| e. Everything scales with the entry's own p_c or q_c: at the target entry the bound is
// about (2 + p_y C) e |q_y|, far below p_y (1/C at most for a uniform row), so a gradient returning
// -q_y for p_y sum q - q_y no longer passes (the former |q_c| (C + 4) e, 7.8e-3 at C = 8192 in
// float, exceeded p_y = 1.2e-4). The entry's own rounding is added by Case::check.
template <class S, class Options>
Tolerances ce_tolerances(const LMat& xr, const Decisions& d, const Options& opts) {
  const Index N = xr.rows(), C = xr.cols();
  const LD k = kUlps, e = eps<S>(), tiny = static_cast<LD>(std::numeric_limits<S>::min());
  const LD denorm = static_cast<LD>(std::numeric_limits<S>::denorm_min());
  const LD ls = static_cast<LD>(opts.label_smoothing());
  Tolerances t{LVec::Zero(N), LMat::Zero(N, C)};
  for (const Index n : d.kept) {
    const Index target = d.cls[static_cast<std::size_t>(n)];
    LD m = -std::numeric_limits<LD>::infinity();
    for (Index c = 0; c < C; ++c)
      if (std::isfinite(xr(n, c))) m = std::max(m, xr(n, c));
    if (!std::isfinite(m)) m = 0;
    LD s = 0;
    for (Index c = 0; c < C; ++c)
      if (std::isfinite(xr(n, c))) s += std::exp(xr(n, c) - m);
    const LD lse = s > 0 ? std::log(s) : LD(0);
    const LVec q = coefficients(opts, C, target);
    const LD Q = finite_or_zero(q.cwiseAbs().sum());
    LD loss_terms = 0;
    for (Index c = 0; c < C; ++c) {
      const LD dc = finite_or_zero(std::fabs(xr(n, c) - m));
      const LD qc = finite_or_zero(std::fabs(q(c)));
      loss_terms += qc * (dc + lse + static_cast<LD>(C) + 2);
      const LD p = s > 0 && std::isfinite(xr(n, c)) ? std::exp(xr(n, c) - m) / s : LD(0);
      t.grad(n, c) = k * e * (Q * p * (dc + lse + static_cast<LD>(C) + 4) + 2 * qc) + k * tiny * Q;
    }
    // + a smoothing coefficient ls w_c / C that underflows S (ls = denorm_min): its whole term.
    LD smooth_terms = 0, wsum = 0;
    if (ls > 0) {
      for (Index c = 0; c < C; ++c) {
        const LD w = std::fabs(class_weight(opts, c));
        smooth_terms += w * (finite_or_zero(std::fabs(xr(n, c) - m)) + lse + 1);
        wsum += w;
      }
      t.grad.row(n).array() += k * denorm * (1 + finite_or_zero(wsum));
    }
    // + k denorm_min: the sample's weighted loss rounds in S's subnormal range (see check_nll).
    t.loss(n) = k * e * loss_terms + k * denorm * (1 + finite_or_zero(smooth_terms));
  }
  return t;
}

// The upstream factor s_n of every gradient row, as a tolerance multiplier (samples in rows).
inline LMat scale_rows(const LMat& tol, const LVec& s) {
  LMat out = tol;
  if (tol.cols() == 0) return out;  // row(n) of an N x 0 matrix is UB in Eigen
  for (Index n = 0; n < tol.rows(); ++n) out.row(n) *= finite_or_zero(std::fabs(s(n)));
  return out;
}

// An upstream factor no value is promised for: an infinity (the reference multiplies it into
// every coefficient, 0 included: 0 * inf = NaN, where the library scales p_c sum q - q_c as a
// whole and gets +-inf), a finite one beyond the documented limit, or a subnormal one, as in
// fuzz_binary (found: float, g = denorm_min, label smoothing 0.1 over a weight of -1e30: the library
// forms g * ls / C first, which underflows to 0, where g * w_c * ls / C is 1.2e-17; with another
// order g * w_c overflows elsewhere). NaN propagates (checked).
template <class S>
bool unpromised_upstream(LD s) {
  return std::isinf(s) || beyond_limit<S>(s) ||
         (s != 0 && std::fabs(s) < static_cast<LD>(std::numeric_limits<S>::min()));
}

// Samples whose loss and gradient rows are not compared: a finite logit beyond the documented
// limit; a weight the sample's formula multiplies in (w_y, and every w_c with label smoothing) that
// is infinite, NaN, subnormal or beyond the limit (see unpromised_factor); the row's spread, or
// the sum of those weights times x_c - m (before smoothing's ls / C scales it), beyond S's range
// (see row_spread; found: ls = 1 with two logits of -DBL_MAX: sum_c (x_c - m) = -inf where the
// loss is 2.6e307); a flushed coefficient (below). An ignored sample never: its loss is 0 and its
// gradient row exactly 0, whatever its inputs.
template <class S>
std::vector<bool> unpromised_samples(const LMat& xr, const Decisions& d,
                                     const xent::CrossEntropyOptions& opts) {
  const Index C = xr.cols();
  const LD min_normal = static_cast<LD>(std::numeric_limits<S>::min());
  std::vector<bool> skip(d.cls.size(), false);
  for (const Index n : d.kept) {
    const Index y = d.cls[static_cast<std::size_t>(n)];
    bool bad = false;
    LD weighted = 0, m = -std::numeric_limits<LD>::infinity();
    for (Index c = 0; c < C; ++c)
      if (std::isfinite(xr(n, c))) m = std::max(m, xr(n, c));
    const LD ls_per_class = static_cast<LD>(opts.label_smoothing()) / static_cast<LD>(C);
    // xent forms ls / C in S first: below S's normal range it is flushed or rounded to 0 whatever
    // the weights (found: double, label_smoothing = denorm_min, C = 33, a -inf logit with a large
    // weight: ls w_c / C is normal in long double, but ls / C is 0 in double).
    const S ls_per_class_s = static_cast<S>(opts.label_smoothing()) / static_cast<S>(C);
    const bool ls_underflows = opts.label_smoothing() != 0 &&
                               std::fabs(static_cast<LD>(ls_per_class_s)) < min_normal;
    for (Index c = 0; c < C; ++c) {
      // A smoothing coefficient below S's normal range on a non-finite logit: S flushes it (ls =
      // denorm_min: ls w_c / C = 0), 0 * inf = NaN where the reference's masked class gives +inf
      // (found: a -inf logit with label_smoothing = denorm_min, float, the target's or another).
      const LD sc = ls_per_class * class_weight(opts, c);
      bad = bad || ((ls_underflows || std::fabs(sc) < min_normal) && sc != 0 &&
                    !std::isfinite(xr(n, c)));
      if (c != y && opts.label_smoothing() == 0) continue;
      const LD w = class_weight(opts, c);
      bad = bad || unpromised_factor<S>(w);
      if (std::isfinite(xr(n, c))) weighted += finite_or_zero(std::fabs(w)) * (m - xr(n, c));
    }
    skip[static_cast<std::size_t>(n)] =
        bad || overflows<S>(row_spread(xr, n)) || overflows<S>(weighted);
  }
  return skip;
}

// Rows of a gradient scaled by s_n: also unchecked where s_n is unpromised, or s_n times the
// row's summed coefficients sum|q_c| leaves S's range (found by fuzz_class_index: weights of
// -1e30 with an upstream gradient of 1.6e29, float, label smoothing 1).
template <class S>
std::vector<bool> unpromised_rows(std::vector<bool> skip, const LVec& s, const LVec& Q) {
  const LD max = static_cast<LD>(std::numeric_limits<S>::max());
  for (std::size_t n = 0; n < skip.size(); ++n) {
    const LD sn = s(static_cast<Index>(n));
    skip[n] = skip[n] || unpromised_upstream<S>(sn) ||
              (std::isfinite(sn) && std::fabs(sn) * Q(static_cast<Index>(n)) > max);
  }
  return skip;
}

template <class S, class X, class XW, class Y>
void check_cross_entropy(const Case& c, const Problem<S>& pb, const X& x, const XW& x_writable,
                         const Y& y, xent::CrossEntropyOptions opts) {
  const std::vector<const char*> args = {"weight", "Target", "ignore_index"};
  const Index N = pb.N, C = pb.C;
  const LMat xr = rows_of(x, pb.layout);
  const Decisions d = decide(y, C, opts);
  const std::exception_ptr& ex = d.ex;
  const bool valid = ex == nullptr;
  // The reference on the kept samples only (samples in rows, an ignore_index no class equals), so
  // that its results do not rest on the library's ignore decisions; an ignored sample has loss 0
  // and a zero gradient row (xent's documented improvement 1).
  const auto K = static_cast<Index>(d.kept.size());
  LMat xk(K, C);
  Vec<std::int64_t> yk(K);
  for (Index k = 0; valid && k < K; ++k) {
    const Index n = d.kept[static_cast<std::size_t>(k)];
    if (C > 0) xk.row(k) = xr.row(n);
    yk(k) = d.cls[static_cast<std::size_t>(n)];
  }
  xent::CrossEntropyOptions kept_opts = opts;
  kept_opts.layout(xent::Layout::SamplesInRows).ignore_index(-1);
  LVec ref_losses = LVec::Zero(N), Q = LVec::Zero(N);
  Tolerances tol{LVec::Zero(N), LMat::Zero(N, C)};
  std::vector<bool> skip(static_cast<std::size_t>(N), false);
  if (valid) {
    const LVec kl = xent::reference::cross_entropy_per_sample<LD>(xk, yk, kept_opts);
    for (Index k = 0; k < K; ++k) ref_losses(d.kept[static_cast<std::size_t>(k)]) = kl(k);
    tol = ce_tolerances<S>(xr, d, opts);
    skip = unpromised_samples<S>(xr, d, opts);
    for (const Index n : d.kept)
      Q(n) = coefficients(opts, C, d.cls[static_cast<std::size_t>(n)]).cwiseAbs().sum();
  }
  // The gradient rows scaled by s (N, samples in rows), from the reference on the kept samples.
  const auto ref_grad = [&](const LVec& s) {
    LMat g = LMat::Zero(N, C);
    LVec sk(K);
    for (Index k = 0; k < K; ++k) sk(k) = s(d.kept[static_cast<std::size_t>(k)]);
    const LMat gk = xent::reference::cross_entropy_per_sample_backward<LD>(xk, yk, sk, kept_opts);
    for (Index k = 0; C > 0 && k < K; ++k) g.row(d.kept[static_cast<std::size_t>(k)]) = gk.row(k);
    return in_layout(g, pb.layout);
  };
  // skip_all: a mean over an unpromised W scales every row.
  const auto grad_skip = [&](const LVec& s, bool skip_all) {
    std::vector<bool> rows = unpromised_rows<S>(skip, s, Q);
    if (skip_all) rows.assign(rows.size(), true);
    return sample_mask(rows, C, pb.layout);
  };
  bool any_skip = false;
  for (const bool b : skip) any_skip = any_skip || b;
  const LD sum_tol =
      valid ? tol.loss.sum() + kUlps * eps<S>() * finite_or_zero(ref_losses.cwiseAbs().sum())
            : LD(0);
  const LD W = d.W, ref_sum = ref_losses.sum();
  // The mean over a total weight beyond the documented range: see unpromised_factor.
  const bool W_unpromised = unpromised_factor<S>(W);

  for (const xent::Reduction r : {xent::Reduction::Mean, xent::Reduction::Sum}) {
    opts.reduction(r);
    const bool mean = r == xent::Reduction::Mean;
    const LD ref_value = mean ? ref_sum / W : ref_sum;
    const bool skip_reduced = any_skip || (mean && W_unpromised);
    S loss = 0;
    if (call(c, "cross_entropy", ex, args, [&] { loss = xent::cross_entropy(x, y, opts); })) {
      c.check_reduced<S>("cross_entropy", mean ? "mean" : "sum", loss, ref_value, sum_tol, mean, W,
                         ref_sum, skip_reduced);
    }
    // backward with grad_output, and the fused forward+backward (gradient into a column-major
    // matrix) and in place (over a copy of the logits in their own form).
    // The factor of every gradient row as the library rounds it (see lib_scale), given to the
    // reference as a sum's grad_output.
    const LVec s_red = LVec::Constant(N, lib_scale<S>(pb.grad_output, mean, W));
    const bool skip_scale = mean && W_unpromised;
    xent::detail::PlainMatrix<X> grad;
    if (call(c, "cross_entropy_backward", ex, args,
             [&] { grad = xent::cross_entropy_backward(x, y, opts, pb.grad_output); })) {
      const Mask m = grad_skip(s_red, skip_scale);
      c.check_matrix("cross_entropy_backward", "gradient", grad, ref_grad(s_red),
                     in_layout(scale_rows(tol.grad, s_red), pb.layout), &m);
    }
    xent::detail::PlainMatrix<X> fused;  // x's storage order: the in-place call's twin
    S fused_loss = 0;
    if (call(c, "cross_entropy_forward_backward", ex, args,
             [&] { fused_loss = xent::cross_entropy_forward_backward(x, y, fused, opts); })) {
      c.check_reduced<S>("cross_entropy_forward_backward", "loss", fused_loss, ref_value, sum_tol,
                         mean, W, ref_sum, skip_reduced);
      const LVec s1 = LVec::Constant(N, lib_scale<S>(S(1), mean, W));
      const Mask m = grad_skip(s1, skip_scale);
      const LMat expected = ref_grad(s1),
                 scaled_tol = in_layout(scale_rows(tol.grad, s1), pb.layout);
      c.check_matrix("cross_entropy_forward_backward", "gradient", fused, expected, scaled_tol, &m);
      // In place on x's own storage: against the reference (a strided Map may take another kernel
      // than a plain output: a lone strided sample summed in another order, found by this harness).
      for (Index j = 0; j < x.cols(); ++j)
        for (Index i = 0; i < x.rows(); ++i) x_writable.const_cast_derived()(i, j) = x(i, j);
      const S in_place_own = xent::cross_entropy_forward_backward_in_place(x_writable, y, opts);
      c.check_reduced<S>("cross_entropy_forward_backward_in_place", "loss", in_place_own, ref_value,
                         sum_tol, mean, W, ref_sum, skip_reduced);
      c.check_matrix("cross_entropy_forward_backward_in_place", "gradient", x_writable, expected,
                     scaled_tol, &m);
      check_in_place_matches_fused<S>(c, x, y, opts);
    }
  }
  // reduction='none' and its backward
  Vec<S> per_sample;
  if (call(c, "cross_entropy_per_sample", ex, args,
           [&] { per_sample = xent::cross_entropy_per_sample(x, y, opts); })) {
    c.per_sample_result = true;
    const Mask m = sample_mask(skip, 1, xent::Layout::SamplesInRows);
    c.check_matrix("cross_entropy_per_sample", "loss", per_sample, LMat(ref_losses), LMat(tol.loss),
                   &m);
    c.per_sample_result = false;
  }
  xent::detail::PlainMatrix<X> grad;
  if (call(c, "cross_entropy_per_sample_backward", ex, args,
           [&] { grad = xent::cross_entropy_per_sample_backward(x, y, pb.g, opts); })) {
    const LVec g = pb.g.template cast<LD>();
    const Mask m = grad_skip(g, false);
    c.check_matrix("cross_entropy_per_sample_backward", "gradient", grad, ref_grad(g),
                   in_layout(scale_rows(tol.grad, g), pb.layout), &m);
  }
}

// nll_loss from its definition, loss_n = -w_y x_ny and gradient -w_y s_n at (n, y), computed here
// (own decisions, no reference): single products, so every entry is compared, special values
// included (NaN and 0 * inf propagate alike; a product beyond S's range is an infinity). Only a
// mean over a total weight W beyond the documented range is not (see unpromised_factor).
template <class S, class X, class Y>
void check_nll(const Case& c, const Problem<S>& pb, const X& x, const Y& y,
               xent::NLLLossOptions opts) {
  const std::vector<const char*> args = {"weight", "Target"};
  const LMat xr = rows_of(x, pb.layout);
  const Index N = pb.N, C = pb.C;
  const Decisions d = decide(y, C, opts);
  const std::exception_ptr& ex = d.ex;
  const bool valid = ex == nullptr;
  // One product per sample.
  LVec loss_tol = LVec::Zero(N), wy = LVec::Zero(N), ref_losses = LVec::Zero(N);
  for (const Index n : d.kept) {
    const Index t = d.cls[static_cast<std::size_t>(n)];
    wy(n) = class_weight(opts, t);
    ref_losses(n) = -wy(n) * xr(n, t);
    // + the product's rounding in S's subnormal range (up to denorm_min / 2 absolute; no relative
    // bound there), which a mean divides by W: found by fuzz_class_index, weight -DBL_MIN and
    // logits below 1, every product flushed to 0 and the mean -DBL_MIN (not a library error:
    // PyTorch's double products flush alike).
    loss_tol(n) = kUlps * (eps<S>() * finite_or_zero(std::fabs(wy(n) * xr(n, t))) +
                           static_cast<LD>(std::numeric_limits<S>::denorm_min()));
  }
  const auto ref_grad = [&](const LVec& s) {
    LMat g = LMat::Zero(N, C);
    for (const Index n : d.kept) g(n, d.cls[static_cast<std::size_t>(n)]) = -wy(n) * s(n);
    return in_layout(g, pb.layout);
  };
  const auto grad_tol = [&](const LVec& s) {
    LMat t = LMat::Zero(N, C);
    for (const Index n : d.kept)
      t(n, d.cls[static_cast<std::size_t>(n)]) =
          kUlps * eps<S>() * finite_or_zero(std::fabs(wy(n) * s(n)));
    return in_layout(t, pb.layout);
  };
  const LD sum_tol =
      valid ? loss_tol.sum() + kUlps * eps<S>() * finite_or_zero(ref_losses.cwiseAbs().sum())
            : LD(0);
  const LD W = d.W, ref_sum = ref_losses.sum();
  const bool W_unpromised = unpromised_factor<S>(W);
  for (const xent::Reduction r : {xent::Reduction::Mean, xent::Reduction::Sum}) {
    opts.reduction(r);
    const bool mean = r == xent::Reduction::Mean;
    const LD ref_value = mean ? ref_sum / W : ref_sum;
    S loss = 0;
    if (call(c, "nll_loss", ex, args, [&] { loss = xent::nll_loss(x, y, opts); })) {
      c.check_reduced<S>("nll_loss", mean ? "mean" : "sum", loss, ref_value, sum_tol, mean, W,
                         ref_sum, mean && W_unpromised);
    }
    const LVec s_red = LVec::Constant(N, lib_scale<S>(pb.grad_output, mean, W));
    const Mask m = Mask::Constant(x.rows(), x.cols(), mean && W_unpromised);
    xent::detail::PlainMatrix<X> grad;
    if (call(c, "nll_loss_backward", ex, args,
             [&] { grad = xent::nll_loss_backward(x, y, opts, pb.grad_output); })) {
      c.check_matrix("nll_loss_backward", "gradient", grad, ref_grad(s_red), grad_tol(s_red), &m);
    }
    RowMat<S> fused;
    S fused_loss = 0;
    if (call(c, "nll_loss_forward_backward", ex, args,
             [&] { fused_loss = xent::nll_loss_forward_backward(x, y, fused, opts); })) {
      c.check_reduced<S>("nll_loss_forward_backward", "loss", fused_loss, ref_value, sum_tol, mean,
                         W, ref_sum, mean && W_unpromised);
      const LVec s1 = LVec::Constant(N, lib_scale<S>(S(1), mean, W));
      c.check_matrix("nll_loss_forward_backward", "gradient", fused, ref_grad(s1), grad_tol(s1),
                     &m);
    }
  }
  Vec<S> per_sample;
  if (call(c, "nll_loss_per_sample", ex, args,
           [&] { per_sample = xent::nll_loss_per_sample(x, y, opts); })) {
    c.per_sample_result = true;
    c.check_matrix("nll_loss_per_sample", "loss", per_sample, LMat(ref_losses), LMat(loss_tol));
    c.per_sample_result = false;
  }
  xent::detail::PlainMatrix<X> grad;
  if (call(c, "nll_loss_per_sample_backward", ex, args,
           [&] { grad = xent::nll_loss_per_sample_backward(x, y, pb.g, opts); })) {
    const LVec g = pb.g.template cast<LD>();
    c.check_matrix("nll_loss_per_sample_backward", "gradient", grad, ref_grad(g), grad_tol(g));
  }
}

// label_smoothing: in [0, 1], or out of range / NaN (the setter must throw std::invalid_argument).
inline double decode_label_smoothing(FuzzInput& in) {
  switch (in.byte() % 12) {
    case 0:
    case 1:
    case 2:
      return 0.0;
    case 3:
      return 0.1;
    case 4:
      return 1.0;
    case 5:
      return 0.25 * static_cast<double>(in.range(0, 4));
    case 6:
      return static_cast<double>(in.range(0, 1000)) / 1000.0;
    case 7:
      return -0.0;
    case 8:
      return std::numeric_limits<double>::denorm_min();
    case 9:
      return in.flag() ? -0.1 : 1.5;
    case 10:
      return in.flag() ? std::numeric_limits<double>::quiet_NaN()
                       : std::numeric_limits<double>::infinity();
    default:
      return std::nextafter(1.0, 2.0);
  }
}

template <class S>
void run(FuzzInput& in) {
  using I = typename std::conditional<std::is_same<S, float>::value, int, std::int64_t>::type;
  Case c;
  c.harness = "fuzz_class_index";
  Problem<S> pb;
  in.dims(pb.N, pb.C);
  pb.layout = in.flag() ? xent::Layout::SamplesInColumns : xent::Layout::SamplesInRows;
  const bool by_rows = pb.layout == xent::Layout::SamplesInRows;
  const Index rows = by_rows ? pb.N : pb.C, cols = by_rows ? pb.C : pb.N;
  const int kind = Storage<S>::decode_kind(in.byte());
  std::string desc = std::string(scalar_name<S>()) + " N=" + std::to_string(pb.N) +
                     " C=" + std::to_string(pb.C) + " layout=" + layout_name(pb.layout) +
                     " storage=" + Storage<S>::name(kind) +
                     " targets=" + (std::is_same<I, int>::value ? "int" : "int64");

  in.choose_special_rate();
  // Options.
  xent::CrossEntropyOptions ce;
  xent::NLLLossOptions nll;
  ce.layout(pb.layout);
  nll.layout(pb.layout);
  const std::uint8_t ignore_kind = in.byte() % 8;
  std::int64_t ignore = -100;
  switch (ignore_kind) {
    case 0:
    case 1:
      break;
    case 2:
      ignore = -1;
      break;
    case 3:
      ignore = pb.C > 0 ? in.range(0, pb.C - 1) : 0;
      break;  // a real class
    case 4:
      ignore = pb.C;
      break;
    case 5:
      ignore = std::numeric_limits<std::int64_t>::min();
      break;
    case 6:
      ignore = std::int64_t{1} << 40;
      break;  // not representable in int targets
    default:
      ignore = in.range(-3, 3);
      break;
  }
  ce.ignore_index(ignore);
  nll.ignore_index(ignore);
  desc += " ignore_index=" + std::to_string(ignore);
  const std::uint8_t weight_kind = in.byte() % 4;
  if (weight_kind != 0) {
    // Mostly C entries; now and then a wrong length (the documented std::invalid_argument).
    Index len = pb.C;
    if (weight_kind == 3 && in.byte() % 4 == 0) len = pb.C + (in.flag() ? 1 : -1);
    if (len < 0) len = 1;
    Vec<double> w(len);
    for (Index i = 0; i < len; ++i) w(i) = in.weight<S>();
    ce.weight(w);
    nll.weight(w);
    desc += " weight=[";
    for (Index i = 0; i < len && i < 16; ++i) desc += (i ? " " : "") + text(w(i));
    desc += len > 16 ? " ...]" : "]";
  }
  const double ls = decode_label_smoothing(in);
  desc += " label_smoothing=" + text(ls);
  {
    const bool ls_valid = ls >= 0.0 && ls <= 1.0;
    const std::exception_ptr want =
        ls_valid ? nullptr : std::make_exception_ptr(std::invalid_argument("label_smoothing"));
    call(c, "CrossEntropyOptions::label_smoothing", want, {"label_smoothing"},
         [&] { ce.label_smoothing(ls); });
  }

  // Targets: classes, ignore_index, and (in some cases) out-of-range values.
  const int bad_rate = in.byte() % 4 == 0 ? 8 : 0;  // of 256
  pb.y.resize(pb.N);
  for (Index n = 0; n < pb.N; ++n) {
    const int b = in.byte();
    if (b < bad_rate) {
      static const std::int64_t kBad[] = {-1, -2, std::numeric_limits<I>::min(),
                                          std::numeric_limits<I>::max()};
      pb.y(n) =
          in.flag() ? static_cast<I>(pb.C + in.range(0, 2)) : static_cast<I>(kBad[in.byte() % 4]);
    } else if (b < 40 && ignore >= std::numeric_limits<I>::min() &&
               ignore <= std::numeric_limits<I>::max()) {
      pb.y(n) = static_cast<I>(ignore);
    } else {
      pb.y(n) = pb.C > 0 ? static_cast<I>(in.range(0, pb.C - 1)) : I(0);
    }
  }

  pb.x.resize(rows, cols);
  for (Index j = 0; j < cols; ++j)
    for (Index i = 0; i < rows; ++i) pb.x(i, j) = in.value<S>();
  pb.g.resize(pb.N);
  for (Index n = 0; n < pb.N; ++n) pb.g(n) = in.flag() ? in.ordinary<S>() : in.value<S>();
  pb.grad_output = in.byte() % 4 == 0 ? in.value<S>() : S(1);
  desc += " grad_output=" + text(static_cast<LD>(pb.grad_output));
  desc += Tuning::apply(in);
  c.description = desc;
  c.explain = [&](Index i, Index j) {
    const Index n = by_rows || c.per_sample_result ? i : j;
    std::string out = "sample " + std::to_string(n) + ": target " +
                      (n < pb.N ? std::to_string(pb.y(n)) : "?") + ", g " +
                      (n < pb.N ? text(static_cast<LD>(pb.g(n))) : "?") + ", x =";
    for (Index k = 0; k < pb.C && k < 64 && n < pb.N; ++k)
      out += " " + text(static_cast<LD>(by_rows ? pb.x(n, k) : pb.x(k, n)));
    return out;
  };

  Storage<S> xs(kind, pb.x), scratch(kind, pb.x);
  Storage<S>::visit_pair(xs, scratch, [&](const auto& x, const auto& xw) {
    check_cross_entropy(c, pb, x, xw, pb.y, ce);
    check_nll(c, pb, x, pb.y, nll);
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return xf::run_float_or_double(data, size, run<float>, run<double>);
}
