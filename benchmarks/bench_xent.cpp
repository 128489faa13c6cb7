// xent's public API, as a user calls it: preallocated outputs, default options (mean reduction).
#include <xent/xent.hpp>

#include <cstdlib>
#include <limits>

#include "bench_common.hpp"

namespace xent_bench {
namespace {

template <class M>
void run(benchmark::State& state, const Case& k) {
  Data<M>& d = dataset<M>(k);
  set_threads(k.threads);
  switch (k.fn) {
    case Fn::CrossEntropy:
      timed_loop(state, k, [&](std::size_t i) {
        float loss = xent::cross_entropy(d.x[i], d.y);
        benchmark::DoNotOptimize(loss);
      });
      break;
    case Fn::CrossEntropyFwdBwd:
      timed_loop(state, k, [&](std::size_t i) {
        float loss = xent::cross_entropy_forward_backward(d.x[i], d.y, d.out[i]);
        benchmark::DoNotOptimize(loss);
        benchmark::DoNotOptimize(d.out[i].data());
      });
      break;
    case Fn::CrossEntropyProbFwdBwd:
      timed_loop(state, k, [&](std::size_t i) {
        float loss = xent::cross_entropy_forward_backward(d.x[i], d.t[i], d.out[i]);
        benchmark::DoNotOptimize(loss);
        benchmark::DoNotOptimize(d.out[i].data());
      });
      break;
    case Fn::LogSoftmax:
      timed_loop(state, k, [&](std::size_t i) {
        xent::log_softmax(d.x[i], d.out[i]);
        benchmark::DoNotOptimize(d.out[i].data());
      });
      break;
    case Fn::Softmax:
      timed_loop(state, k, [&](std::size_t i) {
        xent::softmax(d.x[i], d.out[i]);
        benchmark::DoNotOptimize(d.out[i].data());
      });
      break;
    case Fn::LogSumExp:
      timed_loop(state, k, [&](std::size_t i) {
        xent::logsumexp(d.x[i], d.v[i]);
        benchmark::DoNotOptimize(d.v[i].data());
      });
      break;
    case Fn::NllLossFwdBwd:
      timed_loop(state, k, [&](std::size_t i) {
        float loss = xent::nll_loss_forward_backward(d.x[i], d.y, d.out[i]);
        benchmark::DoNotOptimize(loss);
        benchmark::DoNotOptimize(d.out[i].data());
      });
      break;
    case Fn::BceWithLogitsFwdBwd:
      timed_loop(state, k, [&](std::size_t i) {
        float loss =
            xent::binary_cross_entropy_with_logits_forward_backward(d.x[i], d.t[i], d.out[i]);
        benchmark::DoNotOptimize(loss);
        benchmark::DoNotOptimize(d.out[i].data());
      });
      break;
    case Fn::LogSoftmaxBackward:
      timed_loop(state, k, [&](std::size_t i) {
        xent::log_softmax_backward(d.t[i], d.x[i], d.out[i]);
        benchmark::DoNotOptimize(d.out[i].data());
      });
      break;
    case Fn::CrossEntropyInPlace:
      // The gradient overwrites the logits: each call works on a copy of them in an output
      // buffer, refilled from the logits after it (untimed).
      for (std::size_t i = 0; i < d.out.size(); ++i) d.out[i] = d.x[i];
      timed_loop_refilled(
          state, k,
          [&](std::size_t i) {
            float loss = xent::cross_entropy_forward_backward_in_place(d.out[i], d.y);
            benchmark::DoNotOptimize(loss);
            benchmark::DoNotOptimize(d.out[i].data());
          },
          [&](std::size_t i) { d.out[i] = d.x[i]; });
      break;
  }
}

}  // namespace

// XENT_BENCH_ONLINE_ROW_BYTES=<bytes> runs with xent::set_online_row_bytes(bytes) (to measure the
// switch between two passes and the online pass).
void apply_tuning_from_environment() {
  static const bool applied = [] {
    if (const char* v = std::getenv("XENT_BENCH_ONLINE_ROW_BYTES"))
      xent::set_online_row_bytes(std::strtoull(v, nullptr, 10));
    return true;
  }();
  static_cast<void>(applied);
}

void xent_output(Fn f, Data<RowMatrix>& d, RowMatrix& out) {
  switch (f) {
    case Fn::Softmax: xent::softmax(d.x[0], out); break;
    case Fn::LogSoftmax: xent::log_softmax(d.x[0], out); break;
    case Fn::LogSoftmaxBackward: xent::log_softmax_backward(d.t[0], d.x[0], out); break;
    default: out.setConstant(std::numeric_limits<float>::quiet_NaN()); break;  // not a peer's
  }
}

void run_xent(benchmark::State& state, const Case& k) {
  apply_tuning_from_environment();
  if (k.order == Order::RowMajor)
    run<RowMatrix>(state, k);
  else
    run<ColMatrix>(state, k);
}

}  // namespace xent_bench
