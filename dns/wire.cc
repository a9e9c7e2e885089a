#include "dns/wire.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include <fmt/format.h>

namespace steer::dns {

namespace {

inline uint16_t rd16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t rd32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
inline uint8_t lower(uint8_t c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<uint8_t>(c + 32) : c;
}

// A name in the message at `at` with no compression (the question). `out` gets it
// lower-cased; `next` the offset after it.
Parse read_plain_name(std::span<const uint8_t> m, size_t at, Name& out, size_t& next) {
  size_t pos = at;
  size_t len = 0;
  while (true) {
    if (pos >= m.size()) return Parse::FormErr;
    const uint8_t l = m[pos];
    if ((l & 0xc0) != 0) return Parse::BadName;  // a pointer (nothing precedes) or 0x40/0x80
    if (len + 1 + l > kMaxName) return Parse::BadName;
    if (pos + 1 + l > m.size()) return Parse::FormErr;
    out.bytes[len] = l;
    for (size_t i = 0; i < l; ++i) out.bytes[len + 1 + i] = lower(m[pos + 1 + i]);
    len += 1 + l;
    pos += 1 + l;
    if (l == 0) break;
  }
  out.size = static_cast<uint8_t>(len);
  next = pos;
  return Parse::Ok;
}

// Skips a name that may be compressed (records after the question); bounds only.
bool skip_name(std::span<const uint8_t> m, size_t& pos) {
  while (true) {
    if (pos >= m.size()) return false;
    const uint8_t l = m[pos];
    if ((l & 0xc0) == 0xc0) {
      if (pos + 2 > m.size()) return false;
      pos += 2;
      return true;
    }
    if ((l & 0xc0) != 0) return false;
    pos += 1 + l;
    if (l == 0) return pos <= m.size();
  }
}

Parse read_ecs(const uint8_t* p, size_t len, ClientSubnet& ecs) {
  if (len < 4) return Parse::BadEcs;
  ecs.family = rd16(p);
  ecs.source = p[2];
  ecs.scope = p[3];
  const size_t max_bits = ecs.family == 1 ? 32 : ecs.family == 2 ? 128 : 0;
  if (max_bits == 0 || ecs.source > max_bits || ecs.scope != 0) return Parse::BadEcs;
  const size_t bytes = (ecs.source + 7u) / 8u;
  if (len - 4 != bytes) return Parse::BadEcs;  // RFC 7871 6: exactly the prefix's bytes
  uint8_t raw[16] = {};
  std::memcpy(raw, p + 4, bytes);
  // Bits past SOURCE PREFIX-LENGTH must be zero (RFC 7871 6).
  if (ecs.source % 8 != 0 && bytes > 0) {
    const uint8_t mask = static_cast<uint8_t>(0xff >> (ecs.source % 8));
    if ((raw[bytes - 1] & mask) != 0) return Parse::BadEcs;
  }
  ecs.address = ecs.family == 1 ? IpAddress::from_v4(raw) : IpAddress::from_v6(raw);
  return Parse::Ok;
}

Parse read_opt(std::span<const uint8_t> m, size_t rdata, size_t rdlen, Query& q) {
  size_t pos = rdata;
  const size_t end = rdata + rdlen;
  while (pos < end) {
    if (end - pos < 4) return Parse::BadOpt;
    const uint16_t code = rd16(&m[pos]);
    const uint16_t len = rd16(&m[pos + 2]);
    pos += 4;
    if (end - pos < len) return Parse::BadOpt;
    if (code == edns::kNsid) {
      q.nsid = true;  // a query's NSID option is empty (RFC 5001 2.3); content ignored
    } else if (code == edns::kClientSubnet) {
      if (q.has_ecs) return Parse::BadEcs;  // twice: which one would the answer be for?
      if (Parse p = read_ecs(&m[pos], len, q.ecs); p != Parse::Ok) return p;
      q.has_ecs = true;
    }
    // Unknown options are ignored (RFC 6891 6.1.2).
    pos += len;
  }
  return Parse::Ok;
}

}  // namespace

std::string_view parse_name(Parse p) {
  switch (p) {
    case Parse::Ok:
      return "ok";
    case Parse::Drop:
      return "not a query";
    case Parse::FormErr:
      return "malformed";
    case Parse::NoQuestion:
      return "no question";
    case Parse::MultipleQuestions:
      return "more than one question";
    case Parse::BadName:
      return "bad name";
    case Parse::TrailingData:
      return "trailing data";
    case Parse::BadOpt:
      return "bad OPT record";
    case Parse::BadEcs:
      return "bad client subnet option";
  }
  return "?";
}

std::string Name::text() const {
  if (size <= 1) return ".";
  std::string out;
  size_t pos = 0;
  while (pos < size && bytes[pos] != 0) {
    const uint8_t l = bytes[pos];
    for (size_t i = 0; i < l; ++i) {
      const uint8_t c = bytes[pos + 1 + i];
      if (c == '.' || c == '\\') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c <= ' ' || c >= 0x7f) {
        out += fmt::format("\\{:03d}", c);
      } else {
        out += static_cast<char>(c);
      }
    }
    out += '.';
    pos += 1 + l;
  }
  return out;
}

int Name::labels() const {
  int n = 0;
  for (size_t pos = 0; pos < size && bytes[pos] != 0; pos += 1 + bytes[pos]) ++n;
  return n;
}

bool Name::within(const Name& zone) const {
  if (zone.size > size) return false;
  // The suffix must start at a label boundary.
  size_t pos = 0;
  while (size - pos > zone.size) {
    if (bytes[pos] == 0) return false;
    pos += 1 + bytes[pos];
  }
  return size - pos == zone.size &&
         std::equal(zone.bytes.begin(), zone.bytes.begin() + zone.size, bytes.begin() + pos);
}

bool parse_name_text(std::string_view text, Name& out) {
  if (text == ".") {
    out.bytes[0] = 0;
    out.size = 1;
    return true;
  }
  if (text.ends_with('.')) text.remove_suffix(1);
  if (text.empty()) return false;
  size_t len = 0;
  size_t start = 0;
  while (start <= text.size()) {
    size_t dot = text.find('.', start);
    if (dot == std::string_view::npos) dot = text.size();
    const size_t l = dot - start;
    if (l == 0 || l > kMaxLabel || len + 1 + l + 1 > kMaxName) return false;
    out.bytes[len] = static_cast<uint8_t>(l);
    for (size_t i = 0; i < l; ++i) {
      const auto c = static_cast<uint8_t>(text[start + i]);
      if (c <= ' ' || c >= 0x7f) return false;
      out.bytes[len + 1 + i] = lower(c);
    }
    len += 1 + l;
    start = dot + 1;
  }
  out.bytes[len++] = 0;
  out.size = static_cast<uint8_t>(len);
  return true;
}

std::string type_name(uint16_t t) {
  switch (t) {
    case type::kA:
      return "A";
    case type::kNs:
      return "NS";
    case type::kCname:
      return "CNAME";
    case type::kSoa:
      return "SOA";
    case type::kPtr:
      return "PTR";
    case type::kMx:
      return "MX";
    case type::kTxt:
      return "TXT";
    case type::kAaaa:
      return "AAAA";
    case type::kSrv:
      return "SRV";
    case type::kOpt:
      return "OPT";
    case type::kDs:
      return "DS";
    case type::kRrsig:
      return "RRSIG";
    case type::kNsec:
      return "NSEC";
    case type::kDnskey:
      return "DNSKEY";
    case type::kNsec3:
      return "NSEC3";
    case type::kIxfr:
      return "IXFR";
    case type::kAxfr:
      return "AXFR";
    case type::kAny:
      return "ANY";
    case type::kCaa:
      return "CAA";
  }
  return fmt::format("TYPE{}", t);
}

bool parse_type(std::string_view text, uint16_t& out) {
  std::string upper(text);
  for (char& c : upper) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
  for (uint16_t t :
       {type::kA, type::kNs, type::kCname, type::kSoa, type::kPtr, type::kMx, type::kTxt,
        type::kAaaa, type::kSrv, type::kDs, type::kRrsig, type::kNsec, type::kDnskey, type::kNsec3,
        type::kIxfr, type::kAxfr, type::kAny, type::kCaa}) {
    if (type_name(t) == upper) {
      out = t;
      return true;
    }
  }
  if (upper.starts_with("TYPE")) {
    uint16_t v = 0;
    auto [p, ec] = std::from_chars(upper.data() + 4, upper.data() + upper.size(), v);
    if (ec == std::errc() && p == upper.data() + upper.size() && upper.size() > 4) {
      out = v;
      return true;
    }
  }
  return false;
}

std::string rcode_name(uint16_t r) {
  switch (r) {
    case rcode::kNoError:
      return "NOERROR";
    case rcode::kFormErr:
      return "FORMERR";
    case rcode::kServFail:
      return "SERVFAIL";
    case rcode::kNxDomain:
      return "NXDOMAIN";
    case rcode::kNotImp:
      return "NOTIMP";
    case rcode::kRefused:
      return "REFUSED";
    case rcode::kBadVers:
      return "BADVERS";
  }
  return fmt::format("RCODE{}", r);
}

namespace {

// Everything after the header, in QUERY's layout: the question, then the records (a query has
// only additional ones; other opcodes' answer and authority records are skipped).
Parse parse_body(std::span<const uint8_t> m, Query& q) {
  const uint16_t qd = rd16(&m[4]), an = rd16(&m[6]), ns = rd16(&m[8]), ar = rd16(&m[10]);
  if (qd == 0) return Parse::NoQuestion;
  if (qd > 1) return Parse::MultipleQuestions;
  size_t pos = kHeaderSize;
  if (Parse p = read_plain_name(m, pos, q.qname, pos); p != Parse::Ok) return p;
  if (m.size() - pos < 4) return Parse::FormErr;
  q.qtype = rd16(&m[pos]);
  q.qclass = rd16(&m[pos + 2]);
  pos += 4;
  q.question_size = pos - kHeaderSize;
  if (q.opcode == 0 && (an != 0 || ns != 0)) return Parse::FormErr;  // a query has neither
  const uint32_t before_additional = uint32_t{an} + ns;
  for (uint32_t i = 0; i < before_additional + ar; ++i) {
    const size_t owner = pos;
    if (!skip_name(m, pos) || m.size() - pos < 10) return Parse::FormErr;
    const uint16_t t = rd16(&m[pos]);
    const uint16_t k = rd16(&m[pos + 2]);
    const uint32_t ttl = rd32(&m[pos + 4]);
    const uint16_t rdlen = rd16(&m[pos + 8]);
    pos += 10;
    if (m.size() - pos < rdlen) return Parse::FormErr;
    if (t == type::kOpt && i >= before_additional) {
      if (q.has_opt || m[owner] != 0) return Parse::BadOpt;  // twice, or not at the root
      q.has_opt = true;
      q.udp_size = k;
      q.edns_version = static_cast<uint8_t>(ttl >> 16);
      q.dnssec_ok = (ttl & 0x8000) != 0;
      if (Parse p = read_opt(m, pos, rdlen, q); p != Parse::Ok) return p;
    }
    pos += rdlen;
  }
  if (pos != m.size()) return Parse::TrailingData;
  return Parse::Ok;
}

}  // namespace

Parse parse_query(std::span<const uint8_t> m, Query& q) {
  q = Query{};
  if (m.size() < kHeaderSize) return Parse::Drop;
  q.id = rd16(&m[0]);
  q.flags = rd16(&m[2]);
  if ((q.flags & 0x8000) != 0) return Parse::Drop;  // a response: never answered
  q.opcode = static_cast<uint8_t>((q.flags >> 11) & 0x0f);
  q.rd = (q.flags & 0x0100) != 0;
  q.cd = (q.flags & 0x0010) != 0;
  const Parse p = parse_body(m, q);
  // Other opcodes (NOTIFY, UPDATE, ones not defined yet) are answered NOTIMP whatever follows
  // the header (RFC 8906 8.1.4 asks with no question at all), with as much of the question and
  // the OPT as reads in QUERY's layout: a request's OPT is answered with one (RFC 6891 7).
  return q.opcode != 0 ? Parse::Ok : p;
}

// ---- Writer ------------------------------------------------------------------------------

bool Writer::put(std::span<const uint8_t> bytes) {
  if (cap_ - size_ < bytes.size()) return false;
  if (bytes.empty()) return true;  // memcpy wants a pointer even for nothing
  std::memcpy(buf_ + size_, bytes.data(), bytes.size());
  size_ += bytes.size();
  return true;
}

bool Writer::put16(uint16_t v) {
  const uint8_t b[2] = {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
  return put(b);
}

bool Writer::put32(uint32_t v) {
  const uint8_t b[4] = {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
                        static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
  return put(b);
}

void Writer::set_flag(uint16_t bit, bool on) {
  uint16_t f = rd16(buf_ + 2);
  f = on ? static_cast<uint16_t>(f | bit) : static_cast<uint16_t>(f & ~bit);
  buf_[2] = static_cast<uint8_t>(f >> 8);
  buf_[3] = static_cast<uint8_t>(f);
}

void Writer::bump(Section s, uint16_t n) {
  uint16_t* c = s == Section::Answer ? &an_ : s == Section::Authority ? &ns_ : &ar_;
  *c = static_cast<uint16_t>(*c + n);
  const size_t at = s == Section::Answer ? 6 : s == Section::Authority ? 8 : 10;
  buf_[at] = static_cast<uint8_t>(*c >> 8);
  buf_[at + 1] = static_cast<uint8_t>(*c);
}

bool Writer::start(const Query& q, std::span<const uint8_t> question, uint16_t rcode_low, bool aa) {
  size_ = 0;
  an_ = ns_ = ar_ = 0;
  if (cap_ < kHeaderSize + question.size()) return false;
  // QR, the opcode, AA as asked, RD and CD copied from the query (RFC 1035 4.1.1, RFC 4035
  // 3.1.6); TC, RA, Z and AD clear.
  uint16_t f = 0x8000 | static_cast<uint16_t>(q.opcode & 0x0f) << 11;
  if (aa) f |= 0x0400;
  if (q.rd) f |= 0x0100;
  if (q.cd) f |= 0x0010;
  f |= rcode_low & 0x0f;
  const uint8_t header[kHeaderSize] = {static_cast<uint8_t>(q.id >> 8),
                                       static_cast<uint8_t>(q.id),
                                       static_cast<uint8_t>(f >> 8),
                                       static_cast<uint8_t>(f),
                                       0,
                                       static_cast<uint8_t>(question.empty() ? 0 : 1),
                                       0,
                                       0,
                                       0,
                                       0,
                                       0,
                                       0};
  put(header);
  return put(question);
}

bool Writer::record(Section s, std::span<const uint8_t> owner, uint16_t owner_offset, uint16_t t,
                    uint16_t k, uint32_t ttl, std::span<const uint8_t> rdata) {
  const size_t need = (owner.empty() ? 2 : owner.size()) + 10 + rdata.size();
  if (cap_ - size_ < need || rdata.size() > 0xffff) return false;
  if (owner.empty()) {
    put16(static_cast<uint16_t>(0xc000 | owner_offset));
  } else {
    put(owner);
  }
  put16(t);
  put16(k);
  put32(ttl);
  put16(static_cast<uint16_t>(rdata.size()));
  put(rdata);
  bump(s, 1);
  return true;
}

bool Writer::raw(Section s, std::span<const uint8_t> bytes, uint16_t records) {
  if (!put(bytes)) return false;
  bump(s, records);
  return true;
}

bool Writer::opt(uint16_t udp_size, uint16_t rcode_full, std::span<const uint8_t> options) {
  if (cap_ - size_ < 11 + options.size()) return false;
  const uint8_t root = 0;
  put({&root, 1});
  put16(type::kOpt);
  put16(udp_size);
  put32(static_cast<uint32_t>((rcode_full >> 4) & 0xff) << 24);  // ext rcode, version 0, DO 0
  put16(static_cast<uint16_t>(options.size()));
  put(options);
  bump(Section::Additional, 1);
  return true;
}

void Writer::rewind(const Mark& m) {
  size_ = m.size;
  an_ = m.counts[0];
  ns_ = m.counts[1];
  ar_ = m.counts[2];
  for (auto [at, v] : {std::pair<size_t, uint16_t>{6, an_}, {8, ns_}, {10, ar_}}) {
    buf_[at] = static_cast<uint8_t>(v >> 8);
    buf_[at + 1] = static_cast<uint8_t>(v);
  }
}

}  // namespace steer::dns
