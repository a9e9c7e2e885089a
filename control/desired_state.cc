#include "control/desired_state.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/vip_label.h"

namespace steer::control {

using nlohmann::json;

uint16_t target_port(const Config& config, const VipConfig& vip, const BackendConfig& backend) {
  auto it = config.checks.find(backend.check);
  if (it == config.checks.end()) return vip.port;
  return it->second.port != 0 ? it->second.port : vip.port;
}

std::string target_key(const Config& config, const VipConfig& vip, const BackendConfig& backend) {
  if (backend.check.empty()) return {};
  const std::string addr =
      backend.address.is_v4() ? backend.address.to_string() : fmt::format("[{}]", backend.address);
  return fmt::format("{}:{}/{}", addr, target_port(config, vip, backend), backend.check);
}

namespace {

std::string by(const Override& o) {
  return o.user.empty() ? fmt::format("uid {}", o.uid) : fmt::format("{} (uid {})", o.user, o.uid);
}

}  // namespace

std::vector<VipView> compute_views(const Config& config, const HealthLookup& health,
                                   const Overrides& overrides) {
  std::vector<VipView> views;
  views.reserve(config.vips.size());
  for (const VipConfig& v : config.vips) {
    VipView vv;
    vv.config = &v;
    for (const BackendConfig& b : v.backends) {
      BackendView bv;
      bv.address = b.address;
      bv.config_weight = b.weight;
      bv.check = b.check;
      bv.target_key = target_key(config, v, b);
      bv.health = bv.target_key.empty() ? health::State::Up : health(bv.target_key);
      bv.override_ = overrides.find(v.name, b.address);
      const Override* o = bv.override_;
      const uint32_t weight = (o && o->weight) ? *o->weight : b.weight;
      if (o && o->admin == AdminState::Disable) {
        bv.effective = "down";
        bv.why = fmt::format("disabled by {}", by(*o));
      } else if (o && o->admin == AdminState::ForceUp) {
        bv.effective = weight > 0 ? "up" : "drain";
        bv.why = fmt::format("forced up by {} (health: {})", by(*o), health::state_name(bv.health));
      } else if (bv.health == health::State::Down) {
        bv.effective = "down";
        bv.why = "health check down";
      } else if (bv.health == health::State::Unknown) {
        bv.effective = "down";
        bv.why = "health not yet decided";
      } else if (o && o->admin == AdminState::Drain) {
        bv.effective = "drain";
        bv.why = fmt::format("drained by {}", by(*o));
      } else if (weight == 0) {
        bv.effective = "drain";
        bv.why = o && o->weight ? fmt::format("weight 0 set by {}", by(*o)) : "weight 0";
      } else {
        bv.effective = "up";
        bv.why = bv.check.empty() ? "no health check" : "healthy";
        if (o && o->weight) bv.why += fmt::format("; weight {} set by {}", weight, by(*o));
      }
      bv.weight = bv.effective == "up" ? weight : 0;
      vv.up += bv.effective == "up";
      vv.backends.push_back(std::move(bv));
    }
    vv.required = v.min_healthy.required(v.backends.size());
    vv.healthy = vv.up >= vv.required && vv.up > 0;
    views.push_back(std::move(vv));
  }
  return views;
}

std::string desired_state_json(const std::vector<VipView>& views) {
  json vips = json::array();
  for (const VipView& vv : views) {
    const VipConfig& v = *vv.config;
    json backends = json::array();
    for (const BackendView& b : vv.backends) {
      if (b.effective == "down") continue;
      backends.push_back({{"address", b.address.to_string()},
                          {"weight", b.effective == "up" ? b.weight : b.config_weight},
                          {"state", b.effective}});
    }
    vips.push_back({{"address", v.address.to_string()},
                    {"proto", v.proto == 17 ? "udp" : "tcp"},
                    {"port", v.port},
                    {"encap", v.encap},
                    {"gue_port", v.gue_port},
                    {"table_size", v.table_size},
                    {"hash", v.hash},
                    {"echo", v.echo},
                    {"backends", std::move(backends)}});
  }
  return json{{"vips", std::move(vips)}}.dump();
}

}  // namespace steer::control
