#include "control/service_health.h"

#include <map>

#include <fmt/format.h>

namespace steer::control {

uint16_t target_port(const Config& config, const VipConfig& vip, const BackendConfig& backend) {
  auto it = config.checks.find(backend.check);
  if (it == config.checks.end()) return vip.port;
  return it->second.port != 0 ? it->second.port : vip.port;
}

std::string target_key(const Config& config, const VipConfig& vip, const BackendConfig& backend) {
  if (backend.check.empty()) return {};
  return fmt::format("{}:{}/{}", address_for_port(backend.address),
                     target_port(config, vip, backend), backend.check);
}

namespace {

// The check and port a remote DNS PoP is probed with.
const std::string& dns_check(const dns::ServicePopConfig& pop, const dns::ServiceConfig& s) {
  return pop.check.empty() ? s.check : pop.check;
}

uint16_t dns_port(const dns::ServicePopConfig& pop, const dns::ServiceConfig& s,
                  const Config& config) {
  if (pop.port != 0) return pop.port;
  auto it = config.checks.find(dns_check(pop, s));
  return it == config.checks.end() ? 0 : it->second.port;
}

const std::vector<IpAddress>& dns_probes(const dns::ServicePopConfig& pop) {
  return pop.probe.empty() ? pop.addresses : pop.probe;
}

}  // namespace

namespace {

// The probe of the responder's own announced address: the first zone's SOA, every 500 ms.
health::Target dns_self_target(const Config& config, const IpAddress& address) {
  CheckConfig check;
  check.name = "dns-self";
  check.type = CheckType::Dns;
  check.interval_ms = 500;
  check.timeout_ms = 250;
  check.rise = 2;
  check.fall = 2;
  check.query = config.dns->zones.empty() ? "." : config.dns->zones.front().apex.text();
  check.qtype = 6;  // SOA
  check.expect_rcode = 0;
  uint16_t port = 53;
  for (const dns::ListenAddress& l : config.dns->listen) {
    if (l.address == address) port = l.port;
  }
  check.port = port;
  return health::Target{dns_self_key(config, address), address, port, check};
}

}  // namespace

std::string dns_self_key(const Config& config, const IpAddress& address) {
  uint16_t port = 53;
  for (const dns::ListenAddress& l : config.dns->listen) {
    if (l.address == address) port = l.port;
  }
  return fmt::format("{}:{}/dns-self", address_for_port(address), port);
}

std::string dns_probe_key(const dns::ServicePopConfig& pop, const dns::ServiceConfig& service,
                          const Config& config, const IpAddress& address) {
  return fmt::format("{}:{}/{}", address_for_port(address), dns_port(pop, service, config),
                     dns_check(pop, service));
}

std::vector<health::Target> health_targets(const Config& config) {
  std::map<std::string, health::Target> targets;
  for (const VipConfig& v : config.vips) {
    for (const BackendConfig& b : v.backends) {
      const std::string key = target_key(config, v, b);
      if (key.empty() || targets.contains(key)) continue;
      targets[key] =
          health::Target{key, b.address, target_port(config, v, b), config.checks.at(b.check)};
    }
  }
  if (config.dns) {
    for (const IpAddress& a : config.dns->announce) {
      health::Target t = dns_self_target(config, a);
      targets.emplace(t.key, std::move(t));
    }
    for (const dns::ServiceConfig& s : config.dns->services) {
      for (const dns::ServicePopConfig& p : s.pops) {
        if (p.pop == config.pop_name) continue;  // the local PoP: its VIPs' own checks
        auto check = config.checks.find(dns_check(p, s));
        if (check == config.checks.end()) continue;
        for (const IpAddress& a : dns_probes(p)) {
          const std::string key = dns_probe_key(p, s, config, a);
          if (!targets.contains(key)) {
            targets[key] = health::Target{key, a, dns_port(p, s, config), check->second};
          }
        }
      }
    }
  }
  std::vector<health::Target> list;
  list.reserve(targets.size());
  for (auto& [k, t] : targets) list.push_back(std::move(t));
  return list;
}

const VipHealth* ServiceHealth::vip(std::string_view name) const {
  for (const VipHealth& v : vips) {
    if (v.config->name == name) return &v;
  }
  return nullptr;
}

namespace {

std::string by(const Override& o) {
  return o.user.empty() ? fmt::format("uid {}", o.uid) : fmt::format("{} (uid {})", o.user, o.uid);
}

// The backend rule of the DOC block.
BackendHealth backend_health(const Config& config, const VipConfig& v, const BackendConfig& b,
                             const ServiceInputs& in) {
  BackendHealth bh;
  bh.address = b.address;
  bh.config_weight = b.weight;
  bh.check = b.check;
  bh.target_key = target_key(config, v, b);
  bh.health = bh.target_key.empty() ? health::State::Up : in.verdict(bh.target_key);
  bh.pending = !bh.target_key.empty() && in.pending && in.pending(bh.target_key);
  if (in.overrides != nullptr) {
    if (const Override* o = in.overrides->find(v.name, b.address)) bh.override_ = *o;
  }
  const Override* o = bh.override_ ? &*bh.override_ : nullptr;
  const uint32_t weight = (o && o->weight) ? *o->weight : b.weight;
  if (o && o->admin == AdminState::Disable) {
    bh.state = BackendState::Down;
    bh.why = fmt::format("disabled by {}", by(*o));
  } else if (o && o->admin == AdminState::ForceUp) {
    bh.state = weight > 0 ? BackendState::Up : BackendState::Drain;
    bh.why = fmt::format("forced up by {} (health: {})", by(*o), health::state_name(bh.health));
  } else if (bh.health == health::State::Down) {
    bh.state = BackendState::Down;
    bh.why = "health check down";
  } else if (bh.health == health::State::Unknown) {
    bh.state = BackendState::Down;
    bh.why = "health not yet decided";
  } else if (o && o->admin == AdminState::Drain) {
    bh.state = BackendState::Drain;
    bh.why = fmt::format("drained by {}", by(*o));
  } else if (weight == 0) {
    bh.state = BackendState::Drain;
    bh.why = o && o->weight ? fmt::format("weight 0 set by {}", by(*o)) : "weight 0";
  } else {
    bh.state = BackendState::Up;
    bh.why = bh.check.empty() ? "no health check" : "healthy";
    if (o && o->weight) bh.why += fmt::format("; weight {} set by {}", weight, by(*o));
  }
  bh.weight = bh.state == BackendState::Up ? weight : 0;
  return bh;
}

// Adds `vv` to a route: healthy when all (or any) of its VIPs are.
void combine(RouteHealth& r, const VipHealth& vv, bool all) {
  const bool first = r.vips.empty();
  r.vips.push_back(vv.config->name);
  r.healthy = first ? vv.healthy : (all ? r.healthy && vv.healthy : r.healthy || vv.healthy);
  r.health += fmt::format("{}{} {}/{} up (needs {})", first ? "" : "; ", vv.config->name, vv.up,
                          vv.backends.size(), vv.required);
}

std::vector<DnsServiceHealth> dns_health(const Config& config, const ServiceHealth& h,
                                         const ServiceInputs& in) {
  std::vector<DnsServiceHealth> out;
  for (const dns::ServiceConfig& s : config.dns->services) {
    DnsServiceHealth sh;
    sh.service = s.name;
    for (const dns::ServicePopConfig& p : s.pops) {
      DnsPopHealth ph;
      ph.pop = p.pop;
      ph.local = p.pop == config.pop_name;
      if (ph.local) {
        ph.healthy = in.dataplane == DataplaneHealth::Alive && !p.vips.empty();
        for (const std::string& name : p.vips) {
          const VipHealth* vv = h.vip(name);
          const bool ok = vv != nullptr && vv->healthy;
          ph.healthy = ph.healthy && ok;
          if (vv != nullptr) {
            for (const BackendHealth& b : vv->backends) ph.pending = ph.pending || b.pending;
            ph.why += fmt::format("{}{} {}/{} up (needs {})", ph.why.empty() ? "" : "; ", name,
                                  vv->up, vv->backends.size(), vv->required);
          }
        }
        if (in.dataplane != DataplaneHealth::Alive) {
          ph.why = fmt::format("dataplane {}", dataplane_health_name(in.dataplane));
        }
      } else {
        const auto& probes = dns_probes(p);
        size_t up = 0;
        std::string down;
        for (const IpAddress& a : probes) {
          const std::string key = dns_probe_key(p, s, config, a);
          const health::State st = in.verdict(key);
          up += st == health::State::Up;
          if (st != health::State::Up && down.empty()) {
            down = fmt::format(": {} {}", key, health::state_name(st));
          }
          ph.pending = ph.pending || (in.pending && in.pending(key));
        }
        ph.healthy = !probes.empty() && up == probes.size();
        ph.why = fmt::format("probes {}/{} up{}", up, probes.size(), down);
      }
      sh.pops.push_back(std::move(ph));
    }
    out.push_back(std::move(sh));
  }
  return out;
}

}  // namespace

ServiceHealth compute_service_health(const ServiceInputs& in) {
  ServiceHealth h;
  h.config = in.config;
  const Config& config = *in.config;
  h.vips.reserve(config.vips.size());
  for (const VipConfig& v : config.vips) {
    VipHealth vv;
    vv.config = &v;
    for (const BackendConfig& b : v.backends) {
      vv.backends.push_back(backend_health(config, v, b, in));
      vv.up += vv.backends.back().state == BackendState::Up;
    }
    vv.required = v.min_healthy.required(v.backends.size());
    vv.healthy = vv.up >= vv.required && vv.up > 0;
    h.vips.push_back(std::move(vv));
  }

  const bool all = !config.bgp || config.bgp->announce_all;
  std::map<IpAddress, RouteHealth> addresses;
  for (const VipHealth& vv : h.vips) {
    RouteHealth& r = addresses[vv.config->address];
    r.route = IpPrefix::host(vv.config->address);
    combine(r, vv, all);
  }
  if (config.dns) {
    // The responder's own addresses: announced while it answers steerd's probe of them, and
    // not withdrawn with a dead dataplane (DNS does not go through it).
    for (const IpAddress& a : config.dns->announce) {
      RouteHealth& r = addresses[a];
      r.route = IpPrefix::host(a);
      r.vips = {"dns"};
      r.needs_dataplane = false;
      const health::State st = in.verdict(dns_self_key(config, a));
      r.healthy = st == health::State::Up;
      r.health = fmt::format("the DNS responder {} steerd's probe ({})",
                             r.healthy ? "answers" : "does not answer", health::state_name(st));
    }
  }
  for (auto& [address, r] : addresses) h.routes.push_back(std::move(r));
  if (config.bgp) {
    for (const bgp::GroupConfig& g : config.bgp->groups) {
      RouteHealth r;
      r.route = g.prefix;
      r.group = g.name;
      for (const std::string& name : g.vips) {
        if (const VipHealth* vv = h.vip(name)) combine(r, *vv, g.announce_all);
      }
      h.routes.push_back(std::move(r));
    }
  }
  for (RouteHealth& r : h.routes) {
    r.health = fmt::format("{}: {}", r.healthy ? "healthy" : "unhealthy", r.health);
  }

  if (config.dns) h.dns = dns_health(config, h, in);
  h.dataplane = in.dataplane;
  h.dataplane_why = in.dataplane_why;
  h.warm = in.warm;
  // BGP waits for the dataplane's first verdict too: a steerd restart must not withdraw
  // everything because it has not heard from the dataplane yet.
  h.settled = in.warm && in.dataplane != DataplaneHealth::Unknown;
  h.pop.name = config.pop_name;
  h.pop.region = config.pop_region;
  h.pop.vips = static_cast<uint32_t>(h.vips.size());
  for (const VipHealth& vv : h.vips) h.pop.vips_healthy += vv.healthy;
  h.pop.serving = in.dataplane == DataplaneHealth::Alive && h.pop.vips_healthy > 0;
  return h;
}

}  // namespace steer::control
