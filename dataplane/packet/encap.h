// DOC: encapsulation — turns a client's frame to a VIP into the frame sent to its backend.
//
// Direct server return: the backend decapsulates and answers the client itself, so the LB
// only ever adds headers on the way in. The client's Ethernet header (and VLAN tag) and any
// Ethernet padding are dropped, then the frame grows into the headroom by one new Ethernet
// header (+ optional egress VLAN tag) and one outer IP header (+ UDP for GUE):
//
//   [eth][vlan?][outer IPv4/IPv6][UDP, GUE only][inner IP packet, unchanged]
//
// Four families: IPv4-in-IPv4 (protocol 4), IPv6-in-IPv6 (next header 41), IPv4-in-IPv6
// (next header 4) and IPv6-in-IPv4 (protocol 41); the outer family is the backend's. GUE is
// draft-ietf-intarea-gue variant 1, "direct IP encapsulation": no GUE header at all, the UDP
// payload is the inner IP packet and its version nibble tells IPv4 from IPv6.
//
// Flow spreading at the backend: the outer source address carries bits of the flow hash in
// its lowest *_hash_bits bits, the IPv6 flow label carries 20 bits of it, and the GUE source
// port 14 bits (49152..65535), so a backend NIC's RSS spreads flows over its queues while
// every packet of one flow keeps the same outer header. The three take different bits of the
// hash: address bits from bit 32 upward, the flow label from bits 0..19, the UDP source port
// from bits 16..29.
//
// Threading: pure functions over one frame; noexcept; no allocation; any thread.
// Invariant: on any status but Ok the frame is left exactly as it was.
#pragma once

#include <array>
#include <cstdint>

#include "common/ip_address.h"
#include "dataplane/packet/packet.h"
#include "dataplane/packet/parse.h"

namespace steer::dataplane {

enum class EncapType : uint8_t {
  Ipip,  // IP-in-IP: IPv4/IPv6 outer header, protocol/next header 4 or 41
  Gue,   // outer UDP to gue_port, UDP payload = inner IP packet (GUE variant 1)
};

inline constexpr uint16_t kDefaultGuePort = 6080;
inline constexpr uint8_t kEncapTtl = 64;              // outer TTL / hop limit
inline constexpr uint16_t kGueSourcePortMin = 49152;  // GUE source ports: 49152..65535

// Where and how one VIP's packets go to one backend. Built by the control path; read-only on
// the hot path.
struct EncapTarget {
  EncapType type = EncapType::Ipip;
  // Outer destination; its family (IpAddress::is_v4()) chooses the outer header.
  IpAddress backend;
  // Outer source when the backend is IPv4 (an IPv4 address). Its lowest source_v4_hash_bits
  // bits are replaced by flow-hash bits; 0 keeps the address fixed; values above 32 act as 32.
  IpAddress source_v4;
  uint8_t source_v4_hash_bits = 0;
  // Outer source when the backend is IPv6. Its lowest source_v6_hash_bits bits are replaced by
  // flow-hash bits; 0 keeps the address fixed; values above 64 act as 64.
  IpAddress source_v6;
  uint8_t source_v6_hash_bits = 0;
  // Outer UDP destination port for EncapType::Gue (host order).
  uint16_t gue_port = kDefaultGuePort;
  // Egress L3 MTU: the largest outer IP packet (outer header included) the next hop carries.
  uint16_t mtu = 1500;
  // Next-hop Ethernet addresses: our port's MAC and the next hop's (router or backend).
  std::array<uint8_t, 6> src_mac{};
  std::array<uint8_t, 6> dst_mac{};
  // 802.1Q TCI of the egress tag, written as is (VLAN ID in the low 12 bits, PCP/DEI above);
  // 0 = send untagged.
  uint16_t egress_vlan = 0;
};

// What encapsulate() needs of one target, prepared once by the control path
// (make_encap_plan; every snapshot backend carries one) so the hot path does the per-packet
// work only: the outer headers as bytes with every per-packet and per-flow field zero, to be
// copied whole, and the one's-complement sums of the fields that never change (the outer IPv4
// header's fixed words, the IPv6 pseudo-header's fixed part for GUE over IPv6). Plain data.
struct EncapPlan {
  // [eth][vlan?][outer IPv4/IPv6][UDP, GUE only]: at most 14 + 4 + 40 + 8 = 66 bytes.
  std::array<uint8_t, 72> header{};
  uint8_t eth_len = 14;  // 14, or 18 with the egress VLAN tag
  bool outer_v6 = false;
  bool gue = false;
  uint16_t mtu = 1500;
  // Outer source bits taken from the flow hash: IPv4 (host order) or the low 64 bits of IPv6.
  uint32_t v4_source_mask = 0;
  uint32_t v4_source_fixed = 0;  // the IPv4 source bits that stay (host order, masked)
  uint64_t v6_source_mask = 0;
  uint64_t v6_source_lo = 0;  // the low 64 source bits that stay (big-endian value, masked)
  // Outer IPv4 header words that do not depend on the packet: version/IHL, TTL, the source's
  // fixed bits, the destination. Outer IPv6 + GUE: the pseudo-header's source high half,
  // destination, next header and the UDP destination port.
  uint32_t fixed_sum = 0;
};

// The plan for a target: pure, any thread (control path).
EncapPlan make_encap_plan(const EncapTarget& t) noexcept;

enum class EncapStatus : uint8_t {
  Ok,          // frame rewritten; pkt.data/len describe the encapsulated frame
  TooBig,      // inner IP packet + outer headers > mtu; see encap_client_mtu()
  NoHeadroom,  // not enough headroom for the new headers
  Malformed,   // the ParsedPacket does not describe this frame (l2_len + ip_total_len > len)
};

// Bytes of outer L3 headers the encapsulation adds for this target: 20 (IPIP over IPv4),
// 28 (GUE over IPv4), 40 (IPIP over IPv6), 48 (GUE over IPv6). Ethernet is not counted.
inline uint16_t encap_overhead(const EncapTarget& t) noexcept {
  const uint16_t ip = t.backend.is_v4() ? 20 : 40;
  return static_cast<uint16_t>(ip + (t.type == EncapType::Gue ? 8 : 0));
}

// The largest inner IP packet that fits: t.mtu - encap_overhead(t) (0 if the MTU is smaller
// than the overhead). This is the MTU to announce to the client after EncapStatus::TooBig
// (make_too_big_reply raises it to 1280 for IPv6, the protocol minimum).
inline uint16_t encap_client_mtu(const EncapTarget& t) noexcept {
  const uint16_t overhead = encap_overhead(t);
  return t.mtu > overhead ? static_cast<uint16_t>(t.mtu - overhead) : 0;
}

// Hot path. Encapsulates the frame in `pkt`, which `p` describes (parse() returned Ok for it
// and it is an IP packet to a VIP), for backend `t`. `flow_hash` is the packet's flow hash
// (the one that chose the backend), so all packets of a flow get the same outer header.
// Outer IPv4: IHL 5, TOS = inner TOS/traffic class (DSCP and ECN copied), ID 0, DF = the inner
// DF for an IPv4 inner packet and 1 for IPv6, TTL 64, header checksum. Outer IPv6: traffic
// class = inner TOS/traffic class, flow label from the flow hash, hop limit 64. GUE: UDP
// checksum 0 over IPv4 (RFC 768 allows it; the inner packet carries its own checksums),
// computed over IPv6 where it is mandatory. The inner packet is not modified.
// Returns Ok, or TooBig / NoHeadroom / Malformed with the frame untouched. Needs headroom
// of 14 (+4 with a VLAN) + encap_overhead(t) - p.l2_len bytes.
// Cost: no loop over the payload except for GUE over IPv6, whose UDP checksum has to sum
// the whole inner packet. Measured (Google Benchmark, g++ 12 -O2, AMD EPYC 2 vCPU, CPU time
// per packet): IPIP over IPv4 6 ns, IPIP over IPv6 5 ns, GUE over IPv4 7 ns, whatever the
// packet size; GUE over IPv6 11 ns for a 60-byte inner packet, 32 ns for 1460 bytes.
EncapStatus encapsulate(PacketBuf& pkt, const ParsedPacket& p, const EncapTarget& t,
                        uint64_t flow_hash) noexcept;

// The same with the target's plan made in advance (the pipeline's path): byte for byte the
// frame the overload above makes, with ~half its instructions.
EncapStatus encapsulate(PacketBuf& pkt, const ParsedPacket& p, const EncapPlan& plan,
                        uint64_t flow_hash) noexcept;

// The outer source address encapsulate() uses for this flow hash and target (exposed for
// tests, tools and the simulator): the family's configured source with its lowest hash bits
// taken from the flow hash.
IpAddress encap_source(const EncapTarget& t, uint64_t flow_hash) noexcept;

// The GUE outer UDP source port (host order) for this flow hash: 49152..65535.
constexpr uint16_t gue_source_port(uint64_t flow_hash) noexcept {
  return static_cast<uint16_t>(kGueSourcePortMin | ((flow_hash >> 16) & 0x3fff));
}

// The outer IPv6 flow label for this flow hash: the hash's low 20 bits.
constexpr uint32_t encap_flow_label(uint64_t flow_hash) noexcept {
  return static_cast<uint32_t>(flow_hash & 0xfffff);
}

}  // namespace steer::dataplane
