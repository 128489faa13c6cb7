// test_target_region: the SIMD layer compiled for AVX2 + FMA inside a target region of a baseline
// unit gives, bit for bit, what the same code gives when the flags select AVX2 (-march=x86-64-v3):
// exp, log and log1p of float over every 127th bit pattern and of double at 2^21 points spread over
// the bit patterns, special values included, whole vectors and masked tails; and the softmax /
// log_softmax row kernels xent dispatches (short, long and online rows, streamed or not), and the
// cross-entropy row kernel (plain, smoothed, weighted, with and without the fused gradient). A CPU
// without AVX2 and FMA can run neither unit: the test is then skipped (exit code 77).
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "region_math.hpp"

namespace {

template <class T, class Bits>
int compare(const std::vector<T>& x, const char* type) {
  const char* names[] = {"exp", "log", "log1p"};
  int failures = 0;
  std::vector<T> a(x.size()), b(x.size());
  for (int f = 0; f < 3; ++f) {
    const auto fn = static_cast<region_test::Fn>(f);
    // Lengths that leave every tail size (vectors of 8 floats / 4 doubles).
    for (std::size_t n : {x.size(), x.size() - 1, x.size() - 3, x.size() - 7}) {
      region_test::region_apply(fn, x.data(), a.data(), n);
      region_test::march_apply(fn, x.data(), b.data(), n);
      for (std::size_t i = 0; i < n; ++i) {
        Bits u, v, in;
        std::memcpy(&u, &a[i], sizeof u);
        std::memcpy(&v, &b[i], sizeof v);
        std::memcpy(&in, &x[i], sizeof in);
        if (u != v && failures++ < 10) {
          std::printf("FAIL %s<%s>(bits %llx): region %llx, -march %llx\n", names[f], type,
                      static_cast<unsigned long long>(in), static_cast<unsigned long long>(u),
                      static_cast<unsigned long long>(v));
        }
      }
    }
  }
  return failures;
}

// softmax and log_softmax rows: short rows (grouped logs), long rows (two passes) and rows past
// the online threshold (one pass, blocks), with plain and streamed stores.
template <class T, class Bits>
int compare_rows(const char* type) {
  int failures = 0;
  std::uint64_t state = 12345;
  for (const long C : {1L, 3L, 17L, 100L, 1000L, 4099L, 70001L}) {
    const long rows = C > 5000 ? 3 : 37;
    std::vector<T> x(static_cast<std::size_t>(rows * C)), a(x.size()), b(x.size());
    for (T& v : x) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      v = static_cast<T>(static_cast<double>(state >> 11) * 0x1p-53 * 40.0 - 20.0);
    }
    x[0] = -__builtin_inf();  // a masked class
    for (const bool log : {false, true}) {
      for (const bool stream : {false, true}) {
        region_test::region_softmax_rows(log, x.data(), a.data(), rows, C, stream);
        region_test::march_softmax_rows(log, x.data(), b.data(), rows, C, stream);
        if (std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) != 0 && failures++ < 10) {
          std::printf("FAIL %s<%s> rows %ld x %ld (stream %d): region and -march differ\n",
                      log ? "log_softmax" : "softmax", type, rows, C, int(stream));
        }
      }
    }
  }
  return failures;
}

// Cross-entropy with class indices over the same row lengths: ignored samples, a masked class,
// with and without label smoothing, class weights and a gradient (fused into the rows).
template <class T, class Bits>
int compare_cross_entropy_rows(const char* type) {
  int failures = 0;
  std::uint64_t state = 777;
  const auto next = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<double>(state >> 11) * 0x1p-53;
  };
  for (const long C : {101L, 1000L, 4099L, 70001L}) {
    const long rows = C > 5000 ? 3 : 37;
    std::vector<T> x(static_cast<std::size_t>(rows * C)), w(static_cast<std::size_t>(C));
    std::vector<T> scales(static_cast<std::size_t>(rows));
    std::vector<long> cls(static_cast<std::size_t>(rows));
    for (T& v : x) v = static_cast<T>(next() * 40.0 - 20.0);
    double weight_sum = 0;
    for (T& v : w) {
      v = static_cast<T>(next() * 2.0 + 0.1);
      weight_sum += static_cast<double>(v);
    }
    for (long n = 0; n < rows; ++n) {
      cls[static_cast<std::size_t>(n)] = n % 5 == 2 ? -1 : static_cast<long>(next() * double(C));
      scales[static_cast<std::size_t>(n)] = static_cast<T>(next() - 0.5);
    }
    x[1] = -__builtin_inf();  // a masked class
    for (const double eps : {0.0, 0.1}) {
      for (const bool weighted : {false, true}) {
        for (const bool with_grad : {false, true}) {
          const region_test::CrossEntropyCase k{rows, C, cls.data(), eps,
                                                weighted ? weight_sum : double(C)};
          std::vector<T> la(static_cast<std::size_t>(rows)), lb(la.size());
          std::vector<T> ga(with_grad ? x.size() : 0), gb(ga.size());
          const T* wp = weighted ? w.data() : nullptr;
          region_test::region_cross_entropy_rows(k, x.data(), wp, scales.data(), la.data(),
                                                 with_grad ? ga.data() : nullptr);
          region_test::march_cross_entropy_rows(k, x.data(), wp, scales.data(), lb.data(),
                                                with_grad ? gb.data() : nullptr);
          if ((std::memcmp(la.data(), lb.data(), la.size() * sizeof(T)) != 0 ||
               (with_grad && std::memcmp(ga.data(), gb.data(), ga.size() * sizeof(T)) != 0)) &&
              failures++ < 10) {
            std::printf(
                "FAIL cross_entropy_rows<%s> %ld x %ld (e %g, weighted %d, grad %d): "
                "region and -march differ\n",
                type, rows, C, eps, int(weighted), int(with_grad));
          }
        }
      }
    }
  }
  return failures;
}

}  // namespace

int main() {
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
    std::printf("skipped: the CPU lacks AVX2 or FMA\n");
    return 77;
  }
  const region_test::Tier r = region_test::region_tier(), m = region_test::march_tier();
  std::printf("region tier %s (%d/%d lanes), -march tier %s (%d/%d lanes)\n", r.name, r.float_width,
              r.double_width, m.name, m.float_width, m.double_width);
  int failures = 0;
  if (std::strcmp(r.name, "avx2") != 0 || r.float_width != 8 || r.double_width != 4 ||
      std::strcmp(m.name, "avx2") != 0 || m.float_width != 8 || m.double_width != 4) {
    std::printf("FAIL: both units must be the AVX2 tier\n");
    ++failures;
  }
  std::vector<float> xf;
  for (std::uint64_t b = 0; b <= 0xFFFFFFFFull; b += 127) {
    const auto bits = static_cast<std::uint32_t>(b);
    float v;
    std::memcpy(&v, &bits, sizeof v);
    xf.push_back(v);
  }
  for (float v : {0.0f, -0.0f, 1.0f, -1.0f, 88.72283172607421875f, -103.97f, 1e-45f,
                  __builtin_inff(), -__builtin_inff(), __builtin_nanf("")}) {
    xf.push_back(v);
  }
  std::vector<double> xd;
  std::uint64_t state = 0x9E3779B97F4A7C15ull;
  for (int i = 0; i < (1 << 21); ++i) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    double v;
    std::memcpy(&v, &state, sizeof v);
    xd.push_back(v);
    xd.push_back(static_cast<double>(static_cast<std::int64_t>(state >> 11)) * 0x1p-48 - 16.0);
  }
  for (double v : {0.0, -0.0, 1.0, -1.0, 709.782712893384, -745.2, 4.9e-324, __builtin_inf(),
                   -__builtin_inf(), __builtin_nan("")}) {
    xd.push_back(v);
  }
  failures += compare<float, std::uint32_t>(xf, "float");
  failures += compare<double, std::uint64_t>(xd, "double");
  failures += compare_rows<float, std::uint32_t>("float");
  failures += compare_rows<double, std::uint64_t>("double");
  failures += compare_cross_entropy_rows<float, std::uint32_t>("float");
  failures += compare_cross_entropy_rows<double, std::uint64_t>("double");
  std::printf(
      "%s: %zu floats, %zu doubles, 3 functions, 4 lengths each; softmax and "
      "cross-entropy rows\n",
      failures ? "FAILED" : "passed", xf.size(), xd.size());
  return failures ? 1 : 0;
}
