// DOC: steerd's configuration: the immutable Config value and its TOML parser/validator.
//
// steerd reads one TOML file (docs/configuration.md has every key):
//   [pop] [dataplane] [cli] [metrics] [state] [warmup]   process settings
//   [check.NAME]                                          health checks, referenced by name
//   [[vip]] + [[vip.backend]]                             services and their backends
//   [bgp] + [[bgp.group]]                                 BIRD announcer, parsed by bgp/config.h
//   [dns] + [[dns.zone]] ...                              the DNS responder, parsed by dns/config.h
//
// parse_config() parses, then validates everything it can and returns either a complete
// Config or *every* error found, each with file:line:column, a message and (often) a hint.
// Each module's section is read by that module through common/config_reader.h (one Sink for
// the whole file), so a mistake in [bgp] is reported exactly like one in [[vip]].
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
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "bgp/config.h"
#include "common/config_reader.h"
#include "common/ip_address.h"
#include "common/vip_key.h"
#include "dns/config.h"

namespace steer::control {

using config::ConfigError;
using config::format_errors;

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
  L4Proto proto = L4Proto::Tcp;
  uint16_t port = 0;            // 0 = all ports
  uint32_t table_size = 65537;  // prime
  std::string encap = "ipip";   // "ipip" | "gue"
  uint16_t gue_port = 6080;
  std::string hash = "5-tuple";  // "5-tuple" | "3-tuple" | "source"
  bool echo = true;
  MinHealthy min_healthy;
  std::string check;                    // the backends' default check ("" = none)
  std::vector<BackendConfig> backends;  // in file order

  VipKey key() const { return VipKey{address, proto, port}; }

  friend bool operator==(const VipConfig&, const VipConfig&) = default;
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
  std::vector<VipConfig> vips;        // in file order
  std::optional<bgp::BgpConfig> bgp;  // [bgp]; absent: steerd does not drive BIRD
  std::optional<dns::DnsConfig> dns;  // [dns]; absent: no DNS responder

  // The VIP named `name_or_address`, or the one at "ADDR:PORT/proto" (IPv6 as "[v6]:PORT/tcp"),
  // or at "ADDR:PORT" or "ADDR" when exactly one VIP matches. nullptr when none or ambiguous.
  const VipConfig* find_vip(std::string_view name_or_address) const;

  friend bool operator==(const Config&, const Config&) = default;
};

// Parses and validates `text`; `source` names it in error positions. Returns every error
// found, ordered by position. Never throws.
tl::expected<Config, std::vector<ConfigError>> parse_config(std::string_view text,
                                                            std::string_view source);
// Reads `path` and parses it (an unreadable file is one error whose `where` is the path).
tl::expected<Config, std::vector<ConfigError>> load_config(const std::string& path);

}  // namespace steer::control
