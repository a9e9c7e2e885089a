#include "dataplane/packet/icmp.h"

#include <algorithm>
#include <cstring>

#include "dataplane/packet/bytes.h"
#include "dataplane/packet/checksum.h"

namespace steer::dataplane {
namespace {

constexpr uint32_t kIpv4HeaderLen = 20;
constexpr uint32_t kIpv6HeaderLen = 40;
constexpr uint32_t kIcmpHeaderLen = 8;

// Fields are read and written with the raw big-endian helpers of bytes.h: every access stays
// inside the frame, because both functions check l2_len + ip_total_len against the frame
// length (and the echo header against the IP packet) first.
template <size_t N>
void swap_bytes(uint8_t* a, uint8_t* b) noexcept {
  uint8_t tmp[N];
  std::memcpy(tmp, a, N);
  std::memcpy(a, b, N);
  std::memcpy(b, tmp, N);
}

// Ethernet destination <-> source: the reply goes back to the router that sent the packet.
void swap_macs(uint8_t* eth) noexcept { swap_bytes<6>(eth, eth + 6); }

// The frame holds the whole IP packet `p` describes, fixed header included.
bool frame_holds_ip_packet(const PacketBuf& pkt, const ParsedPacket& p) noexcept {
  const uint32_t fixed_header = p.is_v6 ? kIpv6HeaderLen : kIpv4HeaderLen;
  return p.ip_total_len >= fixed_header && uint64_t{p.l2_len} + p.ip_total_len <= pkt.len;
}

}  // namespace

bool make_too_big_reply(PacketBuf& pkt, const ParsedPacket& p, uint16_t mtu) noexcept {
  if (!frame_holds_ip_packet(pkt, p)) return false;
  const uint32_t l2 = p.l2_len;
  const uint32_t new_headers = (p.is_v6 ? kIpv6HeaderLen : kIpv4HeaderLen) + kIcmpHeaderLen;
  const uint32_t max_len = p.is_v6 ? kIcmpv6ErrorMaxLen : kIcmpv4ErrorMaxLen;
  const uint32_t quoted = std::min(p.ip_total_len, max_len - new_headers);
  if (!pkt.prepend(new_headers)) return false;

  // Move only the Ethernet header (14 or 18 bytes) to the new front; the original IP packet
  // stays put and becomes the quoted payload right after the new IP + ICMP headers.
  uint8_t* eth = pkt.data;
  std::memmove(eth, eth + new_headers, l2);
  swap_macs(eth);
  uint8_t* ip = eth + l2;
  const uint8_t* orig = ip + new_headers;
  uint8_t* icmp = ip + (new_headers - kIcmpHeaderLen);

  if (p.is_v6) {
    store_be32(ip, uint32_t{6} << 28);  // traffic class 0, flow label 0
    store_be16(ip + 4, static_cast<uint16_t>(kIcmpHeaderLen + quoted));
    ip[6] = kProtoIcmpv6;
    ip[7] = kIcmpReplyTtl;
    std::memcpy(ip + 8, orig + 24, 16);  // from the VIP
    std::memcpy(ip + 24, orig + 8, 16);  // to the client
    icmp[0] = kIcmpv6PacketTooBig;
    icmp[1] = 0;
    store_be16(icmp + 2, 0);
    store_be32(icmp + 4, std::max(mtu, kIpv6MinMtu));
    store_be16(icmp + 2, l4_checksum_v6(ip, kProtoIcmpv6, icmp, kIcmpHeaderLen + quoted));
  } else {
    ip[0] = 0x45;
    ip[1] = kIcmpv4ErrorTos;
    store_be16(ip + 2, static_cast<uint16_t>(new_headers + quoted));
    store_be32(ip + 4, 0);  // ID 0, no flags: at most 576 bytes, never needs fragmenting
    ip[8] = kIcmpReplyTtl;
    ip[9] = kProtoIcmp;
    store_be16(ip + 10, 0);
    std::memcpy(ip + 12, orig + 16, 4);  // from the VIP
    std::memcpy(ip + 16, orig + 12, 4);  // to the client
    store_be16(ip + 10, ipv4_header_checksum(ip, kIpv4HeaderLen));
    icmp[0] = kIcmpDestUnreachable;
    icmp[1] = kIcmpFragNeeded;
    store_be16(icmp + 2, 0);
    store_be16(icmp + 4, 0);    // unused
    store_be16(icmp + 6, mtu);  // next-hop MTU (RFC 1191)
    store_be16(icmp + 2, checksum(icmp, kIcmpHeaderLen + quoted));
  }
  pkt.trim_to(l2 + new_headers + quoted);
  return true;
}

bool make_echo_reply(PacketBuf& pkt, const ParsedPacket& p) noexcept {
  if (!frame_holds_ip_packet(pkt, p) || p.is_fragment) return false;
  const uint8_t request = p.is_v6 ? kIcmpv6EchoRequest : kIcmpEchoRequest;
  const uint8_t proto = p.is_v6 ? kProtoIcmpv6 : kProtoIcmp;
  if (p.proto != proto || p.icmp_type != request) return false;
  if (p.l4_offset < p.l2_len ||
      uint64_t{p.l4_offset} + kIcmpHeaderLen > uint64_t{p.l2_len} + p.ip_total_len) {
    return false;
  }
  uint8_t* icmp = pkt.data + p.l4_offset;
  if (icmp[0] != request) return false;

  pkt.trim_to(p.l2_len + p.ip_total_len);  // drop Ethernet padding
  swap_macs(pkt.data);
  uint8_t* ip = pkt.data + p.l2_len;
  if (p.is_v6) {
    // The ICMPv6 pseudo-header sums source and destination, so swapping them leaves the
    // checksum as it is; only the type changes.
    swap_bytes<16>(ip + 8, ip + 24);
    ip[7] = kIcmpReplyTtl;
  } else {
    swap_bytes<4>(ip + 12, ip + 16);
    const uint16_t old_ttl_proto = load_be16(ip + 8);
    ip[8] = kIcmpReplyTtl;
    store_be16(ip + 10, checksum_update16(load_be16(ip + 10), old_ttl_proto, load_be16(ip + 8)));
  }
  const uint16_t old_type_code = load_be16(icmp);
  icmp[0] = p.is_v6 ? kIcmpv6EchoReply : kIcmpEchoReply;
  store_be16(icmp + 2, checksum_update16(load_be16(icmp + 2), old_type_code, load_be16(icmp)));
  return true;
}

}  // namespace steer::dataplane
