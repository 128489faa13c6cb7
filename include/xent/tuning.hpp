// xent: tuning settings that change how (never what) the kernels compute.
//
// Like xent/threads.hpp this header is outside the instruction-set namespace: the setting is one
// value for the whole program, whatever -m flags each translation unit was built with.
#pragma once

#include <atomic>
#include <cstddef>

namespace xent {
namespace detail {
// 256 KiB, measured on the development machine (AVX-512, L2 1-2 MiB per core, L3 32 MiB; float
// rows, 16 and 64 MiB of logits): with the next row prefetched during the exp pass, two passes are
// 5-10 % faster than the online pass for rows up to 128 KiB, and the online pass 5-15 % faster for
// rows of 512 KiB and more, in the forward and in the functions that write a row.
constexpr std::size_t kDefaultOnlineRowBytes = std::size_t(256) << 10;

inline std::atomic<std::size_t>& online_row_bytes_setting() {
  static std::atomic<std::size_t> setting{kDefaultOnlineRowBytes};
  return setting;
}
}  // namespace detail

// Rows (samples) whose logits occupy more than `bytes` bytes take the block-wise online pass
// (running max per block, read once from memory); shorter rows take two passes (max, then exp).
// 0 sends every row through the online pass. Results agree within rounding, not bitwise.
inline void set_online_row_bytes(std::size_t bytes) {
  detail::online_row_bytes_setting().store(bytes, std::memory_order_relaxed);
}

// The current switch point, in bytes of one row of logits (default 256 KiB).
inline std::size_t online_row_bytes() {
  return detail::online_row_bytes_setting().load(std::memory_order_relaxed);
}

// Lane-per-sample strips (samples adjacent in memory, detail/lane_kernels.hpp) whose logits occupy
// more than `bytes` bytes find the max and the sum of exps in one online pass (the sum rescaled
// when a lane's max grows) rather than two: worth it only when each pass streams the strip from
// DRAM. 0 sends every strip through the online pass. Results agree within rounding, not bitwise.
namespace detail {
// 8 MiB (a quarter of the development machine's 32 MiB L3; see lane_online in lane_kernels.hpp).
constexpr std::size_t kDefaultOnlineLaneStripBytes = std::size_t(8) << 20;
inline std::atomic<std::size_t>& online_lane_strip_bytes_setting() {
  static std::atomic<std::size_t> setting{kDefaultOnlineLaneStripBytes};
  return setting;
}
}  // namespace detail

inline void set_online_lane_strip_bytes(std::size_t bytes) {
  detail::online_lane_strip_bytes_setting().store(bytes, std::memory_order_relaxed);
}

// The current switch point, in bytes of one strip of logits (default 8 MiB).
inline std::size_t online_lane_strip_bytes() {
  return detail::online_lane_strip_bytes_setting().load(std::memory_order_relaxed);
}

}  // namespace xent
