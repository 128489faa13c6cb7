// Run-time dispatch in a plain build: this file is compiled for the x86-64 baseline (-march=x86-64,
// whatever CMAKE_CXX_FLAGS says), as a distribution package or a Python extension is, and times
// softmax and log_softmax over row-major rows with each tier the build carries forced by
// xent::set_isa: SSE2 (the flags' tier) and AVX2 + FMA (compiled in a target region). A tier the CPU
// lacks is reported as skipped. items_per_second = elements per second, one thread.
//
//   BM_<function>/<tier>/<N>/<C>
#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <string>
#include <xent/xent.hpp>

namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

template <bool kLog>
void BM_dispatch(benchmark::State& state, xent::Isa isa) {
  const Eigen::Index N = state.range(0), C = state.range(1);
  try {
    xent::set_isa(isa);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  const RowMatrix x = RowMatrix::Random(N, C) * 8.0f;
  RowMatrix out(N, C);
  for (auto _ : state) {
    if constexpr (kLog) {
      xent::log_softmax(x, out);
    } else {
      xent::softmax(x, out);
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

void BM_softmax(benchmark::State& state, xent::Isa isa) { BM_dispatch<false>(state, isa); }
void BM_log_softmax(benchmark::State& state, xent::Isa isa) { BM_dispatch<true>(state, isa); }

BENCHMARK_CAPTURE(BM_softmax, sse2, xent::Isa::Sse2)->Apply(shapes);
BENCHMARK_CAPTURE(BM_softmax, avx2, xent::Isa::Avx2)->Apply(shapes);
BENCHMARK_CAPTURE(BM_log_softmax, sse2, xent::Isa::Sse2)->Apply(shapes);
BENCHMARK_CAPTURE(BM_log_softmax, avx2, xent::Isa::Avx2)->Apply(shapes);

}  // namespace

BENCHMARK_MAIN();
