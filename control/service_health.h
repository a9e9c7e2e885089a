// DOC: the service health — ONE rule, in one pure function, from everything steerd knows to
// the one value every consumer reads: the dataplane link (which backends get traffic), the
// BGP link (which routes are healthy), the CLI and metrics, and the DNS responder.
//
//   ServiceInputs { config, health verdicts, operator overrides, dataplane liveness, warm-up }
//        └─ compute_service_health() ─▶ ServiceHealth (immutable, generation-numbered)
//
// Per backend of a VIP (first rule that applies):
//   disabled by an operator              -> down   (removed: its flows move)
//   forced up by an operator             -> up     (whatever the checks say; drain if weight 0)
//   health check Down                    -> down
//   health check not yet decided         -> down   (a new backend earns traffic)
//   drained by an operator, or weight 0  -> drain  (keeps its flows, no new ones)
//   otherwise                            -> up, with the override weight or the configured one
// A backend without a health check is healthy.
// Per VIP: healthy when at least min_healthy of its backends are up (drained ones take no new
// flows, so they do not count) and at least one is.
// Per route (a VIP address — every VIP at it shares its /32 or /128 — and each [[bgp.group]]):
// healthy when all (or any, per [bgp] announce / the group's announce) of its VIPs are.
// Settled: the checks have settled (warm) and the dataplane has said whether it lives; until
// then the BGP policy changes nothing but operator overrides (it adopts BIRD's state).
// The local PoP serves when the dataplane is alive and at least one VIP is healthy.
//
// What happens to a route after this (hold-down, safety valve, drain, operator overrides) is
// the BGP policy's (bgp/policy.h), and its decisions are typed values too (bgp/announcer.h).
// Pure function on values; any thread. A ServiceHealth keeps its Config alive (VipHealth
// points into it), so a published value stays valid after a reload.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/backend_state.h"
#include "common/ip_prefix.h"
#include "common/route_health.h"
#include "control/config/config.h"
#include "control/dataplane_health.h"
#include "control/health/damper.h"
#include "control/health/target.h"
#include "control/overrides.h"

namespace steer::control {

struct BackendHealth {
  IpAddress address;
  uint32_t config_weight = 1;
  std::string check;       // check name, "" = none
  std::string target_key;  // health target, "" = none
  health::State health = health::State::Up;
  bool pending = false;               // its check is on its way to another verdict
  std::optional<Override> override_;  // the operator override in force, if any
  BackendState state = BackendState::Down;
  uint32_t weight = 0;  // effective weight (0 unless up)
  std::string why;      // one line for an operator
};

struct VipHealth {
  const VipConfig* config = nullptr;  // into ServiceHealth::config
  std::vector<BackendHealth> backends;
  uint32_t up = 0;        // backends effectively up
  uint32_t required = 0;  // min_healthy resolved against the backend count
  bool healthy = false;   // up >= required and up > 0
};

// A PoP of a [[dns.service]] as the DNS responder sees it (before the BGP decision: the DNS
// link also takes a withdrawn or draining route of the local PoP into account).
//   local PoP   healthy when the dataplane is alive and every VIP it names is healthy
//   remote PoP  healthy when every probe target is up (steerd's checker, the same rise/fall)
// pending: a verdict the answer depends on is on its way to change (shorter TTL).
struct DnsPopHealth {
  std::string pop;
  bool local = false;
  bool healthy = false;
  bool pending = false;
  std::string why;  // "web 3/4 up (needs 2)", "probes 1/2 up: 198.51.100.10:80/http down"
};

struct DnsServiceHealth {
  std::string service;
  std::vector<DnsPopHealth> pops;  // in the service's configuration order
};

struct PopHealth {
  std::string name, region;  // [pop]
  bool serving = false;      // dataplane alive and at least one VIP healthy
  uint32_t vips = 0, vips_healthy = 0;
};

struct ServiceHealth {
  uint64_t generation = 0;  // set by the publisher: 1, 2, ...
  // When the publisher started computing it (the verdict that caused it came just before):
  // what the modules measure their propagation from.
  std::chrono::steady_clock::time_point computed_at{};
  std::shared_ptr<const Config> config;
  std::vector<VipHealth> vips;        // in config order
  std::vector<RouteHealth> routes;    // VIP addresses in address order, then groups in config order
  std::vector<DnsServiceHealth> dns;  // per [[dns.service]], in configuration order
  DataplaneHealth dataplane = DataplaneHealth::Unknown;
  std::string dataplane_why;
  bool warm = false;     // every check has a verdict, or [warmup] max_ms passed
  bool settled = false;  // warm, and the dataplane's health is known
  PopHealth pop;

  // The VIP named `name`, or nullptr.
  const VipHealth* vip(std::string_view name) const;
};

// A published value is shared, immutable, between the controller and its subscribers.
using ServiceHealthPtr = std::shared_ptr<const ServiceHealth>;

struct ServiceInputs {
  std::shared_ptr<const Config> config;
  std::function<health::State(const std::string& target_key)> verdict;
  // Whether a target's verdict is on its way to change (optional: none pending).
  std::function<bool(const std::string& target_key)> pending;
  const Overrides* overrides = nullptr;
  std::vector<DnsServiceHealth> dns;  // per [[dns.service]], in configuration order
  DataplaneHealth dataplane = DataplaneHealth::Unknown;
  std::string dataplane_why;
  bool warm = false;
};

ServiceHealth compute_service_health(const ServiceInputs& in);

// The health-check target of a backend of a VIP: "ADDRESS:PORT/CHECK", or "" without a check.
std::string target_key(const Config& config, const VipConfig& vip, const BackendConfig& backend);
uint16_t target_port(const Config& config, const VipConfig& vip, const BackendConfig& backend);
// The key of steerd's own probe of a [dns] announce address, and its target.
std::string dns_self_key(const Config& config, const IpAddress& address);
// The target key of a remote DNS PoP's probe of `address` (same form as a backend's).
std::string dns_probe_key(const dns::ServicePopConfig& pop, const dns::ServiceConfig& service,
                          const Config& config, const IpAddress& address);
// Every health target the configuration needs — the backends' and the remote DNS PoPs'
// probes — one per key, sorted by key.
std::vector<health::Target> health_targets(const Config& config);

}  // namespace steer::control
