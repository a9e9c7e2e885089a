// DOC: steerd's BGP announcer — turns the policy's decisions (bgp/policy.h) into BIRD state
// through BIRD's control socket (bgp/bird_client.h), and keeps checking that BIRD still holds
// them.
//
//   RouteHealth per route + dataplane + operator ─▶ Policy ─▶ RouteDecision per route (typed)
//        ─▶ snippet file (disabled yes|no, rewritten atomically)  ─▶ BIRD restart/configure safe
//        ─▶ enable/disable over the socket, in an order that never leaves a gap
//        ◀─ `show protocols` every reconcile interval, on (re)connect: drift is re-asserted
//
// It reconciles instead of assuming: BIRD may restart, be reconfigured (which re-enables
// protocols disabled from the socket unless the file says otherwise), or be toggled by hand;
// every poll compares BIRD's protocols with the decision and corrects them, and says so.
// At start it adopts what BIRD announces (nothing changes until steerd is settled).
// Operator overrides (announce, withdraw, drain) are persisted (bgp/route_overrides.h).
//
// Its decisions are typed values: decisions() lists every route's, and on_decision hears each
// change as it is made, so a reader (the CLI, metrics, the DNS responder: a withdrawn VIP
// must not be handed out) follows them without parsing the `show bgp` JSON.
//
// Collaborators: the io_context, and a factory for the BIRD client (tests give one whose
// socket is a scripted BIRD). Time is the steady clock; the policy itself takes time as an
// input (tests/unit/bgp/policy_test.cc). Everything runs on the control thread's io_context.
// The code is split: announcer.cc (inputs, policy, BIRD), announcer_view.cc (show, metrics,
// the snippet text), route_overrides.cc (persisted overrides).
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <asio.hpp>
#include <nlohmann/json.hpp>

#include "bgp/bird_client.h"
#include "bgp/config.h"
#include "bgp/policy.h"
#include "bgp/route_overrides.h"
#include "bgp/snippet.h"
#include "common/ip_address.h"
#include "common/ip_prefix.h"
#include "common/peer.h"
#include "common/result.h"
#include "common/route_health.h"

namespace steer {
class MetricsWriter;
}

namespace steer::bgp {

// The decision for one route: what the announcer wants BIRD to hold, and whether it does.
struct RouteDecision {
  std::string unit;    // BIRD protocol name (unit_name / group_unit_name)
  RouteHealth health;  // the input it was decided from (route, group, VIPs, health)
  RouteState state = RouteState::Withdrawn;
  std::string why;
  Clock::time_point since{};
  std::string pending;  // what is waiting, in words ("announce in 0.4 s: hold-down")
  bool held_by_valve = false;
  bool confirmed = false;  // BIRD acknowledged the latest decision (or read it from the snippet)
  bool in_bird = false;    // BIRD knows both protocols of the route
};

class Announcer {
 public:
  using Log = std::function<void(std::string_view)>;
  using BirdFactory = std::function<std::unique_ptr<BirdClient>(const BirdClientOptions&)>;

  // `bird` makes the client for a socket (default: a BirdClient on `io`). `overrides_path`:
  // where operator overrides persist ("" = nowhere).
  Announcer(asio::io_context& io, BgpConfig config, std::string overrides_path, Log log,
            BirdFactory bird = {});
  ~Announcer();
  // Loads the persisted overrides (a malformed file is logged and ignored) and starts
  // talking to BIRD.
  void start();
  void stop();
  // A reload: the new configuration (the socket path included) takes effect at once.
  void set_config(BgpConfig config);
  const BgpConfig& config() const { return cfg_; }

  // The current inputs; evaluates the policy and acts on its decisions. `settled`: checks
  // have settled and the dataplane's health is known (before, only overrides change routes).
  void update(std::vector<RouteHealth> routes, bool settled, bool dataplane_ok,
              std::string dataplane);

  // The unit names (unit_name / group_unit_name) of an address and of a group.
  std::string address_unit(const IpAddress& address) const;
  std::string group_unit(std::string_view group) const;

  // Operator commands on a unit (by name). Auto clears the override.
  Result<std::string> set_admin(const std::string& unit, Admin admin, const Peer& by);
  std::string release_valve(const Peer& by);

  // Every route's decision, in unit-name order.
  std::vector<RouteDecision> decisions() const;
  // Called for each decided change of a route (not for valve-held withdrawals).
  std::function<void(const RouteDecision&)> on_decision;
  bool bird_connected() const;
  bool valve_holding() const { return policy_.valve_holding(); }

  // `show bgp` (only the named units when `only` is not empty) and Prometheus lines.
  nlohmann::json show(const std::vector<std::string>& only) const;
  void metrics(MetricsWriter& out) const;
  // The snippet for the current units and decisions (also what is written to the file).
  std::string snippet_text() const;

 private:
  // One entry of a route's decision history; `held`: a withdrawal the valve refused.
  struct HistoryEntry {
    int64_t at_unix_us = 0;
    RouteState state = RouteState::Withdrawn;
    bool held = false;
    std::string why;
    int64_t confirmed_unix_us = 0;  // when BIRD acknowledged the change (0 = not yet)
  };
  struct Unit {
    std::string name;
    RouteHealth health;
    // What BIRD says (nullopt = not known yet / missing), per protocol.
    std::optional<bool> normal_up, drain_up;
    bool missing = false;  // BIRD does not know the protocol
    std::deque<HistoryEntry> history;
    bool toggles_in_flight = false;
  };

  // A new BIRD client on cfg_.socket, wired to this announcer, started.
  void connect();
  // BIRD's protocol states and sessions as unknown (the connection is gone).
  void forget_bird_state();
  void evaluate();
  void act();
  void sync_unit(Unit& u);
  void write_snippet();
  void poll();
  void on_protocols(const std::vector<BirdProtocol>& protocols);
  void adopt();
  void schedule_wake();
  void schedule_poll();
  void event(const std::string& text);
  void remember(Unit& u, RouteState state, bool held, std::string why);
  void confirm(Unit& u);
  RouteDecision decision(const Unit& u) const;
  bool desired_normal(const Unit& u) const;
  bool desired_drain(const Unit& u) const;
  nlohmann::json show_unit(const Unit& u) const;

  asio::io_context& io_;
  BgpConfig cfg_;
  Log log_;
  BirdFactory bird_factory_;
  std::unique_ptr<BirdClient> bird_;
  Policy policy_;
  RouteOverrides overrides_;
  std::map<std::string, Unit> units_;  // by unit name
  bool settled_ = false;
  bool dataplane_ok_ = false;
  std::string dataplane_;
  asio::steady_timer wake_timer_;
  asio::steady_timer poll_timer_;
  bool polling_ = false;
  bool stopped_ = false;
  bool adopted_ = false;
  std::string snippet_written_;
  std::string last_reconfiguration_;
  std::string bird_greeting_;
  std::vector<BirdProtocol> sessions_;  // BIRD's BGP protocols, as last seen
  std::string snippet_error_;
  bool configure_needed_ = false;
  uint64_t decisions_ = 0;
  uint64_t drift_corrections_ = 0;
  uint64_t bird_errors_ = 0;
  std::string last_bird_error_;
  int64_t last_poll_unix_ms_ = 0;
  Clock::time_point last_configure_attempt_{};
};

}  // namespace steer::bgp
