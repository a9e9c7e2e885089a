// DOC: from configuration + health + overrides to what the dataplane should forward — one
// pure function, so every rule is unit-tested as input → output.
//
// Per backend of a VIP (first rule that applies):
//   disabled by an operator              -> down   (removed: its flows move)
//   forced up by an operator             -> up     (whatever the checks say)
//   health check Down                    -> down
//   health check not yet decided         -> down   (a new backend earns traffic)
//   drained by an operator, or weight 0  -> drain  (keeps its flows, no new ones)
//   otherwise                            -> up, with the override weight or the configured one
// A backend without a health check is healthy. A VIP is healthy when at least min_healthy of
// its backends are effectively up (drained ones take no new flows, so they do not count).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "control/config/config.h"
#include "control/health/damper.h"
#include "control/overrides.h"

namespace steer::control {

struct BackendView {
  IpAddress address;
  uint32_t config_weight = 1;
  std::string check;       // check name, "" = none
  std::string target_key;  // health target, "" = none
  health::State health = health::State::Up;
  const Override* override_ = nullptr;
  std::string effective;  // "up", "drain", "down"
  uint32_t weight = 0;    // effective weight (0 unless up)
  std::string why;        // one line for an operator
};

struct VipView {
  const VipConfig* config = nullptr;
  std::vector<BackendView> backends;
  uint32_t up = 0;        // backends effectively up
  uint32_t required = 0;  // min_healthy resolved against the backend count
  bool healthy = false;   // up >= required
};

// The health-check target of a backend of a VIP: "ADDRESS:PORT/CHECK", or "" without a check.
std::string target_key(const Config& config, const VipConfig& vip, const BackendConfig& backend);
uint16_t target_port(const Config& config, const VipConfig& vip, const BackendConfig& backend);

using HealthLookup = std::function<health::State(const std::string& target_key)>;

std::vector<VipView> compute_views(const Config& config, const HealthLookup& health,
                                   const Overrides& overrides);

// The dataplane's state document (docs/dataplane.md) for these views.
std::string desired_state_json(const std::vector<VipView>& views);

}  // namespace steer::control
