// XNNPACK (Debian's libxnnpack-dev, a 2022 snapshot) softmax on the very same memory as the xent
// cases: the softmax_nc_f32 operator over a dense row-major N x C matrix (channels = C, batch = N).
// XNNPACK has no log_softmax, so softmax is its only case. The operator is created once per
// benchmark, outside the timing; the timed call is setup + run, since setup is what binds the
// operator to a batch size and to the buffers of this call. No thread pool (nullptr): XNNPACK
// runs on the calling thread, so it is registered at 1 thread only.
//
// This snapshot's API: xnn_setup_softmax_nc_f32(op, batch_size, input, output, threadpool); later
// releases split it into xnn_reshape_softmax_nc_f32 and xnn_setup_softmax_nc_f32(op, in, out).
#include <xnnpack.h>

#include <memory>
#include <string>

#include "bench_common.hpp"

namespace xent_bench {
namespace {

struct DeleteOperator {
  void operator()(xnn_operator_t op) const { xnn_delete_operator(op); }
};
using Operator = std::unique_ptr<xnn_operator, DeleteOperator>;

}  // namespace

bool xnnpack_has(Fn f, Order o) { return f == Fn::Softmax && o == Order::RowMajor; }

void run_xnnpack(benchmark::State& state, const Case& k) {
  // Once per process: XNNPACK picks its micro-kernels for this CPU here.
  static const xnn_status init = xnn_initialize(nullptr);
  if (init != xnn_status_success) {
    state.SkipWithError(("xnn_initialize failed: status " + std::to_string(init)).c_str());
    return;
  }
  Data<RowMatrix>& d = dataset<RowMatrix>(k);
  const auto channels = static_cast<std::size_t>(k.c), batch = static_cast<std::size_t>(k.n);
  xnn_operator_t raw = nullptr;
  // Strides are in elements: the rows are dense.
  const xnn_status created = xnn_create_softmax_nc_f32(channels, channels, channels, 0, &raw);
  const Operator op(raw);
  if (created != xnn_status_success) {
    state.SkipWithError(("xnn_create_softmax_nc_f32 failed: status " + std::to_string(created)).c_str());
    return;
  }

  xnn_status status = xnn_status_success;
  auto call = [&](std::size_t i) {
    status = xnn_setup_softmax_nc_f32(op.get(), batch, d.x[i].data(), d.out[i].data(), nullptr);
    if (status == xnn_status_success) status = xnn_run_operator(op.get(), nullptr);
    benchmark::DoNotOptimize(d.out[i].data());
  };
  if (!check_against_xent(state, "xnnpack", k, d, [&] { call(0); })) return;
  timed_loop(state, k, call);
  if (status != xnn_status_success)
    state.SkipWithError(("XNNPACK softmax failed: status " + std::to_string(status)).c_str());
}

}  // namespace xent_bench
