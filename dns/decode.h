// DOC: a DNS message decoded into text — for `steerctl dns query` (what answer a client gets),
// for tests that check answers record by record, and for logs. Follows compression pointers
// backwards only and at most 64 times; every read is bounds-checked. Not on the hot path:
// it allocates. Pure code; any thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"

namespace steer::dns {

struct DecodedRecord {
  std::string owner;  // "www.example.com." (as sent: case kept)
  uint16_t type = 0;
  uint16_t klass = 0;
  uint32_t ttl = 0;
  std::string data;  // presentation form: "192.0.2.1", "10 mail.example.com.", "\"text\"", ...
};

struct DecodedMessage {
  uint16_t id = 0;
  bool qr = false, aa = false, tc = false, rd = false, ra = false, ad = false, cd = false;
  uint8_t opcode = 0;
  uint16_t rcode = 0;  // extended when an OPT carries the upper bits
  std::string qname;
  uint16_t qtype = 0, qclass = 0;
  std::vector<DecodedRecord> answer, authority, additional;  // additional: without the OPT
  bool has_opt = false;
  uint16_t udp_size = 0;
  uint8_t edns_version = 0;
  std::string nsid;  // the NSID option's bytes
  bool has_ecs = false;
  uint16_t ecs_family = 0;
  uint8_t ecs_source = 0, ecs_scope = 0;
  std::string ecs_address;
};

Result<DecodedMessage> decode_message(std::span<const uint8_t> msg);

// A query to build (the other direction, for `steerctl dns query` and tests).
struct QuerySpec {
  std::string name;  // text; case kept on the wire
  uint16_t type = 1;
  uint16_t klass = 1;
  uint16_t id = 0;
  bool rd = false;
  bool edns = true;
  uint16_t udp_size = 1232;
  bool nsid = false;
  std::string ecs;  // "" = none, else "ADDR/LEN" (the address's host bits must be zero)
};
// Error: a name or ECS prefix that cannot be encoded.
Result<std::vector<uint8_t>> make_query(const QuerySpec& spec);

}  // namespace steer::dns
