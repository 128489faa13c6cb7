// libtorch (PyTorch's C++ API) on the very same memory as the xent cases: torch::from_blob views
// of the Eigen buffers (a column-major N x C matrix is an (N, C) tensor with strides (1, N)).
// Forward-only functions run under NoGradGuard and write into preallocated outputs (the *_out
// ops, torch's best case); fwd_bwd cases use autograd on requires_grad logits, through
// torch::autograd::grad, which returns the gradient: xent's fwd_bwd writes its gradient once, so
// torch is timed without the zeroing pass (zero_grad) and the accumulation into x.grad (a read of
// two N x C tensors and a write) that loss.backward() adds in a training step.
#include <torch/torch.h>

#include "bench_common.hpp"

namespace xent_bench {
namespace {

namespace F = torch::nn::functional;

template <class M>
torch::Tensor view(const M& m) {
  const std::vector<int64_t> sizes{m.rows(), m.cols()};
  const std::vector<int64_t> strides =
      M::IsRowMajor ? std::vector<int64_t>{m.cols(), 1} : std::vector<int64_t>{1, m.rows()};
  return torch::from_blob(const_cast<float*>(m.data()), sizes, strides, torch::kFloat32);
}

torch::Tensor view(const Vector& v) {
  return torch::from_blob(const_cast<float*>(v.data()), {v.size()}, torch::kFloat32);
}

torch::Tensor view(const Targets& y) {
  return torch::from_blob(const_cast<std::int64_t*>(y.data()), {y.size()}, torch::kInt64);
}

template <class M>
void run(benchmark::State& state, const Case& k) {
  Data<M>& d = dataset<M>(k);
  set_threads(k.threads);
  torch::set_num_threads(k.threads);
  const std::size_t copies = copies_for(k);
  std::vector<torch::Tensor> x, t, out, v;
  for (std::size_t i = 0; i < copies; ++i) {
    x.push_back(view(d.x[i]));
    if (needs_prob_targets(k.fn)) t.push_back(view(d.t[i]));
    if (needs_matrix_output(k.fn)) out.push_back(view(d.out[i]));
    if (k.fn == Fn::LogSumExp) v.push_back(view(d.v[i]));
  }
  const torch::Tensor y = view(d.y);

  // Autograd: leaf logits; the gradient autograd returns is a fresh tensor (its allocation is
  // part of torch's cost, served from the reused heap: see main in bench_main.cpp).
  auto fwd_bwd = [&](auto&& loss_of) {
    for (auto& xi : x) xi.requires_grad_(true);
    timed_loop(state, k, [&](std::size_t i) {
      torch::Tensor loss = loss_of(x[i], i);
      const torch::Tensor grad = torch::autograd::grad({loss}, {x[i]})[0];
      benchmark::DoNotOptimize(loss.data_ptr());
      benchmark::DoNotOptimize(grad.data_ptr());
    });
  };

  switch (k.fn) {
    case Fn::CrossEntropy: {
      torch::NoGradGuard no_grad;
      timed_loop(state, k, [&](std::size_t i) {
        torch::Tensor loss = F::cross_entropy(x[i], y);
        benchmark::DoNotOptimize(loss.data_ptr());
      });
      break;
    }
    case Fn::CrossEntropyFwdBwd:
      fwd_bwd([&](const torch::Tensor& xi, std::size_t) { return F::cross_entropy(xi, y); });
      break;
    case Fn::CrossEntropyProbFwdBwd:
      fwd_bwd([&](const torch::Tensor& xi, std::size_t i) { return F::cross_entropy(xi, t[i]); });
      break;
    case Fn::LogSoftmax: {
      torch::NoGradGuard no_grad;
      timed_loop(state, k, [&](std::size_t i) {
        torch::log_softmax_out(out[i], x[i], 1);
        benchmark::DoNotOptimize(out[i].data_ptr());
      });
      break;
    }
    case Fn::Softmax: {
      torch::NoGradGuard no_grad;
      timed_loop(state, k, [&](std::size_t i) {
        torch::softmax_out(out[i], x[i], 1);
        benchmark::DoNotOptimize(out[i].data_ptr());
      });
      break;
    }
    case Fn::LogSumExp: {
      torch::NoGradGuard no_grad;
      timed_loop(state, k, [&](std::size_t i) {
        torch::logsumexp_out(v[i], x[i], {1});
        benchmark::DoNotOptimize(v[i].data_ptr());
      });
      break;
    }
    case Fn::NllLossFwdBwd:
      fwd_bwd([&](const torch::Tensor& xi, std::size_t) { return F::nll_loss(xi, y); });
      break;
    case Fn::BceWithLogitsFwdBwd:
      fwd_bwd([&](const torch::Tensor& xi, std::size_t i) {
        return F::binary_cross_entropy_with_logits(xi, t[i]);
      });
      break;
    case Fn::LogSoftmaxBackward: {
      torch::NoGradGuard no_grad;
      timed_loop(state, k, [&](std::size_t i) {
        torch::_log_softmax_backward_data_out(out[i], t[i], x[i], 1, torch::kFloat32);
        benchmark::DoNotOptimize(out[i].data_ptr());
      });
      break;
    }
    case Fn::CrossEntropyInPlace:  // not registered: xent only
      break;
  }
}

}  // namespace

void run_torch(benchmark::State& state, const Case& k) {
  if (k.order == Order::RowMajor)
    run<RowMatrix>(state, k);
  else
    run<ColMatrix>(state, k);
}

std::string torch_version() {
#ifdef TORCH_VERSION
  return TORCH_VERSION;
#else
  return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
         std::to_string(TORCH_VERSION_PATCH);
#endif
}

}  // namespace xent_bench
