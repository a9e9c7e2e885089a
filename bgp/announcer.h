// DOC: steerd's BGP announcer — turns the policy's decisions (bgp/policy.h) into BIRD state
// through BIRD's control socket (bgp/bird_client.h), and keeps checking that BIRD still holds
// them.
//
//   inputs (health, dataplane, operator) ─▶ Policy ─▶ desired protocol states
//        ─▶ snippet file (disabled yes|no, rewritten atomically)  ─▶ BIRD restart/configure safe
//        ─▶ enable/disable over the socket, in an order that never leaves a gap
//        ◀─ `show protocols` every reconcile interval, on (re)connect: drift is re-asserted
//
// It reconciles instead of assuming: BIRD may restart, be reconfigured (which re-enables
// protocols disabled from the socket unless the file says otherwise), or be toggled by hand;
// every poll compares BIRD's protocols with the decision and corrects them, and says so.
// At start it adopts what BIRD announces (nothing changes until steerd is warm).
// Operator overrides (announce, withdraw, drain) are persisted as JSON in the state directory
// with who set them and when, so they survive a restart (a drain continues where it was).
// Everything runs on the control thread's io_context.
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
#include "bgp/policy.h"
#include "bgp/snippet.h"
#include "common/ip_address.h"
#include "common/ip_prefix.h"
#include "common/result.h"

namespace steer::bgp {

struct AnnouncerOptions {
  std::string socket;   // BIRD's control socket
  std::string snippet;  // "" = the operator writes the protocols (docs/bgp.md)
  std::string protocol_prefix = "steer_";
  RouteAttributes attributes;
  PolicyOptions policy;
  Ms reconcile{500};
  Ms request_timeout{2000};
  std::string overrides_path;  // persisted operator overrides
};

// What steerd knows about one announce unit: a VIP address (its host route), or a
// [[bgp.group]] (its aggregate route).
struct UnitHealth {
  IpPrefix route;                 // /32 or /128 of the address, or the group's prefix
  std::string group;              // "" for an address
  std::vector<std::string> vips;  // names of the VIPs it stands for
  bool healthy = false;
  std::string health;  // in words
  // "192.0.2.10" or "group edge_v4": how operators and logs name it.
  std::string label() const { return group.empty() ? route.address.to_string() : "group " + group; }
};

struct Operator {
  uint32_t uid = 0;
  std::string user;
  std::string text() const;  // "uid 0 (root)"
};

class Announcer {
 public:
  using Log = std::function<void(std::string_view)>;

  Announcer(asio::io_context& io, AnnouncerOptions options, Log log);
  ~Announcer();
  // Loads the persisted overrides (a malformed file is logged and ignored) and starts
  // talking to BIRD.
  void start();
  void stop();
  // A reload: new options (the socket path included) take effect at once.
  void set_options(AnnouncerOptions options);

  // The current inputs; evaluates the policy and acts on its decisions.
  void update(std::vector<UnitHealth> units, bool warm, bool dataplane_ok, std::string dataplane);

  // The unit names (unit_name / group_unit_name) of an address and of a group.
  std::string address_unit(const IpAddress& address) const;
  std::string group_unit(std::string_view group) const;

  // Operator commands on a unit (by name). Auto clears the override.
  Result<std::string> set_admin(const std::string& unit, Admin admin, const Operator& by);
  std::string release_valve(const Operator& by);

  // `show bgp` (only the named units when `only` is not empty) and Prometheus lines.
  nlohmann::json show(const std::vector<std::string>& only) const;
  std::string metrics() const;
  // The snippet for the current units and decisions (also what is written to the file).
  std::string snippet_text() const;

 private:
  struct Override {
    Admin admin = Admin::Auto;
    int64_t since_unix_ms = 0;
    Operator by;
  };
  struct HistoryEntry {
    int64_t at_unix_us = 0;
    std::string state;
    std::string why;
    int64_t confirmed_unix_us = 0;  // when BIRD acknowledged the change (0 = not yet)
  };
  struct Unit {
    std::string name;
    UnitHealth health;
    // What BIRD says (nullopt = not known yet / missing), per protocol.
    std::optional<bool> normal_up, drain_up;
    bool missing = false;  // BIRD does not know the protocol
    std::deque<HistoryEntry> history;
    bool toggles_in_flight = false;
  };

  // A new BIRD client on opt_.socket, wired to this announcer, started.
  void connect();
  // BIRD's protocol states and sessions as unknown (the connection is gone).
  void forget_bird_state();
  void evaluate();
  void act();
  void sync_unit(Unit& u);
  void write_snippet();
  void poll();
  void on_protocols(const std::vector<BirdProtocol>& protocols);
  void schedule_wake();
  void schedule_poll();
  void load_overrides();
  Result<void> save_overrides() const;
  void event(std::string text);
  void remember(Unit& u, std::string state, std::string why);
  bool desired_normal(const Unit& u) const;
  bool desired_drain(const Unit& u) const;

  asio::io_context& io_;
  AnnouncerOptions opt_;
  Log log_;
  std::unique_ptr<BirdClient> bird_;
  Policy policy_;
  std::map<std::string, Unit> units_;  // by unit name
  // By unit: the address ("192.0.2.10") or "group NAME" (stable if protocol_prefix changes).
  std::map<std::string, Override> overrides_;
  bool warm_ = false;
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
