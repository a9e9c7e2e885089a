// The worker poll loop (runtime.h).
#include <cstring>

#include <fmt/format.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "dataplane/runtime.h"

namespace steer::dataplane {

namespace {

// How many flow-table buckets an idle iteration reclaims (8 flows each).
constexpr uint32_t kSweepBuckets = 256;

// The worker's linear buffer for multi-segment frames: room in front for the largest header
// growth (encapsulation: 18 + 48 - 14 bytes; ICMP errors: 48) and the largest frame handled,
// above any jumbo MTU.
constexpr uint32_t kLinearHeadroom = 128;
constexpr uint32_t kLinearBuf = 16384;

// A frame in several segments (a jumbo frame, scattered RX). The packet core wants one
// contiguous buffer, so the frame is copied whole into the worker's linear buffer and
// processed there like any other frame, in the same counters (MTU checks, frag-needed /
// packet too big included). The verdict is then carried back to an mbuf: an encapsulated
// frame differs from the original only in what precedes the inner IP packet, which the
// packet core never modifies, so the chain keeps its segments and only its front is
// rewritten; an ICMP reply (at most 1280 bytes + Ethernet) goes out in a fresh one-segment
// mbuf. Rare path: one copy of the frame. Returns the mbuf to send, or nullptr (freed).
rte_mbuf* process_multi_segment(Worker& w, const Snapshot& snap, rte_mbuf* m, uint32_t now_ms) {
  ++w.multi_segment;
  const uint32_t len = m->pkt_len;
  if (len > kLinearBuf) {
    w.ctx.count_unprocessed(DropReason::MultiSegment);
    rte_pktmbuf_free(m);
    return nullptr;
  }
  uint8_t* frame = w.linear.data() + kLinearHeadroom;
  const void* copy = rte_pktmbuf_read(m, 0, len, frame);
  if (copy != frame) std::memcpy(frame, copy, len);  // contiguous after all: a pointer into m
  // The original layout, needed to rewrite the chain after the core rewrote the copy.
  ParsedPacket orig;
  DropReason ignored{};
  const bool parsed = parse(frame, len, orig, ignored) == ParseStatus::Ok;

  PacketBuf b{.data = frame, .len = len, .headroom = kLinearHeadroom, .tailroom = kLinearBuf - len};
  Verdict v = Verdict::Drop;
  process_burst(w.ctx, snap, &b, &v, 1, now_ms);
  if (v == Verdict::Reply) {
    rte_mbuf* r = rte_pktmbuf_alloc(m->pool);
    rte_pktmbuf_free(m);
    uint8_t* dst =
        r != nullptr ? reinterpret_cast<uint8_t*>(rte_pktmbuf_append(r, b.len)) : nullptr;
    if (dst == nullptr) {
      if (r != nullptr) rte_pktmbuf_free(r);
      ++w.tx_dropped;
      return nullptr;
    }
    std::memcpy(dst, b.data, b.len);
    return r;
  }
  if (v == Verdict::Forward && parsed) {
    const uint32_t inner = orig.ip_total_len;
    const uint32_t prefix = b.len - inner;               // new Ethernet + outer headers
    const uint32_t padding = len - orig.l2_len - inner;  // Ethernet padding, dropped
    if ((padding == 0 || rte_pktmbuf_trim(m, static_cast<uint16_t>(padding)) == 0) &&
        rte_pktmbuf_adj(m, orig.l2_len) != nullptr) {
      if (auto* front = rte_pktmbuf_prepend(m, static_cast<uint16_t>(prefix))) {
        std::memcpy(front, b.data, prefix);
        m->ol_flags = 0;
        return m;
      }
    }
    ++w.tx_dropped;  // counted forwarded by the core; the chain could not take the headers
  }
  rte_pktmbuf_free(m);
  return nullptr;
}

// Answers the API thread's flow queries against this worker's table.
void serve_queries(Worker& w, uint32_t now_ms) {
  void* msg = nullptr;
  while (rte_ring_sc_dequeue(w.queries, &msg) == 0) {
    auto* q = static_cast<FlowQuery*>(msg);
    q->found = w.ctx.flows().peek(q->key, q->hash, now_ms, q->handle, q->age_ms);
    // Release: the answer fields are visible before `answered`.
    q->answered.store(true, std::memory_order_release);
  }
}

}  // namespace

Result<void> create_workers(Runtime& rt) {
  PipelineConfig pc;
  pc.flow_table.capacity = rt.config.flow_table_size;
  pc.flow_table.tcp_idle_timeout_ms = rt.config.flow_timeout_tcp_s * 1000;
  pc.flow_table.udp_idle_timeout_ms = rt.config.flow_timeout_udp_s * 1000;
  pc.flow_table.other_idle_timeout_ms = rt.config.flow_timeout_other_s * 1000;
  unsigned lcore = 0;
  RTE_LCORE_FOREACH_WORKER(lcore) {
    auto ctx = PipelineContext::create(pc);
    if (!ctx) return fail(fmt::format("lcore {}: {}", lcore, ctx.error().message));
    auto w = std::make_unique<Worker>(std::move(*ctx));
    w->lcore = lcore;
    w->index = static_cast<uint32_t>(rt.workers.size());
    const std::string ring = fmt::format("steer_q{}", lcore);
    w->queries = rte_ring_create(ring.c_str(), 64, static_cast<int>(rte_lcore_to_socket_id(lcore)),
                                 RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (w->queries == nullptr) return fail("cannot create a query ring");
    w->linear.resize(kLinearHeadroom + kLinearBuf);
    rt.workers.push_back(std::move(w));
  }
  if (rt.workers.empty()) {
    return fail(
        "no worker lcore: give the EAL at least two lcores (-l 0,1): the main lcore serves the "
        "API, the others poll the ports");
  }
  return {};
}

Result<void> launch_workers(Runtime& rt) {
  for (auto& w : rt.workers) {
    w->runtime = &rt;
    if (rte_eal_remote_launch(worker_main, w.get(), w->lcore) != 0) {
      return fail(fmt::format("cannot launch the worker on lcore {}", w->lcore));
    }
  }
  return {};
}

void stop_workers(Runtime& rt) {
  rt.stop.store(true, std::memory_order_relaxed);
  rte_eal_mp_wait_lcore();
}

int worker_main(void* arg) {
  Worker& w = *static_cast<Worker*>(arg);
  Runtime& rt = *w.runtime;
  Publisher& pub = rt.publisher;
  rte_rcu_qsbr* qs = pub.qsbr();
  const uint64_t ms_cycles = rt.tsc_hz / 1000;
  const uint32_t idle_sleep_us = rt.config.idle_sleep_us;

  rte_mbuf* mbufs[kRxBurst];
  PacketBuf bufs[kRxBurst];
  Verdict verdicts[kRxBurst];
  rte_mbuf* out[kRxBurst];
  int32_t slot[kRxBurst];       // per received frame: its index in bufs, or -1
  rte_mbuf* handled[kRxBurst];  // per multi-segment frame: what to send (nullptr: nothing)

  rte_rcu_qsbr_thread_online(qs, w.index);
  uint64_t iteration = 0;
  while (!rt.stop.load(std::memory_order_relaxed)) {
    // Quiescent point: nothing from the previous iteration (snapshot pointer, backends) is
    // held past here, so a snapshot retired before this report may be freed.
    rte_rcu_qsbr_quiescent(qs, w.index);
    const Snapshot& snap = *pub.current();
    const uint64_t start = rte_rdtsc();
    const uint32_t now_ms = static_cast<uint32_t>(start / ms_cycles);
    w.generation.store(snap.generation(), std::memory_order_relaxed);
    if (!rte_ring_empty(w.queries)) serve_queries(w, now_ms);

    uint32_t received = 0;
    for (const RxQueue& rq : w.queues) {
      const uint16_t n = rte_eth_rx_burst(rq.port, rq.queue, mbufs, kRxBurst);
      if (n == 0) continue;
      received += n;
      uint16_t usable = 0;
      for (uint16_t i = 0; i < n; ++i) {
        rte_mbuf* m = mbufs[i];
        if (m->nb_segs != 1) [[unlikely]] {
          slot[i] = -1;
          handled[i] = process_multi_segment(w, snap, m, now_ms);
          continue;
        }
        slot[i] = usable;
        mbufs[usable] = m;
        PacketBuf& b = bufs[usable];
        b.data = rte_pktmbuf_mtod(m, uint8_t*);
        // The headers' line, for the parse pass: a NIC's DMA leaves it in the LLC at best.
        rte_prefetch0(b.data);
        b.len = m->data_len;
        b.headroom = rte_pktmbuf_headroom(m);
        b.tailroom = rte_pktmbuf_tailroom(m);
        ++usable;
      }
      process_burst(w.ctx, snap, bufs, verdicts, usable, now_ms);
      // Sent in the order received: multi-segment frames keep their place.
      uint16_t nout = 0;
      for (uint16_t k = 0; k < n; ++k) {
        if (slot[k] < 0) [[unlikely]] {
          if (handled[k] != nullptr) out[nout++] = handled[k];
          continue;
        }
        const auto i = static_cast<uint16_t>(slot[k]);
        rte_mbuf* m = mbufs[i];
        if (verdicts[i] == Verdict::Forward || verdicts[i] == Verdict::Reply) {
          const PacketBuf& b = bufs[i];
          m->data_off = static_cast<uint16_t>(b.data - static_cast<uint8_t*>(m->buf_addr));
          m->data_len = static_cast<uint16_t>(b.len);
          m->pkt_len = b.len;
          m->ol_flags = 0;  // checksums are complete; no offloads requested
          out[nout++] = m;
        } else {
          // Pass: not VIP traffic. With AF_XDP the XDP program keeps it in the kernel; on
          // other ports the kernel has no copy to take, so it is counted and freed.
          rte_pktmbuf_free(m);
        }
      }
      if (nout > 0) {
        const uint16_t sent = rte_eth_tx_burst(rq.port, rq.queue, out, nout);
        if (sent < nout) [[unlikely]] {
          w.tx_dropped += nout - sent;
          rte_pktmbuf_free_bulk(out + sent, nout - sent);
        }
      }
    }

    const uint64_t end = rte_rdtsc();
    if (received > 0) {
      w.busy_tsc.store(w.busy_tsc.load(std::memory_order_relaxed) + (end - start),
                       std::memory_order_relaxed);
    } else {
      w.expired_swept += w.ctx.flows().sweep(now_ms, kSweepBuckets);
    }
    if ((++iteration & 63) == 0 || received == 0) {
      w.flows.store(w.ctx.flows().occupancy(), std::memory_order_relaxed);
    }
    w.iterations.store(iteration, std::memory_order_relaxed);
    w.heartbeat_tsc.store(end, std::memory_order_relaxed);
    if (received == 0 && idle_sleep_us > 0) {
      // Labs and shared cores only: a production worker polls without sleeping. Offline
      // while asleep so a publish does not wait for this worker.
      rte_rcu_qsbr_thread_offline(qs, w.index);
      usleep(idle_sleep_us);
      rte_rcu_qsbr_thread_online(qs, w.index);
    }
  }
  rte_rcu_qsbr_thread_offline(qs, w.index);
  return 0;
}

}  // namespace steer::dataplane
