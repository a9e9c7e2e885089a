// libFuzzer target for parse_query() (dns/wire.h): any byte string is a datagram to the DNS
// responder. It must never crash or read out of bounds, and a parsed question must keep the
// header's promises: it sits right after the header, its size is the name's plus type and
// class and fits the message, the name is at most 255 bytes of labels of at most 63, it is
// the message's bytes lower-cased, and its text form reads back as the same name.
// Seed corpus: tests/fuzz/corpus/dns_query_fuzz/ (real queries and malformed ones).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "dns/wire.h"

namespace {

using namespace steer::dns;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

uint8_t lower(uint8_t c) { return c >= 'A' && c <= 'Z' ? static_cast<uint8_t>(c + 32) : c; }

// Name::text() escapes what a dotted name cannot hold as it is (RFC 1035 5.1: "\." "\\" and
// "\DDD"); parse_name_text() reads plain text only (it is what operators write in [dns]). So
// the round trip goes through parse_name_text() for names of plain bytes and through this
// reader of the escapes for the others.
bool unescape_text(const std::string& text, Name& out) {
  if (text == ".") {
    out.bytes[0] = 0;
    out.size = 1;
    return true;
  }
  size_t len = 0, label_at = 0, label_len = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<uint8_t>(text[i]);
    if (c == '.') {
      if (label_len == 0 || label_len > kMaxLabel) return false;
      out.bytes[label_at] = static_cast<uint8_t>(label_len);
      label_len = 0;
      continue;
    }
    if (c == '\\') {
      if (i + 1 >= text.size()) return false;
      if (text[i + 1] >= '0' && text[i + 1] <= '9') {
        if (i + 3 >= text.size()) return false;
        c = static_cast<uint8_t>((text[i + 1] - '0') * 100 + (text[i + 2] - '0') * 10 +
                                 (text[i + 3] - '0'));
        i += 3;
      } else {
        c = static_cast<uint8_t>(text[++i]);
      }
    }
    if (label_len == 0) label_at = len++;  // the label's length byte
    if (len + 2 > kMaxName) return false;  // the byte and the root
    out.bytes[len++] = c;
    ++label_len;
  }
  if (label_len != 0) return false;  // text() ends every label with '.'
  out.bytes[len++] = 0;
  out.size = static_cast<uint8_t>(len);
  return true;
}

bool plain(const Name& n) {
  for (size_t pos = 0; pos < n.size && n.bytes[pos] != 0; pos += 1u + n.bytes[pos]) {
    for (size_t i = 1; i <= n.bytes[pos]; ++i) {
      const uint8_t c = n.bytes[pos + i];
      if (c <= ' ' || c >= 0x7f || c == '.' || c == '\\') return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> msg(data, size);
  Query q;
  const Parse p = parse_query(msg, q);
  check(!parse_name(p).empty() && parse_name(p) != "?");
  if (size < kHeaderSize || (data[2] & 0x80) != 0) {
    check(p == Parse::Drop);
    return 0;
  }
  check(p != Parse::Drop);
  // The header is read whatever follows.
  check(q.id == (data[0] << 8 | data[1]));
  check(q.flags == (data[2] << 8 | data[3]));
  check(q.opcode == ((data[2] >> 3) & 0x0f));
  if (q.question_size == 0) {
    // Only another opcode is Ok without a question (answered NOTIMP, RFC 8906).
    check(p != Parse::Ok || q.opcode != 0);
    return 0;
  }
  // A question was read: where the responder copies it from.
  check(q.question_offset == kHeaderSize);
  check(q.question_size == q.qname.size + 4u);
  check(kHeaderSize + q.question_size <= size);
  check(q.qname.size >= 1 && q.qname.size <= kMaxName);
  size_t pos = 0;
  int labels = 0;
  while (true) {
    check(pos < q.qname.size);
    const uint8_t l = q.qname.bytes[pos];
    check(l <= kMaxLabel);
    if (l == 0) break;
    pos += 1u + l;
    ++labels;
  }
  check(pos + 1 == q.qname.size);
  check(labels == q.qname.labels());
  for (size_t i = 0; i < q.qname.size; ++i) check(q.qname.bytes[i] == lower(data[kHeaderSize + i]));
  check(q.qtype == (data[kHeaderSize + q.qname.size] << 8 | data[kHeaderSize + q.qname.size + 1]));
  // Text and back.
  const std::string text = q.qname.text();
  check(!text.empty() && text.back() == '.');
  Name back;
  if (plain(q.qname)) {
    check(parse_name_text(text, back));
  } else {
    check(unescape_text(text, back));
  }
  check(back == q.qname);
  check(q.qname.within(q.qname));
  if (p == Parse::Ok && q.opcode == 0) {
    // A whole query: the OPT fields are only set with an OPT.
    if (!q.has_opt) check(q.udp_size == 0 && !q.nsid && !q.has_ecs);
    if (q.has_ecs) {
      check(q.has_opt);
      check(q.ecs.family == 1 || q.ecs.family == 2);
      check(q.ecs.source <= (q.ecs.family == 1 ? 32 : 128));
      check(q.ecs.scope == 0);
      if (q.ecs.family == 1) check(q.ecs.address.is_v4());
      // The host bits are zero (RFC 7871 6).
      const uint8_t* a = q.ecs.family == 1 ? q.ecs.address.v4_data() : q.ecs.address.data();
      const size_t bits = q.ecs.family == 1 ? 32 : 128;
      for (size_t b = q.ecs.source; b < bits; ++b) check((a[b / 8] & (0x80 >> (b % 8))) == 0);
    }
  }
  return 0;
}
