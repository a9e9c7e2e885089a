// The announcer's outward views: its typed decisions, `show bgp`, its metrics and the snippet
// text. Read-only over the state announcer.cc keeps.
#include <algorithm>

#include <fmt/format.h>

#include "bgp/announcer.h"
#include "common/clock.h"
#include "common/metrics_text.h"

namespace steer::bgp {

using nlohmann::json;

namespace {

std::string_view bird_state_name(const std::optional<bool>& up, bool missing) {
  if (missing) return "missing";
  if (!up) return "unknown";
  return *up ? "up" : "down";
}

}  // namespace

bool Announcer::desired_normal(const Unit& u) const {
  const UnitState* s = policy_.unit(u.name);
  return s != nullptr && s->state == RouteState::Announced;
}

bool Announcer::desired_drain(const Unit& u) const {
  const UnitState* s = policy_.unit(u.name);
  return s != nullptr && s->state == RouteState::Draining;
}

RouteDecision Announcer::decision(const Unit& u) const {
  RouteDecision d;
  d.unit = u.name;
  d.health = u.health;
  if (const UnitState* s = policy_.unit(u.name)) {
    d.state = s->state;
    d.why = s->why;
    d.since = s->since;
    d.pending = s->pending;
    d.held_by_valve = s->held_by_valve;
  } else {
    d.why = "not decided yet";
  }
  d.in_bird = !u.missing;
  d.confirmed = u.normal_up == desired_normal(u) && u.drain_up == desired_drain(u);
  return d;
}

std::vector<RouteDecision> Announcer::decisions() const {
  std::vector<RouteDecision> out;
  out.reserve(units_.size());
  for (const auto& [name, u] : units_) out.push_back(decision(u));
  return out;
}

std::string Announcer::snippet_text() const {
  std::vector<SnippetUnit> list;
  for (const auto& [name, u] : units_) {
    list.push_back(SnippetUnit{name, u.health.route, u.health.label(), u.health.vips,
                               desired_normal(u), desired_drain(u)});
  }
  return render_snippet(list, cfg_.attributes, cfg_.protocol_prefix);
}

json Announcer::show_unit(const Unit& u) const {
  const RouteDecision d = decision(u);
  const UnitState* s = policy_.unit(u.name);
  json ov = nullptr;
  if (const RouteOverride* o = overrides_.find(u.health.label())) {
    ov = {{"admin", admin_name(o->admin)},
          {"since_unix_ms", o->since_unix_ms},
          {"uid", o->by.uid},
          {"user", o->by.user}};
  }
  json history = json::array();
  for (const HistoryEntry& h : u.history) {
    history.push_back({{"at_unix_us", h.at_unix_us},
                       {"state", h.held ? std::string_view("held") : route_state_name(h.state)},
                       {"why", h.why},
                       {"confirmed_unix_us", h.confirmed_unix_us}});
  }
  json protocols = json::array();
  protocols.push_back({{"name", u.name},
                       {"desired", desired_normal(u) ? "up" : "down"},
                       {"bird", bird_state_name(u.normal_up, u.missing && !u.normal_up)}});
  protocols.push_back({{"name", drain_protocol(u.name)},
                       {"desired", desired_drain(u) ? "up" : "down"},
                       {"bird", bird_state_name(u.drain_up, u.missing && !u.drain_up)}});
  return {{"unit", u.name},
          {"prefix", u.health.route.to_string()},
          {"label", u.health.label()},
          {"group", u.health.group.empty() ? json(nullptr) : json(u.health.group)},
          {"vips", u.health.vips},
          {"state", route_state_name(d.state)},
          {"since_unix_ms", s ? json(unix_ms_of(d.since)) : json(nullptr)},
          {"why", d.why},
          {"pending", d.pending},
          {"held_by_valve", d.held_by_valve},
          {"changes", s ? s->changes : 0},
          {"healthy", u.health.healthy},
          {"health", u.health.health},
          {"override", ov},
          {"in_bird", d.in_bird},
          {"protocols", protocols},
          {"history", history}};
}

json Announcer::show(const std::vector<std::string>& only) const {
  json sessions = json::array();
  for (const BirdProtocol& p : sessions_) {
    sessions.push_back({{"name", p.name}, {"state", p.state}, {"info", p.info}});
  }
  json bird = {{"socket", cfg_.socket},
               {"connected", bird_connected()},
               {"greeting", bird_greeting_},
               {"last_error", last_bird_error_},
               {"errors", bird_errors_},
               {"last_poll_unix_ms", last_poll_unix_ms_},
               {"last_reconfiguration", last_reconfiguration_},
               {"sessions", sessions}};
  const auto released = policy_.valve_released_until();
  json valve = {
      {"share", cfg_.policy.valve_share},
      {"window_ms", cfg_.policy.valve_window.count()},
      {"limit", policy_.valve_limit()},
      {"used", policy_.valve_used(Clock::now())},
      {"holding", policy_.valve_holding()},
      {"released_until_unix_ms",
       released && *released > Clock::now() ? json(unix_ms_of(*released)) : json(nullptr)}};
  json units = json::array();
  for (const auto& [name, u] : units_) {
    if (!only.empty() && std::find(only.begin(), only.end(), name) == only.end()) continue;
    units.push_back(show_unit(u));
  }
  return json{{"bird", bird},
              {"snippet", cfg_.snippet},
              {"snippet_error", snippet_error_},
              {"warm", settled_},
              {"adopted", adopted_},
              {"dataplane_ok", dataplane_ok_},
              {"dataplane", dataplane_},
              {"valve", valve},
              {"decisions", decisions_},
              {"drift_corrections", drift_corrections_},
              {"units", units}};
}

void Announcer::metrics(MetricsWriter& m) const {
  m.family("steer_bgp_bird_connected", "gauge", "1 while steerd holds BIRD's control socket");
  m.sample("steer_bgp_bird_connected", {}, bird_connected());
  m.family("steer_bgp_route_state", "gauge",
           "1 for the route's current state (per VIP address or group prefix)");
  for (const auto& [name, u] : units_) {
    const UnitState* s = policy_.unit(name);
    const std::string prefix = u.health.route.to_string();
    for (RouteState r : {RouteState::Announced, RouteState::Draining, RouteState::Withdrawn}) {
      m.sample("steer_bgp_route_state", {{"prefix", prefix}, {"state", route_state_name(r)}},
               s != nullptr && s->state == r);
    }
  }
  m.family("steer_bgp_session_up", "gauge", "1 when BIRD's BGP session is Established");
  for (const BirdProtocol& p : sessions_) {
    m.sample("steer_bgp_session_up", {{"session", p.name}}, p.info.starts_with("Established"));
  }
  m.family("steer_bgp_valve_holding", "gauge", "1 while the safety valve holds a withdrawal");
  m.sample("steer_bgp_valve_holding", {}, policy_.valve_holding());
  m.family("steer_bgp_decisions_total", "counter", "announce/drain/withdraw decisions");
  m.sample("steer_bgp_decisions_total", {}, decisions_);
  m.family("steer_bgp_drift_corrections_total", "counter",
           "times BIRD's protocols differed from steer's decision and were re-asserted");
  m.sample("steer_bgp_drift_corrections_total", {}, drift_corrections_);
  m.family("steer_bgp_bird_errors_total", "counter", "requests BIRD refused or that failed");
  m.sample("steer_bgp_bird_errors_total", {}, bird_errors_);
}

}  // namespace steer::bgp
