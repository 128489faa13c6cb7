// "Naive Eigen": what a user writes by hand without a loss library — the textbook max-shifted
// Eigen expressions, written into the same preallocated outputs as xent. Not hardened against
// -inf/NaN rows; soft targets assumed to sum to 1 per row (true for this data).
#include <Eigen/Core>

#include "bench_common.hpp"

namespace xent_bench {
namespace {

// m + log(sum(exp(x - m))) per row.
template <class M>
Vector naive_logsumexp(const M& x) {
  const Vector m = x.rowwise().maxCoeff();
  return m.array() + (x.colwise() - m).array().exp().rowwise().sum().log();
}

template <class M>
float gather_mean(const M& x, const Targets& y) {  // mean of x(i, y_i)
  double s = 0;
  for (Index i = 0; i < x.rows(); ++i) s += x(i, y(i));
  return static_cast<float>(s / static_cast<double>(x.rows()));
}

template <class M>
float cross_entropy(const M& x, const Targets& y) {
  const Vector lse = naive_logsumexp(x);
  return lse.mean() - gather_mean(x, y);
}

// softmax into g, then (softmax - onehot) / N.
template <class M>
float cross_entropy_fwd_bwd(const M& x, const Targets& y, M& g) {
  const Vector m = x.rowwise().maxCoeff();
  g = (x.colwise() - m).array().exp();
  const Vector s = g.rowwise().sum();
  const float loss = (m.array() + s.array().log()).mean() - gather_mean(x, y);
  g.array().colwise() /= s.array();
  for (Index i = 0; i < x.rows(); ++i) g(i, y(i)) -= 1.0f;
  g *= 1.0f / static_cast<float>(x.rows());
  return loss;
}

template <class M>
float cross_entropy_prob_fwd_bwd(const M& x, const M& t, M& g) {
  const Vector lse = naive_logsumexp(x);
  const float n = static_cast<float>(x.rows());
  const float loss = -(t.array() * (x.colwise() - lse).array()).sum() / n;
  g = ((x.colwise() - lse).array().exp() - t.array()) * (1.0f / n);
  return loss;
}

template <class M>
void log_softmax(const M& x, M& out) {
  const Vector lse = naive_logsumexp(x);
  out = x.colwise() - lse;
}

template <class M>
void softmax(const M& x, M& out) {
  const Vector m = x.rowwise().maxCoeff();
  out = (x.colwise() - m).array().exp();
  const Vector s = out.rowwise().sum();
  out.array().colwise() /= s.array();
}

template <class M>
float nll_loss_fwd_bwd(const M& x, const Targets& y, M& g) {
  const float loss = -gather_mean(x, y);
  g.setZero();
  const float scale = -1.0f / static_cast<float>(x.rows());
  for (Index i = 0; i < x.rows(); ++i) g(i, y(i)) = scale;
  return loss;
}

// g - exp(y) * rowsum(g): the textbook log_softmax backward.
template <class M>
void log_softmax_bwd(const M& g, const M& y, M& out) {
  const Vector s = g.rowwise().sum();
  out = g - (y.array().exp().colwise() * s.array()).matrix();
}

// The usual stable form: max(x, 0) - x t + log1p(exp(-|x|)); gradient (sigmoid(x) - t) / numel.
template <class M>
float bce_with_logits_fwd_bwd(const M& x, const M& t, M& g) {
  const float numel = static_cast<float>(x.size());
  const auto xa = x.array();
  const auto ta = t.array();
  const float loss = (xa.max(0.0f) - xa * ta + (-xa.abs()).exp().log1p()).sum() / numel;
  g = ((1.0f + (-xa).exp()).inverse() - ta) * (1.0f / numel);
  return loss;
}

template <class M>
void run(benchmark::State& state, const Case& k) {
  Data<M>& d = dataset<M>(k);
  set_threads(k.threads);
  switch (k.fn) {
    case Fn::CrossEntropy:
      timed_loop(state, k, [&](std::size_t i) {
        float loss = cross_entropy(d.x[i], d.y);
        benchmark::DoNotOptimize(loss);
      });
      break;
    case Fn::CrossEntropyFwdBwd:
      timed_loop(state, k, [&](std::size_t i) {
        float loss = cross_entropy_fwd_bwd(d.x[i], d.y, d.out[i]);
        benchmark::DoNotOptimize(loss);
        benchmark::DoNotOptimize(d.out[i].data());
      });
      break;
    case Fn::CrossEntropyProbFwdBwd:
      timed_loop(state, k, [&](std::size_t i) {
        float loss = cross_entropy_prob_fwd_bwd(d.x[i], d.t[i], d.out[i]);
        benchmark::DoNotOptimize(loss);
        benchmark::DoNotOptimize(d.out[i].data());
      });
      break;
    case Fn::LogSoftmax:
      timed_loop(state, k, [&](std::size_t i) {
        log_softmax(d.x[i], d.out[i]);
        benchmark::DoNotOptimize(d.out[i].data());
      });
      break;
    case Fn::Softmax:
      timed_loop(state, k, [&](std::size_t i) {
        softmax(d.x[i], d.out[i]);
        benchmark::DoNotOptimize(d.out[i].data());
      });
      break;
    case Fn::LogSumExp:
      timed_loop(state, k, [&](std::size_t i) {
        d.v[i] = naive_logsumexp(d.x[i]);
        benchmark::DoNotOptimize(d.v[i].data());
      });
      break;
    case Fn::NllLossFwdBwd:
      timed_loop(state, k, [&](std::size_t i) {
        float loss = nll_loss_fwd_bwd(d.x[i], d.y, d.out[i]);
        benchmark::DoNotOptimize(loss);
        benchmark::DoNotOptimize(d.out[i].data());
      });
      break;
    case Fn::BceWithLogitsFwdBwd:
      timed_loop(state, k, [&](std::size_t i) {
        float loss = bce_with_logits_fwd_bwd(d.x[i], d.t[i], d.out[i]);
        benchmark::DoNotOptimize(loss);
        benchmark::DoNotOptimize(d.out[i].data());
      });
      break;
    case Fn::LogSoftmaxBackward:
      timed_loop(state, k, [&](std::size_t i) {
        log_softmax_bwd(d.t[i], d.x[i], d.out[i]);
        benchmark::DoNotOptimize(d.out[i].data());
      });
      break;
    case Fn::CrossEntropyInPlace:  // not registered: xent only
      break;
  }
}

}  // namespace

void run_naive(benchmark::State& state, const Case& k) {
  if (k.order == Order::RowMajor)
    run<RowMatrix>(state, k);
  else
    run<ColMatrix>(state, k);
}

}  // namespace xent_bench
