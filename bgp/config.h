// DOC: [bgp] and [[bgp.group]] — the BGP module's own section of steerd's configuration
// file, parsed here into the announcer's own options (docs/configuration.md, docs/bgp.md).
//
// steerd's parser (control/config) hands the root table, the VIPs it parsed (name and
// address, for the groups) and its diagnostic Sink to parse_section(); mistakes are reported
// at their file:line:column like every other section's. The result is a plain value:
// compared as a whole for reload (a change of any key reconfigures the announcer) and given
// to bgp::Announcer as is — no field is copied by hand between a "config" and an "options"
// struct. Pure functions; any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bgp/policy.h"
#include "bgp/snippet.h"
#include "common/config_reader.h"
#include "common/ip_address.h"
#include "common/ip_prefix.h"

namespace steer::bgp {

// [[bgp.group]]: one route covering several VIPs (an aggregate such as a /24), announced when
// all (or any) of them are healthy, besides each VIP address's own host route.
struct GroupConfig {
  std::string name;               // [a-z][a-z0-9_]*, at most 24
  IpPrefix prefix;                // every VIP of the group is inside it
  std::vector<std::string> vips;  // VIP names (default: every VIP inside the prefix)
  bool announce_all = true;       // default: [bgp] announce

  friend bool operator==(const GroupConfig&, const GroupConfig&) = default;
};

// [bgp]: how steerd drives BIRD.
struct BgpConfig {
  std::string socket;                      // BIRD's control socket
  std::string snippet;                     // file steerd writes its protocols to ("" = none)
  std::string protocol_prefix = "steer_";  // [a-z][a-z0-9_]*, at most 32
  bool announce_all = true;  // an address is healthy when "all" (true) or "any" of its VIPs are
  RouteAttributes attributes{.local_as = 0, .drain_prepend = 3};  // local_as 0: not set
  PolicyOptions policy;
  Ms reconcile{500};
  Ms request_timeout{2000};
  std::vector<GroupConfig> groups;

  friend bool operator==(const BgpConfig&, const BgpConfig&) = default;
};

// What the groups may name: the configuration's VIPs.
struct VipRef {
  std::string name;
  IpAddress address;
};

// Parses root's [bgp] table (and its [[bgp.group]] array) into a BgpConfig; nullopt when
// there is no [bgp] table. Errors go to `sink`; the value returned then is incomplete.
std::optional<BgpConfig> parse_section(const toml::table& root, const std::vector<VipRef>& vips,
                                       config::Sink& sink);

// Part of a BIRD protocol name steer builds: 1..max_len of a-z, 0-9 and '_', starting with a
// letter (a BIRD symbol, lower case so it never collides with a keyword's spelling).
bool is_bird_name(std::string_view s, size_t max_len);

}  // namespace steer::bgp
