// DOC: steerd's health checker: every probe of every backend on ONE thread and ONE
// asio::io_context, never a process or thread per probe.
//
// How it is split:
//   Checker      the target set, one TargetStatus + Damper + Prober per target, and the
//                schedule behind a single asio::steady_timer: a binary heap of next-probe
//                starts, plus one FIFO of deadlines per timeout value for the probes in
//                flight (same timeout, started in order: deadlines in order). An entry is
//                (when, slot, token); a target's token changes whenever it is rescheduled or
//                finishes, so superseded entries are dropped when reached, never searched for.
//   Prober       (probe.h) one per target, reused for every probe: tcp, http, https, udp,
//                dns. tcp/http/udp/dns run on raw non-blocking sockets in an epoll set the
//                io_context watches as one descriptor (fd_poller.h); https uses asio::ssl.
//   Damper       (damper.h) rise/fall verdicts.
//
// Schedule: a new target's first probe starts at a uniform random phase in [0, interval);
// then every interval × (1 ± jitter) (drawn per probe), or every effective fast interval
// while the damper is pending. Periods run from the scheduled start of the previous probe
// (no drift); a probe that outlives its next start delays it to its own end. A probe that is
// still in flight at its timeout is aborted (sockets closed) and counts as a failure,
// "timeout after N ms" (ready completions are read first, so a busy loop does not turn
// answers into timeouts). Starts due within 0.5 ms are taken together (batching; an early
// start counts as lag 0); one timer wake-up handles at most 256 deadlines, so an overloaded
// thread still reaches its sockets: overload shows as start lag, not as false failures.
//
// Cost (bench/health, tools/probe-bench): a TCP-connect probe is 5 syscalls (socket,
// connect, epoll_ctl, setsockopt SO_LINGER, close) plus its share of one epoll_wait and one
// timer re-arm per batch (measured: 5.5 syscalls per probe at 10,000 probes/s), one heap
// push and pop, and no allocation of its own on success (the history deque allocates a
// block every few results). About 3,600 user-space instructions per probe at 1,000
// probes/s (callgrind), less when batches grow; the kernel's share dominates (tools/probe-bench).

// Threading: every member function, and on_change, runs on the io_context's thread. The
// io_context must outlive the Checker; destroy the Checker from outside its callbacks.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <asio.hpp>

#include "control/health/damper.h"
#include "control/health/schedule.h"
#include "control/health/target.h"
#include "control/health/target_checker.h"

namespace steer::control::health {

class FdPoller;
class Prober;
class TlsContexts;
struct ProbeEnv;

class Checker final : public TargetChecker {
 public:
  using Stats = CheckerStats;

  // `on_change` runs on the io thread whenever a target's state changes (it may call
  // set_targets). `seed` seeds the jitter RNG (tests pass a fixed one). Fails (std::system_error)
  // only when the process has no file descriptor left for the epoll set.
  Checker(asio::io_context& io, ChangeFn on_change = {}, uint64_t seed = 1);
  ~Checker() override;
  Checker(const Checker&) = delete;
  Checker& operator=(const Checker&) = delete;

  // Replaces the target set. A target whose key and spec are unchanged keeps its status and
  // schedule; a changed spec restarts its probe stream (status and verdict kept, the damper's
  // streak restarts under the new rise/fall); removed targets stop (a probe in flight is
  // cancelled and never reported). Of two targets with the same key the first wins.
  void set_targets(std::vector<Target> targets) override;
  void set_on_change(ChangeFn on_change) override { on_change_ = std::move(on_change); }
  void set_on_pending(PendingFn on_pending) override { on_pending_ = std::move(on_pending); }

  // The status of `key`, or nullptr. The object stays put (and is updated in place) until a
  // set_targets without `key` removes it.
  const TargetStatus* status(const std::string& key) const override;
  // Every key, sorted.
  std::vector<std::string> keys() const override;

  Stats stats() const override;
  // Starts a fresh lag window that rolls over after `window` (benchmarks call it when their
  // measurement starts, with a window longer than the measurement).
  void reset_lag_window(Clock::duration window = std::chrono::seconds(5));

  // First verdict: true once every target has left Unknown (steerd's warm-up uses it). O(1).
  bool all_settled() const override;

 private:
  struct Entry;
  struct Slot {
    std::unique_ptr<Entry> entry;
    uint32_t token = 0;
  };
  struct Deadline {
    Clock::rep when;  // Clock ticks
    uint32_t slot;
    uint32_t token;  // live while equal to the slot's token
  };
  // Deadlines of probes in flight with one timeout value, in deadline order.
  struct TimeoutQueue {
    uint32_t ms;
    std::deque<Deadline> items;
  };
  static constexpr int kNone = -2;
  struct Next {
    Deadline d{};
    int queue = kNone;  // -1: the start heap; >= 0: timeouts_[queue]; kNone: nothing
  };
  class Sink;

  void add_target(Target target);
  void restart(uint32_t slot, Target target);
  void remove_slot(uint32_t slot);
  void retire(std::unique_ptr<Prober> prober);

  void schedule(uint32_t slot, Clock::time_point when);
  bool live(const Deadline& d) const;
  Next peek();  // the earliest live deadline (drops stale ones on the way)
  void pop(const Next& n);
  void arm_timer();
  void on_timer();
  void start_probe(uint32_t slot, Clock::time_point now);
  void probe_done(uint32_t slot, bool ok, std::string reason);
  void finish(uint32_t slot, bool ok, std::string reason, Clock::time_point now);
  void record_lag(Clock::duration lag, Clock::time_point now);

  asio::io_context& io_;
  ChangeFn on_change_;
  PendingFn on_pending_;
  Rng rng_;
  std::unique_ptr<FdPoller> poller_;
  std::unique_ptr<TlsContexts> tls_;
  std::unique_ptr<Sink> sink_;
  std::vector<uint8_t> scratch_;
  std::unique_ptr<ProbeEnv> env_;

  std::vector<Slot> slots_;
  std::vector<uint32_t> free_slots_;
  std::unordered_map<std::string, uint32_t> by_key_;
  size_t unknown_ = 0;          // targets still in State::Unknown
  std::vector<Deadline> heap_;  // next starts: min-heap on `when`
  std::vector<TimeoutQueue> timeouts_;

  asio::steady_timer timer_;
  bool timer_waiting_ = false;
  bool in_timer_ = false;  // on_timer() re-arms once at its end
  Clock::time_point timer_at_;
  uint64_t timer_gen_ = 0;

  std::vector<std::unique_ptr<Prober>> graveyard_;
  bool reap_posted_ = false;

  uint64_t probes_started_ = 0, probes_done_ = 0, failures_ = 0, timeouts_count_ = 0;
  uint64_t in_flight_ = 0;
  LagHistogram lag_now_, lag_prev_;
  Clock::time_point lag_window_start_;
  Clock::duration lag_window_ = std::chrono::seconds(5);
  Clock::duration lag_max_now_{0}, lag_max_prev_{0};

  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace steer::control::health
