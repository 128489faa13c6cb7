// oneDNN (Debian's libdnnl-dev) softmax_v2 on the very same memory as the xent cases: a dense
// row-major N x C tensor (format tag ab), softmax over axis 1. softmax is
// algorithm::softmax_accurate, log_softmax algorithm::softmax_log, log_softmax_bwd the backward
// primitive of softmax_log (dst = the logits, diff_dst = the probability targets, as for xent).
// Each primitive is created once per benchmark, outside the timing, as a framework caches it; the
// timed call is execute + stream wait. The implementation oneDNN dispatched to (impl_info_str,
// e.g. "jit:avx2", or "ref:any" for its reference code) is the benchmark's label.
//
// Threads: oneDNN's CPU runtime in Debian is OpenMP (libgomp, as xent's), so set_threads limits
// both; in a build without OpenMP it would use every core (set OMP_NUM_THREADS=1).
#include <oneapi/dnnl/dnnl.hpp>

#include <string>
#include <unordered_map>
#include <vector>

#include "bench_common.hpp"

namespace xent_bench {
namespace {

using dnnl::memory;

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

memory wrap(const memory::desc& md, const RowMatrix& m) {
  return memory(md, cpu_engine(), const_cast<float*>(m.data()));  // oneDNN takes void*; read only
}

}  // namespace

bool onednn_has(Fn f, Order o) {
  return o == Order::RowMajor &&
         (f == Fn::Softmax || f == Fn::LogSoftmax || f == Fn::LogSoftmaxBackward);
}

void run_onednn(benchmark::State& state, const Case& k) {
  Data<RowMatrix>& d = dataset<RowMatrix>(k);
  set_threads(k.threads);
  dnnl::stream stream(cpu_engine());
  const memory::desc md({k.n, k.c}, memory::data_type::f32, memory::format_tag::ab);
  const dnnl::algorithm alg =
      k.fn == Fn::Softmax ? dnnl::algorithm::softmax_accurate : dnnl::algorithm::softmax_log;
  constexpr int kAxis = 1;  // classes

  dnnl::primitive prim;
  std::string impl;
  // The arguments of the call on each copy, built once (as a framework reuses them).
  std::vector<std::unordered_map<int, memory>> args(copies_for(k));
  try {
    if (k.fn == Fn::LogSoftmaxBackward) {
      // The backward primitive needs the forward's primitive_desc as a hint (training forward).
      const dnnl::softmax_v2_forward::primitive_desc fwd_pd(
          {dnnl::prop_kind::forward_training, alg, md, md, kAxis}, cpu_engine());
      const dnnl::softmax_v2_backward::primitive_desc pd({alg, md, md, md, kAxis}, cpu_engine(),
                                                         fwd_pd);
      prim = dnnl::softmax_v2_backward(pd);
      impl = pd.impl_info_str();
      for (std::size_t i = 0; i < args.size(); ++i)
        args[i] = {{DNNL_ARG_DST, wrap(md, d.x[i])},
                   {DNNL_ARG_DIFF_DST, wrap(md, d.t[i])},
                   {DNNL_ARG_DIFF_SRC, wrap(md, d.out[i])}};
    } else {
      const dnnl::softmax_v2_forward::primitive_desc pd(
          {dnnl::prop_kind::forward_inference, alg, md, md, kAxis}, cpu_engine());
      prim = dnnl::softmax_v2_forward(pd);
      impl = pd.impl_info_str();
      for (std::size_t i = 0; i < args.size(); ++i)
        args[i] = {{DNNL_ARG_SRC, wrap(md, d.x[i])}, {DNNL_ARG_DST, wrap(md, d.out[i])}};
    }
  } catch (const dnnl::error& e) {
    state.SkipWithError((std::string("oneDNN: ") + e.what()).c_str());
    return;
  }
  state.SetLabel(impl);

  auto call = [&](std::size_t i) {
    prim.execute(stream, args[i]);
    stream.wait();
    benchmark::DoNotOptimize(d.out[i].data());
  };
  if (!check_against_xent(state, "onednn", k, d, [&] { call(0); })) return;
  timed_loop(state, k, call);
}

std::string onednn_version() {
  const dnnl_version_t* v = dnnl_version();
  const std::string hash = v->hash;  // "N/A" in Debian's build
  return std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
         std::to_string(v->patch) + (hash == "N/A" ? "" : " " + hash) + " (CPU runtime " +
         (v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "not OpenMP") + ")";
}

}  // namespace xent_bench
