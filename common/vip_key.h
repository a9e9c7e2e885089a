// DOC: the identity of a VIP — (address, L4 protocol, port) — and its one text form,
// "ADDR:PORT/PROTO" ("[V6]:PORT/PROTO", port "*" for an all-ports VIP). The dataplane labels
// its per-VIP and per-backend statistics with it, steerd matches them by it, and operators
// read it in errors and CLI output, so every place formats it through this header.
//
// L4Proto is the protocol of a VIP (TCP or UDP; nothing else is load-balanced). Packets carry
// any IP protocol number: ip_proto_name() names those.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "common/ip_address.h"

namespace steer {

enum class L4Proto : uint8_t { Tcp = 6, Udp = 17 };

constexpr std::string_view l4_proto_name(L4Proto p) { return p == L4Proto::Udp ? "udp" : "tcp"; }
constexpr uint8_t ip_proto_number(L4Proto p) { return static_cast<uint8_t>(p); }

// "tcp" / "udp"; nullopt for anything else.
constexpr std::optional<L4Proto> parse_l4_proto(std::string_view text) {
  if (text == "tcp") return L4Proto::Tcp;
  if (text == "udp") return L4Proto::Udp;
  return std::nullopt;
}
// 6 / 17; nullopt for any other IP protocol number.
constexpr std::optional<L4Proto> l4_proto_of(uint8_t ip_proto) {
  if (ip_proto == 6) return L4Proto::Tcp;
  if (ip_proto == 17) return L4Proto::Udp;
  return std::nullopt;
}

// Any IP protocol number in words: "tcp", "udp", "icmp", "icmpv6", else the decimal number.
std::string ip_proto_name(uint8_t ip_proto);

// "192.0.2.10" or "[2001:db8::10]": an address as it stands before ":PORT".
std::string address_for_port(const IpAddress& a);

struct VipKey {
  IpAddress address;
  L4Proto proto = L4Proto::Tcp;
  uint16_t port = 0;  // 0: every port

  // "192.0.2.10:80/tcp", "[2001:db8::10]:*/udp".
  std::string to_string() const;
  // The inverse of to_string(); nullopt when `text` is not of that form.
  static std::optional<VipKey> parse(std::string_view text);

  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads a defaulted <=>
  friend auto operator<=>(const VipKey&, const VipKey&) = default;
};

}  // namespace steer

template <>
struct fmt::formatter<steer::VipKey> : fmt::formatter<std::string_view> {
  template <class FormatContext>
  auto format(const steer::VipKey& k, FormatContext& ctx) const {
    return fmt::formatter<std::string_view>::format(k.to_string(), ctx);
  }
};

template <>
struct fmt::formatter<steer::L4Proto> : fmt::formatter<std::string_view> {
  template <class FormatContext>
  auto format(steer::L4Proto p, FormatContext& ctx) const {
    return fmt::formatter<std::string_view>::format(steer::l4_proto_name(p), ctx);
  }
};
