// DOC: RouteHealth — the health of one route steer may announce: a VIP address's host route
// (every VIP at that address shares it) or a [[bgp.group]]'s aggregate. steerd's one rule
// (control/service_health.h) produces it; the BGP announcer (bgp/announcer.h) and the DNS
// responder read it. A plain value.
#pragma once

#include <string>
#include <vector>

#include "common/ip_prefix.h"

namespace steer {

struct RouteHealth {
  IpPrefix route;                 // /32 or /128 of the address, or the group's prefix
  std::string group;              // "" for an address
  std::vector<std::string> vips;  // names of the VIPs it stands for
  bool healthy = false;
  std::string health;  // in words: "healthy: web 3/4 up (needs 2); echo 4/4 up (needs 1)"
  // False for a route the dataplane does not carry (the DNS responder's own address): a dead
  // dataplane does not withdraw it.
  bool needs_dataplane = true;

  // "192.0.2.10" or "group edge_v4": how operators and logs name it.
  std::string label() const { return group.empty() ? route.address.to_string() : "group " + group; }

  friend bool operator==(const RouteHealth&, const RouteHealth&) = default;
};

}  // namespace steer
