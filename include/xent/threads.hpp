// xent: the number of threads the losses may use. Threads exist only when the program is compiled
// with OpenMP (-fopenmp); xent::xent never adds it. Results are bitwise identical for any thread
// count: work and sums are split into blocks that depend on the problem size alone.
#pragma once

#include <atomic>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace xent {
namespace detail {
inline std::atomic<int>& thread_setting() {
  static std::atomic<int> setting{0};  // 0: omp_get_max_threads()
  return setting;
}
}  // namespace detail

/// Sets the number of threads xent uses, for the whole program (n <= 0 restores the default,
/// `omp_get_max_threads()`). Without OpenMP (`-fopenmp`) xent runs on the calling thread whatever
/// the setting; results are bitwise identical for any thread count.
inline void set_num_threads(int n) { detail::thread_setting().store(n > 0 ? n : 0); }

/// The number of threads xent uses: the set_num_threads() setting, else `omp_get_max_threads()`;
/// 1 without OpenMP, and 1 inside an enclosing OpenMP parallel region.
inline int num_threads() {
#if defined(_OPENMP)
  if (omp_in_parallel()) return 1;
  const int n = detail::thread_setting().load();
  return n > 0 ? n : omp_get_max_threads();
#else
  return 1;
#endif
}

}  // namespace xent
