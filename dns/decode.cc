#include "dns/decode.h"

#include <fmt/format.h>

#include "common/ip_address.h"
#include "common/ip_prefix.h"
#include "dns/wire.h"

namespace steer::dns {

namespace {

uint16_t rd16(std::span<const uint8_t> m, size_t at) {
  return static_cast<uint16_t>(m[at] << 8 | m[at + 1]);
}
uint32_t rd32(std::span<const uint8_t> m, size_t at) {
  return uint32_t{rd16(m, at)} << 16 | rd16(m, at + 2);
}

// Reads a possibly compressed name at `pos` (advanced past it) as dotted text.
bool read_name(std::span<const uint8_t> m, size_t& pos, std::string& out) {
  out.clear();
  size_t at = pos;
  bool jumped = false;
  int jumps = 0;
  size_t wire = 0;
  while (true) {
    if (at >= m.size()) return false;
    const uint8_t l = m[at];
    if ((l & 0xc0) == 0xc0) {
      if (at + 1 >= m.size() || ++jumps > 64) return false;
      const size_t target = static_cast<size_t>((l & 0x3f) << 8 | m[at + 1]);
      if (target >= at) return false;
      if (!jumped) pos = at + 2;
      jumped = true;
      at = target;
      continue;
    }
    if ((l & 0xc0) != 0 || at + 1 + l > m.size()) return false;
    wire += 1 + l;
    if (wire > kMaxName) return false;
    if (l == 0) {
      if (!jumped) pos = at + 1;
      if (out.empty()) out = ".";
      return true;
    }
    for (size_t i = 0; i < l; ++i) {
      const char c = static_cast<char>(m[at + 1 + i]);
      if (c == '.' || c == '\\') out += '\\';
      out += c;
    }
    out += '.';
    at += 1 + l;
  }
}

std::string quoted(std::span<const uint8_t> m, size_t at, size_t len) {
  std::string s = "\"";
  for (size_t i = 0; i < len; ++i) {
    const auto c = static_cast<char>(m[at + i]);
    if (c == '"' || c == '\\') s += '\\';
    if (m[at + i] < 0x20 || m[at + i] >= 0x7f) {
      s += fmt::format("\\{:03d}", m[at + i]);
    } else {
      s += c;
    }
  }
  return s + "\"";
}

Result<std::string> rdata_text(std::span<const uint8_t> m, size_t at, size_t len, uint16_t t) {
  const size_t end = at + len;
  std::string name;
  switch (t) {
    case type::kA:
      if (len != 4) return fail("A: bad length");
      return IpAddress::from_v4(&m[at]).to_string();
    case type::kAaaa:
      if (len != 16) return fail("AAAA: bad length");
      return IpAddress::from_v6(&m[at]).to_string();
    case type::kNs:
    case type::kCname:
    case type::kPtr: {
      size_t p = at;
      if (!read_name(m, p, name) || p != end) return fail("bad name in RDATA");
      return name;
    }
    case type::kMx: {
      if (len < 3) return fail("MX: short");
      size_t p = at + 2;
      if (!read_name(m, p, name) || p != end) return fail("bad name in RDATA");
      return fmt::format("{} {}", rd16(m, at), name);
    }
    case type::kSoa: {
      size_t p = at;
      std::string rname;
      if (!read_name(m, p, name) || !read_name(m, p, rname) || end - p != 20) {
        return fail("SOA: malformed");
      }
      return fmt::format("{} {} {} {} {} {} {}", name, rname, rd32(m, p), rd32(m, p + 4),
                         rd32(m, p + 8), rd32(m, p + 12), rd32(m, p + 16));
    }
    case type::kTxt: {
      std::string out;
      size_t p = at;
      while (p < end) {
        const size_t l = m[p];
        if (p + 1 + l > end) return fail("TXT: malformed");
        if (!out.empty()) out += ' ';
        out += quoted(m, p + 1, l);
        p += 1 + l;
      }
      return out;
    }
    default:
      break;
  }
  std::string hex = fmt::format("\\# {}", len);  // RFC 3597
  if (len > 0) hex += ' ';
  for (size_t i = 0; i < len; ++i) hex += fmt::format("{:02x}", m[at + i]);
  return hex;
}

}  // namespace

Result<DecodedMessage> decode_message(std::span<const uint8_t> m) {
  DecodedMessage d;
  if (m.size() < kHeaderSize) return fail("shorter than a header");
  d.id = rd16(m, 0);
  const uint16_t f = rd16(m, 2);
  d.qr = (f & 0x8000) != 0;
  d.opcode = static_cast<uint8_t>((f >> 11) & 0x0f);
  d.aa = (f & 0x0400) != 0;
  d.tc = (f & 0x0200) != 0;
  d.rd = (f & 0x0100) != 0;
  d.ra = (f & 0x0080) != 0;
  d.ad = (f & 0x0020) != 0;
  d.cd = (f & 0x0010) != 0;
  d.rcode = f & 0x0f;
  const uint16_t qd = rd16(m, 4), counts[3] = {rd16(m, 6), rd16(m, 8), rd16(m, 10)};
  size_t pos = kHeaderSize;
  for (uint16_t i = 0; i < qd; ++i) {
    std::string name;
    if (!read_name(m, pos, name) || m.size() - pos < 4) return fail("malformed question");
    if (i == 0) {
      d.qname = name;
      d.qtype = rd16(m, pos);
      d.qclass = rd16(m, pos + 2);
    }
    pos += 4;
  }
  std::vector<DecodedRecord>* sections[3] = {&d.answer, &d.authority, &d.additional};
  for (int s = 0; s < 3; ++s) {
    for (uint16_t i = 0; i < counts[s]; ++i) {
      DecodedRecord r;
      if (!read_name(m, pos, r.owner) || m.size() - pos < 10) return fail("malformed record");
      r.type = rd16(m, pos);
      r.klass = rd16(m, pos + 2);
      r.ttl = rd32(m, pos + 4);
      const size_t len = rd16(m, pos + 8);
      pos += 10;
      if (m.size() - pos < len) return fail("RDATA past the end");
      if (r.type == type::kOpt) {
        d.has_opt = true;
        d.udp_size = r.klass;
        d.rcode = static_cast<uint16_t>(d.rcode | (r.ttl >> 24) << 4);
        d.edns_version = static_cast<uint8_t>(r.ttl >> 16);
        for (size_t o = pos; o + 4 <= pos + len;) {
          const uint16_t code = rd16(m, o), olen = rd16(m, o + 2);
          if (o + 4 + olen > pos + len) return fail("OPT option past the end");
          if (code == edns::kNsid) {
            d.nsid.assign(reinterpret_cast<const char*>(&m[o + 4]), olen);
          } else if (code == edns::kClientSubnet && olen >= 4) {
            d.has_ecs = true;
            d.ecs_family = rd16(m, o + 4);
            d.ecs_source = m[o + 6];
            d.ecs_scope = m[o + 7];
            uint8_t a[16] = {};
            const size_t n = std::min<size_t>(olen - 4u, d.ecs_family == 1 ? 4u : 16u);
            std::copy(&m[o + 8], &m[o + 8] + n, a);
            d.ecs_address =
                (d.ecs_family == 1 ? IpAddress::from_v4(a) : IpAddress::from_v6(a)).to_string();
          }
          o += 4 + olen;
        }
      } else {
        auto text = rdata_text(m, pos, len, r.type);
        if (!text) return tl::unexpected(text.error());
        r.data = std::move(*text);
        sections[s]->push_back(std::move(r));
      }
      pos += len;
    }
  }
  return d;
}

Result<std::vector<uint8_t>> make_query(const QuerySpec& q) {
  std::vector<uint8_t> out;
  auto put16 = [&](uint16_t v) {
    out.push_back(static_cast<uint8_t>(v >> 8));
    out.push_back(static_cast<uint8_t>(v));
  };
  put16(q.id);
  put16(q.rd ? 0x0100 : 0);
  put16(1);
  put16(0);
  put16(0);
  put16(q.edns ? 1 : 0);
  // The name as written (case kept): labels of the text.
  std::string_view text = q.name;
  if (text.ends_with('.') && text != ".") text.remove_suffix(1);
  Name check;
  if (!parse_name_text(q.name, check))
    return fail(fmt::format("'{}' is not a domain name", q.name));
  if (text != ".") {
    size_t start = 0;
    while (start <= text.size()) {
      size_t dot = text.find('.', start);
      if (dot == std::string_view::npos) dot = text.size();
      out.push_back(static_cast<uint8_t>(dot - start));
      out.insert(out.end(), text.begin() + static_cast<ptrdiff_t>(start),
                 text.begin() + static_cast<ptrdiff_t>(dot));
      start = dot + 1;
    }
  }
  out.push_back(0);
  put16(q.type);
  put16(q.klass);
  if (!q.edns) return out;
  std::vector<uint8_t> opts;
  auto opt16 = [&](uint16_t v) {
    opts.push_back(static_cast<uint8_t>(v >> 8));
    opts.push_back(static_cast<uint8_t>(v));
  };
  if (q.nsid) {
    opt16(edns::kNsid);
    opt16(0);
  }
  if (!q.ecs.empty()) {
    auto p = IpPrefix::parse(q.ecs);
    if (!p) return fail(fmt::format("'{}' is not a prefix ADDR/LEN without host bits", q.ecs));
    const size_t bytes = (p->length + 7u) / 8u;
    opt16(edns::kClientSubnet);
    opt16(static_cast<uint16_t>(4 + bytes));
    opt16(p->is_v4() ? 1 : 2);
    opts.push_back(p->length);
    opts.push_back(0);
    const uint8_t* a = p->is_v4() ? p->address.v4_data() : p->address.data();
    opts.insert(opts.end(), a, a + bytes);
  }
  out.push_back(0);
  put16(type::kOpt);
  put16(q.udp_size);
  put16(0);
  put16(0);
  put16(static_cast<uint16_t>(opts.size()));
  out.insert(out.end(), opts.begin(), opts.end());
  return out;
}

}  // namespace steer::dns
