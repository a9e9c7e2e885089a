#include "bgp/policy.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace steer::bgp {

std::string_view route_state_name(RouteState s) {
  switch (s) {
    case RouteState::Announced:
      return "announced";
    case RouteState::Draining:
      return "draining";
    case RouteState::Withdrawn:
      break;
  }
  return "withdrawn";
}

std::string_view admin_name(Admin a) {
  switch (a) {
    case Admin::Announce:
      return "announce";
    case Admin::Withdraw:
      return "withdraw";
    case Admin::Drain:
      return "drain";
    case Admin::Auto:
      break;
  }
  return "auto";
}

namespace {

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

void Policy::adopt(const std::string& unit, RouteState state, std::string why,
                   Clock::time_point now) {
  auto [it, fresh] = units_.try_emplace(unit);
  UnitState& u = it->second;
  if (!fresh && u.changes > 0) return;  // decided by steerd already: BIRD is corrected instead
  u.state = state;
  u.since = now;
  u.why = std::move(why);
}

const UnitState* Policy::unit(const std::string& name) const {
  auto it = units_.find(name);
  return it == units_.end() ? nullptr : &it->second;
}

size_t Policy::valve_limit() const {
  const auto n = static_cast<double>(units_.size());
  return std::max<size_t>(1, static_cast<size_t>(std::floor(opt_.valve_share * n + 1e-9)));
}

size_t Policy::valve_used(Clock::time_point now) const {
  return static_cast<size_t>(
      std::count_if(withdrawals_.begin(), withdrawals_.end(),
                    [&](const auto& kv) { return kv.second + opt_.valve_window > now; }));
}

std::optional<Clock::time_point> Policy::valve_released_until() const {
  if (valve_released_until_ == Clock::time_point{}) return std::nullopt;
  return valve_released_until_;
}

bool Policy::valve_holding() const {
  return std::any_of(units_.begin(), units_.end(),
                     [](const auto& kv) { return kv.second.held_by_valve; });
}

std::vector<Decision> Policy::evaluate(const PolicyInputs& in, Clock::time_point now) {
  std::vector<Decision> out;
  next_wake_.reset();
  auto wake_at = [&](Clock::time_point t) {
    if (!next_wake_ || t < *next_wake_) next_wake_ = t;
  };
  // Units gone from the configuration are forgotten (the announcer withdraws them).
  for (auto it = units_.begin(); it != units_.end();) {
    it = in.units.contains(it->first) ? std::next(it) : units_.erase(it);
  }
  for (const auto& [name, input] : in.units) {
    auto [it, fresh] = units_.try_emplace(name);
    UnitState& u = it->second;
    if (fresh) u.since = now;

    // The rule that applies: target state, reason, and how it may happen.
    RouteState target = RouteState::Withdrawn;
    std::string why;
    bool by_operator = false;
    bool health_withdraw = false;  // subject to the safety valve
    if (input.admin == Admin::Withdraw) {
      why = fmt::format("withdrawn by operator ({})", input.admin_by);
      by_operator = true;
    } else if (!in.dataplane_ok && input.needs_dataplane) {
      why = fmt::format("dataplane not forwarding: {}", in.dataplane);
    } else if (input.admin == Admin::Drain) {
      by_operator = true;
      const auto end = input.admin_since + opt_.drain;
      if (now < end) {
        target = RouteState::Draining;
        why = fmt::format("draining by operator ({}): lower preference, withdrawn in {:.1f} s",
                          input.admin_by, seconds(end - now));
        wake_at(end);
      } else {
        why = fmt::format("drained by operator ({}): withdrawn after the {:.1f} s drain",
                          input.admin_by, seconds(opt_.drain));
      }
    } else if (input.admin == Admin::Announce) {
      target = RouteState::Announced;
      why = fmt::format("announced by operator ({}); health: {}", input.admin_by, input.health);
      by_operator = true;
    } else if (!input.healthy) {
      why = input.health;
      health_withdraw = true;
    } else {
      target = RouteState::Announced;
      why = input.health;
    }

    if (target == RouteState::Announced && input.admin == Admin::Auto) {
      if (!u.eligible_since) u.eligible_since = now;
    } else {
      u.eligible_since.reset();
    }
    u.pending.clear();
    const bool was_held = u.held_by_valve;
    u.held_by_valve = false;

    if (!in.warm && !by_operator) {
      if (target != u.state) {
        u.pending = fmt::format("{} after warm-up: {}", route_state_name(target), why);
      } else {
        u.why = why;
      }
      continue;
    }
    if (target == u.state) {
      u.why = why;  // same route, maybe a fresher reason
      continue;
    }

    if (target == RouteState::Announced && !by_operator) {
      // Announcing waits: continuously healthy for the hold-down (coming back from
      // withdrawn), and the minimum interval since the last change.
      Clock::time_point hold = now, spacing = now;
      if (u.state == RouteState::Withdrawn) hold = *u.eligible_since + opt_.announce_hold;
      if (u.changes > 0) spacing = u.last_change + opt_.min_interval;
      const Clock::time_point ready = std::max(hold, spacing);
      if (now < ready) {
        u.pending = fmt::format("announce in {:.1f} s ({}): {}", seconds(ready - now),
                                hold >= spacing ? "hold-down" : "min interval", why);
        wake_at(ready);
        continue;
      }
    }
    if (health_withdraw && u.state != RouteState::Withdrawn) {
      std::erase_if(withdrawals_,
                    [&](const auto& kv) { return kv.second + opt_.valve_window <= now; });
      // Other addresses health withdrew within the window (this one again is not one more).
      const size_t used = withdrawals_.size() - withdrawals_.count(name);
      const size_t limit = valve_limit();
      if (used >= limit && now >= valve_released_until_) {
        u.held_by_valve = true;
        u.pending = fmt::format(
            "withdraw held by the safety valve: {} of {} addresses already withdrawn by "
            "health within {:.0f} s (limit {}); health: {}",
            used, units_.size(), seconds(opt_.valve_window), limit, why);
        if (!was_held) out.push_back(Decision{name, u.state, u.state, u.pending, true});
        Clock::time_point first = Clock::time_point::max();
        for (const auto& [unit, t] : withdrawals_) first = std::min(first, t);
        wake_at(first + opt_.valve_window);
        continue;
      }
      withdrawals_[name] = now;
    }
    out.push_back(Decision{name, u.state, target, why, false});
    u.state = target;
    u.since = now;
    u.why = std::move(why);
    u.last_change = now;
    ++u.changes;
  }
  return out;
}

}  // namespace steer::bgp
