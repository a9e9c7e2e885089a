#include "bgp/announcer.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "common/clock.h"
#include "common/file.h"

namespace steer::bgp {

namespace {

constexpr size_t kHistory = 50;

std::string bird_state_text(const std::optional<bool>& up) {
  if (!up) return "unknown";
  return *up ? "up" : "down";
}

}  // namespace

Announcer::Announcer(asio::io_context& io, BgpConfig config, std::string overrides_path, Log log,
                     BirdFactory bird)
    : io_(io),
      cfg_(std::move(config)),
      log_(std::move(log)),
      bird_factory_(std::move(bird)),
      policy_(cfg_.policy),
      overrides_(std::move(overrides_path)),
      wake_timer_(io),
      poll_timer_(io) {
  if (!bird_factory_) {
    bird_factory_ = [this](const BirdClientOptions& o) {
      return std::make_unique<BirdClient>(io_, o, log_);
    };
  }
}

Announcer::~Announcer() { stop(); }

void Announcer::event(const std::string& text) { log_(text); }

void Announcer::start() {
  if (auto r = overrides_.load(); !r) event(fmt::format("bgp: {}", r.error().message));
  connect();
  schedule_poll();
}

void Announcer::connect() {
  BirdClientOptions bo;
  bo.socket = cfg_.socket;
  bo.request_timeout = cfg_.request_timeout;
  bird_ = bird_factory_(bo);
  bird_->on_connect = [this] {
    bird_greeting_ = bird_->greeting();
    snippet_written_.clear();  // BIRD restarted maybe: make sure the file says what steer says
    event(fmt::format("bgp: connected to BIRD at {} ({})", cfg_.socket, bird_greeting_));
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

bool Announcer::bird_connected() const { return bird_ && bird_->connected(); }

void Announcer::set_config(BgpConfig config) {
  const bool socket_changed = config.socket != cfg_.socket;
  const bool routes_changed =
      config.snippet != cfg_.snippet || config.attributes != cfg_.attributes;
  cfg_ = std::move(config);
  policy_.set_options(cfg_.policy);
  if (socket_changed && bird_) {
    // A stopped client runs no more callbacks: what was in flight on it is forgotten here.
    bird_->stop();
    for (auto& [name, u] : units_) u.toggles_in_flight = false;
    polling_ = false;
    forget_bird_state();
    connect();
  }
  if (routes_changed && !cfg_.snippet.empty()) {
    snippet_written_.clear();
    configure_needed_ = true;  // BIRD reads the new route attributes
  }
  evaluate();
}

std::string Announcer::address_unit(const IpAddress& address) const {
  return unit_name(cfg_.protocol_prefix, address);
}

std::string Announcer::group_unit(std::string_view group) const {
  return group_unit_name(cfg_.protocol_prefix, group);
}

void Announcer::update(std::vector<RouteHealth> routes, bool settled, bool dataplane_ok,
                       std::string dataplane) {
  std::map<std::string, Unit> next;
  for (RouteHealth& h : routes) {
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
        bird_->set_enabled(p, false, [](const BirdResult<Toggle>&) {});
      }
    }
    configure_needed_ = configure_needed_ || !cfg_.snippet.empty();
  }
  // Units added need no `configure` here: the next poll finds them missing in BIRD and asks
  // for one then (a restart of steerd alone never reconfigures BIRD).
  units_ = std::move(next);
  settled_ = settled;
  dataplane_ok_ = dataplane_ok;
  dataplane_ = std::move(dataplane);
  evaluate();
}

void Announcer::evaluate() {
  if (stopped_) return;
  PolicyInputs in;
  in.warm = settled_;
  in.dataplane_ok = dataplane_ok_;
  in.dataplane = dataplane_;
  for (const auto& [name, u] : units_) {
    UnitInput ui;
    ui.healthy = u.health.healthy;
    ui.needs_dataplane = u.health.needs_dataplane;
    ui.health = u.health.health;
    if (const RouteOverride* o = overrides_.find(u.health.label())) {
      ui.admin = o->admin;
      ui.admin_since = steady_of_unix_ms(o->since_unix_ms);
      ui.admin_by = o->by.text();
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
      remember(u, d.from, true, d.why);
      continue;
    }
    ++decisions_;
    event(fmt::format("bgp: {} {} -> {}: {}", u.health.route, route_state_name(d.from),
                      route_state_name(d.to), d.why));
    remember(u, d.to, false, d.why);
    if (on_decision) on_decision(decision(u));
  }
  act();
  schedule_wake();
}

void Announcer::remember(Unit& u, RouteState state, bool held, std::string why) {
  u.history.push_back(HistoryEntry{unix_us_now(), state, held, std::move(why), 0});
  while (u.history.size() > kHistory) u.history.pop_front();
}

// BIRD holds the latest decision: stamp it (once).
void Announcer::confirm(Unit& u) {
  if (!u.history.empty() && u.history.back().confirmed_unix_us == 0 && !u.history.back().held) {
    u.history.back().confirmed_unix_us = unix_us_now();
  }
}

void Announcer::write_snippet() {
  if (cfg_.snippet.empty()) return;
  // Until steerd has read what BIRD announces, the file keeps the previous decisions (a BIRD
  // that restarts meanwhile must not read "everything withdrawn"); only a missing file is
  // written at once, so that BIRD can start at all.
  std::error_code ec;
  if (!adopted_ && std::filesystem::exists(cfg_.snippet, ec)) return;
  std::string text = snippet_text();
  if (text == snippet_written_) return;
  if (auto r = write_file_atomic(cfg_.snippet, text); !r) {
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
  if (configure_needed_ && !cfg_.snippet.empty() && snippet_error_.empty()) {
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
  for (const auto& op : ops) {
    // Named, not structured bindings: clang 14 (clang-tidy's parser) cannot capture those.
    const std::string& protocol = op.first;
    const bool enable = op.second;
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
                                protocol, cfg_.snippet.empty() ? "" : " (" + cfg_.snippet + ")"));
              }
              unit.missing = true;
            } else {
              event(fmt::format("bgp: BIRD refused: {}", last_bird_error_));
            }
          }
          if (--*left > 0) return;
          unit.toggles_in_flight = false;
          if (*failed) return;  // the next poll retries
          confirm(unit);
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
  poll_timer_.expires_after(cfg_.reconcile);
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
    if (n != by_name.end()) u.normal_up = n->second->enabled();
    if (d != by_name.end()) u.drain_up = d->second->enabled();
  }
  if (!adopted_) {
    adopt();
    return;
  }
  if (any_missing && !cfg_.snippet.empty() && snippet_error_.empty() && !configure_needed_) {
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
      confirm(u);
      continue;
    }
    ++drift_corrections_;
    snippet_written_.clear();  // the file may have been changed too: write it again
    event(fmt::format(
        "bgp: BIRD drifted for {}: BIRD has {} {} and {} {}, steer wants {} (BIRD restarted, "
        "reconfigured or toggled by hand): re-asserting",
        u.health.route, name, bird_state_text(u.normal_up), drain_protocol(name),
        bird_state_text(u.drain_up),
        route_state_name(policy_.unit(name) ? policy_.unit(name)->state : RouteState::Withdrawn)));
  }
  act();
}

// The first poll after start: every route starts from what BIRD announces.
void Announcer::adopt() {
  adopted_ = true;
  const auto now = Clock::now();
  for (auto& [name, u] : units_) {
    const RouteState s = u.normal_up.value_or(false)  ? RouteState::Announced
                         : u.drain_up.value_or(false) ? RouteState::Draining
                                                      : RouteState::Withdrawn;
    std::string why = fmt::format("{} in BIRD when steerd started", route_state_name(s));
    remember(u, s, false, "adopted: " + why);
    policy_.adopt(name, s, std::move(why), now);
  }
  event(fmt::format("bgp: adopted BIRD's state for {} route(s)", units_.size()));
  evaluate();
}

Result<std::string> Announcer::set_admin(const std::string& unit, Admin admin, const Peer& by) {
  auto it = units_.find(unit);
  if (it == units_.end()) return fail(fmt::format("no announce unit {}", unit));
  const std::string key = it->second.health.label();
  if (auto r = overrides_.set(key, admin, by, unix_ms_now()); !r) return tl::unexpected(r.error());
  event(fmt::format("bgp: {}: {} {}", by.text(), admin == Admin::Auto ? "auto" : admin_name(admin),
                    key));
  evaluate();
  const UnitState* s = policy_.unit(unit);
  return fmt::format("{}: {}", it->second.health.route,
                     s ? fmt::format("{} ({})", route_state_name(s->state),
                                     s->pending.empty() ? s->why : s->pending)
                       : "unknown");
}

std::string Announcer::release_valve(const Peer& by) {
  policy_.release_valve(Clock::now());
  event(fmt::format("bgp: {}: safety valve released for {:.0f} s", by.text(),
                    std::chrono::duration<double>(cfg_.policy.valve_window).count()));
  evaluate();
  return "safety valve released";
}

}  // namespace steer::bgp
