// Maglev table build time and quality, and the per-packet cost of flow hashing.
//
// Run: build-hash/bench/steer-bench --benchmark_filter='Maglev|FlowHash'
// Quality counters sit beside the time (see docs/maglev.md for the measured table):
//   max_over_mean — max over backends of slots / (M · weight share); 1.0 is perfect balance;
//   moved_pct     — % of slots whose owner changed when part of the pool was removed;
//   optimal_pct   — % of slots that had to move (those owned by the removed backends).
#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include "common/flow_key.h"
#include "common/ip_address.h"
#include "hashing/flow_hash.h"
#include "hashing/maglev.h"

namespace steer::hashing {
namespace {

// Backends 10.0.0.1, 10.0.0.2, ...: a pool as an operator would number it. Weights are 1, or
// drawn from [1, 10] with a fixed seed when `weighted`.
std::vector<MaglevBackend> make_backends(size_t n, bool weighted) {
  std::mt19937 rng(42);
  std::uniform_int_distribution<uint32_t> weight(1, 10);
  std::vector<MaglevBackend> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    out.push_back({IpAddress::from_v4_host(0x0a000001u + uint32_t(i)), weighted ? weight(rng) : 1});
  }
  return out;
}

MaglevTable build_or_die(std::span<const MaglevBackend> backends, uint32_t size) {
  auto table = MaglevTable::build(backends, size);
  if (!table) std::abort();
  return std::move(*table);
}

double max_over_mean(const MaglevTable& table, std::span<const MaglevBackend> backends) {
  std::vector<uint64_t> slots(backends.size(), 0);
  for (uint32_t e : table.entries()) {
    if (e != MaglevTable::kNoBackend) ++slots[e];
  }
  uint64_t total_weight = 0;
  for (const auto& b : backends) total_weight += b.weight;
  double worst = 0;
  for (size_t i = 0; i < backends.size(); ++i) {
    if (backends[i].weight == 0) continue;
    const double fair = double(table.size()) * backends[i].weight / double(total_weight);
    worst = std::max(worst, double(slots[i]) / fair);
  }
  return worst;
}

// Builds a table of range(0) backends, equal or weighted (1..10), at size range(1).
void BM_MaglevBuild(benchmark::State& state, bool weighted) {
  const auto backends = make_backends(size_t(state.range(0)), weighted);
  const auto size = uint32_t(state.range(1));
  for (auto _ : state) {
    auto table = MaglevTable::build(backends, size);
    benchmark::DoNotOptimize(table);
  }
  state.counters["max_over_mean"] =
      benchmark::Counter(max_over_mean(build_or_die(backends, size), backends));
}
BENCHMARK_CAPTURE(BM_MaglevBuild, equal, false)
    ->Name("BM_MaglevBuild")
    ->ArgsProduct({{10, 100, 1000, 5000}, {65537, 655373}})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_MaglevBuild, weighted, true)
    ->Name("BM_MaglevBuildWeighted")
    ->ArgsProduct({{100, 1000}, {65537, 655373}})
    ->Unit(benchmark::kMicrosecond);

// One heavy backend (weight 1000) among light ones (weight 1): few turns per round.
void BM_MaglevBuildSkewed(benchmark::State& state) {
  auto backends = make_backends(size_t(state.range(0)), false);
  backends[0].weight = 1000;
  const auto size = uint32_t(state.range(1));
  for (auto _ : state) {
    auto table = MaglevTable::build(backends, size);
    benchmark::DoNotOptimize(table);
  }
  state.counters["max_over_mean"] =
      benchmark::Counter(max_over_mean(build_or_die(backends, size), backends));
}
BENCHMARK(BM_MaglevBuildSkewed)->Args({1000, 65537})->Unit(benchmark::kMicrosecond);

void BM_MaglevFingerprint(benchmark::State& state) {
  const auto backends = make_backends(1000, false);
  const MaglevTable table = build_or_die(backends, uint32_t(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(maglev_fingerprint(table, backends));
}
BENCHMARK(BM_MaglevFingerprint)->Arg(65537)->Unit(benchmark::kMicrosecond);

// Removes pct % of the pool (chosen at random, fixed seeds, averaged over kTrials draws) and
// rebuilds; the timed part is the rebuild.
void disruption(benchmark::State& state, bool weighted) {
  constexpr int kTrials = 10;
  constexpr uint32_t kSize = MaglevTable::kDefaultSize;
  const auto n = size_t(state.range(0));
  const auto removed_count = n * size_t(state.range(1)) / 100;
  const auto before = make_backends(n, weighted);
  const MaglevTable old_table = build_or_die(before, kSize);

  double moved = 0;
  double optimal = 0;
  std::vector<MaglevBackend> after;
  for (int trial = 0; trial < kTrials; ++trial) {
    std::vector<MaglevBackend> pool = before;
    std::mt19937 rng(uint32_t(trial) + 1);
    std::shuffle(pool.begin(), pool.end(), rng);
    std::vector<IpAddress> removed;
    for (size_t i = 0; i < removed_count; ++i) removed.push_back(pool[i].address);
    std::sort(removed.begin(), removed.end());
    pool.erase(pool.begin(), pool.begin() + ptrdiff_t(removed_count));

    const MaglevTable new_table = build_or_die(pool, kSize);
    uint64_t moved_slots = 0;
    uint64_t had_to_move = 0;
    for (uint32_t s = 0; s < kSize; ++s) {
      const IpAddress& was = before[old_table.entries()[s]].address;
      const IpAddress& now = pool[new_table.entries()[s]].address;
      moved_slots += was != now;
      had_to_move += std::binary_search(removed.begin(), removed.end(), was);
    }
    moved += 100.0 * double(moved_slots) / kSize;
    optimal += 100.0 * double(had_to_move) / kSize;
    if (trial == 0) after = std::move(pool);
  }

  for (auto _ : state) {
    auto table = MaglevTable::build(after, kSize);
    benchmark::DoNotOptimize(table);
  }
  state.counters["max_over_mean"] = benchmark::Counter(max_over_mean(old_table, before));
  state.counters["moved_pct"] = benchmark::Counter(moved / kTrials);
  state.counters["optimal_pct"] = benchmark::Counter(optimal / kTrials);
}

void BM_MaglevDisruption(benchmark::State& state) { disruption(state, false); }
BENCHMARK(BM_MaglevDisruption)->ArgsProduct({{1000}, {1, 5, 10}})->Unit(benchmark::kMicrosecond);

void BM_MaglevDisruptionWeighted(benchmark::State& state) { disruption(state, true); }
BENCHMARK(BM_MaglevDisruptionWeighted)
    ->ArgsProduct({{1000}, {1, 5, 10}})
    ->Unit(benchmark::kMicrosecond);

// Flow keys with varied clients and ports, so neither the hash nor the table load is constant.
std::vector<FlowKey> make_keys(size_t n, bool v6) {
  std::mt19937_64 rng(7);
  std::vector<FlowKey> keys;
  keys.reserve(n);
  const IpAddress vip =
      v6 ? *IpAddress::parse("2001:db8::80") : IpAddress::from_v4_host(0xc6336450);
  for (size_t i = 0; i < n; ++i) {
    IpAddress::Bytes b{};
    const uint64_t r = rng();
    if (v6) {
      b = {0x20, 0x01, 0x0d, 0xb8};
      for (size_t j = 0; j < 8; ++j) b[8 + j] = uint8_t(r >> (8 * j));
    } else {
      b[10] = b[11] = 0xff;
      for (size_t j = 0; j < 4; ++j) b[12 + j] = uint8_t(r >> (8 * j));
    }
    keys.push_back(FlowKey::make(IpAddress::from_bytes(b), vip, uint16_t(r >> 32), 443, 6));
  }
  return keys;
}

constexpr size_t kKeyCount = 4096;  // a power of two: the index is a mask

void BM_MaglevLookup(benchmark::State& state) {
  const auto backends = make_backends(1000, false);
  const MaglevTable table = build_or_die(backends, MaglevTable::kDefaultSize);
  const auto keys = make_keys(kKeyCount, false);
  size_t i = 0;
  for (auto _ : state) {
    const uint64_t h = flow_hash_5tuple(keys[i++ & (kKeyCount - 1)], kDefaultFlowHashSeed);
    benchmark::DoNotOptimize(table.lookup(h));
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
}
BENCHMARK(BM_MaglevLookup);

void BM_FlowHash(benchmark::State& state, FlowHashMode mode, bool v6) {
  const auto keys = make_keys(kKeyCount, v6);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(flow_hash(keys[i++ & (kKeyCount - 1)], mode, kDefaultFlowHashSeed));
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
}
BENCHMARK_CAPTURE(BM_FlowHash, FiveTuple, FlowHashMode::FiveTuple, false);
BENCHMARK_CAPTURE(BM_FlowHash, ThreeTuple, FlowHashMode::ThreeTuple, false);
BENCHMARK_CAPTURE(BM_FlowHash, SourceOnly, FlowHashMode::SourceOnly, false);
BENCHMARK_CAPTURE(BM_FlowHash, FiveTupleV6, FlowHashMode::FiveTuple, true);

}  // namespace
}  // namespace steer::hashing
