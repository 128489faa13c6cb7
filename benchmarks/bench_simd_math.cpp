// Vector math in L1: xent's simd::exp / log / log1p against Eigen 3.4's packet functions (pexp,
// plog, plog1p on the widest packet of the build) and a scalar libm loop (std::exp, ...).
// 4096 inputs -> 4096 outputs (32 KiB of float), reused every iteration: compute-bound.
// items_per_second = elements per second; xent's exp on [-20, 0] is the suite's "exp roof".
//
//   <function>/<impl>/<type>/<range>
//     impl: xent, eigen, std; range: the inputs' interval, e.g. softmax = [-20, 0] (x - max),
//     wide = the whole finite-result range, subnormal = results below the smallest normal,
//     underflow = results that are exactly 0.
#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <cmath>
#include <random>
#include <string>
#include <vector>
#include <xent/detail/simd/math.hpp>

namespace {

namespace simd = xent::detail::simd;
namespace ei = Eigen::internal;

constexpr int kCount = 4096;

template <class T>
std::vector<T> uniform(T lo, T hi) {
  std::mt19937 rng(2024);
  std::uniform_real_distribution<T> d(lo, hi);
  std::vector<T> v(kCount);
  for (auto& x : v) x = d(rng);
  return v;
}

enum class Fn { Exp, Log, Log1p };
enum class Impl { Xent, Eigen, Std };

template <class T, Fn fn>
void run_xent(const T* in, T* out) {
  using V = simd::Vec<T>;
  for (int i = 0; i < kCount; i += V::width) {
    const V x = V::loadu(in + i);
    V y;
    if constexpr (fn == Fn::Exp) y = simd::exp(x);
    if constexpr (fn == Fn::Log) y = simd::log(x);
    if constexpr (fn == Fn::Log1p) y = simd::log1p(x);
    y.storeu(out + i);
  }
}

template <class T, Fn fn>
void run_eigen(const T* in, T* out) {
  using P = typename ei::packet_traits<T>::type;
  constexpr int W = static_cast<int>(sizeof(P) / sizeof(T));
  for (int i = 0; i < kCount; i += W) {
    const P x = ei::ploadu<P>(in + i);
    P y;
    if constexpr (fn == Fn::Exp) y = ei::pexp(x);
    if constexpr (fn == Fn::Log) y = ei::plog(x);
    if constexpr (fn == Fn::Log1p) y = ei::generic_plog1p(x);  // Eigen has no plog1p<Packet8d>
    ei::pstoreu(out + i, y);
  }
}

template <class T, Fn fn>
void run_std(const T* in, T* out) {
  for (int i = 0; i < kCount; ++i) {
    if constexpr (fn == Fn::Exp) out[i] = std::exp(in[i]);
    if constexpr (fn == Fn::Log) out[i] = std::log(in[i]);
    if constexpr (fn == Fn::Log1p) out[i] = std::log1p(in[i]);
  }
}

template <class T, Fn fn, Impl impl>
void bench(benchmark::State& state, T lo, T hi) {
  const std::vector<T> in = uniform<T>(lo, hi);
  std::vector<T> out(kCount);
  for (auto _ : state) {
    if constexpr (impl == Impl::Xent) run_xent<T, fn>(in.data(), out.data());
    if constexpr (impl == Impl::Eigen) run_eigen<T, fn>(in.data(), out.data());
    if constexpr (impl == Impl::Std) run_std<T, fn>(in.data(), out.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kCount);
}

template <class T, Fn fn>
void register_all(const char* fn_name, const char* range, T lo, T hi) {
  const std::string type = sizeof(T) == 4 ? "float" : "double";
  const std::string suffix = "/" + type + "/" + range;
  benchmark::RegisterBenchmark((std::string(fn_name) + "/xent" + suffix).c_str(),
                               bench<T, fn, Impl::Xent>, lo, hi);
  benchmark::RegisterBenchmark((std::string(fn_name) + "/eigen" + suffix).c_str(),
                               bench<T, fn, Impl::Eigen>, lo, hi);
  benchmark::RegisterBenchmark((std::string(fn_name) + "/std" + suffix).c_str(),
                               bench<T, fn, Impl::Std>, lo, hi);
}

}  // namespace

int main(int argc, char** argv) {
  register_all<float, Fn::Exp>("exp", "softmax", -20.0f, 0.0f);
  register_all<float, Fn::Exp>("exp", "wide", -87.0f, 88.0f);
  register_all<float, Fn::Exp>("exp", "subnormal", -103.0f, -88.0f);
  register_all<float, Fn::Exp>("exp", "underflow", -1000.0f, -105.0f);
  register_all<double, Fn::Exp>("exp", "softmax", -20.0, 0.0);
  register_all<float, Fn::Log>("log", "wide", 1e-30f, 1e30f);
  register_all<float, Fn::Log>("log", "subnormal", 1e-44f, 1e-39f);
  register_all<double, Fn::Log>("log", "wide", 1e-300, 1e300);
  register_all<float, Fn::Log1p>("log1p", "softplus", 0.0f, 1.0f);  // log1p(exp(-|x|))
  register_all<double, Fn::Log1p>("log1p", "softplus", 0.0, 1.0);
  benchmark::AddCustomContext("xent_simd", XENT_SIMD_NAME);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
