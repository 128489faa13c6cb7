// Shared code of the xent fuzz harnesses (tests/fuzz/fuzz_*.cpp): a byte decoder (FuzzInput) that
// turns the fuzzer's bytes into shapes, layouts, storage orders, options and values, the views the
// library is fed with, and the comparison against xent::reference in long double.
//
// What a harness asserts, for every entry point it calls:
//  * no crash and no sanitizer report (the build: -fsanitize=fuzzer,address,undefined);
//  * either the documented exception -- exactly when the harness's own statement of PyTorch's
//    argument rules says so (written in each harness, independently of the library's checks,
//    which xent::reference shares; likewise the ignore decisions and the mean's denominator), of
//    the same type (std::invalid_argument or std::out_of_range), its message starting with
//    "xent::<function>" and naming the argument -- or
//  * a result matching xent::reference<long double>, entry by entry:
//      - a non-finite reference exactly: the same infinity, NaN where it has NaN (the special-value
//        rules of README.md: NaN propagates, a row holding +inf or only -inf gives NaN, a masked
//        class gets probability 0, a -inf target logit loss +inf, ...); NaN against an infinity
//        is never accepted, but for these two documented causes:
//      - +-inf or NaN where the reference is finite but beyond the computation type's range
//        (within the tolerance), an infinity with the reference's sign, or where sum|terms| is
//        (an intermediate, e.g. a weight times an upstream gradient, overflows; NaN from its
//        inf - inf);
//      - a mean over a total weight of 0 whose sum is within its tolerance of 0: any non-finite
//        value (the sign of a rounding error decides between +-inf and NaN; check_reduced);
//      - else |got - expected| <= tol, a norm-wise bound tol = k * eps(S) * sum|terms| (+ a floor
//        for flushed subnormals), eps(S) = 2^-23 (float) or 2^-52 (double), sum|terms| the sum of
//        the magnitudes of the terms the function adds (each harness states them next to its
//        tolerance functions; each bound scales with the entry it checks, so that a wrong term --
//        e.g. -1 for p_y - 1 -- exceeds it). k (kUlps below) is 8: every error model here counts
//        its roundings into sum|terms| (a sum of C exps contributes C, a log of a value within
//        [1, C] its C, ...), so k only has to cover the few extra roundings of the vectorized
//        kernels (1-ulp exp and log, fused multiply-adds, the final rounding to S, float weights
//        and label smoothing rounded from double): 8 leaves a margin of 2 to 4 over what the unit
//        tests measured (XENT_TEST_REPORT_MARGIN) without hiding an error of one wrong term.
//        Every tolerance also allows k * denorm_min(S): results in the subnormal range are
//        multiples of it.
//  * One relaxation, documented and decided per output entry: xent promises its numerics for
//    logits up to +-1e30 (float) / +-1e300 (double). An entry whose own inputs (its sample's
//    logits and targets, the weights its formula multiplies in, its upstream factor) hold a
//    finite value beyond that (up to +-FLT_MAX) is still computed and checked for robustness --
//    no crash, no sanitizer report, the exception rules -- but its value is not compared, since
//    intermediates (a spread x_c - m, a product t * P, an exp near the underflow) overflow or
//    underflow the computation type there in ways no float formulation avoids (the fuzzers found
//    several: subnormal products, inf - inf). The same for the few products of in-range values
//    that leave S's range and for upstream gradients and weights no formulation can promise a
//    value for (infinite, or subnormal ones some harnesses name); each harness lists its cases
//    next to the code that decides them, and every other entry of the same call is compared.
//    XENT_FUZZ_STATS=1 reports the share of entries and cases compared (see Stats).
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>
#include <xent/reference.hpp>
#include <xent/tuning.hpp>
#include <xent/xent.hpp>

namespace xf {

using Eigen::Dynamic;
using Eigen::Index;
using LD = long double;
template <class S>
using ColMat = Eigen::Matrix<S, Dynamic, Dynamic, Eigen::ColMajor>;
template <class S>
using RowMat = Eigen::Matrix<S, Dynamic, Dynamic, Eigen::RowMajor>;
template <class S>
using Vec = Eigen::Matrix<S, Dynamic, 1>;
using LMat = ColMat<LD>;
using LVec = Vec<LD>;
using Mask = Eigen::Array<bool, Dynamic, Dynamic>;  // true: the entry is left unchecked

constexpr LD kUlps = 8;                // k of the norm-wise tolerance (see above)
constexpr Index kMaxElements = 65536;  // N * C at most

template <class S>
constexpr LD eps() {
  return static_cast<LD>(std::numeric_limits<S>::epsilon());
}

// The values xent documents its numerics for; beyond, see the relaxation above.
template <class S>
constexpr S documented_limit() {
  return std::is_same<S, float>::value ? S(1e30f) : S(1e300);
}

// ---- the byte decoder --------------------------------------------------------------------------
// Reads the fuzzer's bytes in order; once they are exhausted it continues with a splitmix64 stream
// seeded from all of them, so that a short input still fills a large matrix (deterministically) and
// the fuzzer controls the first decisions and values byte by byte.
class FuzzInput {
 public:
  FuzzInput(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {
    std::uint64_t h = 0x243F6A8885A308D3ull ^ size;
    for (std::size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 0x100000001B3ull;
    state_ = h;
  }

  std::uint8_t byte() {
    if (pos_ < size_) return data_[pos_++];
    return static_cast<std::uint8_t>(next() >> 56);
  }
  std::uint32_t u32() {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | byte();
    return v;
  }
  bool flag() { return (byte() & 1) != 0; }
  // An integer in [lo, hi] from one or two bytes.
  std::int64_t range(std::int64_t lo, std::int64_t hi) {
    const auto span = static_cast<std::uint64_t>(hi - lo) + 1;
    const std::uint64_t raw = span <= 256 ? byte() : (std::uint64_t{byte()} << 8 | byte());
    return lo + static_cast<std::int64_t>(raw % span);
  }

  // A dimension: 0, 1, small, a vector-width tail, medium or large (clamped by the caller).
  Index dim() {
    static constexpr Index kTails[] = {3,  4,  5,  7,  8,   9,   15,  16,  17,  31, 32,
                                       33, 63, 64, 65, 127, 128, 129, 255, 256, 257};
    switch (byte() % 10) {
      case 0:
        return 0;
      case 1:
        return 1;
      case 2:
      case 3:
      case 4:
        return static_cast<Index>(range(2, 12));
      case 5:
      case 6:
        return kTails[byte() % (sizeof(kTails) / sizeof(kTails[0]))];
      case 7:
      case 8:
        return static_cast<Index>(range(13, 300));
      default:
        return static_cast<Index>(range(300, 8192));
    }
  }
  // Two dimensions with a * b <= kMaxElements (the second shrunk when needed).
  void dims(Index& a, Index& b) {
    a = dim();
    b = dim();
    if (a > 0 && a * b > kMaxElements) b = kMaxElements / a;
  }

  // Chance of a special value among the matrix entries: none, some, many.
  void choose_special_rate() { special_rate_ = static_cast<int>(byte() % 4) * 24; }  // 0..72 of 256

  // A finite "ordinary" value: sign * mantissa * 2^exponent over a scale chosen per case.
  template <class S>
  S ordinary(int max_exponent = 6) {
    const auto m = static_cast<double>(static_cast<std::int16_t>(u16())) / 4096.0;  // [-8, 8)
    const int e = static_cast<int>(range(-max_exponent, max_exponent));
    return static_cast<S>(std::ldexp(m, e));
  }

  // A value of S: mostly ordinary, with the special rate: +-0, +-inf, NaN, subnormals, +-min
  // normal, +-max, +-1e30 / +-1e300 (the documented limit), large magnitudes (huge spreads).
  template <class S>
  S value() {
    using L = std::numeric_limits<S>;
    if (static_cast<int>(byte()) >= special_rate_) return ordinary<S>();
    const S sign = flag() ? S(-1) : S(1);
    switch (byte() % 12) {
      case 0:
        return sign * S(0);
      case 1:
        return sign * L::infinity();
      case 2:
        return L::quiet_NaN();
      case 3:
        return sign * L::denorm_min();
      case 4:
        return sign * L::denorm_min() * static_cast<S>(range(2, 1000));
      case 5:
        return sign * L::min();
      case 6:
        return sign * L::max();
      case 7:
        return sign * documented_limit<S>();
      case 8:
        return sign * static_cast<S>(std::ldexp(1.0, static_cast<int>(range(10, 100))));
      case 9:
        return -L::infinity();  // masked classes
      case 10:
        return sign * static_cast<S>(std::ldexp(1.0, static_cast<int>(range(-140, -20))));
      default:
        return sign * static_cast<S>(range(1, 100)) * S(1e6);
    }
  }

  // A class weight (or BCE weight / pos_weight): mostly exact multiples of 1/4 in [-2, 3] with
  // zeros and negatives, now and then any value of S (special ones at the case's rate). Always a
  // value of S, so that the library's conversion of the (double) weights to S is exact.
  template <class S>
  double weight() {
    const int b = byte() % 16;
    if (b < 2) return 0.0;
    if (b < 4) return -0.25 * static_cast<double>(range(1, 8));
    if (b < 14) return 0.25 * static_cast<double>(range(1, 12));
    return static_cast<double>(value<S>());
  }

 private:
  std::uint16_t u16() { return static_cast<std::uint16_t>((std::uint32_t{byte()} << 8) | byte()); }
  std::uint64_t next() {  // splitmix64
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
  std::uint64_t state_;
  int special_rate_ = 0;
};

// ---- tuning switches: the online row pass, streaming stores, the online lane pass ---------------
// The shapes here (N * C <= 65 536) stay below the default switches, so a case may move them to 0
// (always online / streaming) to reach those paths; every case sets all three.
struct Tuning {
  std::size_t online_row, stream, lane_strip;
  static const Tuning& defaults() {
    static const Tuning t{xent::online_row_bytes(), xent::stream_output_bytes(),
                          xent::online_lane_strip_bytes()};
    return t;
  }
  static std::string apply(FuzzInput& in) {
    const Tuning& d = defaults();
    const std::uint8_t b = in.byte();
    xent::set_online_row_bytes((b & 1) != 0 ? 0 : d.online_row);
    xent::set_stream_output_bytes((b & 2) != 0 ? 0 : d.stream);
    xent::set_online_lane_strip_bytes((b & 4) != 0 ? 0 : d.lane_strip);
    return std::string(" online_row=") + ((b & 1) != 0 ? "0" : "default") +
           " stream=" + ((b & 2) != 0 ? "0" : "default") +
           " lane_strip=" + ((b & 4) != 0 ? "0" : "default");
  }
};

// ---- the inputs as the library sees them --------------------------------------------------------
// A rows x cols matrix in one of four forms: a plain Matrix, column- or row-major, or a Map with an
// outer stride (padding holding NaN, so a read past a line shows up), column- or row-major. The
// harness dispatches on `kind` (visit_pair) to one template instantiation per form.
template <class S>
struct Storage {
  int kind = 0;  // 0: ColMat, 1: RowMat, 2: Map<ColMat> strided, 3: Map<RowMat> strided
  ColMat<S> col;
  RowMat<S> row;
  std::vector<S> padded;
  Index rows = 0, cols = 0, stride = 0;

  // The form from a byte: all four for float; for double (the second instantiation of every entry
  // point, compiled only "where cheap") a plain column-major Matrix or a strided row-major Map,
  // which between them still cover both storage orders and both kinds of view.
  static int decode_kind(std::uint8_t b) {
    if (std::is_same<S, float>::value) return b % 4;
    return (b & 1) != 0 ? 3 : 0;
  }

  static const char* name(int k) {
    static const char* names[] = {"ColMajor Matrix", "RowMajor Matrix", "ColMajor Map(OuterStride)",
                                  "RowMajor Map(OuterStride)"};
    return names[k];
  }
  using ColMap = Eigen::Map<ColMat<S>, 0, Eigen::OuterStride<>>;
  using RowMap = Eigen::Map<RowMat<S>, 0, Eigen::OuterStride<>>;

  Storage(int k, const ColMat<S>& m) : kind(k), rows(m.rows()), cols(m.cols()) {
    switch (kind) {
      case 0:
        col = m;
        break;
      case 1:
        row = m;
        break;
      default: {
        const bool row_major = kind == 3;
        stride = (row_major ? cols : rows) + 3;
        padded.assign(static_cast<std::size_t>(stride * (row_major ? rows : cols) + 3),
                      std::numeric_limits<S>::quiet_NaN());
        if (row_major) {
          row_map() = m;
        } else {
          col_map() = m;
        }
      }
    }
  }
  ColMap col_map() { return ColMap(padded.data(), rows, cols, Eigen::OuterStride<>(stride)); }
  RowMap row_map() { return RowMap(padded.data(), rows, cols, Eigen::OuterStride<>(stride)); }

  // f(a_view, b_view) with two matrices of the same form (one instantiation per form).
  template <class F>
  static void visit_pair(Storage& a, Storage& b, F&& f) {
    if constexpr (std::is_same<S, float>::value) {
      switch (a.kind) {
        case 0:
          f(a.col, b.col);
          break;
        case 1:
          f(a.row, b.row);
          break;
        case 2:
          f(a.col_map(), b.col_map());
          break;
        default:
          f(a.row_map(), b.row_map());
          break;
      }
    } else {
      if (a.kind == 0) {
        f(a.col, b.col);
      } else {
        f(a.row_map(), b.row_map());
      }
    }
  }
};

// ---- how much is value-checked ----------------------------------------------------------------
// XENT_FUZZ_STATS=1 prints at exit, per harness: the cases, those where some call returned a result
// (the others threw the expected exception everywhere), those where at least one returned entry was
// compared with the reference, and the share of returned entries compared (the rest were left
// unchecked as beyond the documented range).
struct Stats {
  long cases = 0, returned = 0, compared = 0;
  long long entries = 0, entries_compared = 0;
  bool case_returned = false, case_compared = false;
  std::string harness;
  void entry(bool was_compared) {
    ++entries;
    case_returned = true;
    if (was_compared) {
      ++entries_compared;
      case_compared = true;
    }
  }
  void end_case() {
    ++cases;
    returned += case_returned ? 1 : 0;
    compared += case_compared ? 1 : 0;
    case_returned = case_compared = false;
  }
  ~Stats() {
    const char* env = std::getenv("XENT_FUZZ_STATS");
    if (env == nullptr || std::strcmp(env, "1") != 0 || cases == 0) return;
    std::fprintf(
        stderr,
        "xent fuzz stats (%s): %ld cases, %ld returned a result, %ld value-checked "
        "(%.1f %% of those); %lld of %lld returned entries compared (%.1f %%)\n",
        harness.c_str(), cases, returned, compared,
        returned ? 100.0 * static_cast<double>(compared) / static_cast<double>(returned) : 0.0,
        entries_compared, entries,
        entries ? 100.0 * static_cast<double>(entries_compared) / static_cast<double>(entries)
                : 0.0);
  }
};
inline Stats& stats() {
  static Stats s;
  return s;
}

// ---- the case description, failure report ------------------------------------------------------

// Finite value or 0 (for magnitudes entering a tolerance).
inline LD finite_or_zero(LD v) { return std::isfinite(v) ? v : LD(0); }

inline std::string text(LD v) {
  std::ostringstream os;
  os.precision(21);
  os << v;
  return os.str();
}

struct Case {
  std::string harness;
  std::string description;  // scalar, shape, layout, storage, options: filled by the harness
  // Optional: the inputs of the sample holding entry (i, j) of the checked result, for the report.
  std::function<std::string(Index, Index)> explain;
  mutable Index fail_i = -1, fail_j = -1;
  mutable bool per_sample_result = false;  // the checked result has one entry per sample (n, 0)

  [[noreturn]] void fail(const std::string& fn, const std::string& what) const {
    std::fprintf(stderr, "\n==== xent fuzz finding (%s) ====\nfunction: xent::%s\ncase: %s\n%s\n",
                 harness.c_str(), fn.c_str(), description.c_str(), what.c_str());
    if (explain && fail_i >= 0) {
      std::fprintf(stderr, "inputs: %s\n", explain(fail_i, fail_j).c_str());
    }
    std::fflush(stderr);
    std::abort();
  }

  // One entry: got (the library) against expected (the reference in long double) within tol.
  // skip: no value is promised for the entry's own inputs (the harness decides per output entry,
  // see the relaxation above): robustness and the exception rules only.
  template <class S>
  void check(const std::string& fn, const char* what, Index i, Index j, S got_s, LD expected,
             LD tol, bool skip = false) const {
    stats().harness = harness;
    stats().entry(!skip);
    if (skip) return;
    const LD got = static_cast<LD>(got_s);
    const LD max = static_cast<LD>(std::numeric_limits<S>::max());
    // A result in S's subnormal range is rounded to a multiple of denorm_min: every tolerance
    // allows k of them (the norm-wise bound alone vanishes with a tiny upstream gradient).
    tol += kUlps * static_cast<LD>(std::numeric_limits<S>::denorm_min());
    // And the rounding of the result itself to S (k ulps of it), which sum|terms| bounds only
    // when every term is accounted for.
    if (std::isfinite(expected)) tol += kUlps * eps<S>() * std::fabs(expected);
    // A reference below S's normal range: any result below it too. There a product with a
    // subnormal factor (a denorm_min upstream gradient or weight) is exact only to denorm_min and
    // then scaled by the other factors, so no relative bound holds.
    const LD min_normal = static_cast<LD>(std::numeric_limits<S>::min());
    if (std::fabs(expected) < min_normal) tol = std::max(tol, min_normal);
    // sum|terms| (tol / (k eps)) beyond S's range: an intermediate of the result (a product
    // w * g, a sum of terms) overflows S even where the result itself is in range.
    const bool terms_overflow = tol >= kUlps * eps<S>() * max;
    // The reference beyond S's range: an infinity, or NaN from an overflowed intermediate
    // (inf - inf), is all S can give there.
    const bool reference_overflows = std::isfinite(expected) && std::fabs(expected) + tol >= max;
    bool ok;
    if (terms_overflow && !std::isfinite(got)) {
      ok = true;  // an overflowed intermediate: inf, or NaN from inf - inf (of either sign)
    } else if (reference_overflows && !std::isfinite(got)) {
      ok = std::isinf(got) ? (got > 0) == (expected > 0) : true;
    } else if (!std::isfinite(expected) || !std::isfinite(got)) {
      // A non-finite reference (the special-value rules: NaN propagates, a +inf or all -inf row
      // gives NaN, a masked target gives +inf, ...): exactly the same value, NaN for NaN.
      ok = got == expected || (std::isnan(got) && std::isnan(expected));
    } else {
      ok = std::fabs(got - expected) <= tol;
    }
    if (!ok) {
      fail_i = i;
      fail_j = j;
      fail(fn, std::string(what) + " at (" + std::to_string(i) + ", " + std::to_string(j) +
                   "): got " + text(got) + ", expected " + text(expected) + ", |diff| " +
                   text(std::fabs(got - expected)) + ", allowed " + text(tol));
    }
  }

  // A whole matrix (any Eigen expression of S) against the reference with per-entry tolerances.
  // skip (optional, expected's shape): the entries left unchecked.
  template <class M>
  void check_matrix(const std::string& fn, const char* what, const M& got, const LMat& expected,
                    const LMat& tol, const Mask* skip = nullptr) const {
    using S = typename M::Scalar;
    if (got.rows() != expected.rows() || got.cols() != expected.cols()) {
      fail(fn, std::string(what) + ": shape " + std::to_string(got.rows()) + "x" +
                   std::to_string(got.cols()) + ", expected " + std::to_string(expected.rows()) +
                   "x" + std::to_string(expected.cols()));
    }
    for (Index j = 0; j < got.cols(); ++j)
      for (Index i = 0; i < got.rows(); ++i)
        check<S>(fn, what, i, j, got(i, j), expected(i, j), tol(i, j),
                 skip != nullptr && (*skip)(i, j));
  }
  // A reduced loss: `expected` = reference sum (Sum) or sum / W (Mean); sum_tol bounds the error
  // of the sum. The mean divides it by |W| (W, the mean's denominator, computed by the harness with
  // a compensated sum, is the library's to its rounding to double). With W = 0 the mean is a
  // division by zero: when the sum is within its tolerance of 0 any non-finite result (or the
  // reference's) is accepted, since the sign of a rounding error then decides between +-inf/NaN.
  // skip: some term is not promised (see check).
  template <class S>
  void check_reduced(const std::string& fn, const char* what, S got, LD expected, LD sum_tol,
                     bool mean, LD W, LD expected_sum, bool skip) const {
    if (!skip && mean && W == 0 && std::fabs(expected_sum) <= sum_tol &&
        !std::isfinite(static_cast<LD>(got))) {
      stats().entry(true);
      return;
    }
    // The sum's terms beyond S's range: an overflowed intermediate, any non-finite result, also
    // where the mean's division would bring the reference back into range (found: nll_loss's mean
    // of 424 * DBL_MAX and an inf: inf - inf = NaN, the reference's inf).
    const LD max = static_cast<LD>(std::numeric_limits<S>::max());
    if (!skip && sum_tol >= kUlps * eps<S>() * max && !std::isfinite(static_cast<LD>(got))) {
      stats().entry(true);
      return;
    }
    const LD tol = (mean ? sum_tol / std::fabs(W) : sum_tol) +
                   kUlps * eps<S>() * finite_or_zero(std::fabs(expected));
    check<S>(fn, what, 0, 0, got, expected,
             std::isfinite(tol) ? tol : std::numeric_limits<LD>::max(), skip);
  }

  // Bitwise the same (NaN == NaN): results documented to be bitwise equal.
  template <class A, class B>
  void check_same(const std::string& fn, const char* what, const A& a, const B& b) const {
    for (Index j = 0; j < a.cols(); ++j)
      for (Index i = 0; i < a.rows(); ++i) {
        const auto u = a(i, j), v = b(i, j);
        const bool same =
            (std::isnan(u) && std::isnan(v)) || (u == v && std::signbit(u) == std::signbit(v));
        if (!same) {
          fail(fn, std::string(what) + " at (" + std::to_string(i) + ", " + std::to_string(j) +
                       "): " + text(static_cast<LD>(u)) + " vs " + text(static_cast<LD>(v)) +
                       " (documented bitwise equal)");
        }
      }
  }
};

// Runs the library call `f` and checks the exception rule: f must throw exactly when the harness's
// own rules expect it (`expected`: an exception of the expected type, or null), of that type, with
// a message starting with
// "xent::<fn>" that names one of `arguments`. Returns true when f returned normally (the caller
// then compares values).
template <class F>
bool call(const Case& c, const std::string& fn, const std::exception_ptr& expected,
          const std::vector<const char*>& arguments, F&& f) {
  std::string got_type, message;
  try {
    f();
  } catch (const std::out_of_range& e) {
    got_type = "std::out_of_range";
    message = e.what();
  } catch (const std::invalid_argument& e) {
    got_type = "std::invalid_argument";
    message = e.what();
  } catch (const std::exception& e) {
    c.fail(fn, std::string("undocumented exception type (std::exception): ") + e.what());
  } catch (...) {
    c.fail(fn, "undocumented exception of a non-std type");
  }
  std::string want_type;
  if (expected) {
    try {
      std::rethrow_exception(expected);
    } catch (const std::out_of_range&) {
      want_type = "std::out_of_range";
    } catch (const std::invalid_argument&) {
      want_type = "std::invalid_argument";
    } catch (...) {
      want_type = "?";
    }
  }
  if (got_type.empty() && want_type.empty()) return true;
  if (got_type != want_type) {
    c.fail(fn, "exception mismatch: got " +
                   (got_type.empty() ? "none" : got_type + " (" + message + ")") + ", expected " +
                   (want_type.empty() ? "none" : want_type));
  }
  if (message.rfind("xent::" + fn + ":", 0) != 0) {
    c.fail(fn, "exception message does not start with \"xent::" + fn + ":\": " + message);
  }
  bool named = false;
  for (const char* a : arguments) named = named || message.find(a) != std::string::npos;
  if (!named) c.fail(fn, "exception message names no argument: " + message);
  return false;
}

// The factor d(reduced loss)/d(per-sample loss) as the library rounds it: grad_output / W in
// double, then S (detail::reduction_scale). The reference gets it as a sum's grad_output, so that a
// factor that underflows S (grad_output = denorm_min) does not count as an error of the gradient.
template <class S>
LD lib_scale(S grad_output, bool mean, LD W) {
  const double g = static_cast<double>(grad_output);
  return static_cast<LD>(static_cast<S>(mean ? g / static_cast<double>(W) : g));
}

// ---- which inputs lie beyond the documented range (see the relaxation at the top) ---------------
// The harnesses decide per output entry, from the inputs that entry depends on: a sample's logits
// and targets, the weights its formula multiplies in, its upstream factor.

// A finite value beyond the documented limit of S (v holds a value of S).
template <class S>
bool beyond_limit(LD v) {
  return std::isfinite(v) && std::fabs(v) > static_cast<LD>(documented_limit<S>());
}

// An upstream gradient or a class weight no value is promised for: beyond the limit, infinite,
// NaN or subnormal. The reference multiplies it into every coefficient, 0 included (0 * inf =
// NaN), where the library may scale a sum it has formed first (and get the limit); where a NaN
// weight meets a zero target the reference skips the term (0 log 0 = 0) while the library forms
// 0 * NaN (found by fuzz_class_prob); a mean over a subnormal total weight divides subnormal
// products, exact only to denorm_min (found by fuzz_class_index: a mean of 15 against 15.36).
template <class S>
bool unpromised_factor(LD v) {
  return beyond_limit<S>(v) || !std::isfinite(v) ||
         (v != 0 && std::fabs(v) < static_cast<LD>(std::numeric_limits<S>::min()));
}

// v rounds to an infinity in S (beyond S's range by more than half an ulp).
template <class S>
bool overflows(LD v) {
  return std::isinf(static_cast<S>(v));
}

// The spread of row n's finite logits (max - min, 0 if fewer than two): a coefficient times it
// beyond S's range overflows S where the reference's long double does not (found by
// fuzz_class_index: w = 2^28 with a logit of 1e300 among ordinary ones, double; PyTorch's
// sum_c w_c log p_c overflows there as well).
inline LD row_spread(const LMat& xr, Index n) {
  LD lo = std::numeric_limits<LD>::infinity(), hi = -lo;
  for (Index c = 0; c < xr.cols(); ++c)
    if (std::isfinite(xr(n, c))) {
      lo = std::min(lo, xr(n, c));
      hi = std::max(hi, xr(n, c));
    }
  return hi > lo ? hi - lo : LD(0);
}

// The skip mask of a samples-in-rows result (N x C, or N x 1 for per-sample results) in the
// layout, from one flag per sample.
inline Mask sample_mask(const std::vector<bool>& skip_sample, Index C, xent::Layout layout) {
  const auto N = static_cast<Index>(skip_sample.size());
  Mask m(N, C);
  for (Index n = 0; C > 0 && n < N; ++n)
    m.row(n).setConstant(skip_sample[static_cast<std::size_t>(n)]);
  if (layout == xent::Layout::SamplesInRows) return m;
  return m.transpose();
}

inline const char* layout_name(xent::Layout l) {
  return l == xent::Layout::SamplesInRows ? "SamplesInRows" : "SamplesInColumns";
}

template <class S>
const char* scalar_name() {
  return std::is_same<S, float>::value ? "float" : "double";
}

inline std::string shape_text(Index rows, Index cols) {
  return std::to_string(rows) + "x" + std::to_string(cols);
}

// The N x C (samples in rows) long double copy of a matrix in the given layout.
template <class M>
LMat rows_of(const M& m, xent::Layout layout) {
  if (layout == xent::Layout::SamplesInRows) return m.template cast<LD>();
  return m.transpose().template cast<LD>();
}
inline LMat in_layout(const LMat& rows, xent::Layout layout) {
  if (layout == xent::Layout::SamplesInRows) return rows;
  return rows.transpose();
}

// cross_entropy_forward_backward_in_place over a plain copy of x, against forward_backward on the
// same plain copy: bitwise equality is documented for the same input (a strided Map may take
// another kernel, so not for x itself). Called once forward_backward has been accepted.
template <class S, class X, class Targets, class Options>
void check_in_place_matches_fused(const Case& c, const X& x, const Targets& targets,
                                  const Options& opts) {
  const xent::detail::PlainMatrix<X> x_plain = x;
  xent::detail::PlainMatrix<X> plain_grad;
  const S plain_loss = xent::cross_entropy_forward_backward(x_plain, targets, plain_grad, opts);
  xent::detail::PlainMatrix<X> in_place_grad = x_plain;
  const S in_place = xent::cross_entropy_forward_backward_in_place(in_place_grad, targets, opts);
  c.check_same("cross_entropy_forward_backward_in_place", "gradient", in_place_grad, plain_grad);
  Eigen::Matrix<S, 1, 1> a, b;
  a(0) = in_place;
  b(0) = plain_loss;
  c.check_same("cross_entropy_forward_backward_in_place", "loss", a, b);
}

// The harnesses' LLVMFuzzerTestOneInput: the input's first flag picks double or float.
inline int run_float_or_double(const std::uint8_t* data, std::size_t size,
                               void (*run_float)(FuzzInput&), void (*run_double)(FuzzInput&)) {
  FuzzInput in(data, size);
  if (in.flag()) {
    run_double(in);
  } else {
    run_float(in);
  }
  stats().end_case();
  return 0;
}

}  // namespace xf
