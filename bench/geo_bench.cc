// dns/geo: what locate() costs per source (nets trie, MMDB, default), what the alternative
// nets structure (one hash table per prefix length in use, probed longest first) costs on the
// same entries, and what Geo::build costs (the 64,800-cell grid dominates).
//
// Run: STEER_SOURCE_ROOT=$PWD build/bench/steer-bench --benchmark_filter=Geo
// (the MMDB benchmarks write their database with testing/dns/make_mmdb.pl; meson's benchmark
// target sets STEER_SOURCE_ROOT). Counter: `matched`, the share of lookups that found an
// entry or record.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "common/ip_address.h"
#include "dns/geo.h"
#include "testing/dns/geo_fixtures.h"

namespace steer::dns {
namespace {

using steer::testing::TempDir;
using steer::testing::world_pops;

struct Prefix4 {
  uint32_t net;
  unsigned len;
  uint32_t target;
};

// `n` IPv4 prefixes as an operator's file might hold them: lengths 8..24, most 16..24.
std::vector<Prefix4> random_prefixes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::discrete_distribution<unsigned> len_weight(
      {1, 0, 0, 0, 1, 0, 0, 0, 4, 1, 1, 1, 2, 2, 2, 2, 8});
  std::vector<Prefix4> out;
  std::unordered_set<uint64_t> seen;
  while (out.size() < n) {
    const unsigned len = 8 + len_weight(rng);
    const uint32_t net = static_cast<uint32_t>(rng()) & (~0u << (32 - len));
    if (!seen.insert(uint64_t{net} << 8 | len).second) continue;
    out.push_back({net, len, static_cast<uint32_t>(rng() % 8)});
  }
  return out;
}

// Half the clients inside some entry, half anywhere.
std::vector<IpAddress> clients_for(const std::vector<Prefix4>& prefixes, size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<IpAddress> out;
  for (size_t i = 0; i < n; ++i) {
    uint32_t a = static_cast<uint32_t>(rng());
    if (i % 2 == 0) {
      const Prefix4& p = prefixes[rng() % prefixes.size()];
      a = p.net | (a & ~(~0u << (32 - p.len)));
    }
    out.push_back(IpAddress::from_v4_host(a));
  }
  return out;
}

struct NetsSetup {
  TempDir dir;
  std::vector<Prefix4> prefixes;
  std::vector<IpAddress> clients;
  std::shared_ptr<const Geo> geo;
};

const NetsSetup& nets_setup(size_t entries) {
  static std::vector<std::unique_ptr<NetsSetup>> cache;
  for (auto& s : cache) {
    if (s->prefixes.size() == entries) return *s;
  }
  auto s = std::make_unique<NetsSetup>();
  s->prefixes = random_prefixes(entries, entries);
  s->clients = clients_for(s->prefixes, 4096, 7);
  std::string text;
  const GeoConfig pops = world_pops();
  for (const Prefix4& p : s->prefixes) {
    text +=
        fmt::format("{}/{} {}\n", IpAddress::from_v4_host(p.net), p.len, pops.pops[p.target].name);
  }
  GeoConfig config = world_pops();
  config.nets_path = s->dir.write("nets", text);
  auto geo = Geo::build(config);
  if (!geo) std::abort();
  s->geo = *geo;
  cache.push_back(std::move(s));
  return *cache.back();
}

// locate() against a nets file of range(0) IPv4 entries, resolver addresses (source 32) or
// ECS /24 (range(1)).
void BM_GeoLocateNets(benchmark::State& state) {
  const NetsSetup& s = nets_setup(static_cast<size_t>(state.range(0)));
  const auto source = static_cast<uint8_t>(state.range(1));
  size_t i = 0, matched = 0;
  for (auto _ : state) {
    const Location l = s.geo->locate(s.clients[i++ & 4095], source);
    matched += l.source == LocationSource::Nets;
    benchmark::DoNotOptimize(l);
  }
  state.counters["matched"] = double(matched) / double(state.iterations());
}
BENCHMARK(BM_GeoLocateNets)
    ->Args({100, 32})
    ->Args({10000, 32})
    ->Args({10000, 24})
    ->Args({100000, 32});

// The alternative: one open-addressing table per prefix length in use, probed from the longest
// length down. Gives the match only (the scope would need the trie's shape on top).
class HashPerLength {
 public:
  explicit HashPerLength(const std::vector<Prefix4>& prefixes) {
    for (const Prefix4& p : prefixes) {
      if (std::find(lengths_.begin(), lengths_.end(), p.len) == lengths_.end())
        lengths_.push_back(p.len);
    }
    std::sort(lengths_.rbegin(), lengths_.rend());
    tables_.resize(33);
    for (unsigned len : lengths_) {
      size_t count = 0;
      for (const Prefix4& p : prefixes) count += p.len == len;
      size_t size = 16;
      while (size < count * 2) size *= 2;
      tables_[len].assign(size, Slot{});
    }
    for (const Prefix4& p : prefixes) {
      auto& t = tables_[p.len];
      for (size_t at = hash(p.net) & (t.size() - 1);; at = (at + 1) & (t.size() - 1)) {
        if (!t[at].used) {
          t[at] = {p.net, p.target, true};
          break;
        }
      }
    }
  }
  uint32_t lookup(uint32_t a) const {
    for (unsigned len : lengths_) {
      const uint32_t net = len == 0 ? 0 : a & (~0u << (32 - len));
      const auto& t = tables_[len];
      for (size_t at = hash(net) & (t.size() - 1); t[at].used; at = (at + 1) & (t.size() - 1)) {
        if (t[at].net == net) return t[at].target;
      }
    }
    return UINT32_MAX;
  }

 private:
  struct Slot {
    uint32_t net = 0, target = 0;
    bool used = false;
  };
  static size_t hash(uint32_t v) { return (uint64_t{v} * 0x9e3779b97f4a7c15ull) >> 40; }
  std::vector<unsigned> lengths_;
  std::vector<std::vector<Slot>> tables_;
};

void BM_GeoNetsBaselineHashPerLength(benchmark::State& state) {
  const NetsSetup& s = nets_setup(static_cast<size_t>(state.range(0)));
  const HashPerLength table(s.prefixes);
  size_t i = 0, matched = 0;
  for (auto _ : state) {
    const uint32_t t = table.lookup(s.clients[i++ & 4095].v4_host());
    matched += t != UINT32_MAX;
    benchmark::DoNotOptimize(t);
  }
  state.counters["matched"] = double(matched) / double(state.iterations());
}
BENCHMARK(BM_GeoNetsBaselineHashPerLength)->Arg(100)->Arg(10000)->Arg(100000);

struct MmdbSetup {
  TempDir dir;
  std::vector<IpAddress> known, unknown;
  std::shared_ptr<const Geo> geo;
};

// 2,000 IPv4 /24s and 2,000 IPv6 /48s with coordinates; lookups inside them (`known`, IPv4
// and IPv6 alternately) or in space the database does not hold.
const MmdbSetup* mmdb_setup() {
  static std::unique_ptr<MmdbSetup> s = [] {
    auto m = std::make_unique<MmdbSetup>();
    std::mt19937_64 rng(1);
    std::uniform_real_distribution<double> lat(-60, 70), lon(-180, 180);
    std::string spec;
    for (uint32_t i = 0; i < 2000; ++i) {
      spec += fmt::format("10.{}.{}.0/24 lat={:.4f} lon={:.4f} country=ZZ continent=ZZ\n", i / 256,
                          i % 256, lat(rng), lon(rng));
      spec += fmt::format("2001:db8:{:x}::/48 lat={:.4f} lon={:.4f} country=ZZ continent=ZZ\n", i,
                          lat(rng), lon(rng));
      m->known.push_back(IpAddress::from_v4_host(0x0a000000u | i << 8 | (i & 0xff)));
      m->known.push_back(*IpAddress::parse(fmt::format("2001:db8:{:x}::{:x}", i, i)));
      m->unknown.push_back(
          IpAddress::from_v4_host(0xc0000000u | static_cast<uint32_t>(rng() >> 40)));
    }
    GeoConfig config = world_pops();
    config.mmdb_path = m->dir.path("bench.mmdb");
    if (!testing::write_mmdb(m->dir, config.mmdb_path, spec).empty())
      return std::unique_ptr<MmdbSetup>();
    auto geo = Geo::build(config);
    if (!geo) return std::unique_ptr<MmdbSetup>();
    m->geo = *geo;
    return m;
  }();
  return s.get();
}

void BM_GeoLocateMmdb(benchmark::State& state, bool known) {
  const MmdbSetup* s = mmdb_setup();
  if (!s) {
    state.SkipWithError("no MMDB (set STEER_SOURCE_ROOT; needs libmaxmind-db-writer-perl)");
    return;
  }
  const auto& clients = known ? s->known : s->unknown;
  size_t i = 0, matched = 0;
  for (auto _ : state) {
    const IpAddress& a = clients[i++ % clients.size()];
    const Location l = s->geo->locate(a, a.is_v4() ? 32 : 128);
    matched += l.source == LocationSource::Mmdb;
    benchmark::DoNotOptimize(l);
  }
  state.counters["matched"] = double(matched) / double(state.iterations());
}
BENCHMARK_CAPTURE(BM_GeoLocateMmdb, known, true);
BENCHMARK_CAPTURE(BM_GeoLocateMmdb, unknown, false);

// Geo::build with range(0) PoPs at random coordinates and no files: the PoP orders and the
// grid (64,800 cells sorted and deduplicated).
void BM_GeoBuild(benchmark::State& state) {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> lat(-60, 70), lon(-180, 180);
  GeoConfig config;
  for (int64_t i = 0; i < state.range(0); ++i) {
    config.pops.push_back({fmt::format("p{}", i), fmt::format("r{}", i % 4), lat(rng), lon(rng)});
  }
  for (auto _ : state) {
    auto geo = Geo::build(config);
    if (!geo) std::abort();
    benchmark::DoNotOptimize(geo);
  }
  state.SetComplexityN(state.range(0));
}
BENCHMARK(BM_GeoBuild)->Arg(8)->Arg(32)->Arg(128)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace steer::dns
