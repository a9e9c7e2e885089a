// DOC: wall-clock time as Unix micro/milliseconds, and conversions between the steady clock
// (what timers and ages use) and the wall clock (what operators and other processes read).
// Header-only; any thread.
#pragma once

#include <chrono>
#include <cstdint>

namespace steer {

inline int64_t unix_us_now() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline int64_t unix_ms_now() { return unix_us_now() / 1000; }

// A steady-clock instant as Unix milliseconds (by its distance from now). Computed at full
// precision and truncated once, so the same instant reads the same in two replies.
inline int64_t unix_ms_of(std::chrono::steady_clock::time_point t) {
  const auto ago = std::chrono::steady_clock::now() - t;
  const auto wall = std::chrono::system_clock::now() -
                    std::chrono::duration_cast<std::chrono::system_clock::duration>(ago);
  return std::chrono::duration_cast<std::chrono::milliseconds>(wall.time_since_epoch()).count();
}

// Unix milliseconds as a steady-clock instant (a persisted time brought back after a restart).
inline std::chrono::steady_clock::time_point steady_of_unix_ms(int64_t unix_ms) {
  return std::chrono::steady_clock::now() - std::chrono::milliseconds(unix_ms_now() - unix_ms);
}

}  // namespace steer
