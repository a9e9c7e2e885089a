#include "control/controller.h"

#include <fmt/format.h>

#include "common/version.h"

namespace steer::control {

Controller::Controller(Deps deps, Config config, Overrides overrides)
    : deps_(std::move(deps)),
      config_(std::make_shared<const Config>(std::move(config))),
      overrides_(std::move(overrides)),
      warmup_timer_(deps_.io) {}

void Controller::add_module(Module& module) { modules_.push_back(&module); }

void Controller::start() {
  started_ = std::chrono::steady_clock::now();
  started_flag_ = true;
  deps_.checker.set_on_change([this](const std::string& key, health::State before,
                                     health::State now, const health::ProbeResult& last) {
    ++health_changes_;
    event(fmt::format("{} {} -> {}{}", key, health::state_name(before), health::state_name(now),
                      last.ok ? "" : ": " + last.reason));
    if (!warm_ && deps_.checker.all_settled()) {
      warm_ = true;
      warmup_timer_.cancel();
      event("warm-up over: every backend has a health verdict; pushing to the dataplane");
    }
    recompute();
  });
  // A streak toward another verdict: nothing changes yet, but answers that depend on it get
  // their pending TTL (DNS) until it ends.
  deps_.checker.set_on_pending([this](const std::string&, bool) { recompute(); });
  deps_.dataplane.on_health = [this](DataplaneHealth, DataplaneHealth now, const std::string& why) {
    event(fmt::format("dataplane {}: {}", dataplane_health_name(now), why));
    recompute();
  };
  deps_.checker.set_targets(health_targets(*config_));
  // Warm-up: hold pushes and route changes until every target has a verdict, at most
  // warmup_max_ms.
  warm_ = deps_.checker.all_settled();
  if (!warm_) {
    warmup_timer_.expires_after(std::chrono::milliseconds(config_->warmup_max_ms));
    warmup_timer_.async_wait([this](const asio::error_code& ec) {
      if (ec || warm_) return;
      set_warm("warm-up over after max_ms: some backends have no verdict yet (treated as down)");
    });
  }
  recompute();
  deps_.dataplane.start();
  event(fmt::format("steerd {} started: {} VIPs, {} health targets", kVersion, config_->vips.size(),
                    deps_.checker.keys().size()));
}

void Controller::set_warm(std::string why) {
  warm_ = true;
  warmup_timer_.cancel();
  if (!why.empty()) event(std::move(why));
  recompute();
}

void Controller::stop() {
  warmup_timer_.cancel();
  for (Module* m : modules_) m->stop();
  deps_.checker.set_targets({});
  deps_.checker.set_on_change({});
  deps_.checker.set_on_pending({});
  deps_.dataplane.on_health = nullptr;
  deps_.dataplane.stop();
}

void Controller::recompute() {
  const auto started = std::chrono::steady_clock::now();
  ServiceInputs in;
  in.config = config_;
  in.verdict = [this](const std::string& key) {
    const health::TargetStatus* s = deps_.checker.status(key);
    return s ? s->state : health::State::Unknown;
  };
  in.pending = [this](const std::string& key) {
    const health::TargetStatus* s = deps_.checker.status(key);
    return s != nullptr && s->pending;
  };
  in.overrides = &overrides_;
  in.dataplane = deps_.dataplane.health();
  in.dataplane_why = deps_.dataplane.health_reason();
  in.warm = warm_;
  auto next = std::make_shared<ServiceHealth>(compute_service_health(in));
  next->generation = ++generation_;
  next->computed_at = started;
  health_ = std::move(next);
  cell_.publish(health_);
  for (Module* m : modules_) m->on_health(health_);
}

tl::expected<ConfigDiff, std::vector<ConfigError>> Controller::check() const {
  auto next = deps_.load_config();
  if (!next) return tl::unexpected(std::move(next.error()));
  return diff_configs(*config_, *next);
}

Result<ConfigDiff> Controller::reload(const std::string& who) {
  auto next = deps_.load_config();
  if (!next) {
    event(fmt::format("reload by {} rejected: {} error(s)", who, next.error().size()));
    std::string text = format_errors(next.error());
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return fail(std::move(text));
  }
  ConfigDiff d = diff_configs(*config_, *next);
  ++reloads_;
  if (d.empty()) {
    event(fmt::format("reload by {}: no change", who));
    return d;
  }
  config_ = std::make_shared<const Config>(std::move(*next));
  if (started_flag_) {
    deps_.checker.set_targets(health_targets(*config_));
    recompute();
  }
  event(fmt::format("reload by {}: {}", who, d.summary()));
  return d;
}

Result<void> Controller::set_override(const Override& o, const Peer& by, std::string_view what) {
  if (auto r = overrides_.set(o); !r) return r;
  event(fmt::format("{}: backend {} on {}", by.text(), what, o.vip == "*" ? "every VIP" : o.vip));
  recompute();
  return {};
}

}  // namespace steer::control
