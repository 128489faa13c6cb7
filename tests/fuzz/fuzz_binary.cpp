// Fuzz harness: binary_cross_entropy_with_logits and binary_cross_entropy -- every reduction,
// per-element, backward, per-element backward, fused forward+backward -- against
// xent::reference<long double>, with every weight kind (per class, per sample, element-wise, wrong
// shapes), pos_weight (zeros, negatives, wrong length), targets outside [0, 1], probabilities
// outside [0, 1] (the documented std::invalid_argument), special values.
//
// Tolerances per element (k = kUlps, e = eps(S), w the element's weight, P its pos_weight, s the
// upstream factor: grad_output / (N C), grad_output, or grad_outputs(i, j)):
//   with logits: loss = w [(1 - t) softplus(x) + P t softplus(-x)]
//                sum|terms| = |w| (|1 - t| softplus(x) + |P t| softplus(-x))
//                grad = w [(1 - t) sigmoid(x) - P t sigmoid(-x)]
//                sum|terms| = |s w| (|1 - t| sigmoid(x) + |P t| sigmoid(-x))
//   probabilities: loss = -w [t max(log p, -100) + (1 - t) max(log1p(-p), -100)]
//                sum|terms| = |w| (|t| |max(log p, -100)| + |1 - t| |max(log1p(-p), -100)|)
//                grad = w (p - t) / max(p (1 - p), 1e-12):  sum|terms| = |s| |grad|
//   each + a floor |s w| (1 + |t| + |P t|) (k min_normal(S) + k eps(long double) r) for results
//   in S's subnormal range and the reference's own rounding (r = 1 + |x| for the loss on logits,
//   whose reference form max(x, 0) - x t cancels; else 1);
//   reduced: sum tol + k e sum |loss|, / (N C) for the mean, + k e |result|.
#include <xent/reference.hpp>

#include "fuzz_support.hpp"

namespace {

using namespace xf;

struct WithLogits {
  using Options = xent::BCEWithLogitsLossOptions;
  static constexpr const char* name = "binary_cross_entropy_with_logits";
  template <class X, class T>
  static auto loss(const X& x, const T& t, const Options& o) {
    return xent::binary_cross_entropy_with_logits(x, t, o);
  }
  template <class X, class T>
  static auto per_sample(const X& x, const T& t, const Options& o) {
    return xent::binary_cross_entropy_with_logits_per_sample(x, t, o);
  }
  template <class X, class T, class G>
  static auto backward(const X& x, const T& t, const Options& o, G g) {
    return xent::binary_cross_entropy_with_logits_backward(x, t, o, g);
  }
  template <class X, class T, class G>
  static auto per_sample_backward(const X& x, const T& t, const G& g, const Options& o) {
    return xent::binary_cross_entropy_with_logits_per_sample_backward(x, t, g, o);
  }
  template <class X, class T, class G>
  static auto forward_backward(const X& x, const T& t, G& g, const Options& o) {
    return xent::binary_cross_entropy_with_logits_forward_backward(x, t, g, o);
  }
  template <class X, class T>
  static LMat ref_per_sample(const X& x, const T& t, const Options& o) {
    return xent::reference::binary_cross_entropy_with_logits_per_sample<LD>(x, t, o);
  }
  template <class X, class T, class G>
  static LMat ref_per_sample_backward(const X& x, const T& t, const G& g, const Options& o) {
    return xent::reference::binary_cross_entropy_with_logits_per_sample_backward<LD>(x, t, g, o);
  }
  // The reference's own rounding (in long double) grows with |x|: its max(x, 0) - x t cancels
  // (x = 7e7, t = 1 - 2^-52 in double: relative error 1e-4 in the reference, none in xent).
  static LD reference_scale(LD x) { return 1 + std::fabs(x); }
  // The unweighted loss and gradient of one element (finite x), as xent forms them.
  static void values(LD x, LD t, LD P, LD& loss, LD& grad) {
    const LD a = std::fabs(x), tail = std::log1p(std::exp(-a));
    loss = (1 - t) * ((x > 0 ? a : LD(0)) + tail) + P * t * ((x < 0 ? a : LD(0)) + tail);
    grad = (1 - t) / (1 + std::exp(-x)) - P * t / (1 + std::exp(x));
  }
  // sum|terms| of the loss and of the gradient (s = 1) of one element.
  static void terms(LD x, LD t, LD w, LD P, LD& loss, LD& grad) {
    const LD a = std::fabs(x), tail = std::log1p(std::exp(-a));
    const LD sp_pos = (x > 0 ? a : LD(0)) + tail, sp_neg = (x < 0 ? a : LD(0)) + tail;
    const LD sig_pos = 1 / (1 + std::exp(-x)), sig_neg = 1 / (1 + std::exp(x));
    const LD cn = std::fabs(1 - t), cp = std::fabs(P * t);
    loss = std::fabs(w) * (cn * sp_pos + (cp > 0 ? cp * sp_neg : LD(0)));
    grad = std::fabs(w) * (cn * sig_pos + cp * sig_neg);
  }
};

struct OnProbabilities {
  using Options = xent::BCELossOptions;
  static constexpr const char* name = "binary_cross_entropy";
  template <class X, class T>
  static auto loss(const X& x, const T& t, const Options& o) {
    return xent::binary_cross_entropy(x, t, o);
  }
  template <class X, class T>
  static auto per_sample(const X& x, const T& t, const Options& o) {
    return xent::binary_cross_entropy_per_sample(x, t, o);
  }
  template <class X, class T, class G>
  static auto backward(const X& x, const T& t, const Options& o, G g) {
    return xent::binary_cross_entropy_backward(x, t, o, g);
  }
  template <class X, class T, class G>
  static auto per_sample_backward(const X& x, const T& t, const G& g, const Options& o) {
    return xent::binary_cross_entropy_per_sample_backward(x, t, g, o);
  }
  template <class X, class T, class G>
  static auto forward_backward(const X& x, const T& t, G& g, const Options& o) {
    return xent::binary_cross_entropy_forward_backward(x, t, g, o);
  }
  template <class X, class T>
  static LMat ref_per_sample(const X& x, const T& t, const Options& o) {
    return xent::reference::binary_cross_entropy_per_sample<LD>(x, t, o);
  }
  template <class X, class T, class G>
  static LMat ref_per_sample_backward(const X& x, const T& t, const G& g, const Options& o) {
    return xent::reference::binary_cross_entropy_per_sample_backward<LD>(x, t, g, o);
  }
  static LD reference_scale(LD) { return 1; }
  static void values(LD p, LD t, LD, LD& loss, LD& grad) {
    loss = -(t * std::max(std::log(p), LD(-100)) + (1 - t) * std::max(std::log1p(-p), LD(-100)));
    grad = (p - t) / std::max(p * (1 - p), LD(1e-12));
  }
  static void terms(LD p, LD t, LD w, LD, LD& loss, LD& grad) {
    const LD lp = std::max(std::log(p), LD(-100)), l1p = std::max(std::log1p(-p), LD(-100));
    loss = std::fabs(w) *
           ((t != 0 ? std::fabs(t * lp) : LD(0)) + (t != 1 ? std::fabs((1 - t) * l1p) : LD(0)));
    grad = std::fabs(w * (p - t) / std::max(p * (1 - p), LD(1e-12)));
  }
};

// The elements whose values are not compared (see the relaxation in fuzz_support.hpp), decided
// per element from its own inputs: a finite input, target, weight or pos_weight beyond the
// documented limit; an infinite target of BCE-with-logits (the reference's PyTorch-form gradient
// (P t + 1 - t) sigmoid(x) - P t gives inf - inf = NaN where xent's (1 - t) sigmoid(x) - P t
// sigmoid(-x) gives the limit); a NaN P t at an infinite logit (undocumented: the reference's
// limit takes the dominant term's coefficient alone, 0 at x = +inf, t = 1, where xent's NaN P t
// times softplus(-inf) = 0 propagates NaN; found: P = NaN); and products of in-range values that
// leave S's range:
// - P t underflowing S (nonzero, below min_normal): an infinite logit's term becomes 0 * inf or
//   is skipped as 0, where the reference has +-inf;
// - P t beyond S's range: inf there, times a zero weight, is NaN where the reference keeps 0
//   (found: P = -FLT_MAX, t = 185).
// The gradients also skip an element whose upstream factor is infinite, NaN, subnormal or beyond
// the limit (see unpromised_factor), or whose weight times it leaves S's range: the library forms
// (scale * w) first, as PyTorch rounds it, and gets inf where the reference's gradient may still be
// finite (w (p - t) / max(p (1 - p), 1e-12) with t tiny; found in CI: w = FLT_MAX, t = 1.7e-21).
template <class S>
Mask unpromised_elements(const ColMat<S>& x, const ColMat<S>& t, const LMat& w, const LMat& P,
                         bool logits) {
  const LD min_s = std::numeric_limits<S>::min(), max_s = std::numeric_limits<S>::max();
  Mask skip(x.rows(), x.cols());
  for (Index i = 0; i < x.size(); ++i) {
    const LD xv = static_cast<LD>(x(i)), tv = static_cast<LD>(t(i));
    const LD pt = std::fabs(P(i) * tv);
    // w and P hold S's values in long double: compared with S's documented limit.
    skip(i) = beyond_limit<S>(xv) || beyond_limit<S>(tv) || beyond_limit<S>(w(i)) ||
              beyond_limit<S>(P(i)) || (logits && std::isinf(tv)) || (pt > 0 && pt < min_s) ||
              pt > max_s || (logits && std::isinf(xv) && std::isnan(pt));
  }
  return skip;
}
template <class S>
Mask unpromised_gradient(const Mask& forward, const LMat& upstream, const LMat& w) {
  const LD max_s = std::numeric_limits<S>::max();
  Mask skip = forward;
  for (Index i = 0; i < skip.size(); ++i)
    skip(i) = skip(i) || unpromised_factor<S>(upstream(i)) || std::fabs(w(i) * upstream(i)) > max_s;
  return skip;
}

// The expected exception, from PyTorch's rules (not the library's checks): a weight or pos_weight
// of the wrong shape (the harness decodes `wrong`), and for BCE on probabilities an input or
// target outside [0, 1] or NaN.
template <class S>
bool outside_unit_interval(const ColMat<S>& m) {
  return !((m.array() >= S(0)) && (m.array() <= S(1))).all();
}

template <class Family, class S, class X, class T>
void check_family(const Case& c, const X& x, const T& t, typename Family::Options opts,
                  const ColMat<S>& G, S grad_output, const LMat& w, const LMat& P, bool valid,
                  const Mask& skip) {
  const std::string name = Family::name;
  const std::vector<const char*> args = {"input", "target", "weight", "pos_weight"};
  const Index rows = x.rows(), cols = x.cols();
  const std::exception_ptr ex =
      valid ? nullptr : std::make_exception_ptr(std::invalid_argument("input"));
  Mask loss_skip = skip, grad_skip = skip;  // + the infinite weights below
  const LD k = kUlps, e = eps<S>(), tiny = static_cast<LD>(std::numeric_limits<S>::min());
  LMat loss_tol = LMat::Zero(rows, cols), grad_tol = LMat::Zero(rows, cols), ref;
  // Unscaled: w times the upstream factor may underflow S (a subnormal weight), an absolute
  // error of denorm_min on that product, times the rest of the gradient.
  LMat grad_floor = LMat::Zero(rows, cols);
  if (valid) {
    ref = Family::ref_per_sample(x, t, opts);
    for (Index j = 0; j < cols; ++j)
      for (Index i = 0; i < rows; ++i) {
        const LD xv = static_cast<LD>(x(i, j)), tv = static_cast<LD>(t(i, j));
        LD lt = 0, gt = 0;
        Family::terms(xv, tv, w(i, j), P(i, j), lt, gt);
        const LD coefficients =
            finite_or_zero(std::fabs(w(i, j)) * (1 + std::fabs(tv) + std::fabs(P(i, j) * tv)));
        const LD ref_eps = k * std::numeric_limits<LD>::epsilon();
        loss_tol(i, j) =
            k * e * finite_or_zero(lt) +
            coefficients * (k * tiny + ref_eps * finite_or_zero(Family::reference_scale(xv)));
        grad_tol(i, j) = k * e * finite_or_zero(gt) + coefficients * (k * tiny + ref_eps);
        LD lt1 = 0, gt1 = 0;
        Family::terms(xv, tv, 1, P(i, j), lt1, gt1);
        grad_floor(i, j) =
            k * static_cast<LD>(std::numeric_limits<S>::denorm_min()) * (1 + finite_or_zero(gt1));
        // An infinite weight times a term whose sign (or nonzero-ness) neither S nor the
        // reference resolves -- its value within the tolerance of 0 -- is +inf, -inf or NaN by a
        // rounding: S flushes a tiny term (0 * inf = NaN) where the reference keeps it (tiny *
        // inf = inf; found: x = -464.6, t = 0, w = inf, float); the reference's cancelling form
        // rounds it to 0 where xent's sum of non-negative terms does not (found: x = -43.1,
        // t = 0.5, P = 0, w = -inf); (1 - t) softplus(x) + P t softplus(-x) cancels in S (found:
        // x = 6e-43, t = 1e30, w = -inf, float). Not promised; an infinite weight on any other
        // term is compared.
        // And a weight (0 included) times an unweighted term beyond S's range: inf in S, so NaN
        // or inf where the reference's product is finite (found: x = -1e30, t = 1e30, w = 0:
        // P t softplus(-x) = 1e60, float).
        const LD max_s = static_cast<LD>(std::numeric_limits<S>::max());
        const LD unresolved = tiny + ref_eps * (1 + std::fabs(tv) + std::fabs(P(i, j) * tv));
        LD lv = 0, gv = 0;
        if (std::isinf(w(i, j)) && std::isfinite(xv)) Family::values(xv, tv, P(i, j), lv, gv);
        const bool inf_w = std::isinf(w(i, j)) && std::isfinite(xv);
        loss_skip(i, j) =
            loss_skip(i, j) || lt1 > max_s ||
            (inf_w && !(std::fabs(lv) > k * e * lt1 + unresolved * Family::reference_scale(xv)));
        grad_skip(i, j) = grad_skip(i, j) || gt1 > max_s ||
                          (inf_w && !(std::fabs(gv) > k * e * gt1 + unresolved));
      }
  }
  const bool skip_reduced = loss_skip.any();
  const LD sum_tol = valid ? loss_tol.sum() + k * e * finite_or_zero(ref.cwiseAbs().sum()) : LD(0);
  const LD W = static_cast<LD>(rows * cols);
  for (const xent::Reduction r : {xent::Reduction::Mean, xent::Reduction::Sum}) {
    opts.reduction(r);
    const bool mean = r == xent::Reduction::Mean;
    const LD ref_sum = valid ? ref.sum() : LD(0);
    const LD ref_value = mean ? ref_sum / W : ref_sum;
    S loss = 0;
    if (call(c, name, ex, args, [&] { loss = Family::loss(x, t, opts); })) {
      c.check_reduced<S>(name, mean ? "mean" : "sum", loss, ref_value, sum_tol, mean, W, ref_sum,
                         skip_reduced);
    }
    const LD s = lib_scale<S>(grad_output, mean, W);  // as the library rounds it
    const LMat ref_grad =
        valid ? Family::ref_per_sample_backward(x, t, LMat::Constant(rows, cols, s), opts) : LMat();
    xent::detail::PlainMatrix<X> grad;
    if (call(c, name + "_backward", ex, args,
             [&] { grad = Family::backward(x, t, opts, grad_output); })) {
      const Mask m = unpromised_gradient<S>(grad_skip, LMat::Constant(rows, cols, s), w);
      c.check_matrix(name + "_backward", "gradient", grad, ref_grad,
                     grad_tol * finite_or_zero(std::fabs(s)) + grad_floor, &m);
    }
    RowMat<S> fused;
    S fused_loss = 0;
    if (call(c, name + "_forward_backward", ex, args,
             [&] { fused_loss = Family::forward_backward(x, t, fused, opts); })) {
      c.check_reduced<S>(name + "_forward_backward", "loss", fused_loss, ref_value, sum_tol, mean,
                         W, ref_sum, skip_reduced);
      const LD s1 = lib_scale<S>(S(1), mean, W);
      const Mask m = unpromised_gradient<S>(grad_skip, LMat::Constant(rows, cols, s1), w);
      c.check_matrix(name + "_forward_backward", "gradient", fused,
                     Family::ref_per_sample_backward(x, t, LMat::Constant(rows, cols, s1), opts),
                     grad_tol * s1 + grad_floor, &m);
    }
  }
  xent::detail::PlainMatrix<X> per_sample;
  if (call(c, name + "_per_sample", ex, args,
           [&] { per_sample = Family::per_sample(x, t, opts); })) {
    c.check_matrix(name + "_per_sample", "loss", per_sample, ref, loss_tol, &loss_skip);
  }
  xent::detail::PlainMatrix<X> grad;
  if (call(c, name + "_per_sample_backward", ex, args,
           [&] { grad = Family::per_sample_backward(x, t, G, opts); })) {
    const LMat scale =
        G.template cast<LD>().cwiseAbs().unaryExpr([](LD v) { return finite_or_zero(v); });
    const Mask m = unpromised_gradient<S>(grad_skip, G.template cast<LD>(), w);
    c.check_matrix(name + "_per_sample_backward", "gradient", grad,
                   Family::ref_per_sample_backward(x, t, G, opts),
                   grad_tol.cwiseProduct(scale) + grad_floor, &m);
  }
}

// A probability: mostly in [0, 1] (0, 1, tiny, 1 - eps, ordinary), rarely outside or NaN.
template <class S>
S probability(FuzzInput& in) {
  switch (in.byte() % 16) {
    case 0:
      return S(0);
    case 1:
      return S(1);
    case 2:
      return std::numeric_limits<S>::denorm_min() * static_cast<S>(in.range(1, 100));
    case 3:
      return S(1) - std::numeric_limits<S>::epsilon() * static_cast<S>(in.range(1, 4)) / 2;
    case 4:
      return static_cast<S>(std::ldexp(1.0, -static_cast<int>(in.range(20, 140))));
    case 5:
      return in.byte() < 32 ? in.value<S>() : S(0.5);  // the case's special values, rarely
    default:
      return std::fabs(in.ordinary<S>(0)) / S(8);
  }
}

template <class S>
void run(FuzzInput& in) {
  Case c;
  c.harness = "fuzz_binary";
  Index rows = 0, cols = 0;
  in.dims(rows, cols);
  const xent::Layout layout =
      in.flag() ? xent::Layout::SamplesInColumns : xent::Layout::SamplesInRows;
  const bool by_rows = layout == xent::Layout::SamplesInRows;
  const Index N = by_rows ? rows : cols, C = by_rows ? cols : rows;
  const int kind = Storage<S>::decode_kind(in.byte());
  in.choose_special_rate();
  std::string desc = std::string(scalar_name<S>()) + " shape=" + shape_text(rows, cols) +
                     " layout=" + layout_name(layout) + " storage=" + Storage<S>::name(kind);

  // Weights: none, per class (C), per sample (N), element-wise; now and then a wrong size.
  const int weight_kind = in.byte() % 4;
  const bool wrong = in.byte() % 8 == 0;
  LMat w = LMat::Ones(rows, cols), P = LMat::Ones(rows, cols);
  Eigen::RowVectorXd w_class;
  Vec<double> w_sample;
  ColMat<double> w_elem;
  if (weight_kind == 1) {
    w_class.resize(wrong ? C + 1 : C);
    for (Index i = 0; i < w_class.size(); ++i) w_class(i) = in.weight<S>();
    desc += " weight=per-class(" + std::to_string(w_class.size()) + ")";
  } else if (weight_kind == 2) {
    w_sample.resize(wrong ? N + 1 : N);
    for (Index i = 0; i < w_sample.size(); ++i) w_sample(i) = in.weight<S>();
    desc += " weight=per-sample(" + std::to_string(w_sample.size()) + ")";
  } else if (weight_kind == 3) {
    w_elem.resize(rows, wrong ? cols + 1 : cols);
    for (Index i = 0; i < w_elem.size(); ++i) w_elem(i) = in.weight<S>();
    desc += " weight=element-wise(" + shape_text(w_elem.rows(), w_elem.cols()) + ")";
  }
  const bool has_pos = in.flag();
  Vec<double> pos;
  if (has_pos) {
    pos.resize(wrong && in.flag() ? C + 1 : C);
    for (Index i = 0; i < pos.size(); ++i) pos(i) = in.weight<S>();
    desc += " pos_weight(" + std::to_string(pos.size()) + ")";
  }
  // Each broadcast when its size is right (a wrong one makes every call throw).
  for (Index j = 0; j < cols; ++j)
    for (Index i = 0; i < rows; ++i) {
      const Index n = by_rows ? i : j, cl = by_rows ? j : i;
      if (!wrong && weight_kind == 1) w(i, j) = static_cast<LD>(w_class(cl));
      if (!wrong && weight_kind == 2) w(i, j) = static_cast<LD>(w_sample(n));
      if (!wrong && weight_kind == 3) w(i, j) = static_cast<LD>(w_elem(i, j));
      if (has_pos && pos.size() == C) P(i, j) = static_cast<LD>(pos(cl));
    }
  const auto with_weights = [&](auto opts) {
    opts.layout(layout);
    if (weight_kind == 1) opts.class_weight(w_class);
    if (weight_kind == 2) opts.sample_weight(w_sample);
    if (weight_kind == 3) opts.element_weight(w_elem);
    return opts;
  };
  xent::BCEWithLogitsLossOptions logit_opts = with_weights(xent::BCEWithLogitsLossOptions());
  if (has_pos) logit_opts.pos_weight(pos);
  const xent::BCELossOptions prob_opts = with_weights(xent::BCELossOptions());

  ColMat<S> x(rows, cols), t(rows, cols), p(rows, cols), tp(rows, cols), G(rows, cols);
  for (Index i = 0; i < x.size(); ++i) x(i) = in.value<S>();
  for (Index i = 0; i < t.size(); ++i) t(i) = in.byte() < 64 ? in.value<S>() : probability<S>(in);
  for (Index i = 0; i < p.size(); ++i) p(i) = probability<S>(in);
  for (Index i = 0; i < tp.size(); ++i) tp(i) = probability<S>(in);
  for (Index i = 0; i < G.size(); ++i) G(i) = in.flag() ? in.ordinary<S>() : in.value<S>();
  const S grad_output = in.byte() % 4 == 0 ? in.value<S>() : S(1);
  desc += " grad_output=" + text(static_cast<LD>(grad_output));
  desc += Tuning::apply(in);
  c.description = desc;
  const ColMat<S>* xin = &x;
  const ColMat<S>* tin = &t;
  c.explain = [&](Index i, Index j) {
    return "input " + text(static_cast<LD>((*xin)(i, j))) + ", target " +
           text(static_cast<LD>((*tin)(i, j))) + ", weight " + text(w(i, j)) + ", pos_weight " +
           text(P(i, j)) + ", grad_outputs " + text(static_cast<LD>(G(i, j)));
  };

  // The weights' shapes: wrong ones make every call throw.
  // (pos_weight: BCE-with-logits only; found: binary_cross_entropy expected to throw for it.)
  const bool weight_ok = !(wrong && weight_kind != 0);
  const bool shapes_ok = weight_ok && !(has_pos && pos.size() != C);
  const Mask logit_skip = unpromised_elements<S>(x, t, w, P, true);
  Storage<S> xs(kind, x), ts(kind, t);
  Storage<S>::visit_pair(xs, ts, [&](const auto& xv, const auto& tv) {
    check_family<WithLogits, S>(c, xv, tv, logit_opts, G, grad_output, w, P, shapes_ok, logit_skip);
  });
  xin = &p;
  tin = &tp;
  const Mask prob_skip = unpromised_elements<S>(p, tp, w, LMat::Ones(rows, cols), false);
  Storage<S> ps(kind, p), tps(kind, tp);
  Storage<S>::visit_pair(ps, tps, [&](const auto& xv, const auto& tv) {
    check_family<OnProbabilities, S>(
        c, xv, tv, prob_opts, G, grad_output, w, LMat::Ones(rows, cols),
        weight_ok && !outside_unit_interval(p) && !outside_unit_interval(tp), prob_skip);
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return xf::run_float_or_double(data, size, run<float>, run<double>);
}
