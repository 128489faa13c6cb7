// The loss as an object, like torch.nn.CrossEntropyLoss: construct it once (with options, if any)
// and call it on a batch of logits and class-index targets. Checked against the textbook formula
// evaluated in double; returns 1 if they disagree.
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <xent/xent.hpp>

int main() {
  constexpr int kSamples = 100;
  constexpr int kClasses = 10;

  // Fixed seed: the same batch on every run.
  std::mt19937 rng(42);
  std::normal_distribution<float> logit(0.0f, 3.0f);
  std::uniform_int_distribution<std::int64_t> label(0, kClasses - 1);

  Eigen::MatrixXf logits(kSamples, kClasses);  // N x C: one sample per row (the default layout)
  Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1> targets(kSamples);  // one class index per sample
  for (int i = 0; i < kSamples; ++i) {
    for (int j = 0; j < kClasses; ++j) logits(i, j) = logit(rng);
    targets(i) = label(rng);
  }

  // criterion = nn.CrossEntropyLoss(); loss = criterion(logits, targets)   (mean over the batch)
  const xent::CrossEntropyLoss criterion;
  const float loss = criterion(logits, targets);
  const Eigen::VectorXf losses = criterion.per_sample(logits, targets);  // reduction='none'
  const Eigen::MatrixXf grad = criterion.backward(logits, targets);      // d loss / d logits

  // The same object type with options, like nn.CrossEntropyLoss(label_smoothing=0.1).
  const xent::CrossEntropyLoss smoothed(xent::CrossEntropyOptions().label_smoothing(0.1));
  const float smoothed_loss = smoothed(logits, targets);

  // By hand, in double, with m_i = max_j x_ij and p = softmax(x):
  //   loss_i = log(sum_j exp(x_ij - m_i)) + m_i - x_i,y_i     (= -log p_i,y_i)
  //   smoothed with e: (1 - e) loss_i + e * mean_j (-log p_ij)
  //   d mean / d x_ij = (p_ij - [j == y_i]) / N
  double sum = 0.0, smoothed_sum = 0.0, worst_sample = 0.0, worst_grad = 0.0;
  for (int i = 0; i < kSamples; ++i) {
    const Eigen::VectorXd x = logits.row(i).cast<double>().transpose();
    const double log_sum = std::log((x.array() - x.maxCoeff()).exp().sum()) + x.maxCoeff();
    const auto y = static_cast<int>(targets(i));
    const double loss_i = log_sum - x(y);
    sum += loss_i;
    smoothed_sum += 0.9 * loss_i + 0.1 * (log_sum - x.mean());
    worst_sample = std::max(worst_sample, std::abs(losses(i) - loss_i) / loss_i);
    for (int j = 0; j < kClasses; ++j) {
      const double g = (std::exp(x(j) - log_sum) - (j == y ? 1.0 : 0.0)) / kSamples;
      worst_grad = std::max(worst_grad, std::abs(grad(i, j) - g));
    }
  }
  const double expected = sum / kSamples;
  const double expected_smoothed = smoothed_sum / kSamples;

  std::printf("CrossEntropyLoss()(logits, targets)  = %.7f   by hand (double): %.7f\n", loss,
              expected);
  std::printf("... with label_smoothing(0.1)         = %.7f   by hand (double): %.7f\n",
              smoothed_loss, expected_smoothed);
  std::printf("per_sample: largest relative difference from by hand = %.2e\n", worst_sample);
  std::printf("backward:   largest absolute difference from by hand = %.2e\n", worst_grad);

  // float results against a double reference: a few float rounding errors at most.
  const bool ok = std::abs(loss - expected) <= 1e-6 * expected &&
                  std::abs(smoothed_loss - expected_smoothed) <= 1e-6 * expected_smoothed &&
                  worst_sample <= 1e-6 && worst_grad <= 1e-8;
  std::printf("%s (tolerance: 1e-6 relative for losses, 1e-8 absolute for the gradient)\n",
              ok ? "OK" : "MISMATCH");
  return ok ? 0 : 1;
}
