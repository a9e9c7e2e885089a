// DOC: the values the health checker takes in and hands out: a Target (what to probe and
// how), one ProbeResult, and a TargetStatus (verdict, history, last failure). Plain values.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <string>

#include "common/ip_address.h"
#include "control/config/config.h"
#include "control/health/damper.h"

namespace steer::control::health {

using Clock = std::chrono::steady_clock;

// One probe. `reason` is "" when ok, else words an operator reads in `steerctl`:
// "connection refused", "timeout after 50 ms", "HTTP 503", "body lacks 'ok'",
// "reply lacks 'pong'", "wrong answer (got 192.0.2.9)", "rcode NXDOMAIN",
// "TLS handshake failed: certificate verify failed", ...
struct ProbeResult {
  Clock::time_point at;  // when the probe started
  bool ok = false;
  std::chrono::microseconds latency{0};  // start to verdict (the timeout for a timeout)
  std::string reason;
};

// What to probe. `key` is the caller's identity for it (e.g. "10.0.11.2:80/http"); the
// checker compares whole Targets to tell an unchanged target from a changed one.
struct Target {
  std::string key;
  IpAddress address;
  uint16_t port = 0;  // the effective port (the check's, or the VIP's)
  CheckConfig check;

  friend bool operator==(const Target&, const Target&) = default;
};

struct TargetStatus {
  static constexpr size_t kHistory = 16;

  State state = State::Unknown;
  Clock::time_point since;          // when `state` was entered (or the target was added)
  bool pending = false;             // a streak toward a change is in progress (fast re-checks)
  std::deque<ProbeResult> history;  // most recent last, at most kHistory
  std::string last_failure;         // reason of the most recent failed probe ("" = none yet)
  Clock::time_point last_failure_at;
  uint64_t probes = 0, failures = 0;
};

}  // namespace steer::control::health
