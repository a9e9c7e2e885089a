#include "control/health/dns_wire.h"

#include <fmt/format.h>

namespace steer::control::health::dns {
namespace {

uint16_t read16(std::span<const uint8_t> m, size_t at) {
  return static_cast<uint16_t>(m[at] << 8 | m[at + 1]);
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// Reads the name at `at`; `next` gets the offset after it in the original position (after
// the first pointer when compressed). `text` gets the dotted lower-case form.
DnsDecode read_name(std::span<const uint8_t> m, size_t at, size_t& next, std::string* text) {
  size_t pos = at;
  size_t wire_len = 0;
  int pointers = 0;
  bool jumped = false;
  if (text != nullptr) text->clear();
  for (;;) {
    if (pos >= m.size()) return DnsDecode::Short;
    const uint8_t len = m[pos];
    if ((len & 0xc0) == 0xc0) {
      if (pos + 1 >= m.size()) return DnsDecode::Short;
      const size_t target = static_cast<size_t>((len & 0x3f) << 8 | m[pos + 1]);
      // Backwards only (and bounded), so no loop is possible.
      if (target >= pos || ++pointers > kMaxPointers) return DnsDecode::BadName;
      if (!jumped) next = pos + 2;
      jumped = true;
      pos = target;
      continue;
    }
    if ((len & 0xc0) != 0) return DnsDecode::BadName;  // 0x40/0x80: unused label types
    wire_len += 1 + len;
    if (wire_len > kMaxName) return DnsDecode::BadName;
    if (len == 0) {
      if (!jumped) next = pos + 1;
      if (text != nullptr && text->empty()) text->push_back('.');  // the root
      return DnsDecode::Ok;
    }
    if (pos + 1 + len > m.size()) return DnsDecode::Short;
    if (text != nullptr) {
      for (size_t i = 0; i < len; ++i) text->push_back(lower(static_cast<char>(m[pos + 1 + i])));
      text->push_back('.');
    }
    pos += 1 + len;
  }
}

}  // namespace

std::string_view dns_encode_name(DnsEncode e) {
  switch (e) {
    case DnsEncode::Ok:
      return "ok";
    case DnsEncode::EmptyLabel:
      return "empty label in name";
    case DnsEncode::LabelTooLong:
      return "label over 63 bytes";
    case DnsEncode::NameTooLong:
      return "name over 255 bytes";
    case DnsEncode::BufferTooSmall:
      return "buffer too small";
  }
  return "?";
}

std::string_view dns_decode_name(DnsDecode d) {
  switch (d) {
    case DnsDecode::Ok:
      return "ok";
    case DnsDecode::Short:
      return "message cut short";
    case DnsDecode::NotAReply:
      return "not a reply";
    case DnsDecode::BadName:
      return "bad name";
    case DnsDecode::BadRecord:
      return "bad record";
  }
  return "?";
}

std::string rcode_name(uint8_t rcode) {
  static constexpr std::string_view kNames[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                                "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
                                                "NXRRSET", "NOTAUTH", "NOTZONE"};
  if (rcode < std::size(kNames)) return std::string(kNames[rcode]);
  return fmt::format("RCODE{}", rcode);
}

std::string canonical_name(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 1);
  for (char c : name) out.push_back(lower(c));
  if (out.empty() || out.back() != '.') out.push_back('.');
  return out;
}

DnsEncode encode_query(uint16_t id, std::string_view name, uint16_t qtype, bool recursion_desired,
                       std::span<uint8_t> out, size_t& written) {
  written = 0;
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  // Header + labels (each 1 + len) + root + QTYPE + QCLASS.
  const size_t name_wire = name.empty() ? 1 : name.size() + 2;
  if (name_wire > kMaxName) return DnsEncode::NameTooLong;
  const size_t total = kHeaderSize + name_wire + 4;
  if (out.size() < total) return DnsEncode::BufferTooSmall;
  uint8_t* p = out.data();
  p[0] = static_cast<uint8_t>(id >> 8);
  p[1] = static_cast<uint8_t>(id);
  p[2] = recursion_desired ? 0x01 : 0x00;  // QR=0, opcode 0, AA/TC 0, RD
  p[3] = 0;
  p[4] = 0, p[5] = 1;  // QDCOUNT
  for (int i = 6; i < 12; ++i) p[i] = 0;
  size_t pos = kHeaderSize;
  while (!name.empty()) {
    const size_t dot = name.find('.');
    const std::string_view label = name.substr(0, dot);
    if (label.empty()) return DnsEncode::EmptyLabel;
    if (label.size() > 63) return DnsEncode::LabelTooLong;
    p[pos++] = static_cast<uint8_t>(label.size());
    for (char c : label) p[pos++] = static_cast<uint8_t>(c);
    if (dot == std::string_view::npos) break;
    name.remove_prefix(dot + 1);
    if (name.empty()) return DnsEncode::EmptyLabel;  // "a..": only one trailing dot allowed
  }
  p[pos++] = 0;
  p[pos++] = static_cast<uint8_t>(qtype >> 8);
  p[pos++] = static_cast<uint8_t>(qtype);
  p[pos++] = 0;
  p[pos++] = kClassIn;
  written = pos;
  return DnsEncode::Ok;
}

DnsDecode decode_reply(std::span<const uint8_t> m, Reply& out) {
  out = Reply{};
  if (m.size() < kHeaderSize) return DnsDecode::Short;
  out.id = read16(m, 0);
  if ((m[2] & 0x80) == 0) return DnsDecode::NotAReply;
  out.truncated = (m[2] & 0x02) != 0;
  out.rcode = m[3] & 0x0f;
  out.qdcount = read16(m, 4);
  out.ancount = read16(m, 6);
  size_t pos = kHeaderSize;
  for (uint16_t q = 0; q < out.qdcount; ++q) {
    size_t next = 0;
    if (auto d = read_name(m, pos, next, q == 0 ? &out.qname : nullptr); d != DnsDecode::Ok) {
      return d;
    }
    if (next + 4 > m.size()) return DnsDecode::Short;
    if (q == 0) {
      out.qtype = read16(m, next);
      out.qclass = read16(m, next + 2);
    }
    pos = next + 4;
  }
  for (uint16_t a = 0; a < out.ancount; ++a) {
    size_t next = 0;
    if (auto d = read_name(m, pos, next, nullptr); d != DnsDecode::Ok) return d;
    if (next + 10 > m.size()) return DnsDecode::Short;
    const uint16_t type = read16(m, next);
    const uint16_t klass = read16(m, next + 2);
    const uint16_t rdlength = read16(m, next + 8);
    const size_t rdata = next + 10;
    if (rdata + rdlength > m.size()) return DnsDecode::BadRecord;
    if (klass == kClassIn && type == kTypeA) {
      if (rdlength != 4) return DnsDecode::BadRecord;
      out.addresses.push_back(IpAddress::from_v4(m.data() + rdata));
    } else if (klass == kClassIn && type == kTypeAAAA) {
      if (rdlength != 16) return DnsDecode::BadRecord;
      out.addresses.push_back(IpAddress::from_v6(m.data() + rdata));
    }
    pos = rdata + rdlength;
  }
  return DnsDecode::Ok;
}

}  // namespace steer::control::health::dns
