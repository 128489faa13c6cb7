// Consumer smoke test: xent::cross_entropy on a 2x3 batch against a value computed by hand.
#include <Eigen/Dense>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <xent/xent.hpp>

int main() {
  Eigen::MatrixXd logits(2, 3);
  logits << 1.0, 2.0, 3.0,  //
      1.0, 0.0, -1.0;
  Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1> targets(2);
  targets << 2, 0;

  // loss_i = log(sum_j exp(x_ij)) - x_i,target_i, then the mean over the two samples.
  const double row0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)) - 3.0;
  const double row1 = std::log(std::exp(1.0) + std::exp(0.0) + std::exp(-1.0)) - 1.0;
  const double expected = (row0 + row1) / 2.0;  // 0.4076059644...

  const double loss = xent::cross_entropy(logits, targets);
  std::printf("xent %s\n", xent::version());
  std::printf("xent::cross_entropy = %.15f, by hand = %.15f\n", loss, expected);
  return std::abs(loss - expected) <= 1e-12 ? 0 : 1;
}
