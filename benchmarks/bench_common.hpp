// Shared pieces of the xent benchmark suite (xent_bench): the benchmarked functions, shapes and
// storage orders, one cached data set at a time, the timing loop and thread setup.
//
// Every benchmark is named
//   <function>/<implementation>/<row_major|col_major>/N:<n>/C:<c>/threads:<t>/<warm|cold>
// and counts N*C logits per iteration as items (items_per_second = elements/s).
#pragma once

#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace xent_bench {

using Index = Eigen::Index;
using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ColMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
using Vector = Eigen::VectorXf;
using Targets = Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1>;  // torch's kLong, shared as is

// The functions of the suite. "fwd_bwd" = loss and its gradient (mean reduction, grad_output 1)
// into a preallocated gradient (xent, naive) or via autograd (torch).
enum class Fn {
  CrossEntropy,          // cross_entropy forward, class-index targets
  CrossEntropyFwdBwd,    // cross_entropy_forward_backward, class-index targets
  CrossEntropyProbFwdBwd,// cross_entropy_forward_backward, probability targets (N x C)
  LogSoftmax,            // log_softmax into a preallocated N x C output
  Softmax,               // softmax into a preallocated N x C output
  LogSumExp,             // logsumexp into a preallocated vector of N
  NllLossFwdBwd,         // nll_loss_forward_backward (the forward alone only reads N values)
  BceWithLogitsFwdBwd,   // binary_cross_entropy_with_logits_forward_backward, float targets N x C
  LogSoftmaxBackward,    // log_softmax_backward(grad_output, output) into a preallocated N x C
  CrossEntropyInPlace,   // cross_entropy_forward_backward_in_place (xent only: logits -> gradient)
};
constexpr Fn kAllFns[] = {Fn::CrossEntropy,        Fn::CrossEntropyFwdBwd, Fn::CrossEntropyProbFwdBwd,
                          Fn::LogSoftmax,          Fn::Softmax,            Fn::LogSumExp,
                          Fn::NllLossFwdBwd,       Fn::BceWithLogitsFwdBwd, Fn::LogSoftmaxBackward,
                          Fn::CrossEntropyInPlace};
// Functions also measured on the extra shapes (kExtraShapes in bench_main.cpp).
constexpr Fn kExtraShapeFns[] = {Fn::CrossEntropy, Fn::CrossEntropyFwdBwd, Fn::LogSoftmax};

inline const char* fn_name(Fn f) {
  switch (f) {
    case Fn::CrossEntropy: return "cross_entropy";
    case Fn::CrossEntropyFwdBwd: return "cross_entropy_fwd_bwd";
    case Fn::CrossEntropyProbFwdBwd: return "cross_entropy_prob_fwd_bwd";
    case Fn::LogSoftmax: return "log_softmax";
    case Fn::Softmax: return "softmax";
    case Fn::LogSumExp: return "logsumexp";
    case Fn::NllLossFwdBwd: return "nll_loss_fwd_bwd";
    case Fn::BceWithLogitsFwdBwd: return "bce_with_logits_fwd_bwd";
    case Fn::LogSoftmaxBackward: return "log_softmax_bwd";
    case Fn::CrossEntropyInPlace: return "cross_entropy_in_place";
  }
  return "?";
}

// Which inputs / outputs a function needs. log_softmax_bwd takes the probability targets as its
// grad_output and the logits as the log_softmax output (values do not change its speed).
inline bool needs_prob_targets(Fn f) {
  return f == Fn::CrossEntropyProbFwdBwd || f == Fn::BceWithLogitsFwdBwd ||
         f == Fn::LogSoftmaxBackward;
}
inline bool needs_matrix_output(Fn f) { return f != Fn::CrossEntropy && f != Fn::LogSumExp; }
// Overwrites its input: timed by timed_loop_refilled, registered with manual time.
inline bool consumes_input(Fn f) { return f == Fn::CrossEntropyInPlace; }

enum class Order { RowMajor, ColMajor };  // storage of the N x C logits (Layout::SamplesInRows)
inline const char* order_name(Order o) { return o == Order::RowMajor ? "row_major" : "col_major"; }

struct Case {
  Fn fn;
  Order order;
  Index n, c;
  int threads;
  bool cold;
};

// Buffers rotated in a cold run span more than this (the last-level cache, 300 MiB here).
constexpr std::size_t kColdBytes = std::size_t(300) << 20;

inline std::size_t copies_for(const Case& k) {
  if (!k.cold) return 1;
  const std::size_t bytes = std::size_t(k.n) * std::size_t(k.c) * sizeof(float);
  return kColdBytes / bytes + 1;  // copies * bytes > kColdBytes, >= 2
}

// ---- data ---------------------------------------------------------------------------------------

// Deterministic, counter-based values, so the row- and column-major data sets hold the same
// matrix and every implementation sees the same numbers.
inline std::uint64_t mix(std::uint64_t z) {  // splitmix64
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
// About N(0, 4^2): the sum of four uniforms (Irwin-Hall), scaled.
inline float logit_value(std::uint64_t i) {
  const std::uint64_t r = mix(i);
  float s = 0;
  for (int k = 0; k < 4; ++k) s += static_cast<float>((r >> (16 * k)) & 0xffff) * (1.0f / 65536);
  return (s - 2.0f) * 6.93f;  // sd of the sum is sqrt(4/12); 4 / sqrt(1/3) = 6.93
}
inline float uniform_value(std::uint64_t i) {
  return static_cast<float>(mix(i ^ 0x5bd1e995ull) >> 40) * (1.0f / 16777216.0f);
}

struct DataBase {
  virtual ~DataBase() = default;
};

template <class M>
struct Data : DataBase {
  Index n = 0, c = 0;
  std::vector<M> x;       // logits, one per copy (all copies equal)
  std::vector<M> t;       // probability targets (rows sum to 1), one per copy, when needed
  std::vector<M> out;     // matrix outputs / gradients, one per copy, when needed
  std::vector<Vector> v;  // logsumexp outputs, one per copy, when needed
  Targets y;              // class indices

  Data(Index n_, Index c_) : n(n_), c(c_), y(n_) {
    for (Index i = 0; i < n; ++i) y(i) = static_cast<std::int64_t>(mix(~std::uint64_t(i)) % std::uint64_t(c));
  }

  void ensure_x(std::size_t copies) {
    while (x.size() < copies) {
      if (x.empty()) {
        M m(n, c);
        for (Index i = 0; i < n; ++i)
          for (Index j = 0; j < c; ++j) m(i, j) = logit_value(std::uint64_t(i) * std::uint64_t(c) + std::uint64_t(j));
        x.push_back(std::move(m));
      } else {
        x.push_back(x.front());
      }
    }
  }
  void ensure_t(std::size_t copies) {
    while (t.size() < copies) {
      if (t.empty()) {
        M m(n, c);
        for (Index i = 0; i < n; ++i)
          for (Index j = 0; j < c; ++j) m(i, j) = uniform_value(std::uint64_t(i) * std::uint64_t(c) + std::uint64_t(j));
        const Vector sums = m.rowwise().sum();
        m.array().colwise() /= sums.array();
        t.push_back(std::move(m));
      } else {
        t.push_back(t.front());
      }
    }
  }
  void ensure_out(std::size_t copies) {  // touched now, so no page fault lands in a timed iteration
    while (out.size() < copies) out.push_back(M::Zero(n, c));
  }
  void ensure_v(std::size_t copies) {
    while (v.size() < copies) v.push_back(Vector::Zero(n));
  }
};

// One data set at a time (the largest takes 256 MiB per copy): benchmarks are registered shape
// by shape and order by order, so each is generated once.
struct DataCache {
  Index n = -1, c = -1;
  Order order = Order::RowMajor;
  std::unique_ptr<DataBase> data;
};
inline DataCache& data_cache() {
  static DataCache cache;
  return cache;
}

template <class M>
constexpr Order order_of() {
  return M::IsRowMajor ? Order::RowMajor : Order::ColMajor;
}

// The data set of a case, with everything its function needs, copies for a cold run.
template <class M>
Data<M>& dataset(const Case& k) {
  DataCache& cache = data_cache();
  if (!cache.data || cache.n != k.n || cache.c != k.c || cache.order != order_of<M>()) {
    cache.data.reset();  // free the previous one first
    cache.data = std::make_unique<Data<M>>(k.n, k.c);
    cache.n = k.n;
    cache.c = k.c;
    cache.order = order_of<M>();
  }
  auto& d = static_cast<Data<M>&>(*cache.data);
  const std::size_t copies = copies_for(k);
  d.ensure_x(copies);
  if (needs_prob_targets(k.fn)) d.ensure_t(copies);
  if (needs_matrix_output(k.fn)) d.ensure_out(copies);
  if (k.fn == Fn::LogSumExp) d.ensure_v(copies);
  return d;
}

// ---- timing -------------------------------------------------------------------------------------

// xent's threads come from OpenMP (when the suite is built with it); torch sets its own.
inline void set_threads(int threads) {
#ifdef _OPENMP
  omp_set_num_threads(threads);
#else
  (void)threads;
#endif
}

// Runs body(copy) once untimed (first-touch, lazy allocations), then once per iteration, rotating
// over the copies; a compiler barrier after each repetition keeps GCC from hoisting the work.
template <class Body>
void timed_loop(benchmark::State& state, const Case& k, Body&& body) {
  const std::size_t copies = copies_for(k);
  body(0);
  benchmark::ClobberMemory();
  std::size_t copy = copies > 1 ? 1 : 0;
  for (auto _ : state) {
    body(copy);
    benchmark::ClobberMemory();
    if (++copy == copies) copy = 0;
  }
  state.SetItemsProcessed(state.iterations() * k.n * k.c);
}

// For a function that overwrites its input (cross_entropy_in_place: logits -> gradient): every
// call starts from fresh logits, refill(copy) restoring the input after each call, untimed. Extra
// pre-copied buffers would only postpone the refill, which still has to happen outside the timing.
// The calls are timed by hand (registered with UseManualTime, see consumes_input): a
// state.PauseTiming()/ResumeTiming() pair costs 1-4 us on a 2-vCPU VM (it reads the thread's CPU
// clock, a system call) against an 80 us call at 8192 x 10, whereas steady_clock::now() reads the
// TSC in about 30 ns. Refilling the copy just used, not the next one, keeps a cold run cold (the
// rotation evicts it before its turn comes back) and a warm one about as cached as in timed_loop.
template <class Body, class Refill>
void timed_loop_refilled(benchmark::State& state, const Case& k, Body&& body, Refill&& refill) {
  using Clock = std::chrono::steady_clock;
  const std::size_t copies = copies_for(k);
  body(0);
  benchmark::ClobberMemory();
  refill(0);
  std::size_t copy = copies > 1 ? 1 : 0;
  for (auto _ : state) {
    const auto start = Clock::now();
    body(copy);
    benchmark::ClobberMemory();
    state.SetIterationTime(std::chrono::duration<double>(Clock::now() - start).count());
    refill(copy);
    benchmark::ClobberMemory();
    if (++copy == copies) copy = 0;
  }
  state.SetItemsProcessed(state.iterations() * k.n * k.c);
}

// ---- per-implementation entry points (one translation unit each) ---------------------------------

void run_xent(benchmark::State& state, const Case& k);
void run_reference(benchmark::State& state, const Case& k);
void run_naive(benchmark::State& state, const Case& k);
#ifdef XENT_BENCH_WITH_TORCH
void run_torch(benchmark::State& state, const Case& k);
std::string torch_version();
#endif
#ifdef XENT_BENCH_WITH_ONEDNN
// oneDNN softmax_v2: softmax, log_softmax, log_softmax_bwd; row-major only.
bool onednn_has(Fn f, Order o);
void run_onednn(benchmark::State& state, const Case& k);
std::string onednn_version();
#endif
#ifdef XENT_BENCH_WITH_XNNPACK
// XNNPACK softmax_nc_f32: softmax only (no log_softmax), row-major only, no thread pool.
bool xnnpack_has(Fn f, Order o);
void run_xnnpack(benchmark::State& state, const Case& k);
#endif

// ---- peers' correctness -------------------------------------------------------------------------

// xent's result for a matrix-valued function (softmax, log_softmax, log_softmax_bwd) of the
// case's row-major data, into `out` (bench_xent.cpp): what a peer's output is checked against.
void xent_output(Fn f, Data<RowMatrix>& d, RowMatrix& out);

// Largest |got - want| / max(|want|, floor) over the matrix. softmax is checked relative to each
// probability (floor: the smallest normal float); log_softmax and its backward, whose values cross
// zero, relative to max(|want|, 1) (an absolute error below 1, where log-probabilities are small).
inline double max_relative_error(Fn f, const RowMatrix& got, const RowMatrix& want) {
  const float floor = f == Fn::Softmax ? std::numeric_limits<float>::min() : 1.0f;
  double worst = 0;
  for (Index i = 0; i < want.rows(); ++i)
    for (Index j = 0; j < want.cols(); ++j) {
      const double w = want(i, j), e = std::abs(double(got(i, j)) - w);
      const double r = e / std::max(std::abs(w), double(floor));
      if (std::isnan(r)) return r;  // fails the check (a NaN compares false)
      worst = std::max(worst, r);
    }
  return worst;
}
// 1e-5, or beyond 168 classes the worst-case error of a plain float sum of the row's C terms,
// (C - 1) u (Higham, recursive summation): a peer that normalises by an uncompensated float sum
// (XNNPACK: 4.3e-5 at C = 128000, where xent compensates) still computes the same function, while
// a wrong axis or formula is off by O(1).
inline double peer_tolerance(Index c) {
  return std::max(1e-5, double(c - 1) * std::numeric_limits<float>::epsilon() / 2);
}

// Checks a peer once per (peer, function, shape): `compute()` fills d.out[0] from copy 0 of the
// inputs, which is compared with xent's result. On a mismatch beyond peer_tolerance the benchmark
// fails (state.SkipWithError) rather than timing a different computation; the error is recorded
// as the counter max_rel_err either way.
template <class Compute>
bool check_against_xent(benchmark::State& state, const char* peer, const Case& k,
                        Data<RowMatrix>& d, Compute&& compute) {
  static std::map<std::string, double> checked;  // benchmarks run one at a time: no lock
  const std::string key = std::string(peer) + '/' + fn_name(k.fn) + '/' + std::to_string(k.n) +
                          'x' + std::to_string(k.c);
  auto it = checked.find(key);
  if (it == checked.end()) {
    RowMatrix want(k.n, k.c);
    xent_output(k.fn, d, want);
    compute();
    it = checked.emplace(key, max_relative_error(k.fn, d.out[0], want)).first;
  }
  const double err = it->second;
  state.counters["max_rel_err"] = err;
  if (err <= peer_tolerance(k.c)) return true;
  state.SkipWithError(("differs from xent: max relative error " + std::to_string(err)).c_str());
  return false;
}

}  // namespace xent_bench
