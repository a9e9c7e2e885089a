// DOC: the minimal DNS wire codec of the dns health check (RFC 1035): build one query, read
// one reply's header, question and A/AAAA answers. Every read is bounds-checked; names
// follow compression pointers only backwards and at most kMaxPointers times, so a hostile
// reply cannot loop or read outside the message. Pure functions, any thread; decode returns
// a DnsDecode value naming what was wrong, never a bare bool.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip_address.h"

namespace steer::control::health::dns {

inline constexpr size_t kHeaderSize = 12;
inline constexpr size_t kMaxName = 255;  // wire length, root label included
inline constexpr int kMaxPointers = 32;
inline constexpr uint16_t kTypeA = 1, kTypeAAAA = 28, kClassIn = 1;

enum class DnsEncode : uint8_t { Ok, EmptyLabel, LabelTooLong, NameTooLong, BufferTooSmall };
enum class DnsDecode : uint8_t {
  Ok,
  Short,      // the message ends inside the header or a record
  NotAReply,  // QR bit clear
  BadName,    // label/pointer error, or a name over 255 bytes
  BadRecord,  // RDLENGTH past the end, or an A/AAAA with the wrong length
};

std::string_view dns_encode_name(DnsEncode e);
std::string_view dns_decode_name(DnsDecode d);

// "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", ... or "RCODE<n>".
std::string rcode_name(uint8_t rcode);

// Writes a standard query (opcode 0, QDCOUNT 1, class IN) for `name` ("example.com" or
// "example.com."; "." is the root) into `out`; `written` gets its length.
DnsEncode encode_query(uint16_t id, std::string_view name, uint16_t qtype, bool recursion_desired,
                       std::span<uint8_t> out, size_t& written);

struct Reply {
  uint16_t id = 0;
  bool truncated = false;
  uint8_t rcode = 0;
  uint16_t qdcount = 0, ancount = 0;
  std::string qname;  // the first question's name, lower case, with the trailing dot
  uint16_t qtype = 0, qclass = 0;
  std::vector<IpAddress> addresses;  // the A and AAAA records of the answer section
};

DnsDecode decode_reply(std::span<const uint8_t> msg, Reply& out);

// `name` in the form decode_reply gives (lower case, trailing dot).
std::string canonical_name(std::string_view name);

}  // namespace steer::control::health::dns
