// The aliasing docs/aliasing.md promises: an output may be the very matrix one input is read from,
// and the result is bitwise that of separate buffers. Checked on every path the kernels take
// (contiguous rows, lanes, the online pass for long rows, streaming stores, the row groups of short
// rows), for float and double, both storage orders and both layouts, and on Blocks of a larger
// matrix.
#include <Eigen/Core>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <type_traits>
#include <utility>
#include <xent/xent.hpp>

#include "catch.hpp"

namespace {

template <class S, int Order>
using Mat = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Order>;
using Targets = Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1>;

// Same shape and the same bits (NaN payloads and signed zeros included).
template <class A, class B>
bool same_bits(const Eigen::MatrixBase<A>& a, const Eigen::MatrixBase<B>& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return false;
  for (Eigen::Index j = 0; j < a.cols(); ++j) {
    for (Eigen::Index i = 0; i < a.rows(); ++i) {
      const auto x = a(i, j);
      const auto y = b(i, j);
      if (std::memcmp(&x, &y, sizeof(x)) != 0) return false;
    }
  }
  return true;
}
template <class S, class = std::enable_if_t<std::is_floating_point<S>::value>>
bool same_bits(S a, S b) {
  return std::memcmp(&a, &b, sizeof(S)) == 0;
}

// Logits with a spread of magnitudes and a masked (-inf) class in the first sample.
template <class M>
M random_logits(Eigen::Index rows, Eigen::Index cols, unsigned seed, xent::Layout layout) {
  using S = typename M::Scalar;
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0.0, 4.0);
  M x(rows, cols);
  for (Eigen::Index j = 0; j < cols; ++j) {
    for (Eigen::Index i = 0; i < rows; ++i) x(i, j) = static_cast<S>(normal(rng));
  }
  const Eigen::Index classes = layout == xent::Layout::SamplesInRows ? cols : rows;
  if (classes > 2) {
    if (layout == xent::Layout::SamplesInRows) {
      x(0, 1) = -std::numeric_limits<S>::infinity();
    } else {
      x(1, 0) = -std::numeric_limits<S>::infinity();
    }
  }
  return x;
}

template <class M>
M random_unit(Eigen::Index rows, Eigen::Index cols, unsigned seed) {
  using S = typename M::Scalar;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  M t(rows, cols);
  for (Eigen::Index j = 0; j < cols; ++j) {
    for (Eigen::Index i = 0; i < rows; ++i) t(i, j) = static_cast<S>(unit(rng));
  }
  return t;
}

// The kernels' switch points, forced so that small shapes take every path.
enum class Path { Default, Online, Stream, OnlineLanes };
class Tuning {
 public:
  explicit Tuning(Path path)
      : rows_(xent::online_row_bytes()),
        stream_(xent::stream_output_bytes()),
        lanes_(xent::online_lane_strip_bytes()) {
    if (path == Path::Online) xent::set_online_row_bytes(0);
    if (path == Path::Stream) xent::set_stream_output_bytes(0);
    if (path == Path::OnlineLanes) xent::set_online_lane_strip_bytes(0);
  }
  ~Tuning() {
    xent::set_online_row_bytes(rows_);
    xent::set_stream_output_bytes(stream_);
    xent::set_online_lane_strip_bytes(lanes_);
  }
  Tuning(const Tuning&) = delete;
  Tuning& operator=(const Tuning&) = delete;

 private:
  std::size_t rows_, stream_, lanes_;
};

// (samples, classes): one sample, few classes (lanes, row groups), many classes, an odd count.
// The last two are split over two threads when built with OpenMP (tests/CMakeLists.txt), and
// take only the default path.
const std::pair<Eigen::Index, Eigen::Index> kShapes[] = {
    {1, 1},   {1, 7},    {5, 3},    {37, 10},   {70, 5},
    {9, 130}, {3, 1000}, {2, 5003}, {4000, 20}, {300, 300}};
const Path kPaths[] = {Path::Default, Path::Online, Path::Stream, Path::OnlineLanes};

template <class S, int Order>
void check_all(xent::Layout layout) {
  using M = Mat<S, Order>;
  unsigned seed = 1;
  for (const Path path : kPaths) {
    const Tuning tuning(path);
    for (const auto& [samples, classes] : kShapes) {
      // The forced paths on the small shapes only (each big one costs as much as all of them).
      if (path != Path::Default && samples * classes > 20000) continue;
      const bool rows = layout == xent::Layout::SamplesInRows;
      const Eigen::Index R = rows ? samples : classes;
      const Eigen::Index C = rows ? classes : samples;
      INFO("path " << static_cast<int>(path) << ", " << samples << " samples x " << classes
                   << " classes");
      const M x = random_logits<M>(R, C, ++seed, layout);
      const M g = random_logits<M>(R, C, ++seed, xent::Layout::SamplesInRows).cwiseMax(S(-30));

      // softmax(x, x) and log_softmax(x, x).
      {
        M separate(R, C), aliased = x;
        xent::softmax(x, separate, layout);
        xent::softmax(aliased, aliased, layout);
        CHECK(same_bits(separate, aliased));
        xent::log_softmax(x, separate, layout);
        aliased = x;
        xent::log_softmax(aliased, aliased, layout);
        CHECK(same_bits(separate, aliased));
      }

      // The backward functions: grad_input over grad_output, or over output.
      {
        const M y = xent::softmax(x, layout);
        M separate(R, C), over_g = g, over_y = y;
        xent::softmax_backward(g, y, separate, layout);
        xent::softmax_backward(over_g, y, over_g, layout);
        xent::softmax_backward(g, over_y, over_y, layout);
        CHECK(same_bits(separate, over_g));
        CHECK(same_bits(separate, over_y));
        const M ly = xent::log_softmax(x, layout);
        over_g = g;
        M over_ly = ly;
        xent::log_softmax_backward(g, ly, separate, layout);
        xent::log_softmax_backward(over_g, ly, over_g, layout);
        xent::log_softmax_backward(g, over_ly, over_ly, layout);
        CHECK(same_bits(separate, over_g));
        CHECK(same_bits(separate, over_ly));
      }

      // Cross-entropy's gradient over the logits: forward_backward(x, y, x) and the in-place form,
      // with index targets (one ignored) and with probability targets.
      {
        Targets y(samples);
        for (Eigen::Index n = 0; n < samples; ++n) y(n) = (3 * n + 2) % classes;
        if (samples > 2) y(2) = -100;
        for (const bool smoothed : {false, true}) {
          auto opts = xent::CrossEntropyOptions().layout(layout);
          if (smoothed) {
            Eigen::VectorXd w = Eigen::VectorXd::LinSpaced(classes, 0.5, 2.0);
            opts.label_smoothing(0.1).weight(w);
          }
          M separate(R, C), aliased = x, in_place = x;
          const S loss = xent::cross_entropy_forward_backward(x, y, separate, opts);
          CHECK(same_bits(loss, xent::cross_entropy_forward_backward(aliased, y, aliased, opts)));
          CHECK(same_bits(loss, xent::cross_entropy_forward_backward_in_place(in_place, y, opts)));
          CHECK(same_bits(separate, aliased));
          CHECK(same_bits(separate, in_place));

          const M p =
              xent::softmax(random_logits<M>(R, C, ++seed, layout).cwiseMax(S(-30)), layout);
          aliased = x;
          in_place = x;
          const S ploss = xent::cross_entropy_forward_backward(x, p, separate, opts);
          CHECK(same_bits(ploss, xent::cross_entropy_forward_backward(aliased, p, aliased, opts)));
          CHECK(same_bits(ploss, xent::cross_entropy_forward_backward_in_place(in_place, p, opts)));
          CHECK(same_bits(separate, aliased));
          CHECK(same_bits(separate, in_place));
        }
      }

      // BCE's gradient over its input (logits, probabilities).
      {
        const M t = random_unit<M>(R, C, ++seed);
        const auto bopts = xent::BCEWithLogitsLossOptions().layout(layout);
        M separate(R, C), aliased = x;
        const S loss =
            xent::binary_cross_entropy_with_logits_forward_backward(x, t, separate, bopts);
        CHECK(same_bits(loss, xent::binary_cross_entropy_with_logits_forward_backward(
                                  aliased, t, aliased, bopts)));
        CHECK(same_bits(separate, aliased));
        const M p = random_unit<M>(R, C, ++seed);
        aliased = p;
        const S ploss = xent::binary_cross_entropy_forward_backward(p, t, separate);
        CHECK(same_bits(ploss, xent::binary_cross_entropy_forward_backward(aliased, t, aliased)));
        CHECK(same_bits(separate, aliased));
      }
    }
  }
}

}  // namespace

TEMPLATE_TEST_CASE("an output may be the matrix its input is read from", "[aliasing]", float,
                   double) {
  using S = TestType;
  SECTION("row-major, samples in rows") {
    check_all<S, Eigen::RowMajor>(xent::Layout::SamplesInRows);
  }
  SECTION("column-major, samples in rows") {
    check_all<S, Eigen::ColMajor>(xent::Layout::SamplesInRows);
  }
  SECTION("column-major, samples in columns") {
    check_all<S, Eigen::ColMajor>(xent::Layout::SamplesInColumns);
  }
  SECTION("row-major, samples in columns") {
    check_all<S, Eigen::RowMajor>(xent::Layout::SamplesInColumns);
  }
}

TEMPLATE_TEST_CASE("aliasing within a Block of a larger matrix", "[aliasing]", float, double) {
  using S = TestType;
  using M = Mat<S, Eigen::ColMajor>;
  // A Block has an outer stride; the rows around it must not change.
  for (const auto& [samples, classes] : {std::pair<Eigen::Index, Eigen::Index>{6, 40}, {40, 6}}) {
    const M big = random_logits<M>(samples + 4, classes + 3, 7, xent::Layout::SamplesInRows);
    const M x = big.block(2, 1, samples, classes);
    Targets y(samples);
    for (Eigen::Index n = 0; n < samples; ++n) y(n) = n % classes;

    M expected = big;
    M in_block = big;
    xent::softmax(x, expected.block(2, 1, samples, classes));
    auto block = in_block.block(2, 1, samples, classes);
    xent::softmax(block, block);
    CHECK(same_bits(expected, in_block));

    expected = big;
    in_block = big;
    const S loss =
        xent::cross_entropy_forward_backward(x, y, expected.block(2, 1, samples, classes));
    auto logits = in_block.block(2, 1, samples, classes);
    CHECK(same_bits(loss, xent::cross_entropy_forward_backward_in_place(logits, y)));
    CHECK(same_bits(expected, in_block));

    expected = big;
    in_block = big;
    xent::log_softmax(x, expected.block(2, 1, samples, classes));
    xent::log_softmax(block, block);
    CHECK(same_bits(expected, in_block));

    const M t = random_unit<M>(samples, classes, 8);
    expected = big;
    in_block = big;
    const S bce = xent::binary_cross_entropy_with_logits_forward_backward(
        x, t, expected.block(2, 1, samples, classes));
    CHECK(
        same_bits(bce, xent::binary_cross_entropy_with_logits_forward_backward(logits, t, logits)));
    CHECK(same_bits(expected, in_block));
  }
}
