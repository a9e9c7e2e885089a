// DOC: TargetChecker — what steerd's controller needs of a health checker: give it the
// targets, read their verdicts, hear about changes. health::Checker (checker.h) is the one
// that probes; tests hand the controller a scripted one instead (tests/unit/control/).
// Threading: every call and every ChangeFn runs on the controller's thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "control/health/damper.h"
#include "control/health/target.h"

namespace steer::control::health {

struct CheckerStats {
  // started = done + in_flight + cancelled (by set_targets) + those of removed targets.
  uint64_t probes_started = 0, probes_done = 0, in_flight = 0;
  uint64_t failures = 0;  // probes that failed (timeouts included)
  uint64_t timeouts = 0;  // probes aborted at their timeout
  // How late probes started against their schedule, over the recent window (the last
  // 5-10 s, or since reset_lag_window()), in microseconds.
  double lag_p50_us = 0, lag_p99_us = 0, lag_max_us = 0;
  uint64_t lag_samples = 0;
};

class TargetChecker {
 public:
  using ChangeFn =
      std::function<void(const std::string& key, State before, State now, const ProbeResult& last)>;

  virtual ~TargetChecker() = default;

  using PendingFn = std::function<void(const std::string& key, bool pending)>;

  // Who hears about verdict changes (one listener; it may call set_targets).
  virtual void set_on_change(ChangeFn on_change) = 0;
  // Who hears when a target's streak toward another verdict starts or ends (TargetStatus
  // pending) without a verdict change: answers that depend on it use shorter TTLs meanwhile.
  virtual void set_on_pending(PendingFn on_pending) = 0;
  // Replaces the target set. A target whose key and spec are unchanged keeps its status; of
  // two targets with the same key the first wins.
  virtual void set_targets(std::vector<Target> targets) = 0;
  // The status of `key`, or nullptr. Stays valid until a set_targets without `key`.
  virtual const TargetStatus* status(const std::string& key) const = 0;
  // Every key, sorted.
  virtual std::vector<std::string> keys() const = 0;
  virtual CheckerStats stats() const = 0;
  // True once every target has left Unknown (steerd's warm-up).
  virtual bool all_settled() const = 0;
};

}  // namespace steer::control::health
