// DOC: steerd's configuration: the immutable Config value and its TOML parser/validator.
//
// steerd reads one TOML file (docs/configuration.md has every key):
//   [pop] [dataplane] [cli] [metrics] [state] [warmup]   process settings
//   [check.NAME]                                          health checks, referenced by name
//   [[vip]] + [[vip.backend]]                             services and their backends
//   [bgp]                                                 BIRD announcer (bgp/announcer.h)
//   [dns]                                                 kept as TOML text for later
//
// parse_config() parses, then validates everything it can and returns either a complete
// Config or *every* error found, each with file:line:column, a message and (often) a hint.
// Only a TOML syntax error stops it early (the document cannot be read past it). A Config
// that comes back is consistent: every check name a backend refers to is defined, every
// table size is prime, no VIP or backend is duplicated. Backends carry their *effective*
// check (their own `check`, or their VIP's), so consumers never resolve inheritance.
//
// Pure functions on values: any thread; parse_config never throws (exceptions from the
// TOML library are caught and turned into ConfigErrors).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "common/ip_address.h"
#include "common/ip_prefix.h"

namespace steer::control {

enum class CheckType { Tcp, Http, Https, Udp, Dns };

// "tcp", "http", "https", "udp", "dns".
std::string_view check_type_name(CheckType type);

struct CheckConfig {
  std::string name;
  CheckType type = CheckType::Tcp;
  uint16_t port = 0;  // 0: the VIP's port
  uint32_t interval_ms = 1000;
  uint32_t timeout_ms = 500;      // < interval_ms
  uint32_t rise = 2;              // consecutive successes to go up
  uint32_t fall = 3;              // consecutive failures to go down
  uint32_t fast_interval_ms = 0;  // re-check period while a change is pending; 0 = derived
  double jitter = 0.1;            // fraction of the interval, 0..0.5
  // http, https
  std::string path = "/";
  std::string host;  // "" = the backend address
  std::vector<uint16_t> expect_status{200};
  std::string body_contains;
  bool tls_verify = false;  // https
  // udp (payload_hex in the file is decoded into payload)
  std::string payload = "ping";
  std::string expect;  // substring of the reply; "" = any reply
  // dns
  std::string query;
  uint16_t qtype = 1;         // A
  uint8_t expect_rcode = 0;   // NOERROR
  std::string expect_answer;  // an address that must be in the answer; "" = any

  // fast_interval_ms, or max(50, interval_ms / 4) when it is 0.
  uint32_t effective_fast_interval_ms() const;

  friend bool operator==(const CheckConfig&, const CheckConfig&) = default;
};

struct BackendConfig {
  IpAddress address;
  uint32_t weight = 1;  // 0..65535; 0 takes no new flows
  std::string check;    // effective check name ("" = no check: always healthy)

  friend bool operator==(const BackendConfig&, const BackendConfig&) = default;
};

struct MinHealthy {
  bool is_fraction = false;
  uint32_t count = 1;
  double fraction = 0;  // "50%" -> 0.5

  // How many of `configured` backends must be healthy. A fraction rounds up and is at least 1
  // (an empty VIP is never healthy); a count is returned as is.
  uint32_t required(size_t configured) const;

  friend bool operator==(const MinHealthy&, const MinHealthy&) = default;
};

struct VipConfig {
  std::string name;  // unique, [a-z0-9_-]
  IpAddress address;
  uint8_t proto = 6;            // 6 tcp, 17 udp
  uint16_t port = 0;            // 0 = all ports
  uint32_t table_size = 65537;  // prime
  std::string encap = "ipip";   // "ipip" | "gue"
  uint16_t gue_port = 6080;
  std::string hash = "5-tuple";  // "5-tuple" | "3-tuple" | "source"
  bool echo = true;
  MinHealthy min_healthy;
  std::string check;                    // the backends' default check ("" = none)
  std::vector<BackendConfig> backends;  // in file order

  friend bool operator==(const VipConfig&, const VipConfig&) = default;
};

// [[bgp.group]]: one route covering several VIPs (an aggregate such as a /24), announced when
// all (or any) of them are healthy, besides each VIP address's own host route.
struct BgpGroupConfig {
  std::string name;               // [a-z][a-z0-9_]*, at most 24
  IpPrefix prefix;                // every VIP of the group is inside it
  std::vector<std::string> vips;  // VIP names (default: every VIP inside the prefix)
  bool announce_all = true;       // default: [bgp] announce

  friend bool operator==(const BgpGroupConfig&, const BgpGroupConfig&) = default;
};

// [bgp]: how steerd drives BIRD (docs/bgp.md). `enabled` is false when the table is absent.
struct BgpConfig {
  bool enabled = false;
  std::string socket;                      // BIRD's control socket
  std::string snippet;                     // file steerd writes its protocols to ("" = none)
  std::string protocol_prefix = "steer_";  // [a-z][a-z0-9_]*, at most 32
  uint32_t local_as = 0;                   // for the drain prepend; 0 = not set
  bool announce_all = true;                // "all" (true) or "any" of an address's VIPs healthy
  uint32_t announce_hold_ms = 2000;
  uint32_t min_interval_ms = 1000;
  uint32_t reconcile_ms = 500;
  uint32_t request_timeout_ms = 2000;
  uint32_t drain_ms = 30000;
  uint32_t drain_prepend = 3;
  std::vector<std::string> drain_communities{};  // "ASN:VALUE", each 0..65535
  std::vector<std::string> communities{};
  double valve_share = 0.5;
  uint32_t valve_window_ms = 60000;
  std::vector<BgpGroupConfig> groups;

  friend bool operator==(const BgpConfig&, const BgpConfig&) = default;
};

struct Config {
  std::string pop_name, pop_region;
  std::string dataplane_socket = "/run/steer/dataplane.sock";
  uint32_t push_interval_ms = 10;
  uint32_t status_interval_ms = 100;
  uint32_t stuck_after_ms = 1000;
  std::string cli_socket = "/run/steer/steerd.sock";
  std::string cli_group;  // "" = the process's group
  uint32_t cli_mode = 0660;
  std::string metrics_listen = "127.0.0.1:9610";  // "" = off; "ADDR:PORT" / "[v6]:PORT"
  std::string state_dir = "/var/lib/steer";
  uint32_t warmup_max_ms = 5000;
  std::map<std::string, CheckConfig> checks;
  std::vector<VipConfig> vips;  // in file order
  BgpConfig bgp;
  // The contents of the [dns] table re-serialised as TOML (a document whose root is that
  // table); "" when the section is absent.
  std::string dns_toml;

  // The VIP named `name_or_address`, or the one at "ADDR:PORT/proto" (IPv6 as "[v6]:PORT/tcp"),
  // or at "ADDR:PORT" or "ADDR" when exactly one VIP matches. nullptr when none or ambiguous.
  const VipConfig* find_vip(std::string_view name_or_address) const;

  friend bool operator==(const Config&, const Config&) = default;
};

struct ConfigError {
  std::string where;  // "file:line:column" (just "file" when the error has no position)
  std::string message;
  std::string hint;  // may be empty
};

// Parses and validates `text`; `source` names it in error positions. Returns every error
// found, ordered by position. Never throws.
tl::expected<Config, std::vector<ConfigError>> parse_config(std::string_view text,
                                                            std::string_view source);
// Reads `path` and parses it (an unreadable file is one error whose `where` is the path).
tl::expected<Config, std::vector<ConfigError>> load_config(const std::string& path);

// One line per error: "where: message (hint: ...)", each ending in '\n'.
std::string format_errors(const std::vector<ConfigError>& errors);

}  // namespace steer::control
