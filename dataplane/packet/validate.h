// DOC: validation of packets addressed to a VIP — what no correct host or router sends, and
// what must therefore never reach a backend.
//
// parse() rejects frames that are malformed (lengths, header chains, RFC 768 UDP length,
// RFC 5095 type-0 routing headers). check_vip_packet() adds the rules that are about policy
// rather than form, and applies them only to packets the pipeline would act on (forward to a
// backend, or answer): everything else goes to the host's kernel, which applies its own rules
// (a DHCP client legitimately sends from 0.0.0.0 to 255.255.255.255, for one).
// docs/packet-core.md lists every rule with its RFC basis and verdict.
//
// Threading: pure functions; noexcept; no allocation; any thread.
#pragma once

#include <cstdint>
#include <optional>

#include "common/flow_key.h"
#include "dataplane/packet/drop_reason.h"
#include "dataplane/packet/parse.h"

namespace steer::dataplane {

// True when `src` (canonical 16-byte form, as in FlowKey) is a source address no host may
// put on the wire. For an IPv4 packet (`is_v6` false; `src` is ::ffff:a.b.c.d): 0.0.0.0/8
// ("this network", RFC 1122 3.2.1.3), 127.0.0.0/8 (loopback), 224.0.0.0/4 (multicast) and
// 240.0.0.0/4 (reserved, including the limited broadcast 255.255.255.255; RFC 1812 5.3.7).
// For an IPv6 packet: :: (unspecified), ::1 (loopback), ff00::/8 (multicast; RFC 4291 2.5.2,
// 2.5.3, 2.7) and ::ffff:0:0/96 (IPv4-mapped, never on the wire; RFC 4291 2.5.5.2).
bool is_bad_source(const uint8_t* src, bool is_v6) noexcept;

// The reason to drop a packet that the pipeline found addressed to a VIP (or a VIP address,
// for ICMP), or nullopt to go on. `frame` is the frame `p` describes (parse() returned Ok).
// Checked in order: Ethernet destination a group address (L2GroupAddress), source address
// (BadSourceAddress), TTL / hop limit 0 (ZeroTtl), IPv4 source route (Ipv4SourceRoute); then,
// when the TCP/UDP header is visible (unfragmented or first fragment): TCP flags no stack
// sends (BadTcpFlags: SYN+FIN, SYN+RST, none of SYN/RST/ACK — null and FIN scans —, and
// FIN+PSH+URG without ACK) and port 0 on either side (ZeroPort).
std::optional<DropReason> check_vip_packet(const uint8_t* frame, const ParsedPacket& p) noexcept;

}  // namespace steer::dataplane
