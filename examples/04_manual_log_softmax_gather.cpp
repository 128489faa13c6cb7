// Cross-entropy is log_softmax, then the negative log-likelihood of the targets. The manual
// PyTorch formulation
//     logp = F.log_softmax(x, dim=1); loss = -logp.gather(1, y[:, None]).mean()
// written with xent::log_softmax, checked equal to xent::nll_loss(logp, y) and to
// xent::cross_entropy(x, y), values and gradients. Returns 1 if they disagree.
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <xent/xent.hpp>

int main() {
  constexpr int kSamples = 64;
  constexpr int kClasses = 5;

  std::mt19937 rng(4);
  std::normal_distribution<double> logit(0.0, 2.0);
  std::uniform_int_distribution<int> label(0, kClasses - 1);
  Eigen::MatrixXd logits(kSamples, kClasses);
  Eigen::VectorXi targets(kSamples);  // any integer type works for class indices
  for (int i = 0; i < kSamples; ++i) {
    for (int j = 0; j < kClasses; ++j) logits(i, j) = logit(rng);
    targets(i) = label(rng);
  }

  // 1. By hand: log_softmax, gather each sample's target log-probability, negate, mean.
  const Eigen::MatrixXd logp = xent::log_softmax(logits);
  double sum = 0.0;
  for (int i = 0; i < kSamples; ++i) sum -= logp(i, targets(i));
  const double manual = sum / kSamples;

  // 2. F.nll_loss(logp, y): the same gather and mean, as a library call.
  const double nll = xent::nll_loss(logp, targets);

  // 3. F.cross_entropy(x, y): both steps fused, without materializing logp.
  const double fused = xent::cross_entropy(logits, targets);

  // Gradients. The chain rule through the two steps: nll_loss_backward gives d loss / d logp
  // (-1/N at each target), log_softmax_backward carries it back to the logits. Fused, it is
  // (softmax(x) - one_hot(y)) / N in one pass.
  const Eigen::MatrixXd grad_logp = xent::nll_loss_backward(logp, targets);
  const Eigen::MatrixXd grad_chain = xent::log_softmax_backward(grad_logp, logp);
  const Eigen::MatrixXd grad_fused = xent::cross_entropy_backward(logits, targets);
  const double grad_difference = (grad_chain - grad_fused).cwiseAbs().maxCoeff();

  std::printf("-mean(gather(log_softmax(x), y))   = %.15f\n", manual);
  std::printf("nll_loss(log_softmax(x), y)        = %.15f\n", nll);
  std::printf("cross_entropy(x, y)                = %.15f\n", fused);
  std::printf("gradient, chain rule vs fused: largest difference %.1e\n", grad_difference);

  // double throughout: agreement to a few units of rounding (1e-12 relative, 1e-15 absolute).
  const bool ok = std::abs(nll - manual) <= 1e-12 * manual &&
                  std::abs(fused - manual) <= 1e-12 * manual && grad_difference <= 1e-15;
  std::printf("%s (tolerance: 1e-12 relative for the losses, 1e-15 absolute for the gradients)\n",
              ok ? "OK" : "MISMATCH");
  return ok ? 0 : 1;
}
