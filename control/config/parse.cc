// parse_config: TOML -> Config, collecting every error instead of stopping at the first.
//
// Each reader reports into one Sink (common/config_reader.h) and carries on with the default
// value, so a file with a bad port and an unknown key further down reports both. The sections
// are read by their owners: the process settings here, [check.NAME] in parse_checks.cc, [[vip]]
// in parse_vips.cc, [bgp] by bgp/config.cc. Cross-references (check names, duplicates,
// min_healthy against the backend count, the VIPs a BGP group names) run afterwards on what
// parsed; anything whose own value was already bad is skipped there so one mistake gives one
// error.
#include <exception>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "control/config/config.h"
#include "control/config/internal.h"

namespace steer::control {

namespace {

using config::Section;
using config::section_table;
using config::Sink;

void parse_settings(const toml::table& root, Config& c, Sink& sink) {
  if (const toml::table* t = section_table(root, "pop", sink)) {
    Section s(*t, "pop", sink);
    s.only({"name", "region"});
    s.string("name", c.pop_name);
    s.string("region", c.pop_region);
  }
  if (const toml::table* t = section_table(root, "dataplane", sink)) {
    Section s(*t, "dataplane", sink);
    s.only({"socket", "push_interval_ms", "status_interval_ms", "stuck_after_ms"});
    s.string("socket", c.dataplane_socket, true);
    s.integer("push_interval_ms", 1, 60000, c.push_interval_ms);
    const bool status_ok = s.integer("status_interval_ms", 1, 60000, c.status_interval_ms);
    const bool stuck_ok = s.integer("stuck_after_ms", 1, 3600000, c.stuck_after_ms);
    if ((status_ok || stuck_ok) && c.stuck_after_ms <= c.status_interval_ms) {
      s.error(*s.get(stuck_ok ? "stuck_after_ms" : "status_interval_ms"),
              fmt::format("'dataplane.stuck_after_ms' ({}) must be greater than "
                          "status_interval_ms ({})",
                          c.stuck_after_ms, c.status_interval_ms),
              "the dataplane would look stuck between two status polls");
    }
  }
  if (const toml::table* t = section_table(root, "cli", sink)) {
    Section s(*t, "cli", sink);
    s.only({"socket", "group", "mode"});
    s.string("socket", c.cli_socket, true);
    s.string("group", c.cli_group);
    s.mode("mode", c.cli_mode);
  }
  if (const toml::table* t = section_table(root, "metrics", sink)) {
    Section s(*t, "metrics", sink);
    s.only({"listen"});
    std::string listen;
    if (s.string("listen", listen)) {
      IpAddress a;
      bool has_port = false;
      uint16_t port = 0;
      if (listen.empty() || (internal::split_address_port(listen, a, has_port, port) && has_port &&
                             port != 0 && (a.is_v4() || listen.starts_with('[')))) {
        c.metrics_listen = listen;
      } else {
        s.error(*s.get("listen"),
                fmt::format("'metrics.listen' must be \"ADDR:PORT\" or \"[V6ADDR]:PORT\" with a "
                            "port 1..65535, or \"\" to turn metrics off (got \"{}\")",
                            listen),
                "for example \"127.0.0.1:9610\" or \"[::1]:9610\"");
      }
    }
  }
  if (const toml::table* t = section_table(root, "state", sink)) {
    Section s(*t, "state", sink);
    s.only({"dir"});
    s.string("dir", c.state_dir, true);
  }
  if (const toml::table* t = section_table(root, "warmup", sink)) {
    Section s(*t, "warmup", sink);
    s.only({"max_ms"});
    s.integer("max_ms", 0, 600000, c.warmup_max_ms);
  }
}

Config parse_root(const toml::table& root, Sink& sink) {
  Config c;
  Section top(root, "", sink);
  top.only({"pop", "dataplane", "cli", "metrics", "state", "warmup", "check", "vip", "bgp", "dns"},
           "section");
  parse_settings(root, c, sink);
  internal::parse_checks(root, c, sink);
  internal::parse_vips(root, c, sink);
  std::vector<bgp::VipRef> vips;
  for (const VipConfig& v : c.vips) vips.push_back(bgp::VipRef{v.name, v.address});
  c.bgp = bgp::parse_section(root, vips, sink);
  dns::DnsContext dns;
  dns.local_pop = c.pop_name;
  dns.bgp = c.bgp.has_value();
  for (const VipConfig& v : c.vips) dns.vips.push_back({v.name, v.address});
  for (const auto& [name, check] : c.checks) {
    dns.checks.push_back(name);
    dns.check_ports.emplace_back(name, check.port);
  }
  c.dns = dns::parse_section(root, dns, sink);
  return c;
}

}  // namespace

tl::expected<Config, std::vector<ConfigError>> parse_config(std::string_view text,
                                                            std::string_view source) {
  Sink sink(source);
  try {
    toml::table root = toml::parse(text, source);
    Config c = parse_root(root, sink);
    if (sink.empty()) return c;
  } catch (const toml::parse_error& e) {
    sink.at(e.source(), std::string(e.description()), "TOML syntax; see https://toml.io");
  } catch (const std::exception& e) {
    sink.at(toml::source_region{}, fmt::format("cannot read the configuration: {}", e.what()));
  }
  return tl::unexpected(sink.take());
}

}  // namespace steer::control
