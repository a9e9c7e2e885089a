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
  uint16_t l2_len = 0;  // Ethernet header + VLAN tag, i.e. offset of the IP header
  bool has_vlan = false;
  uint16_t vlan_tci = 0;   // host order, when has_vlan
  uint16_t ethertype = 0;  // after the VLAN tag: kEtherTypeIpv4 or kEtherTypeIpv6

  // L3
  bool is_v6 = false;
  uint16_t l3_len = 0;             // IP header incl. IPv4 options / IPv6 extension headers
  uint32_t ip_total_len = 0;       // IPv4 total length / 40 + IPv6 payload length; the frame may
                                   // carry Ethernet padding past l2_len + ip_total_len
  uint8_t tos = 0;                 // IPv4 TOS / IPv6 traffic class (DSCP << 2 | ECN)
  uint8_t ttl = 0;                 // TTL / hop limit
  bool df = false;                 // IPv4 Don't Fragment (IPv6: always false)
  uint32_t flow_label = 0;         // IPv6 only
  bool ipv4_source_route = false;  // IPv4 options hold LSRR or SSRR (RFC 791 3.1)

  // Fragments (IPv4 flags/offset, IPv6 fragment header)
  bool is_fragment = false;     // any fragment, first or not
  bool first_fragment = false;  // offset 0 (carries the L4 header)
  uint32_t frag_id = 0;         // IPv4 identification (16 bits) / IPv6 identification
  uint16_t frag_offset = 0;     // fragment offset in 8-byte units (0 when not a fragment)
  bool more_fragments = false;  // IPv4 MF / IPv6 M flag

  // L4
  uint8_t proto = 0;       // final protocol after extension headers
  uint16_t l4_offset = 0;  // = l2_len + l3_len
  // key: src/dst in canonical form; ports in network order when present (TCP/UDP header
  // visible), else 0; proto as above. For ICMP echo, ports are 0.
  FlowKey key{};
  uint8_t tcp_flags = 0;  // when proto == TCP and the header is visible

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

// Parses the `len` bytes at `frame` (an Ethernet frame) into `out`, which is reset first.
// Reads only [frame, frame + len); never writes the frame.
//
// Returns Ok when the frame is a well-formed IPv4/IPv6 packet as far as the fields above need;
// NotIp (l2 fields and ethertype filled, not an error) for any other EtherType; Drop with
// `reason` set when the frame is malformed. `reason` is written only on Drop. On Drop, `out`
// holds what was parsed before the fault and defaults after it: use none of it but the L2
// fields.
//
// Rules worth knowing:
// - Lengths: the IP datagram must fit in the frame (IPv4 total length / IPv6 40 + payload
//   length); Ethernet padding after it is ignored, and every L4 read is bounded by the
//   datagram, not the frame. The IPv4 header checksum is not verified.
// - Fragments: is_fragment is set for MF or a non-zero offset (IPv4) and for an IPv6 fragment
//   header with M or a non-zero offset; an IPv6 atomic fragment (offset 0, M 0, RFC 6946) is
//   not a fragment, though frag_id is still filled. A non-first fragment has no L4 header: proto
//   is the protocol it carries, ports are 0 and ICMP fields are left 0.
// - IPv6: hop-by-hop only as the first header; routing, destination options, fragment and AH
//   are walked, at most kMaxIpv6ExtHeaders of them; anything else (ESP, no next header, an
//   unknown number) is the final protocol, with ports 0.
// - UDP (unfragmented or first fragment): the UDP length must be at least 8 and equal the IP
//   payload length (RFC 768); in a first fragment it must exceed what the fragment carries.
//   Else Drop BadUdpLength.
// - IPv6 type-0 routing header with segments left > 0: Drop Ipv6RoutingType0 (RFC 5095 3);
//   one with segments left 0 is walked like any other header. Packets quoted in ICMP errors
//   are not held to this.
// - IPv4 fragments: Drop BadIpv4Fragment when a fragment reaches past 65535 bytes, when one
//   with MF set carries no data or a length that is not a multiple of 8 (RFC 791 3.2), and for
//   a TCP fragment at offset 1 (RFC 1858 3.4: it can only overwrite the TCP flags).
// - IPv4 options: every option but end-of-list and no-operation needs a length of at least 2
//   that stays inside the header, else Drop BadIpv4Options (RFC 791 3.1); the walk ends at
//   end-of-list. Their content is not validated, only searched for a source route
//   (ipv4_source_route); the caller decides what to do with it.
// - ICMP/ICMPv6: ports are 0 (echo identifiers are not used). For an error (ICMPv4 3, 11, 12;
//   ICMPv6 1-4) the embedded packet of the same family is parsed — IPv4 header with options,
//   or IPv6 header and extension headers (same walk and bound) — and its ports read from its
//   L4 header, of which the quote must hold the first 8 bytes (RFC 792: the IP header and 64
//   bits of data). If the embedded packet is too short or malformed to give that
//   tuple, the result is still Ok with has_inner = false: the caller drops it as
//   TruncatedIcmpInner only if it was addressed to a VIP. An embedded non-first fragment gives
//   a tuple with ports 0.
ParseStatus parse(const uint8_t* frame, uint32_t len, ParsedPacket& out,
                  DropReason& reason) noexcept;

// The flow an ICMP error belongs to: the embedded tuple reversed (client → VIP): src/dst and
// the two ports swapped, proto unchanged. Meaningful only when p.has_inner (else it swaps the
// zero key).
FlowKey swapped_inner_key(const ParsedPacket& p) noexcept;

}  // namespace steer::dataplane
