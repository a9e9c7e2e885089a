// DOC: operators' overrides of routes — announce, withdraw, drain — with who set them and
// when, persisted as JSON in steerd's state directory (bgp-overrides.json) so that they
// survive a restart (a drain continues where it was).
//
// Keyed by a route's label ("192.0.2.10", "group edge_v4"), which does not change when
// [bgp] protocol_prefix does. File format:
//   {"overrides": [{"unit": "192.0.2.10", "admin": "drain", "since_unix_ms": 1764115200000,
//                   "uid": 0, "user": "root"}]}
// ("address" instead of "unit": the first version of the file; still read.)
// Control thread only.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "bgp/policy.h"
#include "common/peer.h"
#include "common/result.h"

namespace steer::bgp {

struct RouteOverride {
  Admin admin = Admin::Auto;
  int64_t since_unix_ms = 0;
  Peer by;
};

class RouteOverrides {
 public:
  explicit RouteOverrides(std::string path = {}) : path_(std::move(path)) {}

  // Reads the file (missing: none). A malformed file or entry is skipped; the returned
  // error, if any, says so for the log (the overrides read so far stay).
  Result<void> load();
  // Sets (Admin::Auto: clears) the override of `label` and saves the file.
  Result<void> set(const std::string& label, Admin admin, const Peer& by, int64_t now_unix_ms);

  const RouteOverride* find(const std::string& label) const;
  const std::map<std::string, RouteOverride>& all() const { return items_; }
  const std::string& path() const { return path_; }

 private:
  Result<void> save() const;
  std::string path_;
  std::map<std::string, RouteOverride> items_;
};

}  // namespace steer::bgp
