// Run-time dispatch in a plain build: this file is compiled for the x86-64 baseline (-march=x86-64,
// whatever CMAKE_CXX_FLAGS says), as a distribution package or a Python extension is, and times
// softmax, log_softmax and cross-entropy (class indices: forward, and forward + backward) over
// row-major rows with each tier the build carries forced by
// xent::set_isa: SSE2 (the flags' tier) and AVX2 + FMA (compiled in a target region). A tier the
// CPU lacks is reported as skipped. items_per_second = elements per second, one thread.
//
//   BM_<function>/<tier>/<N>/<C>
#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <string>
#include <xent/xent.hpp>

namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

enum class Fn { Softmax, LogSoftmax, CrossEntropy, CrossEntropyFwdBwd };

template <Fn kFn>
void BM_dispatch(benchmark::State& state, xent::Isa isa) {
  const Eigen::Index N = state.range(0), C = state.range(1);
  try {
    xent::set_isa(isa);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  const RowMatrix x = RowMatrix::Random(N, C) * 8.0f;
  Eigen::VectorXi y(N);
  for (Eigen::Index n = 0; n < N; ++n) y(n) = static_cast<int>((n * 7919) % C);
  RowMatrix out(N, C);
  for (auto _ : state) {
    if constexpr (kFn == Fn::LogSoftmax) {
      xent::log_softmax(x, out);
    } else if constexpr (kFn == Fn::Softmax) {
      xent::softmax(x, out);
    } else if constexpr (kFn == Fn::CrossEntropy) {
      float loss = xent::cross_entropy(x, y);
      benchmark::DoNotOptimize(loss);
    } else {
      float loss = xent::cross_entropy_forward_backward(x, y, out);
      benchmark::DoNotOptimize(loss);
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  xent::reset_isa();
  state.SetItemsProcessed(state.iterations() * N * C);
  state.SetLabel(xent::isa_name(isa));
}

void shapes(benchmark::internal::Benchmark* b) {
  b->Args({4096, 1000})->Args({1024, 32000})->Args({256, 50257})->Unit(benchmark::kMicrosecond);
  b->Threads(1)->UseRealTime();
}

void BM_softmax(benchmark::State& state, xent::Isa isa) { BM_dispatch<Fn::Softmax>(state, isa); }
void BM_log_softmax(benchmark::State& state, xent::Isa isa) {
  BM_dispatch<Fn::LogSoftmax>(state, isa);
}
void BM_cross_entropy(benchmark::State& state, xent::Isa isa) {
  BM_dispatch<Fn::CrossEntropy>(state, isa);
}
void BM_cross_entropy_fwd_bwd(benchmark::State& state, xent::Isa isa) {
  BM_dispatch<Fn::CrossEntropyFwdBwd>(state, isa);
}

BENCHMARK_CAPTURE(BM_softmax, sse2, xent::Isa::Sse2)->Apply(shapes);
BENCHMARK_CAPTURE(BM_softmax, avx2, xent::Isa::Avx2)->Apply(shapes);
BENCHMARK_CAPTURE(BM_log_softmax, sse2, xent::Isa::Sse2)->Apply(shapes);
BENCHMARK_CAPTURE(BM_log_softmax, avx2, xent::Isa::Avx2)->Apply(shapes);
BENCHMARK_CAPTURE(BM_cross_entropy, sse2, xent::Isa::Sse2)->Apply(shapes);
BENCHMARK_CAPTURE(BM_cross_entropy, avx2, xent::Isa::Avx2)->Apply(shapes);
BENCHMARK_CAPTURE(BM_cross_entropy_fwd_bwd, sse2, xent::Isa::Sse2)->Apply(shapes);
BENCHMARK_CAPTURE(BM_cross_entropy_fwd_bwd, avx2, xent::Isa::Avx2)->Apply(shapes);

}  // namespace

BENCHMARK_MAIN();
