// Behaviour of the whole per-packet pipeline over the shared lab_state() configuration:
// backend choice, flow stickiness across pool changes, fragments, ICMP, counters.
#include "dataplane/packet/pipeline.h"

#include <map>
#include <set>

#include <gtest/gtest.h>

#include "hashing/flow_hash.h"
#include "hashing/maglev.h"
#include "testing/support/packet_builder.h"
#include "testing/support/pipeline_harness.h"

namespace steer::dataplane {
namespace {

using testing::Bytes;
using testing::lab_state;
using testing::must_build;
using testing::outer_destination;
using testing::PacketBuilder;
using testing::run_one;

PipelineContext make_ctx(uint32_t capacity = 1 << 16) {
  auto ctx = PipelineContext::create(PipelineConfig{FlowTableConfig{capacity}});
  EXPECT_TRUE(ctx) << ctx.error().message;
  return std::move(*ctx);
}

Bytes tcp_to_vip0(uint16_t client_port, uint8_t flags = 0x10, const char* client = "198.51.100.7") {
  testing::TcpOptions o;
  o.flags = flags;
  return PacketBuilder()
      .eth()
      .ipv4(client, "192.0.2.10")
      .tcp(client_port, 80, o)
      .payload(20)
      .build();
}

// Sends one packet of each of `ports` flows to VIP 0 and returns flow → backend address.
std::map<uint16_t, std::string> send_flows(PipelineContext& ctx, const Snapshot& snap,
                                           uint16_t first_port, int count, uint8_t flags = 0x10) {
  std::map<uint16_t, std::string> out;
  for (int i = 0; i < count; ++i) {
    const uint16_t port = uint16_t(first_port + i);
    auto r = run_one(ctx, snap, tcp_to_vip0(port, flags));
    EXPECT_EQ(r.verdict, Verdict::Forward);
    out[port] = outer_destination(r.out);
  }
  return out;
}

// A new flow goes to the backend that the VIP's Maglev table gives for its 5-tuple hash,
// computed here independently from the hashing library.
TEST(Pipeline, NewFlowTakesMaglevBackend) {
  auto snap = must_build(lab_state());
  auto ctx = make_ctx();
  const std::vector<hashing::MaglevBackend> pool = {{*IpAddress::parse("203.0.113.1"), 1},
                                                    {*IpAddress::parse("203.0.113.2"), 1},
                                                    {*IpAddress::parse("203.0.113.3"), 1}};
  auto table = hashing::MaglevTable::build(pool);
  ASSERT_TRUE(table);
  for (uint16_t port = 1000; port < 1200; ++port) {
    auto key = FlowKey::make(*IpAddress::parse("198.51.100.7"), *IpAddress::parse("192.0.2.10"),
                             port, 80, 6);
    const uint64_t h = hashing::flow_hash_5tuple(key, hashing::kDefaultFlowHashSeed);
    const auto expected = pool[table->lookup(h)].address.to_string();
    auto r = run_one(ctx, *snap, tcp_to_vip0(port, 0x02));
    ASSERT_EQ(r.verdict, Verdict::Forward);
    EXPECT_EQ(outer_destination(r.out), expected) << "client port " << port;
  }
  EXPECT_EQ(ctx.counters().new_flows, 200u);
}

// Adding a backend changes the Maglev table, yet every established flow stays where it was.
TEST(Pipeline, EstablishedFlowsStayWhenBackendAdded) {
  auto spec = lab_state();
  auto snap1 = must_build(spec);
  auto ctx = make_ctx();
  auto before = send_flows(ctx, *snap1, 20000, 2000, 0x02);

  spec.vips[0].backends.push_back({*IpAddress::parse("203.0.113.6"), 1});
  auto snap2 = must_build(spec, snap1.get(), 2);
  auto after = send_flows(ctx, *snap2, 20000, 2000);
  EXPECT_EQ(before, after);
  EXPECT_EQ(ctx.counters().rechosen, 0u);

  // New flows do reach the new backend.
  auto fresh = send_flows(ctx, *snap2, 40000, 2000, 0x02);
  int to_new = 0;
  for (auto& [port, b] : fresh) to_new += b == "203.0.113.6";
  EXPECT_GT(to_new, 300);  // about a quarter of 2000
}

// A drained backend (weight 0) keeps its established flows and gets no new ones.
TEST(Pipeline, DrainedBackendKeepsExistingFlows) {
  auto spec = lab_state();
  auto snap1 = must_build(spec);
  auto ctx = make_ctx();
  auto before = send_flows(ctx, *snap1, 20000, 1500, 0x02);
  int on_drained = 0;
  for (auto& [port, b] : before) on_drained += b == "203.0.113.2";
  ASSERT_GT(on_drained, 300);

  spec.vips[0].backends[1].weight = 0;
  auto snap2 = must_build(spec, snap1.get(), 2);
  EXPECT_EQ(send_flows(ctx, *snap2, 20000, 1500), before);
  for (auto& [port, b] : send_flows(ctx, *snap2, 40000, 1500, 0x02)) {
    EXPECT_NE(b, "203.0.113.2") << "new flow on drained backend, port " << port;
  }
}

// Removing a backend moves exactly its flows; the others stay on their backends.
TEST(Pipeline, RemovingBackendMovesOnlyItsFlows) {
  auto spec = lab_state();
  auto snap1 = must_build(spec);
  auto ctx = make_ctx();
  auto before = send_flows(ctx, *snap1, 20000, 1500, 0x02);

  spec.vips[0].backends.erase(spec.vips[0].backends.begin() + 2);  // 203.0.113.3
  auto snap2 = must_build(spec, snap1.get(), 2);
  auto after = send_flows(ctx, *snap2, 20000, 1500);
  uint64_t moved = 0;
  for (auto& [port, b] : before) {
    if (b == "203.0.113.3") {
      EXPECT_NE(after[port], "203.0.113.3");
      ++moved;
    } else {
      EXPECT_EQ(after[port], b) << "port " << port;
    }
  }
  EXPECT_EQ(ctx.counters().rechosen, moved);
}

// A weight change reshapes new-flow shares but leaves established flows alone.
TEST(Pipeline, WeightChangeKeepsEstablishedFlows) {
  auto spec = lab_state();
  auto snap1 = must_build(spec);
  auto ctx = make_ctx();
  auto before = send_flows(ctx, *snap1, 20000, 1500, 0x02);
  spec.vips[0].backends[0].weight = 5;
  auto snap2 = must_build(spec, snap1.get(), 2);
  EXPECT_EQ(send_flows(ctx, *snap2, 20000, 1500), before);
}

// Reordering VIPs and backends in the configuration changes nothing a packet can see.
TEST(Pipeline, ConfigurationOrderDoesNotMatter) {
  auto spec = lab_state();
  auto snap1 = must_build(spec);
  std::reverse(spec.vips.begin(), spec.vips.end());
  for (auto& v : spec.vips) std::reverse(v.backends.begin(), v.backends.end());
  auto snap2 = must_build(spec, snap1.get(), 2);
  auto ctx1 = make_ctx();
  auto ctx2 = make_ctx();
  EXPECT_EQ(send_flows(ctx1, *snap1, 30000, 500, 0x02), send_flows(ctx2, *snap2, 30000, 500, 0x02));
  // And a running lcore keeps all flows across the reordering (handles are stable).
  auto ctx = make_ctx();
  auto before = send_flows(ctx, *snap1, 30000, 500, 0x02);
  EXPECT_EQ(send_flows(ctx, *snap2, 30000, 500), before);
  EXPECT_EQ(ctx.counters().rechosen, 0u);
}

// A backend that replaces a removed one in the same update never inherits the removed
// backend's flows through a stale flow-table entry: those flows are chosen afresh.
TEST(Pipeline, StaleHandleIsNotReusedForNewBackend) {
  auto spec = lab_state();
  auto snap1 = must_build(spec);
  auto ctx = make_ctx();
  auto before = send_flows(ctx, *snap1, 20000, 600, 0x02);
  spec.vips[0].backends[0].address = *IpAddress::parse("203.0.113.7");  // .1 out, .7 in
  auto snap2 = must_build(spec, snap1.get(), 2);
  const uint32_t old_handle = snap1->vip(0).backends[0];
  const uint32_t new_handle = snap2->vip(0).backends[0];
  EXPECT_NE(old_handle, new_handle);
  EXPECT_EQ(snap2->backend(old_handle), nullptr);
  auto after = send_flows(ctx, *snap2, 20000, 600);
  uint64_t moved = 0;
  for (auto& [port, b] : before) moved += b == "203.0.113.1";
  EXPECT_EQ(ctx.counters().rechosen, moved);
}

// Every fragment of a datagram — the first, with ports, and the later ones, without —
// reaches the same backend, for an all-ports UDP VIP and for a port-specific TCP VIP.
TEST(Pipeline, AllFragmentsOfDatagramReachSameBackend) {
  auto snap = must_build(lab_state());
  auto ctx = make_ctx();
  for (uint16_t id = 1; id <= 200; ++id) {
    for (uint8_t proto : {uint8_t(17), uint8_t(6)}) {
      testing::Ipv4Options first{.id = id, .df = false, .mf = true};
      testing::Ipv4Options middle{.id = id, .df = false, .mf = true, .frag_offset = 4};
      testing::Ipv4Options last{.id = id, .df = false, .mf = false, .frag_offset = 8};
      const char* client = id % 2 ? "198.51.100.7" : "198.51.100.8";
      Bytes f1 = proto == 17 ? PacketBuilder()
                                   .eth()
                                   .ipv4(client, "192.0.2.10", first)
                                   .udp(5000 + id, 53, 200)  // the datagram, not the fragment
                                   .payload(24)
                                   .build()
                             : PacketBuilder()
                                   .eth()
                                   .ipv4(client, "192.0.2.10", first)
                                   .tcp(5000 + id, 80)
                                   .payload(12)
                                   .build();
      middle.proto = proto;
      last.proto = proto;
      Bytes f2 = PacketBuilder().eth().ipv4(client, "192.0.2.10", middle).payload(32).build();
      Bytes f3 = PacketBuilder().eth().ipv4(client, "192.0.2.10", last).payload(10).build();
      auto r1 = run_one(ctx, *snap, f1);
      auto r2 = run_one(ctx, *snap, f2);
      auto r3 = run_one(ctx, *snap, f3);
      ASSERT_EQ(r1.verdict, Verdict::Forward);
      ASSERT_EQ(r2.verdict, Verdict::Forward);
      ASSERT_EQ(r3.verdict, Verdict::Forward);
      EXPECT_EQ(outer_destination(r1.out), outer_destination(r2.out));
      EXPECT_EQ(outer_destination(r1.out), outer_destination(r3.out));
    }
  }
  EXPECT_EQ(ctx.counters().fragments, 1200u);
  EXPECT_EQ(ctx.counters().drops[size_t(DropReason::NoBackend)], 0u);
}

// An ICMP frag-needed about a VIP flow (sent by a router on the client's path about the
// backend's reply) is encapsulated to the backend that owns the flow, even after the Maglev
// table changed, and creates no flow entry.
TEST(Pipeline, IcmpErrorReachesFlowOwner) {
  auto spec = lab_state();
  auto snap1 = must_build(spec);
  auto ctx = make_ctx();
  auto flows = send_flows(ctx, *snap1, 20000, 300, 0x02);
  spec.vips[0].backends.push_back({*IpAddress::parse("203.0.113.6"), 1});
  auto snap2 = must_build(spec, snap1.get(), 2);
  const auto occupancy = ctx.flows().occupancy();
  for (auto& [port, backend] : flows) {
    // The backend's reply: VIP:80 → client:port, too big for a link near the client.
    Bytes reply =
        PacketBuilder().ipv4("192.0.2.10", "198.51.100.7").tcp(80, port).payload(40).build();
    Bytes err = PacketBuilder()
                    .eth()
                    .ipv4("203.0.113.254", "192.0.2.10")
                    .icmp(3, 4, 1400)
                    .payload(reply)
                    .build();
    auto r = run_one(ctx, *snap2, err);
    ASSERT_EQ(r.verdict, Verdict::Forward);
    EXPECT_EQ(outer_destination(r.out), backend) << "port " << port;
  }
  EXPECT_EQ(ctx.counters().icmp_errors_forwarded, flows.size());
  EXPECT_EQ(ctx.flows().occupancy(), occupancy);
}

// The same for IPv6: an ICMPv6 packet too big about a VIP flow goes to its backend.
TEST(Pipeline, Icmpv6PacketTooBigReachesFlowOwner) {
  auto snap = must_build(lab_state());
  auto ctx = make_ctx();
  for (uint16_t port = 30000; port < 30100; ++port) {
    auto syn = PacketBuilder().eth().ipv6("2001:db8:c::7", "2001:db8::10").tcp(port, 443).build();
    auto r1 = run_one(ctx, *snap, syn);
    ASSERT_EQ(r1.verdict, Verdict::Forward);
    Bytes reply =
        PacketBuilder().ipv6("2001:db8::10", "2001:db8:c::7").tcp(443, port).payload(40).build();
    Bytes err = PacketBuilder()
                    .eth()
                    .ipv6("2001:db8:c::fe", "2001:db8::10")
                    .icmpv6(2, 0, 1400)
                    .payload(reply)
                    .build();
    auto r2 = run_one(ctx, *snap, err);
    ASSERT_EQ(r2.verdict, Verdict::Forward);
    EXPECT_EQ(outer_destination(r2.out), outer_destination(r1.out));
  }
}

// A VIP whose only backend is draining has nothing for a new flow: a counted drop.
TEST(Pipeline, NoBackendForNewFlowIsCountedDrop) {
  auto snap = must_build(lab_state());
  auto ctx = make_ctx();
  auto r = run_one(ctx, *snap,
                   PacketBuilder().eth().ipv4("198.51.100.7", "192.0.2.30").tcp(1, 80).build());
  EXPECT_EQ(r.verdict, Verdict::Drop);
  EXPECT_EQ(ctx.counters().drops[size_t(DropReason::NoBackend)], 1u);
}

// Traffic that is not for a VIP (other address, other port, ARP) is passed to the kernel
// byte for byte.
TEST(Pipeline, NonVipTrafficPassesUntouched) {
  auto snap = must_build(lab_state());
  auto ctx = make_ctx();
  for (const Bytes& f :
       {PacketBuilder().eth().ipv4("198.51.100.7", "192.0.2.99").tcp(1, 80).build(),
        PacketBuilder().eth().ipv4("198.51.100.7", "192.0.2.10").tcp(1, 22).build(),
        PacketBuilder().eth("02:00:00:00:00:01", "ff:ff:ff:ff:ff:ff", 0x0806).payload(28).build(),
        PacketBuilder().eth().ipv6("fe80::1", "2001:db8::10").icmpv6(135, 0).payload(20).build()}) {
    auto r = run_one(ctx, *snap, f);
    EXPECT_EQ(r.verdict, Verdict::Pass);
    EXPECT_EQ(r.out, f);
  }
  EXPECT_EQ(ctx.counters().passed, 4u);
}

// Counters add up: every received packet is forwarded, replied, passed or dropped, each in
// the right counter and drop reason; per-VIP and per-backend packet counts match.
TEST(Pipeline, CountersAddUp) {
  auto snap = must_build(lab_state());
  auto ctx = make_ctx();
  send_flows(ctx, *snap, 20000, 100, 0x02);
  run_one(
      ctx, *snap,
      PacketBuilder().eth().ipv4("198.51.100.7", "192.0.2.10").icmp(8, 0, 1).payload(8).build());
  run_one(ctx, *snap, PacketBuilder().eth().ipv4("198.51.100.7", "192.0.2.99").tcp(1, 80).build());
  run_one(ctx, *snap, Bytes(10, 0));
  run_one(ctx, *snap, PacketBuilder().eth().ipv4("198.51.100.7", "192.0.2.30").tcp(1, 80).build());
  const PipelineCounters& c = ctx.counters();
  EXPECT_EQ(c.rx, 104u);
  EXPECT_EQ(c.rx, c.forwarded + c.replied() + c.passed + c.dropped());
  EXPECT_EQ(c.forwarded, 100u);
  EXPECT_EQ(c.replied(), 1u);
  EXPECT_EQ(c.passed, 1u);
  EXPECT_EQ(c.dropped(), 2u);
  EXPECT_EQ(c.drops[size_t(DropReason::TruncatedEthernet)], 1u);
  EXPECT_EQ(c.drops[size_t(DropReason::NoBackend)], 1u);
  EXPECT_EQ(ctx.vip_counters(snap->vip(0).id).packets, 100u);
  uint64_t per_backend = 0;
  for (uint32_t h : snap->vip(0).backends) per_backend += ctx.backend_counters(h & 0xffff).packets;
  EXPECT_EQ(per_backend, 100u);
}

// A burst longer than kMaxBurst is processed whole, every packet getting its verdict.
TEST(Pipeline, LongBurstIsProcessedInChunks) {
  auto snap = must_build(lab_state());
  auto ctx = make_ctx();
  std::vector<testing::Frame> frames;
  for (int i = 0; i < 150; ++i) frames.emplace_back(tcp_to_vip0(uint16_t(10000 + i), 0x02));
  std::vector<PacketBuf> bufs;
  for (auto& f : frames) bufs.push_back(f.buf());
  std::vector<Verdict> v(bufs.size(), Verdict::Drop);
  process_burst(ctx, *snap, bufs.data(), v.data(), uint32_t(bufs.size()), 5);
  for (size_t i = 0; i < v.size(); ++i) EXPECT_EQ(v[i], Verdict::Forward) << i;
  EXPECT_EQ(ctx.counters().forwarded, 150u);
}

// Two packets of one new flow in the same burst: the first creates the flow, the second
// finds it (lookups for the whole burst run before the first insert, so this is the case
// that must re-check), and the flow is counted new once.
TEST(Pipeline, NewFlowTwiceInOneBurstIsOneFlow) {
  auto snap = must_build(lab_state());
  auto ctx = make_ctx();
  std::vector<testing::Frame> frames;
  frames.emplace_back(tcp_to_vip0(12345, 0x02));
  frames.emplace_back(tcp_to_vip0(23456, 0x02));
  frames.emplace_back(tcp_to_vip0(12345, 0x10));
  PacketBuf bufs[3] = {frames[0].buf(), frames[1].buf(), frames[2].buf()};
  Verdict v[3];
  process_burst(ctx, *snap, bufs, v, 3, 5);
  for (auto verdict : v) EXPECT_EQ(verdict, Verdict::Forward);
  const auto out0 = testing::Bytes(bufs[0].data, bufs[0].data + bufs[0].len);
  const auto out2 = testing::Bytes(bufs[2].data, bufs[2].data + bufs[2].len);
  EXPECT_EQ(outer_destination(out0), outer_destination(out2));
  EXPECT_EQ(ctx.counters().new_flows, 2u);
  EXPECT_EQ(ctx.flows().counters().inserts, 2u);
  EXPECT_EQ(ctx.flows().occupancy(), 2u);
}

// Snapshot validation: the errors an operator would make are refused with a clear message.
TEST(Snapshot, RejectsInvalidState) {
  auto bad = [](auto mutate) {
    auto spec = lab_state();
    mutate(spec);
    auto s = Snapshot::build(spec, nullptr, 1);
    return s ? std::string() : s.error().message;
  };
  EXPECT_NE(bad([](StateSpec& s) { s.vips[0].table_size = 65536; }).find("prime"),
            std::string::npos);
  EXPECT_NE(bad([](StateSpec& s) { s.vips[1].proto = 1; }).find("protocol"), std::string::npos);
  EXPECT_NE(bad([](StateSpec& s) { s.vips.push_back(s.vips[0]); }), "");
  EXPECT_NE(bad([](StateSpec& s) { s.vips[0].backends.push_back(s.vips[0].backends[0]); }), "");
  EXPECT_NE(bad([](StateSpec& s) { s.egress.source_v6 = IpAddress(); }).find("IPv6"),
            std::string::npos);
  EXPECT_NE(bad([](StateSpec& s) { s.egress.mtu = 1300; }).find("MTU"), std::string::npos);
  EXPECT_EQ(bad([](StateSpec&) {}), "");
}

}  // namespace
}  // namespace steer::dataplane
