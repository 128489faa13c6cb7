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
//   grad_nc = s_n (p_c sum_c q_c - q_c):  |s_n| (Q p_c (|x_c - m| + C + 4) + |q_c| (C + 4))
//             + k min_normal Q |s_n| (p_c flushed)
//   reduced: sum_n tol_n + k e sum_n |loss_n|, / N for the mean, + k e |result|.
#include "fuzz_support.hpp"

namespace {

using namespace xf;

struct Tolerances {
  LVec loss;
  LMat grad;  // samples in rows, s_n = 1
};

Tolerances prob_tolerances(const LMat& xr, const LMat& tr, const xent::CrossEntropyOptions& opts,
                           LD e, LD tiny) {
  const Index N = xr.rows(), C = xr.cols();
  const LD k = kUlps;
  const LD ls = static_cast<LD>(opts.label_smoothing());
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
    LD terms = 0;
    for (Index c = 0; c < C; ++c) {
      const LD d = finite_or_zero(std::fabs(xr(n, c) - m));
      terms += q(c) * (d + lse);
      const LD p = s > 0 && std::isfinite(xr(n, c)) ? std::exp(xr(n, c) - m) / s : LD(0);
      t.grad(n, c) =
          k * e * (Q * p * (d + static_cast<LD>(C) + 4) + q(c) * (static_cast<LD>(C) + 4)) +
          k * tiny * Q;
    }
    t.loss(n) = k * e * (static_cast<LD>(C + 1) * terms + Q * static_cast<LD>(C + 2));
  }
  return t;
}

inline LMat scale_rows(const LMat& tol, const LVec& s) {
  LMat out = tol;
  if (tol.cols() == 0) return out;  // row(n) of an N x 0 matrix is UB in Eigen
  for (Index n = 0; n < tol.rows(); ++n) out.row(n) *= finite_or_zero(std::fabs(s(n)));
  return out;
}

template <class S, class X, class T>
void check_prob(const Case& c, const X& x, const T& t, xent::CrossEntropyOptions opts,
                const Vec<S>& g, S grad_output) {
  const std::vector<const char*> args = {"weight", "ignore_index", "targets"};
  const xent::Layout layout = opts.layout();
  const LMat xr = rows_of(x, layout), tr = rows_of(t, layout);
  const Index N = xr.rows();
  const Tolerances tol =
      prob_tolerances(xr, tr, opts, eps<S>(), static_cast<LD>(std::numeric_limits<S>::min()));
  const std::exception_ptr ex =
      reference_outcome([&] { xent::reference::cross_entropy<LD>(x, t, opts); });
  const bool valid = ex == nullptr;
  LVec ref_losses;
  if (valid) ref_losses = xent::reference::cross_entropy_per_sample<LD>(x, t, opts);
  const LD sum_tol =
      valid ? tol.loss.sum() + kUlps * eps<S>() * finite_or_zero(ref_losses.cwiseAbs().sum())
            : LD(0);
  const LD W = static_cast<LD>(N);

  for (const xent::Reduction r : {xent::Reduction::Mean, xent::Reduction::Sum}) {
    opts.reduction(r);
    const bool mean = r == xent::Reduction::Mean;
    S loss = 0;
    if (call(c, "cross_entropy", ex, args, [&] { loss = xent::cross_entropy(x, t, opts); })) {
      c.check_reduced<S>("cross_entropy", mean ? "mean" : "sum", loss,
                         xent::reference::cross_entropy<LD>(x, t, opts), sum_tol, mean, W,
                         ref_losses.sum());
    }
    const LD s_red = lib_scale<S>(grad_output, mean, W);  // as the library rounds it
    xent::CrossEntropyOptions sum_opts = opts;
    sum_opts.reduction(xent::Reduction::Sum);
    xent::detail::PlainMatrix<X> grad;
    if (call(c, "cross_entropy_backward", ex, args,
             [&] { grad = xent::cross_entropy_backward(x, t, opts, grad_output); })) {
      c.check_matrix("cross_entropy_backward", "gradient", grad,
                     xent::reference::cross_entropy_backward<LD>(x, t, sum_opts, s_red),
                     in_layout(scale_rows(tol.grad, LVec::Constant(N, s_red)), layout));
    }
    xent::detail::PlainMatrix<X> fused;
    S fused_loss = 0;
    if (call(c, "cross_entropy_forward_backward", ex, args,
             [&] { fused_loss = xent::cross_entropy_forward_backward(x, t, fused, opts); })) {
      c.check_reduced<S>("cross_entropy_forward_backward", "loss", fused_loss,
                         xent::reference::cross_entropy<LD>(x, t, opts), sum_tol, mean, W,
                         ref_losses.sum());
      c.check_matrix(
          "cross_entropy_forward_backward", "gradient", fused,
          xent::reference::cross_entropy_backward<LD>(x, t, sum_opts, lib_scale<S>(S(1), mean, W)),
          in_layout(scale_rows(tol.grad, LVec::Constant(N, lib_scale<S>(S(1), mean, W))), layout));
      check_in_place_matches_fused<S>(c, x, t, opts);
    }
  }
  Vec<S> per_sample;
  if (call(c, "cross_entropy_per_sample", ex, args,
           [&] { per_sample = xent::cross_entropy_per_sample(x, t, opts); })) {
    c.per_sample_result = true;
    c.check_matrix("cross_entropy_per_sample", "loss", per_sample, LMat(ref_losses),
                   LMat(tol.loss));
    c.per_sample_result = false;
  }
  xent::detail::PlainMatrix<X> grad;
  if (call(c, "cross_entropy_per_sample_backward", ex, args,
           [&] { grad = xent::cross_entropy_per_sample_backward(x, t, g, opts); })) {
    c.check_matrix("cross_entropy_per_sample_backward", "gradient", grad,
                   xent::reference::cross_entropy_per_sample_backward<LD>(x, t, g, opts),
                   in_layout(scale_rows(tol.grad, g.template cast<LD>()), layout));
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
  // Targets far outside [0, 1] (accepted, as PyTorch does, but not probabilities): their products
  // with a large grad_output overflow float where the reference does not (found: t = -4.6e18).
  const bool wild_targets = (t.array().abs() > S(1e4)).any();
  c.beyond_range = beyond_documented_range(x) || beyond_documented_range(t) || wild_targets ||
                   beyond_range_or_infinite(g) || std::isinf(grad_output) ||
                   std::fabs(grad_output) > documented_limit<S>() ||
                   (opts.has_weight() && (beyond_range_or_infinite(opts.weight().cast<S>().eval()) ||
                                          weighted_spread_beyond_range(x, opts.weight()) ||
                                          weighted_upstream_beyond_range(g, grad_output,
                                                                         opts.weight())));
  // A product w_c t'_c that underflows S (nonzero, below min_normal) turns a -inf logit's
  // contribution (-q_c * -inf = +-inf) into 0 * inf = NaN in S: counted as beyond the range.
  if (C > 0 && (!opts.has_weight() || opts.weight().size() == C)) {
    const LD ls = static_cast<LD>(opts.label_smoothing());
    for (Index i = 0; i < t.size(); ++i) {
      const Index cl = by_rows ? i / std::max<Index>(rows, 1) : i % std::max<Index>(rows, 1);
      const LD w = opts.has_weight() ? static_cast<LD>(opts.weight()(cl)) : LD(1);
      const LD q = std::fabs(w * ((1 - ls) * static_cast<LD>(t(i)) + ls / static_cast<LD>(C)));
      if (q > 0 && q < static_cast<LD>(std::numeric_limits<S>::min())) c.beyond_range = true;
    }
  }
  desc += Tuning::apply(in);
  if (c.beyond_range) desc += " (values beyond the documented range)";
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
