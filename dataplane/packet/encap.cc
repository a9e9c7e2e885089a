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

// The outer source's bits for this flow, from the plan: the IPv4 source's hash bits (host
// order; OR them into plan.v4_source_fixed) and the low 64 bits of the IPv6 source.
uint32_t v4_source_bits(const EncapPlan& plan, uint64_t flow_hash) noexcept {
  return static_cast<uint32_t>(source_hash_bits(flow_hash)) & plan.v4_source_mask;
}
uint64_t v6_source_lo(const EncapPlan& plan, uint64_t flow_hash) noexcept {
  return plan.v6_source_lo | (source_hash_bits(flow_hash) & plan.v6_source_mask);
}

// One's-complement sum of the four 16-bit words of a big-endian 64-bit value, unfolded
// (2^32 = 1 modulo 2^16 - 1, so the 32-bit halves may be added as numbers).
uint64_t word_sum(uint64_t v) noexcept { return (v >> 32) + (v & 0xffffffff); }

// A 64-bit accumulation of 16-bit words folded to 16 bits, not complemented.
uint16_t fold64(uint64_t acc) noexcept {
  acc = (acc & 0xffffffff) + (acc >> 32);
  acc = (acc & 0xffffffff) + (acc >> 32);
  return checksum_fold(static_cast<uint32_t>(acc));
}

uint16_t finish64(uint64_t acc) noexcept { return static_cast<uint16_t>(~fold64(acc)); }

// One specialisation per outer family and encap type, so each path is straight-line code
// with a header of constant length (and one more for the egress VLAN tag).
template <bool kOuterV6, bool kGue>
EncapStatus encap(PacketBuf& pkt, const ParsedPacket& p, const EncapPlan& plan,
                  uint64_t flow_hash) noexcept {
  constexpr uint32_t kOverhead =
      (kOuterV6 ? kIpv6HeaderLen : kIpv4HeaderLen) + (kGue ? kUdpHeaderLen : 0);
  const uint32_t inner_len = p.ip_total_len;
  if (uint64_t{p.l2_len} + inner_len > pkt.len) return EncapStatus::Malformed;
  if (inner_len + kOverhead > plan.mtu) return EncapStatus::TooBig;

  const bool vlan = plan.eth_len != kEthHeaderLen;
  const uint32_t eth_len = vlan ? kEthHeaderLen + kVlanTagLen : kEthHeaderLen;
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

  // The fixed bytes, in one copy of constant length.
  uint8_t* eth = pkt.data;
  if (vlan) {
    std::memcpy(eth, plan.header.data(), kEthHeaderLen + kVlanTagLen + kOverhead);
  } else {
    std::memcpy(eth, plan.header.data(), kEthHeaderLen + kOverhead);
  }

  uint8_t* ip = eth + eth_len;
  const uint8_t l4_proto = kGue ? kProtoUdp : (p.is_v6 ? kProtoIpv6 : kProtoIpip);
  uint8_t* udp;
  [[maybe_unused]] uint64_t src_lo = 0;
  if constexpr (kOuterV6) {
    store_be32(ip, uint32_t{6} << 28 | uint32_t{p.tos} << 20 | encap_flow_label(flow_hash));
    store_be16(ip + 4, static_cast<uint16_t>(kOverhead - kIpv6HeaderLen + inner_len));
    ip[6] = l4_proto;
    src_lo = v6_source_lo(plan, flow_hash);
    store64_be(ip + 16, src_lo);
    udp = ip + kIpv6HeaderLen;
  } else {
    // ID 0: we never fragment (TooBig above). DF follows the inner packet so path MTU
    // discovery keeps working end to end. Only an inner IPv4 packet sent without DF can be
    // fragmented by a narrower link further on; with a constant ID, two such packets of one
    // flow in flight at once could be misassembled (RFC 6864) — a cost we accept for clients
    // that disable DF across a path narrower than our egress MTU.
    const uint16_t total_len = static_cast<uint16_t>(kOverhead + inner_len);
    const uint16_t flags = (p.is_v6 || p.df) ? 0x4000 : 0;  // DF; fragment offset 0
    const uint32_t src_bits = v4_source_bits(plan, flow_hash);
    const uint32_t src = plan.v4_source_fixed | src_bits;
    ip[1] = p.tos;
    store_be16(ip + 2, total_len);
    store_be16(ip + 6, flags);
    ip[9] = l4_proto;
    store_be32(ip + 12, src);
    // The checksum is summed from the field values rather than re-read from the bytes just
    // stored (reading them back as words stalls on store forwarding): the fixed words come
    // summed with the plan, and the source's hash bits (disjoint from its fixed bits) add
    // word by word.
    const uint32_t sum = plan.fixed_sum + p.tos + total_len + flags + l4_proto + (src_bits >> 16) +
                         (src_bits & 0xffff);
    store_be16(ip + 10, checksum_finish(sum));
    udp = ip + kIpv4HeaderLen;
  }

  if constexpr (kGue) {
    const uint32_t udp_len = kUdpHeaderLen + inner_len;
    const uint16_t sport = gue_source_port(flow_hash);
    store_be16(udp, sport);
    store_be16(udp + 4, static_cast<uint16_t>(udp_len));
    if constexpr (kOuterV6) {
      // Mandatory over IPv6 (RFC 8200 section 8.1). The pseudo-header and UDP header are
      // summed from their values (the fixed part comes with the plan); the inner packet is
      // summed from memory, which is the cost of this path (see checksum.h).
      const uint64_t acc = plan.fixed_sum + word_sum(src_lo) + 2 * uint64_t{udp_len} + sport +
                           checksum_partial(udp + kUdpHeaderLen, inner_len);
      const uint16_t c = finish64(acc);
      store_be16(udp + 6, c == 0 ? 0xffff : c);
    }
  } else {
    (void)udp;
  }
  return EncapStatus::Ok;
}

}  // namespace

EncapPlan make_encap_plan(const EncapTarget& t) noexcept {
  EncapPlan plan;
  plan.outer_v6 = !t.backend.is_v4();
  plan.gue = t.type == EncapType::Gue;
  plan.mtu = t.mtu;
  plan.eth_len = static_cast<uint8_t>(kEthHeaderLen + (t.egress_vlan != 0 ? kVlanTagLen : 0));
  uint8_t* eth = plan.header.data();
  std::memcpy(eth, t.dst_mac.data(), 6);
  std::memcpy(eth + 6, t.src_mac.data(), 6);
  if (t.egress_vlan != 0) {
    store_be16(eth + 12, kEtherTypeVlan);
    store_be16(eth + 14, t.egress_vlan);
  }
  store_be16(eth + plan.eth_len - 2, plan.outer_v6 ? kEtherTypeIpv6 : kEtherTypeIpv4);
  uint8_t* ip = eth + plan.eth_len;
  uint8_t* udp;
  if (plan.outer_v6) {
    plan.v6_source_mask = low_mask(t.source_v6_hash_bits > 64 ? 64 : t.source_v6_hash_bits);
    const uint64_t hi = load64_be(t.source_v6.data());
    plan.v6_source_lo = load64_be(t.source_v6.data() + 8) & ~plan.v6_source_mask;
    ip[7] = kEncapTtl;
    store64_be(ip + 8, hi);
    std::memcpy(ip + 24, t.backend.data(), 16);
    udp = ip + kIpv6HeaderLen;
    if (plan.gue) {
      const uint8_t* backend = t.backend.data();
      const uint64_t acc = word_sum(hi) + word_sum(load64_be(backend)) +
                           word_sum(load64_be(backend + 8)) + kProtoUdp + t.gue_port;
      plan.fixed_sum = fold64(acc);  // not complemented: the per-packet terms are added to it
    }
  } else {
    const unsigned bits = t.source_v4_hash_bits > 32 ? 32 : t.source_v4_hash_bits;
    plan.v4_source_mask = static_cast<uint32_t>(low_mask(bits));
    const uint32_t src_fixed = t.source_v4.v4_host() & ~plan.v4_source_mask;
    plan.v4_source_fixed = src_fixed;
    const uint32_t dst = t.backend.v4_host();
    ip[0] = 0x45;
    ip[8] = kEncapTtl;
    store_be32(ip + 12, src_fixed);
    store_be32(ip + 16, dst);
    plan.fixed_sum = 0x4500u + (uint32_t{kEncapTtl} << 8) + (src_fixed >> 16) +
                     (src_fixed & 0xffff) + (dst >> 16) + (dst & 0xffff);
    udp = ip + kIpv4HeaderLen;
  }
  if (plan.gue) {
    ip[plan.outer_v6 ? 6 : 9] = kProtoUdp;
    store_be16(udp + 2, t.gue_port);
  }
  return plan;
}

EncapStatus encapsulate(PacketBuf& pkt, const ParsedPacket& p, const EncapPlan& plan,
                        uint64_t flow_hash) noexcept {
  if (!plan.outer_v6) {
    return plan.gue ? encap<false, true>(pkt, p, plan, flow_hash)
                    : encap<false, false>(pkt, p, plan, flow_hash);
  }
  return plan.gue ? encap<true, true>(pkt, p, plan, flow_hash)
                  : encap<true, false>(pkt, p, plan, flow_hash);
}

EncapStatus encapsulate(PacketBuf& pkt, const ParsedPacket& p, const EncapTarget& t,
                        uint64_t flow_hash) noexcept {
  return encapsulate(pkt, p, make_encap_plan(t), flow_hash);
}

IpAddress encap_source(const EncapTarget& t, uint64_t flow_hash) noexcept {
  const EncapPlan plan = make_encap_plan(t);
  if (!plan.outer_v6) {
    return IpAddress::from_v4_host(plan.v4_source_fixed | v4_source_bits(plan, flow_hash));
  }
  uint8_t a[16];
  std::memcpy(a, t.source_v6.data(), 8);
  store64_be(a + 8, v6_source_lo(plan, flow_hash));
  return IpAddress::from_v6(a);
}

}  // namespace steer::dataplane
