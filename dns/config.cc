// parse_section: [dns] and its tables through the shared configuration reader.
//
// Read in dependency order: the settings and [dns.rrl]; [[dns.pop]] and [dns.regions]; each
// [[dns.zone]] with its records, then the records against one another (duplicates, one TTL
// per RRset, delegations and glue, CNAMEs alone); the zones against one another (no nesting);
// last [[dns.service]] against all of that and the caller's VIPs and checks. Every reader
// keeps where its values came from (the *Site structs) so a cross-check reports at the value
// it is about, and leaves out of the cross-checks anything already reported (one mistake, one
// error). Names a reference may point at are kept even when their own spelling was reported,
// and a reference is not called unknown while some definition could not be read at all.
#include "dns/config.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

#include <fmt/format.h>

namespace steer::dns {

using config::position;
using config::printable;
using config::Section;
using config::Sink;

namespace {

constexpr int64_t kMaxServiceTtl = 86400;
constexpr int64_t kMaxZoneTtl = 604800;
constexpr int64_t kMaxSoaTime = 2147483647;  // RFC 2181 8: 31 bits
constexpr std::string_view kSupportedTypes = "A, AAAA, NS, CNAME, MX, TXT, CAA, SRV, PTR";

// 1..max_len of a-z, 0-9, '_' and '-' (PoP, region and service names: metric labels, nets
// file targets, and a service's name is its default host label).
bool is_simple_name(std::string_view s, size_t max_len) {
  if (s.empty() || s.size() > max_len) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

bool is_printable_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

std::string wire_key(const Name& n) {
  return {reinterpret_cast<const char*>(n.bytes.data()), n.size};
}

std::string line_of(const toml::node& n) { return position(n.source()); }

std::vector<std::string_view> views(const std::vector<std::string>& names) {
  return {names.begin(), names.end()};
}

// "ADDR:PORT" (IPv4) or "[V6ADDR]:PORT", port 1..65535.
bool parse_listen(std::string_view text, ListenAddress& out) {
  std::string_view host, port;
  bool v6 = false;
  if (text.starts_with('[')) {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || text.substr(close + 1, 1) != ":") return false;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    v6 = true;
  } else {
    const size_t colon = text.find(':');
    if (colon == std::string_view::npos || text.find(':', colon + 1) != std::string_view::npos) {
      return false;
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  auto a = IpAddress::parse(host);
  if (!a || a->is_v4() == v6) return false;
  uint32_t p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || p == 0 ||
      p > 65535) {
    return false;
  }
  out = ListenAddress{*a, static_cast<uint16_t>(p)};
  return true;
}

// t[key] as a table, or nullptr when absent or reported as something else.
const toml::table* sub_table(const toml::table& t, std::string_view key, std::string_view path,
                             Sink& sink) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return nullptr;
  if (!n->is_table()) {
    sink.at(*n, fmt::format("'{}' must be a table ([{}])", path, path));
    return nullptr;
  }
  return n->as_table();
}

// t[key] as an array of tables, or nullptr when absent or reported as something else.
const toml::array* tables_of(const toml::table& t, std::string_view key, std::string_view path,
                             Sink& sink) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return nullptr;
  const toml::array* a = n->as_array();
  if (a == nullptr || !a->is_array_of_tables()) {
    sink.at(*n, fmt::format("'{}' must be an array of tables", path),
            fmt::format("write each as a [[{}]] table", path));
    return nullptr;
  }
  return a;
}

struct Entry {
  std::string text;
  const toml::node* node;
};

// The strings of s[key], which must be a non-empty array of strings (of `what`). Entries
// that are strings land in `out` even when others were reported, for their own checks. True
// when the key is present and nothing was reported.
bool string_list(const Section& s, std::string_view key, std::string_view what,
                 std::vector<Entry>& out, std::string_view hint = {}) {
  out.clear();
  const toml::node* n = s.get(key);
  if (n == nullptr) return false;
  const toml::array* a = n->as_array();
  if (a == nullptr) {
    s.type_error(*n, key, fmt::format("an array of {}", what), hint);
    return false;
  }
  if (a->empty()) {
    s.error(*n, fmt::format("'{}' must list at least one of {}", s.name(key), what), hint);
    return false;
  }
  bool ok = true;
  for (const toml::node& e : *a) {
    if (!e.is_string()) {
      s.error(e, fmt::format("'{}' entries must be strings ({})", s.name(key), what));
      ok = false;
      continue;
    }
    out.push_back({e.as_string()->get(), &e});
  }
  return ok;
}

// s[key] as addresses, each at most once. True when present and nothing was reported.
bool address_list(const Section& s, std::string_view key, std::vector<IpAddress>& out) {
  std::vector<Entry> entries;
  bool ok = string_list(s, key, "IPv4 or IPv6 addresses", entries,
                        "for example [\"198.51.100.10\", \"2001:db8::10\"]");
  out.clear();
  std::map<IpAddress, const toml::node*> seen;
  for (const Entry& e : entries) {
    auto a = IpAddress::parse(e.text);
    if (!a) {
      s.error(*e.node, fmt::format("'{}' entries must be IPv4 or IPv6 addresses (got \"{}\")",
                                   s.name(key), printable(e.text)));
      ok = false;
      continue;
    }
    if (auto [it, fresh] = seen.emplace(*a, e.node); !fresh) {
      s.error(*e.node, fmt::format("{} appears twice in '{}'", *a, s.name(key)),
              fmt::format("first at {}", line_of(*it->second)));
      ok = false;
      continue;
    }
    out.push_back(*a);
  }
  return ok;
}

// "did you mean 'x'?", the defined names, or how to define one.
std::string unknown_hint(std::string_view word, const std::vector<std::string_view>& known,
                         std::string_view what, std::string_view how) {
  if (known.empty()) return std::string(how);
  return config::suggestion(word, known, fmt::format("defined {}", what));
}

// --- [dns] and [dns.rrl] ---------------------------------------------------------------------

void parse_listen_list(const Section& s, DnsConfig& d) {
  std::vector<Entry> entries;
  string_list(s, "listen", "\"ADDR:PORT\" strings", entries,
              "for example listen = [\"192.0.2.53:53\", \"[2001:db8::53]:53\"]");
  std::map<std::pair<IpAddress, uint16_t>, const toml::node*> seen;
  for (const Entry& e : entries) {
    ListenAddress l;
    if (!parse_listen(e.text, l)) {
      s.error(*e.node,
              fmt::format("'dns.listen' entries must be \"ADDR:PORT\" or \"[V6ADDR]:PORT\" with "
                          "a port 1..65535 (got \"{}\")",
                          printable(e.text)),
              "for example \"192.0.2.53:53\" or \"[2001:db8::53]:53\"");
      continue;
    }
    if (auto [it, fresh] = seen.emplace(std::pair{l.address, l.port}, e.node); !fresh) {
      s.error(*e.node, fmt::format("'dns.listen' has \"{}\" twice", printable(e.text)),
              fmt::format("first at {}", line_of(*it->second)));
      continue;
    }
    d.listen.push_back(l);
  }
}

// pending_ttl <= ttl, reported at whichever of the two `s` sets (pending_ttl first); both
// must be valid where given.
void check_pending_ttl(const Section& s, uint32_t ttl, bool ttl_ok, uint32_t pending,
                       bool pending_ok, std::string_view inherited) {
  const toml::node* pn = s.get("pending_ttl");
  const toml::node* tn = s.get("ttl");
  if ((pn != nullptr && !pending_ok) || (tn != nullptr && !ttl_ok)) return;  // reported
  if ((pn == nullptr && tn == nullptr) || pending <= ttl) return;
  const toml::node& at = pn != nullptr ? *pn : *tn;
  s.error(at,
          fmt::format("'{}' ({}) must not be greater than ttl ({}){}", s.name("pending_ttl"),
                      pending, ttl, inherited),
          pn != nullptr ? "pending_ttl is the shorter TTL used while a health change is pending"
                        : "set pending_ttl too: it may not exceed ttl");
}

// [dns] announce: listen addresses BGP announces while the responder answers its probe.
void parse_announce(const Section& s, const DnsContext& c, DnsConfig& d) {
  const toml::node* n = s.get("announce");
  if (n == nullptr) return;
  std::vector<IpAddress> list;
  if (!address_list(s, "announce", list)) return;
  if (!c.bgp) {
    s.error(*n, "'dns.announce' needs [bgp]: steerd announces the addresses through BIRD",
            "add a [bgp] table, or remove announce");
    return;
  }
  for (const IpAddress& a : list) {
    const bool listened = std::any_of(d.listen.begin(), d.listen.end(), [&](const ListenAddress& l) {
      return l.address == a;
    });
    if (!listened) {
      s.error(*n, fmt::format("'dns.announce': {} is not one of the listen addresses", a),
              "announce the address the responder answers on (bound explicitly in listen)");
      return;
    }
    for (const DnsContext::Vip& v : c.vips) {
      if (v.address == a) {
        s.error(*n, fmt::format("'dns.announce': {} is the address of VIP '{}'", a, v.name),
                "the DNS address and the VIPs are announced separately: give DNS its own");
        return;
      }
    }
  }
  d.announce = std::move(list);
}

void parse_settings(Section& s, DnsConfig& d) {
  s.only({"listen", "threads", "nsid", "identity", "udp_size", "tcp_idle_ms", "tcp_connections",
          "ttl", "pending_ttl", "ttl_jitter", "answers", "announce", "nets", "mmdb", "rrl",
          "regions", "pop", "zone", "service"});
  s.missing("listen", "[dns] needs 'listen', the addresses to answer on",
            "for example listen = [\"192.0.2.53:53\", \"[2001:db8::53]:53\"]");
  parse_listen_list(s, d);
  s.integer("threads", 1, 64, d.threads);
  if (s.string("nsid", d.nsid) && (d.nsid.size() > 128 || !is_printable_ascii(d.nsid))) {
    s.error(*s.get("nsid"),
            fmt::format("'dns.nsid' must be at most 128 bytes of printable ASCII (got \"{}\")",
                        printable(d.nsid)),
            "\"\" sends \"<pop name>.<hostname>\"");
    d.nsid.clear();
  }
  if (s.string("identity", d.identity) &&
      (d.identity.size() > 255 || !is_printable_ascii(d.identity))) {
    s.error(*s.get("identity"),
            fmt::format("'dns.identity' must be at most 255 bytes of printable ASCII (got \"{}\")",
                        printable(d.identity)),
            "\"\" answers the NSID");
    d.identity.clear();
  }
  s.integer("udp_size", 512, 4096, d.udp_size, "1232 avoids IP fragmentation (DNS flag day 2020)");
  s.integer("tcp_idle_ms", 100, 600000, d.tcp_idle_ms);
  s.integer("tcp_connections", 1, 65535, d.tcp_connections);
  const bool ttl_ok = s.integer("ttl", 0, kMaxServiceTtl, d.ttl);
  const bool pending_ok = s.integer("pending_ttl", 0, kMaxServiceTtl, d.pending_ttl);
  check_pending_ttl(s, d.ttl, ttl_ok, d.pending_ttl, pending_ok, "");
  s.number("ttl_jitter", 0.0, 0.5, d.ttl_jitter, "a fraction of the TTL taken off at random");
  s.integer("answers", 1, 16, d.answers, "addresses per family in one answer");
  s.string("nets", d.nets);
  s.string("mmdb", d.mmdb);
}

void parse_rrl(const toml::table& t, RrlConfig& r, Sink& sink) {
  Section s(t, "dns.rrl", sink);
  s.only({"enabled", "responses_per_second", "window_s", "slip", "ipv4_prefix", "ipv6_prefix"});
  s.boolean("enabled", r.enabled);
  s.integer("responses_per_second", 1, 1000000, r.responses_per_second);
  s.integer("window_s", 1, 3600, r.window_s);
  s.integer("slip", 0, 10, r.slip, "every slip-th limited answer goes out truncated; 0 never");
  s.integer("ipv4_prefix", 8, 32, r.ipv4_prefix);
  s.integer("ipv6_prefix", 16, 128, r.ipv6_prefix);
}

// --- [[dns.pop]] and [dns.regions] -------------------------------------------------------------

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

void parse_pop(const toml::table& t, DnsConfig& d, Pops& pops, Uses& regions, Sink& sink) {
  Section s(t, "dns.pop", sink);
  s.only({"name", "region", "latitude", "longitude"});
  s.missing("name", "a [[dns.pop]] needs a 'name'", "for example name = \"fra\"");
  s.missing("region", "a [[dns.pop]] needs a 'region'", "for example region = \"eu-central\"");
  s.missing("latitude", "a [[dns.pop]] needs a 'latitude' (degrees north, -90..90)",
            "for example latitude = 50.11");
  s.missing("longitude", "a [[dns.pop]] needs a 'longitude' (degrees east, -180..180)",
            "for example longitude = 8.68");
  PopConfig p;
  if (s.string("name", p.name)) {
    const toml::node& n = *s.get("name");
    if (!is_simple_name(p.name, 32)) {
      s.error(n,
              fmt::format("'dns.pop.name' must be 1..32 of a-z, 0-9, '_' and '-' (got \"{}\")",
                          printable(p.name)),
              "PoP names appear in metrics, the nets file and steerctl");
    }
    if (auto [it, fresh] = pops.by_name.emplace(p.name, &n); !fresh) {
      s.error(n, fmt::format("duplicate PoP name '{}'", printable(p.name)),
              fmt::format("first defined at {}", line_of(*it->second)));
    } else {
      pops.names.push_back(p.name);
    }
  } else {
    pops.complete = false;
  }
  if (s.string("region", p.region)) {
    if (is_simple_name(p.region, 32)) {
      regions.emplace_back(p.region, s.get("region")->source());
    } else {
      s.error(*s.get("region"),
              fmt::format("'dns.pop.region' must be 1..32 of a-z, 0-9, '_' and '-' (got \"{}\")",
                          printable(p.region)),
              "region names are targets in the nets file");
    }
  }
  s.number("latitude", -90.0, 90.0, p.latitude, "degrees north; south is negative");
  s.number("longitude", -180.0, 180.0, p.longitude, "degrees east; west is negative");
  d.pops.push_back(std::move(p));
}

void parse_regions(const toml::table& t, DnsConfig& d, const Pops& pops, Uses& regions,
                   Sink& sink) {
  for (auto&& [k, v] : t) {
    const std::string region(k.str());
    const std::string path = fmt::format("dns.regions.{}", region);
    if (!is_simple_name(region, 32)) {
      sink.at(
          k,
          fmt::format("region name '{}' must be 1..32 of a-z, 0-9, '_' and '-'", printable(region)),
          "region names are targets in the nets file");
      continue;
    }
    regions.emplace_back(region, k.source());
    const toml::array* a = v.as_array();
    if (a == nullptr || a->empty()) {
      sink.at(v, fmt::format("'{}' must be a non-empty array of PoP names", path),
              "the region's PoPs, most preferred first: eu-central = [\"fra\", \"ams\"]");
      continue;
    }
    std::vector<std::string> list;
    std::map<std::string, const toml::node*> seen;
    for (const toml::node& e : *a) {
      if (!e.is_string()) {
        sink.at(e, fmt::format("'{}' entries must be PoP names (strings)", path));
        continue;
      }
      const std::string& name = e.as_string()->get();
      if (!pops.check(name, e, path, sink)) continue;
      if (auto [it, fresh] = seen.emplace(name, &e); !fresh) {
        sink.at(e, fmt::format("PoP '{}' appears twice in '{}'", name, path),
                fmt::format("first at {}", line_of(*it->second)));
        continue;
      }
      list.push_back(name);
    }
    d.regions.emplace_back(region, std::move(list));
  }
}

// A region with a PoP's name would make a nets file target ambiguous. Reported once per
// name, at its first use.
void check_region_names(const Uses& regions, const Pops& pops, Sink& sink) {
  std::set<std::string> reported;
  for (const auto& [name, where] : regions) {
    if (!pops.known(name) || !reported.insert(name).second) continue;
    sink.at(where, fmt::format("region '{}' has the name of a PoP", name),
            "a nets file target names a PoP or a region: give the region another name");
  }
}

// --- [[dns.zone]] ----------------------------------------------------------------------------

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

bool supported(uint16_t t) {
  switch (t) {
    case type::kA:
    case type::kAaaa:
    case type::kNs:
    case type::kCname:
    case type::kMx:
    case type::kTxt:
    case type::kCaa:
    case type::kSrv:
    case type::kPtr:
      return true;
  }
  return false;
}

// A name written relative to the zone, absolute, or "@"; inside the zone unless `anywhere`.
// Reported when not.
bool zone_name(const Section& s, std::string_view key, const Name& apex, Name& out,
               bool anywhere = false) {
  std::string text;
  if (!s.string(key, text)) return false;
  const toml::node& n = *s.get(key);
  if (!name_in_origin(text, apex, out)) {
    s.error(n, fmt::format("'{}' must be a domain name (got \"{}\")", s.name(key), printable(text)),
            "labels of 1..63 bytes, 255 bytes in all; relative to the zone, absolute with a "
            "final '.', or \"@\" for the apex");
    return false;
  }
  if (!anywhere && !out.within(apex)) {
    s.error(n, fmt::format("'{}' {} is not inside zone {}", s.name(key), out.text(), apex.text()),
            "a name without a final '.' is relative to the zone");
    return false;
  }
  return true;
}

void parse_record(const toml::table& t, const ZoneConfig& z, ZoneSite& site, Sink& sink) {
  Section s(t, "dns.zone.records", sink);
  s.only({"name", "type", "data", "ttl"});
  s.missing("name", "a record needs a 'name'", "relative to the zone, or \"@\" for the apex");
  s.missing("type", "a record needs a 'type'", fmt::format("one of {}", kSupportedTypes));
  s.missing("data", "a record needs its 'data'", "for example data = \"192.0.2.10\" for an A");
  RecordSite r;
  r.table = &t;
  r.rec.ttl = z.ttl;
  bool ok = site.apex_node != nullptr && zone_name(s, "name", z.apex, r.rec.name);
  std::string type_text;
  if (s.string("type", type_text)) {
    const toml::node& n = *s.get("type");
    if (!parse_type(type_text, r.rec.type)) {
      std::string upper = type_text;
      for (char& c : upper) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
      s.error(
          n, fmt::format("unknown record type \"{}\"", printable(type_text)),
          config::suggestion(upper, {"A", "AAAA", "NS", "CNAME", "MX", "TXT", "CAA", "SRV", "PTR"},
                             "supported"));
      ok = false;
    } else if (r.rec.type == type::kSoa) {
      s.error(n, "a zone's SOA record comes from its 'soa' table, not from 'records'",
              "soa = { rname = \"hostmaster\", ... } in the [[dns.zone]]");
      ok = false;
    } else if (!supported(r.rec.type)) {
      s.error(n, fmt::format("record type {} is not supported in a zone", type_name(r.rec.type)),
              fmt::format("supported: {}", kSupportedTypes));
      ok = false;
    } else if (ok && r.rec.name == z.apex && r.rec.type == type::kNs) {
      s.error(n, "the apex NS records are the zone's 'ns' list, not 'records'",
              "add the name server to ns = [...]");
      ok = false;
    } else if (ok && r.rec.name == z.apex && r.rec.type == type::kCname) {
      s.error(n, "a CNAME cannot be at the zone's apex (it has the SOA and NS records)",
              "RFC 1034 3.6.2: a CNAME is alone at its name; answer the apex with a service or "
              "A/AAAA records");
      ok = false;
    }
  } else {
    ok = false;
  }
  const bool data_given = s.string("data", r.rec.text);
  if (ok && data_given) {
    auto rdata = rdata_from_text(r.rec.type, r.rec.text, z.apex);
    if (rdata) {
      r.rec.rdata = std::move(*rdata);
    } else {
      s.error(*s.get("data"),
              fmt::format("'dns.zone.records.data' is not valid {} data (got \"{}\"): {}",
                          type_name(r.rec.type), printable(r.rec.text), rdata.error().message));
      ok = false;
    }
  }
  if (s.get("ttl") != nullptr) {
    if (s.integer("ttl", 0, kMaxZoneTtl, r.rec.ttl)) {
      r.ttl = s.get("ttl");
    } else {
      ok = false;
    }
  }
  if (ok && data_given) site.records.push_back(std::move(r));
}

void parse_soa(const Section& zs, const ZoneConfig& z, bool ns_ok, ZoneSite& site, Soa& soa,
               Sink& sink) {
  const toml::node* n = zs.get("soa");
  if (n == nullptr) return;
  if (!n->is_table()) {
    zs.type_error(*n, "soa", "a table", "soa = { rname = \"hostmaster\" } at least");
    return;
  }
  Section s(*n->as_table(), "dns.zone.soa", sink);
  s.only({"mname", "rname", "serial", "refresh", "retry", "expire", "minimum"});
  s.missing("rname", "the zone's soa needs an 'rname', the mailbox of the zone's administrator",
            "hostmaster@example.com is written rname = \"hostmaster.example.com.\"");
  if (site.apex_node != nullptr) {
    if (s.get("mname") != nullptr) {
      zone_name(s, "mname", z.apex, soa.mname, true);  // the primary may be elsewhere
    } else if (ns_ok) {
      soa.mname = z.ns.front();
    }
    std::string rname;
    if (s.string("rname", rname)) {
      const toml::node& rn = *s.get("rname");
      if (rname != "@" && rname.find('@') != std::string::npos) {
        s.error(rn,
                fmt::format("'dns.zone.soa.rname' is a mailbox written as a domain name (got "
                            "\"{}\")",
                            printable(rname)),
                "write the '@' as a '.': hostmaster@example.com is \"hostmaster.example.com.\"");
      } else if (!name_in_origin(rname, z.apex, soa.rname)) {
        s.error(rn,
                fmt::format("'dns.zone.soa.rname' must be a domain name (got \"{}\")",
                            printable(rname)),
                "relative to the zone, or absolute with a final '.'");
      }
    }
  }
  s.integer("serial", 0, 4294967295LL, soa.serial);
  s.integer("refresh", 0, kMaxSoaTime, soa.refresh);
  s.integer("retry", 0, kMaxSoaTime, soa.retry);
  s.integer("expire", 0, kMaxSoaTime, soa.expire);
  s.integer("minimum", 0, kMaxServiceTtl, soa.minimum,
            "the negative-caching TTL (RFC 2308); at most a day");
}

// The records against one another: duplicates, one TTL per RRset, delegations, CNAMEs.
void check_records(ZoneSite& site, Sink& sink) {
  std::vector<RecordSite>& rs = site.records;
  auto describe = [](const RecordSite& r) {
    return fmt::format("{} {}", r.rec.name.text(), type_name(r.rec.type));
  };
  std::set<std::string> ttl_reported;  // RRsets (wire name + type)
  for (size_t i = 0; i < rs.size(); ++i) {
    RecordSite& r = rs[i];
    for (size_t j = 0; j < i && !r.bad; ++j) {
      const RecordSite& o = rs[j];
      if (o.bad || o.rec.name != r.rec.name || o.rec.type != r.rec.type) continue;
      if (o.rec.rdata == r.rec.rdata) {
        sink.at(*r.table, fmt::format("duplicate record {} \"{}\"", describe(r), r.rec.text),
                fmt::format("first at {}", line_of(*o.table)));
        r.bad = true;
      } else if (o.rec.ttl != r.rec.ttl &&
                 ttl_reported.insert(wire_key(r.rec.name) + type_name(r.rec.type)).second) {
        sink.at(r.ttl != nullptr ? *r.ttl : static_cast<const toml::node&>(*r.table),
                fmt::format("the {} records have different TTLs: {} here, {} at {}", describe(r),
                            r.rec.ttl, o.rec.ttl, line_of(*o.table)),
                "an RRset has one TTL (RFC 2181 5.2): give its records the same ttl");
        r.bad = true;
      }
    }
  }
  // Delegations: NS records below the apex (at the apex they come from `ns` only).
  for (const RecordSite& r : rs) {
    if (!r.bad && r.rec.type == type::kNs &&
        std::find(site.cuts.begin(), site.cuts.end(), r.rec.name) == site.cuts.end()) {
      site.cuts.push_back(r.rec.name);
    }
  }
  std::stable_sort(site.cuts.begin(), site.cuts.end(),
                   [](const Name& a, const Name& b) { return a.labels() < b.labels(); });
  for (RecordSite& r : rs) {
    if (r.bad) continue;
    const Name* cut = site.cut_of(r.rec.name);
    if (cut == nullptr || (r.rec.name == *cut && r.rec.type == type::kNs)) continue;
    bool glue = false;
    if (r.rec.type == type::kA || r.rec.type == type::kAaaa) {
      const std::vector<uint8_t> target(r.rec.name.bytes.begin(),
                                        r.rec.name.bytes.begin() + r.rec.name.size);
      for (const RecordSite& ns : rs) {
        if (!ns.bad && ns.rec.type == type::kNs && ns.rec.name == *cut && ns.rec.rdata == target) {
          glue = true;
        }
      }
    }
    if (glue) continue;
    const RecordSite* ns = site.find(*cut, type::kNs);
    sink.at(*r.table,
            r.rec.name == *cut
                ? fmt::format("{} is a delegation (NS at {}): the zone has only its NS records "
                              "and glue there, not {}",
                              cut->text(), line_of(*ns->table), describe(r))
                : fmt::format("{} is below the delegation {} (NS at {}): the zone has no data "
                              "there",
                              describe(r), cut->text(), line_of(*ns->table)),
            "only glue may be there: A/AAAA records of a name the delegation's NS records "
            "point to");
    r.bad = true;
  }
  // A CNAME is alone at its name (RFC 1034 3.6.2): one error per name, at the later record.
  std::set<std::string> cname_reported;
  for (size_t i = 0; i < rs.size(); ++i) {
    if (rs[i].bad || rs[i].rec.type != type::kCname) continue;
    for (size_t j = 0; j < rs.size(); ++j) {
      if (j == i || rs[j].bad || rs[j].rec.name != rs[i].rec.name) continue;
      if (!cname_reported.insert(wire_key(rs[i].rec.name)).second) break;
      RecordSite& later = rs[std::max(i, j)];
      const RecordSite& earlier = rs[std::min(i, j)];
      sink.at(*later.table,
              fmt::format("{} has a CNAME, so it can have no other record: {} at {}, {} here",
                          rs[i].rec.name.text(), type_name(earlier.rec.type),
                          line_of(*earlier.table), type_name(later.rec.type)),
              "RFC 1034 3.6.2: a CNAME is alone at its name");
      later.bad = true;
      break;
    }
  }
}

void parse_zone(const toml::table& t, ZoneConfig& z, ZoneSite& site, Sink& sink) {
  Section s(t, "dns.zone", sink);
  s.only({"name", "ttl", "ns", "soa", "records"});
  s.missing("name", "a [[dns.zone]] needs a 'name', its apex", "name = \"lb.example.com.\"");
  s.missing("ns", "a [[dns.zone]] needs 'ns', its name servers", "ns = [\"ns1\", \"ns2\"]");
  s.missing("soa", "a [[dns.zone]] needs 'soa' (its rname at least)",
            "soa = { rname = \"hostmaster\" }");
  std::string name;
  if (s.string("name", name)) {
    const toml::node& n = *s.get("name");
    if (!name.ends_with('.') || !parse_name_text(name, z.apex)) {
      s.error(n,
              fmt::format("'dns.zone.name' must be an absolute domain name, ending in '.' (got "
                          "\"{}\")",
                          printable(name)),
              "for example name = \"lb.example.com.\"");
    } else {
      site.apex_node = &n;
    }
  }
  s.integer("ttl", 0, kMaxZoneTtl, z.ttl, "the default TTL of the zone's records");
  bool ns_ok = false;
  std::vector<Entry> ns;
  if (string_list(s, "ns", "name server names", ns, "ns = [\"ns1\", \"ns2.example.net.\"]") &&
      site.apex_node != nullptr) {
    ns_ok = true;
    for (const Entry& e : ns) {
      Name n;
      if (!name_in_origin(e.text, z.apex, n)) {
        s.error(*e.node,
                fmt::format("'dns.zone.ns' entries must be domain names (got \"{}\")",
                            printable(e.text)),
                "relative to the zone, or absolute with a final '.'");
        ns_ok = false;
      } else if (std::find(z.ns.begin(), z.ns.end(), n) != z.ns.end()) {
        s.error(*e.node, fmt::format("name server {} appears twice in 'dns.zone.ns'", n.text()));
        ns_ok = false;
      } else {
        z.ns.push_back(n);
      }
    }
  }
  parse_soa(s, z, ns_ok, site, z.soa, sink);
  if (const toml::node* n = s.get("records")) {
    const toml::array* a = n->as_array();
    if (a == nullptr) {
      s.type_error(*n, "records", "an array of records",
                   "records = [{ name = \"www\", type = \"A\", data = \"192.0.2.10\" }]");
    } else {
      for (const toml::node& e : *a) {
        if (!e.is_table()) {
          s.error(e, "'dns.zone.records' entries must be tables",
                  "{ name = \"www\", type = \"A\", data = \"192.0.2.10\" }");
          continue;
        }
        parse_record(*e.as_table(), z, site, sink);
      }
    }
  }
  check_records(site, sink);
  for (const RecordSite& r : site.records) z.records.push_back(r.rec);
}

// Zones are disjoint: neither the same apex twice nor one inside another.
void check_zones(const std::vector<ZoneConfig>& zones, const std::vector<ZoneSite>& sites,
                 Sink& sink) {
  for (size_t i = 0; i < zones.size(); ++i) {
    if (sites[i].apex_node == nullptr) continue;
    for (size_t j = 0; j < i; ++j) {
      if (sites[j].apex_node == nullptr) continue;
      const Name& a = zones[i].apex;
      const Name& b = zones[j].apex;
      if (a == b) {
        sink.at(*sites[i].apex_node, fmt::format("duplicate zone {}", a.text()),
                fmt::format("first defined at {}", line_of(*sites[j].apex_node)));
      } else if (a.within(b) || b.within(a)) {
        const Name& inner = a.within(b) ? a : b;
        const Name& outer = a.within(b) ? b : a;
        sink.at(*sites[i].apex_node,
                fmt::format("zone {} is inside zone {} ({}): zones may not nest", inner.text(),
                            outer.text(), line_of(*sites[j].apex_node)),
                fmt::format("put its records in {}, or delegate it there with NS records",
                            outer.text()));
      } else {
        continue;
      }
      break;
    }
  }
}

// --- [[dns.service]] -------------------------------------------------------------------------

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

// A check named in a service; reported when it is not a [check.NAME].
bool known_check(const Section& s, std::string_view key, const DnsContext& c, std::string& out) {
  if (!s.string(key, out, true)) return false;
  if (std::find(c.checks.begin(), c.checks.end(), out) != c.checks.end()) return true;
  s.error(
      *s.get(key), fmt::format("unknown check '{}'", printable(out)),
      unknown_hint(out, views(c.checks), "checks", "no checks are defined: add a [check.NAME]"));
  return false;
}

std::optional<uint16_t> check_port(const DnsContext& c, const std::string& check) {
  for (const auto& [name, port] : c.check_ports) {
    if (name == check) return port;
  }
  return std::nullopt;
}

enum class PopKind : uint8_t { Local, Remote, Unknown };

struct ServicePopSite {
  PopKind kind = PopKind::Unknown;
  bool own_check = false;  // a check key was given (valid or reported)
  bool check_ok = false;
  bool port_given = false;
};

void parse_local_pop(Section& s, const Services& ctx, ServicePopConfig& p) {
  std::vector<std::string_view> remote_keys;
  for (std::string_view k : {"addresses", "probe", "check", "port"}) {
    if (s.get(k) != nullptr) remote_keys.push_back(k);
  }
  if (!remote_keys.empty()) {
    s.error(*s.get(remote_keys.front()),
            fmt::format("'{}' is this PoP ([pop] name): it answers with its VIPs' addresses, so "
                        "{} {} not apply",
                        p.pop, config::join(remote_keys), remote_keys.size() == 1 ? "does" : "do"),
            "vips = [\"web\", ...]: names of this PoP's [[vip]]s");
    return;
  }
  s.missing("vips",
            fmt::format("the local PoP '{}' needs 'vips', the [[vip]]s it answers with", p.pop),
            "for example vips = [\"web\", \"web6\"]");
  std::vector<Entry> entries;
  string_list(s, "vips", "VIP names", entries);
  std::vector<std::string_view> known;
  for (const DnsContext::Vip& v : ctx.context.vips) known.push_back(v.name);
  std::map<std::string, const toml::node*> seen;
  for (const Entry& e : entries) {
    if (std::find(known.begin(), known.end(), e.text) == known.end()) {
      s.error(*e.node, fmt::format("unknown VIP '{}' in 'dns.service.pop.vips'", printable(e.text)),
              unknown_hint(e.text, known, "VIPs", "no VIPs are defined: add a [[vip]]"));
      continue;
    }
    if (auto [it, fresh] = seen.emplace(e.text, e.node); !fresh) {
      s.error(*e.node, fmt::format("VIP '{}' appears twice in 'dns.service.pop.vips'", e.text),
              fmt::format("first at {}", line_of(*it->second)));
      continue;
    }
    p.vips.push_back(e.text);
  }
}

void parse_remote_pop(Section& s, const Services& ctx, ServicePopConfig& p, ServicePopSite& site) {
  if (const toml::node* v = s.get("vips")) {
    s.error(*v,
            fmt::format("'dns.service.pop.vips' names this PoP's VIPs, but '{}' is a remote PoP "
                        "(this one is '{}')",
                        p.pop, ctx.context.local_pop),
            "give a remote PoP's addresses: addresses = [\"198.51.100.10\"]");
  } else {
    s.missing(
        "addresses",
        fmt::format("the remote PoP '{}' needs 'addresses', the addresses it serves at", p.pop),
        "for example addresses = [\"198.51.100.10\", \"2001:db8:2::10\"]");
  }
  const bool addresses_ok = address_list(s, "addresses", p.addresses);
  if (s.get("probe") != nullptr) {
    address_list(s, "probe", p.probe);
  } else if (addresses_ok) {
    p.probe = p.addresses;
  }
  if (s.get("check") != nullptr) {
    site.own_check = true;
    site.check_ok = known_check(s, "check", ctx.context, p.check);
  }
  if (s.get("port") != nullptr) {
    site.port_given = true;
    s.integer("port", 1, 65535, p.port, "the port the check probes the addresses on");
  }
}

ServicePopConfig parse_service_pop(const toml::table& t, const Services& ctx,
                                   std::map<std::string, const toml::node*>& seen,
                                   ServicePopSite& site, Sink& sink) {
  Section s(t, "dns.service.pop", sink);
  s.only({"pop", "vips", "addresses", "probe", "check", "port"});
  s.missing("pop", "a [[dns.service.pop]] needs 'pop', a [[dns.pop]] name",
            "for example pop = \"fra\"");
  ServicePopConfig p;
  if (s.string("pop", p.pop)) {
    const toml::node& n = *s.get("pop");
    const bool local = !ctx.context.local_pop.empty() && p.pop == ctx.context.local_pop;
    // The local PoP's own [[dns.pop]] missing is reported once, at [dns].
    if (local || ctx.pops.check(p.pop, n, "dns.service.pop.pop", sink)) {
      if (auto [it, fresh] = seen.emplace(p.pop, &n); !fresh) {
        s.error(n, fmt::format("PoP '{}' appears twice in the service", p.pop),
                fmt::format("first at {}", line_of(*it->second)));
      } else if (local) {
        site.kind = PopKind::Local;
      } else if (!ctx.context.local_pop.empty()) {
        site.kind = PopKind::Remote;
      }
    }
  }
  switch (site.kind) {
    case PopKind::Local:
      parse_local_pop(s, ctx, p);
      break;
    case PopKind::Remote:
      parse_remote_pop(s, ctx, p, site);
      break;
    case PopKind::Unknown: {  // its PoP was reported: check the values alone
      std::vector<Entry> vips;
      string_list(s, "vips", "VIP names", vips);
      address_list(s, "addresses", p.addresses);
      address_list(s, "probe", p.probe);
      if (s.get("check") != nullptr) known_check(s, "check", ctx.context, p.check);
      s.integer("port", 1, 65535, p.port);
      break;
    }
  }
  return p;
}

// The service's owner name: inside its zone, not at or below a delegation, not a CNAME, no
// A/AAAA records of its own, no other service there.
void check_owner(const ServiceConfig& v, const ZoneSite& zone, const toml::node& at, Services& ctx,
                 Sink& sink) {
  const std::string owner = v.owner.text();
  if (const Name* cut = zone.cut_of(v.owner)) {
    sink.at(at,
            fmt::format("service '{}' answers for {}, {} the delegation {}", v.name, owner,
                        *cut == v.owner ? "which is" : "below", cut->text()),
            "the zone has no authority below a delegation: choose another host");
    return;
  }
  if (const RecordSite* r = zone.find(v.owner, type::kCname)) {
    sink.at(at,
            fmt::format("service '{}' answers for {}, which has a CNAME record ({})", v.name, owner,
                        line_of(*r->table)),
            "RFC 1034 3.6.2: a CNAME is alone at its name");
    return;
  }
  for (uint16_t t : {type::kA, type::kAaaa}) {
    if (const RecordSite* r = zone.find(v.owner, t)) {
      sink.at(at,
              fmt::format("service '{}' answers for {}, which has an {} record ({})", v.name, owner,
                          type_name(t), line_of(*r->table)),
              "a service owns the A and AAAA records of its name: remove the record or give the "
              "service another host");
      return;
    }
  }
  if (auto [it, fresh] = ctx.owners.emplace(wire_key(v.owner), std::pair{v.name, &at}); !fresh) {
    sink.at(
        at,
        fmt::format("services '{}' and '{}' both answer for {}", it->second.first, v.name, owner),
        fmt::format("the other is at {}", line_of(*it->second.second)));
  }
}

// The service's zone: its `zone` key, or the only zone. nullptr when there is none to use.
const ZoneConfig* service_zone(Section& s, Services& ctx, size_t& index) {
  const std::vector<std::string> names = ctx.zone_names();
  std::string text;
  if (s.get("zone") == nullptr) {
    if (ctx.zones.size() == 1 && ctx.zone_sites[0].apex_node != nullptr) {
      index = 0;
      return &ctx.zones[0];
    }
    if (ctx.zones.size() > 1) {
      s.missing("zone",
                fmt::format("the service needs 'zone': [dns] has {} zones", ctx.zones.size()),
                fmt::format("one of {}", config::join(views(names))));
    }
    return nullptr;  // no zone: reported at [dns]
  }
  if (!s.string("zone", text, true)) return nullptr;
  const toml::node& n = *s.get("zone");
  Name apex;
  if (!parse_name_text(text, apex)) {
    s.error(n,
            fmt::format("'dns.service.zone' must be a zone's name (got \"{}\")", printable(text)),
            fmt::format("one of {}", config::join(views(names))));
    return nullptr;
  }
  for (size_t i = 0; i < ctx.zones.size(); ++i) {
    if (ctx.zone_sites[i].apex_node != nullptr && ctx.zones[i].apex == apex) {
      index = i;
      return &ctx.zones[i];
    }
  }
  if (!ctx.zones.empty() && ctx.zones_complete()) {  // no zone at all: reported at [dns]
    s.error(n, fmt::format("unknown zone '{}' in 'dns.service.zone'", printable(text)),
            unknown_hint(apex.text(), views(names), "zones", "define it as a [[dns.zone]]"));
  }
  return nullptr;
}

std::string label(const ServiceConfig& v) {
  return v.name.empty() ? std::string("the service") : fmt::format("service '{}'", v.name);
}

void parse_service(const toml::table& t, const DnsConfig& d, Services& ctx, ServiceConfig& v,
                   Sink& sink) {
  Section s(t, "dns.service", sink);
  s.only({"name", "zone", "host", "ttl", "pending_ttl", "ttl_jitter", "answers", "when_all_down",
          "static", "check", "pop"});
  s.missing("name", "a [[dns.service]] needs a 'name'", "for example name = \"web\"");
  bool name_ok = false;
  if (s.string("name", v.name)) {
    const toml::node& n = *s.get("name");
    if (!is_simple_name(v.name, 63)) {
      s.error(n,
              fmt::format("'dns.service.name' must be 1..63 of a-z, 0-9, '_' and '-' (got "
                          "\"{}\")",
                          printable(v.name)),
              "it is also the service's default host, a DNS label");
    } else if (auto [it, fresh] = ctx.names.emplace(v.name, &n); !fresh) {
      s.error(n, fmt::format("duplicate service name '{}'", v.name),
              fmt::format("first defined at {}", line_of(*it->second)));
    } else {
      name_ok = true;
    }
  }
  size_t zone_index = 0;
  const ZoneConfig* zone = service_zone(s, ctx, zone_index);
  if (zone != nullptr) v.zone = zone->apex;
  // The owner: host, or the name, in the zone.
  const toml::node* host_at = s.get("host") != nullptr ? s.get("host") : s.get("name");
  bool owner_ok = false;
  if (zone != nullptr && s.get("host") != nullptr) {
    owner_ok = zone_name(s, "host", zone->apex, v.owner);
  } else if (zone != nullptr && name_ok) {
    owner_ok = name_in_origin(v.name, zone->apex, v.owner);  // a valid label
  }
  if (owner_ok) check_owner(v, ctx.zone_sites[zone_index], *host_at, ctx, sink);

  v.ttl = d.ttl;
  v.pending_ttl = d.pending_ttl;
  v.ttl_jitter = d.ttl_jitter;
  v.answers = d.answers;
  const bool ttl_ok = s.integer("ttl", 0, kMaxServiceTtl, v.ttl);
  const bool pending_ok = s.integer("pending_ttl", 0, kMaxServiceTtl, v.pending_ttl);
  check_pending_ttl(s, v.ttl, ttl_ok, v.pending_ttl, pending_ok,
                    s.get("pending_ttl") == nullptr ? " (pending_ttl from [dns])" : "");
  s.number("ttl_jitter", 0.0, 0.5, v.ttl_jitter, "a fraction of the TTL taken off at random");
  s.integer("answers", 1, 16, v.answers, "addresses per family in one answer");

  std::string when;
  const bool when_ok = s.one_of("when_all_down", {"all", "static"}, when);
  if (when_ok) v.when_all_down = when == "static" ? WhenAllDown::Static : WhenAllDown::All;
  if (const toml::node* st = s.get("static")) {
    if (v.when_all_down == WhenAllDown::Static) {
      address_list(s, "static", v.static_addresses);
    } else if (when_ok || s.get("when_all_down") == nullptr) {
      s.error(*st, "'dns.service.static' is only used with when_all_down = \"static\"",
              "add when_all_down = \"static\", or remove static");
    }
  } else if (v.when_all_down == WhenAllDown::Static) {
    s.missing("static", "when_all_down = \"static\" needs 'static', the addresses to answer",
              "for example static = [\"192.0.2.200\"]");
  }

  bool check_ok = false;
  if (s.get("check") != nullptr) check_ok = known_check(s, "check", ctx.context, v.check);

  s.missing("pop", fmt::format("{} needs at least one [[dns.service.pop]]", label(v)),
            "[[dns.service.pop]] pop = \"fra\" ...");
  const toml::array* pops = tables_of(t, "pop", "dns.service.pop", sink);
  if (pops == nullptr) return;
  std::map<std::string, const toml::node*> seen;
  std::string needs_check;  // a remote PoP with no check of its own, when the service has none
  for (const toml::node& pn : *pops) {
    ServicePopSite site;
    ServicePopConfig p = parse_service_pop(*pn.as_table(), ctx, seen, site, sink);
    if (site.kind == PopKind::Remote && !site.own_check) {
      if (check_ok) {
        p.check = v.check;
      } else if (s.get("check") == nullptr && needs_check.empty()) {
        needs_check = p.pop;
      }
    }
    const bool check_known = site.own_check ? site.check_ok : check_ok;
    if (site.kind == PopKind::Remote && !site.port_given && check_known) {
      const std::optional<uint16_t> port = check_port(ctx.context, p.check);
      if (port && *port != 0) {
        p.port = *port;
      } else if (port) {
        sink.at(pn,
                fmt::format("the remote PoP '{}' needs 'port': check '{}' probes the VIP's port "
                            "(its port is 0), which a remote PoP has not got",
                            p.pop, p.check),
                fmt::format("port = 80 here, or set port in [check.{}]", p.check));
      }
    }
    v.pops.push_back(std::move(p));
  }
  if (!needs_check.empty()) {
    s.missing("check",
              fmt::format("{} needs 'check': its remote PoP '{}' has no check of its own", label(v),
                          needs_check),
              "check = \"NAME\", a [check.NAME] that probes the remote PoPs' addresses");
  }
}

// The local PoP is one of the [[dns.pop]]s.
void check_local_pop(const toml::table& t, const DnsContext& c, const Pops& pops, Sink& sink) {
  if (c.local_pop.empty()) {
    sink.at(t, "[dns] needs this PoP's name, from [pop] name",
            "set name in [pop] to this PoP's [[dns.pop]] name");
  } else if (!pops.known(c.local_pop) && pops.complete) {
    const auto near = config::closest(c.local_pop, views(pops.names));
    sink.at(
        t, fmt::format("no [[dns.pop]] is this PoP ('{}', its [pop] name)", printable(c.local_pop)),
        near ? fmt::format("did you mean '{}'?", *near)
             : std::string("every PoP has a [[dns.pop]], this one included"));
  }
}

}  // namespace

std::optional<DnsConfig> parse_section(const toml::table& root, const DnsContext& context,
                                       Sink& sink) {
  const toml::table* t = config::section_table(root, "dns", sink);
  if (t == nullptr) return std::nullopt;
  DnsConfig d;
  Section s(*t, "dns", sink);
  parse_settings(s, d);
  parse_announce(s, context, d);
  if (const toml::table* rrl = sub_table(*t, "rrl", "dns.rrl", sink)) parse_rrl(*rrl, d.rrl, sink);

  Pops pops;
  Uses regions;
  if (const toml::array* a = tables_of(*t, "pop", "dns.pop", sink)) {
    for (const toml::node& n : *a) parse_pop(*n.as_table(), d, pops, regions, sink);
  }
  check_local_pop(*t, context, pops, sink);
  if (const toml::table* r = sub_table(*t, "regions", "dns.regions", sink)) {
    parse_regions(*r, d, pops, regions, sink);
  }
  check_region_names(regions, pops, sink);

  s.missing("zone", "[dns] needs at least one [[dns.zone]] to answer for",
            "[[dns.zone]] name = \"lb.example.com.\" ...");
  std::vector<ZoneSite> zone_sites;
  if (const toml::array* a = tables_of(*t, "zone", "dns.zone", sink)) {
    zone_sites.resize(a->size());
    d.zones.resize(a->size());
    for (size_t i = 0; i < a->size(); ++i) {
      parse_zone(*(*a)[i].as_table(), d.zones[i], zone_sites[i], sink);
    }
  }
  check_zones(d.zones, zone_sites, sink);

  if (const toml::array* a = tables_of(*t, "service", "dns.service", sink)) {
    Services services{context, pops, d.zones, zone_sites, {}, {}};
    d.services.resize(a->size());
    for (size_t i = 0; i < a->size(); ++i) {
      parse_service(*(*a)[i].as_table(), d, services, d.services[i], sink);
    }
  }
  return d;
}

}  // namespace steer::dns
