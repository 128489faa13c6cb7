// xent: the SIMD instruction-set tier xent's kernels run, chosen when the program runs.
//
// A translation unit carries the tier its compiler flags select (SSE2 for a plain x86-64 build,
// AVX2 with -march=x86-64-v3, AVX-512 with -march=x86-64-v4, NEON on aarch64, scalar with
// XENT_SIMD_SCALAR) and, in a GCC or Clang build for x86-64 whose flags select SSE2, the AVX2 + FMA
// tier as well, compiled in a target region: the kernels that dispatch (see the README) then run
// the best tier the CPU has. The choice is made once per process and can be forced, for tests and
// benchmarks, by set_isa() or the environment variable XENT_ISA (read once, at first use).
#pragma once

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "detail/simd/isa.hpp"

namespace xent {

/// The SIMD tiers, by what they need: SSE2 (the x86-64 baseline), AVX2 (the x86-64-v3 set: AVX2,
/// FMA, F16C, BMI1/2, LZCNT), AVX-512 (the x86-64-v4 set: F, BW, DQ, VL), NEON (aarch64), scalar.
enum class Isa { Scalar, Sse2, Avx2, Avx512, Neon };

/// The tier's name as XENT_ISA spells it: "scalar", "sse2", "avx2", "avx512" or "neon".
inline const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Scalar:
      return "scalar";
    case Isa::Sse2:
      return "sse2";
    case Isa::Avx2:
      return "avx2";
    case Isa::Avx512:
      return "avx512";
    default:
      return "neon";
  }
}

namespace detail {

constexpr int kIsaAuto = -1;     // no request: the best tier the CPU and the unit have
constexpr int kIsaInvalid = -2;  // XENT_ISA holds no tier's name

// XENT_ISA's tier, kIsaAuto when unset or empty, kIsaInvalid for anything else.
inline int isa_from_text(const char* text) {
  if (text == nullptr || *text == '\0') return kIsaAuto;
  for (const Isa isa : {Isa::Scalar, Isa::Sse2, Isa::Avx2, Isa::Avx512, Isa::Neon}) {
    if (std::strcmp(text, isa_name(isa)) == 0) return static_cast<int>(isa);
  }
  return kIsaInvalid;
}

// The program's request (set_isa, else XENT_ISA read at first use): one setting for all units.
inline std::atomic<int>& isa_request() {
  static std::atomic<int> request{isa_from_text(std::getenv("XENT_ISA"))};
  return request;
}

// The CPU features a tier needs that this CPU lacks ("" when it has them all).
inline std::string missing_cpu_features(Isa isa) {
  std::string missing;
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
  // Before libgcc's own initializer may have run (a caller's static initializer): idempotent.
  __builtin_cpu_init();
  const auto need = [&missing](bool has, const char* name) {
    if (!has) missing += (missing.empty() ? "" : " ") + std::string(name);
  };
  switch (isa) {
    case Isa::Sse2:
      need(__builtin_cpu_supports("sse2"), "sse2");
      break;
    case Isa::Avx2:
      need(__builtin_cpu_supports("avx2"), "avx2");
      need(__builtin_cpu_supports("fma"), "fma");
#if !defined(__clang__)  // clang 14's builtin has no "f16c"; every AVX2 CPU has it
      need(__builtin_cpu_supports("f16c"), "f16c");
#endif
      need(__builtin_cpu_supports("bmi2"), "bmi2");
      break;
    case Isa::Avx512:
      need(__builtin_cpu_supports("avx512f"), "avx512f");
      need(__builtin_cpu_supports("avx512bw"), "avx512bw");
      need(__builtin_cpu_supports("avx512dq"), "avx512dq");
      need(__builtin_cpu_supports("avx512vl"), "avx512vl");
      break;
    case Isa::Neon:
      missing = "neon (an aarch64 CPU)";
      break;
    default:
      break;
  }
#elif defined(__aarch64__)
  if (isa != Isa::Scalar && isa != Isa::Neon)
    missing = std::string(isa_name(isa)) + " (an x86-64 CPU)";
#else
  if (isa != Isa::Scalar) missing = std::string(isa_name(isa)) + " (this compiler: no CPU check)";
#endif
  return missing;
}

}  // namespace detail

namespace detail {
inline namespace XENT_SIMD_ISA_NAMESPACE {

// The tier this unit's flags select.
constexpr Isa flags_isa() {
#if defined(XENT_SIMD_TIER_AVX512)
  return Isa::Avx512;
#elif defined(XENT_SIMD_TIER_AVX2)
  return Isa::Avx2;
#elif defined(XENT_SIMD_TIER_SSE2)
  return Isa::Sse2;
#elif defined(XENT_SIMD_TIER_NEON)
  return Isa::Neon;
#else
  return Isa::Scalar;
#endif
}

// Whether this unit has code for the tier: the flags' tier, and AVX2 where a target region
// compiles it (XENT_SIMD_DISPATCH_AVX2: a GCC or Clang build for x86-64 whose flags select SSE2,
// unless XENT_NO_DISPATCH is defined).
constexpr bool unit_has_isa(Isa isa) {
#if defined(XENT_SIMD_DISPATCH_AVX2)
  if (isa == Isa::Avx2) return true;
#endif
  return isa == flags_isa();
}

// The best tier of this unit the CPU runs (decided once).
inline Isa best_isa() {
  static const Isa best = [] {
    for (const Isa isa : {Isa::Avx512, Isa::Avx2}) {
      if (unit_has_isa(isa) && missing_cpu_features(isa).empty()) return isa;
    }
    return flags_isa();
  }();
  return best;
}

// Why this unit cannot run the tier on this CPU ("" when it can).
inline std::string isa_unavailable(Isa isa) {
  if (!unit_has_isa(isa)) {
    return std::string("this build has no ") + isa_name(isa) +
           " code (its tiers: " + isa_name(flags_isa()) +
           (unit_has_isa(Isa::Avx2) && flags_isa() != Isa::Avx2 ? ", avx2" : "") + ")";
  }
  const std::string missing = missing_cpu_features(isa);
  return missing.empty() ? std::string() : "the CPU lacks " + missing;
}

}  // namespace XENT_SIMD_ISA_NAMESPACE
}  // namespace detail

inline namespace XENT_SIMD_ISA_NAMESPACE {

/// The tier xent's dispatching kernels run in this program: the one set_isa() or XENT_ISA forced,
/// else the best tier both the CPU and the build have.
/// Throws std::invalid_argument if XENT_ISA holds no tier's name, std::runtime_error if it names a
/// tier this CPU or build cannot run (naming what is missing).
inline Isa active_isa() {
  const int request = detail::isa_request().load(std::memory_order_relaxed);
  if (request == detail::kIsaAuto) return detail::best_isa();
  if (request == detail::kIsaInvalid) {
    throw std::invalid_argument(std::string("xent: XENT_ISA=\"") + std::getenv("XENT_ISA") +
                                "\" is not a tier: expected scalar, sse2, avx2, avx512 or neon");
  }
  const auto isa = static_cast<Isa>(request);
  const std::string why = detail::isa_unavailable(isa);
  if (!why.empty()) {
    throw std::runtime_error(std::string("xent: XENT_ISA=") + isa_name(isa) +
                             " cannot run: " + why);
  }
  return isa;
}

/// Forces the tier for the whole program (tests, benchmarks). Throws std::runtime_error naming what
/// is missing if the CPU lacks the tier's instructions or the build has no code for it; the setting
/// is then unchanged.
inline void set_isa(Isa isa) {
  const std::string why = detail::isa_unavailable(isa);
  if (!why.empty()) {
    throw std::runtime_error(std::string("xent::set_isa(") + isa_name(isa) + "): " + why);
  }
  detail::isa_request().store(static_cast<int>(isa), std::memory_order_relaxed);
}

/// Returns to the automatic choice (the best tier of the CPU and the build), ignoring XENT_ISA.
inline void reset_isa() {
  detail::isa_request().store(detail::kIsaAuto, std::memory_order_relaxed);
}

}  // namespace XENT_SIMD_ISA_NAMESPACE
}  // namespace xent
