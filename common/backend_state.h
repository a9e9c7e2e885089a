// DOC: BackendState — what the dataplane does with a backend, the one vocabulary of steerd's
// rule (control/service_health.h), the desired-state document (common/state_doc.h), the
// dataplane and steerctl:
//   Up     in the Maglev table with its weight: new flows and its existing flows
//   Drain  weight 0: keeps its existing flows (flow table), takes no new ones
//   Down   removed: its flows move to other backends
// One name per state ("up", "drain", "down"), written and read only through these functions,
// and one rule for what a state does to a backend's weight: table_weight().
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include <fmt/format.h>

namespace steer {

enum class BackendState : uint8_t { Up, Drain, Down };

constexpr std::string_view backend_state_name(BackendState s) {
  switch (s) {
    case BackendState::Up:
      return "up";
    case BackendState::Drain:
      return "drain";
    case BackendState::Down:
      break;
  }
  return "down";
}

// "up", "drain" or "down"; nullopt for anything else.
constexpr std::optional<BackendState> parse_backend_state(std::string_view text) {
  for (BackendState s : {BackendState::Up, BackendState::Drain, BackendState::Down}) {
    if (backend_state_name(s) == text) return s;
  }
  return std::nullopt;
}

// The weight a backend in state `s` has in its VIP's Maglev table, given its configured
// `weight`: Up keeps it, Drain is 0 (flows stay, none new), Down is nullopt (not in the set).
constexpr std::optional<uint32_t> table_weight(BackendState s, uint32_t weight) {
  switch (s) {
    case BackendState::Up:
      return weight;
    case BackendState::Drain:
      return 0;
    case BackendState::Down:
      break;
  }
  return std::nullopt;
}

}  // namespace steer

template <>
struct fmt::formatter<steer::BackendState> : fmt::formatter<std::string_view> {
  template <class FormatContext>
  auto format(steer::BackendState s, FormatContext& ctx) const {
    return fmt::formatter<std::string_view>::format(steer::backend_state_name(s), ctx);
  }
};
