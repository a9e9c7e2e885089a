// DOC: steerd's controller — the one owner of the control state, on one io_context thread.
//
//   config (TOML) ─┐
//   health checker ├─▶ compute_views() ─▶ desired state ─▶ DataplaneClient (coalesced push)
//   overrides ─────┘                  └─▶ CLI replies, metrics, event history
//
// Every input (a health change, an operator command, a reload) recomputes the views and hands
// the new desired document to the dataplane client, which coalesces pushes. Warm-up: after a
// start, nothing is pushed until every health target has its first verdict (or
// [warmup] max_ms passed), so a restarted steerd adopts the running dataplane untouched.
// CLI requests are handled here (handle()); the socket plumbing is in cli_server.h.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include <asio.hpp>

#include "bgp/announcer.h"
#include "control/config/config.h"
#include "control/config/diff.h"
#include "control/dataplane_client.h"
#include "control/desired_state.h"
#include "control/health/checker.h"
#include "control/overrides.h"

namespace steer::control {

// Who sent a CLI request (SO_PEERCRED).
struct Peer {
  uint32_t uid = 0;
  uint32_t gid = 0;
  int32_t pid = 0;
  bool may_change = false;  // root, or in the CLI group
  std::string user;
};

class Daemon {
 public:
  using Log = std::function<void(std::string_view)>;

  Daemon(asio::io_context& io, Config config, std::string config_path, Overrides overrides,
         Log log);
  void start();
  void stop();

  // One CLI request; `reply` receives the complete reply text (framing included), on the io
  // thread, possibly later (requests that ask the dataplane).
  void handle(std::string_view line, const Peer& peer, std::function<void(std::string)> reply);

  // SIGHUP / `configure`: parse, validate, diff and apply what changed. The error lists every
  // problem; nothing changes then.
  Result<ConfigDiff> reload(const std::string& who);

  // Prometheus text exposition (metrics.h serves it).
  std::string metrics_text() const;

  const Config& config() const { return config_; }

 private:
  void recompute();
  void apply_targets();
  // BGP: the announcer's options from the configuration, and its inputs from the views.
  bgp::AnnouncerOptions bgp_options() const;
  void start_announcer();
  void bgp_update();
  void set_warm(std::string why);
  std::string cmd_show_bgp(std::string_view vip) const;
  std::string cmd_bgp(const std::vector<std::string_view>& args, const Peer& peer);
  void event(std::string text);
  std::string cmd_show_status() const;
  std::string cmd_show_vips(std::string_view vip) const;
  std::string cmd_show_backends(std::string_view vip) const;
  std::string cmd_show_health(std::string_view backend) const;
  std::string cmd_show_stats() const;
  std::string cmd_backend(const std::vector<std::string_view>& args, const Peer& peer);
  std::string cmd_configure(const std::vector<std::string_view>& args, const Peer& peer);
  // The 8003 reply to a peer who may read but not do `what`.
  std::string denied(const Peer& peer, std::string_view what) const;
  health::State health_of(const std::string& key) const;

  asio::io_context& io_;
  Config config_;
  std::string config_path_;
  Overrides overrides_;
  Log log_;
  std::unique_ptr<health::Checker> checker_;
  std::unique_ptr<DataplaneClient> dataplane_;
  std::unique_ptr<bgp::Announcer> announcer_;  // null without [bgp]
  std::vector<VipView> views_;
  SteadyClock::time_point started_;
  bool warm_ = false;
  asio::steady_timer warmup_timer_;
  struct Event {
    int64_t at_unix_us = 0;
    std::string text;
  };
  std::deque<Event> events_;  // the last kEvents, oldest first
  uint64_t health_changes_ = 0;
  uint64_t reloads_ = 0;
};

}  // namespace steer::control
