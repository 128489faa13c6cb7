// Threads (OpenMP builds): every result is bitwise identical for 1, 2, 3 and 4 threads (more
// threads than this machine's cores is fine: the claim is about the split, not the speed), because
// xent splits work and sums into blocks that depend on the problem size alone. Without OpenMP the
// test still checks that the setting is accepted and that xent runs single-threaded, and it fails
// when CMake found OpenMP but the test was built without it (the claim would go unchecked).
#include <Eigen/Core>
#include <cstring>
#include <random>
#include <xent/xent.hpp>

#include "catch.hpp"

#ifndef XENT_TEST_OPENMP_FOUND  // set by tests/CMakeLists.txt
#define XENT_TEST_OPENMP_FOUND 0
#endif

namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

template <class M>
bool bitwise_equal(const M& a, const M& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), sizeof(typename M::Scalar) * std::size_t(a.size())) == 0;
}

bool bitwise_equal(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// Runs f with 1 thread and with 2, 3 and 4, and requires the same bits each time.
template <class F>
void require_thread_invariant(F&& f) {
  xent::set_num_threads(1);
  const auto one = f();
  for (int threads : {2, 3, 4}) {
    xent::set_num_threads(threads);
    const auto many = f();
    INFO("threads: " << threads);
    CHECK(bitwise_equal(one, many));
  }
  xent::set_num_threads(0);
}

}  // namespace

TEST_CASE("the test is built with OpenMP wherever OpenMP is available") {
#if XENT_TEST_OPENMP_FOUND && !defined(_OPENMP)
  FAIL("CMake found OpenMP, but this test was compiled without it: nothing below runs threaded");
#endif
#if defined(_OPENMP)
  xent::set_num_threads(4);
  REQUIRE(xent::num_threads() == 4);
  xent::set_num_threads(0);
#else
  xent::set_num_threads(4);
  REQUIRE(xent::num_threads() == 1);
  xent::set_num_threads(0);
#endif
}

TEST_CASE("results are bitwise identical for 1, 2, 3 and 4 threads") {
  // Shapes large enough to be split across threads (work per thread >= 32 K elements).
  const auto shape = GENERATE(std::pair<Eigen::Index, Eigen::Index>{20000, 10},
                              std::pair<Eigen::Index, Eigen::Index>{3000, 333},
                              std::pair<Eigen::Index, Eigen::Index>{64, 5000});
  const Eigen::Index n = shape.first, c = shape.second;
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.f, 3.f);
  RowMatrix x(n, c);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = normal(rng);
  Eigen::VectorXi y(n);
  for (Eigen::Index i = 0; i < n; ++i) y(i) = int((i * 7919) % c);
  y(0) = -100;
  RowMatrix t = (x.array() > 0).cast<float>();
  const auto opts = xent::CrossEntropyOptions().label_smoothing(0.1).weight(
      Eigen::VectorXf::LinSpaced(c, 0.5f, 2.f));

  require_thread_invariant([&] { return xent::cross_entropy(x, y, opts); });
  require_thread_invariant([&] {
    RowMatrix g(n, c);
    xent::cross_entropy_forward_backward(x, y, g, opts);
    return g;
  });
  require_thread_invariant([&] { return xent::cross_entropy(x, xent::softmax(x), opts); });
  require_thread_invariant([&] { return xent::cross_entropy(Eigen::MatrixXf(x), y); });
  require_thread_invariant([&] { return xent::nll_loss(x, y); });
  // The softmax family: row groups (log_softmax, logsumexp: a vector log per group of short rows),
  // lanes and per-row code split over threads.
  require_thread_invariant([&] { return RowMatrix(xent::log_softmax(x)); });
  require_thread_invariant([&] { return RowMatrix(xent::softmax(x)); });
  require_thread_invariant([&] { return Eigen::VectorXf(xent::logsumexp(x)); });
  // Column-major: strips of lanes split over threads.
  const Eigen::MatrixXf xc = x;
  require_thread_invariant([&] { return Eigen::MatrixXf(xent::log_softmax(xc)); });
  require_thread_invariant([&] { return Eigen::MatrixXf(xent::softmax(xc)); });
  require_thread_invariant([&] { return Eigen::VectorXf(xent::logsumexp(xc)); });
  require_thread_invariant([&] { return Eigen::MatrixXf(xent::log_softmax_backward(xc, xc)); });
  require_thread_invariant([&] { return xent::binary_cross_entropy_with_logits(x, t); });
  require_thread_invariant([&] {
    RowMatrix g(n, c);
    xent::binary_cross_entropy_with_logits_forward_backward(x, t, g);
    return g;
  });
}
