// xent internals: a fixed split of the samples (or of a matrix's outer index) into blocks, run on
// xent::num_threads() threads, and per-block sums combined in block order -- so every result is
// bitwise the same whatever the thread count.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <array>

#include "../threads.hpp"
#include "reduce.hpp"
#include "simd/isa.hpp"

namespace xent {
namespace detail {
inline namespace XENT_SIMD_ISA_NAMESPACE {

// At most kMaxBlocks blocks of at least kMinBlock items, a power of two: the block size depends on
// n alone. Blocks grow up to kWideBlock items while that still leaves kWantBlocks of them (threads
// stay busy): the lane kernels (lane_kernels.hpp) run a strip within one block, and a column-major
// strip needs hundreds of samples per page it visits.
class Blocks {
 public:
  static constexpr Eigen::Index kMaxBlocks = 256;
  static constexpr Eigen::Index kMinBlock = 16;
  static constexpr Eigen::Index kWideBlock = 256;
  static constexpr Eigen::Index kWantBlocks = 16;

  explicit Blocks(Eigen::Index n) : n_(n) {
    const Eigen::Index want = std::max({kMinBlock, (n + kMaxBlocks - 1) / kMaxBlocks,
                                        std::min(kWideBlock, (n + kWantBlocks - 1) / kWantBlocks)});
    // A power of two, so finding an item's block (once per sample) is a shift, not a division.
    while ((Eigen::Index(1) << shift_) < want) ++shift_;
    size_ = Eigen::Index(1) << shift_;
  }
  Eigen::Index count() const { return (n_ + size_ - 1) / size_; }
  Eigen::Index of(Eigen::Index item) const { return item >> shift_; }
  Eigen::Index begin(Eigen::Index block) const { return block * size_; }
  Eigen::Index end(Eigen::Index block) const { return std::min(n_, (block + 1) * size_); }

 private:
  Eigen::Index n_, size_ = 1;
  int shift_ = 0;
};

// The threads worth using for `items` independent items of cost_per_item each (1 without OpenMP),
// for loops whose items write separate outputs and sum nothing (any split gives the same bits).
inline int threads_for(Eigen::Index items, Eigen::Index cost_per_item) {
#if defined(_OPENMP)
  constexpr Eigen::Index kMinWorkPerThread = 1 << 15;
  return static_cast<int>(std::min<Eigen::Index>(
      {static_cast<Eigen::Index>(num_threads()), std::max<Eigen::Index>(items, 1),
       std::max<Eigen::Index>(1, items * cost_per_item / kMinWorkPerThread)}));
#else
  (void)items;
  (void)cost_per_item;
  return 1;
#endif
}

// Calls f(k) for every k in [0, count), split statically over `threads` threads when OpenMP is on
// and threads > 1, then done() once on each of those threads, after its last f (for what only the
// thread itself can do, such as fencing its own non-temporal stores). Otherwise a plain loop and
// one done(), outside any OpenMP construct: a parallel region disabled by an if(false) clause still
// makes libgomp allocate a team on every call (found by test_no_allocation built with OpenMP).
// The only place xent uses OpenMP directly.
template <class F, class Done>
void parallel_for(Eigen::Index count, int threads, F&& f, Done&& done) {
#if defined(_OPENMP)
  if (threads > 1) {
#pragma omp parallel num_threads(threads)
    {
#pragma omp for schedule(static) nowait
      for (Eigen::Index k = 0; k < count; ++k) f(k);
      done();
    }
    return;
  }
#else
  static_cast<void>(threads);
#endif
  for (Eigen::Index k = 0; k < count; ++k) f(k);
  done();
}

template <class F>
void parallel_for(Eigen::Index count, int threads, F&& f) {
  parallel_for(count, threads, f, [] {});
}

// Calls f(begin, end) for every block, on several threads when OpenMP is on and the work
// (items * cost_per_item) is big enough to pay for them.
template <class F>
void for_each_block(const Blocks& blocks, Eigen::Index items, Eigen::Index cost_per_item, F&& f) {
  const Eigen::Index count = blocks.count();
  const auto threads = static_cast<int>(
      std::min<Eigen::Index>(threads_for(items, cost_per_item), std::max<Eigen::Index>(count, 1)));
  parallel_for(count, threads, [&](Eigen::Index b) { f(blocks.begin(b), blocks.end(b)); });
}

// One accumulator per block, filled concurrently (a block belongs to one thread), then summed in
// block order.
template <class Scalar>
class BlockSums {
 public:
  explicit BlockSums(const Blocks& blocks) : blocks_(blocks) {}
  void add(Eigen::Index item, double v) {
    sums_[static_cast<std::size_t>(blocks_.of(item))].add(v);
  }
  Accumulator<Scalar> total() const {
    Accumulator<Scalar> all;
    for (Eigen::Index b = 0; b < blocks_.count(); ++b) {
      all.add(sums_[static_cast<std::size_t>(b)].value());
    }
    return all;
  }

 private:
  const Blocks& blocks_;
  std::array<Accumulator<Scalar>, Blocks::kMaxBlocks> sums_{};
};

}  // namespace XENT_SIMD_ISA_NAMESPACE
}  // namespace detail
}  // namespace xent
