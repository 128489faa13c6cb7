// Non-temporal ("streamed") output stores of the contiguous-row kernels (log_softmax, softmax and
// their backward on row-major rows), forced for every output with xent::set_stream_output_bytes(0):
// the same bits as regular stores, nothing written outside the output (misaligned rows of Maps
// with padding, Blocks), C around the vector widths, both row passes, masked and NaN rows, and the
// same bits for 1 and 2 threads; and the stores really are non-temporal ones where streaming is
// asked for, and never otherwise (counted by a test-only hook). Values against
// xent::reference<long double> within rtol(C) = eps * (32 + 4 sqrt(C)), the tolerance of
// test_row_kernels.cpp (sums of C terms in a few vector chains, <= 1 ulp exp/log).
#include <cstring>
#include <xent/reference.hpp>

// Counts the kernels' non-temporal stores (xent::detail::stream_store_count), so that the
// tests see streaming happen, not only that its results are right.
#define XENT_TEST_COUNT_STREAM_STORES 1
#include "test_support.hpp"

using namespace xt;

namespace {

// Sets the streaming threshold and the online switch for one scope.
class Settings {
 public:
  Settings(std::size_t stream_bytes, std::size_t online_bytes)
      : stream_(xent::stream_output_bytes()), online_(xent::online_row_bytes()) {
    xent::set_stream_output_bytes(stream_bytes);
    xent::set_online_row_bytes(online_bytes);
  }
  ~Settings() {
    xent::set_stream_output_bytes(stream_);
    xent::set_online_row_bytes(online_);
  }
  Settings(const Settings&) = delete;
  Settings& operator=(const Settings&) = delete;

 private:
  std::size_t stream_, online_;
};

constexpr std::size_t kAlways = 0;
constexpr std::size_t kNever = std::size_t(1) << 40;

template <class A, class B>
bool bitwise_equal(const Eigen::MatrixBase<A>& a, const Eigen::MatrixBase<B>& b) {
  using S = typename A::Scalar;
  if (a.rows() != b.rows() || a.cols() != b.cols()) return false;
  for (Index i = 0; i < a.rows(); ++i) {
    for (Index j = 0; j < a.cols(); ++j) {
      const S x = a(i, j), y = b(i, j);
      if (std::memcmp(&x, &y, sizeof x) != 0) return false;
    }
  }
  return true;
}

template <class S>
double rtol(Index classes) {
  return eps<S>() * (32 + 4 * std::sqrt(static_cast<double>(classes)));
}

// The four functions' results for x (and g as the incoming gradient).
template <class S>
struct Outputs {
  RowMat<S> lp, p, lb, sb;
};

// The non-temporal stores f makes.
template <class F>
long long stream_stores_during(F&& f) {
  auto& count = xent::detail::stream_store_count();
  const long long before = count.load();
  f();
  return count.load() - before;
}

// Each function's non-temporal stores in the last run_all.
struct StreamStores {
  long long lp = 0, p = 0, lb = 0, sb = 0;
  long long total() const { return lp + p + lb + sb; }
};

template <class S>
Outputs<S> run_all(const RowMat<S>& x, const RowMat<S>& g, StreamStores* stores = nullptr) {
  Outputs<S> o;
  StreamStores n;
  n.lp = stream_stores_during([&] { o.lp = xent::log_softmax(x); });
  n.p = stream_stores_during([&] { o.p = xent::softmax(x); });
  n.lb = stream_stores_during([&] { o.lb = xent::log_softmax_backward(g, o.lp); });
  n.sb = stream_stores_during([&] { o.sb = xent::softmax_backward(g, o.p); });
  if (stores) *stores = n;
  return o;
}

template <class S>
void check_case(const RowMat<S>& x, const std::string& what) {
  Rng rng(static_cast<std::uint64_t>(x.cols()) + 7);
  const RowMat<S> g = random_uniform<S>(x.rows(), x.cols(), rng, -1, 1);
  for (const std::size_t online : {kNever, kAlways}) {
    INFO(what << (online == kAlways ? ", online pass" : ", two passes"));
    Outputs<S> plain, streamed;
    StreamStores plain_stores, streamed_stores;
    {
      const Settings s(kNever, online);
      plain = run_all(x, g, &plain_stores);
    }
    const Settings s(kAlways, online);
    streamed = run_all(x, g, &streamed_stores);
    // Streaming happened where it was asked for, and only there: every row of 32 classes or more
    // holds an aligned vector even at 16 lanes, and the row kernels stream it in two passes (the
    // online pass streams some of them). Forward rows of at most kLaneSmallClassesSoftmax classes
    // go through the lane kernels (transposed strips), which do not stream; softmax streams rows
    // that fit its 32 KiB stack buffer (softmax.hpp).
    CHECK(plain_stores.total() == 0);
    const bool row_kernel_forward = x.cols() > xent::detail::simd::kLaneSmallClassesSoftmax;
    if (x.cols() >= 32 && online == kNever) {
      if (row_kernel_forward) CHECK(streamed_stores.lp > 0);
      if (row_kernel_forward && x.cols() <= Index((32 << 10) / sizeof(S)))
        CHECK(streamed_stores.p > 0);
      CHECK(streamed_stores.lb > 0);
      CHECK(streamed_stores.sb > 0);
    } else if (x.cols() >= 32) {
      CHECK(streamed_stores.total() > 0);
    }
    REQUIRE(bitwise_equal(streamed.lp, plain.lp));
    REQUIRE(bitwise_equal(streamed.p, plain.p));
    REQUIRE(bitwise_equal(streamed.lb, plain.lb));
    REQUIRE(bitwise_equal(streamed.sb, plain.sb));
    // Misaligned rows (a Map with a 3-element margin and a padded stride) and a Block: the same
    // bits, and the padding around the rows untouched.
    Padded<S, Eigen::RowMajor> out(x.rows(), x.cols());
    xent::log_softmax(x, out.map());
    REQUIRE(bitwise_equal(out.map(), plain.lp));
    REQUIRE(out.padding_intact());
    xent::softmax(x, out.map());
    REQUIRE(bitwise_equal(out.map(), plain.p));
    REQUIRE(out.padding_intact());
    xent::log_softmax_backward(g, plain.lp, out.map());
    REQUIRE(bitwise_equal(out.map(), plain.lb));
    REQUIRE(out.padding_intact());
    Embedded<S, Eigen::RowMajor> block(x.rows(), x.cols(), S(-7));
    xent::softmax_backward(g, plain.p, block.block());
    REQUIRE(bitwise_equal(block.block(), plain.sb));
    // In place: log_softmax(x, x).
    RowMat<S> inplace = x;
    xent::log_softmax(inplace, inplace);
    REQUIRE(bitwise_equal(inplace, plain.lp));
    // Values: against the reference.
    const double tol = rtol<S>(x.cols());
    require_close(streamed.lp, xent::reference::log_softmax<LD>(x), tol, tol, "log_softmax");
    const Mat<LD> p_ref = xent::reference::softmax<LD>(x);
    require_close(streamed.p, p_ref, tol, tol * 1e-3, "softmax");
    require_close(streamed.lb, xent::reference::log_softmax_backward<LD>(g, plain.lp), tol,
                  tol, "log_softmax_backward");
  }
}

}  // namespace

TEMPLATE_TEST_CASE("streamed outputs equal regular stores bitwise, aligned or not",
                   "[stream_output]", float, double) {
  using S = TestType;
  Rng rng(3);
  for (const Index classes :
       {Index(1), Index(3), Index(7), Index(15), Index(16), Index(17), Index(33), Index(100),
        Index(1023), Index(4099)}) {
    const RowMat<S> x = random_logits<S>(5, classes, rng, 3.0, Layout::SamplesInRows, 0.5);
    check_case(x, std::string(scalar_name<S>()) + ", C = " + std::to_string(classes));
  }
}

TEMPLATE_TEST_CASE("streamed outputs keep masked classes at 0 and NaN rows NaN", "[stream_output]",
                   float, double) {
  using S = TestType;
  const S inf = std::numeric_limits<S>::infinity();
  for (const Index classes : {Index(5), Index(37), Index(1000)}) {
    Rng rng(static_cast<std::uint64_t>(classes));
    RowMat<S> x = random_logits<S>(4, classes, rng, 3.0);
    for (Index c = 0; c < classes; ++c) {
      if (c % 3 == 0) x(0, c) = -inf;  // masked classes
      x(2, c) = -inf;                  // all masked: NaN, as PyTorch
    }
    x(1, classes / 2) = std::numeric_limits<S>::quiet_NaN();
    const Settings s(kAlways, kNever);
    const RowMat<S> p = xent::softmax(x), lp = xent::log_softmax(x);
    INFO(scalar_name<S>() << ", C = " << classes);
    for (Index c = 0; c < classes; c += 3) {
      REQUIRE(p(0, c) == S(0));
      REQUIRE(lp(0, c) == -inf);
    }
    REQUIRE(p.row(1).array().isNaN().all());
    REQUIRE(lp.row(1).array().isNaN().all());
    REQUIRE(p.row(2).array().isNaN().all());
    REQUIRE(lp.row(2).array().isNaN().all());
    REQUIRE(std::isfinite(static_cast<double>(p.row(3).sum())));
    check_case(x, std::string(scalar_name<S>()) + " with -inf and NaN, C = " +
                      std::to_string(classes));
  }
}

TEST_CASE("streamed outputs give the same bits for 1 and 2 threads", "[stream_output][threads]") {
  using S = float;
  Rng rng(29);
  const RowMat<S> x = random_logits<S>(301, 999, rng);
  const RowMat<S> g = random_uniform<S>(301, 999, rng, -1, 1);
  const Settings s(kAlways, kNever);
  xent::set_num_threads(1);
  const Outputs<S> one = run_all(x, g);
  xent::set_num_threads(2);
  const Outputs<S> two = run_all(x, g);
  xent::set_num_threads(0);
  REQUIRE(bitwise_equal(one.lp, two.lp));
  REQUIRE(bitwise_equal(one.p, two.p));
  REQUIRE(bitwise_equal(one.lb, two.lb));
  REQUIRE(bitwise_equal(one.sb, two.sb));
}
