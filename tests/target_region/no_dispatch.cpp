// -DXENT_NO_DISPATCH: a plain x86-64 build without the AVX2 tier. No region is compiled, set_isa
// refuses AVX2 naming the build, and the flags' tier (SSE2) runs whatever the CPU.
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <xent/xent.hpp>

#if defined(XENT_SIMD_DISPATCH_AVX2)
#error "XENT_NO_DISPATCH must leave the AVX2 region out"
#endif

int main() {
  try {
    xent::set_isa(xent::Isa::Avx2);
    std::printf("FAIL: set_isa(avx2) accepted without the AVX2 tier\n");
    return 1;
  } catch (const std::runtime_error& e) {
    if (std::strstr(e.what(), "no avx2 code") == nullptr) {
      std::printf("FAIL: unexpected message: %s\n", e.what());
      return 1;
    }
  }
  const Eigen::MatrixXf x = Eigen::MatrixXf::Random(8, 300);
  const Eigen::MatrixXf p = xent::softmax(x);
  const bool ok = xent::active_isa() == xent::Isa::Sse2 && p.rowwise().sum().isOnes(1e-5f);
  std::printf("%s: active tier %s\n", ok ? "passed" : "FAIL", xent::isa_name(xent::active_isa()));
  return ok ? 0 : 1;
}
