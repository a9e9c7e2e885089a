// The Config value's helpers. The parser is in parse.cc.
#include "control/config/config.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include "common/file.h"
#include "control/config/internal.h"

namespace steer::control {

std::string_view check_type_name(CheckType type) {
  switch (type) {
    case CheckType::Tcp:
      return "tcp";
    case CheckType::Http:
      return "http";
    case CheckType::Https:
      return "https";
    case CheckType::Udp:
      return "udp";
    case CheckType::Dns:
      return "dns";
  }
  return "?";
}

uint32_t CheckConfig::effective_fast_interval_ms() const {
  if (fast_interval_ms != 0) return fast_interval_ms;
  return std::max<uint32_t>(50, interval_ms / 4);
}

uint32_t MinHealthy::required(size_t configured) const {
  if (!is_fraction) return count;
  // The epsilon keeps 30 % of 10 at 3: 0.3 * 10 is 3.0000000000000004 in binary.
  const double exact = fraction * static_cast<double>(configured);
  const double up = std::ceil(exact - 1e-9);
  if (!(up >= 1)) return 1;
  if (up >= static_cast<double>(configured))
    return static_cast<uint32_t>(std::max<size_t>(configured, 1));
  return static_cast<uint32_t>(up);
}

namespace {

bool parse_port(std::string_view text, uint16_t& port) {
  unsigned value = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || p != end || value > 65535) return false;
  port = static_cast<uint16_t>(value);
  return true;
}

}  // namespace

bool internal::split_address_port(std::string_view text, IpAddress& address, bool& has_port,
                                  uint16_t& port) {
  has_port = false;
  std::string_view host = text;
  if (text.starts_with('[')) {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return false;
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':' || !parse_port(rest.substr(1), port)) return false;
      has_port = true;
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    const size_t colon = text.find(':');
    host = text.substr(0, colon);
    if (!parse_port(text.substr(colon + 1), port)) return false;
    has_port = true;
  }
  auto a = IpAddress::parse(host);
  if (!a) return false;
  address = *a;
  return true;
}

const VipConfig* Config::find_vip(std::string_view name_or_address) const {
  for (const VipConfig& v : vips) {
    if (v.name == name_or_address) return &v;
  }
  std::string_view target = name_or_address;
  std::optional<L4Proto> proto;
  if (const size_t slash = target.rfind('/'); slash != std::string_view::npos) {
    proto = parse_l4_proto(target.substr(slash + 1));
    if (!proto) return nullptr;
    target = target.substr(0, slash);
  }
  IpAddress address;
  bool has_port = false;
  uint16_t port = 0;
  if (!internal::split_address_port(target, address, has_port, port)) return nullptr;
  const VipConfig* found = nullptr;
  for (const VipConfig& v : vips) {
    if (v.address != address) continue;
    if (has_port && v.port != port) continue;
    if (proto && v.proto != *proto) continue;
    if (found) return nullptr;  // ambiguous
    found = &v;
  }
  return found;
}

tl::expected<Config, std::vector<ConfigError>> load_config(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return tl::unexpected(std::vector<ConfigError>{
        {path, "cannot open the configuration file", "check the path and its permissions"}});
  }
  auto text = read_file(path);
  if (!text) {
    return tl::unexpected(std::vector<ConfigError>{
        {path, "cannot read the configuration file", text.error().message}});
  }
  return parse_config(*text, path);
}

}  // namespace steer::control
