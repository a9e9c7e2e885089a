// DOC: resource records as steer's zones hold them: the text an operator writes in [dns]
// (`{ name = "www", type = "CNAME", data = "web.lb.example.com." }`) turned into RDATA wire
// bytes once, at configuration time, with every mistake reported (docs/configuration.md).
// Supported types: A, AAAA, NS, CNAME, SOA (from the zone's own soa table), MX, TXT, CAA, SRV,
// PTR. Names inside RDATA are written uncompressed (RFC 3597 and the CNAME/MX/NS rules allow
// compression, nothing requires it). Pure code; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "dns/wire.h"

namespace steer::dns {

struct Soa {
  Name mname, rname;
  uint32_t serial = 1;
  uint32_t refresh = 3600, retry = 600, expire = 1209600, minimum = 60;
};

std::vector<uint8_t> soa_rdata(const Soa& soa);

// RDATA for `type` from its presentation text ("10 mail.example.com." for MX, "0 issue
// \"ca.example\"" for CAA, "v=spf1 -all" or "\"a\" \"b\"" for TXT, ...). `origin` completes
// relative names ("mail" → "mail.<origin>"). TXT: bare text is one string, cut every 255
// bytes; text starting with '"' is quoted strings, each one string. Error: what is wrong
// with the text.
Result<std::vector<uint8_t>> rdata_from_text(uint16_t type, std::string_view text,
                                             const Name& origin);

// `name` relative to `origin` ("@" is the origin, "www" is "www.<origin>", a name ending in
// '.' is absolute). False when it is not a valid name.
bool name_in_origin(std::string_view name, const Name& origin, Name& out);

}  // namespace steer::dns
