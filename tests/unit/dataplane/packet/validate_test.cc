// The validation rules of parse() (RFC 768 UDP length, RFC 5095 type-0 routing headers, IPv4
// option lengths and the source-route flag) and of check_vip_packet() (validate.h), one
// behaviour per test.
#include "dataplane/packet/validate.h"

#include <gtest/gtest.h>

#include "common/ip_address.h"
#include "testing/support/packet_builder.h"

namespace steer::dataplane {
namespace {

using steer::testing::Bytes;
using steer::testing::kClientMac;
using steer::testing::PacketBuilder;

constexpr const char* kClient = "198.51.100.7";
constexpr const char* kVip = "192.0.2.10";
constexpr const char* kClient6 = "2001:db8:c::7";
constexpr const char* kVip6 = "2001:db8::10";

struct Result {
  ParseStatus status;
  DropReason reason;
  ParsedPacket p;
};

Result parse_frame(const Bytes& b) {
  Result r{ParseStatus::Ok, DropReason::Internal, {}};
  r.status = parse(b.data(), uint32_t(b.size()), r.p, r.reason);
  return r;
}

// parse() then check_vip_packet(): the reason, or nullopt when the frame is accepted.
std::optional<DropReason> verdict(const Bytes& b) {
  const Result r = parse_frame(b);
  if (r.status == ParseStatus::Drop) return r.reason;
  return check_vip_packet(b.data(), r.p);
}

bool bad_source(const char* text) {
  const IpAddress a = IpAddress::parse(text).value();
  return is_bad_source(a.data(), !a.is_v4());
}

TEST(Validate, SourcesNoHostMayUseAreBad) {
  for (const char* a :
       {"0.0.0.0", "0.1.2.3", "127.0.0.1", "127.255.255.254", "224.0.0.1", "239.255.255.255",
        "240.0.0.0", "255.255.255.255", "::", "::1", "ff02::1", "ff0e::1"}) {
    EXPECT_TRUE(bad_source(a)) << a;
  }
}

TEST(Validate, OrdinarySourcesAreGood) {
  for (const char* a :
       {"1.0.0.0", "10.0.0.1", "126.255.255.255", "128.0.0.1", "198.51.100.7", "223.255.255.255",
        "::2", "2001:db8::1", "fe80::1", "fc00::1", "64:ff9b::c633:6407", "::fffe:1:2"}) {
    EXPECT_FALSE(bad_source(a)) << a;
  }
}

TEST(Validate, IpvFourMappedSourceInsideIpv4PacketIsJudgedByItsIpv4Address) {
  // An IPv4 packet's key holds ::ffff:a.b.c.d: that form is only bad inside an IPv6 header.
  const IpAddress a = IpAddress::parse("198.51.100.7").value();
  EXPECT_FALSE(is_bad_source(a.data(), false));
  EXPECT_TRUE(is_bad_source(a.data(), true));
}

TEST(Validate, UdpLengthMustEqualThePayload) {
  auto udp = [](std::optional<uint16_t> len) {
    return PacketBuilder().eth().ipv4(kClient, kVip).udp(5353, 53, len).payload(8).build();
  };
  EXPECT_EQ(parse_frame(udp(std::nullopt)).status, ParseStatus::Ok);
  for (uint16_t len : {0, 7, 8, 15, 17, 65535}) {
    const Result r = parse_frame(udp(len));
    EXPECT_EQ(r.status, ParseStatus::Drop) << len;
    EXPECT_EQ(r.reason, DropReason::BadUdpLength) << len;
  }
}

TEST(Validate, UdpLengthIgnoresEthernetPadding) {
  Bytes b = PacketBuilder().eth().ipv4(kClient, kVip).udp(5353, 53).payload(2).build();
  b.resize(60, 0);
  EXPECT_EQ(parse_frame(b).status, ParseStatus::Ok);
}

TEST(Validate, FirstFragmentUdpLengthCoversMoreThanTheFragment) {
  auto first = [](uint16_t len) {
    return PacketBuilder()
        .eth()
        .ipv4(kClient, kVip, {.df = false, .mf = true})
        .udp(5353, 53, len)
        .payload(16)
        .build();
  };
  EXPECT_EQ(parse_frame(first(1000)).status, ParseStatus::Ok);
  EXPECT_EQ(parse_frame(first(24)).reason, DropReason::BadUdpLength);  // = what it carries
  EXPECT_EQ(parse_frame(first(4)).reason, DropReason::BadUdpLength);
}

TEST(Validate, Ipv6FirstFragmentUdpLengthIsChecked) {
  auto first = [](uint16_t len) {
    return PacketBuilder()
        .eth()
        .ipv6(kClient6, kVip6)
        .ipv6_fragment(0, true, 7)
        .udp(5353, 53, len)
        .payload(16)
        .build();
  };
  EXPECT_EQ(parse_frame(first(2000)).status, ParseStatus::Ok);
  EXPECT_EQ(parse_frame(first(24)).reason, DropReason::BadUdpLength);
}

Bytes with_routing(uint8_t type, uint8_t segments_left) {
  Bytes b = PacketBuilder().eth().ipv6(kClient6, kVip6).ipv6_routing(2).tcp(40000, 443).build();
  b[14 + 40 + 2] = type;
  b[14 + 40 + 3] = segments_left;
  return b;
}

TEST(Validate, RoutingHeaderTypeZeroWithSegmentsLeftIsDropped) {
  const Result r = parse_frame(with_routing(0, 1));
  EXPECT_EQ(r.status, ParseStatus::Drop);
  EXPECT_EQ(r.reason, DropReason::Ipv6RoutingType0);
}

TEST(Validate, RoutingHeaderTypeZeroWithNoSegmentsLeftIsWalked) {
  // RFC 5095 3: treated like an unrecognised routing type with segments left 0 — ignored.
  EXPECT_EQ(parse_frame(with_routing(0, 0)).status, ParseStatus::Ok);
  EXPECT_EQ(parse_frame(with_routing(4, 1)).status, ParseStatus::Ok);
}

TEST(Validate, QuotedRoutingHeaderTypeZeroStillFindsTheFlow) {
  Bytes quoted = PacketBuilder().ipv6(kVip6, kClient6).ipv6_routing(2).tcp(443, 40000).build();
  quoted[40 + 3] = 1;  // type 0 (ipv6_routing writes 4 at byte 2; clear it) with segments left
  quoted[40 + 2] = 0;
  Bytes b =
      PacketBuilder().eth().ipv6("2001:db8:c::fe", kVip6).icmpv6(1, 0).payload(quoted).build();
  const Result r = parse_frame(b);
  ASSERT_EQ(r.status, ParseStatus::Ok);
  EXPECT_TRUE(r.p.has_inner);
}

TEST(Validate, Ipv4SourceRouteOptionsAreFound) {
  auto with = [](Bytes opts) {
    return parse_frame(PacketBuilder()
                           .eth()
                           .ipv4(kClient, kVip, {.options = std::move(opts)})
                           .tcp(40000, 80)
                           .build())
        .p.ipv4_source_route;
  };
  EXPECT_TRUE(with({131, 7, 4, 1, 2, 3, 4, 0}));
  EXPECT_TRUE(with({1, 1, 1, 137, 7, 4, 1, 2, 3, 4, 0, 0}));
  EXPECT_TRUE(with({7, 3, 4, 131, 3, 4, 0, 0}));  // after a record route
  EXPECT_FALSE(with({1, 1, 1, 1}));
  EXPECT_FALSE(with({0, 131, 3, 4}));  // after end of list
  EXPECT_FALSE(with({148, 4, 0, 0}));  // router alert
}

TEST(Validate, MalformedIpv4OptionsAreDropped) {
  // RFC 791 3.1: an option other than end-of-list and no-operation has a length byte of at
  // least 2 that stays inside the header; a list that breaks this cannot be walked.
  auto with = [](Bytes opts) {
    return parse_frame(PacketBuilder()
                           .eth()
                           .ipv4(kClient, kVip, {.options = std::move(opts)})
                           .tcp(40000, 80)
                           .build());
  };
  for (const Bytes& opts : {Bytes{7, 0, 131, 3}, Bytes{68, 1, 0, 0}, Bytes{7, 8, 4, 0},
                            Bytes{1, 1, 1, 7}, Bytes{1, 1, 131, 7, 4, 1, 2, 3}}) {
    const Result r = with(opts);
    EXPECT_EQ(r.status, ParseStatus::Drop) << steer::testing::to_hex(opts);
    EXPECT_EQ(r.reason, DropReason::BadIpv4Options) << steer::testing::to_hex(opts);
  }
  // End of list ends the walk: what follows is padding, whatever it holds.
  EXPECT_EQ(with({0, 7, 0, 0}).status, ParseStatus::Ok);
  EXPECT_EQ(with({7, 3, 4, 1, 7, 4, 4, 0}).status, ParseStatus::Ok);  // lengths that fit
}

TEST(Validate, GoodTcpIsAccepted) {
  for (uint8_t flags : {0x02, 0x12, 0x10, 0x18, 0x11, 0x14, 0x04, 0x19, 0x38, 0xc2}) {
    EXPECT_EQ(
        verdict(PacketBuilder().eth().ipv4(kClient, kVip).tcp(40000, 80, {.flags = flags}).build()),
        std::nullopt)
        << int(flags);
  }
}

TEST(Validate, TcpFlagsNoStackSendsAreDropped) {
  for (uint8_t flags : {0x00, 0x03, 0x06, 0x07, 0x29, 0x2b, 0x3f - 0x10, 0xc0, 0x13}) {
    EXPECT_EQ(
        verdict(PacketBuilder().eth().ipv4(kClient, kVip).tcp(40000, 80, {.flags = flags}).build()),
        DropReason::BadTcpFlags)
        << int(flags);
  }
}

TEST(Validate, TcpSegmentsWithoutSynRstOrAckAreDropped) {
  // RFC 9293 3.10.7: every segment but a SYN or a RST carries ACK; the rest is a scan (FIN
  // scan, null scan, xmas) whatever else it sets.
  for (uint8_t flags : {0x01, 0x08, 0x20, 0x09, 0x21, 0x28, 0x29, 0x41, 0x81, 0xc1}) {
    EXPECT_EQ(
        verdict(PacketBuilder().eth().ipv4(kClient, kVip).tcp(40000, 80, {.flags = flags}).build()),
        DropReason::BadTcpFlags)
        << int(flags);
  }
  // A RST needs no ACK (RFC 9293 3.10.7.3), nor does a SYN.
  for (uint8_t flags : {0x04, 0x0c, 0x02, 0x22, 0x42}) {
    EXPECT_EQ(
        verdict(PacketBuilder().eth().ipv4(kClient, kVip).tcp(40000, 80, {.flags = flags}).build()),
        std::nullopt)
        << int(flags);
  }
}

TEST(Validate, PortZeroIsDropped) {
  EXPECT_EQ(verdict(PacketBuilder().eth().ipv4(kClient, kVip).tcp(0, 80).build()),
            DropReason::ZeroPort);
  EXPECT_EQ(verdict(PacketBuilder().eth().ipv6(kClient6, kVip6).udp(53, 0).payload(4).build()),
            DropReason::ZeroPort);
}

TEST(Validate, LaterFragmentsHaveNoPortsToCheck) {
  Bytes b = PacketBuilder()
                .eth()
                .ipv4(kClient, kVip, {.df = false, .frag_offset = 3, .proto = 6})
                .payload(16)
                .build();
  EXPECT_EQ(verdict(b), std::nullopt);
}

TEST(Validate, GroupDestinationMacIsDropped) {
  EXPECT_EQ(verdict(PacketBuilder()
                        .eth(kClientMac, "01:00:5e:00:00:01")
                        .ipv4(kClient, kVip)
                        .tcp(40000, 80)
                        .build()),
            DropReason::L2GroupAddress);
}

TEST(Validate, ZeroTtlIsDropped) {
  EXPECT_EQ(verdict(PacketBuilder().eth().ipv4(kClient, kVip, {.ttl = 0}).tcp(40000, 80).build()),
            DropReason::ZeroTtl);
  EXPECT_EQ(verdict(PacketBuilder().eth().ipv4(kClient, kVip, {.ttl = 1}).tcp(40000, 80).build()),
            std::nullopt);
}

}  // namespace
}  // namespace steer::dataplane
