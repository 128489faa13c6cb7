// xent: tuning settings that change how (never what) the kernels compute.
//
// Like xent/threads.hpp this header is outside the instruction-set namespace: the setting is one
// value for the whole program, whatever -m flags each translation unit was built with.
#pragma once

#include <atomic>
#include <cstddef>

namespace xent {
namespace detail {
// 512 KiB, half of L2, measured on the development machine (AVX-512, L2 1 MiB per core, L3 32 MiB;
// float, 1 thread; the bytes are the row's logits, twice that for functions that write a row): with
// the next row prefetched during the exp pass, two passes beat the online pass for rows the L2
// keeps between them. Rows of 512 KiB (64 x 128000, 128 x 100000): cross_entropy forward and
// logsumexp 7.6-8.1 Gelem/s with two passes, 5.5-6.3 online; cross_entropy_forward_backward 4.2-4.9
// online, 3.1-3.5 with two passes (row and gradient 1 MiB); at 1 MiB rows (32 x 262144) the
// forward is the same both ways. Rows up to 128 KiB: two passes 5-10 % faster everywhere.
constexpr std::size_t kDefaultOnlineRowBytes = std::size_t(512) << 10;

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

/// Sets, for the whole program, the row size beyond which a contiguous row takes the block-wise
/// online pass. Rows (samples) whose two passes would keep more than `bytes` bytes in cache, their
/// logits and, in functions that write a row of results (gradients, softmax, log_softmax), that
/// row too, take the block-wise online pass (running max per block, read once from memory);
/// shorter rows take two passes (max, then exp). 0 sends every row through the online pass.
/// Results agree within rounding, not bitwise.
inline void set_online_row_bytes(std::size_t bytes) {
  detail::online_row_bytes_setting().store(bytes, std::memory_order_relaxed);
}

/// The current switch point of set_online_row_bytes(), in bytes (default 512 KiB: 128 Ki float
/// logits in the forward, 64 Ki in the functions that write a row).
inline std::size_t online_row_bytes() {
  return detail::online_row_bytes_setting().load(std::memory_order_relaxed);
}

/// Sets, for the whole program, the output size beyond which non-temporal stores are used.
/// Functions that write a whole N x C matrix (log_softmax, softmax and their backward, row-major
/// contiguous rows) use non-temporal stores when that output occupies more than `bytes` bytes: an
/// output far larger than the last-level cache would be evicted before it is read again, and a
/// regular store first reads every line it writes (12 instead of 8 bytes of memory traffic per
/// element). 0 streams every such output; `SIZE_MAX` never does. Results are bitwise the same.
inline void set_stream_output_bytes(std::size_t bytes) {
  detail::stream_output_bytes_setting().store(bytes, std::memory_order_relaxed);
}

/// The current threshold of set_stream_output_bytes(), in bytes of output (default 8 MiB).
inline std::size_t stream_output_bytes() {
  return detail::stream_output_bytes_setting().load(std::memory_order_relaxed);
}

// The setting of set_online_lane_strip_bytes (below; the lane kernels: detail/lane_kernels.hpp).
namespace detail {
// 8 MiB (a quarter of the development machine's 32 MiB L3; see lane_online in lane_kernels.hpp).
constexpr std::size_t kDefaultOnlineLaneStripBytes = std::size_t(8) << 20;
inline std::atomic<std::size_t>& online_lane_strip_bytes_setting() {
  static std::atomic<std::size_t> setting{kDefaultOnlineLaneStripBytes};
  return setting;
}
}  // namespace detail

/// Sets, for the whole program, the strip size beyond which the lane kernels take one online pass.
/// Lane-per-sample strips (samples adjacent in memory: up to 256 samples, a SIMD lane each) whose
/// logits occupy more than `bytes` bytes find the max and the sum of exps in one online pass (the
/// sum rescaled when a lane's max grows) rather than two: worth it only when each pass streams the
/// strip from DRAM. 0 sends every strip through the online pass. Results agree within rounding,
/// not bitwise.
inline void set_online_lane_strip_bytes(std::size_t bytes) {
  detail::online_lane_strip_bytes_setting().store(bytes, std::memory_order_relaxed);
}

/// The current switch point of set_online_lane_strip_bytes(), in bytes of one strip of logits
/// (default 8 MiB).
inline std::size_t online_lane_strip_bytes() {
  return detail::online_lane_strip_bytes_setting().load(std::memory_order_relaxed);
}

}  // namespace xent
