#include "dataplane/packet/icmp.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <vector>

#include <gtest/gtest.h>

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
using steer::testing::to_hex;

constexpr const char* kClient4 = "198.51.100.7";
constexpr const char* kVip4 = "192.0.2.10";
constexpr const char* kClient6 = "2001:db8:c::7";
constexpr const char* kVip6 = "2001:db8:f::10";

using steer::testing::Frame;

// A client's TCP packet to the VIP, as the router delivers it; `payload` bytes of data.
Bytes client_tcp(bool v6, size_t payload, std::optional<uint16_t> vlan = std::nullopt) {
  PacketBuilder b;
  b.eth(kRouterMac, kLbMac);
  if (vlan) b.vlan(*vlan);
  if (v6) {
    b.ipv6(kClient6, kVip6);
  } else {
    b.ipv4(kClient4, kVip4);
  }
  return b.tcp(40000, 443).payload(payload).build();
}

// The first `n` bytes of the IP packet in a frame (after `l2` bytes of Ethernet/VLAN).
Bytes ip_prefix(const Bytes& frame, size_t l2, size_t n) {
  return Bytes(frame.begin() + static_cast<std::ptrdiff_t>(l2),
               frame.begin() + static_cast<std::ptrdiff_t>(l2 + n));
}

// The reply the client should get, built independently with PacketBuilder.
Bytes expected_too_big(bool v6, uint32_t mtu_field, const Bytes& quoted,
                       std::optional<uint16_t> vlan = std::nullopt) {
  PacketBuilder b;
  b.eth(kLbMac, kRouterMac);
  if (vlan) b.vlan(*vlan);
  if (v6) {
    Ipv6Options o;
    o.hop_limit = 64;
    b.ipv6(kVip6, kClient6, o).icmpv6(2, 0, mtu_field);
  } else {
    Ipv4Options o;
    o.ttl = 64;
    o.tos = 0xc0;
    o.id = 0;
    o.df = false;
    b.ipv4(kVip4, kClient4, o).icmp(3, 4, mtu_field);
  }
  return b.payload(quoted).build();
}

// A small original packet is quoted whole in the IPv4 fragmentation-needed reply.
TEST(IcmpTooBig, Ipv4QuotesSmallPacketWhole) {
  const Bytes in = client_tcp(false, 100);
  Frame frame(in);
  ASSERT_TRUE(make_too_big_reply(frame.buf(), must_parse(in), 1480));
  EXPECT_EQ(to_hex(frame.bytes()), to_hex(expected_too_big(false, 1480, ip_prefix(in, 14, 140))));
  EXPECT_TRUE(frame.consistent());
}

// A full-size original is cut so the reply IP packet is exactly 576 bytes.
TEST(IcmpTooBig, Ipv4TruncatesLargePacketToExactly576) {
  const Bytes in = client_tcp(false, 1460);  // 1500-byte IP packet
  Frame frame(in);
  ASSERT_TRUE(make_too_big_reply(frame.buf(), must_parse(in), 1480));
  EXPECT_EQ(frame.buf().len, 14u + 576u);
  EXPECT_EQ(to_hex(frame.bytes()), to_hex(expected_too_big(false, 1480, ip_prefix(in, 14, 548))));
  EXPECT_TRUE(frame.consistent());
}

// At the boundary: a 548-byte original fits whole in 576; a 549-byte one loses its last byte.
TEST(IcmpTooBig, Ipv4BoundaryAt548QuotedBytes) {
  const Bytes fits = client_tcp(false, 548 - 40);
  Frame a(fits);
  ASSERT_TRUE(make_too_big_reply(a.buf(), must_parse(fits), 1400));
  EXPECT_EQ(to_hex(a.bytes()), to_hex(expected_too_big(false, 1400, ip_prefix(fits, 14, 548))));

  const Bytes over = client_tcp(false, 549 - 40);
  Frame b(over);
  ASSERT_TRUE(make_too_big_reply(b.buf(), must_parse(over), 1400));
  EXPECT_EQ(b.buf().len, 14u + 576u);
  EXPECT_EQ(to_hex(b.bytes()), to_hex(expected_too_big(false, 1400, ip_prefix(over, 14, 548))));
}

// A small original is quoted whole in the ICMPv6 packet-too-big reply.
TEST(IcmpTooBig, Ipv6QuotesSmallPacketWhole) {
  const Bytes in = client_tcp(true, 333);
  Frame frame(in);
  ASSERT_TRUE(make_too_big_reply(frame.buf(), must_parse(in), 1452));
  EXPECT_EQ(to_hex(frame.bytes()), to_hex(expected_too_big(true, 1452, ip_prefix(in, 14, 393))));
  EXPECT_TRUE(frame.consistent());
}

// A full-size original is cut so the reply IPv6 packet is exactly 1280 bytes.
TEST(IcmpTooBig, Ipv6TruncatesLargePacketToExactly1280) {
  const Bytes in = client_tcp(true, 1440);  // 1500-byte IPv6 packet
  Frame frame(in);
  ASSERT_TRUE(make_too_big_reply(frame.buf(), must_parse(in), 1452));
  EXPECT_EQ(frame.buf().len, 14u + 1280u);
  EXPECT_EQ(to_hex(frame.bytes()), to_hex(expected_too_big(true, 1452, ip_prefix(in, 14, 1232))));
}

// At the boundary: a 1232-byte original fits whole in 1280; a 1233-byte one is cut.
TEST(IcmpTooBig, Ipv6BoundaryAt1232QuotedBytes) {
  const Bytes fits = client_tcp(true, 1232 - 60);
  Frame a(fits);
  ASSERT_TRUE(make_too_big_reply(a.buf(), must_parse(fits), 1452));
  EXPECT_EQ(to_hex(a.bytes()), to_hex(expected_too_big(true, 1452, ip_prefix(fits, 14, 1232))));

  const Bytes over = client_tcp(true, 1233 - 60);
  Frame b(over);
  ASSERT_TRUE(make_too_big_reply(b.buf(), must_parse(over), 1452));
  EXPECT_EQ(b.buf().len, 14u + 1280u);
  EXPECT_EQ(to_hex(b.bytes()), to_hex(expected_too_big(true, 1452, ip_prefix(over, 14, 1232))));
}

// IPv6 never announces an MTU below 1280 (RFC 8200 section 5).
TEST(IcmpTooBig, Ipv6AnnouncesAtLeast1280) {
  const Bytes in = client_tcp(true, 1300);
  Frame frame(in);
  ASSERT_TRUE(make_too_big_reply(frame.buf(), must_parse(in), 1232));
  const uint8_t* icmp = frame.buf().data + 14 + 40;
  EXPECT_EQ(icmp[4] << 24 | icmp[5] << 16 | icmp[6] << 8 | icmp[7], 1280);
  EXPECT_EQ(to_hex(frame.bytes()), to_hex(expected_too_big(true, 1280, ip_prefix(in, 14, 1232))));
}

// The VLAN tag of the original frame stays on the reply, for both families.
TEST(IcmpTooBig, KeepsVlanTag) {
  for (bool v6 : {false, true}) {
    const Bytes in = client_tcp(v6, 1400, 0x2064);
    Frame frame(in);
    ASSERT_TRUE(make_too_big_reply(frame.buf(), must_parse(in), 1400));
    const size_t quoted = v6 ? 1232 : 548;
    EXPECT_EQ(to_hex(frame.bytes()),
              to_hex(expected_too_big(v6, 1400, ip_prefix(in, 18, quoted), 0x2064)))
        << "v6 " << v6;
    EXPECT_TRUE(frame.consistent());
  }
}

// Ethernet padding after a short original is not quoted.
TEST(IcmpTooBig, DoesNotQuoteEthernetPadding) {
  const Bytes bare = client_tcp(false, 0);  // 54-byte frame, 40-byte IP packet
  Bytes padded = bare;
  padded.resize(60, 0);
  Frame frame(padded);
  ASSERT_TRUE(make_too_big_reply(frame.buf(), must_parse(padded), 1480));
  EXPECT_EQ(to_hex(frame.bytes()), to_hex(expected_too_big(false, 1480, ip_prefix(bare, 14, 40))));
}

// Headroom for the new headers (28 bytes IPv4, 48 IPv6) is required; without it the frame is
// left as it was.
TEST(IcmpTooBig, FailsWithoutHeadroomAndLeavesFrameUntouched) {
  for (bool v6 : {false, true}) {
    const uint32_t need = v6 ? 48 : 28;
    const Bytes in = client_tcp(v6, 1400);
    Frame short_frame(in, need - 1);
    EXPECT_FALSE(make_too_big_reply(short_frame.buf(), must_parse(in), 1400));
    EXPECT_EQ(short_frame.bytes(), in);
    EXPECT_EQ(short_frame.buf().headroom, need - 1);

    Frame exact(in, need);
    EXPECT_TRUE(make_too_big_reply(exact.buf(), must_parse(in), 1400));
    EXPECT_EQ(exact.buf().headroom, 0u);
    EXPECT_TRUE(exact.consistent());
  }
}

// A ParsedPacket claiming more bytes than the frame holds is refused.
TEST(IcmpTooBig, RefusesParsedPacketLongerThanFrame) {
  const Bytes in = client_tcp(false, 10);
  ParsedPacket p = must_parse(in);
  p.ip_total_len = static_cast<uint32_t>(in.size());
  Frame frame(in);
  EXPECT_FALSE(make_too_big_reply(frame.buf(), p, 1400));
  EXPECT_EQ(frame.bytes(), in);
}

struct Echo {
  bool v6 = false;
  size_t payload = 37;
  uint8_t ttl = 57;
  uint8_t tos = 0x10;
  std::optional<uint16_t> vlan;
};

// An echo request (client -> VIP, from the router) or its expected reply (VIP -> client,
// to the router). Everything else — id/seq, payload, TOS, IPv4 ID/DF, flow label — is the
// same in both.
Bytes echo_frame(const Echo& e, bool reply) {
  PacketBuilder b;
  if (reply) {
    b.eth(kLbMac, kRouterMac);
  } else {
    b.eth(kRouterMac, kLbMac);
  }
  if (e.vlan) b.vlan(*e.vlan);
  if (e.v6) {
    Ipv6Options o;
    o.hop_limit = reply ? 64 : e.ttl;
    o.traffic_class = e.tos;
    o.flow_label = 0xabcde;
    b.ipv6(reply ? kVip6 : kClient6, reply ? kClient6 : kVip6, o);
    b.icmpv6(reply ? 129 : 128, 0, 0xbeef0007);
  } else {
    Ipv4Options o;
    o.ttl = reply ? 64 : e.ttl;
    o.tos = e.tos;
    o.id = 0x4321;
    o.df = false;
    b.ipv4(reply ? kVip4 : kClient4, reply ? kClient4 : kVip4, o);
    b.icmp(reply ? 0 : 8, 0, 0xbeef0007);
  }
  return b.payload(e.payload, 0x41).build();
}

// An IPv4 echo request with an odd-length payload becomes the exact expected reply.
TEST(IcmpEcho, Ipv4ReplyWithOddPayload) {
  const Echo e;
  const Bytes in = echo_frame(e, false);
  Frame frame(in);
  ASSERT_TRUE(make_echo_reply(frame.buf(), must_parse(in)));
  EXPECT_EQ(to_hex(frame.bytes()), to_hex(echo_frame(e, true)));
  EXPECT_TRUE(frame.consistent());
}

// An ICMPv6 echo request with a VLAN tag and an odd payload becomes the expected reply.
TEST(IcmpEcho, Ipv6ReplyWithVlanAndOddPayload) {
  Echo e;
  e.v6 = true;
  e.payload = 57;
  e.vlan = 0x0123;
  const Bytes in = echo_frame(e, false);
  Frame frame(in);
  ASSERT_TRUE(make_echo_reply(frame.buf(), must_parse(in)));
  EXPECT_EQ(to_hex(frame.bytes()), to_hex(echo_frame(e, true)));
}

// Ethernet padding after a short echo request is stripped from the reply.
TEST(IcmpEcho, StripsEthernetPadding) {
  Echo e;
  e.payload = 1;  // 43-byte frame, padded to 60
  Bytes in = echo_frame(e, false);
  in.resize(60, 0);
  Frame frame(in);
  ASSERT_TRUE(make_echo_reply(frame.buf(), must_parse(in)));
  EXPECT_EQ(to_hex(frame.bytes()), to_hex(echo_frame(e, true)));
  EXPECT_TRUE(frame.consistent());
}

// Incremental checksum updates match a fresh computation for many TTLs, TOS values and
// payload lengths (PacketBuilder computes the expected checksums from scratch).
TEST(IcmpEcho, IncrementalChecksumsMatchFreshOnes) {
  std::mt19937 rng(1624);
  for (int i = 0; i < 500; ++i) {
    Echo e;
    e.v6 = i % 2 == 1;
    e.payload = rng() % 300;
    e.ttl = static_cast<uint8_t>(rng());
    e.tos = static_cast<uint8_t>(rng());
    const Bytes in = echo_frame(e, false);
    Frame frame(in);
    ASSERT_TRUE(make_echo_reply(frame.buf(), must_parse(in)));
    ASSERT_EQ(to_hex(frame.bytes()), to_hex(echo_frame(e, true)))
        << "v6 " << e.v6 << " payload " << e.payload << " ttl " << int{e.ttl};
  }
}

// Anything but an unfragmented echo request is refused and left untouched.
TEST(IcmpEcho, RefusesNonEchoRequests) {
  std::vector<Bytes> frames;
  frames.push_back(PacketBuilder()
                       .eth(kRouterMac, kLbMac)
                       .ipv4(kClient4, kVip4)
                       .icmp(0, 0, 1)
                       .payload(8)
                       .build());  // echo reply
  frames.push_back(PacketBuilder()
                       .eth(kRouterMac, kLbMac)
                       .ipv6(kClient6, kVip6)
                       .icmpv6(129, 0, 1)
                       .payload(8)
                       .build());  // echo reply
  frames.push_back(client_tcp(false, 10));
  frames.push_back(client_tcp(true, 10));
  Ipv4Options first_fragment;
  first_fragment.mf = true;
  first_fragment.df = false;
  frames.push_back(PacketBuilder()
                       .eth(kRouterMac, kLbMac)
                       .ipv4(kClient4, kVip4, first_fragment)
                       .icmp(8, 0, 1)
                       .payload(16)
                       .build());
  for (const Bytes& in : frames) {
    Frame frame(in);
    EXPECT_FALSE(make_echo_reply(frame.buf(), must_parse(in))) << to_hex(in);
    EXPECT_EQ(frame.bytes(), in);
  }
}

}  // namespace
}  // namespace steer::dataplane
