// DOC: IpAddress, the one address type shared by hashing, the dataplane and tools.
//
// Every address is held as 16 bytes in network order; an IPv4 address is stored in its
// IPv4-mapped IPv6 form (::ffff:a.b.c.d). That single canonical form is what flow keys and
// Maglev backend keys hash over, so IPv4 and IPv6 share one code path and the same address
// always hashes the same way on every machine. Plain value type; thread-safe to copy.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace steer {

class IpAddress {
 public:
  using Bytes = std::array<uint8_t, 16>;

  // The unspecified IPv6 address ::.
  constexpr IpAddress() = default;

  // From 16 bytes in network order (IPv4-mapped bytes make an IPv4 address).
  static IpAddress from_bytes(const Bytes& b) {
    IpAddress a;
    a.bytes_ = b;
    return a;
  }
  static IpAddress from_v6(const uint8_t* p16) {
    IpAddress a;
    std::memcpy(a.bytes_.data(), p16, 16);
    return a;
  }
  // From four bytes in network order, as read from an IPv4 header.
  static IpAddress from_v4(const uint8_t* p4) {
    IpAddress a;
    a.bytes_[10] = 0xff;
    a.bytes_[11] = 0xff;
    std::memcpy(a.bytes_.data() + 12, p4, 4);
    return a;
  }
  // From a host-order IPv4 value, e.g. 0x0a000001 for 10.0.0.1.
  static IpAddress from_v4_host(uint32_t v) {
    const uint8_t b[4] = {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)};
    return from_v4(b);
  }

  // Parses "192.0.2.1" or "2001:db8::1"; nullopt on anything else.
  static std::optional<IpAddress> parse(std::string_view text);

  bool is_v4() const {
    static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return std::memcmp(bytes_.data(), kMapped, 12) == 0;
  }
  const Bytes& bytes() const { return bytes_; }
  const uint8_t* data() const { return bytes_.data(); }
  // The four IPv4 bytes in network order (meaningful only when is_v4()).
  const uint8_t* v4_data() const { return bytes_.data() + 12; }
  uint32_t v4_host() const {
    return uint32_t(bytes_[12]) << 24 | uint32_t(bytes_[13]) << 16 | uint32_t(bytes_[14]) << 8 |
           bytes_[15];
  }

  std::string to_string() const;

  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads a defaulted <=>
  friend auto operator<=>(const IpAddress&, const IpAddress&) = default;

 private:
  Bytes bytes_{};
};

}  // namespace steer

template <>
struct fmt::formatter<steer::IpAddress> : fmt::formatter<std::string_view> {
  template <class FormatContext>
  auto format(const steer::IpAddress& a, FormatContext& ctx) const {
    return fmt::formatter<std::string_view>::format(a.to_string(), ctx);
  }
};
