// DOC: the DNS wire format as steer's authoritative responder reads and writes it (RFC 1035,
// EDNS0 RFC 6891, Client Subnet RFC 7871, NSID RFC 5001). The hot path of every query:
//
//   parse_query(bytes) ─▶ Query (header, question, OPT, ECS, NSID) — or a Parse verdict saying
//                          why it is malformed (FORMERR) or unanswerable (dropped, counted)
//   Writer              ─▶ the response into the thread's own buffer: header, the question as
//                          received (its case kept: 0x20), records, OPT; bounded by the size
//                          the client can take, so a record that does not fit is a truncation,
//                          never an overflow
//
// Every read goes through bounds checks; names are at most 255 bytes of at most 63-byte labels;
// a query's question never uses compression (nothing precedes it), so a pointer there is
// malformed. Nothing here allocates, throws or locks: a per-thread Query and Writer serve every
// query. Pure code; any thread.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip_address.h"

namespace steer::dns {

// Big-endian reads and appends, for the code that builds messages and records outside a
// Writer (records, zone transfers, TSIG, NOTIFY).
inline uint16_t read16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline void append16(std::vector<uint8_t>& v, uint16_t x) {
  v.push_back(static_cast<uint8_t>(x >> 8));
  v.push_back(static_cast<uint8_t>(x));
}
inline void append32(std::vector<uint8_t>& v, uint32_t x) {
  append16(v, static_cast<uint16_t>(x >> 16));
  append16(v, static_cast<uint16_t>(x));
}

inline constexpr size_t kHeaderSize = 12;
inline constexpr size_t kMaxName = 255;  // wire length, root label included
inline constexpr size_t kMaxLabel = 63;
inline constexpr size_t kMinUdpSize = 512;      // RFC 1035; EDNS sizes below it count as it
inline constexpr size_t kDefaultUdpCap = 1232;  // DNS flag day 2020: no fragmentation
inline constexpr size_t kMaxMessage = 65535;    // TCP

namespace type {
inline constexpr uint16_t kA = 1, kNs = 2, kCname = 5, kSoa = 6, kPtr = 12, kMx = 15, kTxt = 16,
                          kAaaa = 28, kSrv = 33, kOpt = 41, kDs = 43, kRrsig = 46, kNsec = 47,
                          kDnskey = 48, kNsec3 = 50, kIxfr = 251, kAxfr = 252, kMailb = 253,
                          kMaila = 254, kAny = 255, kCaa = 257;
}
namespace klass {
inline constexpr uint16_t kIn = 1, kCh = 3, kNone = 254, kAny = 255;
}
namespace rcode {
inline constexpr uint16_t kNoError = 0, kFormErr = 1, kServFail = 2, kNxDomain = 3, kNotImp = 4,
                          kRefused = 5, kBadVers = 16;  // 16: extended (upper 8 bits in OPT)
}
namespace edns {
inline constexpr uint16_t kNsid = 3, kClientSubnet = 8, kCookie = 10, kPadding = 12;
}

// "A", "AAAA", ... or "TYPE<n>" (RFC 3597); parse_type is the inverse (any case).
std::string type_name(uint16_t type);
bool parse_type(std::string_view text, uint16_t& out);
// "NOERROR", "FORMERR", ... or "RCODE<n>".
std::string rcode_name(uint16_t rcode);

// Why a message was not answered normally. Ok: answer it. FormErr: answer FORMERR (the header
// was readable). Drop: not even a header to answer to (or it is a response): count and drop.
enum class Parse : uint8_t {
  Ok,
  Drop,        // shorter than a header, or QR set (a response, never answered: no loops)
  FormErr,     // malformed question or OPT: answer with RCODE FORMERR
  NoQuestion,  // QDCOUNT 0 (a DNS cookie-only query is not served): FORMERR
  MultipleQuestions,
  BadName,       // a label or pointer error in the question
  TrailingData,  // bytes after the records the counts announce
  BadOpt,        // an OPT record that is malformed, not in the additional section, or twice
  BadEcs,        // a malformed Client Subnet option (RFC 7871 7.1: FORMERR)
};
std::string_view parse_name(Parse p);

// A DNS name in wire form, lower-cased (for lookups), with its length.
struct Name {
  std::array<uint8_t, kMaxName> bytes{};
  uint8_t size = 0;  // 1 for the root

  std::span<const uint8_t> wire() const { return {bytes.data(), size}; }
  // Dotted text with the final dot: "www.example.com.", "." for the root.
  std::string text() const;
  // Number of labels (0 for the root).
  int labels() const;
  // True when this name is `zone` or below it.
  bool within(const Name& zone) const;
  friend bool operator==(const Name& a, const Name& b) {
    return a.size == b.size &&
           std::equal(a.bytes.begin(), a.bytes.begin() + a.size, b.bytes.begin());
  }
};

// Text ("www.example.com", "www.example.com.", "." for the root; any case) to a lower-case Name.
// False when it is not a valid name (empty label, label over 63, name over 255, a byte that is
// a space or control character).
bool parse_name_text(std::string_view text, Name& out);

struct ClientSubnet {
  uint16_t family = 0;  // 1 IPv4, 2 IPv6
  uint8_t source = 0;   // SOURCE PREFIX-LENGTH
  uint8_t scope = 0;    // SCOPE PREFIX-LENGTH (0 in queries)
  IpAddress address;    // the prefix, host bits zero
};

struct Query {
  // Header.
  uint16_t id = 0;
  uint8_t opcode = 0;
  bool rd = false, cd = false;
  uint16_t flags = 0;  // the second 16 bits of the header as received
  // The question: where it sits in the message (to copy it back as received, 0x20), and
  // its name lower-cased.
  size_t question_offset = kHeaderSize;
  size_t question_size = 0;  // name + type + class
  Name qname;
  uint16_t qtype = 0, qclass = 0;
  // EDNS0.
  bool has_opt = false;
  uint16_t udp_size = 0;  // as sent (the responder applies the floor and its own cap)
  uint8_t edns_version = 0;
  bool dnssec_ok = false;
  bool nsid = false;  // an NSID option was present
  bool has_ecs = false;
  ClientSubnet ecs;
};

// Reads a query. Fills `q` as far as it got: a FormErr-class verdict still leaves the header
// (id, opcode, flags) valid for the error response.
Parse parse_query(std::span<const uint8_t> msg, Query& q);

// The response being built, in a caller's buffer. Capacity is the most the client may
// receive; an add that does not fit returns false and writes nothing (the caller sets TC or
// stops adding). Counts in the header are kept by the writer.
class Writer {
 public:
  Writer(std::span<uint8_t> buffer, size_t capacity)
      : buf_(buffer.data()),
        buf_size_(buffer.size()),
        cap_(capacity < buffer.size() ? capacity : buffer.size()) {}

  // The header: the query's id, opcode and RD/CD; QR set; AA, RA clear; the rcode's low 4 bits.
  // Then the question, copied as it came (when `question` is not empty).
  bool start(const Query& q, std::span<const uint8_t> question, uint16_t rcode_low, bool aa);
  void set_aa(bool on) { set_flag(0x0400, on); }
  void set_tc() { set_flag(0x0200, true); }
  void set_rcode_low(uint16_t rcode) {
    buf_[3] = static_cast<uint8_t>((buf_[3] & 0xf0) | (rcode & 0x0f));
  }

  enum class Section : uint8_t { Answer, Authority, Additional };
  // One record: owner as a pointer to `owner_offset` (0x0c for the question name), or as wire
  // bytes when `owner` is not empty; then type, class, TTL and RDATA as given.
  bool record(Section s, std::span<const uint8_t> owner, uint16_t owner_offset, uint16_t type,
              uint16_t klass, uint32_t ttl, std::span<const uint8_t> rdata);
  // Bytes prepared elsewhere (a precomputed record), counted as `records` records of `s`.
  bool raw(Section s, std::span<const uint8_t> bytes, uint16_t records);
  // The OPT record: our UDP size, the extended rcode's upper bits, version 0, and the options
  // (NSID, ECS) given as prepared option bytes.
  bool opt(uint16_t udp_size, uint16_t rcode, std::span<const uint8_t> options);

  size_t size() const { return size_; }
  // Overwrites 4 bytes already written at `at` (a field patched after the fact).
  void set32(size_t at, uint32_t v) {
    if (at + 4 > size_) return;
    buf_[at] = static_cast<uint8_t>(v >> 24);
    buf_[at + 1] = static_cast<uint8_t>(v >> 16);
    buf_[at + 2] = static_cast<uint8_t>(v >> 8);
    buf_[at + 3] = static_cast<uint8_t>(v);
  }
  size_t capacity() const { return cap_; }
  // Changes the limit (to keep room for the OPT record while records are added); never past
  // the buffer, never below what is written.
  void set_capacity(size_t cap) { cap_ = std::max(size_, std::min(cap, buf_size_)); }
  size_t left() const { return cap_ - size_; }
  std::span<const uint8_t> bytes() const { return {buf_, size_}; }
  // Rolls back to `size` (records after it removed, counts restored by the caller's marks).
  struct Mark {
    size_t size;
    uint16_t counts[3];
  };
  Mark mark() const { return Mark{size_, {an_, ns_, ar_}}; }
  void rewind(const Mark& m);

 private:
  void set_flag(uint16_t bit, bool on);
  void bump(Section s, uint16_t n);
  bool put(std::span<const uint8_t> bytes);
  bool put16(uint16_t v);
  bool put32(uint32_t v);

  uint8_t* buf_;
  size_t buf_size_;
  size_t cap_;
  size_t size_ = 0;
  uint16_t an_ = 0, ns_ = 0, ar_ = 0;
};

}  // namespace steer::dns
