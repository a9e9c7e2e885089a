// Benchmarks for the per-lcore flow table and the VIP table (dataplane/packet/).
//
// Keys are random IPv4 TCP 5-tuples towards a few VIPs; keys and their flow hashes
// (hashing::flow_hash, 5-tuple) are generated before the timed loop. Work is done in bursts of
// 32, as a worker lcore sees them, prefetching a later key's bucket while handling the current
// one. Each benchmark reports items_per_second and per_op (its inverse, the time per key). The
// table is sized at twice the flow count (load 0.5 of the ways), as a deployment would size it.
//
//   <builddir>/bench/steer-bench --benchmark_filter='FlowTable|VipTable'

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include "dataplane/packet/flow_table.h"
#include "dataplane/packet/vip_table.h"
#include "hashing/flow_hash.h"

namespace steer::dataplane {
namespace {

constexpr uint32_t kBurst = 32;
constexpr uint32_t kNow = 1000;

struct Flows {
  std::vector<FlowKey> keys;
  std::vector<uint64_t> hashes;
};

Flows random_flows(size_t n, uint32_t seed) {
  std::mt19937_64 rng(seed);
  Flows f;
  f.keys.reserve(n);
  f.hashes.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const uint64_t r = rng();
    const FlowKey k = FlowKey::make(IpAddress::from_v4_host(uint32_t(r)),
                                    IpAddress::from_v4_host(0xc0000200 + uint32_t(r >> 32) % 8),
                                    uint16_t(r >> 40), 443, 6);
    f.keys.push_back(k);
    f.hashes.push_back(hashing::flow_hash_5tuple(k, hashing::kDefaultFlowHashSeed));
  }
  return f;
}

FlowTable make_table(size_t flows) {
  auto t = FlowTable::create({uint32_t(2 * flows)});
  if (!t) std::abort();
  return std::move(*t);
}

void report(benchmark::State& state, uint64_t ops) {
  state.SetItemsProcessed(int64_t(ops));
  // Seconds per operation; printed with an SI prefix, e.g. "per_op=9.3ns".
  state.counters["per_op"] =
      benchmark::Counter(double(ops), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// Prefetch distance, in keys: 1 = the next key's bucket (as the pipeline does), kBurst = all
// of the burst's buckets before the first lookup.
template <uint32_t kAhead>
uint32_t lookup_burst(FlowTable& t, const Flows& f, size_t first) {
  uint32_t found = 0;
  for (uint32_t i = 0; i < std::min(kAhead, kBurst); ++i) t.prefetch(f.hashes[first + i]);
  for (uint32_t i = 0; i < kBurst; ++i) {
    if (i + kAhead < kBurst) t.prefetch(f.hashes[first + i + kAhead]);
    uint32_t v;
    found += t.lookup(f.keys[first + i], f.hashes[first + i], kNow, v);
  }
  return found;
}

// Lookups of flows that are in the table.
template <uint32_t kAhead>
void BM_FlowTableLookupHit(benchmark::State& state) {
  const size_t n = size_t(state.range(0));
  const Flows f = random_flows(n, 1);
  FlowTable t = make_table(n);
  for (size_t i = 0; i < n; ++i) t.insert(f.keys[i], f.hashes[i], kNow, uint32_t(i));
  size_t pos = 0;
  uint64_t ops = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(lookup_burst<kAhead>(t, f, pos));
    pos += kBurst;
    if (pos + kBurst > n) pos = 0;
    ops += kBurst;
  }
  report(state, ops);
  state.counters["hit_ratio"] = double(t.counters().hits) / double(ops);
}

// Lookups of flows that are not in the table (the table holds n other flows).
template <uint32_t kAhead>
void BM_FlowTableLookupMiss(benchmark::State& state) {
  const size_t n = size_t(state.range(0));
  const Flows present = random_flows(n, 1);
  const Flows absent = random_flows(n, 2);
  FlowTable t = make_table(n);
  for (size_t i = 0; i < n; ++i) t.insert(present.keys[i], present.hashes[i], kNow, uint32_t(i));
  size_t pos = 0;
  uint64_t ops = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(lookup_burst<kAhead>(t, absent, pos));
    pos += kBurst;
    if (pos + kBurst > n) pos = 0;
    ops += kBurst;
  }
  report(state, ops);
  state.counters["hit_ratio"] = double(t.counters().hits) / double(ops);
}

// New flows into a full table. Keys cycle through 8n flows in a table sized for 2n, so a key
// is long evicted when it comes round again: after the warm-up pass every insert (and every
// lookup) meets a full bucket and takes the LRU eviction path. The clock ticks once per burst
// (LRU needs time to pass; with one timestamp for every entry it always evicts way 0), and the
// idle timeouts are the longest allowed so that nothing expires instead.
template <bool kLookupFirst>
void BM_FlowTableNewFlow(benchmark::State& state) {
  const size_t n = size_t(state.range(0));
  const size_t ring = 8 * n;
  const Flows f = random_flows(ring, 3);
  auto created = FlowTable::create({uint32_t(2 * n), FlowTable::kMaxIdleTimeoutMs,
                                    FlowTable::kMaxIdleTimeoutMs, FlowTable::kMaxIdleTimeoutMs});
  if (!created) std::abort();
  FlowTable& t = *created;
  uint32_t now = 0;
  for (size_t i = 0; i < ring; i += kBurst, ++now) {
    for (size_t k = i; k < i + kBurst && k < ring; ++k) {
      t.insert(f.keys[k], f.hashes[k], now, uint32_t(k));
    }
  }
  const FlowTableCounters before = t.counters();
  size_t pos = 0;
  uint64_t ops = 0;
  for (auto _ : state) {
    ++now;
    t.prefetch(f.hashes[pos]);
    for (uint32_t i = 0; i < kBurst; ++i) {
      const size_t k = pos + i;
      if (i + 1 < kBurst) t.prefetch(f.hashes[k + 1]);
      uint32_t v;
      if (!kLookupFirst || !t.lookup(f.keys[k], f.hashes[k], now, v)) {
        t.insert(f.keys[k], f.hashes[k], now, uint32_t(k));
      }
    }
    pos += kBurst;
    if (pos + kBurst > ring) pos = 0;
    ops += kBurst;
  }
  report(state, ops);
  state.counters["evictions_per_op"] =
      double(t.counters().evictions - before.evictions) / double(ops);
  if (kLookupFirst) {
    state.counters["hit_ratio"] = double(t.counters().hits - before.hits) / double(ops);
  }
}

// "PrefetchNext": the next key's bucket while handling this one. "PrefetchBurst": all 32
// buckets first (the pipeline's two passes over a burst), then the 32 lookups.
BENCHMARK(BM_FlowTableLookupHit<1>)
    ->Name("BM_FlowTableLookupHit_PrefetchNext")
    ->Arg(64 << 10)
    ->Arg(1 << 20);
BENCHMARK(BM_FlowTableLookupHit<kBurst>)
    ->Name("BM_FlowTableLookupHit_PrefetchBurst")
    ->Arg(64 << 10)
    ->Arg(1 << 20);
BENCHMARK(BM_FlowTableLookupMiss<1>)
    ->Name("BM_FlowTableLookupMiss_PrefetchNext")
    ->Arg(64 << 10)
    ->Arg(1 << 20);
BENCHMARK(BM_FlowTableLookupMiss<kBurst>)
    ->Name("BM_FlowTableLookupMiss_PrefetchBurst")
    ->Arg(64 << 10)
    ->Arg(1 << 20);
// Insert alone, and the pipeline's new-flow path: lookup (miss), then insert.
BENCHMARK(BM_FlowTableNewFlow<false>)->Name("BM_FlowTableInsert")->Arg(64 << 10)->Arg(1 << 20);
BENCHMARK(BM_FlowTableNewFlow<true>)->Name("BM_FlowTableMissInsert")->Arg(64 << 10)->Arg(1 << 20);

// VipTable: 1024 VIPs (half IPv4, half IPv6; a quarter all-ports), keys drawn from them (hit)
// or towards addresses that carry no VIP (miss: both the exact and the all-ports probe run).
std::vector<VipTableEntry> vip_entries() {
  std::vector<VipTableEntry> e;
  for (uint32_t i = 0; i < 1024; ++i) {
    IpAddress a = IpAddress::from_v4_host(0xc6336400 + i);
    if (i % 2 == 1) {
      IpAddress::Bytes b = a.bytes();
      b[0] = 0x20;
      b[1] = 0x01;
      b[2] = 0x0d;
      b[3] = 0xb8;
      b[10] = 0;
      b[11] = 0;
      a = IpAddress::from_bytes(b);
    }
    e.push_back({a, uint8_t(i % 3 == 0 ? 17 : 6), uint16_t(i % 4 == 0 ? 0 : 80 + i % 7), i});
  }
  return e;
}

void vip_bench(benchmark::State& state, bool hits) {
  const std::vector<VipTableEntry> entries = vip_entries();
  auto t = VipTable::build(entries);
  if (!t) std::abort();
  std::mt19937 rng(4);
  std::vector<FlowKey> keys;
  for (int i = 0; i < 4096; ++i) {
    const VipTableEntry& e = entries[rng() % entries.size()];
    const uint16_t port = e.port == 0 ? uint16_t(rng()) : e.port;
    IpAddress dst = e.address;
    if (!hits) {
      IpAddress::Bytes b = dst.bytes();
      b[13] ^= 0x80;  // same family, an address with no VIP
      dst = IpAddress::from_bytes(b);
    }
    keys.push_back(
        FlowKey::make(IpAddress::from_v4_host(rng()), dst, uint16_t(rng()), port, e.proto));
  }
  size_t pos = 0;
  uint64_t ops = 0;
  uint32_t found = 0;
  for (auto _ : state) {
    for (uint32_t i = 0; i < kBurst; ++i) found += t->lookup(keys[pos + i]) != kNoVip;
    pos = (pos + kBurst) % keys.size();
    ops += kBurst;
  }
  benchmark::DoNotOptimize(found);
  report(state, ops);
  state.counters["hit_ratio"] = double(found) / double(ops);
  state.counters["max_probe"] = double(t->max_probe_length());
}

void BM_VipTableLookupHit(benchmark::State& state) { vip_bench(state, true); }
void BM_VipTableLookupMiss(benchmark::State& state) { vip_bench(state, false); }
BENCHMARK(BM_VipTableLookupHit);
BENCHMARK(BM_VipTableLookupMiss);

}  // namespace
}  // namespace steer::dataplane
