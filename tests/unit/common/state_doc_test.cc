#include "common/state_doc.h"

#include <gtest/gtest.h>

namespace steer::doc {
namespace {

IpAddress ip(const char* s) { return *IpAddress::parse(s); }
VipKey vip(const char* label) { return *VipKey::parse(label); }

// ---- desired state ------------------------------------------------------------------------------

DesiredState full_state() {
  DesiredState s;
  s.generation = 7;
  s.flow_hash_seed = 0x10;
  Vip web;
  web.key = vip("192.0.2.10:80/tcp");
  web.encap = "gue";
  web.gue_port = 7000;
  web.table_size = 251;
  web.hash = "3-tuple";
  web.echo = false;
  web.backends = {{ip("10.0.2.11"), 3, BackendState::Up},
                  {ip("10.0.2.12"), 5, BackendState::Drain},
                  {ip("10.0.2.13"), 1, BackendState::Down}};
  Vip dns;
  dns.key = vip("[2001:db8::10]:*/udp");
  dns.backends = {{ip("2001:db8:b::1"), 2, BackendState::Up}};
  s.vips = {web, dns};
  return s;
}

// The wire form, byte for byte: keys sorted, as steerd's and the dataplane's writers have
// always written them (Python: json.dumps(doc, sort_keys=True, separators=(",", ":"))).
TEST(DesiredStateDoc, WritesTheWireFormExactly) {
  EXPECT_EQ(
      to_json(full_state()),
      R"({"flow_hash_seed":"0x0000000000000010","generation":7,"vips":[{"address":"192.0.2.10",)"
      R"("backends":[{"address":"10.0.2.11","state":"up","weight":3},{"address":"10.0.2.12",)"
      R"("state":"drain","weight":5},{"address":"10.0.2.13","state":"down","weight":1}],)"
      R"("echo":false,"encap":"gue","gue_port":7000,"hash":"3-tuple","port":80,"proto":"tcp",)"
      R"("table_size":251},{"address":"2001:db8::10","backends":[{"address":"2001:db8:b::1",)"
      R"("state":"up","weight":2}],"echo":true,"encap":"ipip","gue_port":6080,"hash":"5-tuple",)"
      R"("port":0,"proto":"udp","table_size":65537}]})");
}

// steerd's document has neither generation nor seed: neither key is written.
TEST(DesiredStateDoc, OptionalKeysOnlyWhenSet) {
  DesiredState s;
  EXPECT_EQ(to_json(s), R"({"vips":[]})");
}

TEST(DesiredStateDoc, RoundTripsEveryField) {
  const DesiredState s = full_state();
  auto back = parse_desired_state(to_json(s));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, s);
}

// State and weight stay as sent: what drain and down mean is the dataplane's to apply.
TEST(DesiredStateDoc, KeepsBackendStateAndWeightAsSent) {
  auto s = parse_desired_state(R"({"vips": [{"address": "192.0.2.10", "proto": "tcp",
      "backends": [{"address": "10.0.2.12", "state": "drain", "weight": 5},
                   {"address": "10.0.2.13", "state": "down", "weight": 4},
                   {"address": "10.0.2.14"}]}]})");
  ASSERT_TRUE(s) << s.error().message;
  const auto& b = s->vips.at(0).backends;
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0], (Backend{ip("10.0.2.12"), 5, BackendState::Drain}));
  EXPECT_EQ(b[1], (Backend{ip("10.0.2.13"), 4, BackendState::Down}));
  EXPECT_EQ(b[2], (Backend{ip("10.0.2.14"), 1, BackendState::Up}));
}

TEST(DesiredStateDoc, DefaultsForAbsentOptions) {
  auto s = parse_desired_state(R"({"vips": [{"address": "192.0.2.10", "proto": "udp"}]})");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_FALSE(s->generation);
  EXPECT_FALSE(s->flow_hash_seed);
  Vip want;
  want.key = vip("192.0.2.10:*/udp");
  EXPECT_EQ(s->vips.at(0), want);
}

TEST(DesiredStateDoc, SeedAsNumberHexOrDecimalString) {
  for (const char* seed : {"16", R"("0x10")", R"("0X10")", R"("16")"}) {
    auto s = parse_desired_state(fmt::format(R"({{"flow_hash_seed": {}, "vips": []}})", seed));
    ASSERT_TRUE(s) << seed << ": " << s.error().message;
    EXPECT_EQ(s->flow_hash_seed, 16u) << seed;
  }
}

// `state` output applies again: its generation is never an error, whatever its value; the
// reader keeps an unsigned one for views.
TEST(DesiredStateDoc, GenerationIsNeverAnError) {
  auto kept = parse_desired_state(R"({"generation": 9, "vips": []})");
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->generation, 9u);
  for (const char* g : {"-1", "1.5", R"("x")", "null", "[]"}) {
    auto s = parse_desired_state(fmt::format(R"({{"generation": {}, "vips": []}})", g));
    ASSERT_TRUE(s) << g << ": " << s.error().message;
    EXPECT_FALSE(s->generation) << g;
  }
}

// Every error the reader gives, in full.
TEST(DesiredStateDoc, EveryErrorNamesThePlace) {
  const std::string v = R"("address": "1.2.3.4", "proto": "tcp")";
  struct Case {
    std::string doc;
    std::string expect;
  } cases[] = {
      {"not json", "state: not valid JSON"},
      {"[]", "state: expected a JSON object"},
      {"{}", "vips: missing (an empty list withdraws every VIP)"},
      {R"({"vip": []})", "vip: unknown key"},
      {R"({"vips": {}})", "vips: expected an array"},
      {R"({"flow_hash_seed": "0xZZ", "vips": []})",
       R"(flow_hash_seed: expected an unsigned 64-bit integer or a "0x..." string)"},
      {R"({"flow_hash_seed": -1, "vips": []})",
       R"(flow_hash_seed: expected an unsigned 64-bit integer or a "0x..." string)"},
      {R"({"flow_hash_seed": "", "vips": []})",
       R"(flow_hash_seed: expected an unsigned 64-bit integer or a "0x..." string)"},
      {R"({"vips": [1]})", "vips[0]: expected an object"},
      {R"({"vips": [{"proto": "tcp"}]})", "vips[0]: address missing"},
      {R"({"vips": [{"address": "1.2.3.4"}]})", "vips[0]: proto missing"},
      {R"({"vips": [{"address": 1, "proto": "tcp"}]})", "vips[0].address: expected a string"},
      {R"({"vips": [{"address": "1.2.3", "proto": "tcp"}]})",
       "vips[0].address: '1.2.3' is not an IPv4 or IPv6 address"},
      {R"({"vips": [{"address": "1.2.3.4", "proto": "sctp"}]})",
       R"(vips[0].proto: expected "tcp" or "udp")"},
      {R"({"vips": [{"address": "1.2.3.4", "proto": 6}]})",
       R"(vips[0].proto: expected "tcp" or "udp")"},
      {"{\"vips\": [{" + v + R"(, "port": 70000}]})", "vips[0].port: 70000 is larger than 65535"},
      {"{\"vips\": [{" + v + R"(, "port": -1}]})", "vips[0].port: expected an integer 0..65535"},
      {"{\"vips\": [{" + v + R"(, "port": 8.5}]})", "vips[0].port: expected an integer 0..65535"},
      {"{\"vips\": [{" + v + R"(, "encap": "gre"}]})",
       "vips[0].encap: 'gre' is not one of ipip, gue"},
      {"{\"vips\": [{" + v + R"(, "encap": 1}]})", "vips[0].encap: expected a string"},
      {"{\"vips\": [{" + v + R"(, "gue_port": 0}]})", "vips[0].gue_port: port 0 is not usable"},
      {"{\"vips\": [{" + v + R"(, "gue_port": 65536}]})",
       "vips[0].gue_port: 65536 is larger than 65535"},
      {"{\"vips\": [{" + v + R"(, "table_size": 4294967296}]})",
       "vips[0].table_size: 4294967296 is larger than 4294967295"},
      {"{\"vips\": [{" + v + R"(, "table_size": "7"}]})",
       "vips[0].table_size: expected an integer 0..4294967295"},
      {"{\"vips\": [{" + v + R"(, "hash": "4-tuple"}]})",
       "vips[0].hash: '4-tuple' is not one of 5-tuple, 3-tuple, source"},
      {"{\"vips\": [{" + v + R"(, "echo": 1}]})", "vips[0].echo: expected true or false"},
      {"{\"vips\": [{" + v + R"(, "backends": {}}]})", "vips[0].backends: expected an array"},
      {"{\"vips\": [{" + v + R"(, "prot": 1}]})", "vips[0].prot: unknown key"},
      {"{\"vips\": [{" + v + R"(, "backends": ["10.0.0.1"]}]})",
       "vips[0].backends[0]: expected an object"},
      {"{\"vips\": [{" + v + R"(, "backends": [{"weight": 1}]}]})",
       "vips[0].backends[0]: address missing"},
      {"{\"vips\": [{" + v + R"(, "backends": [{"address": "10.0.0.1", "weight": -1}]}]})",
       "vips[0].backends[0].weight: expected an integer 0..65535"},
      {"{\"vips\": [{" + v + R"(, "backends": [{"address": "10.0.0.1", "weight": 65536}]}]})",
       "vips[0].backends[0].weight: 65536 is larger than 65535"},
      {"{\"vips\": [{" + v + R"(, "backends": [{"address": "10.0.0.1", "state": "sick"}]}]})",
       "vips[0].backends[0].state: 'sick' is not one of up, drain, down"},
      {"{\"vips\": [{" + v + R"(, "backends": [{"address": "10.0.0.1", "state": true}]}]})",
       "vips[0].backends[0].state: expected a string"},
      {"{\"vips\": [{" + v + R"(, "backends": [{"address": "10.0.0.1", "wieght": 1}]}]})",
       "vips[0].backends[0].wieght: unknown key"},
      {"{\"vips\": [{" + v + R"(}, {"address": "1.2.3.4", "proto": "tcp", "backends": [{},)" +
           R"( {"address": "x"}]}]})",
       "vips[1].backends[0]: address missing"},
  };
  for (const Case& c : cases) {
    auto r = parse_desired_state(c.doc);
    ASSERT_FALSE(r) << c.doc;
    EXPECT_EQ(r.error().message, c.expect) << c.doc;
  }
}

// With several mistakes, the first in key order is reported, whatever order they were written
// in, so the same document always gets the same error.
TEST(DesiredStateDoc, FirstErrorInKeyOrder) {
  auto r = parse_desired_state(R"({"vips": 1, "flow_hash_seed": "z"})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message.rfind("flow_hash_seed:", 0), 0u) << r.error().message;
}

// ---- stats --------------------------------------------------------------------------------------

Stats full_stats() {
  Stats s;
  s.generation = 7;
  s.tsc_hz = 2000000000;
  s.totals = PacketCounters{.rx = 100,
                            .forwarded = 90,
                            .replied = 3,
                            .passed = 2,
                            .dropped = 5,
                            .new_flows = 10,
                            .rechosen = 1,
                            .fragments = 4,
                            .icmp_errors_forwarded = 6,
                            .echo_replies = 2,
                            .too_big_replies = 1,
                            .too_big_no_df = 7,
                            .tx_dropped = 8,
                            .multi_segment = 9};
  s.drops = {{"no_backend", 5}, {"bad_checksum", 0}};
  LcoreStats l;
  l.lcore = 1;
  l.counters = s.totals;
  l.queues = {{0, 0}, {1, 0}};
  l.flows = 10;
  l.flow_capacity = 1024;
  l.flow_hits = 80;
  l.flow_misses = 10;
  l.flow_inserts = 10;
  l.flow_evictions = 1;
  l.flow_expirations = 2;
  l.generation = 7;
  l.busy_cycles = 12345;
  l.iterations = 99;
  s.lcores = {l};
  s.vips = {VipStats{vip("192.0.2.10:80/tcp"), 2, 50, 5000, 5},
            VipStats{vip("[2001:db8::10]:*/udp"), 1, 40, 4000, 4}};
  s.backends = {BackendStats{vip("192.0.2.10:80/tcp"), ip("10.0.2.11"), 1, 126, 30, 3000},
                BackendStats{vip("192.0.2.10:80/tcp"), ip("10.0.2.12"), 0, 0, 20, 2000},
                BackendStats{vip("[2001:db8::10]:*/udp"), ip("2001:db8:b::1"), 2, 251, 40, 4000}};
  s.ports = {PortStats{.port = 0,
                       .name = "net_ring0",
                       .ipackets = 1,
                       .opackets = 2,
                       .ibytes = 3,
                       .obytes = 4,
                       .imissed = 5,
                       .ierrors = 6,
                       .oerrors = 7,
                       .rx_nombuf = 8}};
  return s;
}

// The wire form the dataplane's `stats` has always written (tests/integration, tools/pktrate
// and tools/failover read it): every key, its nesting and its type.
TEST(StatsDoc, WritesTheWireFormExactly) {
  Stats s;
  s.generation = 3;
  s.tsc_hz = 1000;
  s.totals.rx = 1;
  s.drops = {{"no_backend", 2}};
  LcoreStats l;
  l.lcore = 1;
  l.queues = {{0, 1}};
  l.flows = 4;
  s.lcores = {l};
  s.vips = {VipStats{vip("[2001:db8::10]:53/udp"), 1, 5, 6, 7}};
  s.backends = {BackendStats{vip("[2001:db8::10]:53/udp"), ip("2001:db8:b::1"), 2, 251, 8, 9}};
  s.ports = {PortStats{.port = 0, .name = "p0", .ipackets = 10}};
  EXPECT_EQ(
      to_json(s),
      R"({"backends":[{"address":"2001:db8:b::1","bytes":9,"packets":8,"slots":251,)"
      R"("vip":"[2001:db8::10]:53/udp","weight":2}],"drops":{"no_backend":2},"generation":3,)"
      R"("lcores":[{"busy_cycles":0,"dropped":0,"echo_replies":0,"flow_capacity":0,)"
      R"("flow_evictions":0,"flow_expirations":0,"flow_hits":0,"flow_inserts":0,"flow_misses":0,)"
      R"("flows":4,"forwarded":0,"fragments":0,"generation":0,"icmp_errors_forwarded":0,)"
      R"("iterations":0,"lcore":1,"multi_segment":0,"new_flows":0,"passed":0,)"
      R"("queues":[{"port":0,"queue":1}],"rechosen":0,"replied":0,"rx":0,"too_big_no_df":0,)"
      R"("too_big_replies":0,"tx_dropped":0}],"ports":[{"ibytes":0,"ierrors":0,"imissed":0,)"
      R"("ipackets":10,"name":"p0","obytes":0,"oerrors":0,"opackets":0,"port":0,"rx_nombuf":0}],)"
      R"("totals":{"dropped":0,"echo_replies":0,"forwarded":0,"fragments":0,)"
      R"("icmp_errors_forwarded":0,"multi_segment":0,"new_flows":0,"passed":0,"rechosen":0,)"
      R"("replied":0,"rx":1,"too_big_no_df":0,"too_big_replies":0,"tx_dropped":0},"tsc_hz":1000,)"
      R"("vips":[{"address":"2001:db8::10","backends":1,"bytes":6,"new_flows":7,"packets":5,)"
      R"("port":53,"proto":"udp","vip":"[2001:db8::10]:53/udp"}]})");
}

TEST(StatsDoc, RoundTripsEveryField) {
  const Stats s = full_stats();
  auto back = parse_stats(to_json(s));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, s);
}

// A newer dataplane may add keys anywhere: an older reader ignores them.
TEST(StatsDoc, IgnoresUnknownKeysEverywhere) {
  auto s = parse_stats(R"({"generation": 2, "new_section": {"x": [1, 2]}, "totals": {"rx": 5,
      "new_counter": 1}, "drops": {"no_backend": 1}, "lcores": [{"lcore": 3, "flows": 4,
      "queues": [{"port": 0, "queue": 2, "ring": "x"}], "numa": 0}],
      "vips": [{"vip": "192.0.2.10:80/tcp", "packets": 6, "owner": "web"}],
      "backends": [{"vip": "192.0.2.10:80/tcp", "address": "10.0.2.11", "slots": 7,
                    "rtt_us": 1.5}],
      "ports": [{"port": 1, "name": "p1", "opackets": 8, "driver": "net_ring"}]})");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->generation, 2u);
  EXPECT_EQ(s->totals.rx, 5u);
  EXPECT_EQ(s->drops.at("no_backend"), 1u);
  ASSERT_EQ(s->lcores.size(), 1u);
  EXPECT_EQ(s->lcores[0].lcore, 3u);
  EXPECT_EQ(s->lcores[0].flows, 4u);
  EXPECT_EQ(s->lcores[0].queues, (std::vector<LcoreQueue>{{0, 2}}));
  ASSERT_EQ(s->vips.size(), 1u);
  EXPECT_EQ(s->vips[0].key, vip("192.0.2.10:80/tcp"));
  EXPECT_EQ(s->vips[0].packets, 6u);
  ASSERT_EQ(s->backends.size(), 1u);
  EXPECT_EQ(s->backends[0].slots, 7u);
  ASSERT_EQ(s->ports.size(), 1u);
  EXPECT_EQ(s->ports[0].opackets, 8u);
}

// An older dataplane may lack a key a newer reader knows: it reads as its default.
TEST(StatsDoc, AbsentKeysReadAsDefaults) {
  auto s = parse_stats("{}");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(*s, Stats{});
}

TEST(StatsDoc, WrongTypesAndUnmatchableEntriesAreErrors) {
  struct Case {
    const char* doc;
    const char* expect;
  } cases[] = {
      {"{", "stats: not valid JSON"},
      {"[]", "stats: expected a JSON object"},
      {R"({"generation": -1})", "generation: expected an unsigned integer"},
      {R"({"tsc_hz": 1.5})", "tsc_hz: expected an unsigned integer"},
      {R"({"totals": []})", "totals: expected an object"},
      {R"({"totals": {"rx": "1"}})", "totals.rx: expected an unsigned integer"},
      {R"({"drops": {"no_backend": true}})", "drops.no_backend: expected an unsigned integer"},
      {R"({"lcores": {}})", "lcores: expected an array"},
      {R"({"lcores": [{}, 1]})", "lcores[1]: expected an object"},
      {R"({"lcores": [{"flows": null}]})", "lcores[0].flows: expected an unsigned integer"},
      {R"({"lcores": [{"lcore": 4294967296}]})",
       "lcores[0].lcore: 4294967296 is larger than 4294967295"},
      {R"({"lcores": [{"queues": [{"port": 70000}]}]})",
       "lcores[0].queues[0].port: 70000 is larger than 65535"},
      {R"({"vips": [{"packets": 1}]})", "vips[0].vip: missing"},
      {R"({"vips": [{"vip": "192.0.2.10:80"}]})",
       "vips[0].vip: '192.0.2.10:80' is not a VIP label (ADDR:PORT/PROTO)"},
      {R"({"vips": [{"vip": 1}]})", "vips[0].vip: expected a string"},
      {R"({"backends": [{"vip": "192.0.2.10:80/tcp"}]})", "backends[0].address: missing"},
      {R"({"backends": [{"vip": "192.0.2.10:80/tcp", "address": "10.0.2"}]})",
       "backends[0].address: '10.0.2' is not an IPv4 or IPv6 address"},
      {R"({"backends": [{"vip": "192.0.2.10:80/tcp", "address": "10.0.2.1", "weight": -2}]})",
       "backends[0].weight: expected an unsigned integer"},
      {R"({"ports": [{"name": 0}]})", "ports[0].name: expected a string"},
  };
  for (const Case& c : cases) {
    auto r = parse_stats(c.doc);
    ASSERT_FALSE(r) << c.doc;
    EXPECT_EQ(r.error().message, c.expect) << c.doc;
  }
}

TEST(StatsIndex, FindsByVipAndByVipAndBackend) {
  const StatsIndex index(full_stats());
  const VipStats* web = index.vip(vip("192.0.2.10:80/tcp"));
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(web->packets, 50u);
  EXPECT_EQ(index.vip(vip("192.0.2.10:81/tcp")), nullptr);
  EXPECT_EQ(index.vip(vip("192.0.2.10:80/udp")), nullptr);
  const BackendStats* b = index.backend(vip("192.0.2.10:80/tcp"), ip("10.0.2.12"));
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->packets, 20u);
  // The same backend address under another VIP is another entry.
  EXPECT_EQ(index.backend(vip("[2001:db8::10]:*/udp"), ip("10.0.2.12")), nullptr);
  EXPECT_EQ(index.backend(vip("[2001:db8::10]:*/udp"), ip("2001:db8:b::1"))->slots, 251u);
}

// It indexes by position, so a copy answers from its own stats.
TEST(StatsIndex, CopiesStayValid) {
  StatsIndex copy;
  {
    const StatsIndex original(full_stats());
    copy = original;
  }
  const BackendStats* b = copy.backend(vip("192.0.2.10:80/tcp"), ip("10.0.2.11"));
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b, &copy.stats().backends[0]);
  EXPECT_EQ(copy.stats(), full_stats());
}

// ---- status -------------------------------------------------------------------------------------

Status full_status() {
  Status s;
  s.version = "0.1.0";
  s.pid = 4242;
  s.uptime_s = 12.5;
  s.generation = 7;
  s.alive = true;
  s.switched = false;
  s.workers = {WorkerStatus{1, true, 0.25, 1000, 7}, WorkerStatus{2, false, -1, 0, 6}};
  s.ports = {PortStatus{0, "net_af_xdp0", "02:00:00:00:00:10", 2, true, "veth0"}};
  s.egress = EgressStatus{"02:00:00:00:00:10", "02:00:00:00:00:fe", "10.0.1.1", true, 1500};
  s.xdp = std::map<std::string, XdpStatus>{{"veth0", XdpStatus{42, 1, 2, 3, 4}}};
  return s;
}

TEST(StatusDoc, WritesTheWireFormExactly) {
  Status s = full_status();
  s.workers.resize(1);
  EXPECT_EQ(
      to_json(s),
      R"({"alive":true,"egress":{"dst_mac":"02:00:00:00:00:fe","gateway":"10.0.1.1",)"
      R"("gateway_resolved":true,"mtu":1500,"src_mac":"02:00:00:00:00:10"},"generation":7,)"
      R"("pid":4242,"ports":[{"af_xdp_iface":"veth0","link_up":true,"mac":"02:00:00:00:00:10",)"
      R"("name":"net_af_xdp0","port":0,"queues":2}],"switched":false,"uptime_s":12.5,)"
      R"("version":"0.1.0","workers":[{"alive":true,"generation":7,"heartbeat_age_ms":0.25,)"
      R"("iterations":1000,"lcore":1}],"xdp":{"veth0":{"malformed":4,"no_socket":2,)"
      R"("passed":3,"prog_id":42,"redirected":1}}})");
  s.xdp.reset();  // no AF_XDP port: no "xdp" key
  EXPECT_EQ(to_json(s).find(R"("xdp")"), std::string::npos);
}

TEST(StatusDoc, RoundTripsEveryField) {
  for (Status s : {full_status(), Status{}}) {
    auto back = parse_status(to_json(s));
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(*back, s);
  }
  Status empty_xdp = full_status();
  empty_xdp.xdp.emplace();  // AF_XDP ports whose counters could not be read: "xdp": {}
  EXPECT_EQ(*parse_status(to_json(empty_xdp)), empty_xdp);
}

TEST(StatusDoc, LenientLikeStats) {
  auto s = parse_status(R"({"alive": true, "pid": 7, "cpu": 3,
      "workers": [{"lcore": 1, "alive": true, "heartbeat_age_ms": 2, "numa": 0}],
      "egress": {"mtu": 9000, "vlan": 5}})");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_TRUE(s->alive);
  EXPECT_EQ(s->pid, 7);
  EXPECT_FALSE(s->switched);
  EXPECT_EQ(s->version, "");
  ASSERT_EQ(s->workers.size(), 1u);
  EXPECT_EQ(s->workers[0].heartbeat_age_ms, 2.0);  // an integer reads as a number too
  EXPECT_EQ(s->egress.mtu, 9000);
  EXPECT_FALSE(s->xdp);
  auto empty = parse_status("{}");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->pid, -1);  // steerd reads "no pid" from it
}

TEST(StatusDoc, WrongTypesAreErrors) {
  struct Case {
    const char* doc;
    const char* expect;
  } cases[] = {
      {"nope", "status: not valid JSON"},
      {"1", "status: expected a JSON object"},
      {R"({"pid": "1"})", "pid: expected an integer"},
      {R"({"pid": 1.0})", "pid: expected an integer"},
      {R"({"pid": 18446744073709551615})", "pid: expected an integer"},
      {R"({"uptime_s": "1"})", "uptime_s: expected a number"},
      {R"({"alive": 1})", "alive: expected true or false"},
      {R"({"version": 1})", "version: expected a string"},
      {R"({"workers": [{"alive": "yes"}]})", "workers[0].alive: expected true or false"},
      {R"({"workers": [{"heartbeat_age_ms": null}]})",
       "workers[0].heartbeat_age_ms: expected a number"},
      {R"({"ports": [{"queues": 65536}]})", "ports[0].queues: 65536 is larger than 65535"},
      {R"({"egress": []})", "egress: expected an object"},
      {R"({"egress": {"gateway_resolved": "no"}})",
       "egress.gateway_resolved: expected true or false"},
      {R"({"xdp": {"veth0": 1}})", "xdp.veth0: expected an object"},
      {R"({"xdp": {"veth0": {"prog_id": -1}}})", "xdp.veth0.prog_id: expected an unsigned integer"},
  };
  for (const Case& c : cases) {
    auto r = parse_status(c.doc);
    ASSERT_FALSE(r) << c.doc;
    EXPECT_EQ(r.error().message, c.expect) << c.doc;
  }
}

}  // namespace
}  // namespace steer::doc
