// Training, binary: logistic regression (logit = x w + b) on the Wisconsin diagnostic breast
// cancer data (569 samples, 30 features), with standardized features,
// xent::binary_cross_entropy_with_logits_forward_backward and full-batch gradient descent.
// Returns 1 if held-out accuracy is not above 93 %.
#include <Eigen/Core>
#include <cstdio>
#include <exception>
#include <xent/xent.hpp>

#include "example_data.hpp"

int main() try {
  // The file's header line is "569,30,malignant,benign": class 0 is malignant, class 1 benign.
  example::Dataset data = example::load_csv(XENT_EXAMPLES_DATA_DIR "/breast_cancer.csv", 1);
  example::shuffle(data, 42);                          // fixed seed: the same run every time
  auto [train, held_out] = example::split(data, 0.2);  // 455 to train on, 114 held out
  example::standardize(train, held_out);               // raw features span 1e-3 .. 4e3
  const example::Matrix& x = train.features;           // N x 30, double
  const Eigen::VectorXd targets = train.labels.cast<double>();  // BCE targets: probabilities

  constexpr int kSteps = 300;
  constexpr double kLearningRate = 0.5;

  // The model and the loop's buffers, allocated once.
  Eigen::VectorXd weights = Eigen::VectorXd::Zero(x.cols());
  double bias = 0.0;
  Eigen::VectorXd logits(x.rows()), grad(x.rows());  // N x 1: one logit per sample
  Eigen::VectorXd grad_weights(x.cols());

  std::printf("breast cancer: %td training and %td held-out samples, %td features\n", x.rows(),
              held_out.labels.size(), x.cols());
  std::printf("target 1 = benign, 0 = malignant; a logit > 0 predicts benign\n");
  for (int step = 1; step <= kSteps; ++step) {
    logits.noalias() = x * weights;  // forward
    logits.array() += bias;
    const double loss =
        xent::binary_cross_entropy_with_logits_forward_backward(logits, targets, grad);
    grad_weights.noalias() = x.transpose() * grad;  // backward through the linear model
    weights -= kLearningRate * grad_weights;        // gradient descent step
    bias -= kLearningRate * grad.sum();
    if (step == 1 || step == 10 || step == 30 || step % 100 == 0) {
      std::printf("step %3d  training loss %.4f\n", step, loss);
    }
  }

  const Eigen::VectorXd test_logits = (held_out.features * weights).array() + bias;
  const double test_loss =
      xent::binary_cross_entropy_with_logits(test_logits, held_out.labels.cast<double>());
  const double accuracy = example::accuracy(test_logits, held_out.labels);
  std::printf("held-out loss %.4f, accuracy %.1f %% (%.0f of %td)\n", test_loss, 100 * accuracy,
              accuracy * static_cast<double>(held_out.labels.size()), held_out.labels.size());
  if (!(accuracy > 0.93)) {
    std::printf("FAILED: held-out accuracy must be above 93 %%\n");
    return 1;
  }
  std::printf("OK (held-out accuracy above 93 %%)\n");
  return 0;
} catch (const std::exception& e) {
  std::printf("FAILED: %s\n", e.what());
  return 1;
}
