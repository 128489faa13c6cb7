// The accuracy study's bounds (issue 5), pinned: xent's errors on the cells of
// tools/accuracy/cells.hpp, recomputed here against the same long-double truth, must meet the
// committed figures of tools/accuracy/results.csv (written by tools/accuracy/run.sh; PyTorch's
// figures are read from it, so no torch is needed here).
//
// Per cell and function (the error measure is ulps of the correctly rounded float, cells.hpp):
// - xent's mean error must not exceed its committed mean (at most PyTorch's where the issue's
//   target was met) by more than an instruction-set allowance (below: the figures come from one
//   AVX-512 build, and xent's results differ in the last bits between AVX-512, AVX2, SSE2 and
//   scalar builds);
// - where the committed run met the target against PyTorch, the max must still meet it:
//   xent's max error <= PyTorch's max + 0.5 ulp, up to the same allowance; where it missed
//   (tools/accuracy/README.md explains each miss), xent's max must not exceed its own committed
//   figure by more than the allowance;
// - per sample, cross-entropy and (without smoothing) the gradient's target entry are within
//   4 ulp of the truth (the target; full relative precision as p_y -> 1 on the cells
//   whose 1 - p_y reaches 1e-26). It holds because each shift x_c - m enters its exp with its
//   rounding error folded back (simd::exp_difference): before, the rounded shift alone cost up
//   to |x_c - m| / 2 ulp (64 ulp measured).
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <tuple>

#include "../tools/accuracy/cells.hpp"
#include "catch.hpp"

namespace {

using namespace xacc;

// Instruction-set allowances. results.csv comes from an AVX-512 build (g++ -O2 -march=native),
// where the compiler also contracts the scalar epilogues (target entry, smoothing terms) into
// FMAs. That build gets 0.5 ulp on a max and 0.02 on a mean (clang and g++ contract differently).
// The SSE2 and AVX2 builds round differently (SSE2: no FMA, each product rounded; fewer vector
// accumulators): SSE2 measures up to 0.08 ulp more on a cell's mean error at C <= 1000 (the cells
// these builds run; 0.40 at C = 32 768), up to 1 ulp more on its max. Figures of thousands of ulps
// (cancellations) move with any last-bit change: 1 % of them is allowed too. The scalar fallback
// (no FMA, one lane) meets the same allowances. The per-sample bounds hold on every build and
// every cell.
#if defined(__AVX512F__) && defined(__FMA__) && !defined(XENT_SIMD_SCALAR)
#define XENT_ACCURACY_FIGURES_TIER 1  // the tier results.csv was measured on
constexpr double kMaxSlack = 0.5, kMeanSlack = 0.02, kRelativeSlack = 0.01;
#else
#define XENT_ACCURACY_FIGURES_TIER 0
constexpr double kMaxSlack = 1.0, kMeanSlack = 0.25, kRelativeSlack = 0.01;
#endif

struct Committed {
  double max, mean;
};

// (cell, function, contender) -> committed figures.
std::map<std::tuple<int, std::string, std::string>, Committed> read_results() {
  std::ifstream in(XENT_TEST_DATA_DIR "/../tools/accuracy/results.csv");
  REQUIRE(in);
  std::map<std::tuple<int, std::string, std::string>, Committed> out;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::stringstream ss(line);
    std::string f[11];
    for (auto& s : f) std::getline(ss, s, ',');
    out[{std::stoi(f[0]), f[5], f[6]}] = {std::stod(f[8]), std::stod(f[9])};
  }
  return out;
}

// The per-sample target.
constexpr double kPerSampleUlps = 4.0;

}  // namespace

TEST_CASE("accuracy: xent meets the committed bounds of tools/accuracy on every cell") {
  const auto committed = read_results();
  for (const Cell& cell : all_cells()) {
#if !XENT_TEST_FULL_SWEEP || !XENT_ACCURACY_FIGURES_TIER
    // The reduced sweep: C = 2, 10, 1000. Other tiers than the figures' own run only these: their
    // allowances were measured there, and beyond C = 1000 their long sums round differently (AVX2
    // at C = 262 144, N = 2: cross-entropy means 0.90 ulp against AVX-512's 0.40, softmax 1.07
    // against 0.65; PyTorch's 1.3e7 and 6.7), which the AVX-512 figures do not bound.
    if (cell.classes > 1000) continue;
#endif
    INFO("cell " << cell.id << ": " << cell_label(cell));
    const Inputs in = make_inputs(cell);
    const Results<LD> want = truth(in);
    const Results<float> got = run_xent(in);
    const std::vector<Stats> st = measure(cell, in, got, want);
    for (int f = 0; f < kFunctions; ++f) {
      if (!measured(cell, f)) continue;
      INFO("function " << function_name(f));
      const auto xi = committed.find({cell.id, function_name(f), "xent"});
      const auto ti = committed.find({cell.id, function_name(f), "pytorch"});
      REQUIRE(xi != committed.end());
      REQUIRE(ti != committed.end());
      const Committed x = xi->second, t = ti->second;
      const Stats& got_f = st[static_cast<std::size_t>(f)];
      const double max = got_f.max_or_inf(), mean = got_f.mean();
      INFO("xent max " << max << " mean " << mean << "; committed xent max " << x.max << " mean "
                       << x.mean << ", PyTorch max " << t.max << " mean " << t.mean);
      // The max: where the committed run met the target against PyTorch this is the target
      // (a cell's worst element moves far with a last-bit change where results cancel); where it
      // missed, xent's own committed figure; where PyTorch's max is infinite (non-finite
      // results), xent's own committed figure too. The mean: xent's own committed figure, which
      // is at most PyTorch's where the target was met (means are stable across builds), so that
      // an accuracy gain, once committed, stays (e.g. cross-entropy finished in double: C = 10
      // means 0.27 ulp, where PyTorch's are 0.35 and the float tail's were 0.36).
      const double max_bound = std::isinf(t.max) ? x.max : std::max(t.max + 0.5, x.max);
      const double mean_bound = x.mean;
      if (!std::isinf(max_bound)) CHECK(max <= max_bound * (1 + kRelativeSlack) + kMaxSlack);
      CHECK(mean <= mean_bound * (1 + kRelativeSlack) + kMeanSlack);
    }
    // Per sample: cross-entropy, and the gradient's target entry without smoothing.
    Index ce_bad = 0, target_bad = 0;
    for (Index i = 0; i < in.x.rows(); ++i) {
      const double bound = kPerSampleUlps;
      Stats ce, target;
      ce.add(want.ce(i), static_cast<LD>(got.ce(i)));
      target.add(want.grad(i, in.y(i)), static_cast<LD>(got.grad(i, in.y(i))));
      if (ce.nonfinite || ce.max > bound) {
        if (ce_bad++ == 0) WARN("sample " << i << ": CE error " << ce.max << " ulp > " << bound);
      }
      if (cell.kind != Kind::Smoothing && (target.nonfinite || target.max > bound)) {
        if (target_bad++ == 0)
          WARN("sample " << i << ": target gradient error " << target.max << " ulp > " << bound);
      }
    }
    // Masked cells: the truth is finite (no smoothing), so a non-finite loss would count here.
    CHECK(ce_bad == 0);
    CHECK(target_bad == 0);
  }
}
