// The free functions, like torch.nn.functional.cross_entropy: the same batch as 01_loss_object,
// the same value; options passed per call; the gradient, alone or fused with the loss. Returns 1
// if any two ways of computing the same thing disagree.
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <xent/xent.hpp>

namespace {

bool close(double a, double b, double relative) {
  return std::abs(a - b) <= relative * std::max(std::abs(a), std::abs(b));
}

}  // namespace

int main() {
  constexpr int kSamples = 100;
  constexpr int kClasses = 10;

  // The batch of 01_loss_object.cpp: same seed, same draws.
  std::mt19937 rng(42);
  std::normal_distribution<float> logit(0.0f, 3.0f);
  std::uniform_int_distribution<std::int64_t> label(0, kClasses - 1);
  Eigen::MatrixXf logits(kSamples, kClasses);
  Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1> targets(kSamples);
  for (int i = 0; i < kSamples; ++i) {
    for (int j = 0; j < kClasses; ++j) logits(i, j) = logit(rng);
    targets(i) = label(rng);
  }

  // F.cross_entropy(logits, targets) and nn.CrossEntropyLoss()(logits, targets)
  const float loss = xent::cross_entropy(logits, targets);
  const float object_loss = xent::CrossEntropyLoss{}(logits, targets);

  // F.cross_entropy(logits, targets, reduction='sum') and reduction='none'
  const auto sum_opts = xent::CrossEntropyOptions().reduction(xent::Reduction::Sum);
  const float sum_loss = xent::cross_entropy(logits, targets, sum_opts);
  const Eigen::VectorXf per_sample = xent::cross_entropy_per_sample(logits, targets);

  // The gradient of the mean, alone and fused with the loss into a caller-owned matrix.
  const Eigen::MatrixXf grad = xent::cross_entropy_backward(logits, targets);
  Eigen::MatrixXf fused_grad(kSamples, kClasses);
  const float fused_loss = xent::cross_entropy_forward_backward(logits, targets, fused_grad);

  // The same logits stored one sample per column (C x N), as column-major ML code often has them.
  const Eigen::MatrixXf columns = logits.transpose();
  const auto column_opts = xent::CrossEntropyOptions().layout(xent::Layout::SamplesInColumns);
  const float column_loss = xent::cross_entropy(columns, targets, column_opts);

  std::printf("cross_entropy(logits, targets)            = %.7f\n", loss);
  std::printf("CrossEntropyLoss{}(logits, targets)       = %.7f\n", object_loss);
  std::printf("reduction Sum / N                         = %.7f\n", sum_loss / kSamples);
  std::printf("per_sample(...).mean()                    = %.7f\n", per_sample.mean());
  std::printf("forward_backward loss                     = %.7f\n", fused_loss);
  std::printf("Layout::SamplesInColumns on the transpose = %.7f\n", column_loss);
  const float grad_difference = (grad - fused_grad).cwiseAbs().maxCoeff();
  std::printf("backward vs forward_backward gradient: largest difference %.1e\n", grad_difference);

  // One code path underneath: equal to float rounding (1e-6 relative), the gradients exactly.
  const bool ok = close(loss, object_loss, 1e-6) && close(loss, sum_loss / kSamples, 1e-6) &&
                  close(loss, per_sample.mean(), 1e-6) && close(loss, fused_loss, 1e-6) &&
                  close(loss, column_loss, 1e-6) && grad_difference == 0.0f;
  std::printf("%s (tolerance: 1e-6 relative for losses, 0 for the gradients)\n",
              ok ? "OK" : "MISMATCH");
  return ok ? 0 : 1;
}
