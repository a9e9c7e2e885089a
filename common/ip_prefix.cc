#include "common/ip_prefix.h"

#include <charconv>

namespace steer {

namespace {

// Bits of the 16-byte canonical form that the prefix covers (IPv4 lives in the last 4 bytes).
unsigned covered_bits(const IpPrefix& p) { return (p.is_v4() ? 96u : 0u) + p.length; }

}  // namespace

std::optional<IpPrefix> IpPrefix::parse(std::string_view text) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto address = IpAddress::parse(text.substr(0, slash));
  if (!address) return std::nullopt;
  const std::string_view len = text.substr(slash + 1);
  unsigned length = 0;
  auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), length);
  if (len.empty() || ec != std::errc() || end != len.data() + len.size()) return std::nullopt;
  if (length > (address->is_v4() ? 32u : 128u)) return std::nullopt;
  IpPrefix p{*address, static_cast<uint8_t>(length)};
  // Host bits must be zero: the prefix contains its own address only as the network address.
  const unsigned bits = covered_bits(p);
  for (unsigned i = bits; i < 128; ++i) {
    if (address->bytes()[i / 8] & (0x80u >> (i % 8))) return std::nullopt;
  }
  return p;
}

bool IpPrefix::contains(const IpAddress& a) const {
  if (a.is_v4() != is_v4()) return false;
  const unsigned bits = covered_bits(*this);
  for (unsigned i = 0; i < bits; ++i) {
    const uint8_t mask = static_cast<uint8_t>(0x80u >> (i % 8));
    if ((a.bytes()[i / 8] & mask) != (address.bytes()[i / 8] & mask)) return false;
  }
  return true;
}

std::string IpPrefix::to_string() const {
  return address.to_string() + "/" + std::to_string(length);
}

}  // namespace steer
