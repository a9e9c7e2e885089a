// DOC: the BIRD configuration steer owns — naming of its protocols and the snippet file.
//
// Each VIP address is one announce unit, and so is each [[bgp.group]] (an aggregate route
// covering several VIPs); each unit has two `protocol static` in BIRD:
//   <prefix>v4_192_0_2_10         route 192.0.2.10/32 blackhole  (+ `communities`)
//   <prefix>v4_192_0_2_10_drain   the same route, AS path prepended `drain_prepend` times with
//                                 local_as and `drain_communities` added: a lower preference
//   <prefix>g_edge_v4 (+ _drain)  route 192.0.2.0/24 blackhole: the group `edge_v4`
// Announced = the first enabled; draining = the second enabled; withdrawn = neither. The
// "blackhole" next hop only matters inside BIRD: the LB's BIRD exports these routes to its BGP
// peers (next hop self) and to no kernel table.
//
// The snippet (docs/bgp.md) lists both protocols of every unit, each with `disabled yes|no`
// equal to steer's current decision, so that a BIRD restart or `configure` keeps what steer
// decided rather than re-enabling everything. Pure functions; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip_address.h"
#include "common/ip_prefix.h"

namespace steer::bgp {

// "<prefix>v4_192_0_2_10", "<prefix>v6_2001_db8__10".
std::string unit_name(std::string_view prefix, const IpAddress& address);
// "<prefix>g_<group>".
std::string group_unit_name(std::string_view prefix, std::string_view group);
inline std::string drain_protocol(std::string_view unit) { return std::string(unit) + "_drain"; }
// "192.0.2.10/32", "2001:db8::10/128".
std::string host_prefix(const IpAddress& address);

struct RouteAttributes {
  uint32_t local_as = 0;
  uint32_t drain_prepend = 0;
  std::vector<std::string> drain_communities;  // "ASN:VALUE"
  std::vector<std::string> communities;

  friend bool operator==(const RouteAttributes&, const RouteAttributes&) = default;
};

struct SnippetUnit {
  std::string name;  // unit_name() or group_unit_name()
  IpPrefix route;
  std::string label;              // for the comment: the address or "group NAME"
  std::vector<std::string> vips;  // for the comment
  bool normal_enabled = false;
  bool drain_enabled = false;
};

std::string render_snippet(const std::vector<SnippetUnit>& units, const RouteAttributes& attrs,
                           std::string_view prefix);

}  // namespace steer::bgp
