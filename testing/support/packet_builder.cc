#include "testing/support/packet_builder.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <arpa/inet.h>

namespace steer::testing {
namespace {

[[noreturn]] void die(const char* what, std::string_view arg) {
  std::fprintf(stderr, "packet_builder: %s: %.*s\n", what, int(arg.size()), arg.data());
  std::abort();
}

void put16(Bytes& b, size_t off, uint16_t v) {
  b[off] = uint8_t(v >> 8);
  b[off + 1] = uint8_t(v);
}
void put32(Bytes& b, size_t off, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[off + i] = uint8_t(v >> (24 - 8 * i));
}

// Straightforward RFC 1071 sum, written independently of dataplane/packet/checksum.
uint32_t sum16(const uint8_t* p, size_t n, uint32_t acc = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) acc += uint32_t(p[i]) << 8 | p[i + 1];
  if (n & 1) acc += uint32_t(p[n - 1]) << 8;
  return acc;
}
uint16_t fold(uint32_t acc) {
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return uint16_t(~acc);
}

std::array<uint8_t, 16> parse_ip(std::string_view text, bool v6) {
  std::string s(text);
  std::array<uint8_t, 16> out{};
  if (inet_pton(v6 ? AF_INET6 : AF_INET, s.c_str(), out.data()) != 1) die("bad address", text);
  return out;
}

}  // namespace

Mac parse_mac(std::string_view text) {
  Mac m{};
  unsigned v[6];
  std::string s(text);
  if (std::sscanf(s.c_str(), "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
    die("bad MAC", text);
  for (int i = 0; i < 6; ++i) m[i] = uint8_t(v[i]);
  return m;
}

std::string to_hex(const Bytes& b) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(b.size() * 2);
  for (uint8_t c : b) {
    s.push_back(kDigits[c >> 4]);
    s.push_back(kDigits[c & 15]);
  }
  return s;
}

Bytes from_hex(std::string_view hex) {
  Bytes out;
  int hi = -1;
  for (char c : hex) {
    int v;
    if (c >= '0' && c <= '9')
      v = c - '0';
    else if (c >= 'a' && c <= 'f')
      v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      v = c - 'A' + 10;
    else if (c == ' ' || c == '\n' || c == '\t')
      continue;
    else
      die("bad hex", hex);
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(uint8_t(hi << 4 | v));
      hi = -1;
    }
  }
  if (hi >= 0) die("odd hex length", hex);
  return out;
}

PacketBuilder& PacketBuilder::eth(std::string_view src, std::string_view dst,
                                  std::optional<uint16_t> ethertype) {
  Layer l{Kind::Eth, Bytes(14), ethertype, 0, {}, {}, {}, {}};
  Mac d = parse_mac(dst), s = parse_mac(src);
  std::memcpy(l.header.data(), d.data(), 6);
  std::memcpy(l.header.data() + 6, s.data(), 6);
  layers_.push_back(std::move(l));
  return *this;
}

PacketBuilder& PacketBuilder::vlan(uint16_t tci, std::optional<uint16_t> ethertype) {
  Layer l{Kind::Vlan, Bytes(4), ethertype, 0, {}, {}, {}, {}};
  put16(l.header, 0, tci);
  layers_.push_back(std::move(l));
  return *this;
}

PacketBuilder& PacketBuilder::ipv4(std::string_view src, std::string_view dst, Ipv4Options o) {
  Layer l{Kind::Ipv4, Bytes(20 + o.options.size()), std::nullopt, 0, o, {}, {}, {}};
  auto s = parse_ip(src, false), d = parse_ip(dst, false);
  Bytes& h = l.header;
  h[1] = o.tos;
  put16(h, 4, o.id);
  put16(h, 6, uint16_t((o.df ? 0x4000 : 0) | (o.mf ? 0x2000 : 0) | (o.frag_offset & 0x1fff)));
  h[8] = o.ttl;
  std::memcpy(&h[12], s.data(), 4);
  std::memcpy(&h[16], d.data(), 4);
  if (!o.options.empty()) std::memcpy(&h[20], o.options.data(), o.options.size());
  layers_.push_back(std::move(l));
  return *this;
}

PacketBuilder& PacketBuilder::ipv6(std::string_view src, std::string_view dst, Ipv6Options o) {
  Layer l{Kind::Ipv6, Bytes(40), std::nullopt, 0, {}, o, {}, {}};
  auto s = parse_ip(src, true), d = parse_ip(dst, true);
  Bytes& h = l.header;
  uint32_t first = uint32_t(o.version.value_or(6)) << 28 | uint32_t(o.traffic_class) << 20 |
                   (o.flow_label & 0xfffff);
  put32(h, 0, first);
  h[7] = o.hop_limit;
  std::memcpy(&h[8], s.data(), 16);
  std::memcpy(&h[24], d.data(), 16);
  layers_.push_back(std::move(l));
  return *this;
}

static Bytes ext_bytes(uint8_t len8) { return Bytes((size_t(len8) + 1) * 8); }

PacketBuilder& PacketBuilder::ipv6_hop_by_hop(uint8_t len8) {
  Layer l{Kind::Ext, ext_bytes(len8), std::nullopt, 0, {}, {}, {}, {}};
  l.header[1] = len8;
  layers_.push_back(std::move(l));
  return *this;
}
PacketBuilder& PacketBuilder::ipv6_dest_options(uint8_t len8) {
  Layer l{Kind::Ext, ext_bytes(len8), std::nullopt, 60, {}, {}, {}, {}};
  l.header[1] = len8;
  layers_.push_back(std::move(l));
  return *this;
}
PacketBuilder& PacketBuilder::ipv6_routing(uint8_t len8) {
  Layer l{Kind::Ext, ext_bytes(len8), std::nullopt, 43, {}, {}, {}, {}};
  l.header[1] = len8;
  l.header[2] = 4;  // segment routing type; segments left 0, so nothing to process
  layers_.push_back(std::move(l));
  return *this;
}
PacketBuilder& PacketBuilder::ipv6_fragment(uint16_t offset8, bool more, uint32_t id) {
  Layer l{Kind::Ext, Bytes(8), std::nullopt, 44, {}, {}, {}, {}};
  put16(l.header, 2, uint16_t(offset8 << 3 | (more ? 1 : 0)));
  put32(l.header, 4, id);
  layers_.push_back(std::move(l));
  return *this;
}

PacketBuilder& PacketBuilder::tcp(uint16_t sport, uint16_t dport, TcpOptions o) {
  Layer l{Kind::Tcp, Bytes(20), std::nullopt, 0, {}, {}, o, {}};
  Bytes& h = l.header;
  put16(h, 0, sport);
  put16(h, 2, dport);
  put32(h, 4, o.seq);
  put32(h, 8, o.ack);
  h[12] = uint8_t(o.data_offset.value_or(5) << 4);
  h[13] = o.flags;
  put16(h, 14, o.window);
  layers_.push_back(std::move(l));
  return *this;
}

PacketBuilder& PacketBuilder::udp(uint16_t sport, uint16_t dport, std::optional<uint16_t> length,
                                  std::optional<uint16_t> checksum) {
  Layer l{Kind::Udp, Bytes(8), length, 0, {}, {}, {}, {}};
  l.forced_checksum = checksum;
  put16(l.header, 0, sport);
  put16(l.header, 2, dport);
  layers_.push_back(std::move(l));
  return *this;
}

PacketBuilder& PacketBuilder::icmp(uint8_t type, uint8_t code, uint32_t rest) {
  Layer l{Kind::Icmp, Bytes(8), std::nullopt, 0, {}, {}, {}, {}};
  l.header[0] = type;
  l.header[1] = code;
  put32(l.header, 4, rest);
  layers_.push_back(std::move(l));
  return *this;
}

PacketBuilder& PacketBuilder::icmpv6(uint8_t type, uint8_t code, uint32_t rest) {
  Layer l{Kind::Icmpv6, Bytes(8), std::nullopt, 0, {}, {}, {}, {}};
  l.header[0] = type;
  l.header[1] = code;
  put32(l.header, 4, rest);
  layers_.push_back(std::move(l));
  return *this;
}

PacketBuilder& PacketBuilder::payload(const Bytes& bytes) {
  layers_.push_back(Layer{Kind::Raw, bytes, std::nullopt, 0, {}, {}, {}, {}});
  return *this;
}

PacketBuilder& PacketBuilder::payload(size_t n, uint8_t first) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = uint8_t(first + i);
  return payload(b);
}

Bytes PacketBuilder::build() const {
  // Serialise, remembering where each layer starts.
  Bytes out;
  std::vector<size_t> off;
  for (const Layer& l : layers_) {
    off.push_back(out.size());
    out.insert(out.end(), l.header.begin(), l.header.end());
  }
  const size_t n = layers_.size();
  auto proto_of = [&](size_t i) -> uint8_t {  // IP protocol number of layer i
    if (i >= n) return 59;                    // no next header
    switch (layers_[i].kind) {
      case Kind::Ipv4:
        return 4;
      case Kind::Ipv6:
        return 41;
      case Kind::Ext:
        return layers_[i].ext_type;
      case Kind::Tcp:
        return 6;
      case Kind::Udp:
        return 17;
      case Kind::Icmp:
        return 1;
      case Kind::Icmpv6:
        return 58;
      default:
        return 59;
    }
  };
  auto ethertype_of = [&](size_t i) -> uint16_t {
    if (i >= n) return 0;
    if (layers_[i].kind == Kind::Ipv4) return 0x0800;
    if (layers_[i].kind == Kind::Ipv6) return 0x86dd;
    if (layers_[i].kind == Kind::Vlan) return 0x8100;
    return 0x88b5;  // local experimental
  };
  // Enclosing IP layer of layer i (for pseudo-headers), or n.
  auto ip_above = [&](size_t i) {
    for (size_t j = i; j-- > 0;)
      if (layers_[j].kind == Kind::Ipv4 || layers_[j].kind == Kind::Ipv6) return j;
    return n;
  };
  // Lengths and next-header fields, innermost first so outer lengths see final sizes.
  for (size_t i = n; i-- > 0;) {
    const Layer& l = layers_[i];
    const size_t o = off[i];
    const size_t to_end = out.size() - o;
    switch (l.kind) {
      case Kind::Eth:
        put16(out, o + 12, l.forced16.value_or(ethertype_of(i + 1)));
        break;
      case Kind::Vlan:
        put16(out, o + 2, l.forced16.value_or(ethertype_of(i + 1)));
        break;
      case Kind::Ipv4: {
        const size_t hl = l.header.size();
        out[o] = uint8_t(l.v4.version.value_or(4) << 4 | l.v4.ihl.value_or(uint8_t(hl / 4)));
        put16(out, o + 2, l.v4.total_length.value_or(uint16_t(to_end)));
        out[o + 9] = l.v4.proto.value_or(proto_of(i + 1));
        put16(out, o + 10, 0);
        put16(out, o + 10, l.v4.checksum.value_or(fold(sum16(&out[o], hl))));
        break;
      }
      case Kind::Ipv6:
        put16(out, o + 4, l.v6.payload_length.value_or(uint16_t(to_end - 40)));
        out[o + 6] = l.v6.next_header.value_or(proto_of(i + 1));
        break;
      case Kind::Ext:
        out[o] = proto_of(i + 1);
        break;
      case Kind::Udp:
        put16(out, o + 4, l.forced16.value_or(uint16_t(to_end)));
        break;
      default:
        break;
    }
  }
  // Checksums of L4 layers (after all lengths are final), innermost first.
  for (size_t i = n; i-- > 0;) {
    const Layer& l = layers_[i];
    const size_t o = off[i];
    const size_t len = out.size() - o;
    size_t csum_at;
    switch (l.kind) {
      case Kind::Tcp:
        csum_at = 16;
        break;
      case Kind::Udp:
        csum_at = 6;
        break;
      case Kind::Icmp:
        csum_at = 2;
        break;
      case Kind::Icmpv6:
        csum_at = 2;
        break;
      default:
        continue;
    }
    put16(out, o + csum_at, 0);
    uint32_t acc = 0;
    if (l.kind != Kind::Icmp) {
      const size_t ip = ip_above(i);
      if (ip == n) continue;
      const uint8_t proto = proto_of(i);
      if (layers_[ip].kind == Kind::Ipv4) {
        acc = sum16(&out[off[ip] + 12], 8);
      } else {
        acc = sum16(&out[off[ip] + 8], 32);
        acc += uint32_t(len >> 16) + uint32_t(len & 0xffff);
      }
      acc += proto;
      if (layers_[ip].kind == Kind::Ipv4) acc += uint32_t(len);
    }
    uint16_t c = fold(sum16(&out[o], len, acc));
    if (l.kind == Kind::Udp && c == 0) c = 0xffff;
    if (l.kind == Kind::Tcp && l.tcp.checksum) c = *l.tcp.checksum;
    if (l.kind == Kind::Udp && l.forced_checksum) c = *l.forced_checksum;
    put16(out, o + csum_at, c);
  }
  return out;
}

}  // namespace steer::testing
