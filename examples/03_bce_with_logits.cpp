// Binary classification, like torch.nn.BCEWithLogitsLoss: one logit per sample (100 x 1), boolean
// labels converted to float, with and without pos_weight (the usual fix for rare positives).
// Checked against the textbook formula in double; returns 1 if they disagree.
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <xent/xent.hpp>

int main() {
  constexpr int kSamples = 100;

  // Rare positives (about 1 in 4) whose logits lean positive.
  std::mt19937 rng(7);
  std::bernoulli_distribution is_positive(0.25);
  std::normal_distribution<float> noise(0.0f, 2.0f);
  Eigen::Matrix<bool, Eigen::Dynamic, 1> labels(kSamples);
  Eigen::VectorXf logits(kSamples);  // N x 1, a column vector is a matrix too
  for (int i = 0; i < kSamples; ++i) {
    labels(i) = is_positive(rng);
    logits(i) = (labels(i) ? 1.0f : -1.0f) + noise(rng);
  }
  // BCE targets are probabilities: convert, as labels.float() does in PyTorch.
  const Eigen::VectorXf targets = labels.cast<float>();

  // pos_weight = negatives / positives, one entry per class (one class here).
  const float positives = targets.sum();
  const Eigen::VectorXf pos_weight =
      Eigen::VectorXf::Constant(1, (kSamples - positives) / positives);

  // nn.BCEWithLogitsLoss() and nn.BCEWithLogitsLoss(pos_weight=pos_weight)
  const xent::BCEWithLogitsLoss plain;
  const xent::BCEWithLogitsLoss weighted(xent::BCEWithLogitsLossOptions().pos_weight(pos_weight));
  const float loss = plain(logits, targets);
  const float weighted_loss = weighted(logits, targets);
  // The free function gives the same value as the object.
  const float function_loss = xent::binary_cross_entropy_with_logits(logits, targets);

  // By hand, in double: loss_i = -[P t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))], mean over i.
  double sum = 0.0, weighted_sum = 0.0;
  for (int i = 0; i < kSamples; ++i) {
    const double x = logits(i), t = targets(i), p = 1.0 / (1.0 + std::exp(-x));
    sum += -(t * std::log(p) + (1 - t) * std::log1p(-p));
    weighted_sum += -(pos_weight(0) * t * std::log(p) + (1 - t) * std::log1p(-p));
  }
  const double expected = sum / kSamples;
  const double expected_weighted = weighted_sum / kSamples;

  std::printf("%d samples, %.0f positive: pos_weight = %.4f\n", kSamples, positives, pos_weight(0));
  std::printf("BCEWithLogitsLoss()(logits, targets)           = %.7f   by hand: %.7f\n", loss,
              expected);
  std::printf("BCEWithLogitsLoss(pos_weight)(logits, targets) = %.7f   by hand: %.7f\n",
              weighted_loss, expected_weighted);
  std::printf("binary_cross_entropy_with_logits(...)          = %.7f\n", function_loss);

  // The gradient d loss / d logits is sigmoid(x) - t per sample (divided by N for the mean);
  // with pos_weight, positives weigh P times more.
  const Eigen::VectorXf grad = weighted.backward(logits, targets);
  double worst_grad = 0.0;
  for (int i = 0; i < kSamples; ++i) {
    const double x = logits(i), t = targets(i), p = 1.0 / (1.0 + std::exp(-x));
    const double g = ((1 - t) * p - pos_weight(0) * t * (1 - p)) / kSamples;
    worst_grad = std::max(worst_grad, std::abs(grad(i) - g));
  }
  std::printf("gradient with pos_weight: largest difference from by hand = %.1e\n", worst_grad);

  const bool ok = std::abs(loss - expected) <= 1e-6 * expected &&
                  std::abs(weighted_loss - expected_weighted) <= 1e-6 * expected_weighted &&
                  function_loss == loss && worst_grad <= 1e-8;
  std::printf("%s (tolerance: 1e-6 relative for losses, 1e-8 absolute for the gradient)\n",
              ok ? "OK" : "MISMATCH");
  return ok ? 0 : 1;
}
