// DOC: what changed between the running Config and a newly loaded one (reload / `check`).
//
// steerd applies only what the diff names: VIPs added, removed or with changed options,
// backends added, removed, re-weighted or re-checked, checks added, removed or changed. Keys
// read only at start-up are listed in restart_needed so the operator is told that the reload
// did not apply them. VIPs are matched by name, backends by address within their VIP, checks
// by name. Pure function on values: any thread.
#pragma once

#include <string>
#include <vector>

#include "common/ip_address.h"
#include "control/config/config.h"

namespace steer::control {

struct ConfigDiff {
  // VIP names. "changed": a VIP in both whose options other than its backends differ.
  std::vector<std::string> vips_added, vips_removed, vips_changed;
  struct BackendChange {
    std::string vip;
    IpAddress address;
    std::string what;  // "added", "removed", "weight 1 -> 3", "check a -> b" ("" shows as (none))
    friend bool operator==(const BackendChange&, const BackendChange&) = default;
  };
  // Only for VIPs in both configs (an added or removed VIP brings or takes all its backends).
  // A backend whose weight and check both change has two entries.
  std::vector<BackendChange> backends;
  std::vector<std::string> checks_added, checks_removed, checks_changed;
  // Keys read only at start-up: dataplane.socket, cli.socket, cli.group, cli.mode,
  // metrics.listen, state.dir, warmup.max_ms.
  std::vector<std::string> restart_needed;
  // Other process-wide keys that changed and apply on reload: pop.name, pop.region,
  // dataplane.push_interval_ms, dataplane.status_interval_ms, dataplane.stuck_after_ms, and
  // "bgp" and "dns" when those sections changed.
  std::vector<std::string> settings_changed;

  bool empty() const;
  // One human-readable line per change, each ending in '\n'; "" when empty().
  std::string summary() const;
};

ConfigDiff diff_configs(const Config& running, const Config& next);

}  // namespace steer::control
