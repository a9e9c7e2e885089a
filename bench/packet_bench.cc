// Per-packet cost of the whole packet core over bursts of 32: parse → VIP → flow table →
// Maglev → encapsulate, as a worker lcore runs it (process_burst), with flow-table hits and
// misses, IPv4 and IPv6, 64 k and 1 M active flows. Reports ns per packet (`ns_per_pkt`) and
// packets per second (`items_per_second`).
//
// Each burst's frames are rewritten from a template before the call (the pipeline encapsulates
// in place), which a NIC does for free; BM_FrameRefill measures that cost alone so it can be
// subtracted. Flows are visited in a random order so the flow table is not walked in cache
// order. Targets: ≤ 50 ns/packet for IPv4 TCP hits with 64 k flows, ≤ 120 ns/packet for
// misses with 1 M flows (see docs/packet-core.md for the measured figures).
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include "dataplane/packet/pipeline.h"
#include "testing/support/packet_builder.h"
#include "testing/support/pipeline_harness.h"

namespace steer::dataplane {
namespace {

using testing::Bytes;
using testing::PacketBuilder;

constexpr uint32_t kBurst = 32;
constexpr uint32_t kHeadroom = 128;
constexpr uint32_t kBufSize = 256;

// The benchmark state: two VIPs with 100 backends each (IPv4 and IPv6).
std::shared_ptr<const Snapshot> bench_snapshot() {
  StateSpec s = testing::lab_state();
  // Keep 192.0.2.10:80/tcp and [2001:db8::10]:443/tcp.
  s.vips = {s.vips[0], s.vips[4]};
  for (int v = 0; v < 2; ++v) {
    s.vips[v].backends.clear();
    for (int i = 0; i < 100; ++i) {
      const std::string a =
          v == 0 ? fmt::format("203.0.113.{}", i + 1) : fmt::format("2001:db8:b::{:x}", i + 1);
      s.vips[v].backends.push_back({*IpAddress::parse(a), 1});
    }
  }
  return testing::must_build(s);
}

// Frames of one template, with the flow index written into the client address and port.
class FlowFrames {
 public:
  explicit FlowFrames(bool v6)
      : v6_(v6),
        template_(v6 ? PacketBuilder()
                           .eth()
                           .ipv6("2001:db8:c::", "2001:db8::10")
                           .tcp(0, 443, {.flags = 0x10})
                           .payload(6)
                           .build()
                     : PacketBuilder()
                           .eth()
                           .ipv4("198.18.0.0", "192.0.2.10")
                           .tcp(0, 80, {.flags = 0x10})
                           .payload(6)
                           .build()),
        storage_(kBurst * kBufSize) {}

  // Rewrites burst slot `slot` as a packet of flow `flow`.
  void fill(uint32_t slot, uint32_t flow, PacketBuf& buf) {
    uint8_t* base = storage_.data() + size_t(slot) * kBufSize;
    uint8_t* frame = base + kHeadroom;
    std::memcpy(frame, template_.data(), template_.size());
    const size_t tcp = v6_ ? 14 + 40 : 14 + 20;
    const size_t src_low = v6_ ? 14 + 8 + 12 : 14 + 12 + 2;  // low 16 bits of the client address
    frame[src_low] = uint8_t(flow >> 24);
    frame[src_low + 1] = uint8_t(flow >> 16);
    frame[tcp] = uint8_t(flow >> 8);
    frame[tcp + 1] = uint8_t(flow);
    buf.data = frame;
    buf.len = uint32_t(template_.size());
    buf.headroom = kHeadroom;
    buf.tailroom = uint32_t(kBufSize - kHeadroom - template_.size());
  }

 private:
  bool v6_;
  Bytes template_;
  std::vector<uint8_t> storage_;
};

std::vector<uint32_t> shuffled(uint32_t n, uint32_t seed) {
  std::vector<uint32_t> order(n);
  for (uint32_t i = 0; i < n; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937(seed));
  return order;
}

void report(benchmark::State& state, uint64_t packets) {
  state.SetItemsProcessed(int64_t(packets));
  state.counters["ns_per_pkt"] = benchmark::Counter(
      double(packets), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// Established flows: every packet hits the flow table. The table is sized 4× the flow count
// so that no 8-way bucket overflows (at 2× about 2 % of flows would be evicted by bucket
// collisions, see flow_table.h); `hit_pct` reports what happened.
template <bool kV6>
void BM_PipelineHit(benchmark::State& state) {
  const uint32_t flows = uint32_t(state.range(0));
  auto snap = bench_snapshot();
  auto ctx = PipelineContext::create({FlowTableConfig{flows * 4}});
  FlowFrames frames(kV6);
  PacketBuf bufs[kBurst];
  Verdict verdicts[kBurst];
  // Warm: one packet of each flow creates its entry.
  for (uint32_t f = 0; f < flows; f += kBurst) {
    for (uint32_t i = 0; i < kBurst; ++i) frames.fill(i, (f + i) % flows, bufs[i]);
    process_burst(*ctx, *snap, bufs, verdicts, kBurst, 1000);
  }
  const auto order = shuffled(flows, 42);
  const uint64_t hits_before = ctx->flows().counters().hits;
  uint32_t next = 0;
  uint64_t packets = 0;
  for (auto _ : state) {
    for (uint32_t i = 0; i < kBurst; ++i) {
      frames.fill(i, order[next], bufs[i]);
      next = next + 1 == flows ? 0 : next + 1;
    }
    process_burst(*ctx, *snap, bufs, verdicts, kBurst, 1000);
    benchmark::DoNotOptimize(verdicts);
    packets += kBurst;
  }
  if (verdicts[0] != Verdict::Forward) state.SkipWithError("not forwarded");
  state.counters["hit_pct"] =
      100.0 * double(ctx->flows().counters().hits - hits_before) / double(packets ? packets : 1);
  report(state, packets);
}

// New flows: every packet misses the table, takes a Maglev slot and is inserted (evicting
// the least recently used flow once the table is full).
template <bool kV6>
void BM_PipelineMiss(benchmark::State& state) {
  const uint32_t flows = uint32_t(state.range(0));
  auto snap = bench_snapshot();
  auto ctx = PipelineContext::create({FlowTableConfig{flows}});
  FlowFrames frames(kV6);
  PacketBuf bufs[kBurst];
  Verdict verdicts[kBurst];
  for (uint32_t f = 0; f < flows; f += kBurst) {
    for (uint32_t i = 0; i < kBurst; ++i) frames.fill(i, f + i, bufs[i]);
    process_burst(*ctx, *snap, bufs, verdicts, kBurst, 1000);
  }
  // Flow ids from `flows` upward were never seen; the multiplier scatters them.
  uint32_t next = flows;
  uint64_t packets = 0;
  const uint64_t new_before = ctx->counters().new_flows;
  for (auto _ : state) {
    for (uint32_t i = 0; i < kBurst; ++i) frames.fill(i, (next++) * 2654435761u, bufs[i]);
    process_burst(*ctx, *snap, bufs, verdicts, kBurst, 1000);
    benchmark::DoNotOptimize(verdicts);
    packets += kBurst;
  }
  state.counters["new_flow_pct"] =
      100.0 * double(ctx->counters().new_flows - new_before) / double(packets ? packets : 1);
  report(state, packets);
}

// The cost of rewriting a burst's frames from the template, included in the figures above.
void BM_FrameRefill(benchmark::State& state) {
  FlowFrames frames(false);
  PacketBuf bufs[kBurst];
  uint32_t next = 0;
  uint64_t packets = 0;
  for (auto _ : state) {
    for (uint32_t i = 0; i < kBurst; ++i) frames.fill(i, next++, bufs[i]);
    benchmark::DoNotOptimize(bufs);
    benchmark::ClobberMemory();
    packets += kBurst;
  }
  report(state, packets);
}

BENCHMARK(BM_PipelineHit<false>)
    ->Name("BM_PipelineHitV4")
    ->Arg(4096)
    ->Arg(16384)
    ->Arg(65536)
    ->Arg(1 << 20);
BENCHMARK(BM_PipelineHit<true>)->Name("BM_PipelineHitV6")->Arg(65536)->Arg(1 << 20);
BENCHMARK(BM_PipelineMiss<false>)->Name("BM_PipelineMissV4")->Arg(65536)->Arg(1 << 20);
BENCHMARK(BM_PipelineMiss<true>)->Name("BM_PipelineMissV6")->Arg(65536)->Arg(1 << 20);
BENCHMARK(BM_FrameRefill);

}  // namespace
}  // namespace steer::dataplane
