// Every check reads fields parse() already extracted, plus one byte of the Ethernet header:
// a handful of compares per packet, no loop.
#include "dataplane/packet/validate.h"

namespace steer::dataplane {
namespace {

constexpr uint8_t kTcpFin = 0x01;
constexpr uint8_t kTcpSyn = 0x02;
constexpr uint8_t kTcpRst = 0x04;
constexpr uint8_t kTcpPsh = 0x08;
constexpr uint8_t kTcpAck = 0x10;
constexpr uint8_t kTcpUrg = 0x20;

bool all_zero(const uint8_t* p, int n) noexcept {
  uint8_t acc = 0;
  for (int i = 0; i < n; ++i) acc |= p[i];
  return acc == 0;
}

bool bad_tcp_flags(uint8_t flags) noexcept {
  const uint8_t f = flags & 0x3f;  // CWR and ECE say nothing about the combination
  // Only a SYN or a RST may lack ACK (RFC 9293 3.10.7): this is the null scan (no flag), the
  // FIN scan and any other lone FIN/PSH/URG mix.
  if (!(f & (kTcpSyn | kTcpRst | kTcpAck))) return true;
  if ((f & kTcpSyn) && (f & (kTcpFin | kTcpRst))) return true;
  const uint8_t xmas = kTcpFin | kTcpPsh | kTcpUrg;
  return (f & xmas) == xmas && !(f & kTcpAck);
}

}  // namespace

bool is_bad_source(const uint8_t* src, bool is_v6) noexcept {
  if (!is_v6) {
    const uint8_t a = src[12];
    return a == 0 || a == 127 || a >= 224;
  }
  if (src[0] == 0xff) return true;  // multicast
  if (!all_zero(src, 10)) return false;
  if (src[10] == 0xff && src[11] == 0xff) return true;  // IPv4-mapped
  // :: and ::1
  return all_zero(src + 10, 5) && src[15] <= 1;
}

std::optional<DropReason> check_vip_packet(const uint8_t* frame, const ParsedPacket& p) noexcept {
  // The I/G bit of the destination MAC: broadcast and multicast frames. A VIP is a unicast
  // address, so such a frame carries a unicast packet in a group frame (RFC 1122 3.3.6), and
  // every host on the segment got a copy: forwarding it would duplicate the packet.
  if (frame[0] & 0x01) return DropReason::L2GroupAddress;
  if (is_bad_source(p.key.src, p.is_v6)) return DropReason::BadSourceAddress;
  if (p.ttl == 0) return DropReason::ZeroTtl;
  if (p.ipv4_source_route) return DropReason::Ipv4SourceRoute;
  if (p.is_fragment && !p.first_fragment) return std::nullopt;
  if (p.proto == kProtoTcp && bad_tcp_flags(p.tcp_flags)) return DropReason::BadTcpFlags;
  if ((p.proto == kProtoTcp || p.proto == kProtoUdp) &&
      (p.key.src_port_be == 0 || p.key.dst_port_be == 0))
    return DropReason::ZeroPort;
  return std::nullopt;
}

}  // namespace steer::dataplane
