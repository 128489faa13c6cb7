// Training, multi-class: softmax regression (logits = x W + b) on the UCI handwritten digits
// (1797 8x8 images, 10 classes), with xent::cross_entropy_forward_backward and plain mini-batch
// gradient descent. Every buffer is allocated before the loop, and Eigen is told to fail on any
// heap allocation inside it. Returns 1 if held-out accuracy is not above 90 %.

// With EIGEN_RUNTIME_NO_MALLOC, Eigen checks every heap allocation against
// set_is_malloc_allowed(). The check is an eigen_assert, made here to throw also in Release (which
// turns on Eigen's other assertions, such as index bounds, in this program too).
#include <stdexcept>
#define EIGEN_RUNTIME_NO_MALLOC
#define eigen_assert(x) ((x) ? void(0) : throw std::logic_error("Eigen: " #x))

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <xent/xent.hpp>

#include "example_data.hpp"

using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Eigen::Index;

int main() try {
  example::Dataset data = example::load_csv(XENT_EXAMPLES_DATA_DIR "/digits.csv", 0);
  example::shuffle(data, 42);                          // fixed seed: the same run every time
  auto [train, held_out] = example::split(data, 0.2);  // 1438 to train on, 359 held out
  example::standardize(train, held_out);
  const Matrix x = train.features.cast<float>();  // N x 64, one image per row
  const example::Labels& y = train.labels;
  const Index samples = x.rows(), features = x.cols(), classes = 10;

  constexpr Index kBatch = 32;
  constexpr int kEpochs = 30;
  constexpr float kLearningRate = 0.1f;

  // The model and every buffer the loop needs, allocated once.
  Matrix weights = Matrix::Zero(features, classes);
  Eigen::RowVectorXf bias = Eigen::RowVectorXf::Zero(classes);
  Matrix logits(kBatch, classes), grad(kBatch, classes), grad_weights(features, classes);
  Eigen::RowVectorXf grad_bias(classes);

  std::printf("digits: %td training and %td held-out images, %td features, %td classes\n", samples,
              held_out.labels.size(), features, classes);
  std::printf("initial loss %.4f (= ln 10, the model knows nothing yet)\n",
              xent::cross_entropy((x * weights).rowwise() + bias, y));

  Eigen::internal::set_is_malloc_allowed(false);  // from here on, no Eigen heap allocation
  for (int epoch = 1; epoch <= kEpochs; ++epoch) {
    double loss_sum = 0.0;
    // The data were shuffled once; each mini-batch is the next block of rows (the last is shorter).
    for (Index start = 0; start < samples; start += kBatch) {
      const Index rows = std::min(kBatch, samples - start);
      const auto batch = x.middleRows(start, rows);
      auto z = logits.topRows(rows);
      auto dz = grad.topRows(rows);

      z.noalias() = batch * weights;  // forward
      z.rowwise() += bias;
      const float loss = xent::cross_entropy_forward_backward(z, y.segment(start, rows), dz);

      grad_weights.noalias() = batch.transpose() * dz;  // backward through the linear layer
      grad_bias = dz.colwise().sum();
      weights -= kLearningRate * grad_weights;  // gradient descent step
      bias -= kLearningRate * grad_bias;
      loss_sum += static_cast<double>(loss) * static_cast<double>(rows);
    }
    if (epoch == 1 || epoch % 5 == 0) {
      std::printf("epoch %2d  mean training loss %.4f\n", epoch,
                  loss_sum / static_cast<double>(samples));
    }
  }
  Eigen::internal::set_is_malloc_allowed(true);

  const Matrix test_x = held_out.features.cast<float>();
  const Matrix test_logits = (test_x * weights).rowwise() + bias;
  const float test_loss = xent::cross_entropy(test_logits, held_out.labels);
  const double accuracy = example::accuracy(test_logits, held_out.labels);
  std::printf("held-out loss %.4f, accuracy %.1f %% (%.0f of %td)\n", test_loss, 100 * accuracy,
              accuracy * static_cast<double>(held_out.labels.size()), held_out.labels.size());
  if (!(accuracy > 0.90)) {
    std::printf("FAILED: held-out accuracy must be above 90 %%\n");
    return 1;
  }
  std::printf("OK (held-out accuracy above 90 %%; no Eigen allocation in the training loop)\n");
  return 0;
} catch (const std::exception& e) {
  std::printf("FAILED: %s\n", e.what());
  return 1;
}
