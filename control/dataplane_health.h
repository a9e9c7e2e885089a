// DOC: DataplaneHealth — steerd's judgement of steer-dataplane (control/dataplane_client.h
// makes it): Unknown until the first status poll, Alive, Stuck (a worker without heartbeat,
// or workers not switching to a pushed state), Down (not connected, not answering).
#pragma once

#include <cstdint>
#include <string_view>

#include <fmt/format.h>

namespace steer::control {

enum class DataplaneHealth : uint8_t { Unknown, Alive, Stuck, Down };

constexpr std::string_view dataplane_health_name(DataplaneHealth h) {
  switch (h) {
    case DataplaneHealth::Alive:
      return "alive";
    case DataplaneHealth::Stuck:
      return "stuck";
    case DataplaneHealth::Down:
      return "down";
    case DataplaneHealth::Unknown:
      break;
  }
  return "unknown";
}

}  // namespace steer::control

template <>
struct fmt::formatter<steer::control::DataplaneHealth> : fmt::formatter<std::string_view> {
  template <class FormatContext>
  auto format(steer::control::DataplaneHealth h, FormatContext& ctx) const {
    return fmt::formatter<std::string_view>::format(steer::control::dataplane_health_name(h), ctx);
  }
};
