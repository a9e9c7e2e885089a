// parse_section: [bgp] and [[bgp.group]] through the shared configuration reader.
#include "bgp/config.h"

#include <algorithm>
#include <charconv>
#include <map>

#include <fmt/format.h>

namespace steer::bgp {

using config::Section;
using config::Sink;

bool is_bird_name(std::string_view s, size_t max_len) {
  if (s.empty() || s.size() > max_len || !(s[0] >= 'a' && s[0] <= 'z')) return false;
  return std::all_of(s.begin(), s.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
  });
}

namespace {

// A BGP standard community "ASN:VALUE" (both 0..65535), as BIRD writes (ASN,VALUE).
bool is_community(std::string_view s) {
  const size_t colon = s.find(':');
  if (colon == std::string_view::npos) return false;
  auto part = [](std::string_view p) {
    uint32_t v = 0;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
    return !p.empty() && ec == std::errc() && end == p.data() + p.size() && v <= 65535;
  };
  return part(s.substr(0, colon)) && part(s.substr(colon + 1));
}

void parse_communities(const Section& s, std::string_view key, std::vector<std::string>& out) {
  const toml::node* n = s.get(key);
  if (!n) return;
  const toml::array* a = n->as_array();
  if (a == nullptr) {
    s.type_error(*n, key, "an array of \"ASN:VALUE\" strings", "for example [\"65001:666\"]");
    return;
  }
  out.clear();
  for (const toml::node& e : *a) {
    if (!e.is_string() || !is_community(e.as_string()->get())) {
      s.error(e,
              fmt::format("'{}' entries must be BGP communities \"ASN:VALUE\" with both parts "
                          "0..65535",
                          s.name(key)),
              "for example \"65001:666\"");
      continue;
    }
    out.push_back(e.as_string()->get());
  }
}

void parse_settings(const toml::table& t, BgpConfig& b, Sink& sink) {
  Section s(t, "bgp", sink);
  s.only({"socket", "snippet", "protocol_prefix", "local_as", "announce", "announce_hold_ms",
          "min_interval_ms", "reconcile_ms", "request_timeout_ms", "drain_ms", "drain_prepend",
          "drain_communities", "communities", "valve_share", "valve_window_ms", "group"});
  s.missing("socket", "[bgp] needs 'socket', the path of BIRD's control socket",
            "for example socket = \"/run/bird/bird.ctl\"");
  s.string("socket", b.socket, true);
  s.string("snippet", b.snippet);
  std::string prefix;
  if (s.string("protocol_prefix", prefix)) {
    if (is_bird_name(prefix, 32)) {
      b.protocol_prefix = prefix;
    } else {
      s.error(*s.get("protocol_prefix"),
              fmt::format("'bgp.protocol_prefix' must be 1..32 of a-z, 0-9 and '_', starting "
                          "with a letter (got \"{}\")",
                          config::printable(prefix)),
              "BIRD protocol names are symbols; steer adds the VIP address to this prefix");
    }
  }
  RouteAttributes& a = b.attributes;
  s.integer("local_as", 1, 4294967295LL, a.local_as);
  std::string announce;
  if (s.one_of("announce", {"all", "any"}, announce)) b.announce_all = announce == "all";
  PolicyOptions& p = b.policy;
  s.millis("announce_hold_ms", 0, 3600000, p.announce_hold);
  s.millis("min_interval_ms", 0, 3600000, p.min_interval);
  s.millis("reconcile_ms", 50, 600000, b.reconcile);
  s.millis("request_timeout_ms", 10, 600000, b.request_timeout);
  s.millis("drain_ms", 0, 86400000, p.drain);
  s.integer("drain_prepend", 0, 10, a.drain_prepend);
  parse_communities(s, "drain_communities", a.drain_communities);
  parse_communities(s, "communities", a.communities);
  s.number("valve_share", 0.0, 1.0, p.valve_share,
           "the share of VIP addresses health may withdraw within valve_window_ms; 1 = no valve");
  s.millis("valve_window_ms", 1000, 86400000, p.valve_window);
  if (a.drain_prepend > 0 && a.local_as == 0 && !s.get("local_as")) {
    s.missing("local_as",
              fmt::format("[bgp] needs 'local_as' to prepend it {} time(s) while draining",
                          a.drain_prepend),
              "set local_as to the LB's AS number, or drain_prepend = 0 to drain with "
              "communities only");
  }
}

const VipRef* find_vip(const std::vector<VipRef>& vips, std::string_view name) {
  for (const VipRef& v : vips) {
    if (v.name == name) return &v;
  }
  return nullptr;
}

// One [[bgp.group]]; nullopt when it has an error (reported).
std::optional<GroupConfig> parse_group(const toml::table& t, const BgpConfig& b,
                                       const std::vector<VipRef>& vips,
                                       std::map<std::string, const toml::node*>& seen, Sink& sink) {
  std::vector<std::string_view> vip_names;
  for (const VipRef& v : vips) vip_names.push_back(v.name);
  Section s(t, "bgp.group", sink);
  s.only({"name", "prefix", "vips", "announce"});
  s.missing("name", "a [[bgp.group]] needs a 'name'", "for example name = \"edge_v4\"");
  s.missing("prefix", "a [[bgp.group]] needs a 'prefix'", "for example prefix = \"192.0.2.0/24\"");
  GroupConfig g;
  g.announce_all = b.announce_all;
  bool ok = true;
  if (s.string("name", g.name)) {
    if (!is_bird_name(g.name, 24)) {
      s.error(*s.get("name"),
              fmt::format("'bgp.group.name' must be 1..24 of a-z, 0-9 and '_', starting with a "
                          "letter (got \"{}\")",
                          config::printable(g.name)));
      ok = false;
    } else if (auto [it, fresh] = seen.emplace(g.name, s.get("name")); !fresh) {
      s.error(*s.get("name"), fmt::format("duplicate group name '{}'", g.name),
              fmt::format("first defined at {}", config::position(it->second->source())));
      ok = false;
    }
  } else {
    ok = false;
  }
  std::string prefix;
  if (s.string("prefix", prefix)) {
    if (auto p = IpPrefix::parse(prefix)) {
      g.prefix = *p;
    } else {
      s.error(*s.get("prefix"),
              fmt::format("'bgp.group.prefix' must be an IPv4 or IPv6 prefix ADDR/LEN with no "
                          "host bits set (got \"{}\")",
                          config::printable(prefix)),
              "for example \"192.0.2.0/24\" or \"2001:db8::/48\"");
      ok = false;
    }
  } else {
    ok = false;
  }
  std::string announce;
  if (s.one_of("announce", {"all", "any"}, announce)) g.announce_all = announce == "all";
  if (const toml::node* vn = s.get("vips")) {
    const toml::array* va = vn->as_array();
    if (va == nullptr) {
      s.type_error(*vn, "vips", "an array of VIP names");
      ok = false;
    } else {
      for (const toml::node& e : *va) {
        const VipRef* v = e.is_string() ? find_vip(vips, e.as_string()->get()) : nullptr;
        if (v == nullptr) {
          s.error(e,
                  fmt::format("'bgp.group.vips' entries must be names of VIPs (got {})",
                              e.is_string() ? "\"" + config::printable(e.as_string()->get()) + "\""
                                            : std::string("a non-string")),
                  e.is_string() ? config::suggestion(e.as_string()->get(), vip_names, "VIPs") : "");
          ok = false;
          continue;
        }
        if (ok && !g.prefix.contains(v->address)) {
          s.error(e, fmt::format("VIP '{}' ({}) is not inside the group's prefix {}", v->name,
                                 v->address, g.prefix));
          ok = false;
          continue;
        }
        g.vips.push_back(v->name);
      }
    }
  } else if (ok) {
    for (const VipRef& v : vips) {
      if (g.prefix.contains(v.address)) g.vips.push_back(v.name);
    }
  }
  if (ok && g.vips.empty()) {
    s.error(t, fmt::format("group '{}' has no VIP: none is inside {}", g.name, g.prefix),
            "list the VIPs with vips = [...] or widen the prefix");
    ok = false;
  }
  if (!ok) return std::nullopt;
  return g;
}

}  // namespace

std::optional<BgpConfig> parse_section(const toml::table& root, const std::vector<VipRef>& vips,
                                       Sink& sink) {
  const toml::table* t = config::section_table(root, "bgp", sink);
  if (t == nullptr) return std::nullopt;
  BgpConfig b;
  parse_settings(*t, b, sink);
  const toml::node* n = t->get("group");
  if (n == nullptr) return b;
  const toml::array* a = n->as_array();
  if (a == nullptr || !a->is_array_of_tables()) {
    sink.at(*n, "'bgp.group' must be an array of tables", "write each group as a [[bgp.group]]");
    return b;
  }
  std::map<std::string, const toml::node*> seen;
  for (const toml::node& gn : *a) {
    if (auto g = parse_group(*gn.as_table(), b, vips, seen, sink))
      b.groups.push_back(std::move(*g));
  }
  return b;
}

}  // namespace steer::bgp
