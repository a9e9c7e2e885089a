// Stand-ins for steerd's controller's collaborators, for tests/unit/control:
//   ScriptedChecker  a health::TargetChecker whose verdicts the test sets (no probes)
//   FakeDataplane    steer-dataplane's API socket (greeting, state, apply, status, stats,
//                    flow) on a real Unix socket, served by a thread; kill() is a dead
//                    dataplane, revive() a restarted one (a new pid)
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/framing.h"
#include "control/health/target_checker.h"
#include "testing/support/script_server.h"

namespace steer::control::test {

class ScriptedChecker final : public health::TargetChecker {
 public:
  void set_on_change(ChangeFn on_change) override { on_change_ = std::move(on_change); }
  void set_on_pending(PendingFn on_pending) override { on_pending_ = std::move(on_pending); }
  void set_targets(std::vector<health::Target> targets) override {
    std::map<std::string, health::TargetStatus> next;
    for (const health::Target& t : targets) {
      auto it = status_.find(t.key);
      next.emplace(t.key, it != status_.end() ? it->second : health::TargetStatus{});
    }
    status_ = std::move(next);
    ++target_sets_;
  }
  const health::TargetStatus* status(const std::string& key) const override {
    auto it = status_.find(key);
    return it == status_.end() ? nullptr : &it->second;
  }
  std::vector<std::string> keys() const override {
    std::vector<std::string> out;
    for (const auto& [k, s] : status_) out.push_back(k);
    return out;
  }
  health::CheckerStats stats() const override { return {}; }
  bool all_settled() const override {
    for (const auto& [k, s] : status_) {
      if (s.state == health::State::Unknown) return false;
    }
    return true;
  }

  // A verdict for `key`, as the damper would give it (calls on_change when it changes).
  void set(const std::string& key, health::State now, std::string reason = "") {
    auto it = status_.find(key);
    if (it == status_.end() || it->second.state == now) return;
    const health::State before = it->second.state;
    it->second.state = now;
    health::ProbeResult last;
    last.ok = now == health::State::Up;
    last.reason = reason.empty() && !last.ok ? "connection refused" : reason;
    if (on_change_) on_change_(key, before, now, last);
  }
  // A streak toward another verdict starts or ends.
  void set_pending(const std::string& key, bool pending) {
    auto it = status_.find(key);
    if (it == status_.end() || it->second.pending == pending) return;
    it->second.pending = pending;
    if (on_pending_) on_pending_(key, pending);
  }
  void set_all(health::State now) {
    for (const std::string& k : keys()) set(k, now);
  }
  int target_sets() const { return target_sets_; }

 private:
  ChangeFn on_change_;
  PendingFn on_pending_;
  std::map<std::string, health::TargetStatus> status_;
  int target_sets_ = 0;
};

class FakeDataplane {
 public:
  // `state`: the document the dataplane holds when steerd connects (what a running dataplane
  // forwards); empty: none applied yet.
  FakeDataplane(std::string socket, std::string state = R"({"vips":[]})")
      : socket_(std::move(socket)), state_(std::move(state)) {
    revive();
  }
  ~FakeDataplane() { kill(); }

  // A dead dataplane: the socket closes and nothing answers.
  void kill() { server_.reset(); }
  // A (re)started dataplane with a new pid; it keeps its applied state (fail-static).
  void revive() {
    ++pid_;
    server_ = std::make_unique<steer::test::ScriptServer>(
        socket_, [this](steer::test::ScriptServer::Conn& c, int) { serve(c); });
  }

  // Every document applied, in order.
  std::vector<std::string> applies() const {
    std::lock_guard<std::mutex> lock(mu_);
    return applies_;
  }
  size_t apply_count() const {
    std::lock_guard<std::mutex> lock(mu_);
    return applies_.size();
  }
  std::string state() const {
    std::lock_guard<std::mutex> lock(mu_);
    return state_;
  }
  // The backends of the applied state's VIP at `address`, address -> state ("" when none).
  std::map<std::string, std::string> pool(const std::string& address) const {
    std::map<std::string, std::string> out;
    auto doc = nlohmann::json::parse(state(), nullptr, false);
    if (doc.is_discarded()) return out;
    for (const auto& v : doc["vips"]) {
      if (v.value("address", "") != address) continue;
      for (const auto& b : v["backends"]) out[b.value("address", "")] = b.value("state", "");
    }
    return out;
  }

 private:
  static std::string json_reply(const nlohmann::json& doc) { return reply_json(doc.dump()); }

  void serve(steer::test::ScriptServer::Conn& c) {
    if (!c.send(format_reply_line(reply::kGreeting, "steer-dataplane test ready.", true))) return;
    while (auto line = c.read_line(std::chrono::seconds(30))) {
      const Request req = split_request(*line);
      std::string out;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (req.command == "state") {
          out = reply_json(state_);
        } else if (req.command == "apply") {
          auto doc = nlohmann::json::parse(req.rest, nullptr, false);
          if (doc.is_discarded()) {
            out = reply_error(reply::kInvalidState, "state: not valid JSON");
          } else {
            state_ = std::string(req.rest);
            applies_.push_back(state_);
            ++generation_;
            out = json_reply({{"generation", generation_},
                              {"switched", true},
                              {"warnings", nlohmann::json::array()}});
          }
        } else if (req.command == "status") {
          out = json_reply({{"version", "test"},
                            {"pid", pid_.load()},
                            {"generation", generation_},
                            {"alive", true},
                            {"switched", true},
                            {"workers",
                             {{{"lcore", 1},
                               {"alive", true},
                               {"heartbeat_age_ms", 0.1},
                               {"iterations", 1},
                               {"generation", generation_}}}}});
        } else if (req.command == "stats") {
          out = json_reply({{"generation", generation_}, {"drops", {{"no_backend", 0}}}});
        } else if (req.command == "flow") {
          out = json_reply({{"backend", "10.0.0.1"}, {"why", "test"}});
        } else {
          out = reply_error(reply::kUnknownCommand, "unknown command");
        }
      }
      if (!c.send(out)) return;
    }
  }

  std::string socket_;
  mutable std::mutex mu_;
  std::string state_;
  std::vector<std::string> applies_;
  uint64_t generation_ = 0;
  std::atomic<int64_t> pid_{4000};
  std::unique_ptr<steer::test::ScriptServer> server_;
};

}  // namespace steer::control::test
