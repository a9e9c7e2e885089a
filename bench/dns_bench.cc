// dns/: what a query costs on the answer path (no sockets: the kernel's share is measured by
// the dnsperf comparison, bench/dns/), what an answer-table build costs at the size the brief
// names (1,000 services x 50 PoPs), and the control-side half of "health verdict -> first
// changed answer": the build, the publication, and a responder thread's next read.
//
// Run: build/bench/steer-bench --benchmark_filter=Dns
// Counters: bytes (answer size), services x pops for the builds.
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "common/publish.h"
#include "dns/answer.h"
#include "dns/build.h"
#include "dns/decode.h"

namespace steer::dns {
namespace {

Name name(const std::string& text) {
  Name n;
  parse_name_text(text, n);
  return n;
}

// `services` services over `pops` PoPs (each PoP serves every service with one IPv4 and one
// IPv6 address), one zone with a few static records.
DnsConfig config(size_t services, size_t pops) {
  DnsConfig c;
  ZoneConfig z;
  z.apex = name("lb.example.com.");
  z.soa.mname = name("ns1.lb.example.com.");
  z.soa.rname = name("hostmaster.example.com.");
  z.ns = {name("ns1.lb.example.com.")};
  RecordConfig r;
  r.name = name("ns1.lb.example.com.");
  r.type = type::kA;
  r.ttl = 3600;
  r.rdata = {192, 0, 2, 53};
  z.records.push_back(r);
  c.zones.push_back(z);
  for (size_t p = 0; p < pops; ++p) {
    c.pops.push_back(PopConfig{fmt::format("pop{}", p), p % 2 ? "eu" : "us",
                               -60.0 + static_cast<double>(p * 120 / pops),
                               -170.0 + static_cast<double>(p * 340 / pops)});
  }
  for (size_t s = 0; s < services; ++s) {
    ServiceConfig sc;
    sc.name = fmt::format("svc{}", s);
    sc.owner = name(fmt::format("svc{}.lb.example.com.", s));
    sc.zone = z.apex;
    for (size_t p = 0; p < pops; ++p) {
      ServicePopConfig sp;
      sp.pop = c.pops[p].name;
      sp.addresses = {
          IpAddress::from_v4_host(0xc6330000u + static_cast<uint32_t>(p * 256 + s % 250)),
          *IpAddress::parse(fmt::format("2001:db8:{:x}::{:x}", p + 1, s + 1))};
      sc.pops.push_back(sp);
    }
    c.services.push_back(sc);
  }
  return c;
}

BuildInputs inputs(const DnsConfig& c, std::shared_ptr<const Geo> geo, uint64_t generation) {
  BuildInputs in;
  in.config = &c;
  in.local_pop = "pop0";
  in.geo = std::move(geo);
  in.state = [](const ServiceConfig&, const ServicePopConfig& p) {
    return PopState{.healthy = p.pop != "pop1"};
  };
  in.nsid = "bench";
  in.identity = "bench";
  in.generation = generation;
  return in;
}

std::shared_ptr<const Geo> geo_of(const DnsConfig& c) {
  GeoConfig g;
  for (const PopConfig& p : c.pops)
    g.pops.push_back(GeoPop{p.name, p.region, p.latitude, p.longitude});
  auto geo = Geo::build(g);
  return geo ? *geo : nullptr;
}

void BM_DnsAnswer(benchmark::State& state, const char* qname, uint16_t qtype, const char* ecs) {
  const DnsConfig c = config(100, 8);
  const auto table = build_table(inputs(c, geo_of(c), 1));
  QuerySpec spec;
  spec.name = qname;
  spec.type = qtype;
  spec.ecs = ecs;
  const std::vector<uint8_t> query = *make_query(spec);
  std::vector<uint8_t> out(4096);
  Counters n;
  const Client client{*IpAddress::parse("203.0.113.7"), false};
  size_t size = 0;
  for (auto _ : state) {
    size = answer(*table, query, client, out, 7, n);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["bytes"] = static_cast<double>(size);
}
BENCHMARK_CAPTURE(BM_DnsAnswer, static_a, "ns1.lb.example.com.", type::kA, "");
BENCHMARK_CAPTURE(BM_DnsAnswer, service_a, "svc42.lb.example.com.", type::kA, "");
BENCHMARK_CAPTURE(BM_DnsAnswer, service_aaaa_ecs, "svc42.lb.example.com.", type::kAaaa,
                  "198.51.100.0/24");
BENCHMARK_CAPTURE(BM_DnsAnswer, nxdomain, "nope.lb.example.com.", type::kA, "");

// The brief's size: 1,000 services x 50 PoPs. The catalog: a reload or a geo file change.
void BM_DnsCatalogBuild(benchmark::State& state) {
  const DnsConfig c =
      config(static_cast<size_t>(state.range(0)), static_cast<size_t>(state.range(1)));
  const auto geo = geo_of(c);
  for (auto _ : state) benchmark::DoNotOptimize(build_catalog(inputs(c, geo, 1)));
  state.counters["services_x_pops"] = static_cast<double>(state.range(0) * state.range(1));
}
BENCHMARK(BM_DnsCatalogBuild)->Args({100, 8})->Args({1000, 50})->Unit(benchmark::kMillisecond);

// A verdict changed: a table over the catalog, published, and a responder thread's next
// batch reads it (the control thread's part of "verdict -> first changed answer").
void BM_DnsHealthToAnswer(benchmark::State& state) {
  const DnsConfig c =
      config(static_cast<size_t>(state.range(0)), static_cast<size_t>(state.range(1)));
  const auto geo = geo_of(c);
  const auto catalog = build_catalog(inputs(c, geo, 1));
  PublishCell<Table> cell(build_table(catalog, inputs(c, geo, 1)));
  PublishCell<Table>::Reader reader(cell);
  uint64_t g = 1;
  for (auto _ : state) {
    cell.publish(build_table(catalog, inputs(c, geo, ++g)));
    benchmark::DoNotOptimize(reader.get()->generation);
  }
  state.counters["services_x_pops"] = static_cast<double>(state.range(0) * state.range(1));
}
BENCHMARK(BM_DnsHealthToAnswer)->Args({100, 8})->Args({1000, 50})->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace steer::dns
