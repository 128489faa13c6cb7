// Fuzz harness: cross_entropy with class-probability targets -- every reduction, per-sample,
// backward, per-sample backward, fused forward+backward and in place -- against
// xent::reference<long double>, with weights (zeros, negatives, wrong lengths), ignore_index (a
// non-negative one is the documented std::invalid_argument), label_smoothing in and out of [0, 1],
// soft targets that need not sum to 1 (negative, > 1, special values).
//
// Tolerances, per sample n (samples in rows; k = kUlps, e = eps(S)): t'_c = (1 - ls) t_c + ls / C,
// q_c = w_c t'_c, Q = sum_c |q_c|, m = max x, lse = log sum exp(x - m), p = softmax(x); the library
// computes loss_n = (sum_c q_c) lse - sum_c q_c (x_c - m), two sums of C terms:
//   loss_n:   sum|terms| = (C + 1) sum_c |q_c| (|x_c - m| + lse) + Q (C + 2)
//   grad_nc = s_n (p_c sum_c q_c - q_c):  |s_n| (Q p_c (|x_c - m| + lse + C + 4) + 2 |q_c|)
//             + k min_normal Q |s_n| (p_c flushed); the derivation is fuzz_class_index.cpp's:
//             the C roundings of the sum of exps scale p_c, not q_c, so that the bound at an
//             entry stays below its p_c sum q (an off-by-p_c gradient is caught)
//   each q_c = w_c t'_c may also be off by denorm_min (a product in S's subnormal range):
//   + k denorm_min sum_c (|x_c - m| + lse + 1) for the loss, k denorm_min (1 + C) for the gradient.
//   reduced: sum_n tol_n + k e sum_n |loss_n|, / N for the mean, + k e |result|.
#include <xent/reference.hpp>

#include "fuzz_support.hpp"

namespace {

using namespace xf;

struct Tolerances {
  LVec loss;
  LMat grad;  // samples in rows, s_n = 1
};

template <class S>
Tolerances prob_tolerances(const LMat& xr, const LMat& tr, const xent::CrossEntropyOptions& opts,
                           LD e, LD tiny) {
  const Index N = xr.rows(), C = xr.cols();
  const LD k = kUlps;
  const LD ls = static_cast<LD>(opts.label_smoothing());
  const LD denorm = static_cast<LD>(std::numeric_limits<S>::denorm_min());
  Tolerances t{LVec::Zero(N), LMat::Zero(N, C)};
  if (opts.has_weight() && opts.weight().size() != C) return t;  // the call throws
  for (Index n = 0; n < N; ++n) {
    LD m = -std::numeric_limits<LD>::infinity();
    for (Index c = 0; c < C; ++c)
      if (std::isfinite(xr(n, c))) m = std::max(m, xr(n, c));
    if (!std::isfinite(m)) m = 0;
    LD s = 0;
    for (Index c = 0; c < C; ++c)
      if (std::isfinite(xr(n, c))) s += std::exp(xr(n, c) - m);
    const LD lse = s > 0 ? std::log(s) : LD(0);
    LVec q(C);
    for (Index c = 0; c < C; ++c) {
      const LD w = opts.has_weight() ? static_cast<LD>(opts.weight()(c)) : LD(1);
      // |w| (|(1 - ls) t| + ls / C): the two terms of t' cancel when t < 0.
      q(c) =
          finite_or_zero(std::fabs(w) * (std::fabs((1 - ls) * tr(n, c)) + ls / static_cast<LD>(C)));
    }
    const LD Q = q.sum();
    LD terms = 0, flushed_terms = 0;
    for (Index c = 0; c < C; ++c) {
      const LD d = finite_or_zero(std::fabs(xr(n, c) - m));
      terms += q(c) * (d + lse);
      const LD p = s > 0 && std::isfinite(xr(n, c)) ? std::exp(xr(n, c) - m) / s : LD(0);
      t.grad(n, c) = k * e * (Q * p * (d + lse + static_cast<LD>(C) + 4) + 2 * q(c)) +
                     k * tiny * Q + k * denorm * (1 + static_cast<LD>(C));
      flushed_terms += d + lse + 1;
    }
    t.loss(n) = k * e * (static_cast<LD>(C + 1) * terms + Q * static_cast<LD>(C + 2)) +
                k * denorm * flushed_terms;
  }
  return t;
}

inline LMat scale_rows(const LMat& tol, const LVec& s) {
  LMat out = tol;
  if (tol.cols() == 0) return out;  // row(n) of an N x 0 matrix is UB in Eigen
  for (Index n = 0; n < tol.rows(); ++n) out.row(n) *= finite_or_zero(std::fabs(s(n)));
  return out;
}

// The coefficients q_c = w_c t'_c of sample n (samples in rows), t' = (1 - ls) t + ls / C.
inline LVec coefficients(const LMat& tr, Index n, const xent::CrossEntropyOptions& opts) {
  const Index C = tr.cols();
  const LD ls = static_cast<LD>(opts.label_smoothing());
  LVec q(C);
  for (Index c = 0; c < C; ++c) {
    const LD w = opts.has_weight() ? static_cast<LD>(opts.weight()(c)) : LD(1);
    q(c) = w * ((1 - ls) * tr(n, c) + ls / static_cast<LD>(C));
  }
  return q;
}

// Samples whose loss and gradient rows are not compared (see the relaxation in fuzz_support.hpp),
// all of them intermediates of the library's (sum q) lse - sum_c q_c (x_c - m) beyond S's range,
// where it meets inf * 0 or inf - inf and the reference's sum_c q_c log p_c may not:
//  - a product w_c t'_c of finite factors beyond S's range;
//  - in the loss only (loss_only), an infinite q_c (an infinite weight or target) where the
//    library's q_c (x_c - m) or (sum q) lse is inf * 0 = NaN: at the row's max, or with an lse
//    that may round to 0 in S, where the reference's (and PyTorch's) -q_c log p_c is +-inf
//    (elsewhere both are the same infinity, or NaN from opposite ones); in the gradient, p_c sum q
//    - q_c is then +-inf or NaN alike but for the entries whose p_c S flushes to 0 (flushed);
//  - sum|q_c|, or the row's spread, beyond S's range (see row_spread; found: a spread of
//    DBL_MAX + 1e300, where x_c - m is -inf in S); a product q_c (x_c - m) beyond it is in the
//    loss tolerance's sum|terms|, which then accepts +-inf or NaN (see Case::check);
//  - a nonzero q_c below S's normal range on a non-finite logit: q_c flushed to 0 turns the term's
//    +-inf into 0 * inf = NaN in S.
// Logits, targets and weights beyond the documented limit are compared otherwise: the tolerance's
// sum|terms| covers their products (an overflowing one accepts +-inf or NaN, see Case::check).
// A NaN q_c (a NaN weight, or an infinite one on a zero target) is checked: PyTorch's
// sum_c w_c t_c log p_c is NaN there, and so is xent (README: weights are data), while
// xent::reference drops the zero term (0 log 0 = 0) -- see nan_coefficient.
template <class S>
std::vector<bool> unpromised_samples(const LMat& xr, const LMat& tr,
                                     const xent::CrossEntropyOptions& opts, LVec& Q, Mask& flushed,
                                     std::vector<bool>& loss_only) {
  const Index N = xr.rows(), C = xr.cols();
  const LD min_normal = static_cast<LD>(std::numeric_limits<S>::min());
  std::vector<bool> skip(static_cast<std::size_t>(N), false);
  Q = LVec::Zero(N);
  flushed = Mask::Constant(N, C, false);
  loss_only.assign(static_cast<std::size_t>(N), false);
  for (Index n = 0; n < N; ++n) {
    const LVec q = coefficients(tr, n, opts);
    LD m = -std::numeric_limits<LD>::infinity(), s = 0;
    for (Index c = 0; c < C; ++c)
      if (std::isfinite(xr(n, c))) m = std::max(m, xr(n, c));
    for (Index c = 0; c < C; ++c)
      if (std::isfinite(xr(n, c))) s += std::exp(xr(n, c) - m);
    // lse = log s may be 0 in S (s rounds to 1; no finite logit: s = 0).
    const bool lse_may_vanish = !(s - 1 >= eps<S>());
    const bool infinite = q.array().isInf().any();
    bool bad = false;
    for (Index c = 0; c < C; ++c) {
      bad = bad || (std::isfinite(q(c)) && overflows<S>(q(c))) ||
            (q(c) != 0 && std::fabs(q(c)) < min_normal && !std::isfinite(xr(n, c)));
      loss_only[static_cast<std::size_t>(n)] =
          loss_only[static_cast<std::size_t>(n)] ||
          (std::isinf(q(c)) && (xr(n, c) == m || lse_may_vanish));
      Q(n) += finite_or_zero(std::fabs(q(c)));
      // An infinite sum q: p_c sum q - q_c is +-inf, or NaN where S flushes p_c to 0.
      flushed(n, c) = infinite && std::exp(xr(n, c) - m) < min_normal * s;
    }
    skip[static_cast<std::size_t>(n)] =
        bad || overflows<S>(Q(n)) || overflows<S>(row_spread(xr, n));
  }
  return skip;
}

// Sample n holds a NaN coefficient w_c t'_c: its loss is NaN (see unpromised_samples).
inline bool nan_coefficient(const LMat& tr, Index n, const xent::CrossEntropyOptions& opts) {
  return coefficients(tr, n, opts).array().isNaN().any();
}

// Rows of a gradient scaled by s_n: also unchecked where s_n is infinite (the reference forms
// 0 * inf = NaN in every coefficient, the library scales p_c sum q - q_c as a whole) or beyond the
// documented limit, or s_n sum|q_c| leaves S's range (found: targets of -4.6e18 with a large
// grad_output). NaN propagates (checked).
template <class S>
Mask grad_skip(std::vector<bool> skip, const LVec& s, const LVec& Q, const Mask& flushed,
               xent::Layout layout) {
  const LD max = static_cast<LD>(std::numeric_limits<S>::max());
  for (std::size_t n = 0; n < skip.size(); ++n) {
    const LD sn = s(static_cast<Index>(n));
    skip[n] = skip[n] || std::isinf(sn) || beyond_limit<S>(sn) ||
              (std::isfinite(sn) && std::fabs(sn) * Q(static_cast<Index>(n)) > max);
  }
  const Mask rows = sample_mask(skip, flushed.cols(), xent::Layout::SamplesInRows) || flushed;
  return layout == xent::Layout::SamplesInRows ? rows : Mask(rows.transpose());
}

template <class S, class X, class T>
void check_prob(const Case& c, const X& x, const T& t, xent::CrossEntropyOptions opts,
                const Vec<S>& g, S grad_output) {
  const std::vector<const char*> args = {"weight", "ignore_index", "targets"};
  const xent::Layout layout = opts.layout();
  const LMat xr = rows_of(x, layout), tr = rows_of(t, layout);
  const Index N = xr.rows(), C = xr.cols();
  // The expected exception, from PyTorch's rules (not the library's checks): a weight of the wrong
  // length; an ignore_index >= 0 (probability targets ignore nothing; xent rejects a class index).
  const bool valid = !(opts.has_weight() && opts.weight().size() != C) && opts.ignore_index() < 0;
  const std::exception_ptr ex =
      valid ? nullptr : std::make_exception_ptr(std::invalid_argument("weight or ignore_index"));
  Tolerances tol{LVec::Zero(N), LMat::Zero(N, C)};
  LVec ref_losses = LVec::Zero(N), Q = LVec::Zero(N);
  std::vector<bool> skip(static_cast<std::size_t>(N), false);
  Mask flushed = Mask::Constant(N, C, false);
  std::vector<bool> loss_skip(static_cast<std::size_t>(N), false);
  if (valid) {
    tol =
        prob_tolerances<S>(xr, tr, opts, eps<S>(), static_cast<LD>(std::numeric_limits<S>::min()));
    ref_losses = xent::reference::cross_entropy_per_sample<LD>(x, t, opts);
    for (Index n = 0; n < N; ++n)
      if (nan_coefficient(tr, n, opts)) ref_losses(n) = std::numeric_limits<LD>::quiet_NaN();
    skip = unpromised_samples<S>(xr, tr, opts, Q, flushed, loss_skip);
    for (std::size_t n = 0; n < skip.size(); ++n) loss_skip[n] = loss_skip[n] || skip[n];
  }
  bool any_skip = false;
  for (const bool b : loss_skip) any_skip = any_skip || b;
  const LD sum_tol =
      valid ? tol.loss.sum() + kUlps * eps<S>() * finite_or_zero(ref_losses.cwiseAbs().sum())
            : LD(0);
  const LD W = static_cast<LD>(N), ref_sum = ref_losses.sum();
  const auto ref_grad = [&](const LVec& s) {
    return xent::reference::cross_entropy_per_sample_backward<LD>(x, t, s, opts);
  };

  for (const xent::Reduction r : {xent::Reduction::Mean, xent::Reduction::Sum}) {
    opts.reduction(r);
    const bool mean = r == xent::Reduction::Mean;
    const LD ref_value = mean ? ref_sum / W : ref_sum;
    S loss = 0;
    if (call(c, "cross_entropy", ex, args, [&] { loss = xent::cross_entropy(x, t, opts); })) {
      c.check_reduced<S>("cross_entropy", mean ? "mean" : "sum", loss, ref_value, sum_tol, mean, W,
                         ref_sum, any_skip);
    }
    const LVec s_red = LVec::Constant(N, lib_scale<S>(grad_output, mean, W));  // as the library
    xent::detail::PlainMatrix<X> grad;
    if (call(c, "cross_entropy_backward", ex, args,
             [&] { grad = xent::cross_entropy_backward(x, t, opts, grad_output); })) {
      const Mask m = grad_skip<S>(skip, s_red, Q, flushed, layout);
      c.check_matrix("cross_entropy_backward", "gradient", grad, ref_grad(s_red),
                     in_layout(scale_rows(tol.grad, s_red), layout), &m);
    }
    xent::detail::PlainMatrix<X> fused;
    S fused_loss = 0;
    if (call(c, "cross_entropy_forward_backward", ex, args,
             [&] { fused_loss = xent::cross_entropy_forward_backward(x, t, fused, opts); })) {
      c.check_reduced<S>("cross_entropy_forward_backward", "loss", fused_loss, ref_value, sum_tol,
                         mean, W, ref_sum, any_skip);
      const LVec s1 = LVec::Constant(N, lib_scale<S>(S(1), mean, W));
      const Mask m = grad_skip<S>(skip, s1, Q, flushed, layout);
      c.check_matrix("cross_entropy_forward_backward", "gradient", fused, ref_grad(s1),
                     in_layout(scale_rows(tol.grad, s1), layout), &m);
      check_in_place_matches_fused<S>(c, x, t, opts);
    }
  }
  Vec<S> per_sample;
  if (call(c, "cross_entropy_per_sample", ex, args,
           [&] { per_sample = xent::cross_entropy_per_sample(x, t, opts); })) {
    c.per_sample_result = true;
    const Mask m = sample_mask(loss_skip, 1, xent::Layout::SamplesInRows);
    c.check_matrix("cross_entropy_per_sample", "loss", per_sample, LMat(ref_losses), LMat(tol.loss),
                   &m);
    c.per_sample_result = false;
  }
  xent::detail::PlainMatrix<X> grad;
  if (call(c, "cross_entropy_per_sample_backward", ex, args,
           [&] { grad = xent::cross_entropy_per_sample_backward(x, t, g, opts); })) {
    const LVec gl = g.template cast<LD>();
    const Mask m = grad_skip<S>(skip, gl, Q, flushed, layout);
    c.check_matrix("cross_entropy_per_sample_backward", "gradient", grad, ref_grad(gl),
                   in_layout(scale_rows(tol.grad, gl), layout), &m);
  }
}

template <class S>
void run(FuzzInput& in) {
  Case c;
  c.harness = "fuzz_class_prob";
  Index N = 0, C = 0;
  in.dims(N, C);
  const xent::Layout layout =
      in.flag() ? xent::Layout::SamplesInColumns : xent::Layout::SamplesInRows;
  const bool by_rows = layout == xent::Layout::SamplesInRows;
  const Index rows = by_rows ? N : C, cols = by_rows ? C : N;
  const int kind = Storage<S>::decode_kind(in.byte());
  in.choose_special_rate();
  std::string desc = std::string(scalar_name<S>()) + " N=" + std::to_string(N) +
                     " C=" + std::to_string(C) + " layout=" + layout_name(layout) +
                     " storage=" + Storage<S>::name(kind);

  xent::CrossEntropyOptions opts;
  opts.layout(layout);
  switch (in.byte() % 8) {
    case 0:
      opts.ignore_index(0);
      break;  // documented std::invalid_argument
    case 1:
      opts.ignore_index(-1);
      break;
    default:
      break;  // -100
  }
  desc += " ignore_index=" + std::to_string(opts.ignore_index());
  const std::uint8_t weight_kind = in.byte() % 4;
  if (weight_kind != 0) {
    Index len = C;
    if (weight_kind == 3 && in.byte() % 4 == 0) len = C + (in.flag() ? 1 : -1);
    if (len < 0) len = 1;
    Vec<double> w(len);
    for (Index i = 0; i < len; ++i) w(i) = in.weight<S>();
    opts.weight(w);
    desc += " weight=[";
    for (Index i = 0; i < len && i < 16; ++i) desc += (i ? " " : "") + text(w(i));
    desc += len > 16 ? " ...]" : "]";
  }
  switch (in.byte() % 6) {
    case 0:
      opts.label_smoothing(0.1);
      break;
    case 1:
      opts.label_smoothing(static_cast<double>(in.range(0, 1000)) / 1000.0);
      break;
    case 2:
      opts.label_smoothing(1.0);
      break;
    default:
      break;
  }
  desc += " label_smoothing=" + text(opts.label_smoothing());

  ColMat<S> x(rows, cols), t(rows, cols);
  for (Index j = 0; j < cols; ++j)
    for (Index i = 0; i < rows; ++i) x(i, j) = in.value<S>();
  // Targets: a distribution per sample (one-hot or spread), or free values in [0, 1], with the
  // case's special values (negative, > 1, NaN, inf) at its rate.
  const int target_kind = in.byte() % 3;
  for (Index n = 0; n < N; ++n) {
    LD total = 0;
    for (Index k = 0; k < C; ++k) {
      S v;
      if (target_kind == 0) {
        v = S(0);
      } else if (in.byte() < 16) {
        v = in.value<S>();
      } else {
        v = in.byte() < 64 ? S(0) : static_cast<S>(std::fabs(in.ordinary<S>(0))) / S(8);
      }
      (by_rows ? t(n, k) : t(k, n)) = v;
      total += static_cast<LD>(v);
    }
    if (target_kind == 0 && C > 0) {
      (by_rows ? t(n, in.range(0, C - 1)) : t(in.range(0, C - 1), n)) = S(1);
    } else if (target_kind == 1 && total > 0 && std::isfinite(total)) {
      for (Index k = 0; k < C; ++k) (by_rows ? t(n, k) : t(k, n)) /= static_cast<S>(total);
    }
  }
  Vec<S> g(N);
  for (Index n = 0; n < N; ++n) g(n) = in.flag() ? in.ordinary<S>() : in.value<S>();
  const S grad_output = in.byte() % 4 == 0 ? in.value<S>() : S(1);
  desc += " grad_output=" + text(static_cast<LD>(grad_output));
  desc += Tuning::apply(in);
  c.description = desc;
  c.explain = [&](Index i, Index j) {
    const Index n = by_rows || c.per_sample_result ? i : j;
    std::string out = "sample " + std::to_string(n) + ": g " +
                      (n < N ? text(static_cast<LD>(g(n))) : "?") + ", x =";
    for (Index k = 0; k < C && k < 64 && n < N; ++k)
      out += " " + text(static_cast<LD>(by_rows ? x(n, k) : x(k, n)));
    out += "; t =";
    for (Index k = 0; k < C && k < 64 && n < N; ++k)
      out += " " + text(static_cast<LD>(by_rows ? t(n, k) : t(k, n)));
    return out;
  };

  Storage<S> xs(kind, x), ts(kind, t);
  Storage<S>::visit_pair(xs, ts, [&](const auto& xv, const auto& tv) {
    check_prob<S>(c, xv, tv, opts, g, grad_output);
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return xf::run_float_or_double(data, size, run<float>, run<double>);
}
