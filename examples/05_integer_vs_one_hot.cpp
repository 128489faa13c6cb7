// Targets as class indices or as class probabilities (here one-hot rows): the same loss. With
// class weights, PyTorch's mean divides by a different denominator in the two cases, and so does
// xent:
//   index targets:       sum_i w[y_i] loss_i / sum_i w[y_i]   (a weighted mean)
//   probability targets: sum_i w[y_i] loss_i / N              (a plain mean of weighted losses)
// The sums agree. Returns 1 if any of these relations fails.
#include <Eigen/Core>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <xent/xent.hpp>

namespace {

bool close(double a, double b) { return std::abs(a - b) <= 1e-6 * std::abs(b); }  // float results

}  // namespace

int main() {
  constexpr int kSamples = 50;
  constexpr int kClasses = 4;

  std::mt19937 rng(5);
  std::normal_distribution<float> logit(0.0f, 2.0f);
  std::uniform_int_distribution<std::int64_t> label(0, kClasses - 1);
  Eigen::MatrixXf logits(kSamples, kClasses);
  Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1> targets(kSamples);
  Eigen::MatrixXf one_hot = Eigen::MatrixXf::Zero(kSamples, kClasses);  // logits' shape
  for (int i = 0; i < kSamples; ++i) {
    for (int j = 0; j < kClasses; ++j) logits(i, j) = logit(rng);
    targets(i) = label(rng);
    one_hot(i, targets(i)) = 1.0f;
  }

  // The targets' scalar type chooses the formulation: integers are classes, floats probabilities.
  const float by_index = xent::cross_entropy(logits, targets);
  const float by_one_hot = xent::cross_entropy(logits, one_hot);
  std::printf("no weights:   index targets %.7f   one-hot targets %.7f\n", by_index, by_one_hot);

  // Class weights, e.g. to up-weight a rare class.
  const Eigen::VectorXf weight = (Eigen::VectorXf(kClasses) << 1.0f, 2.0f, 0.5f, 4.0f).finished();
  const auto mean_opts = xent::CrossEntropyOptions().weight(weight);
  const auto sum_opts = xent::CrossEntropyOptions().weight(weight).reduction(xent::Reduction::Sum);
  const float mean_index = xent::cross_entropy(logits, targets, mean_opts);
  const float mean_one_hot = xent::cross_entropy(logits, one_hot, mean_opts);
  const float sum_index = xent::cross_entropy(logits, targets, sum_opts);
  const float sum_one_hot = xent::cross_entropy(logits, one_hot, sum_opts);

  double weight_of_targets = 0.0;  // sum_i w[y_i]
  for (int i = 0; i < kSamples; ++i) weight_of_targets += weight(targets(i));

  std::printf("with weights: Sum  reduction: index %.6f   one-hot %.6f\n", sum_index, sum_one_hot);
  std::printf("              Mean reduction: index %.7f (sum / %.1f, the summed target weights)\n",
              mean_index, weight_of_targets);
  std::printf("                              one-hot %.7f (sum / %d, the batch size)\n",
              mean_one_hot, kSamples);

  const bool ok = close(by_one_hot, by_index) && close(sum_one_hot, sum_index) &&
                  close(mean_index, sum_index / weight_of_targets) &&
                  close(mean_one_hot, sum_index / kSamples);
  std::printf("%s (tolerance: 1e-6 relative)\n", ok ? "OK" : "MISMATCH");
  return ok ? 0 : 1;
}
