// dns/rrl: what response-rate limiting adds per UDP answer, beside what answer() itself costs
// for the same query (the baseline), for one busy client (its account hot in cache), for many
// clients (accounts spread over the 2 MiB table: a cache miss each), for more live clients
// than the table holds (every new key replaces a live account), and for a flood (every
// answer limited; every second one rewritten as its truncated form).
//
// Run: build/bench/steer-bench --benchmark_filter=Rrl
// Counters: `limited` (share of answers dropped or slipped), `evicted` (share of answers that
// replaced a live account).
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include "common/ip_address.h"
#include "dns/answer.h"
#include "dns/build.h"
#include "dns/decode.h"
#include "dns/rrl.h"

namespace steer::dns {
namespace {

Name name(const char* text) {
  Name n;
  parse_name_text(text, n);
  return n;
}

struct Fixture {
  DnsConfig config;
  std::shared_ptr<const Table> table;
  std::vector<uint8_t> query;
  std::vector<uint8_t> response;

  Fixture() {
    ZoneConfig z;
    z.apex = name("lb.example.com.");
    z.soa.mname = name("ns1.lb.example.com.");
    z.soa.rname = name("hostmaster.example.com.");
    z.ns = {name("ns1.lb.example.com.")};
    RecordConfig r;
    r.name = name("www.lb.example.com.");
    r.type = type::kA;
    r.ttl = 300;
    r.rdata = {192, 0, 2, 80};
    z.records.push_back(r);
    config.zones.push_back(z);
    BuildInputs in;
    in.config = &config;
    in.nsid = "fra.lb1";
    table = build_table(in);
    QuerySpec s;
    s.name = "www.lb.example.com.";
    s.id = 7;
    query = *make_query(s);
    response.resize(4096);
    Counters n;
    response.resize(answer(*table, query, Client{}, response, 0, n));
  }
};

RrlConfig config(uint32_t rate) {
  RrlConfig c;
  c.enabled = true;
  c.responses_per_second = rate;
  c.window_s = 15;
  c.slip = 2;
  return c;
}

// `n` clients in distinct /24s.
std::vector<IpAddress> clients(size_t n) {
  std::mt19937_64 rng(1);
  std::vector<IpAddress> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i)
    out.push_back(IpAddress::from_v4_host(static_cast<uint32_t>(rng()) & ~0xffu));
  return out;
}

void BM_RrlBaselineAnswer(benchmark::State& state) {
  Fixture f;
  std::vector<uint8_t> out(4096);
  Counters n;
  const Client client{IpAddress::from_v4_host(0xc0000201), false};
  for (auto _ : state) {
    benchmark::DoNotOptimize(answer(*f.table, f.query, client, out, 0, n));
  }
}
BENCHMARK(BM_RrlBaselineAnswer);

// The limiter over `clients` distinct prefixes, round robin, at a rate that never limits
// (so the response is never rewritten and needs no copy).
void BM_RrlApply(benchmark::State& state) {
  Fixture f;
  const auto cs = clients(static_cast<size_t>(state.range(0)));
  Rrl rrl(config(1'000'000), Rrl::kDefaultSlots, 42);
  Counters n;
  size_t i = 0;
  int64_t now = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(rrl.apply(cs[i], f.response, f.response.size(), now, n));
    if (++i == cs.size()) i = 0;
    if ((i & 1023) == 0) ++now;  // about 1 ms per 1,000 answers
  }
  const double answers = static_cast<double>(state.iterations());
  state.counters["limited"] = static_cast<double>(n.rrl_dropped + n.rrl_slipped) / answers;
  state.counters["evicted"] = static_cast<double>(n.rrl_evicted) / answers;
}
// 1: one client, hot; 10k: accounts spread over the table; 1M: far more live keys than the
// 65,536 slots (each answer replaces a live account).
BENCHMARK(BM_RrlApply)->Arg(1)->Arg(10'000)->Arg(1'000'000);

// A flood from one prefix: every answer over the rate; half dropped, half rewritten. The copy
// of the 60-byte answer back into the buffer is included (a few ns).
void BM_RrlFlood(benchmark::State& state) {
  Fixture f;
  Rrl rrl(config(10), Rrl::kDefaultSlots, 42);
  Counters n;
  std::vector<uint8_t> buf(f.response.size());
  const IpAddress victim = IpAddress::from_v4_host(0xcb007109);
  for (auto _ : state) {
    std::copy(f.response.begin(), f.response.end(), buf.begin());
    benchmark::DoNotOptimize(rrl.apply(victim, buf, buf.size(), 0, n));
  }
  state.counters["limited"] =
      static_cast<double>(n.rrl_dropped + n.rrl_slipped) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_RrlFlood);

// The parts: the key (classification, prefix, lower-casing, the seeded hash) and the account.
void BM_RrlKey(benchmark::State& state) {
  Fixture f;
  Rrl rrl(config(10));
  const IpAddress c = IpAddress::from_v4_host(0xc0000201);
  for (auto _ : state) benchmark::DoNotOptimize(rrl.key(c, f.response));
}
BENCHMARK(BM_RrlKey);

}  // namespace
}  // namespace steer::dns
