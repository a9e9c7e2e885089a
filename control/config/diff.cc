#include "control/config/diff.h"

#include <algorithm>

#include <fmt/format.h>

namespace steer::control {

namespace {

const VipConfig* vip_named(const Config& c, const std::string& name) {
  for (const VipConfig& v : c.vips) {
    if (v.name == name) return &v;
  }
  return nullptr;
}

const BackendConfig* backend_at(const VipConfig& v, const IpAddress& address) {
  for (const BackendConfig& b : v.backends) {
    if (b.address == address) return &b;
  }
  return nullptr;
}

std::string_view check_or_none(const std::string& check) {
  return check.empty() ? std::string_view("(none)") : std::string_view(check);
}

void diff_backends(const VipConfig& running, const VipConfig& next, ConfigDiff& d) {
  for (const BackendConfig& b : next.backends) {
    const BackendConfig* old = backend_at(running, b.address);
    if (!old) {
      d.backends.push_back({next.name, b.address, "added"});
      continue;
    }
    if (old->weight != b.weight) {
      d.backends.push_back(
          {next.name, b.address, fmt::format("weight {} -> {}", old->weight, b.weight)});
    }
    if (old->check != b.check) {
      d.backends.push_back(
          {next.name, b.address,
           fmt::format("check {} -> {}", check_or_none(old->check), check_or_none(b.check))});
    }
  }
  for (const BackendConfig& b : running.backends) {
    if (!backend_at(next, b.address)) d.backends.push_back({next.name, b.address, "removed"});
  }
}

}  // namespace

bool ConfigDiff::empty() const {
  return vips_added.empty() && vips_removed.empty() && vips_changed.empty() && backends.empty() &&
         checks_added.empty() && checks_removed.empty() && checks_changed.empty() &&
         restart_needed.empty() && settings_changed.empty();
}

std::string ConfigDiff::summary() const {
  std::string out;
  for (const auto& v : vips_added) out += fmt::format("vip {}: added\n", v);
  for (const auto& v : vips_removed) out += fmt::format("vip {}: removed\n", v);
  for (const auto& v : vips_changed) out += fmt::format("vip {}: options changed\n", v);
  for (const auto& b : backends) {
    out += fmt::format("vip {}: backend {} {}\n", b.vip, b.address, b.what);
  }
  for (const auto& c : checks_added) out += fmt::format("check {}: added\n", c);
  for (const auto& c : checks_removed) out += fmt::format("check {}: removed\n", c);
  for (const auto& c : checks_changed) out += fmt::format("check {}: changed\n", c);
  for (const auto& k : settings_changed) out += fmt::format("{}: changed\n", k);
  for (const auto& k : restart_needed) {
    out += fmt::format("{}: changed (takes effect after a restart)\n", k);
  }
  return out;
}

ConfigDiff diff_configs(const Config& running, const Config& next) {
  ConfigDiff d;
  for (const VipConfig& v : next.vips) {
    const VipConfig* old = vip_named(running, v.name);
    if (!old) {
      d.vips_added.push_back(v.name);
      continue;
    }
    VipConfig a = *old, b = v;
    a.backends.clear();
    b.backends.clear();
    if (a != b) d.vips_changed.push_back(v.name);
    diff_backends(*old, v, d);
  }
  for (const VipConfig& v : running.vips) {
    if (!vip_named(next, v.name)) d.vips_removed.push_back(v.name);
  }

  for (const auto& [name, check] : next.checks) {
    auto it = running.checks.find(name);
    if (it == running.checks.end()) {
      d.checks_added.push_back(name);
    } else if (it->second != check) {
      d.checks_changed.push_back(name);
    }
  }
  for (const auto& [name, check] : running.checks) {
    if (!next.checks.contains(name)) d.checks_removed.push_back(name);
  }

  auto setting = [](std::vector<std::string>& out, const char* key, const auto& a, const auto& b) {
    if (a != b) out.push_back(key);
  };
  setting(d.settings_changed, "pop.name", running.pop_name, next.pop_name);
  setting(d.settings_changed, "pop.region", running.pop_region, next.pop_region);
  setting(d.settings_changed, "dataplane.push_interval_ms", running.push_interval_ms,
          next.push_interval_ms);
  setting(d.settings_changed, "dataplane.status_interval_ms", running.status_interval_ms,
          next.status_interval_ms);
  setting(d.settings_changed, "dataplane.stuck_after_ms", running.stuck_after_ms,
          next.stuck_after_ms);
  setting(d.settings_changed, "bgp", running.bgp, next.bgp);
  setting(d.settings_changed, "dns", running.dns, next.dns);

  setting(d.restart_needed, "dataplane.socket", running.dataplane_socket, next.dataplane_socket);
  setting(d.restart_needed, "cli.socket", running.cli_socket, next.cli_socket);
  setting(d.restart_needed, "cli.group", running.cli_group, next.cli_group);
  setting(d.restart_needed, "cli.mode", running.cli_mode, next.cli_mode);
  setting(d.restart_needed, "metrics.listen", running.metrics_listen, next.metrics_listen);
  setting(d.restart_needed, "state.dir", running.state_dir, next.state_dir);
  setting(d.restart_needed, "warmup.max_ms", running.warmup_max_ms, next.warmup_max_ms);
  return d;
}

}  // namespace steer::control
