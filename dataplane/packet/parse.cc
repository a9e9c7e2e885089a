// The common path (Ethernet, IPv4 without options, TCP/UDP) is straight-line code: one bounds
// check per header through bytes.h, field reads at compile-time offsets, no loops. IPv6
// extension headers and ICMP quotes live in their own functions so they stay off that path.
#include "dataplane/packet/parse.h"

#include <cstring>

#include "dataplane/packet/bytes.h"

namespace steer::dataplane {
namespace {

constexpr uint16_t kEtherTypeQinq = 0x88A8;      // 802.1ad service tag
constexpr uint16_t kEtherTypeVlan9100 = 0x9100;  // pre-standard QinQ tag

constexpr uint8_t kNextHopByHop = 0;
constexpr uint8_t kNextRouting = 43;
constexpr uint8_t kNextFragment = 44;
constexpr uint8_t kNextAh = 51;
constexpr uint8_t kNextDestOptions = 60;

// A hop-by-hop header anywhere but first makes the chain malformed (RFC 8200 §4.1).
constexpr DropReason kMisplacedHopByHop = DropReason::BadIpv6ExtHeader;

constexpr uint32_t kMaxIpDatagram = 65535;

inline ParseStatus drop(DropReason& reason, DropReason r) noexcept {
  reason = r;
  return ParseStatus::Drop;
}

// IPv4-mapped canonical form: ::ffff:a.b.c.d. `dst16` is already zero.
template <uint32_t N, uint32_t I>
inline void put_v4_mapped(const Window<N>& w, uint8_t* dst16) noexcept {
  dst16[10] = 0xff;
  dst16[11] = 0xff;
  w.template copy_to<I, 4>(dst16 + 12);
}

constexpr bool is_ipv6_ext(uint8_t nh) noexcept {
  return nh == kNextHopByHop || nh == kNextRouting || nh == kNextFragment || nh == kNextAh ||
         nh == kNextDestOptions;
}

// What a walk over an IPv6 extension-header chain found.
struct Ipv6Chain {
  uint8_t proto = 0;  // final next-header value
  uint32_t end = 0;   // offset of the first byte after the headers walked (the L4 header)
  bool has_frag = false;
  bool more = false;
  uint16_t frag_offset = 0;  // 8-byte units
  uint32_t frag_id = 0;
  uint32_t frag_end = 0;  // offset just past the fragment header
  bool rh0 = false;       // a type-0 routing header with segments left > 0 (RFC 5095)
};

// Walks the chain that starts at `off` with next-header value `nh`, inside `v`. Stops at the
// first value that is not an extension header, or right after the fragment header of a
// non-first fragment (what follows is not a header). False with `reason` when a header is cut
// short, the chain is longer than kMaxIpv6ExtHeaders, hop-by-hop is not first, or there are
// two fragment headers.
bool walk_ipv6_chain(const ByteView& v, uint32_t off, uint8_t nh, Ipv6Chain& c,
                     DropReason& reason) noexcept {
  for (int n = 0;; ++n) {
    if (!is_ipv6_ext(nh)) {
      c.proto = nh;
      c.end = off;
      return true;
    }
    if (n == kMaxIpv6ExtHeaders) {
      reason = DropReason::Ipv6ExtChainTooLong;
      return false;
    }
    if (nh == kNextHopByHop && n != 0) {
      reason = kMisplacedHopByHop;
      return false;
    }
    const auto h = v.window<8>(off);
    if (!h) {
      reason = DropReason::TruncatedIpv6ExtHeader;
      return false;
    }
    const uint8_t next = h->u8<0>();
    if (nh == kNextFragment) {
      if (c.has_frag) {
        reason = DropReason::BadIpv6Fragment;
        return false;
      }
      const uint16_t off_flags = h->be16<2>();
      c.has_frag = true;
      c.frag_offset = uint16_t(off_flags >> 3);
      c.more = (off_flags & 1) != 0;
      c.frag_id = h->be32<4>();
      off += 8;
      c.frag_end = off;
      if (c.frag_offset != 0) {
        c.proto = next;
        c.end = off;
        return true;
      }
    } else {
      // AH counts its length in 4-byte units minus 2 (RFC 4302); the others in 8-byte units
      // minus 1 (RFC 8200).
      const uint32_t hlen =
          nh == kNextAh ? (uint32_t(h->u8<1>()) + 2) * 4 : (uint32_t(h->u8<1>()) + 1) * 8;
      if (!v.contains(off, hlen)) {
        reason = DropReason::TruncatedIpv6ExtHeader;
        return false;
      }
      if (nh == kNextRouting && h->u8<2>() == 0 && h->u8<3>() != 0) c.rh0 = true;
      off += hlen;
    }
    nh = next;
  }
}

// Ports of a quoted TCP/UDP header at `l4` into `k` (network order); other protocols have
// none. False when the protocol has ports and the quote lacks the first 8 bytes of its header:
// an ICMP error quotes the IP header and at least 64 bits of data (RFC 792, RFC 1812
// 4.3.2.3, RFC 4443 2.4(c)).
bool read_inner_ports(const ByteView& v, uint32_t l4, uint8_t proto, FlowKey& k) noexcept {
  if (proto != kProtoTcp && proto != kProtoUdp) return true;
  const auto p = v.window<8>(l4);
  if (!p) return false;
  p->copy_to<0, 2>(&k.src_port_be);
  p->copy_to<2, 2>(&k.dst_port_be);
  return true;
}

// The packet embedded in an ICMPv4 error, at `off`. The embedded header's total length is not
// checked: errors carry a truncated copy of the original.
bool parse_inner_v4(const ByteView& v, uint32_t off, FlowKey& out) noexcept {
  const auto ip = v.window<20>(off);
  if (!ip) return false;
  const uint8_t vihl = ip->u8<0>();
  const uint32_t ihl = (vihl & 0xfu) * 4;
  if ((vihl >> 4) != 4 || ihl < 20 || !v.contains(off, ihl)) return false;
  FlowKey k{};
  put_v4_mapped<20, 12>(*ip, k.src);
  put_v4_mapped<20, 16>(*ip, k.dst);
  k.proto = ip->u8<9>();
  if ((ip->be16<6>() & 0x1fff) == 0 && !read_inner_ports(v, off + ihl, k.proto, k)) return false;
  out = k;
  return true;
}

// The packet embedded in an ICMPv6 error, at `off`, with its extension headers.
bool parse_inner_v6(const ByteView& v, uint32_t off, FlowKey& out) noexcept {
  const auto ip = v.window<40>(off);
  if (!ip || (ip->u8<0>() >> 4) != 6) return false;
  Ipv6Chain c;
  DropReason ignored;
  if (!walk_ipv6_chain(v, off + 40, ip->u8<6>(), c, ignored)) return false;
  FlowKey k{};
  ip->copy_to<8, 16>(k.src);
  ip->copy_to<24, 16>(k.dst);
  k.proto = c.proto;
  if (c.frag_offset == 0 && !read_inner_ports(v, c.end, k.proto, k)) return false;
  out = k;
  return true;
}

ParseStatus parse_icmp(const ByteView& v, uint32_t l4, bool is_v6, ParsedPacket& out,
                       DropReason& reason) noexcept {
  const auto h = v.window<8>(l4);
  if (!h) return drop(reason, DropReason::TruncatedIcmp);
  const uint8_t type = h->u8<0>();
  out.icmp_type = type;
  out.icmp_code = h->u8<1>();
  const bool is_error = is_v6 ? (type >= 1 && type <= 4) : (type == 3 || type == 11 || type == 12);
  if (!is_error) return ParseStatus::Ok;
  out.icmp_is_error = true;
  const uint32_t inner = l4 + 8;
  if (is_v6 ? parse_inner_v6(v, inner, out.inner_key) : parse_inner_v4(v, inner, out.inner_key)) {
    out.has_inner = true;
    out.inner_l3_offset = uint16_t(inner);
  }
  return ParseStatus::Ok;
}

// What the IPv4 options in [off, end) of `v` hold. Every option but end-of-list (0) and
// no-operation (1) has a length byte of at least 2 that must stay inside the header (RFC 791
// 3.1); a list that breaks this cannot be walked, and the header is malformed. The walk ends
// at end-of-list: what follows is padding.
enum class Ipv4Options : uint8_t { Plain, SourceRoute, Malformed };

Ipv4Options walk_ipv4_options(const ByteView& v, uint32_t off, uint32_t end) noexcept {
  bool source_route = false;
  while (off < end) {
    const auto t = v.window<1>(off);
    if (!t) return Ipv4Options::Malformed;
    const uint8_t type = t->u8<0>();
    if (type == 0) break;  // end of option list
    if (type == 1) {       // no operation
      ++off;
      continue;
    }
    if (off + 1 >= end) return Ipv4Options::Malformed;  // no room for the length byte
    const auto l = v.window<2>(off);
    if (!l) return Ipv4Options::Malformed;
    const uint32_t len = l->u8<1>();
    if (len < 2 || len > end - off) return Ipv4Options::Malformed;
    if (type == 131 || type == 137) source_route = true;  // LSRR, SSRR
    off += len;
  }
  return source_route ? Ipv4Options::SourceRoute : Ipv4Options::Plain;
}

// L4 of a first or unfragmented packet; `v` ends where the IP datagram ends.
inline ParseStatus parse_l4(const ByteView& v, uint32_t l4, bool is_v6, ParsedPacket& out,
                            DropReason& reason) noexcept {
  const uint8_t proto = out.proto;
  if (proto == kProtoTcp) {
    const auto t = v.window<20>(l4);
    if (!t) return drop(reason, DropReason::TruncatedL4);
    const uint32_t data_offset = uint32_t(t->u8<12>() >> 4) * 4;
    if (data_offset < 20 || !v.contains(l4, data_offset))
      return drop(reason, DropReason::BadTcpDataOffset);
    t->copy_to<0, 2>(&out.key.src_port_be);
    t->copy_to<2, 2>(&out.key.dst_port_be);
    out.tcp_flags = t->u8<13>();
    return ParseStatus::Ok;
  }
  if (proto == kProtoUdp) {
    const auto u = v.window<8>(l4);
    if (!u) return drop(reason, DropReason::TruncatedL4);
    // RFC 768: the length covers header and data. Unfragmented, it is the IP payload length;
    // in a first fragment it covers the whole datagram, so it exceeds what this one carries.
    const uint32_t udp_len = u->be16<4>();
    const uint32_t carried = v.size() - l4;
    if (udp_len < 8 || (out.is_fragment ? udp_len <= carried : udp_len != carried))
      return drop(reason, DropReason::BadUdpLength);
    u->copy_to<0, 2>(&out.key.src_port_be);
    u->copy_to<2, 2>(&out.key.dst_port_be);
    return ParseStatus::Ok;
  }
  if (proto == (is_v6 ? kProtoIcmpv6 : kProtoIcmp)) return parse_icmp(v, l4, is_v6, out, reason);
  return ParseStatus::Ok;
}

inline ParseStatus parse_ipv4(const ByteView& frame, uint32_t off, ParsedPacket& out,
                              DropReason& reason) noexcept {
  const auto ip = frame.window<20>(off);
  if (!ip) return drop(reason, DropReason::TruncatedIpv4);
  const uint8_t vihl = ip->u8<0>();
  if ((vihl >> 4) != 4) return drop(reason, DropReason::BadIpv4Version);
  const uint32_t ihl = (vihl & 0xfu) * 4;
  if (ihl < 20 || !frame.contains(off, ihl)) return drop(reason, DropReason::BadIpv4Ihl);
  const uint32_t total = ip->be16<2>();
  const auto dgram = frame.prefix(off + total);  // the datagram; padding after it is ignored
  if (total < ihl || !dgram) return drop(reason, DropReason::BadIpv4TotalLength);

  const uint16_t flags_offset = ip->be16<6>();
  out.l3_len = uint16_t(ihl);
  out.ip_total_len = total;
  out.tos = ip->u8<1>();
  out.ttl = ip->u8<8>();
  out.df = (flags_offset & 0x4000) != 0;
  out.frag_id = ip->be16<4>();
  out.proto = ip->u8<9>();
  out.l4_offset = uint16_t(off + ihl);
  put_v4_mapped<20, 12>(*ip, out.key.src);
  put_v4_mapped<20, 16>(*ip, out.key.dst);
  out.key.proto = out.proto;
  if (ihl > 20) [[unlikely]] {
    const Ipv4Options o = walk_ipv4_options(frame, off + 20, off + ihl);
    if (o == Ipv4Options::Malformed) return drop(reason, DropReason::BadIpv4Options);
    out.ipv4_source_route = o == Ipv4Options::SourceRoute;
  }

  if (flags_offset & 0x3fff) {  // MF or a non-zero offset
    const uint16_t frag_offset = flags_offset & 0x1fff;
    const bool more = (flags_offset & 0x2000) != 0;
    const uint32_t data = total - ihl;
    out.is_fragment = true;
    out.frag_offset = frag_offset;
    out.more_fragments = more;
    // RFC 791 3.2: every fragment but the last carries a multiple of 8 bytes, and none
    // reaches past 65535 bytes. RFC 1858 3.4: a TCP fragment at offset 1 (8 bytes) can only
    // serve to overwrite the first fragment's TCP flags.
    if (uint32_t(frag_offset) * 8 + data > kMaxIpDatagram ||
        (more && (data == 0 || data % 8 != 0)) || (frag_offset == 1 && out.proto == kProtoTcp))
      return drop(reason, DropReason::BadIpv4Fragment);
    if (frag_offset != 0) return ParseStatus::Ok;  // no L4 header in this fragment
    out.first_fragment = true;
  }
  return parse_l4(*dgram, off + ihl, false, out, reason);
}

ParseStatus parse_ipv6(const ByteView& frame, uint32_t off, ParsedPacket& out,
                       DropReason& reason) noexcept {
  const auto ip = frame.window<40>(off);
  if (!ip) return drop(reason, DropReason::TruncatedIpv6);
  const uint32_t first = ip->be32<0>();
  if ((first >> 28) != 6) return drop(reason, DropReason::BadIpv6Version);
  const uint32_t total = 40 + uint32_t(ip->be16<4>());
  const auto dgram = frame.prefix(off + total);
  if (!dgram) return drop(reason, DropReason::BadIpv6PayloadLength);

  out.is_v6 = true;
  out.ip_total_len = total;
  out.tos = uint8_t(first >> 20);
  out.flow_label = first & 0xfffff;
  out.ttl = ip->u8<7>();
  ip->copy_to<8, 16>(out.key.src);
  ip->copy_to<24, 16>(out.key.dst);

  Ipv6Chain c;
  if (!walk_ipv6_chain(*dgram, off + 40, ip->u8<6>(), c, reason)) return ParseStatus::Drop;
  if (c.rh0) return drop(reason, DropReason::Ipv6RoutingType0);
  out.proto = c.proto;
  out.key.proto = c.proto;
  out.l3_len = uint16_t(c.end - off);
  out.l4_offset = uint16_t(c.end);

  if (c.has_frag) {
    out.frag_id = c.frag_id;
    out.frag_offset = c.frag_offset;
    out.more_fragments = c.more;
    if (c.more || c.frag_offset != 0) {  // else an atomic fragment (RFC 6946): a whole packet
      out.is_fragment = true;
      // RFC 8200 §4.5: every fragment but the last carries a multiple of 8 bytes, and no
      // fragment may reach past 65535 bytes of reassembled payload.
      const uint32_t data = off + total - c.frag_end;
      if ((c.more && (data == 0 || data % 8 != 0)) ||
          uint32_t(c.frag_offset) * 8 + data > kMaxIpDatagram)
        return drop(reason, DropReason::BadIpv6Fragment);
      if (c.frag_offset != 0) return ParseStatus::Ok;  // no L4 header in this fragment
      out.first_fragment = true;
    }
  }
  return parse_l4(*dgram, c.end, true, out, reason);
}

}  // namespace

ParseStatus parse(const uint8_t* frame, uint32_t len, ParsedPacket& out,
                  DropReason& reason) noexcept {
  // Copying a constant compiles to a few vector stores; `out = ParsedPacket{}` became a
  // `rep stos` with a start-up cost larger than the rest of the IPv4 path.
  static constexpr ParsedPacket kEmpty{};
  out = kEmpty;
  const ByteView v(frame, len);
  const auto eth = v.window<14>(0);
  if (!eth) return drop(reason, DropReason::TruncatedEthernet);
  uint16_t ethertype = eth->be16<12>();
  uint32_t l2 = 14;
  if (ethertype == kEtherTypeVlan) {
    const auto tag = v.window<4>(14);
    if (!tag) return drop(reason, DropReason::TruncatedVlan);
    out.has_vlan = true;
    out.vlan_tci = tag->be16<0>();
    ethertype = tag->be16<2>();
    l2 = 18;
    if (ethertype == kEtherTypeVlan || ethertype == kEtherTypeQinq ||
        ethertype == kEtherTypeVlan9100)
      return drop(reason, DropReason::StackedVlan);
  }
  out.l2_len = uint16_t(l2);
  out.ethertype = ethertype;
  if (ethertype == kEtherTypeIpv4) return parse_ipv4(v, l2, out, reason);
  if (ethertype == kEtherTypeIpv6) return parse_ipv6(v, l2, out, reason);
  return ParseStatus::NotIp;
}

FlowKey swapped_inner_key(const ParsedPacket& p) noexcept {
  FlowKey k{};
  std::memcpy(k.src, p.inner_key.dst, 16);
  std::memcpy(k.dst, p.inner_key.src, 16);
  k.src_port_be = p.inner_key.dst_port_be;
  k.dst_port_be = p.inner_key.src_port_be;
  k.proto = p.inner_key.proto;
  return k;
}

}  // namespace steer::dataplane
