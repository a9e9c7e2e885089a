// DOC: [dns] — the DNS responder's own section of steerd's configuration file, parsed here
// through the shared reader (common/config_reader.h), so a mistake is reported at its
// file:line:column like everywhere else (docs/configuration.md has every key):
//
//   [dns]                      listen addresses, threads, identity (NSID, CHAOS), sizes, TCP
//                              limits, default TTLs and answer count, geo sources
//   [dns.rrl]                  response-rate limiting (off by default)
//   [dns.regions]              region = [PoP, ...]: explicit preference lists
//   [[dns.pop]]                every PoP (this one included): region and coordinates
//   [[dns.tsig]]               TSIG keys (name, algorithm, secret) for zone transfers
//   [[dns.zone]]               a zone: apex, SOA, NS, TTL, static records; the secondaries
//                              that may transfer it and the servers it NOTIFYs
//   [[dns.service]]            a name answered per query with the nearest healthy PoPs'
//     [[dns.service.pop]]      addresses: the local PoP's from its VIPs (and BGP), a remote
//                              PoP's from configured addresses, probed by steerd's checker
//
// parse_section() checks everything it can: names, record data (dns/records.h), that services
// sit inside a zone and their PoPs exist, that the local PoP ([pop] name) uses VIPs and remote
// ones addresses, that referenced VIPs and checks exist. The value is compared as a whole on
// reload. Pure functions; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/config_reader.h"
#include "common/ip_address.h"
#include "common/ip_prefix.h"
#include "dns/records.h"
#include "dns/wire.h"

namespace steer::dns {

struct ListenAddress {
  IpAddress address;
  uint16_t port = 53;
  friend bool operator==(const ListenAddress&, const ListenAddress&) = default;
};

struct RecordConfig {
  Name name;  // absolute
  uint16_t type = 0;
  uint32_t ttl = 0;
  std::vector<uint8_t> rdata;
  std::string text;  // as written (for `steerctl dns show`)
  friend bool operator==(const RecordConfig& a, const RecordConfig& b) {
    return a.name == b.name && a.type == b.type && a.ttl == b.ttl && a.rdata == b.rdata;
  }
};

// A [[dns.tsig]] key: a name, an HMAC algorithm, the shared secret (RFC 8945).
struct TsigKeyConfig {
  Name name;
  std::string algorithm = "hmac-sha256";  // hmac-sha256, hmac-sha384 or hmac-sha512
  std::vector<uint8_t> secret;
  friend bool operator==(const TsigKeyConfig&, const TsigKeyConfig&) = default;
};

// A secondary that may transfer a zone (AXFR, and IXFR answered as AXFR): its prefix, and the
// TSIG key its requests must be signed with (an empty name: none needed).
struct TransferFrom {
  IpPrefix from;
  Name key;
  friend bool operator==(const TransferFrom&, const TransferFrom&) = default;
};

// A server told of each new serial by NOTIFY (RFC 1996), signed with `key` when it has one.
struct NotifyTarget {
  IpAddress address;
  uint16_t port = 53;
  Name key;
  friend bool operator==(const NotifyTarget&, const NotifyTarget&) = default;
};

struct ZoneConfig {
  Name apex;
  uint32_t ttl = 3600;  // default TTL of its records (SOA and NS included)
  Soa soa;
  std::vector<Name> ns;  // the apex NS set (at least one)
  std::vector<RecordConfig> records;
  std::vector<TransferFrom> transfer;  // who may transfer it (none: nobody)
  std::vector<NotifyTarget> notify;
  friend bool operator==(const ZoneConfig& a, const ZoneConfig& b) {
    return a.apex == b.apex && a.ttl == b.ttl && a.soa.mname == b.soa.mname &&
           a.soa.rname == b.soa.rname && a.soa.serial == b.soa.serial &&
           a.soa.refresh == b.soa.refresh && a.soa.retry == b.soa.retry &&
           a.soa.expire == b.soa.expire && a.soa.minimum == b.soa.minimum && a.ns == b.ns &&
           a.records == b.records && a.transfer == b.transfer && a.notify == b.notify;
  }
};

struct PopConfig {
  std::string name;  // [a-z0-9_-], unique
  std::string region;
  double latitude = 0, longitude = 0;
  friend bool operator==(const PopConfig&, const PopConfig&) = default;
};

// One PoP of a service.
struct ServicePopConfig {
  std::string pop;
  std::vector<std::string> vips;     // the local PoP: names of [[vip]]s (their addresses)
  std::vector<IpAddress> addresses;  // a remote PoP: the addresses handed out
  std::vector<IpAddress> probe;      // a remote PoP: what steerd probes (default: addresses)
  std::string check;                 // a [check.NAME] (default: the service's)
  uint16_t port = 0;                 // the probes' port (default: the check's port)
  friend bool operator==(const ServicePopConfig&, const ServicePopConfig&) = default;
};

enum class WhenAllDown : uint8_t { All, Static };

struct ServiceConfig {
  std::string name;  // unique; also the default host
  Name owner;        // the name it answers for (host + zone)
  Name zone;
  uint32_t ttl = 60;
  uint32_t pending_ttl = 10;
  double ttl_jitter = 0;
  uint16_t answers = 2;  // addresses per family in one answer
  WhenAllDown when_all_down = WhenAllDown::All;
  std::vector<IpAddress> static_addresses;  // when_all_down = "static"
  std::string check;                        // default check of remote PoPs
  std::vector<ServicePopConfig> pops;
  friend bool operator==(const ServiceConfig&, const ServiceConfig&) = default;
};

struct RrlConfig {
  bool enabled = false;
  uint32_t responses_per_second = 20;  // per client prefix, per identical answer class
  uint32_t window_s = 15;
  uint32_t slip = 2;  // every slip-th dropped answer goes out truncated (TC) instead; 0 never
  uint8_t ipv4_prefix = 24;
  uint8_t ipv6_prefix = 56;
  friend bool operator==(const RrlConfig&, const RrlConfig&) = default;
};

struct DnsConfig {
  std::vector<ListenAddress> listen;  // UDP and TCP on each
  uint16_t threads = 2;               // responder threads (one UDP socket each per address)
  std::string nsid;                   // NSID option text ("" = "<pop name>.<hostname>")
  std::string identity;               // CHAOS id.server / hostname.bind ("" = the NSID)
  uint16_t udp_size = 1232;           // the most we send over UDP (and advertise)
  uint32_t tcp_idle_ms = 10000;
  uint32_t tcp_connections = 512;  // at most, over all threads
  uint32_t coalesce_us = 0;        // UDP wake-up coalescing window (0: off)
  uint32_t ttl = 60;               // service defaults
  uint32_t pending_ttl = 10;
  double ttl_jitter = 0;
  uint16_t answers = 2;
  // Listen addresses to announce through BIRD like a VIP ([bgp] needed), each while the
  // responder answers steerd's own probe of it (a DNS query for the first zone's SOA).
  std::vector<IpAddress> announce;
  std::string nets;  // path of the nets file ("" = none)
  std::string mmdb;  // path of a MaxMind-format database ("" = none)
  std::vector<std::pair<std::string, std::vector<std::string>>> regions;
  std::vector<PopConfig> pops;
  std::vector<TsigKeyConfig> tsig;  // keys for zone transfers and NOTIFY
  std::vector<ZoneConfig> zones;
  std::vector<ServiceConfig> services;
  RrlConfig rrl;
  friend bool operator==(const DnsConfig&, const DnsConfig&) = default;
};

// What [dns] may refer to outside itself.
struct DnsContext {
  std::string local_pop;  // [pop] name
  struct Vip {
    std::string name;
    IpAddress address;
  };
  std::vector<Vip> vips;
  std::vector<std::string> checks;  // [check.NAME] names
  bool bgp = false;                 // the configuration has [bgp]
  // The port of a check (0: the VIP's port, which a remote probe has not got).
  std::vector<std::pair<std::string, uint16_t>> check_ports;
};

// Parses root's [dns] table; nullopt when there is none. Errors go to `sink`.
std::optional<DnsConfig> parse_section(const toml::table& root, const DnsContext& context,
                                       config::Sink& sink);

}  // namespace steer::dns
