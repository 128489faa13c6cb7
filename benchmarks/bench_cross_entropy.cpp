// Cross-entropy forward (mean reduction, class-index targets, float, row-major N x C logits):
//   xent::cross_entropy  vs  xent::reference::cross_entropy  vs  a naive Eigen expression.
// items/s = logits processed per second (N * C per iteration).
#include <benchmark/benchmark.h>

#include <Eigen/Dense>
#include <cstdint>
#include <random>
#include <xent/reference.hpp>  // xent::reference::cross_entropy
#include <xent/xent.hpp>

namespace {

using RowMajorMatrixXf = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Targets = Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1>;

struct Batch {
  RowMajorMatrixXf logits;
  Targets targets;
};

// Fixed seed, so every run (and every implementation) sees the same data.
Batch make_batch(Eigen::Index n, Eigen::Index c) {
  std::mt19937 rng(1234);
  std::normal_distribution<float> logit(0.0f, 4.0f);
  std::uniform_int_distribution<std::int64_t> label(0, c - 1);
  Batch b{RowMajorMatrixXf(n, c), Targets(n)};
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = 0; j < c; ++j) b.logits(i, j) = logit(rng);
    b.targets(i) = label(rng);
  }
  return b;
}

// The textbook Eigen formulation: what one would write without a loss library.
float naive_eigen_cross_entropy(const RowMajorMatrixXf& x, const Targets& y) {
  const Eigen::VectorXf m = x.rowwise().maxCoeff();
  const Eigen::VectorXf lse =
      m.array() + (x.colwise() - m).array().exp().rowwise().sum().log();
  double sum = 0.0;
  for (Eigen::Index i = 0; i < x.rows(); ++i) sum += lse(i) - x(i, y(i));
  return static_cast<float>(sum / static_cast<double>(x.rows()));
}

template <typename Loss>
void run(benchmark::State& state, Loss loss) {
  const Batch b = make_batch(state.range(0), state.range(1));
  for (auto _ : state) {
    float value = loss(b.logits, b.targets);
    benchmark::DoNotOptimize(value);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0) * state.range(1));
}

void BM_xent(benchmark::State& state) {
  run(state, [](const RowMajorMatrixXf& x, const Targets& y) { return xent::cross_entropy(x, y); });
}

void BM_reference(benchmark::State& state) {
  run(state, [](const RowMajorMatrixXf& x, const Targets& y) {
    return static_cast<float>(xent::reference::cross_entropy(x, y, xent::CrossEntropyOptions()));
  });
}

void BM_naive_eigen(benchmark::State& state) { run(state, naive_eigen_cross_entropy); }

// (N, C): small-C per-row overhead, a typical classifier, an LLM-sized vocabulary.
void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"N", "C"});
  b->Args({8192, 10});
  b->Args({4096, 1000});
  b->Args({512, 32000});
  b->Unit(benchmark::kMicrosecond);
}

}  // namespace

BENCHMARK(BM_xent)->Apply(shapes);
BENCHMARK(BM_reference)->Apply(shapes);
BENCHMARK(BM_naive_eigen)->Apply(shapes);

BENCHMARK_MAIN();
