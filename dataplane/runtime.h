// DOC: steer-dataplane's runtime — the ports, the worker lcores and the snapshot publisher.
//
// Threads: the main lcore runs the API server (api_server.h) and is the only writer of state;
// every other EAL lcore runs worker_main(), polling its RX queues. They share:
//   - the current Snapshot, published by RCU (Publisher, publisher.h): a worker loads the
//     pointer once per poll iteration and reports a quiescent state at the top of the next
//     one, so the publisher frees an old snapshot only after every worker has moved past it;
//   - per-worker counters: plain integers written by their worker only and read, without
//     locks, by the API thread (64-bit aligned loads do not tear on the platforms we run);
//   - per-worker query rings: the API thread asks a worker about its own flow table by
//     message, never by reading the table while the worker writes it.
// Nothing in the worker loop allocates, locks, logs or makes a system call (except the
// optional idle sleep, configured for shared-core labs).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <rte_ring.h>

#include "common/result.h"
#include "dataplane/config.h"
#include "dataplane/packet/pipeline.h"
#include "dataplane/packet/snapshot.h"
#include "dataplane/publisher.h"

namespace steer::dataplane {

inline constexpr uint32_t kRxBurst = 32;

struct RxQueue {
  uint16_t port = 0;
  uint16_t queue = 0;
};

// The API thread's question to one worker: is this flow in your table, and on which backend?
struct FlowQuery {
  FlowKey key{};
  uint64_t hash = 0;
  bool found = false;
  uint32_t handle = 0;
  uint32_t age_ms = 0;
  std::atomic<bool> answered{false};
};

struct Runtime;

// One worker lcore's state. worker_main() receives it as its one launch argument and reaches
// everything shared (the publisher, the configuration, the stop flag) through `runtime`.
struct alignas(64) Worker {
  Runtime* runtime = nullptr;  // set by launch_workers()
  unsigned lcore = 0;
  uint32_t index = 0;  // RCU thread id, 0..workers-1
  std::vector<RxQueue> queues;
  PipelineContext ctx;
  rte_ring* queries = nullptr;  // FlowQuery*, single producer (API) / single consumer (worker)

  // Written by the worker, read by the API thread (relaxed).
  std::atomic<uint64_t> iterations{0};
  std::atomic<uint64_t> heartbeat_tsc{0};
  std::atomic<uint64_t> generation{0};
  std::atomic<uint64_t> busy_tsc{0};  // cycles spent in iterations that received packets
  std::atomic<uint64_t> flows{0};     // flow-table occupancy
  uint64_t tx_dropped = 0;            // frames the TX queue did not take (freed)
  uint64_t multi_segment = 0;         // multi-segment frames received (see worker.cc)
  // A multi-segment frame is copied here, whole, for the packet core (kLinearBuf bytes after
  // kLinearHeadroom of headroom).
  std::vector<uint8_t> linear;
  uint64_t expired_swept = 0;

  explicit Worker(PipelineContext c) : ctx(std::move(c)) {}
};

struct PortInfo {
  uint16_t id = 0;
  std::string name;
  std::array<uint8_t, 6> mac{};
  uint16_t queues = 1;
  std::string af_xdp_iface;  // non-empty for net_af_xdp ports (steer's XDP program)
};

struct Runtime {
  DataplaneConfig config;
  std::vector<PortInfo> ports;
  std::vector<std::unique_ptr<Worker>> workers;
  Publisher publisher;
  EgressSpec egress;
  bool gateway_resolved = false;
  uint64_t tsc_hz = 0;
  uint64_t start_tsc = 0;
  std::atomic<bool> stop{false};
};

// The worker lcore entry point (rte_eal_remote_launch); arg is the Worker, whose `runtime`
// launch_workers() has set.
int worker_main(void* arg);

// Main thread, after rte_eal_init: one Worker per EAL worker lcore (flow table, counters,
// query ring). Error: no worker lcore, or memory.
Result<void> create_workers(Runtime& rt);
// Main thread, once the ports are set up and the publisher is initialised: points every
// Worker at `rt` and starts worker_main on its lcore.
Result<void> launch_workers(Runtime& rt);
// Main thread: asks the workers to stop and waits for them.
void stop_workers(Runtime& rt);

}  // namespace steer::dataplane
