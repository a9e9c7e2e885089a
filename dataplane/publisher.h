// DOC: Publisher — RCU publication of snapshots to the worker lcores (DPDK rte_rcu_qsbr).
//
// The API thread (main lcore) is the only writer: publish() swaps in a new Snapshot with one
// release store and retires the old one with a QSBR token; reclaim() frees a retired snapshot
// once every worker has reported a quiescent state after that token. A worker loads
// current() once per poll iteration and reports its quiescent state at the top of the next
// one (dataplane/worker.cc), so it never holds a snapshot across a report. A worker that is
// offline (asleep between idle polls) does not hold up reclamation.
//
// Threads: current() and qsbr() from the workers; everything else on the API thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include <rte_rcu_qsbr.h>

#include "common/result.h"
#include "dataplane/packet/snapshot.h"

namespace steer::dataplane {

class Publisher {
 public:
  // Sets up the QSBR variable for `workers` reader threads and publishes `initial`.
  // Error: no memory for the QSBR variable, or DPDK refused to set it up.
  Result<void> init(uint32_t workers, std::shared_ptr<const Snapshot> initial, StateSpec spec);

  // Worker: the snapshot to use for this iteration (valid until its next quiescent report).
  const Snapshot* current() const noexcept { return current_.load(std::memory_order_acquire); }
  rte_rcu_qsbr* qsbr() const { return qsbr_; }

  // API thread. Makes `next` the current snapshot. The previous one is retired and freed by
  // reclaim() once every worker has reported a quiescent state after this call.
  void publish(std::shared_ptr<const Snapshot> next, StateSpec spec);
  // API thread. Frees retired snapshots no worker can still be reading.
  void reclaim();
  // API thread. True once every online worker has passed a quiescent point since the last
  // publish (so none reads an older snapshot); waits up to timeout_ms.
  bool wait_switched(uint32_t timeout_ms);

  const std::shared_ptr<const Snapshot>& snapshot() const { return owner_; }
  const StateSpec& spec() const { return spec_; }
  size_t retired() const { return retired_.size(); }

 private:
  struct Retired {
    std::shared_ptr<const Snapshot> snapshot;
    uint64_t token;
  };
  rte_rcu_qsbr* qsbr_ = nullptr;
  std::atomic<const Snapshot*> current_{nullptr};
  std::shared_ptr<const Snapshot> owner_;  // keeps current_ alive
  StateSpec spec_;
  uint64_t last_token_ = 0;
  std::vector<Retired> retired_;
};

}  // namespace steer::dataplane
