// Label smoothing and ignore_index on a padded batch of token sequences, as in language-model
// training: 4 sequences of different lengths padded to 6 positions, a vocabulary of 16 tokens.
// The (batch * time) x vocab logits hold -inf on padding rows (a fully masked row) and the targets
// hold ignore_index there. Shows that the padding changes nothing: loss and gradient equal those of
// the real positions alone, and the padding rows' gradients are exactly 0 (PyTorch's are NaN there:
// log_softmax of an all -inf row is NaN, and its backward multiplies NaN by 0).
// Returns 1 if any of this fails.
#include <Eigen/Core>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <xent/xent.hpp>

using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Targets = Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1>;

int main() {
  constexpr int kBatch = 4, kMaxLength = 6, kVocab = 16;
  constexpr std::int64_t kIgnore = -100;  // PyTorch's default ignore_index
  const int lengths[kBatch] = {6, 4, 5, 2};
  const float minus_inf = -std::numeric_limits<float>::infinity();

  // Position t of sequence b is row b * kMaxLength + t.
  std::mt19937 rng(8);
  std::normal_distribution<float> logit(0.0f, 2.0f);
  std::uniform_int_distribution<std::int64_t> token(0, kVocab - 1);
  Matrix padded(kBatch * kMaxLength, kVocab);
  Targets padded_targets(kBatch * kMaxLength);
  int real = 0;
  for (int b = 0; b < kBatch; ++b) {
    for (int t = 0; t < kMaxLength; ++t) {
      const int row = b * kMaxLength + t;
      const bool is_real = t < lengths[b];
      for (int v = 0; v < kVocab; ++v) padded(row, v) = is_real ? logit(rng) : minus_inf;
      padded_targets(row) = is_real ? token(rng) : kIgnore;
      real += is_real ? 1 : 0;
    }
  }

  // The same positions without padding: only the real rows, packed.
  Matrix packed(real, kVocab);
  Targets packed_targets(real);
  for (int row = 0, next = 0; row < padded.rows(); ++row) {
    if (padded_targets(row) == kIgnore) continue;
    packed.row(next) = padded.row(row);
    packed_targets(next++) = padded_targets(row);
  }

  // F.cross_entropy(logits, targets, ignore_index=-100, label_smoothing=0.1)
  const auto opts = xent::CrossEntropyOptions().ignore_index(kIgnore).label_smoothing(0.1);
  Matrix padded_grad, packed_grad;  // resized by the calls
  const float padded_loss =
      xent::cross_entropy_forward_backward(padded, padded_targets, padded_grad, opts);
  const float packed_loss =
      xent::cross_entropy_forward_backward(packed, packed_targets, packed_grad, opts);

  // Compare row by row: real rows with their packed twins, padding rows with exact zeros.
  bool real_rows_equal = true, padding_rows_zero = true;
  for (int row = 0, next = 0; row < padded.rows(); ++row) {
    if (padded_targets(row) == kIgnore) {
      padding_rows_zero = padding_rows_zero && (padded_grad.row(row).array() == 0.0f).all();
    } else {
      real_rows_equal = real_rows_equal && padded_grad.row(row) == packed_grad.row(next++);
    }
  }

  std::printf("batch of %d sequences, lengths %d %d %d %d, padded to %d: %d positions, %d real\n",
              kBatch, lengths[0], lengths[1], lengths[2], lengths[3], kMaxLength,
              kBatch * kMaxLength, real);
  std::printf("label smoothing 0.1, ignore_index %lld, padding rows all -inf\n",
              static_cast<long long>(kIgnore));
  std::printf("loss, padded batch         = %.7f\n", padded_loss);
  std::printf("loss, real positions alone = %.7f   %s\n", packed_loss,
              padded_loss == packed_loss ? "identical" : "DIFFERENT");
  std::printf("gradient on the %d real positions: %s\n", real,
              real_rows_equal ? "identical to the unpadded gradient" : "DIFFERENT");
  std::printf("gradient on the %d padding positions: %s\n", kBatch * kMaxLength - real,
              padding_rows_zero ? "exactly 0 (PyTorch: NaN)" : "NOT 0");

  // Bit-for-bit: the padding rows add exact zeros to the sum, and the mean divides by the number of
  // real positions in both cases. (The rows hold 16 floats, 64 bytes, so the real rows sit at the
  // same SIMD alignment in both matrices.)
  const bool ok = padded_loss == packed_loss && real_rows_equal && padding_rows_zero;
  std::printf("%s (tolerance: none, the results must be identical)\n", ok ? "OK" : "MISMATCH");
  return ok ? 0 : 1;
}
