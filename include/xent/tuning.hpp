// xent: tuning settings that change how (never what) the kernels compute.
//
// Like xent/threads.hpp this header is outside the instruction-set namespace: the setting is one
// value for the whole program, whatever -m flags each translation unit was built with.
#pragma once

#include <atomic>
#include <cstddef>

namespace xent {
namespace detail {
// 64 KiB, measured on the development machine (AVX-512, L2 1-2 MiB per core, L3 32 MiB; float
// rows, 16 MiB of logits): the online pass is 5-15 % faster than two passes for rows of 128 KiB
// and more in every function, and for the forward already from 16 KiB; for the functions that
// write a row (fused gradient, softmax, log_softmax) two passes stay ahead up to 32-64 KiB.
constexpr std::size_t kDefaultOnlineRowBytes = std::size_t(64) << 10;

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

// The current switch point, in bytes of one row of logits (default 64 KiB).
inline std::size_t online_row_bytes() {
  return detail::online_row_bytes_setting().load(std::memory_order_relaxed);
}

}  // namespace xent
