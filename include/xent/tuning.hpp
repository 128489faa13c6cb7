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

// 8 MiB, measured on the development machine (L3 32 MiB; float, 1 thread, buffers reused): at
// 4096 x 1000 (16 MiB out) streaming makes log_softmax 13 % and log_softmax_backward 12 % faster,
// at 16384 x 4096 20 % and 30 %; a plain copy loop gains from 16 MiB of output on and loses up to
// 30 % at 4-8 MiB, where input and output still fit in L3 together.
constexpr std::size_t kDefaultStreamOutputBytes = std::size_t(8) << 20;

inline std::atomic<std::size_t>& stream_output_bytes_setting() {
  static std::atomic<std::size_t> setting{kDefaultStreamOutputBytes};
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

// Functions that write a whole N x C matrix (log_softmax, softmax and their backward, row-major
// contiguous rows) use non-temporal stores when that output occupies more than `bytes` bytes: an
// output far larger than the last-level cache would be evicted before it is read again, and a
// regular store first reads every line it writes (12 instead of 8 bytes of memory traffic per
// element). 0 streams every such output; SIZE_MAX never does. Results are bitwise the same.
inline void set_stream_output_bytes(std::size_t bytes) {
  detail::stream_output_bytes_setting().store(bytes, std::memory_order_relaxed);
}

// The current threshold, in bytes of output (default 8 MiB).
inline std::size_t stream_output_bytes() {
  return detail::stream_output_bytes_setting().load(std::memory_order_relaxed);
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
