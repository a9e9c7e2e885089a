// DOC: TSIG (RFC 8945) — HMAC-signed DNS messages between steer and its secondaries: a zone
// transfer request is verified, every message of the transfer signed, a NOTIFY signed and
// its response verified. HMAC from OpenSSL (hmac-sha256, hmac-sha384, hmac-sha512).
//
//   find()             the TSIG record of a message (the last additional record), if any
//   verify()           a signed message's MAC and time against a key: BADKEY / BADSIG / BADTIME
//                      as RFC 8945 5.2 orders them (the key, then the MAC, then the time)
//   sign()             appends a TSIG record to a message being sent: a request (no prior MAC),
//                      the first response (the request's MAC first), or a later message of a
//                      multi-message answer (the previous MAC, timers only: 5.3.1)
//
// MACs must have the algorithm's full length (truncated MACs, 5.2.2.1, are answered BADSIG).
// The time fudge is kFudge (300 s, RFC 8945 10). Pure functions; any thread; no allocation
// besides the MAC vectors handed out.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "dns/wire.h"

namespace steer::dns::tsig {

inline constexpr uint16_t kType = 250;
inline constexpr uint16_t kFudge = 300;
inline constexpr uint16_t kNotAuth = 9;  // the RCODE of a TSIG error
// TSIG error codes (RFC 8945 3).
inline constexpr uint16_t kBadSig = 16, kBadKey = 17, kBadTime = 18;

enum class Algorithm : uint8_t { HmacSha256, HmacSha384, HmacSha512 };

// "hmac-sha256" (any case) -> the algorithm; nullopt for others.
std::optional<Algorithm> parse_algorithm(std::string_view text);
std::string_view algorithm_text(Algorithm a);
// The algorithm's name as it is written in TSIG RDATA ("hmac-sha256.").
Name algorithm_name(Algorithm a);
size_t mac_size(Algorithm a);

struct Key {
  Name name;  // lower case
  Algorithm algorithm = Algorithm::HmacSha256;
  std::vector<uint8_t> secret;
  friend bool operator==(const Key&, const Key&) = default;
};

// A message's TSIG record (views into the message).
struct Record {
  size_t offset = 0;  // where the record starts: the message without it is [0, offset)
  Name key;           // lower case
  Name algorithm;     // lower case
  uint64_t time_signed = 0;
  uint16_t fudge = 0;
  std::span<const uint8_t> mac;
  uint16_t original_id = 0;
  uint16_t error = 0;
  std::span<const uint8_t> other;
};

enum class Found : uint8_t { None, Ok, Malformed };
// The TSIG record of `msg`: None when the last additional record is not one (or there are no
// additional records); Malformed when the message cannot be walked, a TSIG record is not the
// last one, or its RDATA is short.
Found find(std::span<const uint8_t> msg, Record& out);

enum class Verdict : uint8_t { Ok, BadKey, BadSig, BadTime };
// Checks `rec` (found in `msg`) against `keys` at `now_unix`: the key by name and algorithm,
// then the MAC, then the time (within the fudge). `prior_mac`: empty for a request; a
// response's: the request's MAC. On Ok, or BadTime, `*key_out` is the key (for signing the
// answer).
Verdict verify(std::span<const uint8_t> msg, const Record& rec, std::span<const Key> keys,
               uint64_t now_unix, std::span<const uint8_t> prior_mac, const Key** key_out);

struct Signing {
  const Key* key = nullptr;  // null: an unsigned error (unsigned_error) for an unknown key,
  Name key_name;             // written with these names
  Name algorithm;
  std::span<const uint8_t> prior_mac;  // request MAC (first response) or previous MAC
  bool timers_only = false;            // a later message of a multi-message answer (5.3.1)
  uint64_t time = 0;
  uint16_t original_id = 0;
  uint16_t error = 0;              // a TSIG error to report
  std::span<const uint8_t> other;  // BADTIME: the server's time (6 bytes)
  bool unsigned_error = false;     // BADKEY / BADSIG: an empty MAC (5.3.2)
};
// Appends the TSIG record to the message in buf[0, size) and increments its ARCOUNT. Returns
// the new size, 0 when it does not fit in `buf`. `mac_out` receives the MAC (for chaining).
size_t sign(std::span<uint8_t> buf, size_t size, const Signing& s, std::vector<uint8_t>& mac_out);

// The room sign() needs for `key`'s record.
size_t record_size(const Key& key);

}  // namespace steer::dns::tsig
