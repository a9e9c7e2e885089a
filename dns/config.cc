// parse_section: [dns] and its tables through the shared configuration reader.
//
// Read in dependency order: the settings and [dns.rrl]; [[dns.pop]] and [dns.regions]; the
// [[dns.tsig]] keys; each [[dns.zone]] with its records and transfer/notify lists, then the records
// against one another (duplicates, one TTL per RRset, delegations and glue, CNAMEs alone); the
// zones against one another (no nesting); last [[dns.service]] against all of that and the caller's
// VIPs and checks. Every reader keeps where its values came from (the *Site structs) so a
// cross-check reports at the value it is about, and leaves out of the cross-checks anything already
// reported (one mistake, one error). Names a reference may point at are kept even when their own
// spelling was reported, and a reference is not called unknown while some definition could not be
// read at all.
#include "dns/config.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

#include <fmt/format.h>

#include "dns/config_internal.h"

namespace steer::dns {

using namespace parse;  // NOLINT(google-build-using-namespace): the parser's own helpers

namespace parse {

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

}  // namespace parse

namespace {

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
    const bool listened = std::any_of(d.listen.begin(), d.listen.end(),
                                      [&](const ListenAddress& l) { return l.address == a; });
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
  s.only({"listen",      "threads",         "nsid",        "identity", "udp_size",
          "tcp_idle_ms", "tcp_connections", "coalesce_us", "ttl",      "pending_ttl",
          "ttl_jitter",  "answers",         "announce",    "nets",     "mmdb",
          "rrl",         "regions",         "pop",         "zone",     "service",
          "tsig"});
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
  s.integer("coalesce_us", 0, 5000, d.coalesce_us,
            "added latency traded for fewer wake-ups per query; 0 answers at once");
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
  bool keys_complete = true;
  if (const toml::array* a = tables_of(*t, "tsig", "dns.tsig", sink)) {
    std::map<std::string, const toml::node*> seen;
    for (const toml::node& n : *a)
      keys_complete = parse_tsig(*n.as_table(), d, seen, sink) && keys_complete;
  }
  std::vector<ZoneSite> zone_sites;
  if (const toml::array* a = tables_of(*t, "zone", "dns.zone", sink)) {
    zone_sites.resize(a->size());
    d.zones.resize(a->size());
    for (size_t i = 0; i < a->size(); ++i) {
      parse_zone(*(*a)[i].as_table(), d.zones[i], zone_sites[i], sink);
      parse_zone_transfers(*(*a)[i].as_table(), d, keys_complete, d.zones[i], sink);
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
