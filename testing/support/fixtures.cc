#include "testing/support/fixtures.h"

#include <initializer_list>
#include <utility>

#include <fmt/format.h>

#include "common/flow_key.h"
#include "hashing/flow_hash.h"

namespace steer::testing {
namespace {

using dataplane::DropReason;
using dataplane::Verdict;

constexpr const char* kClient = "198.51.100.7";
constexpr const char* kClient6 = "2001:db8:c::7";
constexpr const char* kVip = "192.0.2.10";
constexpr const char* kVip6 = "2001:db8::10";

uint64_t hash5(const char* src, const char* dst, uint16_t sport, uint16_t dport, uint8_t proto) {
  auto key = FlowKey::make(*IpAddress::parse(src), *IpAddress::parse(dst), sport, dport, proto);
  return hashing::flow_hash(key, hashing::FlowHashMode::FiveTuple, hashing::kDefaultFlowHashSeed);
}
uint64_t hash3(const char* src, const char* dst, uint8_t proto) {
  auto key = FlowKey::make(*IpAddress::parse(src), *IpAddress::parse(dst), 0, 0, proto);
  return hashing::flow_hash(key, hashing::FlowHashMode::ThreeTuple, hashing::kDefaultFlowHashSeed);
}

// The outer source the lab state derives from a flow hash: the base with its low bits
// replaced by hash bits 32 and up (8 bits for IPv4, 16 for IPv6).
std::string source_v4(uint64_t h) { return fmt::format("198.18.0.{}", (h >> 32) & 0xff); }
std::string source_v6(uint64_t h) { return fmt::format("2001:db8:5::{:x}", (h >> 32) & 0xffff); }
uint16_t gue_sport(uint64_t h) { return uint16_t(49152 | ((h >> 16) & 0x3fff)); }

Bytes slice(const Bytes& b, size_t from, size_t len) {
  return Bytes(b.begin() + long(from), b.begin() + long(from + len));
}

// Outer Ethernet + IPv4 (+UDP for GUE) around `inner`, as the lab's LB sends it.
Bytes over_v4(const Bytes& inner, const char* backend, uint64_t h, bool gue, uint8_t tos, bool df) {
  const bool inner_v6 = (inner[0] >> 4) == 6;
  Ipv4Options o{.ttl = 64, .tos = tos, .id = 0, .df = df};
  if (!gue) o.proto = inner_v6 ? 41 : 4;
  PacketBuilder b;
  b.eth(kLbMac, kRouterMac).ipv4(source_v4(h), backend, o);
  if (gue) b.udp(gue_sport(h), 6080, {}, 0);
  return b.payload(inner).build();
}

Bytes over_v6(const Bytes& inner, const char* backend, uint64_t h, bool gue, uint8_t tc) {
  const bool inner_v4 = (inner[0] >> 4) == 4;
  Ipv6Options o{.hop_limit = 64, .traffic_class = tc, .flow_label = uint32_t(h & 0xfffff)};
  if (!gue) o.next_header = inner_v4 ? 4 : 41;
  PacketBuilder b;
  b.eth(kLbMac, kRouterMac).ipv6(source_v6(h), backend, o);
  if (gue) b.udp(gue_sport(h), 6080);
  return b.payload(inner).build();
}

std::vector<PacketFixture> make() {
  std::vector<PacketFixture> f;
  auto fwd = [&](std::string name, std::string desc, Bytes in, Bytes out) {
    f.push_back(
        {std::move(name), std::move(desc), std::move(in), Verdict::Forward, {}, std::move(out)});
  };
  auto reply = [&](std::string name, std::string desc, Bytes in, Bytes out) {
    f.push_back(
        {std::move(name), std::move(desc), std::move(in), Verdict::Reply, {}, std::move(out)});
  };
  auto pass = [&](std::string name, std::string desc, Bytes in) {
    Bytes out = in;
    f.push_back(
        {std::move(name), std::move(desc), std::move(in), Verdict::Pass, {}, std::move(out)});
  };
  auto drop = [&](std::string name, std::string desc, Bytes in, DropReason r) {
    f.push_back({std::move(name), std::move(desc), std::move(in), Verdict::Drop, r, {}});
  };
  // An IPv4 TCP packet with DF and `payload` bytes too big to encapsulate: ICMP frag-needed
  // with MTU 1480, quoting 548 bytes of it.
  auto frag_needed = [&](std::string name, std::string desc, uint16_t sport, size_t payload) {
    Bytes in = PacketBuilder()
                   .eth()
                   .ipv4(kClient, kVip)
                   .tcp(sport, 80, {.flags = 0x10})
                   .payload(payload)
                   .build();
    Bytes ip = slice(in, 14, in.size() - 14);
    Bytes out = PacketBuilder()
                    .eth(kLbMac, kClientMac)
                    .ipv4(kVip, kClient, {.ttl = 64, .tos = 0xc0, .id = 0, .df = false})
                    .icmp(3, 4, 1480)
                    .payload(slice(ip, 0, 576 - 28))
                    .build();
    reply(std::move(name), std::move(desc), in, out);
  };
  // The same for IPv6: packet too big with MTU 1460, quoting what fits 1280 bytes.
  auto packet_too_big = [&](std::string name, std::string desc, uint16_t sport, size_t payload) {
    Bytes in = PacketBuilder()
                   .eth()
                   .ipv6(kClient6, kVip6)
                   .tcp(sport, 443, {.flags = 0x10})
                   .payload(payload)
                   .build();
    Bytes ip = slice(in, 14, in.size() - 14);
    Bytes out = PacketBuilder()
                    .eth(kLbMac, kClientMac)
                    .ipv6(kVip6, kClient6, {.hop_limit = 64})
                    .icmpv6(2, 0, 1460)
                    .payload(slice(ip, 0, 1280 - 48))
                    .build();
    reply(std::move(name), std::move(desc), in, out);
  };

  {  // IPv4 TCP SYN → IPIP
    Bytes in = PacketBuilder().eth().ipv4(kClient, kVip).tcp(40000, 80).build();
    fwd("ipv4_tcp_syn_ipip", "IPv4 TCP SYN to 192.0.2.10:80 is IPIP-encapsulated to its backend",
        in,
        over_v4(slice(in, 14, in.size() - 14), "203.0.113.2", hash5(kClient, kVip, 40000, 80, 6),
                false, 0, true));
  }
  {  // VLAN-tagged in, untagged out; DSCP/ECN copied
    Ipv4Options o{.tos = 0xb9};
    Bytes in =
        PacketBuilder().eth().vlan(100).ipv4(kClient, kVip, o).tcp(40001, 80).payload(30).build();
    fwd("ipv4_tcp_vlan_dscp",
        "802.1Q-tagged packet with DSCP 46/ECN 1: tag removed, TOS copied to the outer header", in,
        over_v4(slice(in, 18, in.size() - 18), "203.0.113.2", hash5(kClient, kVip, 40001, 80, 6),
                false, 0xb9, true));
  }
  {  // Ethernet padding stripped; no DF copied
    Ipv4Options o{.df = false};
    Bytes in = PacketBuilder().eth().ipv4(kClient, kVip, o).udp(5353, 9999).payload(4).build();
    const size_t ip_len = in.size() - 14;
    in.resize(60, 0);
    fwd("ipv4_udp_padded_gue",
        "minimum-size frame with Ethernet padding to the all-ports UDP VIP: padding dropped, GUE, "
        "DF=0 copied",
        in,
        over_v4(slice(in, 14, ip_len), "203.0.113.4", hash5(kClient, kVip, 5353, 9999, 17), true, 0,
                false));
  }
  {  // IPv6 → IP6IP6
    Ipv6Options o{.traffic_class = 0x28, .flow_label = 0x12345};
    Bytes in = PacketBuilder().eth().ipv6(kClient6, kVip6, o).tcp(40000, 443).payload(10).build();
    fwd("ipv6_tcp_ip6ip6",
        "IPv6 TCP to [2001:db8::10]:443 is IP6IP6-encapsulated; traffic class copied", in,
        over_v6(slice(in, 14, in.size() - 14), "2001:db8:b::2",
                hash5(kClient6, kVip6, 40000, 443, 6), false, 0x28));
  }
  {  // IPv4 VIP, IPv6 backend
    Bytes in = PacketBuilder().eth().ipv4(kClient, "192.0.2.20").tcp(40000, 80).build();
    fwd("ipv4_in_ipv6", "IPv4 VIP with an IPv6 backend: IPv4-in-IPv6", in,
        over_v6(slice(in, 14, in.size() - 14), "2001:db8:b::3",
                hash5(kClient, "192.0.2.20", 40000, 80, 6), false, 0));
  }
  {  // GUE over IPv6 (UDP checksum mandatory)
    Bytes in =
        PacketBuilder().eth().ipv6(kClient6, "2001:db8::20").udp(33333, 53).payload(29).build();
    fwd("ipv6_udp_gue_v6",
        "IPv6 UDP to a GUE VIP with an IPv6 backend: outer UDP checksum computed", in,
        over_v6(slice(in, 14, in.size() - 14), "2001:db8:b::4",
                hash5(kClient6, "2001:db8::20", 33333, 53, 17), true, 0));
  }
  {  // Fragments: stateless 3-tuple
    Ipv4Options first{.id = 77, .df = false, .mf = true};
    Ipv4Options later{.id = 77, .df = false, .mf = false, .frag_offset = 3, .proto = 17};
    // UDP length 33: the whole datagram (24 bytes here, 9 in the later fragment).
    Bytes f1 =
        PacketBuilder().eth().ipv4(kClient, kVip, first).udp(5000, 53, 33).payload(16).build();
    Bytes f2 = PacketBuilder().eth().ipv4(kClient, kVip, later).payload(9).build();
    const uint64_t h = hash3(kClient, kVip, 17);
    fwd("ipv4_first_fragment", "first fragment of a UDP datagram: steered by the 3-tuple", f1,
        over_v4(slice(f1, 14, f1.size() - 14), "203.0.113.4", h, true, 0, false));
    fwd("ipv4_later_fragment", "later fragment (no ports) of the same datagram: same backend", f2,
        over_v4(slice(f2, 14, f2.size() - 14), "203.0.113.4", h, true, 0, false));
  }
  {  // ICMP error about a VIP flow → the flow's backend (no flow entry: Maglev by the swapped
     // tuple)
    Bytes quoted = PacketBuilder().ipv4(kVip, kClient).tcp(80, 40000).payload(8).build();
    Bytes in =
        PacketBuilder().eth().ipv4("198.51.100.254", kVip).icmp(3, 4, 1400).payload(quoted).build();
    fwd("icmp_frag_needed_to_flow",
        "ICMP frag-needed about the reply of flow 198.51.100.7:40000 → VIP:80 reaches that flow's "
        "backend",
        in,
        over_v4(slice(in, 14, in.size() - 14), "203.0.113.2", hash5(kClient, kVip, 40000, 80, 6),
                false, 0, true));
  }
  {
    Bytes quoted = PacketBuilder().ipv6(kVip6, kClient6).tcp(443, 40000).payload(8).build();
    Bytes in = PacketBuilder()
                   .eth()
                   .ipv6("2001:db8:c::fe", kVip6)
                   .icmpv6(2, 0, 1400)
                   .payload(quoted)
                   .build();
    fwd("icmpv6_ptb_to_flow", "ICMPv6 packet too big about a VIP flow reaches that flow's backend",
        in,
        over_v6(slice(in, 14, in.size() - 14), "2001:db8:b::2",
                hash5(kClient6, kVip6, 40000, 443, 6), false, 0));
  }
  frag_needed(
      "ipv4_too_big_frag_needed",
      "1500-byte IPv4 packet with DF cannot take 20 bytes of IPIP: ICMP frag-needed with MTU "
      "1480, quoting 548 bytes",
      40000, 1460);
  packet_too_big(
      "ipv6_too_big_ptb",
      "1500-byte IPv6 packet cannot take 40 bytes of IP6IP6: ICMPv6 packet too big with MTU 1460",
      40000, 1440);
  {  // Echo
    Bytes in = PacketBuilder().eth().ipv4(kClient, kVip).icmp(8, 0, 0x00010002).payload(33).build();
    Bytes out = PacketBuilder()
                    .eth(kLbMac, kClientMac)
                    .ipv4(kVip, kClient)
                    .icmp(0, 0, 0x00010002)
                    .payload(33)
                    .build();
    reply("ipv4_echo", "ICMP echo request to a VIP address is answered", in, out);
  }
  {
    Bytes in =
        PacketBuilder().eth().ipv6(kClient6, kVip6).icmpv6(128, 0, 0x00070008).payload(56).build();
    Bytes out = PacketBuilder()
                    .eth(kLbMac, kClientMac)
                    .ipv6(kVip6, kClient6)
                    .icmpv6(129, 0, 0x00070008)
                    .payload(56)
                    .build();
    reply("ipv6_echo", "ICMPv6 echo request to a VIP address is answered", in, out);
  }
  drop("echo_disabled", "echo request to a VIP whose echo answer is off",
       PacketBuilder().eth().ipv4(kClient, "192.0.2.20").icmp(8, 0, 1).payload(8).build(),
       DropReason::EchoDisabled);
  drop("icmp_timestamp_to_vip", "ICMP timestamp request to a VIP: neither echo nor an error",
       PacketBuilder().eth().ipv4(kClient, kVip).icmp(13, 0, 1).payload(12).build(),
       DropReason::IcmpUnsupported);
  drop("icmp_error_not_vip_flow",
       "ICMP error to a VIP address quoting a packet of no VIP service (port 8080)",
       PacketBuilder()
           .eth()
           .ipv4("198.51.100.254", kVip)
           .icmp(3, 3, 0)
           .payload(PacketBuilder().ipv4(kVip, kClient).tcp(8080, 40000).build())
           .build(),
       DropReason::IcmpErrorNoFlow);
  drop("icmp_error_truncated_quote", "ICMP error to a VIP whose quote is too short for ports",
       PacketBuilder()
           .eth()
           .ipv4("198.51.100.254", kVip)
           .icmp(3, 4, 1400)
           .payload(slice(PacketBuilder().ipv4(kVip, kClient).tcp(80, 40000).build(), 0, 22))
           .build(),
       DropReason::TruncatedIcmpInner);
  drop("no_backend", "new flow to a VIP whose only backend is draining",
       PacketBuilder().eth().ipv4(kClient, "192.0.2.30").tcp(40000, 80).build(),
       DropReason::NoBackend);
  drop("truncated_ipv4", "IPv4 header cut at 12 bytes",
       slice(PacketBuilder().eth().ipv4(kClient, kVip).tcp(1, 80).build(), 0, 26),
       DropReason::TruncatedIpv4);
  drop("bad_ihl", "IPv4 IHL 4",
       PacketBuilder().eth().ipv4(kClient, kVip, {.ihl = 4}).tcp(1, 80).build(),
       DropReason::BadIpv4Ihl);
  drop("runt", "10-byte frame", Bytes(10, 0), DropReason::TruncatedEthernet);
  // Validation (docs/packet-core.md, "Validation"): frames no correct host or router sends.
  using Named = std::initializer_list<std::pair<const char*, const char*>>;
  for (const auto& [name, src] : Named{{"this_network", "0.0.0.0"},
                                       {"loopback", "127.0.0.1"},
                                       {"multicast", "224.0.0.5"},
                                       {"limited_broadcast", "255.255.255.255"},
                                       {"reserved", "240.0.0.1"}}) {
    drop(fmt::format("bad_source_v4_{}", name),
         fmt::format("TCP SYN to a VIP from {}, a source no host may use", src),
         PacketBuilder().eth().ipv4(src, kVip).tcp(40000, 80).build(),
         DropReason::BadSourceAddress);
  }
  for (const auto& [name, src] : Named{{"unspecified", "::"},
                                       {"loopback", "::1"},
                                       {"multicast", "ff02::1"},
                                       {"v4_mapped", "::ffff:198.51.100.7"}}) {
    drop(fmt::format("bad_source_v6_{}", name),
         fmt::format("IPv6 TCP SYN to a VIP from {}, a source no host may use", src),
         PacketBuilder().eth().ipv6(src, kVip6).tcp(40000, 443).build(),
         DropReason::BadSourceAddress);
  }
  drop("udp_length_short", "UDP length 7 (below the header, RFC 768)",
       PacketBuilder().eth().ipv4(kClient, kVip).udp(5353, 9999, 7).payload(8).build(),
       DropReason::BadUdpLength);
  drop("udp_length_long", "UDP length 40 in a 16-byte IP payload",
       PacketBuilder().eth().ipv4(kClient, kVip).udp(5353, 9999, 40).payload(8).build(),
       DropReason::BadUdpLength);
  drop("udp_length_short_of_payload", "UDP length 8 in a 16-byte IP payload",
       PacketBuilder().eth().ipv4(kClient, kVip).udp(5353, 9999, 8).payload(8).build(),
       DropReason::BadUdpLength);
  {
    Bytes in = PacketBuilder().eth().ipv6(kClient6, kVip6).ipv6_routing(2).tcp(40000, 443).build();
    in[14 + 40 + 2] = 0;  // routing type 0
    in[14 + 40 + 3] = 1;  // segments left 1
    drop("ipv6_rh0", "IPv6 type-0 routing header with segments left 1 (RFC 5095)", in,
         DropReason::Ipv6RoutingType0);
  }
  drop("l2_broadcast_to_vip", "unicast TCP to a VIP in an Ethernet broadcast frame",
       PacketBuilder()
           .eth(kClientMac, "ff:ff:ff:ff:ff:ff")
           .ipv4(kClient, kVip)
           .tcp(40000, 80)
           .build(),
       DropReason::L2GroupAddress);
  drop("l2_multicast_to_vip", "unicast IPv6 TCP to a VIP in an Ethernet multicast frame",
       PacketBuilder()
           .eth(kClientMac, "33:33:00:00:00:01")
           .ipv6(kClient6, kVip6)
           .tcp(40000, 443)
           .build(),
       DropReason::L2GroupAddress);
  drop("ttl_zero", "IPv4 TCP to a VIP with TTL 0",
       PacketBuilder().eth().ipv4(kClient, kVip, {.ttl = 0}).tcp(40000, 80).build(),
       DropReason::ZeroTtl);
  drop("hop_limit_zero", "IPv6 TCP to a VIP with hop limit 0",
       PacketBuilder().eth().ipv6(kClient6, kVip6, {.hop_limit = 0}).tcp(40000, 443).build(),
       DropReason::ZeroTtl);
  drop("ipv4_lsrr", "IPv4 TCP to a VIP with a loose source route (NOP, LSRR via 203.0.113.7)",
       PacketBuilder()
           .eth()
           .ipv4(kClient, kVip, {.options = {1, 131, 7, 4, 203, 0, 113, 7}})
           .tcp(40000, 80)
           .build(),
       DropReason::Ipv4SourceRoute);
  drop("ipv4_ssrr", "IPv4 TCP to a VIP with a strict source route",
       PacketBuilder()
           .eth()
           .ipv4(kClient, kVip, {.options = {137, 7, 4, 203, 0, 113, 7, 0}})
           .tcp(40000, 80)
           .build(),
       DropReason::Ipv4SourceRoute);
  for (const auto& [name, flags] : std::initializer_list<std::pair<const char*, uint8_t>>{
           {"syn_fin", 0x03}, {"syn_rst", 0x06}, {"null", 0x00}, {"xmas", 0x29}}) {
    drop(fmt::format("tcp_flags_{}", name),
         fmt::format("TCP to a VIP with flags {:#04x} ({}): no stack sends them", flags, name),
         PacketBuilder().eth().ipv4(kClient, kVip).tcp(40000, 80, {.flags = flags}).build(),
         DropReason::BadTcpFlags);
  }
  drop("tcp_source_port_zero", "TCP SYN to a VIP from port 0",
       PacketBuilder().eth().ipv4(kClient, kVip).tcp(0, 80).build(), DropReason::ZeroPort);
  drop("udp_destination_port_zero", "UDP to the all-ports UDP VIP on port 0",
       PacketBuilder().eth().ipv4(kClient, kVip).udp(5353, 0).payload(8).build(),
       DropReason::ZeroPort);
  pass("dhcp_discover_from_zero",
       "DHCP discover from 0.0.0.0 to 255.255.255.255 is not VIP traffic: the kernel's",
       PacketBuilder()
           .eth(kClientMac, "ff:ff:ff:ff:ff:ff")
           .ipv4("0.0.0.0", "255.255.255.255", {.ttl = 64})
           .udp(68, 67)
           .payload(20)
           .build());
  // Jumbo frames: in the dataplane on net_pcap they arrive in several mbufs.
  frag_needed(
      "ipv4_jumbo_frag_needed",
      "9000-byte IPv4 packet with DF (several mbufs in the dataplane): ICMP frag-needed with "
      "MTU 1480",
      40002, 8960);
  packet_too_big(
      "ipv6_jumbo_ptb",
      "4060-byte IPv6 packet (several mbufs in the dataplane): ICMPv6 packet too big, MTU 1460",
      40002, 4000);
  pass("not_a_vip", "TCP to an address that is no VIP goes to the kernel",
       PacketBuilder().eth().ipv4(kClient, "192.0.2.99").tcp(1, 80).build());
  pass("vip_other_port", "TCP to a VIP address on a port no VIP serves goes to the kernel",
       PacketBuilder().eth().ipv4(kClient, kVip).tcp(1, 22).build());
  pass("arp", "ARP goes to the kernel",
       PacketBuilder().eth(kRouterMac, "ff:ff:ff:ff:ff:ff", 0x0806).payload(28).build());
  pass("ipv6_neighbour_solicitation", "ND to a VIP address is the host's business",
       PacketBuilder()
           .eth()
           .ipv6("fe80::1", kVip6, {.hop_limit = 255})
           .icmpv6(135, 0)
           .payload(20)
           .build());
  return f;
}

}  // namespace

const std::vector<PacketFixture>& packet_fixtures() {
  static const std::vector<PacketFixture> fixtures = make();
  return fixtures;
}

}  // namespace steer::testing
