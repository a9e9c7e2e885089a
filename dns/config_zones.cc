// [[dns.zone]]: a zone's apex, SOA, NS and records, and the zones against one another.
#include <algorithm>
#include <map>
#include <set>

#include "dns/config_internal.h"

namespace steer::dns::parse {

namespace {

// --- [[dns.zone]] ----------------------------------------------------------------------------

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

}  // namespace

// A name written relative to the zone, absolute, or "@"; inside the zone unless `anywhere`.
// Reported when not.
bool zone_name(const Section& s, std::string_view key, const Name& apex, Name& out, bool anywhere) {
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

void parse_zone(const toml::table& t, ZoneConfig& z, ZoneSite& site, Sink& sink) {
  Section s(t, "dns.zone", sink);
  s.only({"name", "ttl", "ns", "soa", "records", "transfer", "notify"});
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

}  // namespace steer::dns::parse
