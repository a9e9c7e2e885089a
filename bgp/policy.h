// DOC: when to announce a VIP address and when to withdraw it — a pure state machine with time
// as an input, so every rule is a unit test of inputs and instants (tests/unit/bgp/).
//
// One *unit* per VIP address (every service at that address shares its route). Its route is
// Announced, Draining (still announced, with a lower preference: AS-path prepends and
// communities) or Withdrawn. evaluate() applies the first rule that matches:
//
//   operator withdraw                  -> Withdrawn   at once
//   dataplane not alive                -> Withdrawn   at once, past the safety valve (an LB that
//                                                     forwards nothing black-holes its VIPs);
//                                                     not for units that do not need it
//   operator drain                     -> Draining for `drain`, then Withdrawn
//   operator announce                  -> Announced   at once (health ignored)
//   unhealthy                          -> Withdrawn   at once, unless the safety valve holds it
//   healthy                            -> Announced   once continuously healthy for
//                                                     `announce_hold` (from Withdrawn) and
//                                                     `min_interval` after the last change
//
// Withdrawals are never delayed by a timer (a sick PoP must leave fast); announcements are, so
// a flapping VIP changes at most twice per max(announce_hold, min_interval).
//
// Warm-up: until `warm`, only operator overrides change anything; every unit keeps the state it
// was adopted with (what BIRD announced when steerd started).
//
// Safety valve: health may withdraw at most max(1, floor(valve_share x units)) different
// units within `valve_window` (valve_share 1: no limit). A withdrawal of one more unit is held
// (the route stays announced), said loudly (a Decision with held = true) and shown, until the
// window frees a slot or an operator releases the valve for one window. Withdrawing a unit
// again that health withdrew within the window is always allowed. Dataplane death and
// operator withdrawals bypass the valve.
//
// Not thread-safe; the control thread owns it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace steer::bgp {

using Clock = std::chrono::steady_clock;
using Ms = std::chrono::milliseconds;

enum class RouteState : uint8_t { Withdrawn, Announced, Draining };
std::string_view route_state_name(RouteState s);

enum class Admin : uint8_t { Auto, Announce, Withdraw, Drain };
std::string_view admin_name(Admin a);

struct PolicyOptions {
  Ms announce_hold{2000};
  Ms min_interval{1000};
  Ms drain{30000};
  double valve_share = 0.5;
  Ms valve_window{60000};

  friend bool operator==(const PolicyOptions&, const PolicyOptions&) = default;
};

struct UnitInput {
  bool healthy = false;
  // False for a route that does not go through the dataplane (the DNS responder's own
  // address): a dead dataplane does not withdraw it.
  bool needs_dataplane = true;
  std::string health;  // in words: "web 3/4 up (needs 2); echo 4/4 up (needs 1)"
  Admin admin = Admin::Auto;
  Clock::time_point admin_since{};  // when the override was set (the drain's start)
  std::string admin_by;             // "uid 0 (root)"
};

struct PolicyInputs {
  bool warm = false;
  bool dataplane_ok = false;
  std::string dataplane;                   // the dataplane's health in words
  std::map<std::string, UnitInput> units;  // by unit name; units absent here are forgotten
};

// One change of a unit's route (or, with held = true, a withdrawal the valve refused).
struct Decision {
  std::string unit;
  RouteState from = RouteState::Withdrawn;
  RouteState to = RouteState::Withdrawn;
  std::string why;
  bool held = false;
};

struct UnitState {
  RouteState state = RouteState::Withdrawn;
  Clock::time_point since{};
  std::string why = "not decided yet";
  std::string pending;  // what is waiting, in words ("announce in 0.4 s: hold-down")
  bool held_by_valve = false;
  uint64_t changes = 0;
  Clock::time_point last_change{};                  // of any change, adoption excluded
  std::optional<Clock::time_point> eligible_since;  // continuously wanting Announced since
};

class Policy {
 public:
  explicit Policy(PolicyOptions options) : opt_(options) {}
  void set_options(PolicyOptions options) { opt_ = options; }
  const PolicyOptions& options() const { return opt_; }

  // The state a unit starts from (what BIRD announces now). Adopting a unit that is already
  // known only overwrites it while not warm.
  void adopt(const std::string& unit, RouteState state, std::string why, Clock::time_point now);

  std::vector<Decision> evaluate(const PolicyInputs& in, Clock::time_point now);

  // When evaluate() must run again though no input changed (a hold-down, min interval or
  // drain ending, a valve slot freeing); nullopt when nothing waits.
  std::optional<Clock::time_point> next_wake() const { return next_wake_; }

  // Lets health withdrawals past the valve until now + valve_window.
  void release_valve(Clock::time_point now) { valve_released_until_ = now + opt_.valve_window; }

  const std::map<std::string, UnitState>& units() const { return units_; }
  const UnitState* unit(const std::string& name) const;
  // Health withdrawals within the window ending at `now`, and how many the valve allows.
  size_t valve_used(Clock::time_point now) const;
  size_t valve_limit() const;
  std::optional<Clock::time_point> valve_released_until() const;
  bool valve_holding() const;

 private:
  PolicyOptions opt_;
  std::map<std::string, UnitState> units_;
  // The last health withdrawal of each unit (the valve counts addresses, not events: one
  // address withdrawn twice in the window is one address).
  std::map<std::string, Clock::time_point> withdrawals_;
  Clock::time_point valve_released_until_{};
  std::optional<Clock::time_point> next_wake_;
};

}  // namespace steer::bgp
