// DOC: IpPrefix — an address and a prefix length ("192.0.2.0/24", "2001:db8::/48"), for the
// routes steer announces. The length counts in the address's own family (0..32 for IPv4,
// 0..128 for IPv6); host bits must be zero. Plain value type.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/ip_address.h"

namespace steer {

struct IpPrefix {
  IpAddress address;
  uint8_t length = 0;

  // "ADDR/LEN"; nullopt when malformed, the length is out of range or host bits are set.
  static std::optional<IpPrefix> parse(std::string_view text);
  // The host route of an address: /32 or /128.
  static IpPrefix host(const IpAddress& a) { return IpPrefix{a, uint8_t(a.is_v4() ? 32 : 128)}; }

  bool is_v4() const { return address.is_v4(); }
  // True when `a` is of the same family and inside the prefix.
  bool contains(const IpAddress& a) const;
  std::string to_string() const;

  friend auto operator<=>(const IpPrefix&, const IpPrefix&) = default;
};

}  // namespace steer

template <>
struct fmt::formatter<steer::IpPrefix> : fmt::formatter<std::string_view> {
  template <class FormatContext>
  auto format(const steer::IpPrefix& p, FormatContext& ctx) const {
    return fmt::formatter<std::string_view>::format(p.to_string(), ctx);
  }
};
