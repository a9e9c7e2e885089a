// DOC: ICMP replies the LB sends itself — "fragmentation needed" / "packet too big" for a
// packet that cannot be encapsulated within the egress MTU, and echo replies for VIPs.
//
// Both rewrite the frame in place and send it back the way it came: Ethernet source and
// destination swapped (the reply goes to the router that delivered the packet), VLAN tag
// kept, IP source = the VIP (the packet's destination), destination = the client.
//   make_too_big_reply: the original IP packet is quoted after new IP + ICMP headers. The
//     frame grows into the headroom by 28 (IPv4) or 48 (IPv6) bytes and only the Ethernet
//     header moves; the quoted packet stays where it is and is cut at the size limit
//     (576 bytes of IPv4 packet, RFC 1812 section 4.3.2.3; 1280 of IPv6, RFC 4443 2.4(c)).
//   make_echo_reply: type and addresses changed in place, checksums updated incrementally.
// Which packets deserve a reply (never an ICMP error, never a non-first fragment, rate
// limits) is the caller's policy; these functions only build the reply.
//
// Threading: pure functions over one frame; noexcept; no allocation; any thread.
// Invariant: when a function returns false the frame is left exactly as it was.
#pragma once

#include <cstdint>

#include "dataplane/packet/packet.h"
#include "dataplane/packet/parse.h"

namespace steer::dataplane {

inline constexpr uint8_t kIcmpReplyTtl = 64;          // TTL / hop limit of our replies
inline constexpr uint8_t kIcmpv4ErrorTos = 0xc0;      // precedence 6 (RFC 1812 section 4.3.2.5)
inline constexpr uint32_t kIcmpv4ErrorMaxLen = 576;   // whole reply IP packet, IPv4
inline constexpr uint32_t kIcmpv6ErrorMaxLen = 1280;  // whole reply IP packet, IPv6
inline constexpr uint16_t kIpv6MinMtu = 1280;

inline constexpr uint8_t kIcmpEchoReply = 0;
inline constexpr uint8_t kIcmpDestUnreachable = 3;
inline constexpr uint8_t kIcmpFragNeeded = 4;  // code of kIcmpDestUnreachable
inline constexpr uint8_t kIcmpEchoRequest = 8;
inline constexpr uint8_t kIcmpv6PacketTooBig = 2;
inline constexpr uint8_t kIcmpv6EchoRequest = 128;
inline constexpr uint8_t kIcmpv6EchoReply = 129;

// Hot path (rare). Turns the frame in `pkt`, which `p` describes (parse() returned Ok), into
// an ICMPv4 destination unreachable / fragmentation needed (type 3 code 4, next-hop MTU =
// `mtu`) or an ICMPv6 packet too big (type 2 code 0, MTU = max(mtu, 1280)) addressed to the
// packet's source. Reply header: IPv4 TOS 0xc0, ID 0, DF 0, TTL 64; IPv6 traffic class 0,
// flow label 0, hop limit 64. The payload is the original IP packet (without Ethernet
// padding) cut so the reply IP packet is at most 576 (IPv4) / 1280 (IPv6) bytes.
// Returns false, frame untouched, when the headroom is below 28 (IPv4) / 48 (IPv6) bytes or
// `p` does not describe this frame (IP packet shorter than its fixed header, or l2_len +
// ip_total_len > len).
bool make_too_big_reply(PacketBuf& pkt, const ParsedPacket& p, uint16_t mtu) noexcept;

// Hot path. Answers the ICMP echo request (IPv4 type 8 / ICMPv6 type 128) in `pkt`, which
// `p` describes, in place: MACs swapped, addresses swapped, type 0 / 129, TTL / hop limit 64,
// the IPv4 header and ICMP checksums updated incrementally (RFC 1624); identifier, sequence
// and payload unchanged; Ethernet padding stripped. Everything else is kept as it is: IPv4
// TOS, ID, flags and options; IPv6 traffic class, flow label and extension headers.
// Returns false, frame untouched, when `p` is not an unfragmented echo request or does not
// describe this frame.
bool make_echo_reply(PacketBuf& pkt, const ParsedPacket& p) noexcept;

}  // namespace steer::dataplane
