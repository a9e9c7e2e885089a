// [[dns.service]]: a service's name, TTLs, answers and its PoPs, against the zones, the PoPs
// and the caller's VIPs and checks.
#include <algorithm>
#include <map>
#include <set>

#include "dns/config_internal.h"

namespace steer::dns::parse {

namespace {

// --- [[dns.service]] -------------------------------------------------------------------------

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

}  // namespace

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

}  // namespace steer::dns::parse
