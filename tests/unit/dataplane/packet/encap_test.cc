#include "dataplane/packet/encap.h"

#include <algorithm>
#include <cstdint>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dataplane/packet/checksum.h"
#include "dataplane/packet/parse.h"
#include "testing/support/packet_builder.h"
#include "testing/support/pipeline_harness.h"

namespace steer::dataplane {
namespace {

using steer::testing::Bytes;
using steer::testing::Ipv4Options;
using steer::testing::Ipv6Options;
using steer::testing::kLbMac;
using steer::testing::kRouterMac;
using steer::testing::must_parse;
using steer::testing::PacketBuilder;
using steer::testing::parse_mac;
using steer::testing::to_hex;

constexpr std::string_view kNextHopMac = "02:00:00:00:00:42";
constexpr const char* kClient4 = "198.51.100.7";
constexpr const char* kVip4 = "192.0.2.10";
constexpr const char* kClient6 = "2001:db8:c::7";
constexpr const char* kVip6 = "2001:db8:f::10";
constexpr const char* kBackend4 = "10.0.0.2";
constexpr const char* kBackend6 = "2001:db8:b::2";

// A hash whose pieces are easy to read: upper half 0x12345678 feeds the outer source,
// bits 0..19 (0xcdef0) the flow label, bits 16..29 (0x1abc) the GUE source port.
constexpr uint64_t kHash = 0x1234'5678'9abc'def0ULL;
constexpr const char* kSource4ForHash = "10.255.0.120";      // 10.255.0.0 + 0x78 (8 bits)
constexpr const char* kSource6ForHash = "2001:db8:5::5678";  // 2001:db8:5:: + 0x5678 (16 bits)
constexpr uint32_t kFlowLabelForHash = 0xcdef0;
constexpr uint16_t kGuePortForHash = 0xc000 | 0x1abc;  // 55996

using steer::testing::Frame;

EncapTarget make_target(bool outer_v6, EncapType type) {
  EncapTarget t;
  t.type = type;
  t.backend = *IpAddress::parse(outer_v6 ? kBackend6 : kBackend4);
  t.source_v4 = *IpAddress::parse("10.255.0.0");
  t.source_v4_hash_bits = 8;
  t.source_v6 = *IpAddress::parse("2001:db8:5::");
  t.source_v6_hash_bits = 16;
  t.mtu = 1500;
  t.src_mac = parse_mac(kLbMac);
  t.dst_mac = parse_mac(kNextHopMac);
  return t;
}

struct ClientOptions {
  uint8_t tos = 0;
  bool df = true;
  size_t payload = 200;
  std::optional<uint16_t> vlan;

  ClientOptions& with_tos(uint8_t v) {
    tos = v;
    return *this;
  }
  ClientOptions& without_df() {
    df = false;
    return *this;
  }
  ClientOptions& with_payload(size_t n) {
    payload = n;
    return *this;
  }
  ClientOptions& with_vlan(uint16_t tci) {
    vlan = tci;
    return *this;
  }
};

// A client's TCP packet to the VIP as the upstream router delivers it.
Bytes client_frame(bool v6, ClientOptions c = {}) {
  PacketBuilder b;
  b.eth(kRouterMac, kLbMac);
  if (c.vlan) b.vlan(*c.vlan);
  if (v6) {
    Ipv6Options o;
    o.traffic_class = c.tos;
    o.flow_label = 0x12345;
    o.hop_limit = 57;
    b.ipv6(kClient6, kVip6, o);
  } else {
    Ipv4Options o;
    o.tos = c.tos;
    o.df = c.df;
    o.ttl = 57;
    b.ipv4(kClient4, kVip4, o);
  }
  return b.tcp(40000, 443).payload(c.payload).build();
}

// The IP packet inside a frame (no L2 header, no Ethernet padding), read independently of
// the parser: IPv4 total length or IPv6 payload length + 40.
Bytes inner_packet(const Bytes& frame) {
  const size_t l2 = (frame[12] == 0x81 && frame[13] == 0x00) ? 18 : 14;
  const uint8_t* ip = frame.data() + l2;
  const size_t len =
      (ip[0] >> 4) == 4 ? size_t{ip[2]} << 8 | ip[3] : 40 + (size_t{ip[4]} << 8 | ip[5]);
  return Bytes(ip, ip + len);
}

struct Expected {
  bool outer_v6 = false;
  EncapType type = EncapType::Ipip;
  uint8_t tos = 0;
  bool df = true;
  std::optional<uint16_t> vlan;
  std::string source;
  uint32_t flow_label = kFlowLabelForHash;
  uint16_t gue_port = kGuePortForHash;
};

// The frame the backend should receive, built independently with PacketBuilder: new
// Ethernet (+ tag), outer header with the fields the spec fixes, the inner packet as payload.
Bytes expected_frame(const Bytes& inner, const Expected& e) {
  const bool inner_v6 = (inner[0] >> 4) == 6;
  const bool gue = e.type == EncapType::Gue;
  PacketBuilder b;
  b.eth(kLbMac, kNextHopMac);
  if (e.vlan) b.vlan(*e.vlan);
  if (e.outer_v6) {
    Ipv6Options o;
    o.hop_limit = 64;
    o.traffic_class = e.tos;
    o.flow_label = e.flow_label;
    if (!gue) o.next_header = inner_v6 ? 41 : 4;
    b.ipv6(e.source, kBackend6, o);
  } else {
    Ipv4Options o;
    o.ttl = 64;
    o.tos = e.tos;
    o.id = 0;
    o.df = e.df;
    if (!gue) o.proto = inner_v6 ? 41 : 4;
    b.ipv4(e.source, kBackend4, o);
  }
  if (gue) b.udp(e.gue_port, 6080);
  Bytes out = b.payload(inner).build();
  if (gue && !e.outer_v6) {
    // GUE over IPv4 carries no UDP checksum; PacketBuilder always computes one.
    const size_t udp = (e.vlan ? 18 : 14) + 20;
    out[udp + 6] = 0;
    out[udp + 7] = 0;
  }
  return out;
}

struct Family {
  const char* name;
  bool inner_v6;
  bool outer_v6;
  EncapType type;
};

void PrintTo(const Family& f, std::ostream* os) { *os << f.name; }

class EncapFamily : public ::testing::TestWithParam<Family> {};

// Each family and encap type produces exactly the frame built independently.
TEST_P(EncapFamily, OutputMatchesIndependentlyBuiltFrame) {
  const Family f = GetParam();
  const Bytes in =
      client_frame(f.inner_v6, ClientOptions().with_tos(0x2e << 2 | 0x1));  // DSCP EF (46), ECT(1)
  Frame frame(in);
  ASSERT_EQ(encapsulate(frame.buf(), must_parse(in), make_target(f.outer_v6, f.type), kHash),
            EncapStatus::Ok);
  Expected e;
  e.outer_v6 = f.outer_v6;
  e.type = f.type;
  e.tos = 0x2e << 2 | 0x1;
  e.source = f.outer_v6 ? kSource6ForHash : kSource4ForHash;
  EXPECT_EQ(to_hex(frame.bytes()), to_hex(expected_frame(inner_packet(in), e)));
  EXPECT_TRUE(frame.consistent());
}

INSTANTIATE_TEST_SUITE_P(AllFamilies, EncapFamily,
                         ::testing::Values(Family{"Ipip4in4", false, false, EncapType::Ipip},
                                           Family{"Ipip6in6", true, true, EncapType::Ipip},
                                           Family{"Ipip4in6", false, true, EncapType::Ipip},
                                           Family{"Ipip6in4", true, false, EncapType::Ipip},
                                           Family{"Gue4in4", false, false, EncapType::Gue},
                                           Family{"Gue6in6", true, true, EncapType::Gue},
                                           Family{"Gue4in6", false, true, EncapType::Gue},
                                           Family{"Gue6in4", true, false, EncapType::Gue}),
                         [](const ::testing::TestParamInfo<Family>& i) {
                           return std::string(i.param.name);
                         });

// The outer header's fields, pinned at their offsets (IPv4 inner, IPv4 outer, IPIP).
TEST(Encap, Ipv4OuterHeaderFieldsArePinned) {
  const Bytes in = client_frame(false, ClientOptions().with_tos(0xb9));
  Frame frame(in);
  ASSERT_EQ(encapsulate(frame.buf(), must_parse(in), make_target(false, EncapType::Ipip), kHash),
            EncapStatus::Ok);
  const Bytes out = frame.bytes();
  ASSERT_EQ(out.size(), 14 + 20 + in.size() - 14);
  EXPECT_EQ(out[12], 0x08);
  EXPECT_EQ(out[13], 0x00);
  const uint8_t* ip = out.data() + 14;
  EXPECT_EQ(ip[0], 0x45);
  EXPECT_EQ(ip[1], 0xb9);                                  // DSCP 46, ECT(1): copied
  EXPECT_EQ(size_t{ip[2]} << 8 | ip[3], out.size() - 14);  // total length
  EXPECT_EQ(ip[4] | ip[5], 0);                             // ID 0
  EXPECT_EQ(ip[6], 0x40);                                  // DF, as the inner packet
  EXPECT_EQ(ip[8], 64);
  EXPECT_EQ(ip[9], 4);
  EXPECT_EQ(ipv4_header_checksum(ip, 20), 0);
  EXPECT_EQ(IpAddress::from_v4(ip + 12), *IpAddress::parse(kSource4ForHash));
  EXPECT_EQ(IpAddress::from_v4(ip + 16), *IpAddress::parse(kBackend4));
}

// DSCP and ECN bits (all 256 TOS values) reach the outer IPv4 TOS and IPv6 traffic class.
TEST(Encap, CopiesDscpAndEcnToOuterHeader) {
  for (int tos = 0; tos < 256; ++tos) {
    for (bool outer_v6 : {false, true}) {
      for (bool inner_v6 : {false, true}) {
        const Bytes in = client_frame(
            inner_v6, ClientOptions().with_tos(static_cast<uint8_t>(tos)).with_payload(10));
        Frame frame(in);
        ASSERT_EQ(
            encapsulate(frame.buf(), must_parse(in), make_target(outer_v6, EncapType::Ipip), kHash),
            EncapStatus::Ok);
        const uint8_t* ip = frame.buf().data + 14;
        const int outer_tos = outer_v6 ? (ip[0] & 0xf) << 4 | ip[1] >> 4 : ip[1];
        ASSERT_EQ(outer_tos, tos) << "outer_v6 " << outer_v6 << " inner_v6 " << inner_v6;
      }
    }
  }
}

// Outer DF follows an IPv4 inner packet's DF; an IPv6 inner packet (never fragmented on the
// way) always gets DF.
TEST(Encap, OuterDfFollowsInnerIpv4AndIsSetForIpv6) {
  const Bytes no_df = client_frame(false, ClientOptions().without_df());
  Frame a(no_df);
  ASSERT_EQ(encapsulate(a.buf(), must_parse(no_df), make_target(false, EncapType::Ipip), kHash),
            EncapStatus::Ok);
  Expected e;
  e.df = false;
  e.source = kSource4ForHash;
  EXPECT_EQ(to_hex(a.bytes()), to_hex(expected_frame(inner_packet(no_df), e)));

  const Bytes v6 = client_frame(true);
  Frame b(v6);
  ASSERT_EQ(encapsulate(b.buf(), must_parse(v6), make_target(false, EncapType::Gue), kHash),
            EncapStatus::Ok);
  EXPECT_EQ(b.buf().data[14 + 6], 0x40);
}

// The outer IPv4 source differs from the configured base only in the configured low bits,
// and every value of those bits occurs.
TEST(Encap, Ipv4SourceVariesInExactlyTheConfiguredBits) {
  for (uint8_t bits : {1, 4, 8, 12}) {
    EncapTarget t = make_target(false, EncapType::Ipip);
    t.source_v4 = *IpAddress::parse("10.255.170.85");  // alternating bits: any leak shows
    t.source_v4_hash_bits = bits;
    const uint32_t base = t.source_v4.v4_host();
    const uint32_t mask = (uint32_t{1} << bits) - 1;
    std::set<uint32_t> seen;
    std::mt19937_64 rng(bits);
    for (int i = 0; i < 100000; ++i) {
      const uint32_t src = encap_source(t, rng()).v4_host();
      ASSERT_EQ(src & ~mask, base & ~mask) << int{bits};
      seen.insert(src & mask);
    }
    EXPECT_EQ(seen.size(), size_t{1} << bits) << int{bits};
  }
}

// With 0 hash bits the outer source is the configured address, whatever the hash.
TEST(Encap, SourceIsFixedWithZeroHashBits) {
  EncapTarget t4 = make_target(false, EncapType::Ipip);
  t4.source_v4_hash_bits = 0;
  EncapTarget t6 = make_target(true, EncapType::Gue);
  t6.source_v6_hash_bits = 0;
  std::mt19937_64 rng(0);
  for (int i = 0; i < 1000; ++i) {
    const uint64_t h = rng();
    ASSERT_EQ(encap_source(t4, h), t4.source_v4);
    ASSERT_EQ(encap_source(t6, h), t6.source_v6);
  }
  // The same through the frame: two different hashes, same outer source.
  const Bytes in = client_frame(false);
  Frame a(in);
  Frame b(in);
  ASSERT_EQ(encapsulate(a.buf(), must_parse(in), t4, 1), EncapStatus::Ok);
  ASSERT_EQ(encapsulate(b.buf(), must_parse(in), t4, ~uint64_t{0}), EncapStatus::Ok);
  EXPECT_EQ(IpAddress::from_v4(a.buf().data + 14 + 12), t4.source_v4);
  EXPECT_EQ(IpAddress::from_v4(b.buf().data + 14 + 12), t4.source_v4);
}

// The outer IPv6 source keeps the configured prefix and varies only in the low bits,
// including widths beyond 32 bits.
TEST(Encap, Ipv6SourceVariesInExactlyTheConfiguredBits) {
  for (uint8_t bits : {1, 16, 40, 64}) {
    EncapTarget t = make_target(true, EncapType::Ipip);
    t.source_v6 = *IpAddress::parse("2001:db8:5555:5555:5555:5555:5555:5555");
    t.source_v6_hash_bits = bits;
    std::set<uint64_t> seen;
    std::mt19937_64 rng(bits);
    for (int i = 0; i < 2000; ++i) {
      const IpAddress src = encap_source(t, rng());
      for (int byte = 0; byte < 16; ++byte) {
        const int bit_lo = (15 - byte) * 8;  // lowest address bit held in this byte
        const uint8_t varying =
            bit_lo >= bits
                ? 0
                : static_cast<uint8_t>(bits - bit_lo >= 8 ? 0xff : (1 << (bits - bit_lo)) - 1);
        ASSERT_EQ(src.bytes()[byte] & ~varying, t.source_v6.bytes()[byte] & ~varying)
            << int{bits} << " byte " << byte;
      }
      uint64_t low = 0;
      for (int byte = 8; byte < 16; ++byte) low = low << 8 | src.bytes()[byte];
      seen.insert(low);
    }
    if (bits == 1) {
      EXPECT_EQ(seen.size(), 2u);
    } else {
      EXPECT_GT(seen.size(), 1900u) << int{bits};  // a few birthday collisions at 16 bits
    }
  }
}

// The same flow hash always gives the same outer header (per-flow stability).
TEST(Encap, SameHashGivesSameOuterHeader) {
  const Bytes in = client_frame(true);
  Frame a(in);
  Frame b(in);
  const EncapTarget t = make_target(true, EncapType::Gue);
  ASSERT_EQ(encapsulate(a.buf(), must_parse(in), t, 0xdeadbeefcafef00dULL), EncapStatus::Ok);
  ASSERT_EQ(encapsulate(b.buf(), must_parse(in), t, 0xdeadbeefcafef00dULL), EncapStatus::Ok);
  EXPECT_EQ(a.bytes(), b.bytes());
}

// GUE source ports stay in the dynamic range 49152..65535 and reach both ends of it.
TEST(Encap, GueSourcePortStaysInDynamicRange) {
  EXPECT_EQ(gue_source_port(0), 49152);
  EXPECT_EQ(gue_source_port(~uint64_t{0}), 65535);
  EXPECT_EQ(gue_source_port(kHash), kGuePortForHash);
  std::set<uint16_t> seen;
  std::mt19937_64 rng(49152);
  for (int i = 0; i < 100000; ++i) {
    const uint16_t port = gue_source_port(rng());
    ASSERT_GE(port, 49152);
    seen.insert(port);
  }
  EXPECT_GT(seen.size(), 15000u);  // of 16384 possible
  // And through the frame.
  const Bytes in = client_frame(false);
  Frame frame(in);
  ASSERT_EQ(encapsulate(frame.buf(), must_parse(in), make_target(false, EncapType::Gue), 0),
            EncapStatus::Ok);
  EXPECT_EQ(frame.buf().data[34] << 8 | frame.buf().data[35], 49152);
  EXPECT_EQ(frame.buf().data[36] << 8 | frame.buf().data[37], 6080);
}

// The configured GUE port is the outer destination port.
TEST(Encap, GueUsesConfiguredPort) {
  const Bytes in = client_frame(false);
  Frame frame(in);
  EncapTarget t = make_target(false, EncapType::Gue);
  t.gue_port = 5555;
  ASSERT_EQ(encapsulate(frame.buf(), must_parse(in), t, kHash), EncapStatus::Ok);
  EXPECT_EQ(frame.buf().data[36] << 8 | frame.buf().data[37], 5555);
}

// Over IPv6 the GUE UDP checksum is present and verifies, for odd and even inner lengths.
TEST(Encap, GueOverIpv6ChecksumVerifies) {
  std::mt19937_64 rng(8200);
  for (size_t payload : {0, 1, 2, 3, 511, 1000, 1391}) {
    for (bool inner_v6 : {false, true}) {
      const Bytes in = client_frame(inner_v6, ClientOptions().with_payload(payload));
      Frame frame(in);
      ASSERT_EQ(encapsulate(frame.buf(), must_parse(in), make_target(true, EncapType::Gue), rng()),
                EncapStatus::Ok);
      const uint8_t* ip = frame.buf().data + 14;
      const uint8_t* udp = ip + 40;
      ASSERT_NE(udp[6] | udp[7], 0) << payload;
      EXPECT_EQ(l4_checksum_v6(ip, 17, udp, frame.buf().len - 54), 0) << payload;
    }
  }
}

// Over IPv4 the GUE UDP checksum is 0 (not computed).
TEST(Encap, GueOverIpv4HasZeroChecksum) {
  const Bytes in = client_frame(true);
  Frame frame(in);
  ASSERT_EQ(encapsulate(frame.buf(), must_parse(in), make_target(false, EncapType::Gue), kHash),
            EncapStatus::Ok);
  EXPECT_EQ(frame.buf().data[34 + 6], 0);
  EXPECT_EQ(frame.buf().data[34 + 7], 0);
  EXPECT_EQ(size_t{frame.buf().data[34 + 4]} << 8 | frame.buf().data[34 + 5], 8 + in.size() - 14);
}

// The flow label carries the hash's low 20 bits.
TEST(Encap, FlowLabelComesFromHash) {
  EXPECT_EQ(encap_flow_label(kHash), kFlowLabelForHash);
  const Bytes in = client_frame(false);
  Frame frame(in);
  ASSERT_EQ(encapsulate(frame.buf(), must_parse(in), make_target(true, EncapType::Ipip), 0xfffff),
            EncapStatus::Ok);
  const uint8_t* ip = frame.buf().data + 14;
  EXPECT_EQ((ip[1] & 0xf) << 16 | ip[2] << 8 | ip[3], 0xfffff);
}

// Ethernet padding after a short IP packet is not carried into the tunnel.
TEST(Encap, StripsEthernetPadding) {
  for (bool outer_v6 : {false, true}) {
    const Bytes bare = client_frame(false, ClientOptions().with_payload(0));  // 54-byte SYN
    Bytes padded = bare;
    padded.resize(60, 0);
    Frame frame(padded);
    ASSERT_EQ(
        encapsulate(frame.buf(), must_parse(padded), make_target(outer_v6, EncapType::Gue), kHash),
        EncapStatus::Ok);
    Expected e;
    e.outer_v6 = outer_v6;
    e.type = EncapType::Gue;
    e.source = outer_v6 ? kSource6ForHash : kSource4ForHash;
    EXPECT_EQ(to_hex(frame.bytes()), to_hex(expected_frame(inner_packet(bare), e)));
    EXPECT_TRUE(frame.consistent());
  }
}

// A client frame with a VLAN tag leaves untagged when no egress VLAN is configured.
TEST(Encap, VlanTaggedInLeavesUntagged) {
  const Bytes in = client_frame(false, ClientOptions().with_vlan(0x0064));
  Frame frame(in);
  ASSERT_EQ(encapsulate(frame.buf(), must_parse(in), make_target(false, EncapType::Ipip), kHash),
            EncapStatus::Ok);
  Expected e;
  e.source = kSource4ForHash;
  EXPECT_EQ(to_hex(frame.bytes()), to_hex(expected_frame(inner_packet(in), e)));
}

// An untagged client frame leaves with the egress TCI (priority bits included).
TEST(Encap, UntaggedInLeavesWithEgressVlan) {
  for (bool outer_v6 : {false, true}) {
    const Bytes in = client_frame(true);
    Frame frame(in);
    EncapTarget t = make_target(outer_v6, EncapType::Gue);
    t.egress_vlan = 0xa123;  // PCP 5, VLAN 0x123
    ASSERT_EQ(encapsulate(frame.buf(), must_parse(in), t, kHash), EncapStatus::Ok);
    Expected e;
    e.outer_v6 = outer_v6;
    e.type = EncapType::Gue;
    e.vlan = 0xa123;
    e.source = outer_v6 ? kSource6ForHash : kSource4ForHash;
    EXPECT_EQ(to_hex(frame.bytes()), to_hex(expected_frame(inner_packet(in), e)));
  }
}

// The overhead and client MTU for each outer family and encap type.
TEST(Encap, OverheadAndClientMtuPerFamily) {
  EXPECT_EQ(encap_overhead(make_target(false, EncapType::Ipip)), 20);
  EXPECT_EQ(encap_overhead(make_target(false, EncapType::Gue)), 28);
  EXPECT_EQ(encap_overhead(make_target(true, EncapType::Ipip)), 40);
  EXPECT_EQ(encap_overhead(make_target(true, EncapType::Gue)), 48);
  EXPECT_EQ(encap_client_mtu(make_target(false, EncapType::Ipip)), 1480);
  EXPECT_EQ(encap_client_mtu(make_target(true, EncapType::Gue)), 1452);
  EncapTarget tiny = make_target(true, EncapType::Gue);
  tiny.mtu = 40;
  EXPECT_EQ(encap_client_mtu(tiny), 0);
}

// An inner packet that fills the MTU exactly is encapsulated; one byte more is TooBig, with
// the frame untouched.
TEST(Encap, OkAtExactlyMtuAndTooBigOneByteOver) {
  struct Case {
    bool inner_v6;
    bool outer_v6;
    EncapType type;
  };
  for (const Case c : {Case{false, false, EncapType::Ipip}, Case{true, true, EncapType::Gue},
                       Case{false, true, EncapType::Gue}, Case{true, false, EncapType::Ipip}}) {
    const EncapTarget t = make_target(c.outer_v6, c.type);
    const size_t headers = (c.inner_v6 ? 40 : 20) + 20;  // inner IP + TCP
    const size_t fits = encap_client_mtu(t) - headers;
    const Bytes ok_in = client_frame(c.inner_v6, ClientOptions().with_payload(fits));
    Frame ok(ok_in);
    ASSERT_EQ(encapsulate(ok.buf(), must_parse(ok_in), t, kHash), EncapStatus::Ok);
    const uint32_t l2 = 14;
    EXPECT_EQ(ok.buf().len - l2, uint32_t{t.mtu});  // the outer packet is exactly the MTU

    const Bytes big_in = client_frame(c.inner_v6, ClientOptions().with_payload(fits + 1));
    Frame big(big_in);
    EXPECT_EQ(encapsulate(big.buf(), must_parse(big_in), t, kHash), EncapStatus::TooBig);
    EXPECT_EQ(big.bytes(), big_in);
    EXPECT_EQ(big.buf().headroom, 128u);
    EXPECT_TRUE(big.consistent());
  }
}

// Headroom exactly as documented is enough; one byte less is NoHeadroom, frame untouched.
TEST(Encap, NoHeadroomLeavesFrameUntouched) {
  for (bool vlan_in : {false, true}) {
    for (uint16_t vlan_out : {0, 7}) {
      EncapTarget t = make_target(true, EncapType::Gue);
      t.egress_vlan = vlan_out;
      ClientOptions opts;
      if (vlan_in) opts.with_vlan(5);
      const Bytes in = client_frame(false, opts);
      const uint32_t need = 14 + (vlan_out ? 4 : 0) + 48 - (vlan_in ? 18 : 14);

      Frame short_frame(in, need - 1);
      EXPECT_EQ(encapsulate(short_frame.buf(), must_parse(in), t, kHash), EncapStatus::NoHeadroom);
      EXPECT_EQ(short_frame.bytes(), in);
      EXPECT_EQ(short_frame.buf().headroom, need - 1);
      EXPECT_TRUE(short_frame.consistent());

      Frame exact(in, need);
      EXPECT_EQ(encapsulate(exact.buf(), must_parse(in), t, kHash), EncapStatus::Ok);
      EXPECT_EQ(exact.buf().headroom, 0u);
      EXPECT_TRUE(exact.consistent());
    }
  }
}

// A ParsedPacket claiming more IP bytes than the frame holds is refused, frame untouched.
TEST(Encap, MalformedWhenParsedLengthExceedsFrame) {
  const Bytes in = client_frame(false);
  ParsedPacket p = must_parse(in);
  p.ip_total_len += 1;
  Frame frame(in);
  EXPECT_EQ(encapsulate(frame.buf(), p, make_target(false, EncapType::Ipip), kHash),
            EncapStatus::Malformed);
  EXPECT_EQ(frame.bytes(), in);
}

}  // namespace
}  // namespace steer::dataplane
