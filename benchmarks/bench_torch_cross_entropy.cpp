// libtorch's F::cross_entropy on the shapes of bench_cross_entropy.cpp (float, mean reduction,
// int64 targets), one thread, so the items/s columns compare directly with xent's.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

namespace {

void BM_torch(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  const std::int64_t c = state.range(1);
  torch::set_num_threads(1);
  torch::manual_seed(1234);
  const torch::Tensor logits = torch::randn({n, c}) * 4.0;
  const torch::Tensor targets = torch::randint(c, {n}, torch::kLong);
  torch::NoGradGuard no_grad;
  for (auto _ : state) {
    torch::Tensor loss = torch::nn::functional::cross_entropy(logits, targets);
    benchmark::DoNotOptimize(loss.item<float>());
  }
  state.SetItemsProcessed(state.iterations() * n * c);
}

}  // namespace

BENCHMARK(BM_torch)
    ->ArgNames({"N", "C"})
    ->Args({8192, 10})
    ->Args({4096, 1000})
    ->Args({512, 32000})
    ->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
