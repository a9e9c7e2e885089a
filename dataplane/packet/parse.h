// DOC: the packet parser — Ethernet (+ one 802.1Q tag), IPv4/IPv6 (with IPv6 extension
// headers), TCP/UDP ports, ICMP/ICMPv6 including the packet embedded in an ICMP error.
//
// parse() reads a frame through one bounds-checked accessor (bytes.h) and fills a
// ParsedPacket with offsets and the fields later stages need; it never writes the frame.
// A frame that is not IP (ARP, LLDP, ...) is ParseStatus::NotIp: not an error, the caller
// passes it to the kernel. A malformed IP frame is ParseStatus::Drop with a typed reason.
// Pure function, noexcept, no allocation; any thread.
#pragma once

#include <cstdint>

#include "common/flow_key.h"
#include "dataplane/packet/drop_reason.h"

namespace steer::dataplane {

inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeIpv6 = 0x86DD;
inline constexpr uint16_t kEtherTypeVlan = 0x8100;
inline constexpr uint16_t kEtherTypeArp = 0x0806;

inline constexpr uint8_t kProtoIcmp = 1;
inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;
inline constexpr uint8_t kProtoIpv6 = 41;
inline constexpr uint8_t kProtoIpip = 4;
inline constexpr uint8_t kProtoIcmpv6 = 58;

// Walk bound for IPv6 extension headers (RFC 8504 suggests hosts cope with several; a
// longer chain is an attack more often than traffic).
inline constexpr int kMaxIpv6ExtHeaders = 8;

enum class ParseStatus : uint8_t { Ok, NotIp, Drop };

struct ParsedPacket {
  // L2
  uint16_t l2_len = 0;       // Ethernet header + VLAN tag, i.e. offset of the IP header
  bool has_vlan = false;
  uint16_t vlan_tci = 0;     // host order, when has_vlan
  uint16_t ethertype = 0;    // after the VLAN tag: kEtherTypeIpv4 or kEtherTypeIpv6

  // L3
  bool is_v6 = false;
  uint16_t l3_len = 0;       // IP header incl. IPv4 options / IPv6 extension headers
  uint32_t ip_total_len = 0; // IPv4 total length / 40 + IPv6 payload length; the frame may
                             // carry Ethernet padding past l2_len + ip_total_len
  uint8_t tos = 0;           // IPv4 TOS / IPv6 traffic class (DSCP << 2 | ECN)
  uint8_t ttl = 0;           // TTL / hop limit
  bool df = false;           // IPv4 Don't Fragment (IPv6: always false)
  uint32_t flow_label = 0;   // IPv6 only

  // Fragments (IPv4 flags/offset, IPv6 fragment header)
  bool is_fragment = false;     // any fragment, first or not
  bool first_fragment = false;  // offset 0 (carries the L4 header)
  uint32_t frag_id = 0;         // IPv4 identification (16 bits) / IPv6 identification

  // L4
  uint8_t proto = 0;         // final protocol after extension headers
  uint16_t l4_offset = 0;    // = l2_len + l3_len
  // key: src/dst in canonical form; ports in network order when present (TCP/UDP header
  // visible), else 0; proto as above. For ICMP echo, ports are 0.
  FlowKey key{};
  uint8_t tcp_flags = 0;     // when proto == TCP and the header is visible

  // ICMP / ICMPv6 (proto 1 or 58)
  uint8_t icmp_type = 0;
  uint8_t icmp_code = 0;
  bool icmp_is_error = false;  // destination unreachable, packet too big, time exceeded,
                               // parameter problem
  // For an ICMP error: the tuple of the embedded (offending) packet as it appears there —
  // src/dst/ports/proto of the packet that the error is about. The flow it belongs to is this
  // key with src/dst and ports swapped (see swapped_inner_key()).
  bool has_inner = false;
  FlowKey inner_key{};
  uint16_t inner_l3_offset = 0;  // offset of the embedded IP header in the frame
};

ParseStatus parse(const uint8_t* frame, uint32_t len, ParsedPacket& out,
                  DropReason& reason) noexcept;

// The flow an ICMP error belongs to: the embedded tuple reversed (client → VIP).
FlowKey swapped_inner_key(const ParsedPacket& p) noexcept;

}  // namespace steer::dataplane
