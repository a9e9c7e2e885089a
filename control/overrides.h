// DOC: operators' overrides of backends — drain, disable, force-up, weight — kept apart from
// the configuration file so they survive a reload and a restart (persisted as JSON in the
// state directory), each with who set it and when.
//
// An override names a backend address, for one VIP (by name) or for every VIP ("*" — the
// common case: a host is drained everywhere it serves). A VIP-specific override wins over a
// "*" one for the same address. Control thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/ip_address.h"
#include "common/result.h"

namespace steer::control {

enum class AdminState : uint8_t {
  None,     // follow health
  Drain,    // weight 0: keeps established flows, takes no new ones
  Disable,  // removed from the dataplane: its flows move
  ForceUp,  // in service whatever its health checks say
};
std::string_view admin_state_name(AdminState s);

struct Override {
  std::string vip = "*";  // VIP name, or "*" for every VIP with this backend
  IpAddress address;
  AdminState admin = AdminState::None;
  std::optional<uint32_t> weight;  // replaces the configured weight
  uint32_t uid = 0;                // who set it (peer credentials of the CLI connection)
  std::string user;                // that uid's name, when known
  int64_t since_unix_ms = 0;
};

class Overrides {
 public:
  // Loads `path` (missing file: no overrides). Error: unreadable or malformed file.
  static Result<Overrides> load(std::string path);

  // The override in force for (vip, address): the VIP's own, else the "*" one, else none.
  const Override* find(std::string_view vip, const IpAddress& address) const;
  // Sets (merges into) the override for exactly (o.vip, o.address) and saves. A record left
  // with AdminState::None and no weight is removed.
  Result<void> set(Override o);
  const std::vector<Override>& all() const { return items_; }

 private:
  Result<void> save() const;
  std::string path_;
  std::vector<Override> items_;
};

}  // namespace steer::control
