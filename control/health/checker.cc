#include "control/health/checker.h"

#include <algorithm>
#include <unordered_set>

#include <fmt/format.h>

#include "control/health/fd_poller.h"
#include "control/health/probe.h"

namespace steer::control::health {
namespace {

// A start due within this much of now is taken in the same timer wake-up: it batches
// starts (and so their completions: one epoll_wait, one timer re-arm for many probes) at
// high probe rates, and 0.5 ms early is nothing next to the jitter (10 % of >= 50 ms).
// Early starts count as lag 0. Timeouts are never taken early.
constexpr Clock::duration kStartSlack = std::chrono::microseconds(500);
// Deadlines handled per timer wake-up at most.
constexpr int kTimerBudget = 256;

// Min-heap order for std::push_heap/pop_heap (a functor, so it inlines).
struct Later {
  template <class D>
  bool operator()(const D& a, const D& b) const {
    return a.when > b.when;
  }
};

}  // namespace

struct Checker::Entry {
  Target target;
  TargetStatus status;
  Damper damper;
  std::unique_ptr<Prober> prober;
  Clock::time_point due;      // scheduled start of the next probe (or of the one in flight)
  Clock::time_point started;  // actual start of the probe in flight
  bool in_flight = false;
  std::string timeout_reason;  // "timeout after N ms", built once
};

class Checker::Sink final : public ProbeSink {
 public:
  explicit Sink(Checker& c) : c_(c) {}
  void probe_done(uint32_t slot, bool ok, std::string reason) override {
    c_.probe_done(slot, ok, std::move(reason));
  }

 private:
  Checker& c_;
};

Checker::Checker(asio::io_context& io, ChangeFn on_change, uint64_t seed)
    : io_(io),
      on_change_(std::move(on_change)),
      rng_(seed),
      poller_(std::make_unique<FdPoller>(io)),
      tls_(std::make_unique<TlsContexts>()),
      sink_(std::make_unique<Sink>(*this)),
      scratch_(size_t{64} * 1024),
      env_(std::make_unique<ProbeEnv>(ProbeEnv{io, *poller_, *sink_, *tls_, scratch_})),
      timer_(io),
      lag_window_start_(Clock::now()) {}

Checker::~Checker() {
  *alive_ = false;
  // Aborted probers never call back; destroying them closes their sockets.
  for (Slot& s : slots_) {
    if (s.entry && s.entry->in_flight) s.entry->prober->abort();
  }
  slots_.clear();
  graveyard_.clear();
}

void Checker::set_targets(std::vector<Target> targets) {
  std::unordered_set<std::string> wanted;
  wanted.reserve(targets.size());
  std::vector<Target> unique;
  unique.reserve(targets.size());
  for (Target& t : targets) {
    if (wanted.insert(t.key).second) unique.push_back(std::move(t));
  }
  // Removals first, so their slots are reused.
  std::vector<uint32_t> gone;
  for (const auto& [key, slot] : by_key_) {
    if (!wanted.contains(key)) gone.push_back(slot);
  }
  for (uint32_t slot : gone) remove_slot(slot);
  for (Target& t : unique) {
    const auto it = by_key_.find(t.key);
    if (it == by_key_.end()) {
      add_target(std::move(t));
    } else if (!(slots_[it->second].entry->target == t)) {
      restart(it->second, std::move(t));
    }
  }
  std::erase_if(timeouts_, [](const TimeoutQueue& q) { return q.items.empty(); });
  arm_timer();
}

void Checker::add_target(Target target) {
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  const Clock::time_point now = Clock::now();
  const Damper damper(target.check.rise, target.check.fall);
  auto e = std::make_unique<Entry>(Entry{.target = std::move(target), .damper = damper});
  e->status.since = now;
  e->timeout_reason = fmt::format("timeout after {} ms", e->target.check.timeout_ms);
  e->prober = make_prober(e->target, slot, *env_, rng_.next());
  e->due = now + first_phase(e->target.check.interval_ms, rng_);
  by_key_.emplace(e->target.key, slot);
  ++unknown_;
  const Clock::time_point due = e->due;
  slots_[slot].entry = std::move(e);
  schedule(slot, due);
}

void Checker::restart(uint32_t slot, Target target) {
  Entry& e = *slots_[slot].entry;
  if (e.in_flight) {
    e.prober->abort();  // cancelled: never reported
    e.in_flight = false;
    --in_flight_;
  }
  retire(std::move(e.prober));
  e.target = std::move(target);
  e.damper = Damper(e.target.check.rise, e.target.check.fall, e.damper.state());
  e.status.pending = false;
  e.timeout_reason = fmt::format("timeout after {} ms", e.target.check.timeout_ms);
  e.prober = make_prober(e.target, slot, *env_, rng_.next());
  e.due = Clock::now() + first_phase(e.target.check.interval_ms, rng_);
  schedule(slot, e.due);
}

void Checker::remove_slot(uint32_t slot) {
  Slot& s = slots_[slot];
  Entry& e = *s.entry;
  if (e.in_flight) {
    e.prober->abort();  // cancelled: never reported
    --in_flight_;
  }
  retire(std::move(e.prober));
  by_key_.erase(e.target.key);
  if (e.status.state == State::Unknown) --unknown_;
  s.entry.reset();
  ++s.token;  // its heap entries are now stale
  free_slots_.push_back(slot);
}

void Checker::retire(std::unique_ptr<Prober> prober) {
  if (!prober) return;
  // The prober may be on the call stack (its probe_done led here): destroy it later.
  graveyard_.push_back(std::move(prober));
  if (reap_posted_) return;
  reap_posted_ = true;
  asio::post(io_, [this, alive = alive_] {
    if (!*alive) return;
    reap_posted_ = false;
    graveyard_.clear();
  });
}

void Checker::schedule(uint32_t slot, Clock::time_point when) {
  const uint32_t token = ++slots_[slot].token;
  heap_.push_back(Deadline{when.time_since_epoch().count(), slot, token});
  std::push_heap(heap_.begin(), heap_.end(), Later{});
  if (!in_timer_ && (!timer_waiting_ || when < timer_at_)) arm_timer();
}

bool Checker::live(const Deadline& d) const {
  const Slot& s = slots_[d.slot];
  return s.entry && s.token == d.token;
}

Checker::Next Checker::peek() {
  Next best;
  while (!heap_.empty() && !live(heap_.front())) {
    std::pop_heap(heap_.begin(), heap_.end(), Later{});
    heap_.pop_back();
  }
  if (!heap_.empty()) best = Next{heap_.front(), -1};
  for (size_t i = 0; i < timeouts_.size(); ++i) {
    auto& items = timeouts_[i].items;
    while (!items.empty() && !live(items.front())) items.pop_front();
    if (!items.empty() && (best.queue == kNone || items.front().when < best.d.when)) {
      best = Next{items.front(), static_cast<int>(i)};
    }
  }
  return best;
}

void Checker::pop(const Next& n) {
  if (n.queue < 0) {
    std::pop_heap(heap_.begin(), heap_.end(), Later{});
    heap_.pop_back();
  } else {
    timeouts_[static_cast<size_t>(n.queue)].items.pop_front();
  }
}

void Checker::arm_timer() {
  const Next n = peek();
  if (n.queue == kNone) return;
  const Clock::time_point top{Clock::duration(n.d.when)};
  if (timer_waiting_ && timer_at_ <= top) return;
  timer_at_ = top;
  timer_waiting_ = true;
  timer_.expires_at(top);  // cancels a wait in progress; its handler sees an old generation
  timer_.async_wait([this, alive = alive_, gen = ++timer_gen_](const asio::error_code&) {
    if (!*alive || gen != timer_gen_) return;
    timer_waiting_ = false;
    on_timer();
  });
}

void Checker::on_timer() {
  in_timer_ = true;
  bool polled = false;
  // Bounded work per wake-up: an overloaded thread must still reach the reactor, or every
  // probe would time out unread and the timeouts would feed the overload.
  int budget = kTimerBudget;
  while (budget > 0) {
    const Next n = peek();
    if (n.queue == kNone) break;
    const bool timeout = n.queue >= 0;
    const Clock::time_point now = Clock::now();
    const Clock::time_point when{Clock::duration(n.d.when)};
    if (when > now && (timeout || when > now + kStartSlack)) break;
    if (timeout && !polled) {
      // Let probes that have finished report before any is judged timed out.
      polled = true;
      poller_->poll();
      continue;
    }
    pop(n);
    --budget;
    if (timeout) {
      ++timeouts_count_;
      Entry& e = *slots_[n.d.slot].entry;
      e.prober->abort();
      finish(n.d.slot, false, e.timeout_reason, now);
    } else {
      start_probe(n.d.slot, now);
    }
    // Nothing of this iteration is used past here: the calls above may have changed the
    // target set (on_change -> set_targets), the heap, the queues and slots_.
  }
  in_timer_ = false;
  arm_timer();  // at once when the budget ran out: the reactor runs in between
}

void Checker::start_probe(uint32_t slot, Clock::time_point now) {
  Entry& e = *slots_[slot].entry;
  record_lag(now - e.due, now);
  e.in_flight = true;
  e.started = now;
  ++probes_started_;
  ++in_flight_;
  // Probes with one timeout start in time order, so their deadlines queue in order: a FIFO
  // per timeout value instead of a second heap entry per probe. The new token retires
  // nothing live (this target's start entry was just popped); finish() bumps it again,
  // which makes this deadline stale.
  const uint32_t token = ++slots_[slot].token;
  const uint32_t ms = e.target.check.timeout_ms;
  auto q = std::find_if(timeouts_.begin(), timeouts_.end(),
                        [ms](const TimeoutQueue& t) { return t.ms == ms; });
  if (q == timeouts_.end()) q = timeouts_.insert(timeouts_.end(), TimeoutQueue{ms, {}});
  q->items.push_back(
      Deadline{(now + std::chrono::milliseconds(ms)).time_since_epoch().count(), slot, token});
  e.prober->start();  // may finish at once (socket error): nothing may follow
}

void Checker::probe_done(uint32_t slot, bool ok, std::string reason) {
  if (slot >= slots_.size() || !slots_[slot].entry || !slots_[slot].entry->in_flight) return;
  finish(slot, ok, std::move(reason), Clock::now());
}

void Checker::finish(uint32_t slot, bool ok, std::string reason, Clock::time_point now) {
  Entry& e = *slots_[slot].entry;
  TargetStatus& st = e.status;
  e.in_flight = false;
  --in_flight_;
  ++probes_done_;
  ++st.probes;
  if (!ok) {
    ++failures_;
    ++st.failures;
    st.last_failure = reason;
    st.last_failure_at = e.started;
  }
  if (st.history.size() >= TargetStatus::kHistory) st.history.pop_front();
  st.history.push_back(ProbeResult{
      .at = e.started,
      .ok = ok,
      .latency = std::chrono::duration_cast<std::chrono::microseconds>(now - e.started),
      .reason = std::move(reason),
  });
  const Damper::Step step = e.damper.feed(ok);
  const bool was_pending = st.pending;
  st.pending = step.pending;

  const CheckConfig& c = e.target.check;
  const uint32_t period_ms = step.pending ? c.effective_fast_interval_ms() : c.interval_ms;
  Clock::time_point next = e.due + jittered_period(period_ms, c.jitter, rng_);
  if (next < now) next = now;  // the probe outlived its period: go again at once
  e.due = next;
  schedule(slot, next);

  if (!step.changed) {
    if (step.pending != was_pending && on_pending_) {
      const std::string key = e.target.key;  // a copy: the callback may change the targets
      on_pending_(key, step.pending);
    }
    return;
  }
  const State before = st.state;
  if (before == State::Unknown) --unknown_;
  st.state = step.state;
  st.since = now;
  if (!on_change_) return;
  // Copies: on_change may call set_targets, which may destroy this entry.
  const std::string key = e.target.key;
  const ProbeResult last = st.history.back();
  on_change_(key, before, step.state, last);
}

void Checker::record_lag(Clock::duration lag, Clock::time_point now) {
  if (now - lag_window_start_ > lag_window_) {
    lag_prev_ = lag_now_;
    lag_now_.clear();
    lag_max_prev_ = lag_max_now_;
    lag_max_now_ = Clock::duration::zero();
    lag_window_start_ = now;
  }
  if (lag < Clock::duration::zero()) lag = Clock::duration::zero();  // taken early (slack)
  lag_now_.record(
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(lag).count()));
  lag_max_now_ = std::max(lag_max_now_, lag);
}

void Checker::reset_lag_window(Clock::duration window) {
  lag_window_ = window;
  lag_now_.clear();
  lag_prev_.clear();
  lag_max_now_ = lag_max_prev_ = Clock::duration::zero();
  lag_window_start_ = Clock::now();
}

Checker::Stats Checker::stats() const {
  Stats s;
  s.probes_started = probes_started_;
  s.probes_done = probes_done_;
  s.in_flight = in_flight_;
  s.failures = failures_;
  s.timeouts = timeouts_count_;
  LagHistogram h = lag_prev_;
  h.add(lag_now_);
  s.lag_samples = h.total();
  s.lag_p50_us = h.percentile(0.50);
  s.lag_p99_us = h.percentile(0.99);
  s.lag_max_us =
      std::chrono::duration<double, std::micro>(std::max(lag_max_now_, lag_max_prev_)).count();
  return s;
}

const TargetStatus* Checker::status(const std::string& key) const {
  const auto it = by_key_.find(key);
  return it == by_key_.end() ? nullptr : &slots_[it->second].entry->status;
}

std::vector<std::string> Checker::keys() const {
  std::vector<std::string> out;
  out.reserve(by_key_.size());
  for (const auto& [key, slot] : by_key_) out.push_back(key);
  std::sort(out.begin(), out.end());
  return out;
}

bool Checker::all_settled() const { return unknown_ == 0; }

}  // namespace steer::control::health
