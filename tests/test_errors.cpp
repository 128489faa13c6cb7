// The error policy (notes/api.md, "Errors"): a class-index target outside [0, C) that is not
// ignore_index throws std::out_of_range; every other bad argument throws std::invalid_argument.
// Every message starts with "xent::<function name>: " and names the argument, the offending
// position and the offending value (or shape). A call that throws leaves the caller's outputs
// alone.
#include <Eigen/Core>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>
#include <xent/xent.hpp>

#include "catch.hpp"

#ifdef XENT_CATCH2_V3
#define XENT_HAS(text) Catch::Matchers::ContainsSubstring(text)
#else
#define XENT_HAS(text) Catch::Matchers::Contains(text)
#endif

namespace {

template <class S>
using Mat = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>;
template <class S>
using Vec = Eigen::Matrix<S, Eigen::Dynamic, 1>;
template <class I>
using IndexVec = Eigen::Matrix<I, Eigen::Dynamic, 1>;
using Targets = IndexVec<std::int64_t>;

// The message of the E thrown by f. An exception of any other type escapes and fails the test.
template <class E, class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "<nothing was thrown>";
}

template <class I>
IndexVec<I> targets_of(std::initializer_list<I> values) {
  IndexVec<I> y(static_cast<Eigen::Index>(values.size()));
  Eigen::Index n = 0;
  for (const I v : values) y(n++) = v;
  return y;
}

// 4 samples x 3 classes.
template <class S>
Mat<S> logits43() {
  Mat<S> x(4, 3);
  x << 0.5, -1, 2,  //
      1, 0, -0.25,  //
      3, 2, 1,      //
      -2, 0.75, 0;
  return x;
}

// Probabilities in (0, 1), 4 x 3.
template <class S>
Mat<S> probs43() {
  Mat<S> p(4, 3);
  p << S(0.1), S(0.5), S(0.9),  //
      S(0.25), S(0.75), S(0.5),   //
      S(0.2), S(0.4), S(0.6),     //
      S(0.3), S(0.7), S(0.125);
  return p;
}

}  // namespace

// Asserts that `expr` throws `type` (out_of_range and invalid_argument are unrelated types, so the
// wrong one escapes and fails), that the message starts with "xent::<fn>: " and that it contains
// every string given after the expression.
#define REQUIRE_XENT_THROWS(type, fn, expr, ...)                                               \
  do {                                                                                         \
    REQUIRE_THROWS_AS(expr, type);                                                             \
    const std::string xent_message_ = message_of<type>([&] { (void)(expr); });                 \
    INFO("message: " << xent_message_);                                                        \
    CHECK_THAT(xent_message_, Catch::Matchers::StartsWith(std::string("xent::") + fn + ": ")); \
    for (const std::string& xent_part_ : std::vector<std::string>{__VA_ARGS__}) {              \
      CHECK_THAT(xent_message_, XENT_HAS(xent_part_));                                         \
    }                                                                                          \
  } while (false)

// ---------------------------------------------------------------------------------------------
// Targets out of bounds -> std::out_of_range
// ---------------------------------------------------------------------------------------------

TEMPLATE_TEST_CASE("a target >= C throws out_of_range from every cross_entropy / nll_loss entry",
                   "[errors][targets]", float, double) {
  using S = TestType;
  const Mat<S> x = logits43<S>();
  const Targets y = targets_of<std::int64_t>({0, 2, 3, 1});  // targets[2] = 3 with C = 3
  const Vec<S> g = Vec<S>::Ones(4);
  Mat<S> grad(4, 3);
  Vec<S> out(4);
  const char* const parts[] = {"Target 3 is out of bounds", "targets[2] = 3",
                               "expected a class in [0, 3)", "ignore_index (-100)"};
#define XENT_OOB(fn, expr) \
  REQUIRE_XENT_THROWS(std::out_of_range, fn, expr, parts[0], parts[1], parts[2], parts[3])

  SECTION("cross_entropy") {
    XENT_OOB("cross_entropy", xent::cross_entropy(x, y));
    XENT_OOB(
        "cross_entropy",
        xent::cross_entropy(x, y, xent::CrossEntropyOptions().reduction(xent::Reduction::Sum)));
    XENT_OOB("cross_entropy_per_sample", xent::cross_entropy_per_sample(x, y));
    XENT_OOB("cross_entropy_per_sample", xent::cross_entropy_per_sample(x, y, out));
    XENT_OOB("cross_entropy_backward", xent::cross_entropy_backward(x, y));
    XENT_OOB("cross_entropy_per_sample_backward", xent::cross_entropy_per_sample_backward(x, y, g));
    XENT_OOB("cross_entropy_forward_backward", xent::cross_entropy_forward_backward(x, y, grad));
    const xent::CrossEntropyLoss loss(xent::CrossEntropyOptions().label_smoothing(0.1));
    XENT_OOB("cross_entropy", loss(x, y));
    XENT_OOB("cross_entropy_backward", loss.backward(x, y));
    XENT_OOB("cross_entropy_forward_backward", loss.forward_backward(x, y, grad));
  }
  SECTION("nll_loss") {
    XENT_OOB("nll_loss", xent::nll_loss(x, y));
    XENT_OOB("nll_loss_per_sample", xent::nll_loss_per_sample(x, y));
    XENT_OOB("nll_loss_per_sample", xent::nll_loss_per_sample(x, y, out));
    XENT_OOB("nll_loss_backward", xent::nll_loss_backward(x, y));
    XENT_OOB("nll_loss_per_sample_backward", xent::nll_loss_per_sample_backward(x, y, g));
    XENT_OOB("nll_loss_forward_backward", xent::nll_loss_forward_backward(x, y, grad));
    const xent::NLLLoss loss;
    XENT_OOB("nll_loss", loss(x, y));
    XENT_OOB("nll_loss_per_sample", loss.per_sample(x, y));
    XENT_OOB("nll_loss_per_sample_backward", loss.per_sample_backward(x, y, g));
  }
#undef XENT_OOB
}

TEST_CASE("target -1 is out of bounds with the default ignore_index (-100)", "[errors][targets]") {
  const Mat<float> x = logits43<float>();
  const Targets y = targets_of<std::int64_t>({0, -1, 1, 2});
  REQUIRE_XENT_THROWS(std::out_of_range, "cross_entropy", xent::cross_entropy(x, y),
                      "Target -1 is out of bounds", "targets[1] = -1", "[0, 3)",
                      "ignore_index (-100)");
  REQUIRE_XENT_THROWS(std::out_of_range, "nll_loss", xent::nll_loss(x, y), "targets[1] = -1");
  // -1 is fine once it is the ignore_index.
  REQUIRE_NOTHROW(xent::cross_entropy(x, y, xent::CrossEntropyOptions().ignore_index(-1)));
  REQUIRE_NOTHROW(xent::nll_loss(x, y, xent::NLLLossOptions().ignore_index(-1)));
  // Any other negative value is out of bounds too.
  REQUIRE_XENT_THROWS(std::out_of_range, "cross_entropy",
                      xent::cross_entropy(x, targets_of<std::int64_t>({0, 1, 2, -101})),
                      "targets[3] = -101");
}

TEST_CASE("huge unsigned targets are out of bounds, printed as the unsigned value",
          "[errors][targets]") {
  const Mat<double> x = logits43<double>();
  SECTION("uint64 max") {
    const auto big = std::numeric_limits<std::uint64_t>::max();
    const auto y = targets_of<std::uint64_t>({0, 1, big, 2});
    REQUIRE_XENT_THROWS(std::out_of_range, "cross_entropy", xent::cross_entropy(x, y),
                        "Target 18446744073709551615 is out of bounds",
                        "targets[2] = 18446744073709551615", "[0, 3)");
    REQUIRE_XENT_THROWS(std::out_of_range, "nll_loss_backward", xent::nll_loss_backward(x, y),
                        "targets[2] = 18446744073709551615");
  }
  SECTION("a uint64 whose int64 reinterpretation is the ignore_index is not ignored") {
    // 2^64 - 100 reads as -100 if converted naively.
    const std::uint64_t wraps_to_ignore = std::numeric_limits<std::uint64_t>::max() - 99;
    const auto y = targets_of<std::uint64_t>({0, wraps_to_ignore, 1, 2});
    REQUIRE_XENT_THROWS(std::out_of_range, "cross_entropy", xent::cross_entropy(x, y),
                        "targets[1] = 18446744073709551516");
  }
  SECTION("uint32 max") {
    const auto y = targets_of<std::uint32_t>({0, 1, 2, 4294967295u});
    REQUIRE_XENT_THROWS(std::out_of_range, "cross_entropy_per_sample",
                        xent::cross_entropy_per_sample(x, y), "Target 4294967295",
                        "targets[3] = 4294967295");
  }
}

TEST_CASE("uint8 and other narrow targets print as numbers, not characters", "[errors][targets]") {
  const Mat<float> x = logits43<float>();
  SECTION("uint8") {
    const auto y = targets_of<std::uint8_t>({0, 1, 200, 2});
    REQUIRE_XENT_THROWS(std::out_of_range, "cross_entropy", xent::cross_entropy(x, y),
                        "Target 200 is out of bounds", "targets[2] = 200", "[0, 3)");
    REQUIRE_XENT_THROWS(std::out_of_range, "nll_loss", xent::nll_loss(x, y), "targets[2] = 200");
  }
  SECTION("int8") {
    const auto y = targets_of<std::int8_t>({65, 1, 0, 2});  // 65 would print as 'A'
    REQUIRE_XENT_THROWS(std::out_of_range, "cross_entropy", xent::cross_entropy(x, y),
                        "Target 65 is out of bounds", "targets[0] = 65");
  }
  SECTION("int32 and int16") {
    REQUIRE_XENT_THROWS(std::out_of_range, "cross_entropy",
                        xent::cross_entropy(x, targets_of<std::int32_t>({0, 1, 2, 7})),
                        "targets[3] = 7");
    REQUIRE_XENT_THROWS(std::out_of_range, "nll_loss",
                        xent::nll_loss(x, targets_of<std::int16_t>({-5, 1, 2, 0})),
                        "targets[0] = -5");
  }
}

TEST_CASE("the bounds use the class axis of the layout", "[errors][targets][layout]") {
  const Mat<float> x = logits43<float>().transpose();  // 3 x 4: C = 3 classes, N = 4 samples
  const auto cols = xent::CrossEntropyOptions().layout(xent::Layout::SamplesInColumns);
  REQUIRE_NOTHROW(xent::cross_entropy(x, targets_of<std::int64_t>({0, 1, 2, 2}), cols));
  REQUIRE_XENT_THROWS(std::out_of_range, "cross_entropy",
                      xent::cross_entropy(x, targets_of<std::int64_t>({0, 1, 2, 3}), cols),
                      "targets[3] = 3", "[0, 3)");
  // Samples in rows, the same 3 x 4 matrix has 4 classes and 3 samples.
  REQUIRE_XENT_THROWS(std::out_of_range, "cross_entropy",
                      xent::cross_entropy(x, targets_of<std::int64_t>({0, 4, 1})), "targets[1] = 4",
                      "[0, 4)");
}

TEST_CASE("the ignore test runs before the bounds test", "[errors][targets][ignore_index]") {
  const Mat<float> x = logits43<float>();
  SECTION("uint8 targets 255 with ignore_index 255") {
    const auto y = targets_of<std::uint8_t>({255, 1, 255, 2});
    const auto ce = xent::CrossEntropyOptions().ignore_index(255);
    const auto nll = xent::NLLLossOptions().ignore_index(255);
    REQUIRE_NOTHROW(xent::cross_entropy(x, y, ce));
    REQUIRE_NOTHROW(xent::cross_entropy_backward(x, y, ce));
    REQUIRE_NOTHROW(xent::nll_loss(x, y, nll));
    REQUIRE_NOTHROW(xent::nll_loss_backward(x, y, nll));
    const Vec<float> per = xent::cross_entropy_per_sample(x, y, ce);
    CHECK(per(0) == 0.0f);
    CHECK(per(2) == 0.0f);
    // A different out-of-range value still throws, and the message names the ignore_index in use.
    REQUIRE_XENT_THROWS(std::out_of_range, "cross_entropy",
                        xent::cross_entropy(x, targets_of<std::uint8_t>({255, 1, 254, 2}), ce),
                        "targets[2] = 254", "ignore_index (255)");
  }
  SECTION("an ignore_index far outside [0, C)") {
    const std::int64_t far = 1000000000000;  // 10^12
    const Targets y = targets_of<std::int64_t>({far, 0, far, 1});
    REQUIRE_NOTHROW(xent::cross_entropy(x, y, xent::CrossEntropyOptions().ignore_index(far)));
    REQUIRE_NOTHROW(xent::nll_loss(x, y, xent::NLLLossOptions().ignore_index(far)));
    REQUIRE_XENT_THROWS(std::out_of_range, "cross_entropy", xent::cross_entropy(x, y),
                        "Target 1000000000000 is out of bounds", "targets[0] = 1000000000000");
  }
}

// ---------------------------------------------------------------------------------------------
// Everything else -> std::invalid_argument
// ---------------------------------------------------------------------------------------------

// The scalar type plays no part in these checks; float and double alternate between tests.
TEST_CASE("a class weight of the wrong length", "[errors][weight]") {
  using S = float;
  const Mat<S> x = logits43<S>();
  const Targets y = targets_of<std::int64_t>({0, 1, 2, 1});
  const Vec<S> w2 = Vec<S>::Ones(2);
  const Vec<S> w4 = Vec<S>::Ones(4);
  SECTION("cross_entropy, index targets") {
    const auto opts = xent::CrossEntropyOptions().weight(w2);
    REQUIRE_XENT_THROWS(std::invalid_argument, "cross_entropy", xent::cross_entropy(x, y, opts),
                        "weight", "all 3 classes", "size 2");
    REQUIRE_XENT_THROWS(std::invalid_argument, "cross_entropy_backward",
                        xent::cross_entropy_backward(x, y, opts), "all 3 classes", "size 2");
    REQUIRE_XENT_THROWS(
        std::invalid_argument, "cross_entropy_per_sample",
        xent::cross_entropy_per_sample(x, y, xent::CrossEntropyOptions().weight(w4)),
        "all 3 classes", "size 4");
  }
  SECTION("cross_entropy, probability targets") {
    const Mat<S> t = Mat<S>::Constant(4, 3, S(1) / 3);
    REQUIRE_XENT_THROWS(std::invalid_argument, "cross_entropy",
                        xent::cross_entropy(x, t, xent::CrossEntropyOptions().weight(w2)), "weight",
                        "all 3 classes", "size 2");
  }
  SECTION("nll_loss") {
    const auto opts = xent::NLLLossOptions().weight(w4);
    REQUIRE_XENT_THROWS(std::invalid_argument, "nll_loss", xent::nll_loss(x, y, opts), "weight",
                        "all 3 classes", "size 4");
    Mat<S> grad(4, 3);
    REQUIRE_XENT_THROWS(std::invalid_argument, "nll_loss_forward_backward",
                        xent::nll_loss_forward_backward(x, y, grad, opts), "size 4");
  }
  SECTION("an empty weight is not 'no weight'") {
    REQUIRE_XENT_THROWS(std::invalid_argument, "cross_entropy",
                        xent::cross_entropy(x, y, xent::CrossEntropyOptions().weight(Vec<S>())),
                        "all 3 classes", "size 0");
  }
  SECTION("a weight that is a matrix is rejected by the setter") {
    const Mat<S> w = Mat<S>::Ones(2, 3);
    const std::string msg =
        message_of<std::invalid_argument>([&] { xent::CrossEntropyOptions().weight(w); });
    CHECK_THAT(msg, Catch::Matchers::StartsWith("xent::"));
    CHECK_THAT(msg, XENT_HAS("weight"));
    CHECK_THAT(msg, XENT_HAS("2x3"));
    REQUIRE_THROWS_AS(xent::NLLLossOptions().weight(w), std::invalid_argument);
    const std::string alias =
        message_of<std::invalid_argument>([&] { xent::CrossEntropyOptions().class_weight(w); });
    CHECK_THAT(alias, XENT_HAS("2x3"));
  }
}

TEST_CASE("pos_weight of the wrong length", "[errors][bce_with_logits]") {
  const Mat<double> x = logits43<double>();
  const Mat<double> t = probs43<double>();
  SECTION("samples in rows: C = cols = 3") {
    const auto opts = xent::BCEWithLogitsLossOptions().pos_weight(Eigen::Vector2d(1, 2));
    REQUIRE_XENT_THROWS(std::invalid_argument, "binary_cross_entropy_with_logits",
                        xent::binary_cross_entropy_with_logits(x, t, opts), "pos_weight",
                        "has 2 entries", "(3)");
    REQUIRE_XENT_THROWS(std::invalid_argument, "binary_cross_entropy_with_logits_backward",
                        xent::binary_cross_entropy_with_logits_backward(x, t, opts), "pos_weight",
                        "has 2 entries");
    // 4 entries = N, not C.
    REQUIRE_XENT_THROWS(
        std::invalid_argument, "binary_cross_entropy_with_logits_per_sample",
        xent::binary_cross_entropy_with_logits_per_sample(
            x, t, xent::BCEWithLogitsLossOptions().pos_weight(Eigen::Vector4d(1, 2, 3, 4))),
        "pos_weight", "has 4 entries", "(3)");
  }
  SECTION("samples in columns: C = rows = 4") {
    const auto opts = xent::BCEWithLogitsLossOptions()
                          .pos_weight(Eigen::Vector3d(1, 2, 3))
                          .layout(xent::Layout::SamplesInColumns);
    REQUIRE_XENT_THROWS(std::invalid_argument, "binary_cross_entropy_with_logits",
                        xent::binary_cross_entropy_with_logits(x, t, opts), "pos_weight",
                        "has 3 entries", "(4)");
    REQUIRE_NOTHROW(
        xent::binary_cross_entropy_with_logits(x, t,
                                               xent::BCEWithLogitsLossOptions()
                                                   .pos_weight(Eigen::Vector4d(1, 2, 3, 4))
                                                   .layout(xent::Layout::SamplesInColumns)));
  }
}

TEST_CASE("BCE weights of each kind with the wrong size", "[errors][bce][weight]") {
  using S = double;
  const Mat<S> x = logits43<S>();
  const Mat<S> p = probs43<S>();
  const Mat<S> t = probs43<S>().reverse();
  using RowVec = Eigen::Matrix<S, 1, Eigen::Dynamic>;
  SECTION("class_weight needs C entries, in either orientation") {
    const RowVec w = RowVec::Ones(4);
    REQUIRE_XENT_THROWS(
        std::invalid_argument, "binary_cross_entropy_with_logits",
        xent::binary_cross_entropy_with_logits(x, t, xent::BCEWithLogitsLossOptions().class_weight(w)),
        "class_weight has 4 entries, expected one per class (3)");
    REQUIRE_XENT_THROWS(std::invalid_argument, "binary_cross_entropy",
                        xent::binary_cross_entropy(p, t, xent::BCELossOptions().class_weight(w)),
                        "class_weight has 4 entries", "one per class (3)");
    // A column vector is per class too: 4 entries = N, still not C.
    REQUIRE_XENT_THROWS(
        std::invalid_argument, "binary_cross_entropy",
        xent::binary_cross_entropy(p, t, xent::BCELossOptions().class_weight(Vec<S>::Ones(4))),
        "class_weight has 4 entries, expected one per class (3)");
    // With samples in columns the class axis is the rows: 4 entries fit.
    REQUIRE_NOTHROW(xent::binary_cross_entropy(
        p, t, xent::BCELossOptions().class_weight(w).layout(xent::Layout::SamplesInColumns)));
  }
  SECTION("sample_weight needs N entries, in either orientation") {
    const Vec<S> w = Vec<S>::Ones(3);
    REQUIRE_XENT_THROWS(std::invalid_argument, "binary_cross_entropy_with_logits_backward",
                        xent::binary_cross_entropy_with_logits_backward(
                            x, t, xent::BCEWithLogitsLossOptions().sample_weight(w)),
                        "sample_weight has 3 entries, expected one per sample (4)");
    REQUIRE_XENT_THROWS(
        std::invalid_argument, "binary_cross_entropy_per_sample",
        xent::binary_cross_entropy_per_sample(p, t, xent::BCELossOptions().sample_weight(w)),
        "sample_weight has 3 entries", "one per sample (4)");
    REQUIRE_XENT_THROWS(
        std::invalid_argument, "binary_cross_entropy_per_sample",
        xent::binary_cross_entropy_per_sample(p, t, xent::BCELossOptions().sample_weight(RowVec::Ones(3))),
        "sample_weight has 3 entries, expected one per sample (4)");
  }
  SECTION("element_weight needs the input's shape") {
    const Mat<S> w = Mat<S>::Ones(3, 4);  // the transpose: same size, wrong shape
    REQUIRE_XENT_THROWS(
        std::invalid_argument, "binary_cross_entropy_with_logits",
        xent::binary_cross_entropy_with_logits(x, t, xent::BCEWithLogitsLossOptions().element_weight(w)),
        "element_weight has shape (3, 4)", "expected the input's shape (4, 3)");
    Mat<S> grad(4, 3);
    REQUIRE_XENT_THROWS(std::invalid_argument, "binary_cross_entropy_forward_backward",
                        xent::binary_cross_entropy_forward_backward(
                            p, t, grad, xent::BCELossOptions().element_weight(w)),
                        "element_weight has shape (3, 4)", "(4, 3)");
  }
  SECTION("a matrix given to class_weight or sample_weight is rejected by the setter") {
    const Mat<S> w = Mat<S>::Ones(4, 3);  // the input's shape: element_weight's
    const std::string by_class =
        message_of<std::invalid_argument>([&] { xent::BCELossOptions().class_weight(w); });
    CHECK_THAT(by_class, Catch::Matchers::StartsWith("xent::class_weight: "));
    CHECK_THAT(by_class, XENT_HAS("4x3 matrix"));
    CHECK_THAT(by_class, XENT_HAS("element_weight"));
    const std::string by_sample = message_of<std::invalid_argument>(
        [&] { xent::BCEWithLogitsLossOptions().sample_weight(w); });
    CHECK_THAT(by_sample, Catch::Matchers::StartsWith("xent::sample_weight: "));
    CHECK_THAT(by_sample, XENT_HAS("4x3 matrix"));
    CHECK_THAT(by_sample, XENT_HAS("element_weight"));
    REQUIRE_NOTHROW(xent::BCELossOptions().element_weight(w));
  }
}

TEST_CASE("batch-size mismatch between logits and targets", "[errors][targets]") {
  using S = float;
  const Mat<S> x = logits43<S>();
  const Targets y3 = targets_of<std::int64_t>({0, 1, 2});
  REQUIRE_XENT_THROWS(std::invalid_argument, "cross_entropy", xent::cross_entropy(x, y3),
                      "Expected input batch_size (4) to match target batch_size (3)");
  REQUIRE_XENT_THROWS(std::invalid_argument, "cross_entropy_per_sample_backward",
                      xent::cross_entropy_per_sample_backward(x, y3, Vec<S>::Ones(4)),
                      "batch_size (4)", "batch_size (3)");
  REQUIRE_XENT_THROWS(std::invalid_argument, "nll_loss",
                      xent::nll_loss(x, targets_of<std::int64_t>({0, 1, 2, 0, 1})),
                      "Expected input batch_size (4) to match target batch_size (5)");
  // Samples in columns, the same 4 x 3 logits hold N = 3 samples (columns): 3 targets fit, 4 do
  // not.
  const auto cols = xent::CrossEntropyOptions().layout(xent::Layout::SamplesInColumns);
  REQUIRE_NOTHROW(xent::cross_entropy(x, y3, cols));
  REQUIRE_XENT_THROWS(std::invalid_argument, "cross_entropy",
                      xent::cross_entropy(x, targets_of<std::int64_t>({0, 1, 2, 3}), cols),
                      "Expected input batch_size (3) to match target batch_size (4)");
}

TEST_CASE("class-index targets given as a matrix", "[errors][targets]") {
  const Mat<float> x = logits43<float>();
  const Mat<std::int64_t> y = Mat<std::int64_t>::Zero(2, 2);  // 4 entries, but not a vector
  REQUIRE_XENT_THROWS(std::invalid_argument, "cross_entropy", xent::cross_entropy(x, y),
                      "targets must be a vector", "(2, 2)");
  REQUIRE_XENT_THROWS(std::invalid_argument, "nll_loss_backward", xent::nll_loss_backward(x, y),
                      "targets must be a vector", "(2, 2)");
  // An integer matrix of the logits' shape is still not a probability target.
  const Mat<int> same_shape = Mat<int>::Zero(4, 3);
  REQUIRE_XENT_THROWS(std::invalid_argument, "cross_entropy", xent::cross_entropy(x, same_shape),
                      "targets must be a vector", "(4, 3)");
  // A row vector of N targets is a vector.
  const Eigen::Matrix<std::int64_t, 1, Eigen::Dynamic> row =
      targets_of<std::int64_t>({0, 1, 2, 0}).transpose();
  REQUIRE_NOTHROW(xent::cross_entropy(x, row));
}

TEMPLATE_TEST_CASE("probability targets of the wrong shape", "[errors][probabilities]", float,
                   double) {
  using S = TestType;
  const Mat<S> x = logits43<S>();
  REQUIRE_XENT_THROWS(std::invalid_argument, "cross_entropy",
                      xent::cross_entropy(x, Mat<S>::Constant(4, 2, 0.5)), "targets",
                      "shape (4, 2)", "(4, 3)");
  REQUIRE_XENT_THROWS(std::invalid_argument, "cross_entropy_backward",
                      xent::cross_entropy_backward(x, Mat<S>::Constant(3, 4, 0.25)), "targets",
                      "shape (3, 4)", "(4, 3)");
  // A vector of N floating values is not a vector of class indices either.
  REQUIRE_XENT_THROWS(std::invalid_argument, "cross_entropy_per_sample",
                      xent::cross_entropy_per_sample(x, Vec<S>::Zero(4)), "targets", "shape (4, 1)",
                      "(4, 3)");
  // Probabilities of the other floating type are accepted.
  using Other = typename std::conditional<std::is_same<S, float>::value, double, float>::type;
  REQUIRE_NOTHROW(xent::cross_entropy(x, Mat<Other>::Constant(4, 3, Other(1) / 3)));
}

TEST_CASE("ignore_index >= 0 with probability targets", "[errors][probabilities][ignore_index]") {
  const Mat<double> x = logits43<double>();
  const Mat<double> t = Mat<double>::Constant(4, 3, 1.0 / 3);
  REQUIRE_XENT_THROWS(std::invalid_argument, "cross_entropy",
                      xent::cross_entropy(x, t, xent::CrossEntropyOptions().ignore_index(0)),
                      "ignore_index is not supported for floating point target",
                      "ignore_index = 0");
  REQUIRE_XENT_THROWS(
      std::invalid_argument, "cross_entropy_forward_backward",
      [&] {
        Mat<double> grad(4, 3);
        return xent::cross_entropy_forward_backward(x, t, grad,
                                                    xent::CrossEntropyOptions().ignore_index(255));
      }(),
      "ignore_index = 255");
  // Negative values are accepted (and unused), as in PyTorch.
  REQUIRE_NOTHROW(xent::cross_entropy(x, t, xent::CrossEntropyOptions().ignore_index(-1)));
  REQUIRE_NOTHROW(xent::cross_entropy(x, t));
}

TEST_CASE("label_smoothing outside [0, 1] is rejected by the setter", "[errors][label_smoothing]") {
  const char* fn = "CrossEntropyOptions::label_smoothing";
  REQUIRE_XENT_THROWS(std::invalid_argument, fn, xent::CrossEntropyOptions().label_smoothing(-0.1),
                      "label_smoothing must be between 0.0 and 1.0", "-0.1");
  REQUIRE_XENT_THROWS(std::invalid_argument, fn, xent::CrossEntropyOptions().label_smoothing(1.5),
                      "label_smoothing must be between 0.0 and 1.0", "1.5");
  REQUIRE_XENT_THROWS(
      std::invalid_argument, fn,
      xent::CrossEntropyOptions().label_smoothing(std::numeric_limits<double>::quiet_NaN()), "nan");
  REQUIRE_XENT_THROWS(
      std::invalid_argument, fn,
      xent::CrossEntropyOptions().label_smoothing(std::numeric_limits<double>::infinity()), "inf");
  // The boundaries are valid, and a rejected value leaves the options as they were.
  REQUIRE_NOTHROW(xent::CrossEntropyOptions().label_smoothing(0.0));
  REQUIRE_NOTHROW(xent::CrossEntropyOptions().label_smoothing(1.0));
  xent::CrossEntropyOptions opts;
  opts.label_smoothing(0.25);
  REQUIRE_THROWS_AS(opts.label_smoothing(2.0), std::invalid_argument);
  CHECK(opts.label_smoothing() == 0.25);
}

TEST_CASE("label_smoothing: the message shows the rejected value, however small",
          "[errors][label_smoothing]") {
  // std::to_string prints -1e-09 as "-0.000000", which hides the offending value.
  const std::string msg =
      message_of<std::invalid_argument>([] { xent::CrossEntropyOptions().label_smoothing(-1e-9); });
  INFO("message: " << msg);
  CHECK_THAT(msg, XENT_HAS("-1e-09"));
}

TEST_CASE("label_smoothing: the message prints the value as passed, in its own type",
          "[errors][label_smoothing]") {
  const auto message = [](auto e) {
    return message_of<std::invalid_argument>([e] { xent::CrossEntropyOptions().label_smoothing(e); });
  };
  const std::string prefix =
      "xent::CrossEntropyOptions::label_smoothing: label_smoothing must be between 0.0 and 1.0. "
      "Got: ";
  // A float is printed as the float it is, not as the double it widens to
  // (-0.10000000149011612).
  CHECK(message(-0.1f) == prefix + "-0.1");
  CHECK(message(1.1f) == prefix + "1.1");
  CHECK(message(1.0000001f) == prefix + "1.0000001");
  CHECK(message(std::numeric_limits<float>::quiet_NaN()) == prefix + "nan");
  CHECK(message(-0.1) == prefix + "-0.1");
  CHECK(message(1.0000000000000002) == prefix + "1.0000000000000002");
  CHECK(message(-std::numeric_limits<double>::infinity()) == prefix + "-inf");
  CHECK(message(2) == prefix + "2");
  CHECK(message(-1) == prefix + "-1");
  CHECK(message(std::int64_t{-100}) == prefix + "-100");
  // In range: a float, an int (0 and 1, not ambiguous) and a double, stored as double.
  CHECK(xent::CrossEntropyOptions().label_smoothing(0.1f).label_smoothing() ==
        static_cast<double>(0.1f));
  CHECK(xent::CrossEntropyOptions().label_smoothing(0).label_smoothing() == 0.0);
  CHECK(xent::CrossEntropyOptions().label_smoothing(1).label_smoothing() == 1.0);
  CHECK(xent::CrossEntropyOptions().label_smoothing(0.25).label_smoothing() == 0.25);
}

TEMPLATE_TEST_CASE("binary_cross_entropy: probabilities outside [0, 1] or NaN", "[errors][bce]",
                   float, double) {
  using S = TestType;
  const Mat<S> p = probs43<S>();
  const Mat<S> t = probs43<S>().reverse();
  const S nan = std::numeric_limits<S>::quiet_NaN();
  SECTION("input") {
    Mat<S> bad = p;
    bad(1, 2) = S(1.5);
    REQUIRE_XENT_THROWS(std::invalid_argument, "binary_cross_entropy",
                        xent::binary_cross_entropy(bad, t),
                        "all elements of input should be between 0 and 1", "input(1, 2) = 1.5");
    bad = p;
    bad(3, 0) = S(-0.5);
    REQUIRE_XENT_THROWS(std::invalid_argument, "binary_cross_entropy_backward",
                        xent::binary_cross_entropy_backward(bad, t), "input(3, 0) = -0.5");
    bad = p;
    bad(2, 1) = nan;
    REQUIRE_XENT_THROWS(std::invalid_argument, "binary_cross_entropy_per_sample",
                        xent::binary_cross_entropy_per_sample(bad, t), "input(2, 1) = nan");
    bad = p;
    bad(0, 0) = std::numeric_limits<S>::infinity();
    REQUIRE_XENT_THROWS(std::invalid_argument, "binary_cross_entropy",
                        xent::binary_cross_entropy(bad, t), "input(0, 0) = inf");
    // A row-major input is checked row by row; the message still names (row, column).
    Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> bad_rows = p;
    bad_rows(2, 1) = S(7);
    REQUIRE_XENT_THROWS(std::invalid_argument, "binary_cross_entropy",
                        xent::binary_cross_entropy(bad_rows, t), "input(2, 1) = 7");
  }
  SECTION("target") {
    Mat<S> bad = t;
    bad(0, 1) = S(2);
    REQUIRE_XENT_THROWS(std::invalid_argument, "binary_cross_entropy",
                        xent::binary_cross_entropy(p, bad),
                        "all elements of target should be between 0 and 1", "target(0, 1) = 2");
    bad = t;
    bad(3, 2) = nan;
    Mat<S> grad(4, 3);
    REQUIRE_XENT_THROWS(std::invalid_argument, "binary_cross_entropy_forward_backward",
                        xent::binary_cross_entropy_forward_backward(p, bad, grad),
                        "target(3, 2) = nan");
    bad = t;
    bad(2, 0) = S(-0.25);
    REQUIRE_XENT_THROWS(std::invalid_argument, "binary_cross_entropy_per_sample_backward",
                        xent::binary_cross_entropy_per_sample_backward(p, bad, Mat<S>::Ones(4, 3)),
                        "target(2, 0) = -0.25");
  }
  SECTION("the boundaries 0 and 1 are valid") {
    Mat<S> edge = p;
    edge(0, 0) = 0;
    edge(1, 1) = 1;
    REQUIRE_NOTHROW(xent::binary_cross_entropy(edge, edge));
  }
  SECTION("the position is the matrix's own (row, col), whatever the storage order") {
    Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> bad = p;
    bad(3, 1) = S(1.25);
    REQUIRE_XENT_THROWS(std::invalid_argument, "binary_cross_entropy",
                        xent::binary_cross_entropy(bad, t), "input(3, 1) = 1.25");
  }
}

TEST_CASE("binary_cross_entropy_with_logits does not range-check its targets (as PyTorch)",
          "[errors][bce_with_logits]") {
  const Mat<float> x = logits43<float>();
  Mat<float> t = probs43<float>();
  t(0, 0) = 2;
  t(1, 1) = -1;
  REQUIRE_NOTHROW(xent::binary_cross_entropy_with_logits(x, t));
  REQUIRE_XENT_THROWS(std::invalid_argument, "binary_cross_entropy_with_logits",
                      xent::binary_cross_entropy_with_logits(x, Mat<float>::Zero(4, 2)), "targets",
                      "shape (4, 2)", "(4, 3)");
  REQUIRE_XENT_THROWS(std::invalid_argument, "binary_cross_entropy",
                      xent::binary_cross_entropy(probs43<float>(), Mat<float>::Zero(3, 4)),
                      "targets", "shape (3, 4)", "(4, 3)");
}

TEST_CASE("non-finite logits are data, not errors", "[errors]") {
  Mat<float> x = logits43<float>();
  x(0, 0) = std::numeric_limits<float>::quiet_NaN();
  x(1, 1) = std::numeric_limits<float>::infinity();
  x(2, 2) = -std::numeric_limits<float>::infinity();
  const Targets y = targets_of<std::int64_t>({0, 1, 2, 0});
  REQUIRE_NOTHROW(xent::cross_entropy(x, y));
  REQUIRE_NOTHROW(xent::cross_entropy_backward(x, y));
  REQUIRE_NOTHROW(xent::nll_loss(x, y));
  REQUIRE_NOTHROW(xent::binary_cross_entropy_with_logits(x, probs43<float>()));
  REQUIRE_NOTHROW(xent::log_softmax(x));
  REQUIRE_NOTHROW(xent::logsumexp(x));
}

// ---------------------------------------------------------------------------------------------
// Outputs of the wrong size
// ---------------------------------------------------------------------------------------------

TEMPLATE_TEST_CASE("a per-sample output: a Map must have N entries, a Matrix is resized",
                   "[errors][outputs]", float, double) {
  using S = TestType;
  const Mat<S> x = logits43<S>();
  const Targets y = targets_of<std::int64_t>({0, 1, 2, 1});
  std::vector<S> storage(8, S(-7));
  SECTION("cross_entropy_per_sample into a Map") {
    Eigen::Map<Vec<S>> three(storage.data(), 3);
    REQUIRE_XENT_THROWS(std::invalid_argument, "cross_entropy_per_sample",
                        xent::cross_entropy_per_sample(x, y, three), "out has shape (3, 1)",
                        "expected (4, 1)");
    Eigen::Map<Vec<S>> five(storage.data(), 5);
    REQUIRE_XENT_THROWS(std::invalid_argument, "cross_entropy_per_sample",
                        xent::cross_entropy_per_sample(x, y, five), "out has shape (5, 1)",
                        "expected (4, 1)");
    for (const S v : storage) CHECK(v == S(-7));
    Eigen::Map<Vec<S>> four(storage.data(), 4);
    REQUIRE_NOTHROW(xent::cross_entropy_per_sample(x, y, four));
    CHECK(four == xent::cross_entropy_per_sample(x, y));
    CHECK(storage[4] == S(-7));
  }
  SECTION("nll_loss_per_sample into a Block of the wrong size") {
    Vec<S> big = Vec<S>::Constant(8, S(-7));
    REQUIRE_XENT_THROWS(std::invalid_argument, "nll_loss_per_sample",
                        xent::nll_loss_per_sample(x, y, big.head(2)), "out has shape (2, 1)",
                        "expected (4, 1)");
    REQUIRE_NOTHROW(xent::nll_loss_per_sample(x, y, big.segment(2, 4)));
    CHECK(big.segment(2, 4) == xent::nll_loss_per_sample(x, y));
  }
  SECTION("a plain Matrix of the wrong size is resized") {
    Vec<S> out = Vec<S>::Constant(9, S(-7));
    REQUIRE_NOTHROW(xent::cross_entropy_per_sample(x, y, out));
    CHECK(out.size() == 4);
    CHECK(out == xent::cross_entropy_per_sample(x, y));
    Vec<S> empty;
    xent::nll_loss_per_sample(x, y, empty);
    CHECK(empty.size() == 4);
    Eigen::Matrix<S, 1, Eigen::Dynamic> row(1);
    xent::cross_entropy_per_sample(x, y, row);  // a row vector is a vector
    CHECK(row.size() == 4);
    CHECK(row.transpose() == xent::cross_entropy_per_sample(x, y));
  }
  SECTION("a fixed-size Matrix of the wrong size cannot be resized") {
    Eigen::Matrix<S, 3, 1> fixed;
    REQUIRE_XENT_THROWS(std::invalid_argument, "cross_entropy_per_sample",
                        xent::cross_entropy_per_sample(x, y, fixed), "out has shape (3, 1)",
                        "expected (4, 1)");
  }
  SECTION("samples in columns: N is the number of columns") {
    const auto cols = xent::CrossEntropyOptions().layout(xent::Layout::SamplesInColumns);
    const Mat<S> xt = x.transpose();  // 3 x 4
    Eigen::Map<Vec<S>> three(storage.data(), 3);
    REQUIRE_XENT_THROWS(std::invalid_argument, "cross_entropy_per_sample",
                        xent::cross_entropy_per_sample(xt, y, three, cols), "out has shape (3, 1)",
                        "expected (4, 1)");
  }
}

TEMPLATE_TEST_CASE("forward_backward grad: a Map must have x's shape, a Matrix is resized",
                   "[errors][outputs]", float, double) {
  using S = TestType;
  const Mat<S> x = logits43<S>();
  const Targets y = targets_of<std::int64_t>({0, 1, 2, 1});
  std::vector<S> storage(16, S(-7));
  SECTION("cross_entropy_forward_backward") {
    Eigen::Map<Mat<S>> wrong(storage.data(), 3, 4);
    REQUIRE_XENT_THROWS(std::invalid_argument, "cross_entropy_forward_backward",
                        xent::cross_entropy_forward_backward(x, y, wrong), "grad has shape (3, 4)",
                        "expected (4, 3)");
    Eigen::Map<Mat<S>> small(storage.data(), 4, 2);
    REQUIRE_XENT_THROWS(std::invalid_argument, "cross_entropy_forward_backward",
                        xent::cross_entropy_forward_backward(x, y, small), "grad has shape (4, 2)",
                        "expected (4, 3)");
    for (const S v : storage) CHECK(v == S(-7));
    Eigen::Map<Mat<S>> right(storage.data(), 4, 3);
    S loss = 0;
    REQUIRE_NOTHROW(loss = xent::cross_entropy_forward_backward(x, y, right));
    CHECK(loss == xent::cross_entropy(x, y));
    CHECK(right == xent::cross_entropy_backward(x, y));
  }
  SECTION("nll_loss_forward_backward and the BCE losses") {
    Eigen::Map<Mat<S>> wrong(storage.data(), 2, 6);
    REQUIRE_XENT_THROWS(std::invalid_argument, "nll_loss_forward_backward",
                        xent::nll_loss_forward_backward(x, y, wrong), "grad has shape (2, 6)",
                        "expected (4, 3)");
    REQUIRE_XENT_THROWS(
        std::invalid_argument, "binary_cross_entropy_with_logits_forward_backward",
        xent::binary_cross_entropy_with_logits_forward_backward(x, probs43<S>(), wrong),
        "grad has shape (2, 6)", "expected (4, 3)");
    REQUIRE_XENT_THROWS(
        std::invalid_argument, "binary_cross_entropy_forward_backward",
        xent::binary_cross_entropy_forward_backward(probs43<S>(), probs43<S>(), wrong),
        "grad has shape (2, 6)", "expected (4, 3)");
    Eigen::Map<Mat<S>> per_wrong(storage.data(), 4, 2);
    REQUIRE_XENT_THROWS(
        std::invalid_argument, "binary_cross_entropy_with_logits_per_sample",
        xent::binary_cross_entropy_with_logits_per_sample(x, probs43<S>(), per_wrong),
        "out has shape (4, 2)", "expected (4, 3)");
    for (const S v : storage) CHECK(v == S(-7));
  }
  SECTION("a plain Matrix of the wrong size is resized") {
    Mat<S> grad = Mat<S>::Constant(1, 7, S(-7));
    S loss = 0;
    REQUIRE_NOTHROW(loss = xent::cross_entropy_forward_backward(x, y, grad));
    CHECK(grad.rows() == 4);
    CHECK(grad.cols() == 3);
    CHECK(grad == xent::cross_entropy_backward(x, y));
    CHECK(loss == xent::cross_entropy(x, y));
    Mat<S> nll_grad;
    xent::nll_loss_forward_backward(x, y, nll_grad);
    CHECK(nll_grad == xent::nll_loss_backward(x, y));
    Mat<S> bce_grad(2, 2);
    xent::binary_cross_entropy_with_logits_forward_backward(x, probs43<S>(), bce_grad);
    CHECK(bce_grad == xent::binary_cross_entropy_with_logits_backward(x, probs43<S>()));
    Mat<S> bce_out(9, 9);
    xent::binary_cross_entropy_per_sample(probs43<S>(), probs43<S>(), bce_out);
    CHECK(bce_out == xent::binary_cross_entropy_per_sample(probs43<S>(), probs43<S>()));
  }
  SECTION("a half-fixed Matrix resizes along its dynamic axis only") {
    Eigen::Matrix<S, Eigen::Dynamic, 3> ok(1, 3);
    xent::cross_entropy_forward_backward(x, y, ok);
    CHECK(ok.rows() == 4);
    Eigen::Matrix<S, Eigen::Dynamic, 2> no(4, 2);
    REQUIRE_XENT_THROWS(std::invalid_argument, "cross_entropy_forward_backward",
                        xent::cross_entropy_forward_backward(x, y, no), "grad has shape (4, 2)",
                        "expected (4, 3)");
  }
}

TEST_CASE("softmax-family outputs of the wrong size", "[errors][outputs][softmax]") {
  const Mat<double> x = logits43<double>();
  std::vector<double> storage(16, -7.0);
  Eigen::Map<Mat<double>> wrong(storage.data(), 3, 4);
  REQUIRE_XENT_THROWS(std::invalid_argument, "log_softmax", xent::log_softmax(x, wrong),
                      "out has shape (3, 4)", "expected (4, 3)");
  REQUIRE_XENT_THROWS(std::invalid_argument, "softmax", xent::softmax(x, wrong),
                      "out has shape (3, 4)", "expected (4, 3)");
  Eigen::Map<Vec<double>> three(storage.data(), 3);
  REQUIRE_XENT_THROWS(std::invalid_argument, "logsumexp", xent::logsumexp(x, three),
                      "out has shape (3, 1)", "expected (4, 1)");
  for (const double v : storage) CHECK(v == -7.0);
  // Samples in columns: 3 samples, so 3 entries fit.
  REQUIRE_NOTHROW(xent::logsumexp(x, three, xent::Layout::SamplesInColumns));
  Mat<double> resized(1, 1);
  xent::log_softmax(x, resized);
  CHECK(resized == xent::log_softmax(x));
  Vec<double> lse(1);
  xent::logsumexp(x, lse);
  CHECK(lse.size() == 4);
}

TEST_CASE("per_sample_backward grad_outputs of the wrong size", "[errors][outputs]") {
  using S = double;
  const Mat<S> x = logits43<S>();
  const Targets y = targets_of<std::int64_t>({0, 1, 2, 1});
  REQUIRE_XENT_THROWS(std::invalid_argument, "cross_entropy_per_sample_backward",
                      xent::cross_entropy_per_sample_backward(x, y, Vec<S>::Ones(3)),
                      "grad_outputs has shape (3, 1)", "a vector of 4 entries");
  REQUIRE_XENT_THROWS(std::invalid_argument, "nll_loss_per_sample_backward",
                      xent::nll_loss_per_sample_backward(x, y, Vec<S>::Ones(5)),
                      "grad_outputs has shape (5, 1)", "a vector of 4 entries");
  // 4 entries, but as a 2 x 2 matrix.
  REQUIRE_XENT_THROWS(std::invalid_argument, "cross_entropy_per_sample_backward",
                      xent::cross_entropy_per_sample_backward(x, y, Mat<S>::Ones(2, 2)),
                      "grad_outputs has shape (2, 2)", "a vector of 4 entries");
  // A row vector of 4 is fine.
  REQUIRE_NOTHROW(xent::cross_entropy_per_sample_backward(x, y, Vec<S>::Ones(4).transpose()));
  // Element-wise losses take one upstream gradient per element.
  REQUIRE_XENT_THROWS(
      std::invalid_argument, "binary_cross_entropy_with_logits_per_sample_backward",
      xent::binary_cross_entropy_with_logits_per_sample_backward(x, probs43<S>(), Vec<S>::Ones(4)),
      "grad_outputs has shape (4, 1)", "(4, 3)");
  REQUIRE_XENT_THROWS(std::invalid_argument, "binary_cross_entropy_per_sample_backward",
                      xent::binary_cross_entropy_per_sample_backward(probs43<S>(), probs43<S>(),
                                                                     Mat<S>::Ones(3, 4)),
                      "grad_outputs has shape (3, 4)", "(4, 3)");
}

TEST_CASE("log_softmax_backward / softmax_backward shape mismatch", "[errors][softmax]") {
  using S = float;
  const Mat<S> y = xent::log_softmax(logits43<S>());
  REQUIRE_XENT_THROWS(std::invalid_argument, "log_softmax_backward",
                      xent::log_softmax_backward(Mat<S>::Ones(4, 2), y),
                      "grad_output has shape (4, 2)", "(4, 3)");
  REQUIRE_XENT_THROWS(std::invalid_argument, "log_softmax_backward",
                      xent::log_softmax_backward(Mat<S>::Ones(3, 4), y),
                      "grad_output has shape (3, 4)", "(4, 3)");
  REQUIRE_XENT_THROWS(std::invalid_argument, "softmax_backward",
                      xent::softmax_backward(Mat<S>::Ones(5, 3), xent::softmax(logits43<S>())),
                      "grad_output has shape (5, 3)", "(4, 3)");
  REQUIRE_NOTHROW(xent::log_softmax_backward(Mat<S>::Ones(4, 3), y));
}

// ---------------------------------------------------------------------------------------------
// A call that throws writes nothing
// ---------------------------------------------------------------------------------------------

TEMPLATE_TEST_CASE("a throwing call leaves preallocated outputs untouched", "[errors][outputs]",
                   float, double) {
  using S = TestType;
  const S sentinel = S(-12345);
  const Mat<S> x = logits43<S>();
  // The bad target is the last one, so an implementation that checked while computing would
  // already have written rows 0..2.
  const Targets bad_last = targets_of<std::int64_t>({0, 1, 2, 3});
  const Targets bad_negative = targets_of<std::int64_t>({0, 1, 2, -1});
  Mat<S> grad = Mat<S>::Constant(4, 3, sentinel);
  Vec<S> out = Vec<S>::Constant(4, sentinel);
  std::vector<S> storage(12, sentinel);
  Eigen::Map<Mat<S>> grad_map(storage.data(), 4, 3);

  SECTION("cross_entropy") {
    REQUIRE_THROWS_AS(xent::cross_entropy_forward_backward(x, bad_last, grad), std::out_of_range);
    REQUIRE_THROWS_AS(xent::cross_entropy_forward_backward(x, bad_negative, grad_map),
                      std::out_of_range);
    REQUIRE_THROWS_AS(xent::cross_entropy_forward_backward(
                          x, bad_last, grad,
                          xent::CrossEntropyOptions().label_smoothing(0.2).weight(Vec<S>::Ones(3))),
                      std::out_of_range);
    REQUIRE_THROWS_AS(xent::cross_entropy_per_sample(x, bad_last, out), std::out_of_range);
    REQUIRE_THROWS_AS(xent::CrossEntropyLoss().forward_backward(x, bad_last, grad_map),
                      std::out_of_range);
    // Batch mismatch and bad weights are caught before anything is written too.
    REQUIRE_THROWS_AS(
        xent::cross_entropy_forward_backward(x, targets_of<std::int64_t>({0, 1, 2}), grad),
        std::invalid_argument);
    REQUIRE_THROWS_AS(
        xent::cross_entropy_forward_backward(x, targets_of<std::int64_t>({0, 1, 2, 0}), grad_map,
                                             xent::CrossEntropyOptions().weight(Vec<S>::Ones(2))),
        std::invalid_argument);
  }
  SECTION("nll_loss") {
    REQUIRE_THROWS_AS(xent::nll_loss_forward_backward(x, bad_last, grad), std::out_of_range);
    REQUIRE_THROWS_AS(xent::nll_loss_forward_backward(x, bad_negative, grad_map),
                      std::out_of_range);
    REQUIRE_THROWS_AS(xent::nll_loss_per_sample(x, bad_last, out), std::out_of_range);
  }
  SECTION("a plain Matrix of another size is not resized either") {
    Mat<S> other = Mat<S>::Constant(2, 5, sentinel);
    REQUIRE_THROWS_AS(xent::cross_entropy_forward_backward(x, bad_last, other), std::out_of_range);
    CHECK(other.rows() == 2);
    CHECK(other.cols() == 5);
    CHECK((other.array() == sentinel).all());
  }
  SECTION("binary_cross_entropy: a bad probability in the last element") {
    Mat<S> p = probs43<S>();
    p(3, 2) = S(1.5);
    REQUIRE_THROWS_AS(xent::binary_cross_entropy_forward_backward(p, probs43<S>(), grad),
                      std::invalid_argument);
    REQUIRE_THROWS_AS(xent::binary_cross_entropy_forward_backward(probs43<S>(), p, grad_map),
                      std::invalid_argument);
  }
  CHECK((grad.array() == sentinel).all());
  CHECK((out.array() == sentinel).all());
  for (const S v : storage) CHECK(v == sentinel);
}
