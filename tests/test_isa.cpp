// Run-time choice of the SIMD tier (xent/isa.hpp): the names, the requests set_isa() and XENT_ISA
// make and their errors, and that the dispatching kernels (softmax, log_softmax and cross-entropy
// with class-index targets over contiguous rows) run the tier asked for: their results equal, bit
// for bit, that tier's kernel called directly, and the two tiers' results differ (so the comparison
// can tell them apart). The cases tagged [env] check what XENT_ISA set in the environment does;
// tests/CMakeLists.txt runs them with XENT_ISA=sse2, avx2 and a bad value too.
#include <Eigen/Core>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>
#include <xent/xent.hpp>

#include "catch.hpp"

namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

bool same_bits(const RowMatrix& a, const RowMatrix& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), sizeof(float) * std::size_t(a.size())) == 0;
}

bool cpu_has_avx2() { return xent::detail::missing_cpu_features(xent::Isa::Avx2).empty(); }

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

// Restores the automatic choice when a test case ends.
struct AutoIsa {
  ~AutoIsa() { xent::reset_isa(); }
};

}  // namespace

TEST_CASE("isa: names and XENT_ISA's spelling", "[isa]") {
  for (const auto isa :
       {xent::Isa::Scalar, xent::Isa::Sse2, xent::Isa::Avx2, xent::Isa::Avx512, xent::Isa::Neon}) {
    CHECK(xent::detail::isa_from_text(xent::isa_name(isa)) == static_cast<int>(isa));
  }
  CHECK(std::string(xent::isa_name(xent::Isa::Avx512)) == "avx512");
  CHECK(xent::detail::isa_from_text(nullptr) == xent::detail::kIsaAuto);
  CHECK(xent::detail::isa_from_text("") == xent::detail::kIsaAuto);
  CHECK(xent::detail::isa_from_text("AVX2") == xent::detail::kIsaInvalid);  // lower case only
  CHECK(xent::detail::isa_from_text("avx-512") == xent::detail::kIsaInvalid);
}

TEST_CASE("isa: the automatic choice is the best tier of the CPU and the build", "[isa]") {
  AutoIsa restore;
  xent::reset_isa();
#if defined(XENT_SIMD_DISPATCH_AVX2)
  CHECK(xent::active_isa() == (cpu_has_avx2() ? xent::Isa::Avx2 : xent::Isa::Sse2));
#elif defined(XENT_SIMD_TIER_AVX2)
  CHECK(xent::active_isa() == xent::Isa::Avx2);
#elif defined(XENT_SIMD_TIER_SCALAR)
  CHECK(xent::active_isa() == xent::Isa::Scalar);
#endif
}

TEST_CASE("isa: set_isa refuses a tier the CPU or the build lacks, naming it", "[isa]") {
  AutoIsa restore;
  xent::reset_isa();
  const xent::Isa before = xent::active_isa();
#if defined(__x86_64__)
  const std::string neon = message_of([] { xent::set_isa(xent::Isa::Neon); });
  CHECK(neon.find("set_isa(neon)") != std::string::npos);
  CHECK(neon.find("neon") != std::string::npos);
  CHECK_THROWS_AS(xent::set_isa(xent::Isa::Neon), std::runtime_error);
#endif
#if !defined(XENT_SIMD_TIER_SCALAR)
  // The scalar tier is compiled only with XENT_SIMD_SCALAR.
  const std::string scalar = message_of([] { xent::set_isa(xent::Isa::Scalar); });
  CHECK(scalar.find("no scalar code") != std::string::npos);
#endif
  if (!xent::detail::missing_cpu_features(xent::Isa::Avx512).empty()) {
    const std::string avx512 = message_of([] { xent::set_isa(xent::Isa::Avx512); });
    CHECK(!avx512.empty());
    CHECK(avx512.find("avx512") != std::string::npos);
  }
  CHECK(xent::active_isa() == before);  // a refused request changes nothing
}

#if defined(XENT_SIMD_DISPATCH_AVX2)
TEST_CASE("isa: softmax and log_softmax run the tier set_isa asks for", "[isa]") {
  if (!cpu_has_avx2()) {
    WARN("skipped: the CPU lacks AVX2 or FMA");
    return;
  }
  AutoIsa restore;
  const Eigen::Index N = 64, C = 1000;  // contiguous rows past the lane path's classes
  const RowMatrix x = RowMatrix::Random(N, C) * 8.0f;
  RowMatrix sse2(N, C), avx2(N, C);
  for (const bool log : {false, true}) {
    CAPTURE(log);
    const auto direct = [&](RowMatrix& out, bool region) {
      if (log) {
        if (region) {
          xent::detail::isa_avx2_region::log_softmax_rows(x.data(), C, out.data(), C, N, C, 1,
                                                          false);
        } else {
          xent::detail::log_softmax_rows(x.data(), C, out.data(), C, N, C, 1, false);
        }
      } else if (region) {
        xent::detail::isa_avx2_region::softmax_rows(x.data(), C, out.data(), C, N, C, 1, false);
      } else {
        xent::detail::softmax_rows(x.data(), C, out.data(), C, N, C, 1, false);
      }
    };
    direct(sse2, false);
    direct(avx2, true);
    REQUIRE_FALSE(same_bits(sse2, avx2));  // the tiers round differently somewhere
    for (const auto isa : {xent::Isa::Sse2, xent::Isa::Avx2}) {
      xent::set_isa(isa);
      CHECK(xent::active_isa() == isa);
      RowMatrix out(N, C);
      if (log) {
        xent::log_softmax(x, out);
      } else {
        xent::softmax(x, out);
      }
      CHECK(same_bits(out, isa == xent::Isa::Avx2 ? avx2 : sse2));
    }
  }
}
#endif

#if defined(XENT_SIMD_DISPATCH_AVX2)
TEST_CASE("isa: cross_entropy with class indices runs the tier set_isa asks for", "[isa]") {
  if (!cpu_has_avx2()) {
    WARN("skipped: the CPU lacks AVX2 or FMA");
    return;
  }
  AutoIsa restore;
  const Eigen::Index N = 64, C = 1000;  // contiguous rows past the lane path's classes
  const RowMatrix x = RowMatrix::Random(N, C) * 8.0f;
  Eigen::VectorXi y(N);
  std::vector<Eigen::Index> cls(static_cast<std::size_t>(N));
  for (Eigen::Index n = 0; n < N; ++n) {
    y(n) = n % 7 == 3 ? -100 : static_cast<int>((n * 37) % C);  // some ignored
    cls[static_cast<std::size_t>(n)] = y(n) < 0 ? -1 : y(n);
  }
  const Eigen::VectorXf w = (Eigen::VectorXf::Random(C).array() + 2.0f).matrix();
  for (const bool smoothing : {false, true}) {
    CAPTURE(smoothing);
    const float eps = smoothing ? 0.1f : 0.0f;
    const auto opts = xent::CrossEntropyOptions().weight(w).label_smoothing(eps);
    const xent::detail::CrossEntropyRowsParams<float> p{
        smoothing, eps, eps / float(C), static_cast<float>(w.cast<double>().sum()), w.data()};
    const Eigen::VectorXf ones = Eigen::VectorXf::Ones(N);
    Eigen::VectorXf loss_sse2(N), loss_avx2(N);
    RowMatrix grad_sse2(N, C), grad_avx2(N, C);
    xent::detail::cross_entropy_rows<float>(x.data(), C, C, N, cls.data(), p, loss_sse2.data(),
                                            grad_sse2.data(), C, ones.data(), nullptr);
    const xent::detail::isa_avx2_region::CrossEntropyRowsParams<float> q{
        p.smoothing, p.eps, p.eps_per_class, p.weight_sum, p.w};
    xent::detail::isa_avx2_region::cross_entropy_rows<float>(x.data(), C, C, N, cls.data(), q,
                                                             loss_avx2.data(), grad_avx2.data(), C,
                                                             ones.data(), nullptr);
    REQUIRE_FALSE(same_bits(grad_sse2, grad_avx2));  // the tiers round differently somewhere
    for (const auto isa : {xent::Isa::Sse2, xent::Isa::Avx2}) {
      xent::set_isa(isa);
      CHECK(xent::active_isa() == isa);
      const Eigen::VectorXf loss = xent::cross_entropy_per_sample(x, y, opts);
      const RowMatrix grad = xent::cross_entropy_per_sample_backward(x, y, ones, opts);
      const Eigen::VectorXf& want = isa == xent::Isa::Avx2 ? loss_avx2 : loss_sse2;
      CHECK(std::memcmp(loss.data(), want.data(), sizeof(float) * std::size_t(N)) == 0);
      CHECK(same_bits(grad, isa == xent::Isa::Avx2 ? grad_avx2 : grad_sse2));
    }
  }
}
#endif

TEST_CASE("isa: XENT_ISA from the environment", "[isa][env]") {
  const char* env = std::getenv("XENT_ISA");
  const std::string value = env == nullptr ? "" : env;
  CAPTURE(value);
  xent::reset_isa();  // set_isa / reset_isa override XENT_ISA ...
  CHECK_NOTHROW(xent::active_isa());
  const int request = xent::detail::isa_from_text(env);
  if (request == xent::detail::kIsaAuto) return;
  // ... so the request XENT_ISA made is checked through a fresh reading of it.
  xent::detail::isa_request().store(request);
  AutoIsa restore;
  if (request == xent::detail::kIsaInvalid) {
    const std::string message = message_of([] { xent::active_isa(); });
    CHECK(message.find("XENT_ISA=\"" + value + "\"") != std::string::npos);
    CHECK_THROWS_AS(xent::active_isa(), std::invalid_argument);
    const RowMatrix x = RowMatrix::Random(4, 300);
    CHECK_THROWS_AS(xent::softmax(x), std::invalid_argument);
  } else if (xent::detail::isa_unavailable(static_cast<xent::Isa>(request)).empty()) {
    CHECK(xent::active_isa() == static_cast<xent::Isa>(request));
  } else {
    CHECK_THROWS_AS(xent::active_isa(), std::runtime_error);
  }
}
