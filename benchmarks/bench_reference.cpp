// xent::reference, the executable specification (computed in float here): plain gather-based
// code returning fresh matrices. Its fused "fwd_bwd" cases are the loss and the backward called
// one after the other (the reference has no fused entry point).
#include <xent/reference.hpp>

#include "bench_common.hpp"

namespace xent_bench {
namespace {

template <class M>
void run(benchmark::State& state, const Case& k) {
  Data<M>& d = dataset<M>(k);
  set_threads(k.threads);
  namespace ref = xent::reference;
  switch (k.fn) {
    case Fn::CrossEntropy:
      timed_loop(state, k, [&](std::size_t i) {
        float loss = ref::cross_entropy(d.x[i], d.y);
        benchmark::DoNotOptimize(loss);
      });
      break;
    case Fn::CrossEntropyFwdBwd:
      timed_loop(state, k, [&](std::size_t i) {
        float loss = ref::cross_entropy(d.x[i], d.y);
        auto grad = ref::cross_entropy_backward(d.x[i], d.y);
        benchmark::DoNotOptimize(loss);
        benchmark::DoNotOptimize(grad.data());
      });
      break;
    case Fn::CrossEntropyProbFwdBwd:
      timed_loop(state, k, [&](std::size_t i) {
        float loss = ref::cross_entropy(d.x[i], d.t[i]);
        auto grad = ref::cross_entropy_backward(d.x[i], d.t[i]);
        benchmark::DoNotOptimize(loss);
        benchmark::DoNotOptimize(grad.data());
      });
      break;
    case Fn::LogSoftmax:
      timed_loop(state, k, [&](std::size_t i) {
        auto out = ref::log_softmax(d.x[i]);
        benchmark::DoNotOptimize(out.data());
      });
      break;
    case Fn::Softmax:
      timed_loop(state, k, [&](std::size_t i) {
        auto out = ref::softmax(d.x[i]);
        benchmark::DoNotOptimize(out.data());
      });
      break;
    case Fn::LogSumExp:
      timed_loop(state, k, [&](std::size_t i) {
        auto out = ref::logsumexp(d.x[i]);
        benchmark::DoNotOptimize(out.data());
      });
      break;
    case Fn::NllLossFwdBwd:
      timed_loop(state, k, [&](std::size_t i) {
        float loss = ref::nll_loss(d.x[i], d.y);
        auto grad = ref::nll_loss_backward(d.x[i], d.y);
        benchmark::DoNotOptimize(loss);
        benchmark::DoNotOptimize(grad.data());
      });
      break;
    case Fn::BceWithLogitsFwdBwd:
      timed_loop(state, k, [&](std::size_t i) {
        float loss = ref::binary_cross_entropy_with_logits(d.x[i], d.t[i]);
        auto grad = ref::binary_cross_entropy_with_logits_backward(d.x[i], d.t[i]);
        benchmark::DoNotOptimize(loss);
        benchmark::DoNotOptimize(grad.data());
      });
      break;
    case Fn::LogSoftmaxBackward:
      timed_loop(state, k, [&](std::size_t i) {
        auto grad = ref::log_softmax_backward(d.t[i], d.x[i]);
        benchmark::DoNotOptimize(grad.data());
      });
      break;
    case Fn::CrossEntropyInPlace:  // not registered: xent only
      break;
  }
}

}  // namespace

void run_reference(benchmark::State& state, const Case& k) {
  if (k.order == Order::RowMajor)
    run<RowMatrix>(state, k);
  else
    run<ColMatrix>(state, k);
}

}  // namespace xent_bench
