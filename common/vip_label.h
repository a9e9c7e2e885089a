// DOC: the one text form of a VIP key, "ADDR:PORT/PROTO" ("[V6]:PORT/PROTO", port "*" for an
// all-ports VIP). The dataplane labels its per-VIP and per-backend stats with it and steerd
// matches them by it, so both must use this function.
#pragma once

#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "common/ip_address.h"

namespace steer {

// "192.0.2.10" or "[2001:db8::10]": an address as it stands before ":PORT".
inline std::string address_for_port(const IpAddress& a) {
  return a.is_v4() ? a.to_string() : fmt::format("[{}]", a.to_string());
}

inline std::string vip_label(const IpAddress& address, uint16_t port, uint8_t proto) {
  const char* p = proto == 6 ? "tcp" : proto == 17 ? "udp" : "other";
  return port == 0 ? fmt::format("{}:*/{}", address_for_port(address), p)
                   : fmt::format("{}:{}/{}", address_for_port(address), port, p);
}

}  // namespace steer
