// Shared by the [dns] parser's files (config.cc, config_zones.cc, config_services.cc): the
// small readers, the records of where values came from, and the entry points of the parts.
// Not part of the module's interface.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "common/config_reader.h"
#include "dns/config.h"

namespace steer::dns::parse {

using config::position;
using config::printable;
using config::Section;
using config::Sink;

constexpr int64_t kMaxServiceTtl = 86400;
constexpr int64_t kMaxZoneTtl = 604800;
constexpr int64_t kMaxSoaTime = 2147483647;  // RFC 2181 8: 31 bits
constexpr std::string_view kSupportedTypes = "A, AAAA, NS, CNAME, MX, TXT, CAA, SRV, PTR";

struct Entry {
  std::string text;
  const toml::node* node;
};
// 1..max_len of a-z, 0-9, '_' and '-' (PoP, region and service names: metric labels, nets
// file targets, and a service's name is its default host label).
bool is_simple_name(std::string_view s, size_t max_len);

bool is_printable_ascii(std::string_view s);

std::string wire_key(const Name& n);

std::string line_of(const toml::node& n);

std::vector<std::string_view> views(const std::vector<std::string>& names);

// "ADDR:PORT" (IPv4) or "[V6ADDR]:PORT", port 1..65535.
bool parse_listen(std::string_view text, ListenAddress& out);

// t[key] as a table, or nullptr when absent or reported as something else.
const toml::table* sub_table(const toml::table& t, std::string_view key, std::string_view path,
                             Sink& sink);

// t[key] as an array of tables, or nullptr when absent or reported as something else.
const toml::array* tables_of(const toml::table& t, std::string_view key, std::string_view path,
                             Sink& sink);

// The strings of s[key], which must be a non-empty array of strings (of `what`). Entries
// that are strings land in `out` even when others were reported, for their own checks. True
// when the key is present and nothing was reported.
bool string_list(const Section& s, std::string_view key, std::string_view what,
                 std::vector<Entry>& out, std::string_view hint = {});

// s[key] as addresses, each at most once. True when present and nothing was reported.
bool address_list(const Section& s, std::string_view key, std::vector<IpAddress>& out);

// "did you mean 'x'?", the defined names, or how to define one.
std::string unknown_hint(std::string_view word, const std::vector<std::string_view>& known,
                         std::string_view what, std::string_view how);
struct Pops {
  std::map<std::string, const toml::node*> by_name;  // every name given (to its name node)
  std::vector<std::string> names;
  bool complete = true;  // false when a [[dns.pop]] has no readable name

  bool known(const std::string& name) const { return by_name.contains(name); }
  // Reports `name` at `at` when it is not a PoP (and every PoP could be read).
  bool check(const std::string& name, const toml::node& at, std::string_view what,
             Sink& sink) const {
    if (known(name) || !complete) return known(name);
    sink.at(at, fmt::format("unknown PoP '{}' in '{}'", printable(name), what),
            unknown_hint(name, views(names), "PoPs", "define each PoP as a [[dns.pop]]"));
    return false;
  }
};

// Each use of a region name, where it is written.
using Uses = std::vector<std::pair<std::string, toml::source_region>>;
struct RecordSite {
  RecordConfig rec;
  const toml::table* table = nullptr;
  const toml::node* ttl = nullptr;  // its own ttl key, if any
  bool bad = false;                 // reported by a cross-check: left out of the others
};

struct ZoneSite {
  const toml::node* apex_node = nullptr;  // its name key; set only when the apex is valid
  std::vector<RecordSite> records;        // the records that parsed
  std::vector<Name> cuts;                 // delegations (NS below the apex), shallowest first

  // The first valid record at `name` of `type`, or nullptr.
  const RecordSite* find(const Name& name, uint16_t type) const {
    for (const RecordSite& r : records) {
      if (!r.bad && r.rec.name == name && r.rec.type == type) return &r;
    }
    return nullptr;
  }
  // The delegation `name` is at or below, or nullptr.
  const Name* cut_of(const Name& name) const {
    for (const Name& c : cuts) {
      if (name.within(c)) return &c;
    }
    return nullptr;
  }
};
struct Services {
  const DnsContext& context;
  const Pops& pops;
  const std::vector<ZoneConfig>& zones;
  const std::vector<ZoneSite>& zone_sites;
  std::map<std::string, const toml::node*> names;
  std::map<std::string, std::pair<std::string, const toml::node*>> owners;  // wire -> service

  bool zones_complete() const {
    return std::all_of(zone_sites.begin(), zone_sites.end(),
                       [](const ZoneSite& z) { return z.apex_node != nullptr; });
  }
  std::vector<std::string> zone_names() const {
    std::vector<std::string> out;
    for (size_t i = 0; i < zones.size(); ++i) {
      if (zone_sites[i].apex_node != nullptr) out.push_back(zones[i].apex.text());
    }
    return out;
  }
};

// A name in the zone from s[key] (relative names are in the zone; `anywhere`: an absolute
// name outside it is allowed). False when absent or reported.
bool zone_name(const Section& s, std::string_view key, const Name& apex, Name& out,
               bool anywhere = false);
// pending_ttl may not exceed ttl (`inherited`: where an inherited value came from).
void check_pending_ttl(const Section& s, uint32_t ttl, bool ttl_ok, uint32_t pending,
                       bool pending_ok, std::string_view inherited);

// [[dns.zone]] (config_zones.cc): one zone, then the zones against one another.
void parse_zone(const toml::table& t, ZoneConfig& z, ZoneSite& site, Sink& sink);
void check_zones(const std::vector<ZoneConfig>& zones, const std::vector<ZoneSite>& sites,
                 Sink& sink);
// [[dns.tsig]] (config_xfr.cc): one key into d.tsig (`seen`: names so far). False when its
// name could not be read (references to keys are then not called unknown).
bool parse_tsig(const toml::table& t, DnsConfig& d, std::map<std::string, const toml::node*>& seen,
                Sink& sink);
// A [[dns.zone]]'s `transfer` and `notify` lists, against d.tsig (config_xfr.cc).
void parse_zone_transfers(const toml::table& t, const DnsConfig& d, bool keys_complete,
                          ZoneConfig& z, Sink& sink);
// [[dns.service]] (config_services.cc).
void parse_service(const toml::table& t, const DnsConfig& d, Services& ctx, ServiceConfig& out,
                   Sink& sink);

}  // namespace steer::dns::parse
