// DOC: steerd's controller — the one owner of the control state, on one io_context thread,
// and the one place where the service health is computed and published.
//
//   inputs                                    one value                    subscribers (modules)
//   config (reload)      ─┐
//   health verdicts       ├─ compute_service_health() ─▶ ServiceHealth ─┬─▶ DataplaneLink (push)
//   operator overrides    │   (control/service_health.h)  generation N   ├─▶ BgpLink (announce)
//   dataplane liveness    │                                              └─▶ (DNS responder)
//   warm-up              ─┘                                 └─▶ PublishCell: reader threads
//
// Every input change recomputes and publishes a new immutable value; modules read it (and
// only it) on the control thread, other threads through health_cell(). Warm-up: after a start
// the value says warm = false until every health target has its first verdict (or
// [warmup] max_ms passed), so the dataplane link pushes nothing and the BGP policy changes
// nothing: a restarted steerd adopts the running dataplane and BIRD's routes untouched.
//
// Collaborators are injected: the checker (health::TargetChecker; tests script one), the
// dataplane client (its socket: tests serve a fake dataplane), the config loader (reload),
// the event history. The controller owns none of them. CLI commands live in commands.cc,
// metrics in metrics.cc; the controller keeps no presentation.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <asio.hpp>
#include <tl/expected.hpp>

#include "common/peer.h"
#include "common/publish.h"
#include "common/result.h"
#include "control/config/config.h"
#include "control/config/diff.h"
#include "control/dataplane_client.h"
#include "control/events.h"
#include "control/health/target_checker.h"
#include "control/module.h"
#include "control/overrides.h"
#include "control/service_health.h"

namespace steer::control {

using ConfigLoader = std::function<tl::expected<Config, std::vector<ConfigError>>()>;

class Controller {
 public:
  struct Deps {
    asio::io_context& io;
    health::TargetChecker& checker;
    DataplaneClient& dataplane;
    Events& events;
    ConfigLoader load_config;  // reload and `configure check` read the file through it
  };

  Controller(Deps deps, Config config, Overrides overrides);
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // Registers a subscriber; before start() only.
  void add_module(Module& module);
  // Starts checks, warm-up and the dataplane client; publishes the first value.
  void start();
  void stop();

  // SIGHUP / `configure`: load, validate, diff and apply what changed. The error lists every
  // problem (one per line); nothing changes then.
  Result<ConfigDiff> reload(const std::string& who);
  // `configure check`: what a reload would change, or every error in the file.
  tl::expected<ConfigDiff, std::vector<ConfigError>> check() const;

  // Sets (merges into) an operator override, persists it, says so in the events (`what`:
  // "drain 10.0.11.2", "weight 10.0.11.2 5", ...), and recomputes.
  Result<void> set_override(const Override& o, const Peer& by, std::string_view what);

  // The current value (never null after start()).
  const ServiceHealthPtr& health() const { return health_; }
  // For other threads.
  const PublishCell<ServiceHealth>& health_cell() const { return cell_; }
  const Config& config() const { return *config_; }
  const Overrides& overrides() const { return overrides_; }
  health::TargetChecker& checker() const { return deps_.checker; }
  DataplaneClient& dataplane() const { return deps_.dataplane; }
  Events& events() const { return deps_.events; }
  const std::vector<Module*>& modules() const { return modules_; }

  std::chrono::steady_clock::time_point started() const { return started_; }
  bool warm() const { return warm_; }
  uint64_t health_changes() const { return health_changes_; }
  uint64_t reloads() const { return reloads_; }

 private:
  void recompute();
  void set_warm(std::string why);
  void event(std::string text) { deps_.events.add(std::move(text)); }

  Deps deps_;
  std::shared_ptr<const Config> config_;
  Overrides overrides_;
  std::vector<Module*> modules_;
  ServiceHealthPtr health_;
  PublishCell<ServiceHealth> cell_;
  uint64_t generation_ = 0;
  std::chrono::steady_clock::time_point started_{};
  bool warm_ = false;
  bool started_flag_ = false;
  asio::steady_timer warmup_timer_;
  uint64_t health_changes_ = 0;
  uint64_t reloads_ = 0;
};

}  // namespace steer::control
