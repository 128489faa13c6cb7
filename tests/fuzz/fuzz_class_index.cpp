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
//     grad_nc = s_n (p_c sum_c q_c - q_c):   |s_n| (Q p_c (|x_c - m| + C + 4) + |q_c| (C + 4))
//       + k min_normal Q |s_n| (p_c flushed), s_n the upstream factor (grad_output / W, or 1)
//   nll: loss_n = -w_y x_y: |w_y x_y|;  grad_ny = -w_y s_n: |w_y s_n| (every other entry exactly 0)
//   reduced: sum_n tol_n + k e sum_n |loss_n| (accumulation), / |W| for the mean, + k e |result|.
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

// Tolerances of the reference's per-sample losses (N) and gradient rows (N x C, s_n = 1).
struct Tolerances {
  LVec loss, Q;
  LMat grad;
};

template <class S, class Y, class Options>
Tolerances ce_tolerances(const LMat& xr, const Y& y, const Options& opts) {
  const Index N = xr.rows(), C = xr.cols();
  const LD k = kUlps, e = eps<S>(), tiny = static_cast<LD>(std::numeric_limits<S>::min());
  const LD ls = static_cast<LD>(opts.label_smoothing());
  Tolerances t{LVec::Zero(N), LVec::Zero(N), LMat::Zero(N, C)};
  if (opts.has_weight() && opts.weight().size() != C) return t;  // the call throws
  for (Index n = 0; n < N; ++n) {
    const std::int64_t target = static_cast<std::int64_t>(y(n));
    if (target == opts.ignore_index() || target < 0 || target >= C) continue;
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
      q(c) = ls / static_cast<LD>(C) * w + (c == target ? (1 - ls) * w : LD(0));
    }
    const LD Q = finite_or_zero(q.cwiseAbs().sum());
    t.Q(n) = Q;
    LD loss_terms = 0;
    for (Index c = 0; c < C; ++c) {
      const LD d = finite_or_zero(std::fabs(xr(n, c) - m));
      loss_terms += finite_or_zero(std::fabs(q(c))) * (d + lse + static_cast<LD>(C) + 2);
      const LD p = s > 0 && std::isfinite(xr(n, c)) ? std::exp(xr(n, c) - m) / s : LD(0);
      t.grad(n, c) = k * e *
                         (Q * p * (d + static_cast<LD>(C) + 4) +
                          finite_or_zero(std::fabs(q(c))) * (static_cast<LD>(C) + 4)) +
                     k * tiny * Q;
    }
    // + a smoothing coefficient ls w_c / C that underflows S (ls = denorm_min): its whole term.
    LD smooth_terms = 0;
    if (ls > 0) {
      for (Index c = 0; c < C; ++c) {
        const LD w = opts.has_weight() ? static_cast<LD>(opts.weight()(c)) : LD(1);
        smooth_terms += std::fabs(w) * (finite_or_zero(std::fabs(xr(n, c) - m)) + lse + 1);
      }
    }
    if (ls > 0) {  // the same underflowing smoothing coefficients in the gradient
      LD wsum = 0;
      for (Index c = 0; c < C; ++c)
        wsum += opts.has_weight() ? std::fabs(static_cast<LD>(opts.weight()(c))) : LD(1);
      t.grad.row(n).array() +=
          k * static_cast<LD>(std::numeric_limits<S>::denorm_min()) * (1 + finite_or_zero(wsum));
    }
    t.loss(n) = k * e * loss_terms + k * static_cast<LD>(std::numeric_limits<S>::denorm_min()) *
                                         finite_or_zero(smooth_terms);
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

template <class S, class X, class XW, class Y>
void check_cross_entropy(const Case& c, const Problem<S>& pb, const X& x, const XW& x_writable,
                         const Y& y, xent::CrossEntropyOptions opts) {
  const std::vector<const char*> args = {"weight", "Target", "ignore_index"};
  const LMat xr = rows_of(x, pb.layout);
  const Tolerances tol = ce_tolerances<S>(xr, y, opts);
  const std::exception_ptr ex =
      reference_outcome([&] { xent::reference::cross_entropy<LD>(x, y, opts); });
  const bool valid = ex == nullptr;
  LVec ref_losses;
  if (valid) ref_losses = xent::reference::cross_entropy_per_sample<LD>(x, y, opts);
  const LD sum_tol =
      valid ? tol.loss.sum() + kUlps * eps<S>() * finite_or_zero(ref_losses.cwiseAbs().sum())
            : LD(0);
  const LD W =
      valid ? static_cast<LD>(xent::detail::CrossEntropyKernel::check("", x, y, opts)) : LD(1);

  for (const xent::Reduction r : {xent::Reduction::Mean, xent::Reduction::Sum}) {
    opts.reduction(r);
    const bool mean = r == xent::Reduction::Mean;
    S loss = 0;
    if (call(c, "cross_entropy", ex, args, [&] { loss = xent::cross_entropy(x, y, opts); })) {
      c.check_reduced<S>("cross_entropy", mean ? "mean" : "sum", loss,
                         xent::reference::cross_entropy<LD>(x, y, opts), sum_tol, mean, W,
                         ref_losses.sum());
    }
    // backward with grad_output, and the fused forward+backward (gradient into a column-major
    // matrix) and in place (over a copy of the logits in their own form).
    // The factor of every gradient row as the library rounds it (see lib_scale), given to the
    // reference as a sum's grad_output.
    const LD s_red = lib_scale<S>(pb.grad_output, mean, W);
    xent::CrossEntropyOptions sum_opts = opts;
    sum_opts.reduction(xent::Reduction::Sum);
    xent::detail::PlainMatrix<X> grad;
    if (call(c, "cross_entropy_backward", ex, args,
             [&] { grad = xent::cross_entropy_backward(x, y, opts, pb.grad_output); })) {
      const LMat ref = xent::reference::cross_entropy_backward<LD>(x, y, sum_opts, s_red);
      c.check_matrix("cross_entropy_backward", "gradient", grad, ref,
                     in_layout(scale_rows(tol.grad, LVec::Constant(pb.N, s_red)), pb.layout));
    }
    xent::detail::PlainMatrix<X> fused;  // x's storage order: the in-place call's twin
    S fused_loss = 0;
    if (call(c, "cross_entropy_forward_backward", ex, args,
             [&] { fused_loss = xent::cross_entropy_forward_backward(x, y, fused, opts); })) {
      c.check_reduced<S>("cross_entropy_forward_backward", "loss", fused_loss,
                         xent::reference::cross_entropy<LD>(x, y, opts), sum_tol, mean, W,
                         ref_losses.sum());
      const LD s1 = lib_scale<S>(S(1), mean, W);
      c.check_matrix("cross_entropy_forward_backward", "gradient", fused,
                     xent::reference::cross_entropy_backward<LD>(x, y, sum_opts, s1),
                     in_layout(scale_rows(tol.grad, LVec::Constant(pb.N, s1)), pb.layout));
      // In place on x's own storage: against the reference (a strided Map may take another kernel
      // than a plain output: a lone strided sample summed in another order, found by this harness).
      for (Index j = 0; j < x.cols(); ++j)
        for (Index i = 0; i < x.rows(); ++i) x_writable.const_cast_derived()(i, j) = x(i, j);
      const S in_place_own = xent::cross_entropy_forward_backward_in_place(x_writable, y, opts);
      c.check_reduced<S>("cross_entropy_forward_backward_in_place", "loss", in_place_own,
                         xent::reference::cross_entropy<LD>(x, y, opts), sum_tol, mean, W,
                         ref_losses.sum());
      c.check_matrix("cross_entropy_forward_backward_in_place", "gradient", x_writable,
                     xent::reference::cross_entropy_backward<LD>(x, y, sum_opts, s1),
                     in_layout(scale_rows(tol.grad, LVec::Constant(pb.N, s1)), pb.layout));
      check_in_place_matches_fused<S>(c, x, y, opts);
    }
  }
  // reduction='none' and its backward
  Vec<S> per_sample;
  if (call(c, "cross_entropy_per_sample", ex, args,
           [&] { per_sample = xent::cross_entropy_per_sample(x, y, opts); })) {
    c.per_sample_result = true;
    c.check_matrix("cross_entropy_per_sample", "loss", per_sample, LMat(ref_losses),
                   LMat(tol.loss));
    c.per_sample_result = false;
  }
  xent::detail::PlainMatrix<X> grad;
  if (call(c, "cross_entropy_per_sample_backward", ex, args,
           [&] { grad = xent::cross_entropy_per_sample_backward(x, y, pb.g, opts); })) {
    c.check_matrix("cross_entropy_per_sample_backward", "gradient", grad,
                   xent::reference::cross_entropy_per_sample_backward<LD>(x, y, pb.g, opts),
                   in_layout(scale_rows(tol.grad, pb.g.template cast<LD>()), pb.layout));
  }
}

template <class S, class X, class Y>
void check_nll(const Case& c, const Problem<S>& pb, const X& x, const Y& y,
               xent::NLLLossOptions opts) {
  const std::vector<const char*> args = {"weight", "Target"};
  const LMat xr = rows_of(x, pb.layout);
  const std::exception_ptr ex =
      reference_outcome([&] { xent::reference::nll_loss<LD>(x, y, opts); });
  const bool valid = ex == nullptr;
  const Index N = pb.N, C = pb.C;
  // Tolerances: one product per sample.
  LVec loss_tol = LVec::Zero(N), wy = LVec::Zero(N);
  if (valid) {
    for (Index n = 0; n < N; ++n) {
      const std::int64_t t = static_cast<std::int64_t>(y(n));
      if (t == opts.ignore_index()) continue;
      wy(n) = opts.has_weight() ? static_cast<LD>(opts.weight()(t)) : LD(1);
      loss_tol(n) = kUlps * eps<S>() * finite_or_zero(std::fabs(wy(n) * xr(n, t)));
    }
  }
  const auto grad_tol = [&](const LVec& s) {
    LMat t = LMat::Zero(N, C);
    for (Index n = 0; n < N; ++n) {
      const std::int64_t target = static_cast<std::int64_t>(y(n));
      if (target == opts.ignore_index()) continue;
      t(n, target) = kUlps * eps<S>() * finite_or_zero(std::fabs(wy(n) * s(n)));
    }
    return in_layout(t, pb.layout);
  };
  LVec ref_losses;
  if (valid) ref_losses = xent::reference::nll_loss_per_sample<LD>(x, y, opts);
  const LD sum_tol =
      valid ? loss_tol.sum() + kUlps * eps<S>() * finite_or_zero(ref_losses.cwiseAbs().sum())
            : LD(0);
  const LD W = valid ? static_cast<LD>(xent::detail::NLLLossKernel::check("", x, y, opts)) : LD(1);
  for (const xent::Reduction r : {xent::Reduction::Mean, xent::Reduction::Sum}) {
    opts.reduction(r);
    const bool mean = r == xent::Reduction::Mean;
    S loss = 0;
    if (call(c, "nll_loss", ex, args, [&] { loss = xent::nll_loss(x, y, opts); })) {
      c.check_reduced<S>("nll_loss", mean ? "mean" : "sum", loss,
                         xent::reference::nll_loss<LD>(x, y, opts), sum_tol, mean, W,
                         ref_losses.sum());
    }
    const LD s_red = lib_scale<S>(pb.grad_output, mean, W);
    xent::NLLLossOptions sum_opts = opts;
    sum_opts.reduction(xent::Reduction::Sum);
    xent::detail::PlainMatrix<X> grad;
    if (call(c, "nll_loss_backward", ex, args,
             [&] { grad = xent::nll_loss_backward(x, y, opts, pb.grad_output); })) {
      c.check_matrix("nll_loss_backward", "gradient", grad,
                     xent::reference::nll_loss_backward<LD>(x, y, sum_opts, s_red),
                     grad_tol(LVec::Constant(N, s_red)));
    }
    RowMat<S> fused;
    S fused_loss = 0;
    if (call(c, "nll_loss_forward_backward", ex, args,
             [&] { fused_loss = xent::nll_loss_forward_backward(x, y, fused, opts); })) {
      c.check_reduced<S>("nll_loss_forward_backward", "loss", fused_loss,
                         xent::reference::nll_loss<LD>(x, y, opts), sum_tol, mean, W,
                         ref_losses.sum());
      c.check_matrix(
          "nll_loss_forward_backward", "gradient", fused,
          xent::reference::nll_loss_backward<LD>(x, y, sum_opts, lib_scale<S>(S(1), mean, W)),
          grad_tol(LVec::Constant(N, lib_scale<S>(S(1), mean, W))));
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
    c.check_matrix("nll_loss_per_sample_backward", "gradient", grad,
                   xent::reference::nll_loss_per_sample_backward<LD>(x, y, pb.g, opts),
                   grad_tol(pb.g.template cast<LD>()));
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
  c.beyond_range = beyond_documented_range(pb.x) || beyond_range_or_infinite(pb.g) ||
                   std::isinf(pb.grad_output) ||
                   std::fabs(pb.grad_output) > documented_limit<S>() ||
                   (ce.has_weight() && (beyond_range_or_infinite(ce.weight().cast<S>().eval()) ||
                                        weighted_spread_beyond_range(pb.x, ce.weight()) ||
                                        weighted_upstream_beyond_range(pb.g, pb.grad_output,
                                                                       ce.weight())));
  desc += Tuning::apply(in);
  if (c.beyond_range) desc += " (values beyond the documented range)";
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
