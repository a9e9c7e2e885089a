// DOC: operators' DNS overrides — take a PoP, a service, or one service at one PoP out of
// DNS answers only (BGP keeps announcing, the dataplane keeps forwarding: for draining a PoP's
// new users without touching its established ones), persisted as JSON in the state directory
// (dns-overrides.json) with who set them and when, so they survive a reload and a restart.
//
// Keys: a PoP ("*" service: every service there), a service ("*" PoP: everywhere), or both.
// File format: {"overrides": [{"pop": "fra", "service": "*", "uid": 0, "user": "root",
// "since_unix_ms": 1764115200000}]}. Control thread only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/peer.h"
#include "common/result.h"

namespace steer::control {

struct DnsOverride {
  std::string pop = "*";
  std::string service = "*";
  uint32_t uid = 0;
  std::string user;
  int64_t since_unix_ms = 0;
};

class DnsOverrides {
 public:
  // Loads `path` (missing: none). Error: unreadable or malformed file.
  static Result<DnsOverrides> load(std::string path);

  // Takes (pop, service) out of DNS answers ("*" for every), or puts it back; saves.
  Result<void> disable(const std::string& pop, const std::string& service, const Peer& by,
                       int64_t now_unix_ms);
  // Removes the override of exactly (pop, service); false when there was none.
  Result<bool> enable(const std::string& pop, const std::string& service);

  // The override that takes `service` at `pop` out of answers, or nullptr.
  const DnsOverride* find(const std::string& pop, const std::string& service) const;
  const std::vector<DnsOverride>& all() const { return items_; }

 private:
  Result<void> save() const;
  std::string path_;
  std::vector<DnsOverride> items_;
};

}  // namespace steer::control
