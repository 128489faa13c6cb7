// One program linking translation units that include xent with different -march flags (the
// situation of a program with a runtime-dispatched AVX2 file), built in every link order
// (tests/CMakeLists.txt), each unit calling every entry point with options built in main. Each unit
// must get its own copy of every xent function: had the two instantiations of xent::cross_entropy<MatrixXf, VectorXi> the
// same symbol, the linker would keep one body for both (one address), and a machine without AVX2
// could execute the AVX2 body from the baseline unit. The ISA-named inline namespace
// (detail/simd/isa.hpp) gives them different symbols, hence different addresses.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "odr_unit.hpp"

OdrUnit odr_baseline();
OdrUnit odr_avx2();
#if XENT_ODR_AVX512
OdrUnit odr_avx512();
#endif

namespace {

OdrInputs make_inputs() {
  OdrInputs in;
  const Eigen::Index n = 37, c = 11;
  in.x.resize(n, c);
  for (Eigen::Index i = 0; i < in.x.size(); ++i) in.x.data()[i] = std::sin(0.7f * float(i)) * 5;
  in.y.resize(n);
  for (Eigen::Index i = 0; i < n; ++i) in.y(i) = int(i % c);
  in.y(3) = -100;  // ignored
  in.probs = (in.x * 0.3f).array().exp().matrix();
  in.probs.array().colwise() /= in.probs.array().rowwise().sum();
  in.bce_targets = (in.x.array().cos() * 0.5f + 0.5f).matrix();
  in.bce_probs = (1 / (1 + (-in.x.array()).exp())).matrix();
  in.grad_rows = (in.x.array() * 0.25f).sin().matrix();
  in.grad_samples = Eigen::VectorXf::LinSpaced(n, -1, 2);
  const Eigen::VectorXf class_w = Eigen::VectorXf::LinSpaced(c, 0.5f, 2);
  const Eigen::VectorXd sample_w = Eigen::VectorXd::LinSpaced(n, 1, 3);
  in.ce.weight(class_w).label_smoothing(0.1);
  in.ce_prob.weight(class_w).label_smoothing(0.2).reduction(xent::Reduction::Sum);
  in.nll.weight(class_w).ignore_index(-100);
  in.bce.class_weight(class_w.transpose()).reduction(xent::Reduction::Sum);
  in.bce_logits.sample_weight(sample_w).pos_weight(class_w);
  return in;
}

// Two units' results: the same calls, different instruction sets, so equal to float rounding
// (exp/log within 1 ulp each, different summation orders per vector width); 1e-5 relative to the
// value or to 1, whichever is larger (gradient entries near 0 are differences of O(1) terms).
int compare(const char* a_name, const std::vector<double>& a, const char* b_name,
            const std::vector<double>& b) {
  if (a.size() != b.size()) {
    std::printf("FAILED: %s gave %zu values, %s %zu\n", a_name, a.size(), b_name, b.size());
    return 1;
  }
  int bad = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const bool same_nan = std::isnan(a[i]) && std::isnan(b[i]);
    if (!same_nan && !(std::fabs(a[i] - b[i]) <= 1e-5 * std::fmax(1.0, std::fabs(a[i])))) {
      if (bad++ < 5) std::printf("FAILED: value %zu: %s %.9g, %s %.9g\n", i, a_name, a[i], b_name, b[i]);
    }
  }
  std::printf("%s vs %s: %zu values, %d differ\n", a_name, b_name, a.size(), bad);
  return bad ? 1 : 0;
}

}  // namespace

int main() {
  std::vector<OdrUnit> units{odr_baseline(), odr_avx2()};
#if XENT_ODR_AVX512
  units.push_back(odr_avx512());
#endif
  int failures = 0;
  for (const OdrUnit& u : units) std::printf("unit: xent::%s\n", u.isa_namespace);
  if (std::strcmp(units[0].isa_namespace, units[1].isa_namespace) == 0) {
    // Only a build that forces one tier everywhere (XENT_SIMD_SCALAR) gets here: one body is right.
    std::printf("both units use the same instruction set: nothing to separate\n");
  } else if (units[0].cross_entropy == units[1].cross_entropy ||
             units[0].log_softmax == units[1].log_softmax) {
    std::printf("FAILED: the units share one xent function body across instruction sets\n");
    ++failures;
  }
  // Every entry point in the baseline unit (runs on any x86-64) and, where the CPU allows, in the
  // others, with the inputs and options of this (baseline) unit.
  const OdrInputs in = make_inputs();
  const std::vector<double> base = units[0].every_entry_point(in);
  for (double v : base) failures += !std::isfinite(v);  // none of these inputs gives NaN or inf
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    failures += compare(units[0].isa_namespace, base, units[1].isa_namespace,
                        units[1].every_entry_point(in));
  } else {
    std::printf("avx2 unit not run: the CPU lacks AVX2 or FMA\n");
  }
#if XENT_ODR_AVX512
  failures += compare(units[0].isa_namespace, base, units[2].isa_namespace,
                      units[2].every_entry_point(in));
#endif
  std::printf(failures ? "FAILED\n" : "passed\n");
  return failures ? 1 : 0;
}
