// xent_bench: the whole benchmark suite in one binary, so every ratio comes from one run.
//
//   <function>/<impl>/<row_major|col_major>/N:<n>/C:<c>/threads:<t>/<warm|cold>
//     function: cross_entropy, cross_entropy_fwd_bwd, cross_entropy_prob_fwd_bwd, log_softmax,
//               softmax, logsumexp, nll_loss_fwd_bwd, bce_with_logits_fwd_bwd, log_softmax_bwd,
//               cross_entropy_in_place (xent only)
//     shapes:   the five (1 and 2 threads, warm; cold for the largest), and kExtraShapes
//               (cross_entropy, cross_entropy_fwd_bwd, log_softmax; 1 thread, xent and torch);
//               or only XENT_BENCH_SHAPES=NxC,... (every function; 1 thread, xent and torch)
//     impl:     xent, reference (xent::reference), naive (hand-written Eigen), torch (libtorch),
//               onednn (softmax, log_softmax, log_softmax_bwd) and xnnpack (softmax): row-major,
//               1 thread, when built with them
//   roof/read/threads:<t>    streaming sum over 512 MiB of floats (> the last-level cache)
//   roof/write/threads:<t>   memset to zero of 512 MiB
//   roof/exp/threads:<t>     xent's vector exp over an L1-resident buffer (per thread; Eigen's
//                            when include/xent/detail/simd/math.hpp is absent)
//   roof/exp_eigen/threads:<t>  the same with Eigen 3.4's x.array().exp()
// items_per_second = elements per second (N*C per iteration for the functions).
//
// Quick subset:  xent_bench --benchmark_filter='^cross_entropy/.*/row_major/N:4096/.*threads:1/'
#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_common.hpp"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

// The exp roof uses xent's own vector exp when the SIMD layer is there, else Eigen's.
#if __has_include(<xent/detail/simd/math.hpp>)
#include <xent/detail/simd/math.hpp>
#define XENT_BENCH_XENT_EXP 1
#endif

#ifndef XENT_BENCH_CXX_FLAGS
#define XENT_BENCH_CXX_FLAGS "unknown"
#endif
#ifndef XENT_BENCH_GIT
#define XENT_BENCH_GIT "unknown"
#endif

namespace xent_bench {
namespace {

struct Shape {
  Index n, c;
};
constexpr Shape kShapes[] = {{8192, 10}, {4096, 1000}, {512, 32000}, {64, 128000}, {16384, 4096}};
constexpr Shape kLargest = {16384, 4096};
// Beyond the shapes (1 thread, xent and torch, kExtraShapeFns): binary, just past a
// 32-class small-C path, medium C (64 to 257: short rows, where per-row overhead shows), a
// GPT-2-sized vocabulary beyond L3, and one sample of it (column-major: a lone sample).
constexpr Shape kExtraShapes[] = {{65536, 2},  {16384, 33}, {16384, 64},  {8192, 100},
                                  {8192, 128}, {4096, 200}, {2048, 257}, {256, 50257},
                                  {1, 50257}};
constexpr int kThreadCounts[] = {1, 2};

// xent::reference builds several float matrices per call and runs at a few 10 M elements/s; on
// the largest shape (67 M elements, 256 MiB) one call takes seconds, so it is left out there.
constexpr Index kReferenceMaxElements = 32 * 1000 * 1000;

// ---- roofs --------------------------------------------------------------------------------------

// Runs work(t) on `threads` threads (t = 0 on the calling thread) and waits.
template <class Work>
void on_threads(std::size_t threads, Work&& work) {
  std::vector<std::thread> pool;
  for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& th : pool) th.join();
}

constexpr Index kStreamFloats = Index(128) << 20;  // 512 MiB

void roof_read(benchmark::State& state) {
  const auto threads = static_cast<std::size_t>(state.range(0));
  Vector buf = Vector::Constant(kStreamFloats, 1.0f);  // touched: no page faults when timed
  std::vector<double> sums(threads);
  const Index part = kStreamFloats / static_cast<Index>(threads);
  for (auto _ : state) {
    on_threads(threads, [&](std::size_t t) {
      sums[t] = buf.segment(static_cast<Index>(t) * part, part).sum();
      benchmark::DoNotOptimize(sums[t]);
    });
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * part * static_cast<Index>(threads));
}

// Writing zeros (memset) is the fastest way to fill memory; on this machine zero stores run about
// twice as fast as stores of other values. It bounds nll_loss forward+backward, whose gradient is
// zero but for N entries.
void roof_write(benchmark::State& state) {
  const auto threads = static_cast<std::size_t>(state.range(0));
  Vector buf = Vector::Constant(kStreamFloats, 1.0f);
  const Index part = kStreamFloats / static_cast<Index>(threads);
  for (auto _ : state) {
    on_threads(threads, [&](std::size_t t) {
      std::memset(static_cast<void*>(buf.data() + static_cast<Index>(t) * part), 0,
                  sizeof(float) * static_cast<std::size_t>(part));
    });
    benchmark::DoNotOptimize(buf.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * part * static_cast<Index>(threads));
}

// exp over 4096 floats in [-20, 0] (x - max, as in a softmax) into 4096 floats: 32 KiB, in L1.
constexpr Index kExpFloats = 4096;
constexpr int kExpPasses = 1024;  // per iteration and thread, so thread start-up is negligible

#ifdef XENT_BENCH_XENT_EXP
constexpr const char* kExpRoofSource =
    "xent::detail::simd::exp (include/xent/detail/simd/math.hpp); roof/exp_eigen: Eigen 3.4 pexp";
#else
constexpr const char* kExpRoofSource = "Eigen 3.4 x.array().exp() (pexp; xent's SIMD exp absent)";
#endif

enum class ExpImpl { Xent, Eigen };

template <ExpImpl impl>
void exp_passes(const Vector& in, Vector& out) {
  for (int p = 0; p < kExpPasses; ++p) {
#ifdef XENT_BENCH_XENT_EXP
    if constexpr (impl == ExpImpl::Xent) {
      using V = xent::detail::simd::Vec<float>;
      for (Index i = 0; i < kExpFloats; i += V::width)
        xent::detail::simd::exp(V::loadu(in.data() + i)).storeu(out.data() + i);
    } else
#endif
    {
      out.array() = in.array().exp();
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
}

template <ExpImpl impl>
void roof_exp(benchmark::State& state) {
  const auto threads = static_cast<std::size_t>(state.range(0));
  std::vector<Vector> in(threads), out(threads);
  for (std::size_t t = 0; t < threads; ++t) {
    in[t] = Vector::LinSpaced(kExpFloats, -20.0f, 0.0f);
    out[t] = Vector::Zero(kExpFloats);
  }
  for (auto _ : state) {
    if (threads == 1)
      exp_passes<impl>(in[0], out[0]);
    else
      on_threads(threads, [&](std::size_t t) { exp_passes<impl>(in[t], out[t]); });
  }
  state.SetItemsProcessed(state.iterations() * kExpFloats * kExpPasses * static_cast<Index>(threads));
}

// ---- registration -------------------------------------------------------------------------------

using Runner = void (*)(benchmark::State&, const Case&);

void add(const char* impl, Runner runner, const Case& k) {
  std::ostringstream name;
  name << fn_name(k.fn) << '/' << impl << '/' << order_name(k.order) << "/N:" << k.n
       << "/C:" << k.c << "/threads:" << k.threads << '/' << (k.cold ? "cold" : "warm");
  auto* b = benchmark::RegisterBenchmark(
      name.str().c_str(), [runner, k](benchmark::State& state) { runner(state, k); });
  b->Unit(benchmark::kMillisecond);
  if (consumes_input(k.fn))
    b->UseManualTime();  // wall time of the calls alone (timed_loop_refilled)
  else
    b->UseRealTime();  // rates from wall time: worker threads' CPU time is not the caller's
}

// The softmax-family peers, where they have the function (row-major). oneDNN could use every
// core, but the peers are compared single-threaded (XNNPACK runs here without a thread pool).
void add_peers(const Case& k) {
  if (k.threads != 1) return;
#ifdef XENT_BENCH_WITH_ONEDNN
  if (onednn_has(k.fn, k.order)) add("onednn", run_onednn, k);
#endif
#ifdef XENT_BENCH_WITH_XNNPACK
  if (xnnpack_has(k.fn, k.order)) add("xnnpack", run_xnnpack, k);
#endif
}

void register_all() {
  for (int threads : kThreadCounts) {
    benchmark::RegisterBenchmark("roof/read", roof_read)->Arg(threads)->ArgName("threads")
        ->UseRealTime()->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("roof/write", roof_write)->Arg(threads)->ArgName("threads")
        ->UseRealTime()->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("roof/exp", roof_exp<ExpImpl::Xent>)->Arg(threads)
        ->ArgName("threads")->UseRealTime()->Unit(benchmark::kMillisecond);
#ifdef XENT_BENCH_XENT_EXP
    benchmark::RegisterBenchmark("roof/exp_eigen", roof_exp<ExpImpl::Eigen>)->Arg(threads)
        ->ArgName("threads")->UseRealTime()->Unit(benchmark::kMillisecond);
#endif
  }
  // Shape by shape and order by order, so the data cache builds each data set once.
  for (const Shape& s : kShapes) {
    const bool largest = s.n == kLargest.n && s.c == kLargest.c;
    for (Order order : {Order::RowMajor, Order::ColMajor}) {
      for (Fn fn : kAllFns) {
        for (bool cold : {false, true}) {
          if (cold && !largest) continue;
          for (int threads : kThreadCounts) {
            const Case k{fn, order, s.n, s.c, threads, cold};
            add("xent", run_xent, k);
            if (fn == Fn::CrossEntropyInPlace) continue;  // xent only (compared to torch fwd_bwd)
#ifdef XENT_BENCH_WITH_TORCH
            add("torch", run_torch, k);
#endif
            add_peers(k);
            // Single-threaded code: measured once, at 1 thread.
            if (threads != 1) continue;
            add("naive", run_naive, k);
            if (!cold && s.n * s.c <= kReferenceMaxElements) add("reference", run_reference, k);
          }
        }
      }
    }
  }
}

// Shapes named in XENT_BENCH_SHAPES ("NxC,NxC,..."): every function, xent and torch, 1 thread;
// e.g. XENT_BENCH_SHAPES=4000x1000 xent_bench --benchmark_filter='/N:4000/'.
std::vector<Shape> shapes_from_environment() {
  std::vector<Shape> shapes;
  const char* spec = std::getenv("XENT_BENCH_SHAPES");
  std::stringstream in(spec ? spec : "");
  std::string item;
  while (std::getline(in, item, ',')) {
    long long n = 0, c = 0;
    char x = 0;
    std::stringstream one(item);
    if (!(one >> n >> x >> c) || x != 'x' || n <= 0 || c <= 0) {
      std::fprintf(stderr, "XENT_BENCH_SHAPES: expected NxC, got '%s'\n", item.c_str());
      std::exit(1);
    }
    shapes.push_back({n, c});
  }
  return shapes;
}

template <class Fns>
void register_one_thread(const std::vector<Shape>& shapes, const Fns& fns) {
  for (const Shape& s : shapes) {
    for (Order order : {Order::RowMajor, Order::ColMajor}) {
      for (Fn fn : fns) {
        const Case k{fn, order, s.n, s.c, 1, false};
        add("xent", run_xent, k);
#ifdef XENT_BENCH_WITH_TORCH
        if (fn != Fn::CrossEntropyInPlace) add("torch", run_torch, k);
#endif
        add_peers(k);
      }
    }
  }
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

}  // namespace
}  // namespace xent_bench

int main(int argc, char** argv) {
  using namespace xent_bench;
  // Functions that allocate per call (torch's temporaries and outputs, xent::reference) would
  // otherwise page-fault fresh memory on every call above glibc's mmap threshold (32 MiB at most),
  // or not, depending on the heap left by earlier benchmarks: 3x swings between runs. Serving
  // every allocation from the heap and never trimming it makes the large shapes reuse memory, as a
  // caching allocator would (torch's best case). XENT_BENCH_MALLOC=default keeps glibc's defaults.
  const char* malloc_mode = std::getenv("XENT_BENCH_MALLOC");
  const bool default_malloc = malloc_mode != nullptr && std::string(malloc_mode) == "default";
#if defined(__GLIBC__)
  if (!default_malloc) {
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, -1);  // largest value: never give the heap back
  }
#endif
  // A short default --benchmark_min_time keeps the full run to minutes; a later flag wins.
  std::vector<char*> args(argv, argv + argc);
  static char min_time[] = "--benchmark_min_time=0.1";
  args.insert(args.begin() + 1, min_time);
  int n_args = static_cast<int>(args.size());
  benchmark::Initialize(&n_args, args.data());
  if (benchmark::ReportUnrecognizedArguments(n_args, args.data())) return 1;

  benchmark::AddCustomContext("cpu_model", cpu_model());
  benchmark::AddCustomContext("hardware_threads",
                              std::to_string(std::thread::hardware_concurrency()));
#ifdef __VERSION__
  benchmark::AddCustomContext("compiler", __VERSION__);
#endif
  benchmark::AddCustomContext("cxx_flags", XENT_BENCH_CXX_FLAGS);
  benchmark::AddCustomContext("xent_git", XENT_BENCH_GIT);  // at configure time
  benchmark::AddCustomContext("eigen_version", std::to_string(EIGEN_WORLD_VERSION) + "." +
                                                   std::to_string(EIGEN_MAJOR_VERSION) + "." +
                                                   std::to_string(EIGEN_MINOR_VERSION));
  benchmark::AddCustomContext("eigen_simd", Eigen::SimdInstructionSetsInUse());
#ifdef _OPENMP
  benchmark::AddCustomContext("openmp", std::to_string(_OPENMP));
#else
  benchmark::AddCustomContext("openmp", "off (xent runs single-threaded)");
#endif
#ifdef XENT_BENCH_WITH_TORCH
  benchmark::AddCustomContext("torch_version", torch_version());
#else
  benchmark::AddCustomContext("torch_version", "not built (libtorch not found, or XENT_BENCHMARK_TORCH=OFF)");
#endif
#ifdef XENT_BENCH_WITH_ONEDNN
  benchmark::AddCustomContext("onednn_version", onednn_version());
#else
  benchmark::AddCustomContext("onednn_version", "not built (oneDNN not found, or XENT_BENCHMARK_ONEDNN=OFF)");
#endif
#ifdef XENT_BENCH_WITH_XNNPACK
  benchmark::AddCustomContext("xnnpack", "built (no version API: see the libxnnpack0 package)");
#else
  benchmark::AddCustomContext("xnnpack", "not built (XNNPACK not found, or XENT_BENCHMARK_XNNPACK=OFF)");
#endif
  benchmark::AddCustomContext("exp_roof", kExpRoofSource);
#if defined(__GLIBC__)
  benchmark::AddCustomContext("malloc", default_malloc ? "glibc defaults"
                                                       : "glibc, no mmap, no trim (heap reused)");
#else
  benchmark::AddCustomContext("malloc", "system default");
#endif
  benchmark::AddCustomContext("cold_bytes", std::to_string(kColdBytes));
  benchmark::AddCustomContext("reference_max_elements", std::to_string(kReferenceMaxElements));

  const std::vector<Shape> custom = shapes_from_environment();
  if (custom.empty()) {
    register_all();
    register_one_thread(std::vector<Shape>(std::begin(kExtraShapes), std::end(kExtraShapes)),
                        kExtraShapeFns);
  } else {
    register_one_thread(custom, kAllFns);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
