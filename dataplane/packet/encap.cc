#include "dataplane/packet/encap.h"

#include <bit>
#include <cstring>

#include "dataplane/packet/bytes.h"
#include "dataplane/packet/checksum.h"

namespace steer::dataplane {
namespace {

constexpr uint32_t kEthHeaderLen = 14;
constexpr uint32_t kVlanTagLen = 4;
constexpr uint32_t kIpv4HeaderLen = 20;
constexpr uint32_t kIpv6HeaderLen = 40;
constexpr uint32_t kUdpHeaderLen = 8;

// Headers are written with raw big-endian stores (bytes.h and the two below): every write
// lands inside bytes that encap() has already reserved (prepended) in the frame.

uint64_t to_be64(uint64_t v) noexcept {
  if constexpr (std::endian::native == std::endian::little) return __builtin_bswap64(v);
  return v;
}
uint64_t load64_be(const uint8_t* p) noexcept {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return to_be64(v);
}
void store64_be(uint8_t* p, uint64_t v) noexcept {
  v = to_be64(v);
  std::memcpy(p, &v, sizeof v);
}

// Hash bits for the outer source address: the upper half of the flow hash first, so they are
// independent of the flow label (bits 0..19) and the GUE source port (bits 16..29).
uint64_t source_hash_bits(uint64_t flow_hash) noexcept { return flow_hash >> 32 | flow_hash << 32; }

uint64_t low_mask(unsigned bits) noexcept {
  return bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
}

// The outer IPv4 source for this flow (host order).
uint32_t source_v4(const EncapTarget& t, uint64_t flow_hash) noexcept {
  const unsigned bits = t.source_v4_hash_bits > 32 ? 32 : t.source_v4_hash_bits;
  const uint32_t mask = static_cast<uint32_t>(low_mask(bits));
  const uint32_t h = static_cast<uint32_t>(source_hash_bits(flow_hash));
  return (t.source_v4.v4_host() & ~mask) | (h & mask);
}

// The outer IPv6 source for this flow, as two big-endian halves (bytes 0..7 and 8..15).
struct Source6 {
  uint64_t hi;
  uint64_t lo;
};
Source6 source_v6(const EncapTarget& t, uint64_t flow_hash) noexcept {
  const uint8_t* base = t.source_v6.data();
  const uint64_t mask = low_mask(t.source_v6_hash_bits > 64 ? 64 : t.source_v6_hash_bits);
  return {load64_be(base), (load64_be(base + 8) & ~mask) | (source_hash_bits(flow_hash) & mask)};
}

// One's-complement sum of the four 16-bit words of a big-endian 64-bit value, unfolded
// (2^32 = 1 modulo 2^16 - 1, so the 32-bit halves may be added as numbers).
uint64_t word_sum(uint64_t v) noexcept { return (v >> 32) + (v & 0xffffffff); }

uint16_t finish64(uint64_t acc) noexcept {
  acc = (acc & 0xffffffff) + (acc >> 32);
  acc = (acc & 0xffffffff) + (acc >> 32);
  return checksum_finish(static_cast<uint32_t>(acc));
}

// One specialisation per outer family and encap type, so each path is straight-line code.
template <bool kOuterV6, bool kGue>
EncapStatus encap(PacketBuf& pkt, const ParsedPacket& p, const EncapTarget& t,
                  uint64_t flow_hash) noexcept {
  constexpr uint32_t kOverhead =
      (kOuterV6 ? kIpv6HeaderLen : kIpv4HeaderLen) + (kGue ? kUdpHeaderLen : 0);
  const uint32_t inner_len = p.ip_total_len;
  if (uint64_t{p.l2_len} + inner_len > pkt.len) return EncapStatus::Malformed;
  if (inner_len + kOverhead > t.mtu) return EncapStatus::TooBig;

  const uint32_t eth_len = kEthHeaderLen + (t.egress_vlan != 0 ? kVlanTagLen : 0);
  const uint32_t new_headers = eth_len + kOverhead;
  // The new headers replace the client's Ethernet header (14 or 18 bytes); they are always
  // longer (at least 34 bytes), but stay correct if a caller ever passes a longer L2 header.
  if (new_headers > p.l2_len && new_headers - p.l2_len > pkt.headroom) {
    return EncapStatus::NoHeadroom;
  }

  pkt.trim_to(p.l2_len + inner_len);  // drop Ethernet padding
  if (new_headers >= p.l2_len) {
    pkt.prepend(new_headers - p.l2_len);
  } else {
    pkt.adj(p.l2_len - new_headers);
  }

  uint8_t* eth = pkt.data;
  std::memcpy(eth, t.dst_mac.data(), 6);
  std::memcpy(eth + 6, t.src_mac.data(), 6);
  if (t.egress_vlan != 0) {
    store_be16(eth + 12, kEtherTypeVlan);
    store_be16(eth + 14, t.egress_vlan);
  }
  store_be16(eth + eth_len - 2, kOuterV6 ? kEtherTypeIpv6 : kEtherTypeIpv4);

  uint8_t* ip = eth + eth_len;
  const uint8_t l4_proto = kGue ? kProtoUdp : (p.is_v6 ? kProtoIpv6 : kProtoIpip);
  uint8_t* udp;
  [[maybe_unused]] Source6 src6{};
  if constexpr (kOuterV6) {
    store_be32(ip, uint32_t{6} << 28 | uint32_t{p.tos} << 20 | encap_flow_label(flow_hash));
    store_be16(ip + 4, static_cast<uint16_t>(kOverhead - kIpv6HeaderLen + inner_len));
    ip[6] = l4_proto;
    ip[7] = kEncapTtl;
    src6 = source_v6(t, flow_hash);
    store64_be(ip + 8, src6.hi);
    store64_be(ip + 16, src6.lo);
    std::memcpy(ip + 24, t.backend.data(), 16);
    udp = ip + kIpv6HeaderLen;
  } else {
    // ID 0: we never fragment (TooBig above). DF follows the inner packet so path MTU
    // discovery keeps working end to end. Only an inner IPv4 packet sent without DF can be
    // fragmented by a narrower link further on; with a constant ID, two such packets of one
    // flow in flight at once could be misassembled (RFC 6864) — a cost we accept for clients
    // that disable DF across a path narrower than our egress MTU.
    const uint16_t total_len = static_cast<uint16_t>(kOverhead + inner_len);
    const uint16_t flags = (p.is_v6 || p.df) ? 0x4000 : 0;  // DF; fragment offset 0
    const uint16_t ttl_proto = static_cast<uint16_t>(kEncapTtl << 8 | l4_proto);
    const uint32_t src = source_v4(t, flow_hash);
    const uint32_t dst = t.backend.v4_host();
    ip[0] = 0x45;
    ip[1] = p.tos;
    store_be16(ip + 2, total_len);
    store_be16(ip + 4, 0);  // ID
    store_be16(ip + 6, flags);
    store_be16(ip + 8, ttl_proto);
    store_be32(ip + 12, src);
    store_be32(ip + 16, dst);
    // The header checksum is summed from the field values rather than re-read from the bytes
    // just stored: reading them back as words stalls on store forwarding.
    const uint32_t sum = (uint32_t{0x4500} | p.tos) + total_len + flags + ttl_proto + (src >> 16) +
                         (src & 0xffff) + (dst >> 16) + (dst & 0xffff);
    store_be16(ip + 10, checksum_finish(sum));
    udp = ip + kIpv4HeaderLen;
  }

  if constexpr (kGue) {
    const uint32_t udp_len = kUdpHeaderLen + inner_len;
    const uint16_t sport = gue_source_port(flow_hash);
    store_be16(udp, sport);
    store_be16(udp + 2, t.gue_port);
    store_be16(udp + 4, static_cast<uint16_t>(udp_len));
    store_be16(udp + 6, 0);  // over IPv4: no checksum (RFC 768)
    if constexpr (kOuterV6) {
      // Mandatory over IPv6 (RFC 8200 section 8.1). The pseudo-header and UDP header are
      // summed from their values (no reload of the bytes just stored); the inner packet is
      // summed from memory, which is the cost of this path (see checksum.h).
      const uint8_t* backend = t.backend.data();
      const uint64_t acc = word_sum(src6.hi) + word_sum(src6.lo) + word_sum(load64_be(backend)) +
                           word_sum(load64_be(backend + 8)) + kProtoUdp + 2 * uint64_t{udp_len} +
                           sport + t.gue_port + checksum_partial(udp + kUdpHeaderLen, inner_len);
      const uint16_t c = finish64(acc);
      store_be16(udp + 6, c == 0 ? 0xffff : c);
    }
  } else {
    (void)udp;
  }
  return EncapStatus::Ok;
}

}  // namespace

EncapStatus encapsulate(PacketBuf& pkt, const ParsedPacket& p, const EncapTarget& t,
                        uint64_t flow_hash) noexcept {
  const bool gue = t.type == EncapType::Gue;
  if (t.backend.is_v4()) {
    return gue ? encap<false, true>(pkt, p, t, flow_hash)
               : encap<false, false>(pkt, p, t, flow_hash);
  }
  return gue ? encap<true, true>(pkt, p, t, flow_hash) : encap<true, false>(pkt, p, t, flow_hash);
}

IpAddress encap_source(const EncapTarget& t, uint64_t flow_hash) noexcept {
  if (t.backend.is_v4()) return IpAddress::from_v4_host(source_v4(t, flow_hash));
  const Source6 src = source_v6(t, flow_hash);
  uint8_t a[16];
  store64_be(a, src.hi);
  store64_be(a + 8, src.lo);
  return IpAddress::from_v6(a);
}

}  // namespace steer::dataplane
