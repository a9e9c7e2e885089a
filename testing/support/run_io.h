// DOC: test helper — drive an asio::io_context from a test's own thread until a condition
// holds, in small slices, so a test can wait for callbacks without sleeping blindly.
#pragma once

#include <chrono>
#include <functional>

#include <asio/io_context.hpp>

namespace steer::test {

// Runs `io` in slices of `step` until pred() holds or `limit` passes; returns pred().
inline bool run_io_until(asio::io_context& io, const std::function<bool()>& pred,
                         std::chrono::steady_clock::duration limit,
                         std::chrono::milliseconds step = std::chrono::milliseconds(5)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    io.restart();
    io.run_for(step);
  }
  return pred();
}

}  // namespace steer::test
