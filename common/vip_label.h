// DOC: vip_label(), a VIP key's text form from its parts: VipKey::to_string() (common/vip_key.h),
// "ADDR:PORT/PROTO" ("[V6]:PORT/PROTO", port "*" for an all-ports VIP), the label of the
// dataplane's per-VIP and per-backend stats.
#pragma once

#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "common/ip_address.h"
#include "common/vip_key.h"

namespace steer {

// A protocol other than TCP or UDP (never a VIP's) reads "other".
inline std::string vip_label(const IpAddress& address, uint16_t port, uint8_t proto) {
  if (const std::optional<L4Proto> p = l4_proto_of(proto)) {
    return VipKey{address, *p, port}.to_string();
  }
  return port == 0 ? fmt::format("{}:*/other", address_for_port(address))
                   : fmt::format("{}:{}/other", address_for_port(address), port);
}

}  // namespace steer
