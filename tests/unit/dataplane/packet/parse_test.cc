#include "dataplane/packet/parse.h"

#include <array>
#include <cstring>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/ip_address.h"
#include "dataplane/packet/bytes.h"
#include "testing/support/packet_builder.h"

namespace steer::dataplane {
namespace {

using steer::testing::Bytes;
using steer::testing::Ipv4Options;
using steer::testing::Ipv6Options;
using steer::testing::kClientMac;
using steer::testing::kLbMac;
using steer::testing::PacketBuilder;
using steer::testing::TcpOptions;

constexpr const char* kClient = "198.51.100.7";
constexpr const char* kVip = "192.0.2.10";
constexpr const char* kRouter = "203.0.113.1";
constexpr const char* kClient6 = "2001:db8:c::7";
constexpr const char* kVip6 = "2001:db8:100::10";
constexpr const char* kRouter6 = "2001:db8:ff::1";

// A reason parse() never gives, to show that `reason` was left alone.
constexpr DropReason kUnset = DropReason::NoBackend;

IpAddress ip(const char* text) { return IpAddress::parse(text).value(); }

FlowKey key(const char* src, const char* dst, uint16_t sport, uint16_t dport, uint8_t proto) {
  return FlowKey::make(ip(src), ip(dst), sport, dport, proto);
}

struct Parsed {
  ParseStatus status;
  DropReason reason;
  ParsedPacket p;
};

// Parses a copy of the first `n` bytes held in a buffer of exactly that size, so any read past
// the end is an out-of-bounds heap read under ASan.
Parsed parse_prefix(const Bytes& frame, size_t n) {
  const std::vector<uint8_t> copy(frame.begin(), frame.begin() + long(n));
  Parsed r{ParseStatus::Ok, kUnset, {}};
  r.status = parse(copy.data(), uint32_t(copy.size()), r.p, r.reason);
  return r;
}
Parsed parse_frame(const Bytes& frame) { return parse_prefix(frame, frame.size()); }

void put_be16(Bytes& b, size_t off, uint16_t v) {
  b.at(off) = uint8_t(v >> 8);
  b.at(off + 1) = uint8_t(v);
}

std::string describe(ParseStatus s) {
  switch (s) {
    case ParseStatus::Ok:
      return "Ok";
    case ParseStatus::NotIp:
      return "NotIp";
    case ParseStatus::Drop:
      return "Drop";
  }
  return "?";
}

// ---------------------------------------------------------------------------------------------
// bytes.h

TEST(ParseBytesTest, WindowInsideViewReadsBigEndianFields) {
  const uint8_t buf[6] = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc};
  const ByteView v(buf, 6);
  const auto w = v.window<4>(2);
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->u8<0>(), 0x56);
  EXPECT_EQ(w->be16<2>(), 0x9abc);
  EXPECT_EQ(w->be32<0>(), 0x56789abcu);
}

TEST(ParseBytesTest, WindowEndingExactlyAtEndIsInsideOnePastIsNot) {
  const uint8_t buf[8] = {};
  const ByteView v(buf, 8);
  EXPECT_TRUE(v.window<8>(0).has_value());
  EXPECT_TRUE(v.window<1>(7).has_value());
  EXPECT_FALSE(v.window<1>(8).has_value());
  EXPECT_FALSE(v.window<2>(7).has_value());
  EXPECT_FALSE(v.window<9>(0).has_value());
}

TEST(ParseBytesTest, HugeOffsetsDoNotWrapAround) {
  const uint8_t buf[8] = {};
  const ByteView v(buf, 8);
  EXPECT_FALSE(v.window<2>(0xffffffffu).has_value());
  EXPECT_FALSE(v.span(4, 0xfffffffdu).has_value());
  EXPECT_FALSE(v.contains(0xfffffff0u, 0x20));
}

TEST(ParseBytesTest, EmptyViewRefusesEveryReadButEmptySpan) {
  const ByteView v(nullptr, 0);
  EXPECT_FALSE(v.window<1>(0).has_value());
  EXPECT_TRUE(v.span(0, 0).has_value());
  EXPECT_FALSE(v.span(0, 1).has_value());
}

TEST(ParseBytesTest, SpanAndPrefixKeepFrameOffsets) {
  const uint8_t buf[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  const ByteView v(buf, 10);
  const auto s = v.span(3, 4);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->size(), 4u);
  EXPECT_EQ((*s)[0], 3);
  const auto p = v.prefix(6);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->size(), 6u);
  EXPECT_EQ(p->window<1>(5)->u8<0>(), 5);
  EXPECT_FALSE(p->window<1>(6).has_value());
  EXPECT_FALSE(v.prefix(11).has_value());
}

TEST(ParseBytesTest, MutableWindowStoresBigEndian) {
  uint8_t buf[8] = {};
  const MutableByteView v(buf, 8);
  const auto w = v.window<8>(0);
  ASSERT_TRUE(w.has_value());
  w->set_u8<0>(0xaa);
  w->set_be16<2>(0x1234);
  w->set_be32<4>(0xdeadbeef);
  const uint8_t want[8] = {0xaa, 0, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef};
  EXPECT_EQ(std::memcmp(buf, want, 8), 0);
}

TEST(ParseBytesTest, RawLoadsAndStoresRoundTrip) {
  uint8_t b[4];
  store_be16(b, 0xbeef);
  EXPECT_EQ(b[0], 0xbe);
  EXPECT_EQ(load_be16(b), 0xbeef);
  store_be32(b, 0x01020304);
  EXPECT_EQ(b[0], 0x01);
  EXPECT_EQ(b[3], 0x04);
  EXPECT_EQ(load_be32(b), 0x01020304u);
}

// ---------------------------------------------------------------------------------------------
// Fixtures: a frame and what parse() must say about it.

struct Expect {
  ParseStatus status = ParseStatus::Ok;
  DropReason reason = kUnset;  // checked when status == Drop
  std::optional<FlowKey> key;  // checked when set
  bool is_fragment = false;    // checked when status == Ok
  bool first_fragment = false;
  bool icmp_error = false;
  std::optional<FlowKey> inner;  // has_inner expected iff set (when status == Ok)

  Expect& fragment(bool first) {
    is_fragment = true;
    first_fragment = first;
    return *this;
  }
  Expect& error_with(std::optional<FlowKey> k) {
    icmp_error = true;
    inner = k;
    return *this;
  }
};

Expect ok(const FlowKey& k) { return Expect{ParseStatus::Ok, {}, k, false, false, false, {}}; }
Expect dropped(DropReason r) { return Expect{ParseStatus::Drop, r, {}, false, false, false, {}}; }
Expect not_ip() { return Expect{ParseStatus::NotIp, {}, {}, false, false, false, {}}; }

struct Fixture {
  std::string name;
  Bytes frame;
  Expect expect;
};

void PrintTo(const Fixture& f, std::ostream* os) { *os << f.name; }

Bytes with_padding(Bytes frame, size_t n) {
  frame.resize(frame.size() + n, 0);
  return frame;
}
Bytes cut_to(Bytes frame, size_t n) {
  frame.resize(n);
  return frame;
}
Bytes with_byte(Bytes frame, size_t off, uint8_t v) {
  frame.at(off) = v;
  return frame;
}

Ipv4Options v4opts(Bytes options) {
  Ipv4Options o;
  o.options = std::move(options);
  return o;
}

Ipv4Options v4frag(bool mf, uint16_t offset, std::optional<uint8_t> proto = {}) {
  Ipv4Options o;
  o.df = false;
  o.mf = mf;
  o.frag_offset = offset;
  o.id = 0xbeef;
  o.proto = proto;
  return o;
}

std::vector<Fixture> fixtures() {
  Ipv4Options options8;
  options8.options = {0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00};  // router alert, NOPs
  Ipv4Options options40;
  options40.options = Bytes(40, 0x01);
  Ipv4Options ihl4;
  ihl4.ihl = 4;
  Ipv4Options ihl15;
  ihl15.ihl = 15;
  Ipv4Options v4_version6;
  v4_version6.version = 6;
  Ipv4Options v4_total19;
  v4_total19.total_length = 19;
  Ipv4Options v4_total_lt_ihl = options8;
  v4_total_lt_ihl.total_length = 26;
  Ipv4Options v4_total_past_frame;
  v4_total_past_frame.total_length = 200;
  Ipv4Options gre;
  gre.proto = 47;
  Ipv6Options v6_version4;
  v6_version4.version = 4;
  Ipv6Options v6_payload_past_frame;
  v6_payload_past_frame.payload_length = 100;
  Ipv6Options v6_ah;
  v6_ah.next_header = 51;
  Ipv6Options v6_hbh_short;
  v6_hbh_short.payload_length = 8;  // a 24-byte hop-by-hop header declared in 8 bytes
  TcpOptions doff4;
  doff4.data_offset = 4;
  TcpOptions doff0;
  doff0.data_offset = 0;
  TcpOptions doff15;
  doff15.data_offset = 15;
  TcpOptions doff6;
  doff6.data_offset = 6;
  Ipv4Options inner_options;
  inner_options.options = {0x01, 0x01, 0x01, 0x00};
  Ipv4Options inner_long;  // an error quotes the start of a 1500-byte packet
  inner_long.total_length = 1500;
  Ipv4Options inner_tcp_only;  // an embedded header saying TCP, with too few bytes after it
  inner_tcp_only.proto = kProtoTcp;
  Ipv6Options inner6_tcp_only;
  inner6_tcp_only.next_header = kProtoTcp;
  Ipv4Options tcp_cut;  // TCP header declared 10 bytes long by the IP total length
  tcp_cut.total_length = 30;

  // AH (RFC 4302): next header TCP, length 4 → (4 + 2) * 4 = 24 bytes.
  Bytes ah(24, 0);
  ah[0] = kProtoTcp;
  ah[1] = 4;

  const FlowKey tcp4 = key(kClient, kVip, 40000, 80, kProtoTcp);
  const FlowKey udp4 = key(kClient, kVip, 5353, 53, kProtoUdp);
  const FlowKey tcp6 = key(kClient6, kVip6, 40000, 443, kProtoTcp);
  const FlowKey udp6 = key(kClient6, kVip6, 5353, 53, kProtoUdp);
  const FlowKey inner_tcp4 = key(kVip, kClient, 80, 40000, kProtoTcp);
  const FlowKey inner_udp4 = key(kVip, kClient, 53, 5353, kProtoUdp);
  const FlowKey inner_tcp6 = key(kVip6, kClient6, 443, 40000, kProtoTcp);
  const FlowKey inner_udp6 = key(kVip6, kClient6, 53, 5353, kProtoUdp);

  auto eth = [](auto... a) { return PacketBuilder().eth(a...); };
  auto ipv4 = [&](Ipv4Options o = {}) { return eth().ipv4(kClient, kVip, o); };
  auto ipv6 = [&](Ipv6Options o = {}) { return eth().ipv6(kClient6, kVip6, o); };
  auto icmp4 = [&](uint8_t type, uint8_t code) {
    return eth().ipv4(kRouter, kVip).icmp(type, code, 1400);
  };
  auto icmp6 = [&](uint8_t type, uint8_t code) {
    return eth().ipv6(kRouter6, kVip6).icmpv6(type, code, 1280);
  };

  std::vector<Fixture> f = {
      // L2
      {"Empty", {}, dropped(DropReason::TruncatedEthernet)},
      {"ThirteenBytes", Bytes(13, 0xff), dropped(DropReason::TruncatedEthernet)},
      {"VlanTagCutShort", eth(kClientMac, kLbMac, kEtherTypeVlan).payload(3).build(),
       dropped(DropReason::TruncatedVlan)},
      {"Arp", eth(kClientMac, "ff:ff:ff:ff:ff:ff", kEtherTypeArp).payload(28).build(),
       not_ip()},
      {"Lldp", eth(kClientMac, "01:80:c2:00:00:0e", 0x88cc).payload(30).build(),
       not_ip()},
      {"Mpls", eth(kClientMac, kLbMac, 0x8847).payload(40).build(),
       not_ip()},
      {"Ieee8023LengthField", eth(kClientMac, "01:80:c2:00:00:00", 0x0026).payload(38).build(),
       not_ip()},
      {"ArpInVlan", eth().vlan(7, kEtherTypeArp).payload(28).build(), not_ip()},
      {"EthernetHeaderOnlyIsNotIp", eth("02:00:00:00:00:01", "02:00:00:00:00:10", 0x88b5).build(),
       not_ip()},
      {"StackedVlan", eth().vlan(10).vlan(20).ipv4(kClient, kVip).tcp(40000, 80).build(),
       dropped(DropReason::StackedVlan)},
      {"StackedVlanOverQinqTpid", eth().vlan(10, 0x88a8).payload(40).build(),
       dropped(DropReason::StackedVlan)},

      // IPv4
      {"Ipv4Tcp", ipv4().tcp(40000, 80).payload(20).build(), ok(tcp4)},
      {"Ipv4TcpNoPayload", ipv4().tcp(40000, 80).build(), ok(tcp4)},
      {"Ipv4Udp", ipv4().udp(5353, 53).payload(12).build(), ok(udp4)},
      {"Ipv4TcpInVlan", eth().vlan(100).ipv4(kClient, kVip).tcp(40000, 80).build(), ok(tcp4)},
      {"Ipv4TcpWithOptions", ipv4(options8).tcp(40000, 80).payload(5).build(), ok(tcp4)},
      {"Ipv4UdpWithFortyBytesOfOptions", ipv4(options40).udp(5353, 53).build(), ok(udp4)},
      {"Ipv4TcpWithTcpOptions", ipv4().tcp(40000, 80, doff6).payload(4).build(), ok(tcp4)},
      {"Ipv4EthernetPaddingIgnored", with_padding(ipv4().udp(5353, 53).build(), 18), ok(udp4)},
      {"Ipv4OtherProtocolHasNoPorts", ipv4(gre).payload(24).build(),
       ok(key(kClient, kVip, 0, 0, 47))},
      {"Ipv4FirstFragmentHasPorts", ipv4(v4frag(true, 0)).tcp(40000, 80).payload(12).build(),
       ok(tcp4).fragment(true)},
      {"Ipv4MiddleFragmentHasNoPorts", ipv4(v4frag(true, 4, kProtoTcp)).payload(64).build(),
       ok(key(kClient, kVip, 0, 0, kProtoTcp)).fragment(false)},
      {"Ipv4LastFragmentHasNoPorts", ipv4(v4frag(false, 185, kProtoUdp)).payload(10).build(),
       ok(key(kClient, kVip, 0, 0, kProtoUdp)).fragment(false)},
      {"Ipv4HeaderCutShort", cut_to(ipv4().tcp(40000, 80).build(), 33),
       dropped(DropReason::TruncatedIpv4)},
      {"Ipv4EtherTypeWithoutHeader", eth(kClientMac, kLbMac, kEtherTypeIpv4).build(),
       dropped(DropReason::TruncatedIpv4)},
      {"Ipv4VersionSix", ipv4(v4_version6).tcp(40000, 80).build(),
       dropped(DropReason::BadIpv4Version)},
      {"Ipv4IhlFour", ipv4(ihl4).tcp(40000, 80).build(), dropped(DropReason::BadIpv4Ihl)},
      {"Ipv4IhlPastFrame", ipv4(ihl15).tcp(40000, 80).build(), dropped(DropReason::BadIpv4Ihl)},
      {"Ipv4TotalLengthBelowHeader", ipv4(v4_total19).tcp(40000, 80).build(),
       dropped(DropReason::BadIpv4TotalLength)},
      {"Ipv4TotalLengthBelowIhl", ipv4(v4_total_lt_ihl).tcp(40000, 80).build(),
       dropped(DropReason::BadIpv4TotalLength)},
      {"Ipv4TotalLengthPastFrame", ipv4(v4_total_past_frame).tcp(40000, 80).build(),
       dropped(DropReason::BadIpv4TotalLength)},
      {"Ipv4FragmentPast64k", ipv4(v4frag(false, 8189, kProtoUdp)).payload(100).build(),
       dropped(DropReason::BadIpv4Fragment)},
      {"Ipv4EmptyNonLastFragment", ipv4(v4frag(true, 8, kProtoUdp)).build(),
       dropped(DropReason::BadIpv4Fragment)},
      // RFC 791 3.2: all fragments but the last carry a multiple of 8 bytes.
      {"Ipv4NonLastFragmentNotMultipleOfEight",
       ipv4(v4frag(true, 8, kProtoUdp)).payload(12).build(), dropped(DropReason::BadIpv4Fragment)},
      {"Ipv4FirstFragmentNotMultipleOfEight",
       ipv4(v4frag(true, 0)).udp(5353, 53, 100).payload(13).build(),
       dropped(DropReason::BadIpv4Fragment)},
      {"Ipv4LastFragmentAnyLength", ipv4(v4frag(false, 8, kProtoUdp)).payload(13).build(),
       ok(key(kClient, kVip, 0, 0, kProtoUdp)).fragment(false)},
      // RFC 1858 3.4: a TCP fragment at offset 1 can only overwrite the first one's flags.
      {"Ipv4TcpFragmentAtOffsetOne", ipv4(v4frag(false, 1, kProtoTcp)).payload(16).build(),
       dropped(DropReason::BadIpv4Fragment)},
      {"Ipv4TcpFragmentAtOffsetTwo", ipv4(v4frag(false, 2, kProtoTcp)).payload(16).build(),
       ok(key(kClient, kVip, 0, 0, kProtoTcp)).fragment(false)},
      {"Ipv4UdpFragmentAtOffsetOne", ipv4(v4frag(false, 1, kProtoUdp)).payload(16).build(),
       ok(key(kClient, kVip, 0, 0, kProtoUdp)).fragment(false)},
      // RFC 791 3.1: an option's length byte is at least 2 and stays inside the header.
      {"Ipv4OptionLengthZero", ipv4(v4opts({0x07, 0x00, 0x00, 0x00})).tcp(40000, 80).build(),
       dropped(DropReason::BadIpv4Options)},
      {"Ipv4OptionLengthOne", ipv4(v4opts({0x44, 0x01, 0x00, 0x00})).tcp(40000, 80).build(),
       dropped(DropReason::BadIpv4Options)},
      {"Ipv4OptionLengthPastHeader",
       ipv4(v4opts({0x07, 0x08, 0x04, 0x00})).tcp(40000, 80).build(),
       dropped(DropReason::BadIpv4Options)},
      {"Ipv4OptionLengthByteMissing",
       ipv4(v4opts({0x01, 0x01, 0x01, 0x07})).tcp(40000, 80).build(),
       dropped(DropReason::BadIpv4Options)},
      {"Ipv4MalformedOptionBeforeSourceRoute",
       ipv4(v4opts({0x07, 0x00, 0x00, 0x00, 0x83, 0x07, 0x04, 203, 0, 113, 200, 0}))
           .tcp(40000, 80)
           .build(),
       dropped(DropReason::BadIpv4Options)},
      {"Ipv4OptionsEndAtEndOfList", ipv4(v4opts({0x00, 0xff, 0x00, 0x83})).tcp(40000, 80).build(),
       ok(tcp4)},
      {"Ipv4OptionFillingTheHeader",
       ipv4(v4opts({0x1e, 0x04, 0x00, 0x00, 0x01, 0x07, 0x03, 0x04})).tcp(40000, 80).build(),
       ok(tcp4)},
      {"Ipv4TcpHeaderCutByTotalLength", ipv4(tcp_cut).tcp(40000, 80).build(),
       dropped(DropReason::TruncatedL4)},
      {"Ipv4UdpHeaderCutByTotalLength",
       [&] {
         Ipv4Options o;
         o.total_length = 24;
         return ipv4(o).udp(5353, 53).payload(20).build();
       }(),
       dropped(DropReason::TruncatedL4)},
      {"Ipv4TcpFirstFragmentTooSmallForHeader",
       ipv4(v4frag(true, 0, kProtoTcp)).payload(8).build(), dropped(DropReason::TruncatedL4)},
      {"TcpDataOffsetFour", ipv4().tcp(40000, 80, doff4).build(),
       dropped(DropReason::BadTcpDataOffset)},
      {"TcpDataOffsetZero", ipv4().tcp(40000, 80, doff0).payload(40).build(),
       dropped(DropReason::BadTcpDataOffset)},
      {"TcpDataOffsetPastPacket", ipv4().tcp(40000, 80, doff15).payload(10).build(),
       dropped(DropReason::BadTcpDataOffset)},
      {"TcpDataOffsetIntoEthernetPadding",
       with_padding(ipv4().tcp(40000, 80, doff6).build(), 20),
       dropped(DropReason::BadTcpDataOffset)},

      // IPv6
      {"Ipv6Tcp", ipv6().tcp(40000, 443).payload(30).build(), ok(tcp6)},
      {"Ipv6Udp", ipv6().udp(5353, 53).build(), ok(udp6)},
      {"Ipv6UdpInVlan", eth().vlan(0x2005).ipv6(kClient6, kVip6).udp(5353, 53).build(), ok(udp6)},
      {"Ipv6EthernetPaddingIgnored", with_padding(ipv6().udp(5353, 53).build(), 7), ok(udp6)},
      {"Ipv6HopByHop", ipv6().ipv6_hop_by_hop().tcp(40000, 443).build(), ok(tcp6)},
      {"Ipv6Routing", ipv6().ipv6_routing(2).udp(5353, 53).build(), ok(udp6)},
      {"Ipv6DestinationOptions", ipv6().ipv6_dest_options(1).tcp(40000, 443).build(), ok(tcp6)},
      {"Ipv6AuthenticationHeader", ipv6(v6_ah).payload(ah).tcp(40000, 443).build(), ok(tcp6)},
      {"Ipv6ChainHopByHopRoutingDestOptions",
       ipv6().ipv6_hop_by_hop().ipv6_routing(1).ipv6_dest_options().udp(5353, 53).build(),
       ok(udp6)},
      {"Ipv6NoNextHeader", ipv6().ipv6_dest_options().build(),
       ok(key(kClient6, kVip6, 0, 0, 59))},
      {"Ipv6ChainOfEightAccepted",
       [&] {
         PacketBuilder b = ipv6();
         for (int i = 0; i < kMaxIpv6ExtHeaders; ++i) b.ipv6_dest_options();
         return b.udp(5353, 53).build();
       }(),
       ok(udp6)},
      {"Ipv6ChainOfNineTooLong",
       [&] {
         PacketBuilder b = ipv6();
         for (int i = 0; i < kMaxIpv6ExtHeaders + 1; ++i) b.ipv6_dest_options();
         return b.udp(5353, 53).build();
       }(),
       dropped(DropReason::Ipv6ExtChainTooLong)},
      {"Ipv6HopByHopNotFirst", ipv6().ipv6_routing().ipv6_hop_by_hop().udp(5353, 53).build(),
       dropped(DropReason::BadIpv6ExtHeader)},
      {"Ipv6FirstFragmentHasPorts",
       // UDP length: the whole datagram, more than this fragment carries (RFC 768).
       ipv6().ipv6_fragment(0, true, 0xabcdef).udp(5353, 53, 1000).payload(24).build(),
       ok(udp6).fragment(true)},
      {"Ipv6FirstFragmentAfterHopByHop",
       ipv6().ipv6_hop_by_hop().ipv6_fragment(0, true, 7).tcp(40000, 443).payload(4).build(),
       ok(tcp6).fragment(true)},
      // The fragment header's next header is patched to TCP: the builder cannot know it.
      {"Ipv6NonFirstFragmentHasNoPorts",
       with_byte(ipv6().ipv6_fragment(100, false, 0x11223344).payload(64).build(), 54, kProtoTcp),
       ok(key(kClient6, kVip6, 0, 0, kProtoTcp)).fragment(false)},
      {"Ipv6AtomicFragmentIsWholePacket",
       ipv6().ipv6_fragment(0, false, 9).tcp(40000, 443).payload(3).build(), ok(tcp6)},
      {"Ipv6TruncatedHeader", cut_to(ipv6().udp(1, 2).build(), 53),
       dropped(DropReason::TruncatedIpv6)},
      {"Ipv6VersionFour", ipv6(v6_version4).udp(5353, 53).build(),
       dropped(DropReason::BadIpv6Version)},
      {"Ipv6PayloadLengthPastFrame", ipv6(v6_payload_past_frame).udp(5353, 53).build(),
       dropped(DropReason::BadIpv6PayloadLength)},
      {"Ipv6ExtHeaderCutByPayloadLength",
       ipv6(v6_hbh_short).ipv6_hop_by_hop(2).udp(5353, 53).build(),
       dropped(DropReason::TruncatedIpv6ExtHeader)},
      {"Ipv6TwoFragmentHeaders",
       ipv6().ipv6_fragment(0, true, 1).ipv6_fragment(0, true, 1).udp(5353, 53).payload(16).build(),
       dropped(DropReason::BadIpv6Fragment)},
      {"Ipv6NonLastFragmentNotMultipleOfEight",
       ipv6().ipv6_fragment(0, true, 1).udp(5353, 53).payload(3).build(),
       dropped(DropReason::BadIpv6Fragment)},
      {"Ipv6FragmentPast64k", ipv6().ipv6_fragment(8191, false, 1).payload(16).build(),
       dropped(DropReason::BadIpv6Fragment)},
      {"Ipv6TinyFirstFragmentCutsTcpHeader",
       [&] {
         // A first fragment carrying 8 bytes: only the start of the TCP header.
         Bytes b = cut_to(ipv6().ipv6_fragment(0, true, 1).tcp(40000, 443).build(), 14 + 40 + 16);
         put_be16(b, 18, 16);
         return b;
       }(),
       dropped(DropReason::TruncatedL4)},

      // ICMP
      {"IcmpEchoRequestHasNoPorts", ipv4().icmp(8, 0, 0x12340001).payload(56).build(),
       ok(key(kClient, kVip, 0, 0, kProtoIcmp))},
      {"IcmpTimestampIsNotAnError", ipv4().icmp(13, 0).payload(12).build(),
       ok(key(kClient, kVip, 0, 0, kProtoIcmp))},
      {"IcmpRedirectIsNotAnError", ipv4().icmp(5, 1).ipv4(kVip, kClient).tcp(80, 40000).build(),
       ok(key(kClient, kVip, 0, 0, kProtoIcmp))},
      {"Icmpv6EchoRequestHasNoPorts", ipv6().icmpv6(128, 0, 0x00010002).payload(8).build(),
       ok(key(kClient6, kVip6, 0, 0, kProtoIcmpv6))},
      {"IcmpFragNeededWithTcp", icmp4(3, 4).ipv4(kVip, kClient).tcp(80, 40000).build(),
       ok(key(kRouter, kVip, 0, 0, kProtoIcmp)).error_with(inner_tcp4)},
      {"IcmpPortUnreachableWithUdp", icmp4(3, 3).ipv4(kVip, kClient).udp(53, 5353).build(),
       ok(key(kRouter, kVip, 0, 0, kProtoIcmp)).error_with(inner_udp4)},
      {"IcmpTimeExceededWithTcp", icmp4(11, 0).ipv4(kVip, kClient).tcp(80, 40000).build(),
       ok(key(kRouter, kVip, 0, 0, kProtoIcmp)).error_with(inner_tcp4)},
      {"IcmpParameterProblemWithUdp", icmp4(12, 0).ipv4(kVip, kClient).udp(53, 5353).build(),
       ok(key(kRouter, kVip, 0, 0, kProtoIcmp)).error_with(inner_udp4)},
      {"IcmpErrorEmbeddedIpv4WithOptions",
       icmp4(3, 4).ipv4(kVip, kClient, inner_options).tcp(80, 40000).build(),
       ok(key(kRouter, kVip, 0, 0, kProtoIcmp)).error_with(inner_tcp4)},
      {"IcmpErrorEmbeddedTotalLengthLongerThanQuote",
       icmp4(3, 4).ipv4(kVip, kClient, inner_long).tcp(80, 40000).build(),
       ok(key(kRouter, kVip, 0, 0, kProtoIcmp)).error_with(inner_tcp4)},
      {"IcmpErrorQuotingOnlyEightL4Bytes",
       [&] {
         Bytes b = icmp4(3, 4).ipv4(kVip, kClient, inner_long).tcp(80, 40000).build();
         b.resize(14 + 20 + 8 + 20 + 8);
         put_be16(b, 16, 20 + 8 + 20 + 8);
         return b;
       }(),
       ok(key(kRouter, kVip, 0, 0, kProtoIcmp)).error_with(inner_tcp4)},
      // RFC 792: the quote holds the IP header and 64 bits of data; the ports alone are not
      // enough.
      {"IcmpErrorQuotingOnlyFourL4Bytes",
       [&] {
         Bytes b = icmp4(3, 4).ipv4(kVip, kClient, inner_long).tcp(80, 40000).build();
         b.resize(14 + 20 + 8 + 20 + 4);
         put_be16(b, 16, 20 + 8 + 20 + 4);
         return b;
       }(),
       ok(key(kRouter, kVip, 0, 0, kProtoIcmp)).error_with(std::nullopt)},
      {"IcmpErrorQuotingSevenL4Bytes",
       [&] {
         Bytes b = icmp4(3, 4).ipv4(kVip, kClient, inner_long).udp(53, 5353).build();
         b.resize(14 + 20 + 8 + 20 + 7);
         put_be16(b, 16, 20 + 8 + 20 + 7);
         return b;
       }(),
       ok(key(kRouter, kVip, 0, 0, kProtoIcmp)).error_with(std::nullopt)},
      {"Icmpv6ErrorQuotingOnlyFourL4Bytes",
       [&] {
         Bytes b = icmp6(2, 0).ipv6(kVip6, kClient6).tcp(443, 40000).build();
         b.resize(14 + 40 + 8 + 40 + 4);
         put_be16(b, 18, 8 + 40 + 4);
         return b;
       }(),
       ok(key(kRouter6, kVip6, 0, 0, kProtoIcmpv6)).error_with(std::nullopt)},
      {"IcmpErrorEmbeddedPortsCut",
       icmp4(3, 4).ipv4(kVip, kClient, inner_tcp_only).payload({0, 80, 0x9c}).build(),
       ok(key(kRouter, kVip, 0, 0, kProtoIcmp)).error_with(std::nullopt)},
      {"IcmpErrorEmbeddedHeaderCut", icmp4(3, 4).payload({0x45, 0, 0, 40, 0, 0}).build(),
       ok(key(kRouter, kVip, 0, 0, kProtoIcmp)).error_with(std::nullopt)},
      {"IcmpErrorEmptyQuote", icmp4(11, 0).build(),
       ok(key(kRouter, kVip, 0, 0, kProtoIcmp)).error_with(std::nullopt)},
      {"IcmpErrorEmbeddedBadIhl",
       [&] {
         Ipv4Options o;
         o.ihl = 3;
         return icmp4(3, 4).ipv4(kVip, kClient, o).tcp(80, 40000).build();
       }(),
       ok(key(kRouter, kVip, 0, 0, kProtoIcmp)).error_with(std::nullopt)},
      {"IcmpErrorEmbeddedIpv6IsNotAccepted",
       icmp4(3, 4).ipv6(kVip6, kClient6).tcp(443, 40000).build(),
       ok(key(kRouter, kVip, 0, 0, kProtoIcmp)).error_with(std::nullopt)},
      {"IcmpErrorAboutEchoHasTupleWithoutPorts",
       icmp4(11, 0).ipv4(kVip, kClient).icmp(0, 0, 0x00010001).build(),
       ok(key(kRouter, kVip, 0, 0, kProtoIcmp)).error_with(key(kVip, kClient, 0, 0, kProtoIcmp))},
      {"IcmpErrorAboutNonFirstFragmentHasNoPorts",
       icmp4(11, 1).ipv4(kVip, kClient, v4frag(false, 100, kProtoUdp)).payload(8).build(),
       ok(key(kRouter, kVip, 0, 0, kProtoIcmp)).error_with(key(kVip, kClient, 0, 0, kProtoUdp))},
      {"IcmpHeaderCut",
       [&] {
         Bytes b = icmp4(8, 0).build();
         b.resize(14 + 20 + 4);
         put_be16(b, 16, 24);
         return b;
       }(),
       dropped(DropReason::TruncatedIcmp)},
      {"Icmpv6DestUnreachableWithTcp", icmp6(1, 4).ipv6(kVip6, kClient6).tcp(443, 40000).build(),
       ok(key(kRouter6, kVip6, 0, 0, kProtoIcmpv6)).error_with(inner_tcp6)},
      {"Icmpv6PacketTooBigWithTcp", icmp6(2, 0).ipv6(kVip6, kClient6).tcp(443, 40000).build(),
       ok(key(kRouter6, kVip6, 0, 0, kProtoIcmpv6)).error_with(inner_tcp6)},
      {"Icmpv6TimeExceededWithUdp", icmp6(3, 0).ipv6(kVip6, kClient6).udp(53, 5353).build(),
       ok(key(kRouter6, kVip6, 0, 0, kProtoIcmpv6)).error_with(inner_udp6)},
      {"Icmpv6ParameterProblemWithUdp", icmp6(4, 1).ipv6(kVip6, kClient6).udp(53, 5353).build(),
       ok(key(kRouter6, kVip6, 0, 0, kProtoIcmpv6)).error_with(inner_udp6)},
      {"Icmpv6ErrorEmbeddedExtensionHeader",
       icmp6(2, 0).ipv6(kVip6, kClient6).ipv6_dest_options(1).tcp(443, 40000).build(),
       ok(key(kRouter6, kVip6, 0, 0, kProtoIcmpv6)).error_with(inner_tcp6)},
      {"Icmpv6ErrorEmbeddedFirstFragment",
       icmp6(2, 0).ipv6(kVip6, kClient6).ipv6_fragment(0, true, 3).udp(53, 5353).build(),
       ok(key(kRouter6, kVip6, 0, 0, kProtoIcmpv6)).error_with(inner_udp6)},
      {"Icmpv6ErrorEmbeddedNonFirstFragment",
       with_byte(icmp6(3, 1).ipv6(kVip6, kClient6).ipv6_fragment(10, false, 5).payload(16).build(),
                 14 + 40 + 8 + 40, kProtoUdp),
       ok(key(kRouter6, kVip6, 0, 0, kProtoIcmpv6))
           .error_with(key(kVip6, kClient6, 0, 0, kProtoUdp))},
      {"Icmpv6ErrorEmbeddedExtHeaderCut",
       [&] {
         Bytes b = icmp6(1, 0).ipv6(kVip6, kClient6).ipv6_dest_options(3).build();
         b.resize(b.size() - 8);
         put_be16(b, 18, uint16_t(b.size() - 54));
         return b;
       }(),
       ok(key(kRouter6, kVip6, 0, 0, kProtoIcmpv6)).error_with(std::nullopt)},
      {"Icmpv6ErrorEmbeddedPortsCut",
       icmp6(1, 3).ipv6(kVip6, kClient6, inner6_tcp_only).payload({0x01, 0xbb}).build(),
       ok(key(kRouter6, kVip6, 0, 0, kProtoIcmpv6)).error_with(std::nullopt)},
      {"Icmpv6ErrorEmbeddedIpv4IsNotAccepted",
       icmp6(1, 3).ipv4(kVip, kClient).udp(53, 5353).payload(20).build(),
       ok(key(kRouter6, kVip6, 0, 0, kProtoIcmpv6)).error_with(std::nullopt)},
      {"Icmpv6NeighborSolicitationIsNotAnError", ipv6().icmpv6(135, 0).payload(16).build(),
       ok(key(kClient6, kVip6, 0, 0, kProtoIcmpv6))},
      {"Icmpv4NumberInsideIpv6IsOpaque",
       [&] {
         Ipv6Options o;
         o.next_header = kProtoIcmp;
         return ipv6(o).icmp(3, 4).ipv4(kVip, kClient).tcp(80, 40000).build();
       }(),
       ok(key(kClient6, kVip6, 0, 0, kProtoIcmp))},

      // Sizes
      {"JumboIpv4", ipv4().tcp(40000, 80).payload(9000 - 54).build(), ok(tcp4)},
      {"JumboIpv6", ipv6().udp(5353, 53).payload(9000 - 62).build(), ok(udp6)},
  };
  return f;
}

class ParseFixtureTest : public ::testing::TestWithParam<Fixture> {};

// Every fixture gets exactly the status, drop reason, key, fragment and ICMP verdict listed.
TEST_P(ParseFixtureTest, ParsesAsListed) {
  const Fixture& f = GetParam();
  const Parsed r = parse_frame(f.frame);
  ASSERT_EQ(describe(r.status), describe(f.expect.status));
  if (r.status == ParseStatus::Drop) {
    EXPECT_EQ(drop_reason_name(r.reason), drop_reason_name(f.expect.reason));
    return;
  }
  if (r.status == ParseStatus::NotIp) return;
  if (f.expect.key) {
    EXPECT_EQ(r.p.key.src_addr(), f.expect.key->src_addr());
    EXPECT_EQ(r.p.key.dst_addr(), f.expect.key->dst_addr());
    EXPECT_EQ(r.p.key.src_port(), f.expect.key->src_port());
    EXPECT_EQ(r.p.key.dst_port(), f.expect.key->dst_port());
    EXPECT_EQ(r.p.key.proto, f.expect.key->proto);
    EXPECT_TRUE(r.p.key == *f.expect.key) << "key bytes differ (padding?)";
  }
  EXPECT_EQ(r.p.is_fragment, f.expect.is_fragment);
  EXPECT_EQ(r.p.first_fragment, f.expect.first_fragment);
  EXPECT_EQ(r.p.icmp_is_error, f.expect.icmp_error);
  EXPECT_EQ(r.p.has_inner, f.expect.inner.has_value());
  if (f.expect.inner && r.p.has_inner) {
    EXPECT_EQ(r.p.inner_key.src_addr(), f.expect.inner->src_addr());
    EXPECT_EQ(r.p.inner_key.dst_addr(), f.expect.inner->dst_addr());
    EXPECT_EQ(r.p.inner_key.src_port(), f.expect.inner->src_port());
    EXPECT_EQ(r.p.inner_key.dst_port(), f.expect.inner->dst_port());
    EXPECT_EQ(r.p.inner_key.proto, f.expect.inner->proto);
    EXPECT_TRUE(r.p.inner_key == *f.expect.inner);
  }
  if (!r.p.has_inner) {
    EXPECT_TRUE(r.p.inner_key == FlowKey{});
  }
}

INSTANTIATE_TEST_SUITE_P(Parse, ParseFixtureTest, ::testing::ValuesIn(fixtures()),
                         [](const ::testing::TestParamInfo<Fixture>& i) { return i.param.name; });

// No prefix of any fixture makes the parser read past the end (ASan build) or stop being
// deterministic.
TEST(ParseTest, EveryPrefixOfEveryFixtureStaysInBounds) {
  for (const Fixture& f : fixtures()) {
    SCOPED_TRACE(f.name);
    for (size_t n = 0; n <= f.frame.size() && n <= 600; ++n) {
      const Parsed a = parse_prefix(f.frame, n);
      const Parsed b = parse_prefix(f.frame, n);
      ASSERT_EQ(a.status, b.status) << "n=" << n;
      if (a.status == ParseStatus::Ok) {
        ASSERT_LE(a.p.l4_offset, n);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Truncation at every layer

struct Outcome {
  ParseStatus status;
  DropReason reason;  // when Drop
  bool has_inner;     // when Ok
};
Outcome drop_as(DropReason r) { return {ParseStatus::Drop, r, false}; }
Outcome parsed(bool has_inner = false) { return {ParseStatus::Ok, kUnset, has_inner}; }

// "Every cut shorter than `below` gives `outcome`", in increasing order of `below`.
struct CutRule {
  size_t below;
  Outcome outcome;
};

struct TruncationCase {
  std::string name;
  Bytes frame;
  size_t l2;  // offset of the IP header
  bool v6;
  std::vector<CutRule> raw;     // frame cut, IP length fields left as built
  size_t honest_from;           // first cut at which the IP length can be made to match
  std::vector<CutRule> honest;  // frame cut and the IP length field rewritten to match
};

Outcome expected_at(const std::vector<CutRule>& rules, size_t n) {
  for (const CutRule& r : rules)
    if (n < r.below) return r.outcome;
  ADD_FAILURE() << "no rule for cut " << n;
  return parsed();
}

void check_cut(const Bytes& frame, size_t n, const Outcome& want) {
  const Parsed r = parse_frame(frame);
  ASSERT_EQ(describe(r.status), describe(want.status)) << "cut at " << n;
  if (want.status == ParseStatus::Drop) {
    EXPECT_EQ(drop_reason_name(r.reason), drop_reason_name(want.reason)) << "cut at " << n;
  } else {
    EXPECT_EQ(r.p.has_inner, want.has_inner) << "cut at " << n;
  }
}

std::vector<TruncationCase> truncation_cases() {
  using R = DropReason;
  std::vector<TruncationCase> cases;
  {
    Ipv4Options o;
    o.options = {0x01, 0x01, 0x01, 0x00};
    TcpOptions t;
    t.data_offset = 6;
    const Bytes f =
        PacketBuilder().eth().ipv4(kClient, kVip, o).tcp(40000, 80, t).payload(4 + 6).build();
    // eth 14 | ip 24 | tcp 24 | payload 6
    cases.push_back({"Ipv4OptionsTcpOptions",
                     f,
                     14,
                     false,
                     {{14, drop_as(R::TruncatedEthernet)},
                      {34, drop_as(R::TruncatedIpv4)},
                      {38, drop_as(R::BadIpv4Ihl)},
                      {f.size(), drop_as(R::BadIpv4TotalLength)}},
                     38,
                     {{58, drop_as(R::TruncatedL4)},
                      {62, drop_as(R::BadTcpDataOffset)},
                      {f.size(), parsed()}}});
  }
  {
    const Bytes f =
        PacketBuilder().eth().vlan(42).ipv4(kClient, kVip).udp(5353, 53).payload(9).build();
    cases.push_back({"VlanIpv4Udp",
                     f,
                     18,
                     false,
                     {{14, drop_as(R::TruncatedEthernet)},
                      {18, drop_as(R::TruncatedVlan)},
                      {38, drop_as(R::TruncatedIpv4)},
                      {f.size(), drop_as(R::BadIpv4TotalLength)}},
                     38,
                     // Cut inside the payload, the datagram no longer matches its UDP length.
                     {{46, drop_as(R::TruncatedL4)}, {f.size(), drop_as(R::BadUdpLength)}}});
  }
  {
    const Bytes f = PacketBuilder()
                        .eth()
                        .vlan(42)
                        .ipv6(kClient6, kVip6)
                        .ipv6_hop_by_hop()
                        .ipv6_routing(1)
                        .ipv6_dest_options()
                        .udp(5353, 53)
                        .payload(5)
                        .build();
    // eth+vlan 18 | ip6 40 | hbh 8 | routing 16 | dest 8 | udp 8 | payload 5
    cases.push_back({"VlanIpv6ExtChainUdp",
                     f,
                     18,
                     true,
                     {{14, drop_as(R::TruncatedEthernet)},
                      {18, drop_as(R::TruncatedVlan)},
                      {58, drop_as(R::TruncatedIpv6)},
                      {f.size(), drop_as(R::BadIpv6PayloadLength)}},
                     58,
                     {{66, drop_as(R::TruncatedIpv6ExtHeader)},
                      {82, drop_as(R::TruncatedIpv6ExtHeader)},
                      {90, drop_as(R::TruncatedIpv6ExtHeader)},
                      {98, drop_as(R::TruncatedL4)},
                      {f.size(), drop_as(R::BadUdpLength)}}});
  }
  {
    const Bytes f = PacketBuilder()
                        .eth()
                        .ipv4(kRouter, kVip)
                        .icmp(3, 4, 1400)
                        .ipv4(kVip, kClient)
                        .tcp(80, 40000)
                        .payload(8)
                        .build();
    // eth 14 | ip 20 | icmp 8 | inner ip 20 | inner tcp 20 | 8. The tuple needs the first 8
    // bytes of the inner TCP header (RFC 792: the IP header and 64 bits of data).
    cases.push_back(
        {"IcmpErrorEmbeddedTcp",
         f,
         14,
         false,
         {{14, drop_as(R::TruncatedEthernet)},
          {34, drop_as(R::TruncatedIpv4)},
          {f.size(), drop_as(R::BadIpv4TotalLength)}},
         34,
         {{42, drop_as(R::TruncatedIcmp)}, {70, parsed(false)}, {f.size(), parsed(true)}}});
  }
  {
    const Bytes f = PacketBuilder()
                        .eth()
                        .ipv6(kRouter6, kVip6)
                        .icmpv6(2, 0, 1280)
                        .ipv6(kVip6, kClient6)
                        .ipv6_dest_options(1)
                        .udp(53, 5353)
                        .payload(4)
                        .build();
    // eth 14 | ip6 40 | icmp6 8 | inner ip6 40 | inner dest 16 | inner udp 8 | ...
    cases.push_back(
        {"Icmpv6ErrorEmbeddedExtHeaderUdp",
         f,
         14,
         true,
         {{14, drop_as(R::TruncatedEthernet)},
          {54, drop_as(R::TruncatedIpv6)},
          {f.size(), drop_as(R::BadIpv6PayloadLength)}},
         54,
         {{62, drop_as(R::TruncatedIcmp)}, {126, parsed(false)}, {f.size(), parsed(true)}}});
  }
  return cases;
}

// Cutting a valid frame anywhere gives the drop of the layer that was cut (IP lengths left
// as built, so anything past the IP header is a length mismatch).
TEST(ParseTest, EveryCutOfAValidFrameGivesTheDropOfTheLayerCut) {
  for (const TruncationCase& c : truncation_cases()) {
    SCOPED_TRACE(c.name);
    ASSERT_EQ(parse_frame(c.frame).status, ParseStatus::Ok);
    for (size_t n = 0; n < c.frame.size(); ++n) {
      const Bytes cut(c.frame.begin(), c.frame.begin() + long(n));
      check_cut(cut, n, expected_at(c.raw, n));
    }
  }
}

// Cutting a datagram and fixing its IP length reaches each inner layer's own truncation drop.
TEST(ParseTest, EveryConsistentCutGivesTheInnerLayersDrop) {
  for (const TruncationCase& c : truncation_cases()) {
    SCOPED_TRACE(c.name);
    for (size_t n = c.honest_from; n < c.frame.size(); ++n) {
      Bytes cut(c.frame.begin(), c.frame.begin() + long(n));
      if (c.v6)
        put_be16(cut, c.l2 + 4, uint16_t(n - c.l2 - 40));
      else
        put_be16(cut, c.l2 + 2, uint16_t(n - c.l2));
      check_cut(cut, n, expected_at(c.honest, n));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Individual fields

// An IPv4 TCP frame fills every field, and the key has the exact byte layout flow_key.h fixes.
TEST(ParseTest, Ipv4TcpFillsEveryFieldAndCanonicalKeyBytes) {
  Ipv4Options o;
  o.ttl = 57;
  o.tos = 0xb8;
  o.id = 0x4242;
  TcpOptions t;
  t.flags = 0x12;
  const Bytes f =
      PacketBuilder().eth().ipv4(kClient, kVip, o).tcp(40000, 80, t).payload(10).build();
  const Parsed r = parse_frame(f);
  ASSERT_EQ(r.status, ParseStatus::Ok);
  const ParsedPacket& p = r.p;
  EXPECT_EQ(p.l2_len, 14);
  EXPECT_FALSE(p.has_vlan);
  EXPECT_EQ(p.ethertype, kEtherTypeIpv4);
  EXPECT_FALSE(p.is_v6);
  EXPECT_EQ(p.l3_len, 20);
  EXPECT_EQ(p.ip_total_len, 50u);
  EXPECT_EQ(p.tos, 0xb8);
  EXPECT_EQ(p.ttl, 57);
  EXPECT_TRUE(p.df);
  EXPECT_EQ(p.flow_label, 0u);
  EXPECT_FALSE(p.is_fragment);
  EXPECT_FALSE(p.first_fragment);
  EXPECT_FALSE(p.more_fragments);
  EXPECT_EQ(p.frag_offset, 0);
  EXPECT_EQ(p.frag_id, 0x4242u);
  EXPECT_EQ(p.proto, kProtoTcp);
  EXPECT_EQ(p.l4_offset, 34);
  EXPECT_EQ(p.tcp_flags, 0x12);
  EXPECT_EQ(p.icmp_type, 0);
  EXPECT_FALSE(p.icmp_is_error);
  EXPECT_FALSE(p.has_inner);
  // 198.51.100.7 → 192.0.2.10, 40000 (0x9c40) → 80 (0x0050), TCP.
  const std::array<uint8_t, 40> want = {
      0,    0,    0,    0,    0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, 7,   //
      0,    0,    0,    0,    0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0,  2,   10,  //
      0x9c, 0x40, 0x00, 0x50, 6, 0, 0, 0};
  EXPECT_EQ(std::memcmp(&p.key, want.data(), 40), 0);
}

// The VLAN TCI is reported in host order and moves every later offset by four bytes.
TEST(ParseTest, VlanTagMovesOffsetsAndReportsTci) {
  const Bytes f = PacketBuilder().eth().vlan(0xa07b).ipv6(kClient6, kVip6).tcp(1, 2).build();
  const Parsed r = parse_frame(f);
  ASSERT_EQ(r.status, ParseStatus::Ok);
  EXPECT_TRUE(r.p.has_vlan);
  EXPECT_EQ(r.p.vlan_tci, 0xa07b);
  EXPECT_EQ(r.p.l2_len, 18);
  EXPECT_EQ(r.p.ethertype, kEtherTypeIpv6);
  EXPECT_EQ(r.p.l4_offset, 58);
}

// IPv6 fills traffic class, flow label, hop limit, and l3_len covers every extension header.
TEST(ParseTest, Ipv6FillsClassLabelHopLimitAndChainLength) {
  Ipv6Options o;
  o.traffic_class = 0x2e;
  o.flow_label = 0xabcde;
  o.hop_limit = 3;
  const Bytes f = PacketBuilder()
                      .eth()
                      .ipv6(kClient6, kVip6, o)
                      .ipv6_hop_by_hop(1)
                      .ipv6_routing()
                      .udp(5353, 53)
                      .payload(7)
                      .build();
  const Parsed r = parse_frame(f);
  ASSERT_EQ(r.status, ParseStatus::Ok);
  EXPECT_TRUE(r.p.is_v6);
  EXPECT_EQ(r.p.tos, 0x2e);
  EXPECT_EQ(r.p.flow_label, 0xabcdeu);
  EXPECT_EQ(r.p.ttl, 3);
  EXPECT_FALSE(r.p.df);
  EXPECT_EQ(r.p.l3_len, 40 + 16 + 8);
  EXPECT_EQ(r.p.l4_offset, 14 + 64);
  EXPECT_EQ(r.p.ip_total_len, 40u + 16 + 8 + 8 + 7);
  EXPECT_EQ(r.p.proto, kProtoUdp);
}

// IPv4 fragment fields: id, offset in 8-byte units, MF; the key keeps the protocol.
TEST(ParseTest, Ipv4FragmentFieldsAreReported) {
  const Bytes f =
      PacketBuilder().eth().ipv4(kClient, kVip, v4frag(true, 185, kProtoUdp)).payload(24).build();
  const Parsed r = parse_frame(f);
  ASSERT_EQ(r.status, ParseStatus::Ok);
  EXPECT_TRUE(r.p.is_fragment);
  EXPECT_FALSE(r.p.first_fragment);
  EXPECT_TRUE(r.p.more_fragments);
  EXPECT_EQ(r.p.frag_offset, 185);
  EXPECT_EQ(r.p.frag_id, 0xbeefu);
  EXPECT_FALSE(r.p.df);
  EXPECT_EQ(r.p.proto, kProtoUdp);
  EXPECT_EQ(r.p.key.src_port_be, 0);
  EXPECT_EQ(r.p.key.dst_port_be, 0);
}

// An IPv6 fragment header gives a 32-bit id, and l3_len includes it.
TEST(ParseTest, Ipv6FragmentHeaderGivesIdAndOffset) {
  const Bytes f = with_byte(PacketBuilder()
                                .eth()
                                .ipv6(kClient6, kVip6)
                                .ipv6_fragment(77, true, 0xfedcba98)
                                .payload(16)
                                .build(),
                            54, kProtoUdp);
  const Parsed r = parse_frame(f);
  ASSERT_EQ(r.status, ParseStatus::Ok);
  EXPECT_TRUE(r.p.is_fragment);
  EXPECT_FALSE(r.p.first_fragment);
  EXPECT_TRUE(r.p.more_fragments);
  EXPECT_EQ(r.p.frag_offset, 77);
  EXPECT_EQ(r.p.frag_id, 0xfedcba98u);
  EXPECT_EQ(r.p.l3_len, 48);
  EXPECT_EQ(r.p.proto, kProtoUdp);
}

// An ICMP error reports type/code, where the quote starts, and the flow it belongs to.
TEST(ParseTest, IcmpErrorGivesInnerOffsetAndSwappedFlow) {
  const Bytes f = PacketBuilder()
                      .eth()
                      .vlan(5)
                      .ipv4(kRouter, kVip)
                      .icmp(3, 4, 1400)
                      .ipv4(kVip, kClient)
                      .tcp(80, 40000)
                      .build();
  const Parsed r = parse_frame(f);
  ASSERT_EQ(r.status, ParseStatus::Ok);
  EXPECT_EQ(r.p.icmp_type, 3);
  EXPECT_EQ(r.p.icmp_code, 4);
  EXPECT_TRUE(r.p.icmp_is_error);
  ASSERT_TRUE(r.p.has_inner);
  EXPECT_EQ(r.p.inner_l3_offset, 18 + 20 + 8);
  EXPECT_TRUE(r.p.inner_key == key(kVip, kClient, 80, 40000, kProtoTcp));
  EXPECT_TRUE(swapped_inner_key(r.p) == key(kClient, kVip, 40000, 80, kProtoTcp));
}

// The swapped key of an IPv6 error is the client → VIP flow, byte for byte.
TEST(ParseTest, SwappedInnerKeyOfIpv6ErrorIsClientToVip) {
  const Bytes f = PacketBuilder()
                      .eth()
                      .ipv6(kRouter6, kVip6)
                      .icmpv6(2, 0, 1280)
                      .ipv6(kVip6, kClient6)
                      .ipv6_hop_by_hop()
                      .udp(53, 5353)
                      .build();
  const Parsed r = parse_frame(f);
  ASSERT_EQ(r.status, ParseStatus::Ok);
  ASSERT_TRUE(r.p.has_inner);
  EXPECT_EQ(r.p.inner_l3_offset, 14 + 40 + 8);
  EXPECT_TRUE(swapped_inner_key(r.p) == key(kClient6, kVip6, 5353, 53, kProtoUdp));
}

// ICMP echo reports type and code, with no ports in the key.
TEST(ParseTest, IcmpEchoReportsTypeAndCode) {
  const Bytes f = PacketBuilder().eth().ipv6(kClient6, kVip6).icmpv6(129, 0, 0x12345678).build();
  const Parsed r = parse_frame(f);
  ASSERT_EQ(r.status, ParseStatus::Ok);
  EXPECT_EQ(r.p.icmp_type, 129);
  EXPECT_EQ(r.p.icmp_code, 0);
  EXPECT_FALSE(r.p.icmp_is_error);
  EXPECT_EQ(r.p.key.src_port_be, 0);
  EXPECT_EQ(r.p.key.dst_port_be, 0);
}

// A reused ParsedPacket carries nothing over from the previous frame.
TEST(ParseTest, OutputIsResetOnEveryCall) {
  const Bytes err = PacketBuilder()
                        .eth()
                        .vlan(5)
                        .ipv4(kRouter, kVip, v4frag(true, 0))
                        .icmp(3, 4)
                        .ipv4(kVip, kClient)
                        .tcp(80, 40000)
                        .build();
  const Bytes arp = PacketBuilder()
                        .eth("02:00:00:00:00:01", "ff:ff:ff:ff:ff:ff", kEtherTypeArp)
                        .payload(28)
                        .build();
  ParsedPacket p;
  DropReason reason = kUnset;
  ASSERT_EQ(parse(err.data(), uint32_t(err.size()), p, reason), ParseStatus::Ok);
  ASSERT_TRUE(p.has_inner);
  ASSERT_EQ(parse(arp.data(), uint32_t(arp.size()), p, reason), ParseStatus::NotIp);
  EXPECT_EQ(p.ethertype, kEtherTypeArp);
  EXPECT_EQ(p.l2_len, 14);
  EXPECT_FALSE(p.has_vlan);
  EXPECT_FALSE(p.has_inner);
  EXPECT_FALSE(p.is_fragment);
  EXPECT_EQ(p.proto, 0);
  EXPECT_TRUE(p.key == FlowKey{});
  EXPECT_TRUE(p.inner_key == FlowKey{});
}

// `reason` is written only when the verdict is Drop.
TEST(ParseTest, ReasonIsUntouchedUnlessDropped) {
  const Bytes f = PacketBuilder().eth().ipv4(kClient, kVip).udp(1, 2).build();
  ParsedPacket p;
  DropReason reason = DropReason::NoHeadroom;
  ASSERT_EQ(parse(f.data(), uint32_t(f.size()), p, reason), ParseStatus::Ok);
  EXPECT_EQ(reason, DropReason::NoHeadroom);
}

// A zero-length frame, even with a null pointer, is a truncated Ethernet header.
TEST(ParseTest, ZeroLengthNullFrameIsTruncatedEthernet) {
  ParsedPacket p;
  DropReason reason = DropReason::NoHeadroom;
  EXPECT_EQ(parse(nullptr, 0, p, reason), ParseStatus::Drop);
  EXPECT_EQ(reason, DropReason::TruncatedEthernet);
}

// A 9000-byte jumbo frame is parsed like any other; lengths are not capped at 1500.
TEST(ParseTest, JumboFrameLengthsAreReported) {
  const Bytes f =
      PacketBuilder().eth().vlan(1).ipv4(kClient, kVip).tcp(40000, 80).payload(9000 - 58).build();
  ASSERT_EQ(f.size(), 9000u);
  const Parsed r = parse_frame(f);
  ASSERT_EQ(r.status, ParseStatus::Ok);
  EXPECT_EQ(r.p.ip_total_len, 9000u - 18);
  EXPECT_TRUE(r.p.key == key(kClient, kVip, 40000, 80, kProtoTcp));
}

// Bytes past the IP datagram (Ethernet padding) are never read as L4: a TCP header that the
// total length cuts short is a drop even when padding would complete it.
TEST(ParseTest, L4IsBoundedByTheDatagramNotTheFrame) {
  Ipv4Options o;
  o.total_length = 20 + 12;
  const Bytes f = PacketBuilder().eth().ipv4(kClient, kVip, o).tcp(40000, 80).payload(30).build();
  const Parsed r = parse_frame(f);
  ASSERT_EQ(r.status, ParseStatus::Drop);
  EXPECT_EQ(r.reason, DropReason::TruncatedL4);
}

}  // namespace
}  // namespace steer::dataplane
