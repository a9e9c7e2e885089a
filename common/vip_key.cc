#include "common/vip_key.h"

#include <charconv>

namespace steer {

std::string ip_proto_name(uint8_t ip_proto) {
  switch (ip_proto) {
    case 1:
      return "icmp";
    case 6:
      return "tcp";
    case 17:
      return "udp";
    case 58:
      return "icmpv6";
  }
  return std::to_string(ip_proto);
}

std::string address_for_port(const IpAddress& a) {
  return a.is_v4() ? a.to_string() : fmt::format("[{}]", a.to_string());
}

std::string VipKey::to_string() const {
  if (port == 0) return fmt::format("{}:*/{}", address_for_port(address), l4_proto_name(proto));
  return fmt::format("{}:{}/{}", address_for_port(address), port, l4_proto_name(proto));
}

std::optional<VipKey> VipKey::parse(std::string_view text) {
  const size_t slash = text.rfind('/');
  const size_t colon = text.rfind(':', slash);
  if (slash == std::string_view::npos || colon == std::string_view::npos) return std::nullopt;
  VipKey k;
  auto proto = parse_l4_proto(text.substr(slash + 1));
  if (!proto) return std::nullopt;
  k.proto = *proto;
  const std::string_view port = text.substr(colon + 1, slash - colon - 1);
  if (port != "*") {
    uint32_t p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || p == 0 ||
        p > 65535) {
      return std::nullopt;
    }
    k.port = static_cast<uint16_t>(p);
  }
  std::string_view addr = text.substr(0, colon);
  const bool bracketed = addr.size() >= 2 && addr.front() == '[' && addr.back() == ']';
  if (bracketed) addr = addr.substr(1, addr.size() - 2);
  auto a = IpAddress::parse(addr);
  if (!a || a->is_v4() == bracketed) return std::nullopt;
  k.address = *a;
  return k;
}

}  // namespace steer
