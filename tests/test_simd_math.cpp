// The SIMD layer (include/xent/detail/simd/): vector exp, log and log1p against libm references,
// with their maximum errors measured and bounded (<= 1 ulp, as the README says); then the vector type's memory,
// arithmetic, comparison, select and horizontal operations, masked tails included.
//
// Error = |result - reference| / ulp, the ulp being the result type's at the reference's binade
// (2^-149 / 2^-1074 in the subnormal range); a correctly rounded function scores at most 0.5. The
// reference is glibc's double exp/log/log1p for float results (its error is ~2^-29 of a float ulp)
// and long double expl/logl/log1pl for double results (~2^-11 of a double ulp).
// float: every 97th bit pattern of the domain plus every value near the boundaries; double: ~3 M
// points (uniform, log-uniform and random bit patterns over the domain). With
// XENT_TEST_FULL_SWEEP=0 (the reduced ISA presets): every 997th pattern, 10x fewer doubles.
//
// Measured maximum errors (ulp), GCC 12 and Clang 14 (the same; also NEON under qemu):
//                                             exp f   log f   log1p f   exp d   log d   log1p d
//   AVX-512, AVX2, NEON, scalar with FMA      0.989   0.745   0.743     0.998   0.734   0.740
//   SSE2, scalar without FMA                  0.954   0.826   0.863     0.952   0.826   0.823
// The test prints them, with a hash of all results: builds of one row print the same hashes.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>
#include <xent/detail/simd/math.hpp>

#include "catch.hpp"

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

#ifndef XENT_TEST_FULL_SWEEP
#define XENT_TEST_FULL_SWEEP 1
#endif

namespace simd = xent::detail::simd;

namespace {

using LD = long double;

template <class T>
using V = simd::Vec<T>;

// ---- error measurement --------------------------------------------------------------------------

// The reference's type: double for float results (glibc's double exp/log/log1p err by < 1 ulp of
// double, 2^-29 of a float ulp), long double for double results.
template <class T>
using Wide = typename std::conditional<std::is_same<T, float>::value, double, LD>::type;

template <class T>
Wide<T> ulp_at(Wide<T> ref) {
  const int min_exp = std::numeric_limits<T>::min_exponent - 1;  // -126 / -1022
  int e = (ref == 0 || !std::isfinite(ref)) ? min_exp : std::ilogb(ref);
  if (e < min_exp) e = min_exp;
  if (e > std::numeric_limits<T>::max_exponent - 1) e = std::numeric_limits<T>::max_exponent - 1;
  return std::ldexp(Wide<T>(1), e - (std::numeric_limits<T>::digits - 1));
}

// Error of `got` in ulps of T; infinite when a NaN / infinity does not match the reference's.
template <class T>
double ulp_error(T got, Wide<T> ref) {
  const T ref_t = static_cast<T>(ref);
  if (std::isnan(ref) || std::isnan(got))
    return (std::isnan(ref) && std::isnan(got)) ? 0.0 : INFINITY;
  if (std::isinf(got) || std::isinf(ref_t)) {
    if (got == ref_t) return 0.0;
    if (std::isinf(got)) return INFINITY;
    // got finite, ref beyond the largest finite value only by rounding: measure as usual.
  }
  return static_cast<double>(std::fabs(static_cast<Wide<T>>(got) - ref) / ulp_at<T>(ref));
}

struct ErrorStats {
  double max_error = 0;
  double worst_x = 0;
  long long count = 0;
  // FNV-1a over the results' bits, in evaluation order: equal hashes from two builds mean
  // bitwise-equal results (e.g. AVX2 vs AVX-512 vs NEON).
  std::uint64_t hash = 1469598103934665603ULL;
};

// Evaluates f (a Vec function) on xs and records the worst error against ref (a libm function).
template <class T, class F, class R>
void measure(const std::vector<T>& xs, F f, R ref, ErrorStats& st) {
  constexpr int W = V<T>::width;
  std::vector<T> ys(xs.size());
  std::size_t i = 0;
  for (; i + W <= xs.size(); i += W) f(V<T>::loadu(&xs[i])).storeu(&ys[i]);
  if (i < xs.size()) {
    const int n = static_cast<int>(xs.size() - i);
    f(V<T>::load_tail(&xs[i], n, T(0))).store_tail(&ys[i], n);
  }
  for (std::size_t j = 0; j < xs.size(); ++j) {
    typename V<T>::Bits b;
    std::memcpy(&b, &ys[j], sizeof b);
    st.hash = (st.hash ^ static_cast<std::uint64_t>(b)) * 1099511628211ULL;
    const double e = ulp_error<T>(ys[j], ref(static_cast<Wide<T>>(xs[j])));
    if (e > st.max_error || std::isnan(e)) {
      st.max_error = std::isnan(e) ? INFINITY : e;
      st.worst_x = static_cast<double>(xs[j]);
    }
  }
  st.count += static_cast<long long>(xs.size());
}

float float_from_bits(std::uint32_t b) {
  float f;
  std::memcpy(&f, &b, sizeof f);
  return f;
}
std::uint32_t bits_of(float f) {
  std::uint32_t b;
  std::memcpy(&b, &f, sizeof b);
  return b;
}

// Every `stride`-th float bit pattern in [lo, hi] (bit patterns of one sign), in chunks.
template <class F, class R>
void sweep_float_bits(std::uint32_t lo, std::uint32_t hi, std::uint32_t stride, F f, R ref,
                      ErrorStats& st) {
  std::vector<float> xs;
  xs.reserve(1 << 16);
  for (std::uint64_t b = lo; b <= hi; b += stride) {
    xs.push_back(float_from_bits(static_cast<std::uint32_t>(b)));
    if (xs.size() == (1 << 16)) {
      measure<float>(xs, f, ref, st);
      xs.clear();
    }
  }
  xs.push_back(float_from_bits(hi));
  measure<float>(xs, f, ref, st);
}

// Every float within `radius` ulps of x (same sign as x).
template <class F, class R>
void sweep_float_around(float x, std::uint32_t radius, F f, R ref, ErrorStats& st) {
  const std::uint32_t b = bits_of(x);
  const std::uint32_t sign = b & 0x80000000u;
  const std::uint32_t mag = b & 0x7fffffffu;
  const std::uint32_t lo = mag > radius ? mag - radius : 0;
  const std::uint32_t hi = mag + radius < 0x7f800000u ? mag + radius : 0x7f7fffffu;
  sweep_float_bits(sign | lo, sign | hi, 1, f, ref, st);
}

constexpr std::uint32_t kStride = XENT_TEST_FULL_SWEEP ? 97 : 997;
constexpr int kDoublePoints = XENT_TEST_FULL_SWEEP ? 1000000 : 100000;

void report(const char* name, const ErrorStats& st) {
  std::printf("[%s] %-8s max error %.3f ulp at x = %.9g (%lld points, results hash %016llx)\n",
              XENT_SIMD_NAME, name, st.max_error, st.worst_x, st.count,
              static_cast<unsigned long long>(st.hash));
}

const auto vexp = [](auto v) { return simd::exp(v); };
const auto vlog = [](auto v) { return simd::log(v); };
const auto vlog1p = [](auto v) { return simd::log1p(v); };
const auto ref_exp = [](auto x) { return std::exp(x); };
const auto ref_log = [](auto x) { return std::log(x); };
const auto ref_log1p = [](auto x) { return std::log1p(x); };

// Applies a Vec function to one scalar (lane 0 of a broadcast).
template <class T, class F>
T apply1(F f, T x) {
  return f(V<T>::set1(x)).lane(0);
}

template <class T>
bool same_bits(T a, T b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

// +-m * 2^-e, m in [1, 2), e in [0, 60): small arguments of both signs, from exact operations only
// (so every platform generates the same points).
double log_uniform(std::mt19937_64& rng, int i) {
  const double m = 1.0 + std::ldexp(static_cast<double>(rng() >> 11), -53);
  return (i % 2 ? -1 : 1) * std::ldexp(m, -static_cast<int>(rng() % 60));
}

}  // namespace

TEST_CASE("simd: the tier matches the compiler flags", "[simd]") {
  std::printf("[simd] tier %s, float width %d, double width %d, fma %d\n", XENT_SIMD_NAME,
              V<float>::width, V<double>::width, XENT_SIMD_HAS_FMA);
#if defined(XENT_SIMD_SCALAR)
  CHECK(std::string(XENT_SIMD_NAME) == "scalar");
  CHECK(V<float>::width == 1);
#elif defined(__AVX512F__)
  CHECK(std::string(XENT_SIMD_NAME) == "avx512");
  CHECK(V<float>::width == 16);
  CHECK(V<double>::width == 8);
#elif defined(__AVX2__) && defined(__FMA__)
  CHECK(std::string(XENT_SIMD_NAME) == "avx2");
  CHECK(V<float>::width == 8);
  CHECK(V<double>::width == 4);
#elif defined(__SSE2__) || defined(__aarch64__)
  CHECK(V<float>::width == 4);
  CHECK(V<double>::width == 2);
#endif
  CHECK(simd::IsaTag::name == std::string(XENT_SIMD_NAME));
}

// ---- exp ----------------------------------------------------------------------------------------

TEST_CASE("simd exp<float>: max error over the whole range", "[simd][exp]") {
  ErrorStats st;
  // Negative arguments down to below the underflow limit, positive ones beyond overflow.
  sweep_float_bits(0x80000000u, bits_of(-105.0f), kStride, vexp, ref_exp, st);
  sweep_float_bits(0x00000000u, bits_of(89.5f), kStride, vexp, ref_exp, st);
  // Boundaries: subnormal results, the smallest subnormal, overflow, tiny arguments.
  for (float x :
       {-0x1.5d58a0p+6f /* ln 2^-126 */, -103.972077f /* ln 2^-150 */, -103.278929f /* ln 2^-149 */,
        88.7228317f /* overflow */, -88.0f, 1e-7f, -1e-7f, 0.34657359f /* ln2/2 */, -0.34657359f})
    sweep_float_around(x, 4000, vexp, ref_exp, st);
  report("exp f", st);
  CHECK(st.max_error <= 1.0);  // the README's claim: within 1 ulp (measured maxima above: <= 0.998)
}

TEST_CASE("simd exp<double>: max error at random points", "[simd][exp]") {
  ErrorStats st;
  std::mt19937_64 rng(42);
  std::vector<double> xs;
  std::uniform_real_distribution<double> whole(-746.0, 710.0), sub(-745.2, -708.3),
      mid(-30.0, 30.0), unit(-0.35, 0.35);
  for (int i = 0; i < kDoublePoints; ++i) xs.push_back(whole(rng));
  for (int i = 0; i < kDoublePoints / 2; ++i) xs.push_back(sub(rng));
  for (int i = 0; i < kDoublePoints / 2; ++i) xs.push_back(mid(rng));
  for (int i = 0; i < kDoublePoints / 2; ++i) xs.push_back(unit(rng));
  for (int i = 0; i < kDoublePoints / 4; ++i) xs.push_back(log_uniform(rng, i));
  // Around the overflow and subnormal limits.
  for (double c :
       {0x1.62e42fefa39efp+9, -0x1.6232bdd7abcd3p+9, -745.1332191019412, -744.44007192138})
    for (int j = -2000; j <= 2000; ++j) xs.push_back(c + j * std::ldexp(1.0, -42));
  measure<double>(xs, vexp, ref_exp, st);
  report("exp d", st);
  CHECK(st.max_error <= 1.0);  // the README's claim: within 1 ulp (measured maxima above: <= 0.998)
}

TEMPLATE_TEST_CASE("simd exp: special values and limits", "[simd][exp]", float, double) {
  using T = TestType;
  using L = std::numeric_limits<T>;
  using C = simd::MathConstants<T>;
  const T inf = L::infinity();
  CHECK(apply1<T>(vexp, T(0)) == T(1));
  CHECK(apply1<T>(vexp, T(-0.0)) == T(1));
  CHECK(ulp_error<T>(apply1<T>(vexp, T(1)), std::exp(Wide<T>(1))) <= 1.0);
  // exp(-inf) and arguments below the underflow limit ln(smallest subnormal / 2): exactly +0.
  const T half_denorm_log = static_cast<T>(std::log(static_cast<Wide<T>>(L::denorm_min()) / 2));
  CHECK(same_bits(apply1<T>(vexp, -inf), T(0)));
  CHECK(same_bits(apply1<T>(vexp, L::lowest()), T(0)));
  for (T x = std::nextafter(half_denorm_log, -inf); x > T(-1e6); x *= T(1.01))
    CHECK(same_bits(apply1<T>(vexp, x), T(0)));
  // Just above the limit: the smallest subnormal.
  CHECK(apply1<T>(vexp, std::nextafter(half_denorm_log, -inf)) == T(0));
  CHECK(apply1<T>(vexp, std::nextafter(half_denorm_log, inf)) == L::denorm_min());
  // Overflow: exp_hi is the largest argument with a finite result.
  CHECK(std::isfinite(apply1<T>(vexp, C::exp_hi)));
  CHECK(apply1<T>(vexp, C::exp_hi) == static_cast<T>(std::exp(static_cast<Wide<T>>(C::exp_hi))));
  CHECK(apply1<T>(vexp, std::nextafter(C::exp_hi, inf)) == inf);
  CHECK(apply1<T>(vexp, L::max()) == inf);
  CHECK(apply1<T>(vexp, inf) == inf);
  CHECK(std::isnan(apply1<T>(vexp, L::quiet_NaN())));
  CHECK(std::isnan(apply1<T>(vexp, -L::quiet_NaN())));
  // The smallest normal result and its neighbours (the switch between the two scaling paths).
  for (T x = std::nextafter(C::exp_subnormal, -inf), i = 0; i < 8; ++i, x = std::nextafter(x, inf))
    CHECK(ulp_error<T>(apply1<T>(vexp, x), std::exp(static_cast<Wide<T>>(x))) <= 1.0);
  // Lanes are independent: a vector mixing special and ordinary values.
  alignas(64) T in[V<T>::width], out[V<T>::width];
  const T mix[] = {-inf, T(1), L::quiet_NaN(), inf, T(-1000), T(0.5), T(-0.0), T(2)};
  for (int i = 0; i < V<T>::width; ++i) in[i] = mix[i % 8];
  simd::exp(V<T>::load(in)).store(out);
  for (int i = 0; i < V<T>::width; ++i) {
    const T expect = static_cast<T>(std::exp(static_cast<Wide<T>>(in[i])));
    if (std::isnan(expect)) {
      CHECK(std::isnan(out[i]));
    } else {
      CHECK(ulp_error<T>(out[i], std::exp(static_cast<Wide<T>>(in[i]))) <= 1.0);
    }
  }
}

// exp_nonpositive (the kernels' exp of logit - max, and of -|x|) is exp, bit for bit, on every
// argument <= 0 (both zeros, subnormals, -inf) and on NaN.
TEMPLATE_TEST_CASE("simd exp_nonpositive: bitwise exp on arguments <= 0 and NaN", "[simd][exp]",
                   float, double) {
  using T = TestType;
  using L = std::numeric_limits<T>;
  using Bits = std::conditional_t<std::is_same<T, float>::value, std::uint32_t, std::uint64_t>;
  std::size_t checked = 0, mismatches = 0;
  alignas(64) T in[V<T>::width], a[V<T>::width], b[V<T>::width];
  int filled = 0;
  const auto flush = [&] {
    simd::exp(V<T>::load(in)).store(a);
    simd::exp_nonpositive(V<T>::load(in)).store(b);
    for (int i = 0; i < filled; ++i) mismatches += same_bits(a[i], b[i]) ? 0 : 1;
    checked += static_cast<std::size_t>(filled);
    filled = 0;
  };
  const auto add = [&](T x) {
    in[filled++] = x;
    if (filled == V<T>::width) flush();
  };
  for (T x : {T(0), T(-0.0), -L::infinity(), L::quiet_NaN(), -L::quiet_NaN(), L::lowest(),
              -L::denorm_min(), -L::min()})
    add(x);
  // Negative finite values by bit pattern from -0 to -max, strided (float: every 97th in the full
  // sweep, about 2.2e7 values; double: about 2e6).
  const Bits stride = std::is_same<T, float>::value ? Bits(kStride) : (Bits(1) << 42) + 12345;
  for (Bits bits = Bits(1) << (8 * sizeof(T) - 1);; bits += stride) {
    T x;
    std::memcpy(&x, &bits, sizeof x);
    if (!std::isfinite(x)) break;  // -inf, reached before the pattern wraps
    add(x);
  }
  for (int i = filled; i < V<T>::width; ++i) in[i] = T(0);
  flush();
  INFO(checked << " arguments");
  CHECK(mismatches == 0);
}

// ---- log ----------------------------------------------------------------------------------------

TEST_CASE("simd log<float>: max error over positive normal and subnormal inputs", "[simd][log]") {
  ErrorStats st;
  sweep_float_bits(1u, 0x7f7fffffu, kStride, vlog, ref_log, st);
  for (float x :
       {1.0f, 0.70710677f, 1.4142135f, 0x1p-126f, 0x1p-149f, 0x1p-140f, 2.0f, 0.5f, 3.4e38f})
    sweep_float_around(x, 4000, vlog, ref_log, st);
  report("log f", st);
  CHECK(st.max_error <= 1.0);  // the README's claim: within 1 ulp (measured maxima above: <= 0.998)
}

TEST_CASE("simd log<double>: max error at random points", "[simd][log]") {
  ErrorStats st;
  std::mt19937_64 rng(7);
  std::vector<double> xs;
  std::uniform_int_distribution<std::uint64_t> bits(1, 0x7fefffffffffffffULL),
      sub_bits(1, 0x000fffffffffffffULL);
  std::uniform_real_distribution<double> near1(0.7, 1.42), tiny(-40, 40);
  auto from_bits = [](std::uint64_t b) {
    double d;
    std::memcpy(&d, &b, sizeof d);
    return d;
  };
  for (int i = 0; i < kDoublePoints; ++i) xs.push_back(from_bits(bits(rng)));
  for (int i = 0; i < kDoublePoints / 4; ++i) xs.push_back(from_bits(sub_bits(rng)));
  for (int i = 0; i < kDoublePoints; ++i) xs.push_back(near1(rng));
  for (int i = 0; i < kDoublePoints / 2; ++i) xs.push_back(1 + std::ldexp(tiny(rng), -40));
  measure<double>(xs, vlog, ref_log, st);
  report("log d", st);
  CHECK(st.max_error <= 1.0);  // the README's claim: within 1 ulp (measured maxima above: <= 0.998)
}

TEMPLATE_TEST_CASE("simd log: special values", "[simd][log]", float, double) {
  using T = TestType;
  using L = std::numeric_limits<T>;
  const T inf = L::infinity();
  CHECK(apply1<T>(vlog, T(0)) == -inf);
  CHECK(apply1<T>(vlog, T(-0.0)) == -inf);
  CHECK(std::isnan(apply1<T>(vlog, T(-1))));
  CHECK(std::isnan(apply1<T>(vlog, -L::denorm_min())));
  CHECK(std::isnan(apply1<T>(vlog, -inf)));
  CHECK(std::isnan(apply1<T>(vlog, L::quiet_NaN())));
  CHECK(apply1<T>(vlog, inf) == inf);
  CHECK(same_bits(apply1<T>(vlog, T(1)), T(0)));
  CHECK(ulp_error<T>(apply1<T>(vlog, L::denorm_min()),
                     std::log(static_cast<Wide<T>>(L::denorm_min()))) <= 1.0);
  CHECK(ulp_error<T>(apply1<T>(vlog, L::max()), std::log(static_cast<Wide<T>>(L::max()))) <= 1.0);
  CHECK(ulp_error<T>(apply1<T>(vlog, L::min()), std::log(static_cast<Wide<T>>(L::min()))) <= 1.0);
}

// ---- log1p --------------------------------------------------------------------------------------

TEST_CASE("simd log1p<float>: max error over (-1, inf)", "[simd][log1p]") {
  ErrorStats st;
  sweep_float_bits(0x80000001u, bits_of(-0x1.fffffep-1f), kStride, vlog1p, ref_log1p, st);
  sweep_float_bits(1u, 0x7f7fffffu, kStride, vlog1p, ref_log1p, st);
  for (float x : {-0x1.fffffep-1f, -0.5f, -0.29289322f, 0.41421357f, 1.0f, 0x1p-24f, -0x1p-24f,
                  0x1p-12f, -0x1p-12f, 0x1p24f, 1e-30f, 3.4e38f})
    sweep_float_around(x, 4000, vlog1p, ref_log1p, st);
  report("log1p f", st);
  CHECK(st.max_error <= 1.0);  // the README's claim: within 1 ulp (measured maxima above: <= 0.998)
}

TEST_CASE("simd log1p<double>: max error at random points", "[simd][log1p]") {
  ErrorStats st;
  std::mt19937_64 rng(99);
  std::vector<double> xs;
  std::uniform_int_distribution<std::uint64_t> pos_bits(1, 0x7fefffffffffffffULL),
      neg_bits(0x8000000000000001ULL, 0xbfefffffffffffffULL);
  std::uniform_real_distribution<double> unit(-1.0, 1.0), mid(-0.3, 0.42);
  auto from_bits = [](std::uint64_t b) {
    double d;
    std::memcpy(&d, &b, sizeof d);
    return d;
  };
  for (int i = 0; i < kDoublePoints / 2; ++i) xs.push_back(from_bits(pos_bits(rng)));
  for (int i = 0; i < kDoublePoints / 2; ++i) xs.push_back(from_bits(neg_bits(rng)));
  for (int i = 0; i < kDoublePoints / 2; ++i) xs.push_back(unit(rng));
  for (int i = 0; i < kDoublePoints / 2; ++i) xs.push_back(mid(rng));
  for (int i = 0; i < kDoublePoints / 2; ++i) xs.push_back(log_uniform(rng, i));
  measure<double>(xs, vlog1p, ref_log1p, st);
  report("log1p d", st);
  CHECK(st.max_error <= 1.0);  // the README's claim: within 1 ulp (measured maxima above: <= 0.998)
}

TEMPLATE_TEST_CASE("simd log1p: special values", "[simd][log1p]", float, double) {
  using T = TestType;
  using L = std::numeric_limits<T>;
  const T inf = L::infinity();
  CHECK(apply1<T>(vlog1p, T(-1)) == -inf);
  CHECK(std::isnan(apply1<T>(vlog1p, std::nextafter(T(-1), -inf))));
  CHECK(std::isnan(apply1<T>(vlog1p, T(-2))));
  CHECK(std::isnan(apply1<T>(vlog1p, -inf)));
  CHECK(std::isnan(apply1<T>(vlog1p, L::quiet_NaN())));
  CHECK(apply1<T>(vlog1p, inf) == inf);
  CHECK(same_bits(apply1<T>(vlog1p, T(0)), T(0)));
  CHECK(same_bits(apply1<T>(vlog1p, T(-0.0)), T(-0.0)));
  CHECK(apply1<T>(vlog1p, L::denorm_min()) == L::denorm_min());
  CHECK(apply1<T>(vlog1p, -L::denorm_min()) == -L::denorm_min());
  CHECK(apply1<T>(vlog1p, L::min()) == L::min());
  CHECK(ulp_error<T>(apply1<T>(vlog1p, L::max()), std::log1p(static_cast<Wide<T>>(L::max()))) <=
        1.0);
  CHECK(ulp_error<T>(apply1<T>(vlog1p, std::nextafter(T(-1), inf)),
                     std::log1p(static_cast<Wide<T>>(std::nextafter(T(-1), inf)))) <= 1.0);
}

// ---- the same result everywhere -----------------------------------------------------------------

// Every input gives bitwise the same result in every lane position, through a full load, a masked
// tail and a broadcast, so a kernel's body and tail (and any split of the work) agree exactly.
TEMPLATE_TEST_CASE("simd math: bitwise the same result in every lane and call path", "[simd]",
                   float, double) {
  using T = TestType;
  constexpr int W = V<T>::width;
  std::mt19937 rng(11);
  std::uniform_real_distribution<T> wide(T(-30), T(30)), unit(T(-0.999), T(3));
  const std::size_t n = 64 * W + 3;
  std::vector<T> xs(n);
  for (std::size_t i = 0; i < n; ++i) xs[i] = (i % 3 == 0) ? unit(rng) : wide(rng);
  auto check = [&](auto f, bool positive) {
    std::vector<T> in(xs), body(n), tail(n);
    if (positive)
      for (auto& x : in) x = std::fabs(x) + T(1e-3);
    std::size_t i = 0;
    for (; i + W <= n; i += W) f(V<T>::loadu(&in[i])).storeu(&body[i]);
    f(V<T>::load_tail(&in[i], static_cast<int>(n - i), T(1)))
        .store_tail(&body[i], static_cast<int>(n - i));
    for (std::size_t j = 0; j < n; ++j) {
      f(V<T>::load_tail(&in[j], 1, T(1))).store_tail(&tail[j], 1);
      INFO("x = " << in[j]);
      CHECK(same_bits(body[j], tail[j]));
      CHECK(same_bits(body[j], apply1<T>(f, in[j])));
    }
  };
  check(vexp, false);
  check(vlog, true);
  check(vlog1p, false);
}

// ---- the vector type ----------------------------------------------------------------------------

namespace {

// A buffer whose end is the end of a readable, writable page followed by an inaccessible one
// (Linux): any access past p + n faults. Elsewhere an ordinary buffer.
template <class T>
struct GuardedBuffer {
  T* end = nullptr;  // one past the last usable element
#if defined(__linux__)
  void* base = nullptr;
  std::size_t page = 0;
  GuardedBuffer() {
    page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    base = mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(base != MAP_FAILED);
    REQUIRE(mprotect(static_cast<char*>(base) + page, page, PROT_NONE) == 0);
    end = reinterpret_cast<T*>(static_cast<char*>(base) + page);
  }
  ~GuardedBuffer() { munmap(base, 2 * page); }
#else
  std::vector<T> storage = std::vector<T>(4096);
  GuardedBuffer() { end = storage.data() + storage.size(); }
#endif
  GuardedBuffer(const GuardedBuffer&) = delete;
  GuardedBuffer& operator=(const GuardedBuffer&) = delete;
};

}  // namespace

TEMPLATE_TEST_CASE("simd Vec: masked tail load and store, every tail length", "[simd][vec]", float,
                   double) {
  using T = TestType;
  constexpr int W = V<T>::width;
  GuardedBuffer<T> buf;
  const T fill = -std::numeric_limits<T>::infinity();
  for (int n = 0; n <= W; ++n) {
    // The n elements end exactly at the inaccessible page; W elements before them are sentinels.
    T* p = buf.end - n;
    for (int i = -W; i < n; ++i) p[i] = T(100 + i);
    const V<T> v = V<T>::load_tail(p, n, fill);
    for (int i = 0; i < W; ++i) {
      INFO("n = " << n << ", lane " << i);
      if (i < n) {
        CHECK(v.lane(i) == T(100 + i));
      } else {
        CHECK(v.lane(i) == fill);
      }
    }
    // Store a different vector's first n lanes; the W elements before p are untouched.
    alignas(64) T src[W];
    for (int i = 0; i < W; ++i) src[i] = T(-1 - i);
    V<T>::load(src).store_tail(p, n);
    for (int i = -W; i < n; ++i) {
      INFO("n = " << n << ", element " << i);
      CHECK(p[i] == (i < 0 ? T(100 + i) : T(-1 - i)));
    }
    // Mask::first agrees with the tail length.
    const simd::Mask<T> m = simd::Mask<T>::first(n);
    const V<T> s = simd::select(m, V<T>::set1(T(1)), V<T>::zero());
    for (int i = 0; i < W; ++i) CHECK(s.lane(i) == (i < n ? T(1) : T(0)));
    CHECK(simd::any(m) == (n > 0));
    CHECK(simd::all(m) == (n == W));
  }
}

TEMPLATE_TEST_CASE("simd Vec: arithmetic, max/min, comparisons, select", "[simd][vec]", float,
                   double) {
  using T = TestType;
  using L = std::numeric_limits<T>;
  constexpr int W = V<T>::width;
  const T nan = L::quiet_NaN(), inf = L::infinity();
  alignas(64) T a[W], b[W], c[W], out[W];
  std::mt19937 rng(3);
  std::uniform_real_distribution<T> dist(T(-10), T(10));
  for (int rep = 0; rep < 50; ++rep) {
    for (int i = 0; i < W; ++i) {
      a[i] = dist(rng);
      b[i] = dist(rng);
      c[i] = dist(rng);
    }
    if (rep == 0) b[0] = a[0];  // equal lanes
    const V<T> va = V<T>::load(a), vb = V<T>::load(b), vc = V<T>::load(c);
    for (int i = 0; i < W; ++i) {
      CHECK((va + vb).lane(i) == a[i] + b[i]);
      CHECK((va - vb).lane(i) == a[i] - b[i]);
      CHECK((va * vb).lane(i) == a[i] * b[i]);
      CHECK((va / vb).lane(i) == a[i] / b[i]);
      CHECK((-va).lane(i) == -a[i]);
      CHECK(simd::abs(va).lane(i) == std::fabs(a[i]));
#if XENT_SIMD_HAS_FMA
      CHECK(simd::fma(va, vb, vc).lane(i) == std::fma(a[i], b[i], c[i]));
#else
      CHECK(simd::fma(va, vb, vc).lane(i) == Approx(a[i] * b[i] + c[i]).margin(1e-5));
#endif
      CHECK(simd::max(va, vb).lane(i) == std::max(a[i], b[i]));
      CHECK(simd::min(va, vb).lane(i) == std::min(a[i], b[i]));
      CHECK(simd::select(va < vb, va, vb).lane(i) == (a[i] < b[i] ? a[i] : b[i]));
      CHECK(simd::select(va <= vb, va, vb).lane(i) == (a[i] <= b[i] ? a[i] : b[i]));
      CHECK(simd::select(va > vb, va, vb).lane(i) == (a[i] > b[i] ? a[i] : b[i]));
      CHECK(simd::select(va >= vb, va, vb).lane(i) == (a[i] >= b[i] ? a[i] : b[i]));
      CHECK(simd::select(va == vb, va, vc).lane(i) == (a[i] == b[i] ? a[i] : c[i]));
      CHECK(simd::select(va != vb, va, vc).lane(i) == (a[i] != b[i] ? a[i] : c[i]));
      CHECK(simd::select((va < vb) & (vb < vc), va, vc).lane(i) ==
            ((a[i] < b[i] && b[i] < c[i]) ? a[i] : c[i]));
      CHECK(simd::select((va < vb) | (vb < vc), va, vc).lane(i) ==
            ((a[i] < b[i] || b[i] < c[i]) ? a[i] : c[i]));
      CHECK(simd::select(~(va < vb), va, vc).lane(i) == (!(a[i] < b[i]) ? a[i] : c[i]));
    }
    V<T> acc = va;
    acc += vb;
    acc *= vc;
    acc -= va;
    acc /= vb;
    acc.storeu(out);
    for (int i = 0; i < W; ++i) {
      // One rounding per operation, as the vector code does (volatile: no fused multiply-add).
      volatile T t = a[i] + b[i];
      t = t * c[i];
      t = t - a[i];
      CHECK(out[i] == t / b[i]);
    }
  }
  // NaN: max/min return their first argument, max_nan/min_nan return NaN; comparisons.
  const V<T> vn = V<T>::set1(nan), one = V<T>::set1(T(1));
  for (int i = 0; i < W; ++i) {
    CHECK(simd::max(one, vn).lane(i) == T(1));
    CHECK(std::isnan(simd::max(vn, one).lane(i)));
    CHECK(simd::min(one, vn).lane(i) == T(1));
    CHECK(std::isnan(simd::min(vn, one).lane(i)));
    CHECK(std::isnan(simd::max_nan(one, vn).lane(i)));
    CHECK(std::isnan(simd::max_nan(vn, one).lane(i)));
    CHECK(std::isnan(simd::min_nan(one, vn).lane(i)));
    CHECK(std::isnan(simd::min_nan(vn, one).lane(i)));
    CHECK(simd::max_nan(one, V<T>::set1(T(2))).lane(i) == T(2));
    CHECK(simd::min_nan(one, V<T>::set1(T(2))).lane(i) == T(1));
    CHECK(simd::max(V<T>::set1(-inf), one).lane(i) == T(1));
    CHECK(simd::select(vn < one, one, V<T>::zero()).lane(i) == T(0));
    CHECK(simd::select(vn == vn, one, V<T>::zero()).lane(i) == T(0));
    CHECK(simd::select(vn != vn, one, V<T>::zero()).lane(i) == T(1));
    CHECK(simd::select(simd::is_nan(vn), one, V<T>::zero()).lane(i) == T(1));
    CHECK(simd::select(simd::is_nan(one), one, V<T>::zero()).lane(i) == T(0));
    CHECK(std::signbit((-V<T>::zero()).lane(i)));
  }
  CHECK_FALSE(simd::any(vn == vn));
  CHECK(simd::all(vn != vn));
}

TEMPLATE_TEST_CASE("simd Vec: horizontal sum, max and min", "[simd][vec]", float, double) {
  using T = TestType;
  using L = std::numeric_limits<T>;
  constexpr int W = V<T>::width;
  alignas(64) T a[W];
  std::mt19937 rng(5);
  std::uniform_real_distribution<T> dist(T(-100), T(100));
  for (int rep = 0; rep < 100; ++rep) {
    double sum = 0;
    T mx = -L::infinity(), mn = L::infinity();
    for (int i = 0; i < W; ++i) {
      a[i] = (rep % 3 == 0) ? T(i + 1) : dist(rng);  // exact sums on some reps
      sum += static_cast<double>(a[i]);
      mx = std::max(mx, a[i]);
      mn = std::min(mn, a[i]);
    }
    const V<T> v = V<T>::load(a);
    if (rep % 3 == 0) {
      CHECK(simd::reduce_add(v) == static_cast<T>(sum));
    } else {
      CHECK(simd::reduce_add(v) == Approx(sum).epsilon(1e-5));
    }
    CHECK(simd::reduce_add_double(v) == Approx(sum).epsilon(1e-12));
    CHECK(simd::reduce_max(v) == mx);
    CHECK(simd::reduce_min(v) == mn);
  }
  // -inf / +inf lanes take part; any NaN lane makes max and min NaN, whatever its position.
  for (int i = 0; i < W; ++i) a[i] = -L::infinity();
  CHECK(simd::reduce_max(V<T>::load(a)) == -L::infinity());
  a[W - 1] = T(3);
  CHECK(simd::reduce_max(V<T>::load(a)) == T(3));
  CHECK(simd::reduce_min(V<T>::load(a)) == (W > 1 ? -L::infinity() : T(3)));
  for (int pos = 0; pos < W; ++pos) {
    for (int i = 0; i < W; ++i) a[i] = T(i);
    a[pos] = L::quiet_NaN();
    CHECK(std::isnan(simd::reduce_max(V<T>::load(a))));
    CHECK(std::isnan(simd::reduce_min(V<T>::load(a))));
    CHECK(std::isnan(simd::reduce_add(V<T>::load(a))));
  }
}

// The SSE2 and AVX2 tiers reduce and transpose with their own code (ops_sse2.hpp, ops_avx2.hpp:
// no Eigen packet function, so that a tier can be compiled apart from the global flags); it must
// give Eigen's results bit for bit (the lane order of the sums is Eigen's), including the sign of
// a zero sum and infinities. Compared where Eigen vectorizes with the same vector type.
#if defined(XENT_SIMD_TIER_SSE2) || defined(XENT_SIMD_TIER_AVX2)
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-attributes"  // __m256 etc. as template arguments
#endif
TEMPLATE_TEST_CASE("simd Vec: own reductions and transposes equal Eigen's bit for bit", "[simd][vec]",
                   float, double) {
  using T = TestType;
  constexpr int W = V<T>::width;
  using Packet = typename V<T>::Packet;
  static_assert(std::is_same<Packet, typename Eigen::internal::packet_traits<T>::type>::value,
                "the tier's vector is Eigen's packet in these builds");
  const auto same = [](T a, T b) { return std::memcmp(&a, &b, sizeof(T)) == 0; };
  alignas(64) T a[W * W];
  std::mt19937 rng(11);
  std::uniform_real_distribution<T> dist(T(-1e3), T(1e3));
  const T specials[] = {T(0), -T(0), std::numeric_limits<T>::infinity(),
                        -std::numeric_limits<T>::infinity(), T(1e-30), T(3e30)};
  for (int rep = 0; rep < 2000; ++rep) {
    for (int i = 0; i < W * W; ++i) a[i] = rep % 4 == 0 ? specials[rng() % 6] : dist(rng);
    const V<T> v = V<T>::load(a);
    CHECK(same(simd::Ops<T>::hsum(v.p), Eigen::internal::predux(v.p)));
    CHECK(same(simd::Ops<T>::hmax(v.p), Eigen::internal::predux_max(v.p)));
    CHECK(same(simd::Ops<T>::hmin(v.p), Eigen::internal::predux_min(v.p)));
    Packet rows[W];
    Eigen::internal::PacketBlock<Packet, W> tile;
    for (int r = 0; r < W; ++r) rows[r] = tile.packet[r] = V<T>::load(a + r * W).p;
    simd::Ops<T>::transpose(rows);
    Eigen::internal::ptranspose(tile);
    for (int r = 0; r < W; ++r) {
      for (int c = 0; c < W; ++c) {
        CHECK(same(V<T>{rows[r]}.lane(c), a[c * W + r]));
        CHECK(same(V<T>{rows[r]}.lane(c), V<T>{tile.packet[r]}.lane(c)));
      }
    }
  }
}
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
#endif

TEMPLATE_TEST_CASE("simd Vec: bit-pattern operations", "[simd][vec]", float, double) {
  using T = TestType;
  using Bits = typename V<T>::Bits;
  constexpr int W = V<T>::width;
  const Bits one_bits = sizeof(T) == 4 ? Bits(0x3f800000u) : Bits(0x3ff0000000000000ULL);
  const int mant = std::numeric_limits<T>::digits - 1;
  const V<T> one = V<T>::set1(T(1)), two = V<T>::set1(T(2));
  for (int i = 0; i < W; ++i) {
    CHECK(V<T>::from_bits(one_bits).lane(i) == T(1));
    // Adding 1 << mant to the bits doubles a normal number.
    CHECK(simd::int_add(one, V<T>::from_bits(Bits(1) << mant)).lane(i) == T(2));
    CHECK(simd::int_sub(two, V<T>::from_bits(Bits(1) << mant)).lane(i) == T(1));
    CHECK(simd::bit_and(one, two).lane(i) == T(0));  // 0x3f8.. & 0x400.. = 0
    CHECK(simd::bit_or(V<T>::zero(), one).lane(i) == T(1));
    CHECK(simd::bit_xor(one, V<T>::set1(T(-0.0))).lane(i) == T(-1));
    CHECK(simd::bit_andnot(V<T>::set1(T(-1)), V<T>::set1(T(-0.0))).lane(i) == T(1));
    CHECK(simd::shift_right<1>(simd::shift_left<1>(V<T>::set1(T(-1)))).lane(i) == T(1));
  }
}
