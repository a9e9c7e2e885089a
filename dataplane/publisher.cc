// The RCU publisher of snapshots (publisher.h).
#include "dataplane/publisher.h"

#include <unistd.h>

#include <rte_cycles.h>
#include <rte_malloc.h>

namespace steer::dataplane {

Result<void> Publisher::init(uint32_t workers, std::shared_ptr<const Snapshot> initial,
                             StateSpec spec) {
  const size_t size = rte_rcu_qsbr_get_memsize(workers);
  qsbr_ = static_cast<rte_rcu_qsbr*>(rte_zmalloc("steer_qsbr", size, RTE_CACHE_LINE_SIZE));
  if (qsbr_ == nullptr) return fail("cannot allocate the RCU variable");
  if (rte_rcu_qsbr_init(qsbr_, workers) != 0) return fail("rte_rcu_qsbr_init failed");
  for (uint32_t i = 0; i < workers; ++i) {
    if (rte_rcu_qsbr_thread_register(qsbr_, i) != 0) return fail("rte_rcu_qsbr_thread_register");
  }
  owner_ = std::move(initial);
  spec_ = std::move(spec);
  current_.store(owner_.get(), std::memory_order_release);
  return {};
}

void Publisher::publish(std::shared_ptr<const Snapshot> next, StateSpec spec) {
  // Release: the snapshot's contents, built on this thread, are visible to a worker that
  // loads the pointer with acquire.
  current_.store(next.get(), std::memory_order_release);
  // rte_rcu_qsbr_start issues a full barrier before taking the token, so every quiescent
  // report counted against it comes after the store above: a worker that reports has
  // finished with the old pointer.
  last_token_ = rte_rcu_qsbr_start(qsbr_);
  retired_.push_back(Retired{std::move(owner_), last_token_});
  owner_ = std::move(next);
  spec_ = std::move(spec);
  reclaim();
}

void Publisher::reclaim() {
  size_t kept = 0;
  for (Retired& r : retired_) {
    if (rte_rcu_qsbr_check(qsbr_, r.token, false) == 1) {
      r.snapshot.reset();
    } else {
      retired_[kept++] = std::move(r);
    }
  }
  retired_.resize(kept);
}

bool Publisher::wait_switched(uint32_t timeout_ms) {
  const uint64_t deadline = rte_rdtsc() + rte_get_tsc_hz() / 1000 * timeout_ms;
  while (rte_rcu_qsbr_check(qsbr_, last_token_, false) != 1) {
    if (rte_rdtsc() > deadline) return false;
    usleep(50);
  }
  reclaim();
  return true;
}

}  // namespace steer::dataplane
