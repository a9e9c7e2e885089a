// [[vip]] and [[vip.backend]]: the services, their backends and the cross-checks between
// them and the checks they name.
#include <algorithm>
#include <charconv>
#include <map>
#include <tuple>

#include <fmt/format.h>

#include "control/config/config.h"
#include "control/config/internal.h"
#include "hashing/maglev.h"

namespace steer::control {

using config::closest;
using config::join;
using config::position;
using config::Section;
using config::Sink;

namespace {

bool is_vip_name(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

// Where a VIP's values came from, for the cross-checks; null where absent.
struct BackendSite {
  const toml::table* table = nullptr;
  const toml::node* address = nullptr;  // set only when the address parsed
  const toml::node* check = nullptr;    // its own check key
};

struct VipSite {
  const toml::table* table = nullptr;
  const toml::node* name = nullptr;  // set only when the name is valid
  bool key_ok = false;               // address, protocol and port all valid
  const toml::node* check = nullptr;
  const toml::node* min_healthy = nullptr;  // set only when a valid count was given
  const toml::node* table_size = nullptr;
  bool table_size_ok = true;
  std::vector<BackendSite> backends;
};

void parse_min_healthy(const Section& s, MinHealthy& out, VipSite& site) {
  const toml::node* n = s.get("min_healthy");
  if (!n) return;
  constexpr std::string_view kExpected =
      "a count of backends (an integer) or a percentage string like \"50%\"";
  if (n->is_integer()) {
    if (s.integer("min_healthy", 0, 65535, out.count)) site.min_healthy = n;
    return;
  }
  if (!n->is_string()) {
    s.type_error(*n, "min_healthy", kExpected);
    return;
  }
  const std::string& text = n->as_string()->get();
  double percent = 0;
  bool ok = text.size() >= 2 && text.back() == '%';
  if (ok) {
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size() - 1, percent);
    ok = ec == std::errc() && p == text.data() + text.size() - 1;
  }
  if (!ok) {
    s.error(*n,
            fmt::format("'{}' must be {} (got \"{}\")", s.name("min_healthy"), kExpected, text));
    return;
  }
  if (!(percent > 0 && percent <= 100)) {
    s.error(*n,
            fmt::format("'{}' must be a percentage in (0, 100]% (got \"{}\")",
                        s.name("min_healthy"), text),
            "use a count, e.g. min_healthy = 0, for no minimum");
    return;
  }
  out.is_fraction = true;
  out.fraction = percent / 100;
}

BackendConfig parse_backend(const toml::table& t, Sink& sink, BackendSite& site) {
  BackendConfig b;
  Section s(t, "vip.backend", sink);
  site.table = &t;
  s.only({"address", "weight", "check"});
  if (s.address("address", b.address)) site.address = s.get("address");
  s.missing("address", "backend needs an address", "address = \"10.0.0.1\"");
  s.integer("weight", 0, 65535, b.weight, "0 sends it no new flows");
  if (s.get("check")) {
    if (s.string("check", b.check)) site.check = s.get("check");
  }
  return b;
}

VipConfig parse_vip(const toml::table& t, Sink& sink, VipSite& site) {
  VipConfig v;
  Section s(t, "vip", sink);
  site.table = &t;
  s.only({"name", "address", "protocol", "port", "table_size", "encap", "gue_port", "hash", "echo",
          "min_healthy", "check", "backend"});
  if (s.string("name", v.name)) {
    if (is_vip_name(v.name)) {
      site.name = s.get("name");
    } else {
      s.error(
          *s.get("name"),
          fmt::format("VIP name \"{}\" must be 1..64 characters of a-z, 0-9, '_' and '-'", v.name),
          "names appear in metrics labels and BGP protocol names");
    }
  }
  s.missing("name", "VIP needs a name", "name = \"web\"");
  bool key_ok = s.address("address", v.address);
  s.missing("address", "VIP needs an address", "address = \"192.0.2.10\"");
  if (s.get("protocol")) {
    std::string proto;
    if (s.one_of("protocol", {"tcp", "udp"}, proto)) {
      v.proto = *parse_l4_proto(proto);
    } else {
      key_ok = false;
    }
  }
  if (!s.integer("port", 0, 65535, v.port, "0 serves every port")) key_ok = false;
  s.missing("port", "VIP needs a port", "port = 0 serves every port");
  site.key_ok = key_ok;

  if (const toml::node* n = s.get("table_size")) {
    site.table_size = n;
    site.table_size_ok =
        s.integer("table_size", 2, hashing::MaglevTable::kMaxSize, v.table_size,
                  fmt::format("a prime; the default is {}", hashing::MaglevTable::kDefaultSize));
    if (site.table_size_ok && !hashing::is_prime(v.table_size)) {
      const auto next = hashing::next_prime(v.table_size);
      s.error(*n, fmt::format("'vip.table_size' must be prime (got {})", v.table_size),
              next ? fmt::format("the next prime is {}", *next) : std::string());
      site.table_size_ok = false;
    }
  }
  s.one_of("encap", {"ipip", "gue"}, v.encap);
  s.integer("gue_port", 1, 65535, v.gue_port, "the UDP port the backends decapsulate GUE on");
  s.one_of("hash", {"5-tuple", "3-tuple", "source"}, v.hash);
  s.boolean("echo", v.echo);
  parse_min_healthy(s, v.min_healthy, site);
  if (s.string("check", v.check)) site.check = s.get("check");

  if (const toml::node* n = s.get("backend")) {
    const toml::array* a = n->as_array();
    if (!a || !a->is_array_of_tables()) {
      s.error(*n, "'vip.backend' must be an array of tables ([[vip.backend]])");
    } else {
      for (const toml::node& bn : *a) {
        site.backends.emplace_back();
        v.backends.push_back(parse_backend(*bn.as_table(), sink, site.backends.back()));
      }
    }
  }
  return v;
}

// Checks a reference to a check name; true when it names a defined check.
bool known_check(const Config& c, const std::string& name, const toml::node& at, Sink& sink) {
  if (c.checks.contains(name)) return true;
  std::vector<std::string_view> defined;
  for (const auto& [k, v] : c.checks) defined.push_back(k);
  std::string hint;
  if (defined.empty()) {
    hint = "no checks are defined: add a [check.NAME] table";
  } else if (auto best = closest(name, defined)) {
    hint = fmt::format("did you mean '{}'? defined: {}", *best, join(defined));
  } else {
    hint = fmt::format("defined: {}", join(defined));
  }
  sink.at(at, fmt::format("unknown check '{}'", name), hint);
  return false;
}

void cross_check_vips(Config& c, std::vector<VipSite>& sites, Sink& sink) {
  std::map<std::string, const VipSite*> by_name;
  std::map<VipKey, size_t> by_key;  // -> index
  for (size_t i = 0; i < c.vips.size(); ++i) {
    VipConfig& v = c.vips[i];
    VipSite& site = sites[i];
    if (site.name) {
      auto [it, fresh] = by_name.emplace(v.name, &site);
      if (!fresh) {
        sink.at(*site.name, fmt::format("duplicate VIP name '{}'", v.name),
                fmt::format("first defined at {}", position(it->second->name->source())));
      }
    }
    if (site.key_ok) {
      auto [it, fresh] = by_key.emplace(v.key(), i);
      if (!fresh) {
        sink.at(*site.table->get("address"),
                fmt::format("VIP '{}' has the same address, protocol and port ({}) as VIP '{}'",
                            v.name, v.key(), c.vips[it->second].name),
                fmt::format("that one is at {}; VIPs differ in address, protocol or port",
                            position(sites[it->second].table->source())));
      }
    }
    // The VIP's own check: reported once here, not once per backend inheriting it.
    bool vip_check_ok =
        v.check.empty() || !site.check || known_check(c, v.check, *site.check, sink);
    bool vip_check_used = v.backends.empty();
    std::map<IpAddress, const BackendSite*> seen;
    for (size_t j = 0; j < v.backends.size(); ++j) {
      BackendConfig& b = v.backends[j];
      const BackendSite& bs = site.backends[j];
      if (bs.address) {
        auto [it, fresh] = seen.emplace(b.address, &bs);
        if (!fresh) {
          sink.at(*bs.address,
                  fmt::format("backend {} appears twice in VIP '{}'", b.address, v.name),
                  fmt::format("first at {}; raise its weight instead",
                              position(it->second->address->source())));
        }
      }
      if (bs.check) {
        if (!b.check.empty() && known_check(c, b.check, *bs.check, sink) && site.key_ok &&
            v.port == 0 && c.checks.at(b.check).port == 0) {
          sink.at(*bs.check,
                  fmt::format("check '{}' has port 0 (the VIP's port) but VIP '{}' serves all "
                              "ports",
                              b.check, v.name),
                  fmt::format("set port in [check.{}]", b.check));
        }
      } else {
        b.check = v.check;  // inherit
        vip_check_used = true;
      }
    }
    if (site.check && !v.check.empty() && vip_check_ok && vip_check_used && site.key_ok &&
        v.port == 0 && c.checks.at(v.check).port == 0) {
      sink.at(*site.check,
              fmt::format("check '{}' has port 0 (the VIP's port) but VIP '{}' serves all ports",
                          v.check, v.name),
              fmt::format("set port in [check.{}]", v.check));
    }
    if (site.min_healthy && v.min_healthy.count > v.backends.size()) {
      sink.at(*site.min_healthy,
              fmt::format("min_healthy is {} but VIP '{}' has {} backend{}", v.min_healthy.count,
                          v.name, v.backends.size(), v.backends.size() == 1 ? "" : "s"),
              "lower it, or give a percentage like \"50%\"");
    }
    if (site.table_size_ok && v.table_size < v.backends.size()) {
      sink.at(site.table_size ? static_cast<const toml::node&>(*site.table_size)
                              : static_cast<const toml::node&>(*site.table),
              fmt::format("table_size {} is smaller than the {} backends of VIP '{}'", v.table_size,
                          v.backends.size(), v.name),
              "use a prime at least 100 times the backend count");
    }
  }
}

}  // namespace

void internal::parse_vips(const toml::table& root, Config& c, Sink& sink) {
  const toml::node* n = root.get("vip");
  if (!n) return;
  const toml::array* a = n->as_array();
  if (!a || !a->is_array_of_tables()) {
    sink.at(*n, "'vip' must be an array of tables", "write each VIP as a [[vip]] table");
    return;
  }
  std::vector<VipSite> sites;
  sites.reserve(a->size());
  for (const toml::node& vn : *a) {
    sites.emplace_back();
    c.vips.push_back(parse_vip(*vn.as_table(), sink, sites.back()));
  }
  cross_check_vips(c, sites, sink);
}

}  // namespace steer::control
