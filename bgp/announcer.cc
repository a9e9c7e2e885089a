#include "bgp/announcer.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "common/clock.h"

namespace steer::bgp {

using nlohmann::json;

namespace {

constexpr size_t kHistory = 50;

std::optional<Admin> parse_admin(std::string_view s) {
  for (Admin a : {Admin::Auto, Admin::Announce, Admin::Withdraw, Admin::Drain}) {
    if (admin_name(a) == s) return a;
  }
  return std::nullopt;
}

std::string bird_state_text(const std::optional<bool>& up, bool missing) {
  if (missing) return "missing";
  if (!up) return "unknown";
  return *up ? "up" : "down";
}

}  // namespace

std::string Operator::text() const {
  return user.empty() ? fmt::format("uid {}", uid) : fmt::format("uid {} ({})", uid, user);
}

Announcer::Announcer(asio::io_context& io, AnnouncerOptions options, Log log)
    : io_(io),
      opt_(std::move(options)),
      log_(std::move(log)),
      policy_(opt_.policy),
      wake_timer_(io),
      poll_timer_(io) {}

Announcer::~Announcer() { stop(); }

void Announcer::event(std::string text) { log_(text); }

void Announcer::start() {
  load_overrides();
  connect();
  schedule_poll();
}

void Announcer::connect() {
  BirdClientOptions bo;
  bo.socket = opt_.socket;
  bo.request_timeout = opt_.request_timeout;
  bird_ = std::make_unique<BirdClient>(io_, bo, log_);
  bird_->on_connect = [this] {
    bird_greeting_ = bird_->greeting();
    snippet_written_.clear();  // BIRD restarted maybe: make sure the file says what steer says
    event(fmt::format("bgp: connected to BIRD at {} ({})", opt_.socket, bird_greeting_));
    poll();
  };
  bird_->on_disconnect = [this](const std::string& why) {
    event(
        fmt::format("bgp: lost BIRD's control socket ({}); routes stay as BIRD holds them, "
                    "reconnecting",
                    why));
    forget_bird_state();
  };
  bird_->start();
}

void Announcer::forget_bird_state() {
  for (auto& [name, u] : units_) {
    u.normal_up.reset();
    u.drain_up.reset();
  }
  sessions_.clear();
}

void Announcer::stop() {
  if (stopped_) return;
  stopped_ = true;
  wake_timer_.cancel();
  poll_timer_.cancel();
  if (bird_) bird_->stop();
}

void Announcer::set_options(AnnouncerOptions options) {
  const bool socket_changed = options.socket != opt_.socket;
  const bool routes_changed =
      options.snippet != opt_.snippet || options.attributes.local_as != opt_.attributes.local_as ||
      options.attributes.drain_prepend != opt_.attributes.drain_prepend ||
      options.attributes.communities != opt_.attributes.communities ||
      options.attributes.drain_communities != opt_.attributes.drain_communities;
  opt_ = std::move(options);
  policy_.set_options(opt_.policy);
  if (socket_changed && bird_) {
    // A stopped client runs no more callbacks: what was in flight on it is forgotten here.
    bird_->stop();
    for (auto& [name, u] : units_) u.toggles_in_flight = false;
    polling_ = false;
    forget_bird_state();
    connect();
  }
  if (routes_changed && !opt_.snippet.empty()) {
    snippet_written_.clear();
    configure_needed_ = true;  // BIRD reads the new route attributes
  }
  evaluate();
}

std::string Announcer::address_unit(const IpAddress& address) const {
  return unit_name(opt_.protocol_prefix, address);
}

std::string Announcer::group_unit(std::string_view group) const {
  return group_unit_name(opt_.protocol_prefix, group);
}

void Announcer::update(std::vector<UnitHealth> units, bool warm, bool dataplane_ok,
                       std::string dataplane) {
  std::map<std::string, Unit> next;
  for (UnitHealth& h : units) {
    const std::string name = h.group.empty() ? address_unit(h.route.address) : group_unit(h.group);
    Unit u;
    if (auto it = units_.find(name); it != units_.end()) u = std::move(it->second);
    u.name = name;
    u.health = std::move(h);
    next.emplace(name, std::move(u));
  }
  for (auto& [name, old] : units_) {
    if (next.contains(name)) continue;
    // Gone from the configuration: withdraw it; the snippet drops it.
    event(fmt::format("bgp: {} left the configuration: withdrawing", old.health.label()));
    if (bird_ && bird_->connected()) {
      for (const std::string& p : {name, drain_protocol(name)}) {
        bird_->set_enabled(p, false, [](BirdResult<Toggle>) {});
      }
    }
    configure_needed_ = configure_needed_ || !opt_.snippet.empty();
  }
  // Units added need no `configure` here: the next poll finds them missing in BIRD and asks
  // for one then (a restart of steerd alone never reconfigures BIRD).
  units_ = std::move(next);
  warm_ = warm;
  dataplane_ok_ = dataplane_ok;
  dataplane_ = std::move(dataplane);
  evaluate();
}

void Announcer::evaluate() {
  if (stopped_) return;
  PolicyInputs in;
  in.warm = warm_;
  in.dataplane_ok = dataplane_ok_;
  in.dataplane = dataplane_;
  for (const auto& [name, u] : units_) {
    UnitInput ui;
    ui.healthy = u.health.healthy;
    ui.health = u.health.health;
    if (auto it = overrides_.find(u.health.label()); it != overrides_.end()) {
      ui.admin = it->second.admin;
      ui.admin_since = steady_of_unix_ms(it->second.since_unix_ms);
      ui.admin_by = it->second.by.text();
    }
    in.units.emplace(name, std::move(ui));
  }
  const auto decisions = policy_.evaluate(in, Clock::now());
  for (const Decision& d : decisions) {
    auto it = units_.find(d.unit);
    if (it == units_.end()) continue;
    Unit& u = it->second;
    if (d.held) {
      event(
          fmt::format("bgp: SAFETY VALVE: NOT withdrawing {}: {}. Release with `steerctl bgp "
                      "valve release`, or withdraw it with `steerctl bgp withdraw {}`",
                      u.health.label(), d.why, u.health.label()));
      remember(u, "held", d.why);
      continue;
    }
    ++decisions_;
    event(fmt::format("bgp: {} {} -> {}: {}", u.health.route, route_state_name(d.from),
                      route_state_name(d.to), d.why));
    remember(u, std::string(route_state_name(d.to)), d.why);
  }
  act();
  schedule_wake();
}

void Announcer::remember(Unit& u, std::string state, std::string why) {
  u.history.push_back(HistoryEntry{unix_us_now(), std::move(state), std::move(why), 0});
  while (u.history.size() > kHistory) u.history.pop_front();
}

bool Announcer::desired_normal(const Unit& u) const {
  const UnitState* s = policy_.unit(u.name);
  return s != nullptr && s->state == RouteState::Announced;
}

bool Announcer::desired_drain(const Unit& u) const {
  const UnitState* s = policy_.unit(u.name);
  return s != nullptr && s->state == RouteState::Draining;
}

std::string Announcer::snippet_text() const {
  std::vector<SnippetUnit> list;
  for (const auto& [name, u] : units_) {
    list.push_back(SnippetUnit{name, u.health.route, u.health.label(), u.health.vips,
                               desired_normal(u), desired_drain(u)});
  }
  return render_snippet(list, opt_.attributes, opt_.protocol_prefix);
}

void Announcer::write_snippet() {
  if (opt_.snippet.empty()) return;
  // Until steerd has read what BIRD announces, the file keeps the previous decisions (a BIRD
  // that restarts meanwhile must not read "everything withdrawn"); only a missing file is
  // written at once, so that BIRD can start at all.
  std::error_code ec;
  if (!adopted_ && std::filesystem::exists(opt_.snippet, ec)) return;
  std::string text = snippet_text();
  if (text == snippet_written_) return;
  if (auto r = write_file_atomic(opt_.snippet, text); !r) {
    if (snippet_error_ != r.error().message) {
      event(fmt::format("bgp: cannot write the BIRD snippet: {}", r.error().message));
    }
    snippet_error_ = r.error().message;
    return;
  }
  snippet_error_.clear();
  snippet_written_ = std::move(text);
}

void Announcer::act() {
  write_snippet();
  if (!bird_ || !bird_->connected() || !adopted_) return;
  if (configure_needed_ && !opt_.snippet.empty() && snippet_error_.empty()) {
    configure_needed_ = false;
    event("bgp: the set of steer's protocols changed: asking BIRD to `configure`");
    bird_->configure([this](BirdResult<ConfigureOutcome> r) {
      if (!r) {
        ++bird_errors_;
        last_bird_error_ = r.error().message;
        event(fmt::format("bgp: BIRD `configure` failed: {}", r.error().message));
      }
      poll();
    });
    return;  // the poll after `configure` re-reads the protocols and syncs
  }
  for (auto& [name, u] : units_) sync_unit(u);
}

void Announcer::sync_unit(Unit& u) {
  if (u.toggles_in_flight || !bird_ || !bird_->connected() || !adopted_) return;
  const bool want_normal = desired_normal(u);
  const bool want_drain = desired_drain(u);
  std::vector<std::pair<std::string, bool>> ops;
  // Enable before disable: moving between the normal and the drain route never leaves the
  // prefix unannounced.
  auto need = [](const std::optional<bool>& have, bool want) { return !have || *have != want; };
  if (want_normal && need(u.normal_up, true)) ops.emplace_back(u.name, true);
  if (want_drain && need(u.drain_up, true)) ops.emplace_back(drain_protocol(u.name), true);
  if (!want_normal && need(u.normal_up, false)) ops.emplace_back(u.name, false);
  if (!want_drain && need(u.drain_up, false)) ops.emplace_back(drain_protocol(u.name), false);
  if (ops.empty()) return;
  u.toggles_in_flight = true;
  auto left = std::make_shared<size_t>(ops.size());
  auto failed = std::make_shared<bool>(false);
  const std::string name = u.name;
  for (const auto& [protocol, enable] : ops) {
    const bool is_drain = protocol != name;
    bird_->set_enabled(
        protocol, enable,
        [this, name, protocol, enable, is_drain, left, failed](BirdResult<Toggle> r) {
          auto it = units_.find(name);
          if (it == units_.end()) return;
          Unit& unit = it->second;
          if (r) {
            (is_drain ? unit.drain_up : unit.normal_up) = enable;
            unit.missing = false;
          } else {
            *failed = true;
            ++bird_errors_;
            last_bird_error_ = fmt::format("{} {}: {}", enable ? "enable" : "disable", protocol,
                                           r.error().message);
            // A quoted name BIRD does not know is "8003 No protocols match"; unquoted, 9001.
            const int code = r.error().code;
            if ((r.error().kind == BirdErrorKind::Runtime && code == 8003) ||
                (r.error().kind == BirdErrorKind::Syntax && code == 9001)) {
              if (!unit.missing) {
                event(
                    fmt::format("bgp: BIRD has no protocol '{}': include steer's snippet{} in "
                                "bird.conf, or add the stanza from `steerctl bgp snippet` "
                                "(docs/bgp.md)",
                                protocol, opt_.snippet.empty() ? "" : " (" + opt_.snippet + ")"));
              }
              unit.missing = true;
            } else {
              event(fmt::format("bgp: BIRD refused: {}", last_bird_error_));
            }
          }
          if (--*left > 0) return;
          unit.toggles_in_flight = false;
          if (*failed) return;  // the next poll retries
          if (!unit.history.empty() && unit.history.back().confirmed_unix_us == 0) {
            unit.history.back().confirmed_unix_us = unix_us_now();
          }
          sync_unit(unit);  // the decision may have changed meanwhile
        });
  }
}

void Announcer::schedule_wake() {
  const auto when = policy_.next_wake();
  wake_timer_.cancel();
  if (!when || stopped_) return;
  wake_timer_.expires_at(*when + std::chrono::milliseconds(1));
  wake_timer_.async_wait([this](const asio::error_code& ec) {
    if (!ec) evaluate();
  });
}

void Announcer::schedule_poll() {
  if (stopped_) return;
  poll_timer_.expires_after(opt_.reconcile);
  poll_timer_.async_wait([this](const asio::error_code& ec) {
    if (ec) return;
    poll();
    schedule_poll();
  });
}

void Announcer::poll() {
  if (stopped_ || polling_ || !bird_ || !bird_->connected()) return;
  polling_ = true;
  bird_->show_status([this](BirdResult<BirdStatus> st) {
    if (st) {
      if (!last_reconfiguration_.empty() && st->last_reconfiguration != last_reconfiguration_) {
        event(
            fmt::format("bgp: BIRD was reconfigured (last reconfiguration {}): checking "
                        "steer's protocols",
                        st->last_reconfiguration));
      }
      last_reconfiguration_ = st->last_reconfiguration;
    }
    bird_->show_protocols([this](BirdResult<std::vector<BirdProtocol>> r) {
      polling_ = false;
      if (!r) {
        ++bird_errors_;
        last_bird_error_ = "show protocols: " + r.error().message;
        return;
      }
      last_poll_unix_ms_ = unix_ms_now();
      on_protocols(*r);
    });
  });
}

void Announcer::on_protocols(const std::vector<BirdProtocol>& protocols) {
  std::map<std::string, const BirdProtocol*> by_name;
  sessions_.clear();
  for (const BirdProtocol& p : protocols) {
    by_name[p.name] = &p;
    if (p.proto == "BGP") sessions_.push_back(p);
  }
  bool any_missing = false;
  for (auto& [name, u] : units_) {
    if (u.toggles_in_flight) continue;  // the replies will say
    auto n = by_name.find(name);
    auto d = by_name.find(drain_protocol(name));
    u.missing = n == by_name.end() || d == by_name.end();
    any_missing = any_missing || u.missing;
    u.normal_up.reset();
    u.drain_up.reset();
    if (n != by_name.end()) u.normal_up = n->second->state != "down";
    if (d != by_name.end()) u.drain_up = d->second->state != "down";
  }
  if (!adopted_) {
    adopted_ = true;
    const auto now = Clock::now();
    for (auto& [name, u] : units_) {
      const RouteState s = u.normal_up.value_or(false)  ? RouteState::Announced
                           : u.drain_up.value_or(false) ? RouteState::Draining
                                                        : RouteState::Withdrawn;
      std::string why = fmt::format("{} in BIRD when steerd started", route_state_name(s));
      remember(u, std::string(route_state_name(s)), "adopted: " + why);
      policy_.adopt(name, s, std::move(why), now);
    }
    event(fmt::format("bgp: adopted BIRD's state for {} route(s)", units_.size()));
    evaluate();
    return;
  }
  if (any_missing && !opt_.snippet.empty() && snippet_error_.empty() && !configure_needed_) {
    // The snippet has them but BIRD does not: it has not read the file since (or bird.conf
    // does not include it; then `configure` changes nothing and the units stay "missing").
    static constexpr auto kRetry = std::chrono::seconds(5);
    const auto now = Clock::now();
    if (now - last_configure_attempt_ > kRetry) {
      last_configure_attempt_ = now;
      configure_needed_ = true;
    }
  }
  for (auto& [name, u] : units_) {
    if (u.toggles_in_flight || u.missing) continue;
    const bool want_normal = desired_normal(u);
    const bool want_drain = desired_drain(u);
    if (u.normal_up == want_normal && u.drain_up == want_drain) {
      // BIRD holds the decision though no toggle of ours said so (it read the snippet at a
      // restart or `configure`): confirmed now, at the latest.
      if (!u.history.empty() && u.history.back().confirmed_unix_us == 0 &&
          u.history.back().state != "held") {
        u.history.back().confirmed_unix_us = unix_us_now();
      }
      continue;
    }
    ++drift_corrections_;
    snippet_written_.clear();  // the file may have been changed too: write it again
    event(fmt::format(
        "bgp: BIRD drifted for {}: BIRD has {} {} and {} {}, steer wants {} (BIRD restarted, "
        "reconfigured or toggled by hand): re-asserting",
        u.health.route, name, bird_state_text(u.normal_up, false), drain_protocol(name),
        bird_state_text(u.drain_up, false),
        route_state_name(policy_.unit(name) ? policy_.unit(name)->state : RouteState::Withdrawn)));
  }
  act();
}

Result<std::string> Announcer::set_admin(const std::string& unit, Admin admin, const Operator& by) {
  auto it = units_.find(unit);
  if (it == units_.end()) return fail(fmt::format("no announce unit {}", unit));
  const std::string key = it->second.health.label();
  if (admin == Admin::Auto) {
    overrides_.erase(key);
  } else {
    overrides_[key] = Override{admin, unix_ms_now(), by};
  }
  if (auto r = save_overrides(); !r) return tl::unexpected(r.error());
  event(fmt::format("bgp: {}: {} {}", by.text(), admin == Admin::Auto ? "auto" : admin_name(admin),
                    key));
  evaluate();
  const UnitState* s = policy_.unit(unit);
  return fmt::format("{}: {}", it->second.health.route,
                     s ? fmt::format("{} ({})", route_state_name(s->state),
                                     s->pending.empty() ? s->why : s->pending)
                       : "unknown");
}

std::string Announcer::release_valve(const Operator& by) {
  policy_.release_valve(Clock::now());
  event(fmt::format("bgp: {}: safety valve released for {:.0f} s", by.text(),
                    std::chrono::duration<double>(opt_.policy.valve_window).count()));
  evaluate();
  return "safety valve released";
}

void Announcer::load_overrides() {
  overrides_.clear();
  if (opt_.overrides_path.empty()) return;
  std::ifstream in(opt_.overrides_path);
  if (!in) return;
  std::stringstream ss;
  ss << in.rdbuf();
  json doc = json::parse(ss.str(), nullptr, false);
  if (doc.is_discarded() || !doc.contains("overrides") || !doc["overrides"].is_array()) {
    event(fmt::format("bgp: ignoring malformed {}", opt_.overrides_path));
    return;
  }
  for (const json& o : doc["overrides"]) {
    auto a = o.is_object() ? parse_admin(o.value("admin", "")) : std::nullopt;
    // ("address": the name in the first version of this file.)
    const std::string unit =
        o.is_object() ? o.value("unit", o.value("address", std::string())) : std::string();
    if (!a || unit.empty()) continue;
    overrides_[unit] =
        Override{*a, o.value("since_unix_ms", int64_t{0}),
                 Operator{o.value("uid", uint32_t{0}), o.value("user", std::string())}};
  }
}

Result<void> Announcer::save_overrides() const {
  if (opt_.overrides_path.empty()) return {};
  json list = json::array();
  for (const auto& [unit, o] : overrides_) {
    list.push_back({{"unit", unit},
                    {"admin", admin_name(o.admin)},
                    {"since_unix_ms", o.since_unix_ms},
                    {"uid", o.by.uid},
                    {"user", o.by.user}});
  }
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(opt_.overrides_path).parent_path(), ec);
  return write_file_atomic(opt_.overrides_path, json{{"overrides", list}}.dump(2) + "\n");
}

json Announcer::show(const std::vector<std::string>& only) const {
  json sessions = json::array();
  for (const BirdProtocol& p : sessions_) {
    sessions.push_back({{"name", p.name}, {"state", p.state}, {"info", p.info}});
  }
  const bool connected = bird_ && bird_->connected();
  json bird = {{"socket", opt_.socket},
               {"connected", connected},
               {"greeting", bird_greeting_},
               {"last_error", last_bird_error_},
               {"errors", bird_errors_},
               {"last_poll_unix_ms", last_poll_unix_ms_},
               {"last_reconfiguration", last_reconfiguration_},
               {"sessions", sessions}};
  const auto released = policy_.valve_released_until();
  json valve = {
      {"share", opt_.policy.valve_share},
      {"window_ms", opt_.policy.valve_window.count()},
      {"limit", policy_.valve_limit()},
      {"used", policy_.valve_used(Clock::now())},
      {"holding", policy_.valve_holding()},
      {"released_until_unix_ms",
       released && *released > Clock::now() ? json(unix_ms_of(*released)) : json(nullptr)}};
  json units = json::array();
  for (const auto& [name, u] : units_) {
    if (!only.empty() && std::find(only.begin(), only.end(), name) == only.end()) continue;
    const UnitState* s = policy_.unit(name);
    json ov = nullptr;
    if (auto it = overrides_.find(u.health.label()); it != overrides_.end()) {
      ov = {{"admin", admin_name(it->second.admin)},
            {"since_unix_ms", it->second.since_unix_ms},
            {"uid", it->second.by.uid},
            {"user", it->second.by.user}};
    }
    json history = json::array();
    for (const HistoryEntry& h : u.history) {
      history.push_back({{"at_unix_us", h.at_unix_us},
                         {"state", h.state},
                         {"why", h.why},
                         {"confirmed_unix_us", h.confirmed_unix_us}});
    }
    json protocols = json::array();
    protocols.push_back({{"name", name},
                         {"desired", desired_normal(u) ? "up" : "down"},
                         {"bird", bird_state_text(u.normal_up, u.missing && !u.normal_up)}});
    protocols.push_back({{"name", drain_protocol(name)},
                         {"desired", desired_drain(u) ? "up" : "down"},
                         {"bird", bird_state_text(u.drain_up, u.missing && !u.drain_up)}});
    units.push_back({{"unit", name},
                     {"prefix", u.health.route.to_string()},
                     {"label", u.health.label()},
                     {"group", u.health.group.empty() ? json(nullptr) : json(u.health.group)},
                     {"vips", u.health.vips},
                     {"state", s ? route_state_name(s->state) : "withdrawn"},
                     {"since_unix_ms", s ? json(unix_ms_of(s->since)) : json(nullptr)},
                     {"why", s ? s->why : "not decided yet"},
                     {"pending", s ? s->pending : ""},
                     {"held_by_valve", s && s->held_by_valve},
                     {"changes", s ? s->changes : 0},
                     {"healthy", u.health.healthy},
                     {"health", u.health.health},
                     {"override", ov},
                     {"in_bird", !u.missing},
                     {"protocols", protocols},
                     {"history", history}});
  }
  return json{{"bird", bird},
              {"snippet", opt_.snippet},
              {"snippet_error", snippet_error_},
              {"warm", warm_},
              {"adopted", adopted_},
              {"dataplane_ok", dataplane_ok_},
              {"dataplane", dataplane_},
              {"valve", valve},
              {"decisions", decisions_},
              {"drift_corrections", drift_corrections_},
              {"units", units}};
}

std::string Announcer::metrics() const {
  std::string out;
  auto head = [&](std::string_view name, std::string_view type, std::string_view help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  head("steer_bgp_bird_connected", "gauge", "1 while steerd holds BIRD's control socket");
  out += fmt::format("steer_bgp_bird_connected {}\n", bird_ && bird_->connected() ? 1 : 0);
  head("steer_bgp_route_state", "gauge",
       "1 for the route's current state (per VIP address or group prefix)");
  for (const auto& [name, u] : units_) {
    const UnitState* s = policy_.unit(name);
    for (RouteState r : {RouteState::Announced, RouteState::Draining, RouteState::Withdrawn}) {
      out += fmt::format("steer_bgp_route_state{{prefix=\"{}\",state=\"{}\"}} {}\n", u.health.route,
                         route_state_name(r), s && s->state == r ? 1 : 0);
    }
  }
  head("steer_bgp_session_up", "gauge", "1 when BIRD's BGP session is Established");
  for (const BirdProtocol& p : sessions_) {
    out += fmt::format("steer_bgp_session_up{{session=\"{}\"}} {}\n", p.name,
                       p.info.starts_with("Established") ? 1 : 0);
  }
  head("steer_bgp_valve_holding", "gauge", "1 while the safety valve holds a withdrawal");
  out += fmt::format("steer_bgp_valve_holding {}\n", policy_.valve_holding() ? 1 : 0);
  head("steer_bgp_decisions_total", "counter", "announce/drain/withdraw decisions");
  out += fmt::format("steer_bgp_decisions_total {}\n", decisions_);
  head("steer_bgp_drift_corrections_total", "counter",
       "times BIRD's protocols differed from steer's decision and were re-asserted");
  out += fmt::format("steer_bgp_drift_corrections_total {}\n", drift_corrections_);
  head("steer_bgp_bird_errors_total", "counter", "requests BIRD refused or that failed");
  out += fmt::format("steer_bgp_bird_errors_total {}\n", bird_errors_);
  return out;
}

}  // namespace steer::bgp
