// xent internals: vector exp, log and log1p for float and double, written once over simd::Vec.
//
// The same reduction and the same polynomials on every tier, so results agree across ISAs up to
// the rounding of the multiply-adds: fused (one rounding) where XENT_SIMD_HAS_FMA, a multiply and
// an add on SSE2 — results may differ by an ulp between an SSE2 and an FMA build, never by more
// than the stated bounds. On AVX-512 the final scaling by 2^n is one vscalefps/pd; elsewhere it is
// integer exponent arithmetic with the same, correctly rounded, result. No branches on data:
// special arguments are handled by selects. exp's subnormal results (outside AVX-512, where vscalef
// makes them) and log's subnormal arguments are built / taken apart with integer operations, not by
// floating-point arithmetic on subnormal values, which costs microcode assists on some CPUs:
// arguments whose exp is subnormal or underflows run at full speed (benchmarks/bench_simd_math).
//
// exp(x)   Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2 (n = round(x log2e), ln2 split in two
//          so that n*ln2_hi is exact), exp(r) ~ 1 + r + r^2 q(r) (minimax: q of degree 4 (float) /
//          9 (double), |relative error| 4.1e-9 / 5.1e-18), result p * 2^n rounded once.
//          Whole range: results that are subnormal are rounded correctly from p (not flushed);
//          exp(x) = +0 exactly for x < ln(2^-150) (float) / ln(2^-1075) (double) and for x = -inf;
//          +inf above 88.72283172607421875 (float) / 709.782712893384 (double), the largest
//          arguments with a finite result; NaN in, NaN out. exp(-0) = exp(+0) = 1.
// log(x)   x = 2^k (1 + f), 1 + f in [sqrt(1/2), sqrt(2)) by integer arithmetic on the bits (a
//          subnormal x is first converted exactly to an integer-valued float); then fdlibm's form
//          log(1+f) = f - (hfsq - s (hfsq + R(s^2))), s = f / (2 + f), hfsq = f^2/2, R a minimax
//          polynomial of degree 3 (float) / 7 (double) in s^2, and k ln 2 added in two pieces.
//          log(+-0) = -inf, log(x < 0) = NaN, log(+inf) = +inf, log(NaN) = NaN, log(1) = +0.
// log1p(x) the same on u = 1 + x, plus the exact rounding error of 1 + x divided by u (so every
//          x in (-1, inf) keeps full relative accuracy, also |x| below the ulp of 1);
//          log1p(-1) = -inf, log1p(x < -1) = NaN, log1p(+inf) = +inf, log1p(+-0) = +-0, NaN -> NaN.
//
// Accuracy: maximum error in ulps of the result type, measured by tests/test_simd_math.cpp against
// glibc's double (for float) / long double (for double) functions; float over every 97th bit
// pattern of the domain plus every value near the boundaries, double at ~3 M random points each:
//
//                                               exp f   log f   log1p f   exp d   log d   log1p d
//   with FMA: AVX-512, AVX2, NEON, scalar+FMA   0.989   0.745   0.743     0.998   0.734   0.740
//   without:  SSE2, scalar                      0.954   0.826   0.863     0.952   0.826   0.823
//
// The test asserts <= 1 ulp everywhere. The tiers of a row return bitwise the same results (the
// test prints a hash of its results to compare builds): every multiply-add is an explicit fma()
// and the layer's products are opaque to the compiler's own contraction of a*b + c (GCC's default
// -ffp-contract=fast), so a result cannot change from one call site to another.
//
// Assumes IEEE arithmetic in the default rounding mode without flush-to-zero /
// denormals-are-zero: under FTZ/DAZ the hardware flushes subnormal operands and results, so the
// subnormal range of exp's results and of log's arguments is lost.

#include <cstddef>
#include <cstdint>
#include <limits>

#include "vec.hpp"

// Included once per pass (tier.hpp): the flags' tier, then each target region's.
#if (XENT_SIMD_PASS == 0 && !defined(XENT_SIMD_MATH_PASS0)) || \
    (XENT_SIMD_PASS == 1 && !defined(XENT_SIMD_MATH_PASS1))
#if XENT_SIMD_PASS == 0
#define XENT_SIMD_MATH_PASS0
#else
#define XENT_SIMD_MATH_PASS1
#endif

namespace xent {
namespace detail {
XENT_SIMD_NAMESPACE_INLINE namespace XENT_SIMD_ISA_NAMESPACE {
namespace simd {

template <class T>
struct MathConstants;

template <>
struct MathConstants<float> {
  using Bits = std::uint32_t;
  static constexpr int mantissa_bits = 23;

  // -- exp
  // Below ln(2^-150) = -103.972 exp rounds to +0; clamping there keeps n in range.
  static constexpr float exp_lo = -104.0f;
  // 88.72283172607421875: the largest float whose exp is finite (exp(next float) rounds to inf).
  static constexpr float exp_hi = 0x1.62e42ep+6f;
  // Clamp for the vscalef path: above exp_hi, where p * 2^128 overflows by itself.
  static constexpr float exp_hi_scalef = 89.0f;
  // -87.3365478515625: the largest float below ln(2^-126) = -126 ln 2. exp(x) is subnormal
  // (below the smallest normal number) exactly for x <= exp_subnormal.
  static constexpr float exp_subnormal = -0x1.5d58a0p+6f;
  static constexpr float log2e = 0x1.715476p+0f;
  static constexpr float shifter = 0x1.8p+23f;  // 1.5 * 2^23: x + shifter rounds x to an integer
  static constexpr float ln2_hi = 0x1.63p-1f;   // 0.693359375 (9 bits: n * ln2_hi is exact)
  static constexpr float ln2_lo = -0x1.bd0106p-13f;            // ln 2 - ln2_hi
  static constexpr Bits subnormal_exponent = Bits(149) << 23;  // adds 149 to a float's exponent
  // q(r) with exp(r) ~ 1 + r + r^2 q(r) on [-ln2/2, ln2/2], highest degree first.
  static constexpr float exp_poly[] = {0x1.6a26acp-10f, 0x1.12394cp-7f, 0x1.5558eap-5f,
                                       0x1.555492p-3f, 0x1.fffffcp-2f};

  // -- log
  static constexpr float min_normal = 0x1p-126f;
  static constexpr float two_mant = 0x1p+23f;                     // 2^23
  static constexpr float two_mant_bias = 0x1p+23f + 127.0f;       // 2^23 + exponent bias
  static constexpr float subnormal_log2 = -149.0f;                // a subnormal is M * 2^-149
  static constexpr Bits sqrt_half_bits = 0x3f3504f3;              // sqrt(1/2)
  static constexpr Bits reduce_offset = 0x3f800000 - 0x3f3504f3;  // bits(1) - bits(sqrt(1/2))
  static constexpr Bits mantissa_mask = 0x007fffff;
  // R(z) = z T(z), T highest degree first: log(1+f) = 2s + s R(s^2), s = f / (2 + f).
  static constexpr float log_poly[] = {0x1.31dd06p-2f, 0x1.995efep-2f, 0x1.55557ap-1f};
};

template <>
struct MathConstants<double> {
  using Bits = std::uint64_t;
  static constexpr int mantissa_bits = 52;

  static constexpr double exp_lo = -746.0;  // below ln(2^-1075) = -745.133: exp rounds to +0
  static constexpr double exp_hi = 0x1.62e42fefa39efp+9;  // 709.782712893384, largest finite exp
  static constexpr double exp_hi_scalef = 710.0;
  static constexpr double exp_subnormal = -0x1.6232bdd7abcd3p+9;  // largest double < -1022 ln 2
  static constexpr double log2e = 0x1.71547652b82fep+0;
  static constexpr double shifter = 0x1.8p+52;
  static constexpr double ln2_hi = 0x1.62e42feep-1;  // fdlibm's split: 32 bits
  static constexpr double ln2_lo = 0x1.a39ef35793c76p-33;
  static constexpr Bits subnormal_exponent = Bits(1074) << 52;
  static constexpr double exp_poly[] = {
      0x1.ad7b198a2dfeep-26, 0x1.28ac6c4a28dbcp-22, 0x1.71df26d9bb461p-19, 0x1.a0199b4e709a6p-16,
      0x1.a01a012a60ca3p-13, 0x1.6c16c1839fb05p-10, 0x1.11111111278d5p-7,  0x1.5555555550b7ep-5,
      0x1.55555555554fcp-3,  0x1.0000000000009p-1};

  static constexpr double min_normal = 0x1p-1022;
  static constexpr double two_mant = 0x1p+52;
  static constexpr double two_mant_bias = 0x1p+52 + 1023.0;
  static constexpr double subnormal_log2 = -1074.0;
  static constexpr Bits sqrt_half_bits = 0x3fe6a09e667f3bcd;
  static constexpr Bits reduce_offset = 0x3ff0000000000000 - 0x3fe6a09e667f3bcd;
  static constexpr Bits mantissa_mask = 0x000fffffffffffff;
  static constexpr double log_poly[] = {
      0x1.2ef20f7b7c27ep-3, 0x1.39a3d1b38c512p-3, 0x1.7466280548d17p-3, 0x1.c71c5286c4df0p-3,
      0x1.249249413efe4p-2, 0x1.9999999980cdep-2, 0x1.555555555558fp-1};
};

namespace math_impl {

// c[0] x^(N-1) + ... + c[N-1] by Horner's rule.
template <class T, std::size_t N>
XENT_SIMD_INLINE Vec<T> horner(Vec<T> x, const T (&c)[N]) {
  Vec<T> r = Vec<T>::set1(c[0]);
  for (std::size_t i = 1; i < N; ++i) r = fma(r, x, Vec<T>::set1(c[i]));
  return r;
}

// exp(r) for |r| <= ln2/2 (a hair more): 1 + (r + r^2 q(r)), the small part rounded first.
template <class T>
XENT_SIMD_INLINE Vec<T> exp_reduced(Vec<T> r) {
  const Vec<T> q = horner(r, MathConstants<T>::exp_poly);
  return Vec<T>::set1(T(1)) + fma(r * r, q, r);
}

// x = 2^k * m with m in [sqrt(1/2), sqrt(2)), for positive normal finite x; returns f = m - 1
// (exact) and k (an integer-valued T).
template <class T>
XENT_SIMD_INLINE void reduce_log_argument(Vec<T> x, Vec<T>& k, Vec<T>& f) {
  using C = MathConstants<T>;
  using V = Vec<T>;
  // Adding bits(1) - bits(sqrt(1/2)) carries into the exponent exactly when the significand is at
  // least sqrt(1/2)'s; the exponent field then is k + bias.
  const V ix = int_add(x, V::from_bits(C::reduce_offset));
  const V e = shift_right<C::mantissa_bits>(ix);
  const V two_mant = V::set1(C::two_mant);
  k = bit_or(e, two_mant) - V::set1(C::two_mant_bias);  // (2^mant + e) - (2^mant + bias), exact
  const V m = int_add(bit_and(ix, V::from_bits(C::mantissa_mask)), V::from_bits(C::sqrt_half_bits));
  f = m - V::set1(T(1));
}

// k ln 2 + log(1 + f) + corr, with |corr| tiny against the result (fdlibm's arrangement: the
// large terms f and k*ln2_hi are added last, each exactly known).
template <class T>
XENT_SIMD_INLINE Vec<T> log_reconstruct(Vec<T> k, Vec<T> f, Vec<T> low) {
  using C = MathConstants<T>;
  using V = Vec<T>;
  // Every multiply-add is an explicit fma() (the layer keeps other products apart from additions,
  // see XENT_SIMD_OPAQUE), so this rounds the same wherever it is inlined.
  const V half_f = V::set1(T(0.5)) * f;  // exact
  const V hfsq = half_f * f;
  const V s = f / (V::set1(T(2)) + f);
  const V z = s * s;
  const V hfsq_R = fma(z, horner(z, C::log_poly), hfsq);  // hfsq + R, R = z T(z)
  const V lo = fma(s, hfsq_R, low);                       // s (hfsq + R) + k ln2_lo + corr
  const V d = fma(half_f, f, -lo);                        // hfsq - lo
  return fma(k, V::set1(C::ln2_hi), f - d);               // k ln2_hi exact, one rounding
}

}  // namespace math_impl

namespace math_impl {

// exp, and with kNonPositive the same for arguments known to be <= 0 or NaN (see exp_nonpositive).
// With kTail, e^(x + tail) for a tail far below the ulp of x (exp_difference), added to the reduced
// argument.
template <bool kNonPositive, bool kTail = false, class T>
XENT_SIMD_INLINE Vec<T> exp_impl(Vec<T> x, Vec<T> tail = Vec<T>::zero()) {
  using C = MathConstants<T>;
  using V = Vec<T>;
  if constexpr (Ops<T>::has_scalef) {
    // NaN passes the clamp (max/min return their first argument), vscalef propagates it; +inf is
    // clamped to exp_hi_scalef, where p * 2^n overflows to +inf by itself.
    const V lo_clamped = max(x, V::set1(C::exp_lo));
    const V xc = kNonPositive ? lo_clamped : min(lo_clamped, V::set1(C::exp_hi_scalef));
    const V shifter = V::set1(C::shifter);
    const V n = fma(xc, V::set1(C::log2e), shifter) - shifter;  // round(x log2e)
    V r = fma(n, V::set1(-C::ln2_hi), xc);                      // exact
    r = fma(n, V::set1(-C::ln2_lo), r);
    if (kTail) r = select(x >= V::set1(C::exp_lo), r + tail, r);  // see exp_difference
    return {Ops<T>::scalef(math_impl::exp_reduced(r).p, n.p)};
  } else {
    // Clamped below only (max(lo, x) is lo for a NaN x too): above exp_hi and for NaN the result
    // is replaced at the end, whatever the lanes computed meanwhile.
    const V xc = max(V::set1(C::exp_lo), x);
    const V shifter = V::set1(C::shifter);
    const V z = fma(xc, V::set1(C::log2e), shifter);  // shifter + n, n = round(x log2e)
    const V n = z - shifter;
    V r = fma(n, V::set1(-C::ln2_hi), xc);
    r = fma(n, V::set1(-C::ln2_lo), r);
    if (kTail) r = select(x >= V::set1(C::exp_lo), r + tail, r);  // see exp_difference
    const V p = math_impl::exp_reduced(r);                        // in [0.7, 1.42]
    // The low bits of z hold n: shifted into the exponent field they are the integer n << mant.
    const V n_exponent = shift_left<C::mantissa_bits>(z);
    // Normal result: p * 2^n by adding n to p's exponent, exact (n <= 128 / 1024: x <= exp_hi).
    const V normal = int_add(p, n_exponent);
    // Subnormal result (x <= exp_subnormal): y = p * 2^(n + 149) (exact, normal), and y + 2^23
    // rounds y to an integer, once and correctly: the result's bit pattern (float; for double
    // 2^(n + 1074) and 2^52). At the boundary, where p = 1, both paths give the smallest normal.
    const V y = int_add(normal, V::from_bits(C::subnormal_exponent));
    const V two_mant = V::set1(C::two_mant);
    const V subnormal = int_sub(y + two_mant, two_mant);
    const V result = select(x <= V::set1(C::exp_subnormal), subnormal, normal);
    // x > exp_hi (+inf included): inf * x = +inf; NaN: inf * x = NaN (kept for NaN alone).
    return select(x <= V::set1(C::exp_hi), result, x * V::set1(std::numeric_limits<T>::infinity()));
  }
}

}  // namespace math_impl

// e^x lane-wise; see the header comment for accuracy and special values.
template <class T>
inline Vec<T> exp(Vec<T> x) {
  return math_impl::exp_impl<false>(x);
}

// e^x for arguments known to be <= 0 or NaN: a logit minus its sample's max, -|x|. Bitwise the same
// results as exp there; without the upper clamp, one operation of about 15 fewer where the tier
// has vscalef (AVX-512: cross_entropy forward at 4096 x 1000, float, from 5.96 to 6.6 Gelem/s; the
// other tiers compute exactly what exp does). Positive arguments give unspecified results.
template <class T>
inline Vec<T> exp_nonpositive(Vec<T> x) {
  return math_impl::exp_impl<true>(x);
}

// e^(x - m) for x <= m (a logit and its sample's max), with d = x - m rounded as usual and the
// subtraction's rounding error folded into the exp. That error is up to 2^-24 |x - m| (float) and
// exp turns it into a relative error of the same size: |x - m| / 2 ulp, 30 ulp on a class 60 below
// the max, which a confident sample's -log p_y = log1p(others) and 1 - p_y = others / sum carry
// whole (tools/accuracy). The error is exact by Knuth's TwoSum (five operations, no
// branch) and joins exp's reduced argument. Where d is below exp's range (a masked class: -inf,
// whose TwoSum is NaN; m = +inf; a difference that overflows) it is dropped: the result is 0, or
// NaN for a NaN d, as exp_nonpositive(d) gives.
template <class T>
XENT_SIMD_INLINE Vec<T> exp_difference(Vec<T> x, Vec<T> m, Vec<T>& d) {
  using V = Vec<T>;
  d = x - m;
  const V minus_m = d - x;  // TwoSum(x, -m): x + (-m) = d + error, exactly
  const V error = (x - (d - minus_m)) - (m + minus_m);
  return math_impl::exp_impl<true, true>(d, error);
}

template <class T>
XENT_SIMD_INLINE Vec<T> exp_difference(Vec<T> x, Vec<T> m) {
  Vec<T> d;
  return exp_difference(x, m, d);
}

// Natural logarithm lane-wise; see the header comment.
template <class T>
inline Vec<T> log(Vec<T> x) {
  using C = MathConstants<T>;
  using V = Vec<T>;
  const V zero = V::zero();
  // A subnormal x = M * 2^-149 (float): its bits are the integer M, which (2^23 | M) - 2^23 turns
  // into an exact float, with k offset by -149. (Also applied to 0 and negatives, fixed below.)
  const Mask<T> subnormal = x < V::set1(C::min_normal);
  const V two_mant = V::set1(C::two_mant);
  const V xn = select(subnormal, bit_or(x, two_mant) - two_mant, x);
  V k, f;
  math_impl::reduce_log_argument(xn, k, f);
  k = k + select(subnormal, V::set1(C::subnormal_log2), zero);
  V result = math_impl::log_reconstruct(k, f, k * V::set1(C::ln2_lo));
  result = select(x >= zero, result, V::set1(std::numeric_limits<T>::quiet_NaN()));
  result = select(x == zero, V::set1(-std::numeric_limits<T>::infinity()), result);
  return select(x == V::set1(std::numeric_limits<T>::infinity()), x, result);
}

// log(1 + x) lane-wise; see the header comment.
template <class T>
inline Vec<T> log1p(Vec<T> x) {
  using C = MathConstants<T>;
  using V = Vec<T>;
  const V zero = V::zero();
  const V one = V::set1(T(1));
  const V u = one + x;
  // The rounding error c = (1 + x) - u, exactly: u - 1 is exact for x < 1 (u <= 2) and u - x for
  // x >= 1 (Sterbenz). log1p(x) = log(u) + log(1 + c/u) = log(u) + c/u to well below an ulp.
  const V c = select(x < one, x - (u - one), one - (u - x));
  V k, f;
  math_impl::reduce_log_argument(u, k, f);
  V result = math_impl::log_reconstruct(k, f, fma(k, V::set1(C::ln2_lo), c / u));
  result = select(u >= zero, result, V::set1(std::numeric_limits<T>::quiet_NaN()));
  result = select(u == zero, V::set1(-std::numeric_limits<T>::infinity()), result);
  result = select(u == V::set1(std::numeric_limits<T>::infinity()), u, result);
  return select(x == zero, x, result);  // +-0 keeps its sign
}

}  // namespace simd
}  // namespace XENT_SIMD_ISA_NAMESPACE
}  // namespace detail
}  // namespace xent

#endif  // pass guard
