// DOC: the per-burst packet pipeline — parse → classify (VIP?) → flow table → Maglev →
// encapsulate, plus the ICMP cases, over a burst of frames.
//
// One call handles up to kMaxBurst frames in three passes: the first parses and classifies
// every frame, computes its flow hash and prefetches its flow-table bucket; the second does
// every flow-table lookup of the burst back to back; the third chooses backends for the
// misses and rewrites the frames. Keeping the lookups together lets the CPU overlap their
// memory reads (bucket, then key slot); interleaved with each packet's rewrite they were
// served one at a time (BM_PipelineHitV4 at 64 k flows: 60–175 ns/packet before, 40 after;
// a pass prefetching the key slots instead did not help). Each frame gets a Verdict:
//   Forward — rewritten in place into the encapsulated frame for its backend (send on egress);
//   Reply   — rewritten into an ICMP reply to its sender (echo reply, frag-needed / packet too
//             big): send back out of the port it came from;
//   Pass    — not for a VIP (ARP, ND, BGP, SSH, anything else): hand to the kernel untouched;
//   Drop    — counted by DropReason; never logged.
//
// Backend choice: a flow-table hit keeps the recorded backend unless that backend left the
// set (then it chooses again, counted as `rechosen`); a miss takes the VIP's Maglev slot for
// the flow hash and records the flow. A draining backend (weight 0) owns no slots but keeps
// resolving, so its flows stay. IP fragments carry no ports: every fragment of a datagram
// (the first included) is steered statelessly by the 3-tuple hash through the Maglev table of
// the VIP on that address and protocol (see VipTable::lookup_any_port), so all of them reach
// one backend on every LB. ICMP errors about a VIP flow (frag-needed, packet too big,
// unreachable, time exceeded) are encapsulated to the backend owning the flow, found from the
// embedded packet's swapped tuple; they never create flow entries.
//
// Threading: one PipelineContext per worker lcore, never shared. process_burst() is noexcept
// and allocates nothing; the Snapshot is read-only and must stay alive for the call (RCU).
#pragma once

#include <cstdint>
#include <vector>

#include "common/result.h"
#include "dataplane/packet/drop_reason.h"
#include "dataplane/packet/flow_table.h"
#include "dataplane/packet/packet.h"
#include "dataplane/packet/parse.h"
#include "dataplane/packet/snapshot.h"

namespace steer::dataplane {

inline constexpr uint32_t kMaxBurst = 64;

enum class Verdict : uint8_t { Forward, Reply, Pass, Drop };

// Per-lcore counters, summed by the reader. Identity (after any number of bursts):
//   rx == forwarded + replied() + passed + dropped()
struct PipelineCounters {
  uint64_t rx = 0;
  uint64_t forwarded = 0;              // encapsulated to a backend
  uint64_t passed = 0;                 // handed to the kernel (not VIP traffic)
  uint64_t new_flows = 0;              // flow-table misses that chose a backend by Maglev
  uint64_t rechosen = 0;               // flow-table hits whose backend had left the set
  uint64_t fragments = 0;              // IP fragments steered by the 3-tuple
  uint64_t icmp_errors_forwarded = 0;  // ICMP errors sent to the owning flow's backend
  uint64_t echo_replies = 0;
  uint64_t too_big_replies = 0;  // frag-needed / packet-too-big sent to clients
  uint64_t too_big_no_df = 0;    // of those, IPv4 packets without DF (see docs)
  uint64_t drops[kDropReasonCount] = {};

  // Answered with ICMP. Reader side, not counted on the hot path.
  uint64_t replied() const { return echo_replies + too_big_replies; }
  // Dropped for any reason. Reader side, not counted on the hot path.
  uint64_t dropped() const {
    uint64_t sum = 0;
    for (uint64_t d : drops) sum += d;
    return sum;
  }
};

struct VipCounters {
  uint64_t packets = 0;
  uint64_t bytes = 0;  // client IP bytes (before encapsulation)
  uint64_t new_flows = 0;
};

struct BackendCounters {
  uint64_t packets = 0;
  uint64_t bytes = 0;  // client IP bytes (before encapsulation)
};

struct PipelineConfig {
  FlowTableConfig flow_table;
};

class PipelineContext {
 public:
  // Allocates the flow table and counter arrays (kMaxVips VIP, kMaxBackends backend entries).
  // Errors: those of FlowTable::create.
  static Result<PipelineContext> create(const PipelineConfig& config);

  FlowTable& flows() { return flows_; }
  const FlowTable& flows() const { return flows_; }
  const PipelineCounters& counters() const { return counters_; }
  // Counts a frame the adapter received but could not hand to process_burst() (rx and one
  // drop for `reason`), so that every received frame stays in the counter identity. Owner
  // lcore only.
  void count_unprocessed(DropReason reason) noexcept {
    ++counters_.drops[static_cast<size_t>(reason)];
    ++counters_.rx;  // after its verdict, as in process_burst()
  }
  // By SnapshotVip::id.
  const VipCounters& vip_counters(uint32_t vip_id) const { return vip_counters_[vip_id]; }
  // By backend handle index (handle & 0xffff).
  const BackendCounters& backend_counters(uint32_t index) const { return backend_counters_[index]; }

 private:
  friend void process_burst(PipelineContext&, const Snapshot&, PacketBuf*, Verdict*, uint32_t,
                            uint32_t) noexcept;
  explicit PipelineContext(FlowTable flows);

  // Per-packet work carried from the first pass to the second.
  enum class Kind : uint8_t { Done, Flow, Fragment, IcmpError };
  struct Pending {
    Kind kind;
    uint32_t vip;
    uint64_t hash;       // 5-tuple hash: flow-table bucket and signature
    uint64_t vip_hash;   // the VIP's hash mode (Maglev slot); == hash for 5-tuple VIPs
    const FlowKey* key;  // the flow: the parsed key, or `swapped` for an ICMP error
    FlowKey swapped;     // ICMP errors: the embedded tuple, swapped (the flow it is about)
    bool hit;            // pass 2 found the flow in the table
    uint32_t handle;     // its backend handle, when hit
  };

  FlowTable flows_;
  PipelineCounters counters_;
  std::vector<VipCounters> vip_counters_;
  std::vector<BackendCounters> backend_counters_;
  std::vector<ParsedPacket> parsed_;  // kMaxBurst
  std::vector<Pending> pending_;      // kMaxBurst
};

// Hot path. Processes pkts[0..n) and writes verdicts[0..n); any n (internally in chunks of
// kMaxBurst). now_ms is the lcore's wrapping millisecond clock for flow idle timeouts.
// noexcept; no allocation.
void process_burst(PipelineContext& ctx, const Snapshot& snap, PacketBuf* pkts, Verdict* verdicts,
                   uint32_t n, uint32_t now_ms) noexcept;

}  // namespace steer::dataplane
