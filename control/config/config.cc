// The Config value's helpers. The parser is in parse.cc.
#include "control/config/config.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

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

// "tcp" / "udp" -> 6 / 17; 0 otherwise.
uint8_t proto_number(std::string_view name) {
  if (name == "tcp") return 6;
  if (name == "udp") return 17;
  return 0;
}

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
  uint8_t proto = 0;
  if (const size_t slash = target.rfind('/'); slash != std::string_view::npos) {
    proto = proto_number(target.substr(slash + 1));
    if (proto == 0) return nullptr;
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
    if (proto != 0 && v.proto != proto) continue;
    if (found) return nullptr;  // ambiguous
    found = &v;
  }
  return found;
}

std::string format_errors(const std::vector<ConfigError>& errors) {
  std::string out;
  for (const ConfigError& e : errors) {
    out += fmt::format("{}: {}", e.where, e.message);
    if (!e.hint.empty()) out += fmt::format(" (hint: {})", e.hint);
    out += '\n';
  }
  return out;
}

tl::expected<Config, std::vector<ConfigError>> load_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return tl::unexpected(std::vector<ConfigError>{
        {path, "cannot open the configuration file", "check the path and its permissions"}});
  }
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) {
    return tl::unexpected(
        std::vector<ConfigError>{{path, "cannot read the configuration file", ""}});
  }
  return parse_config(ss.str(), path);
}

}  // namespace steer::control
