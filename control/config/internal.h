// Helpers shared by the parser's files and the Config methods; not part of the module's
// interface.
#pragma once

#include <cstdint>
#include <string_view>

#include <toml++/toml.h>

#include "common/config_reader.h"
#include "common/ip_address.h"
#include "control/config/config.h"

namespace steer::control::internal {

// Splits "ADDR:PORT", "[v6]:PORT", "ADDR" or "[v6]" into an address and, when given, a port
// (0..65535). False when the text is none of these.
bool split_address_port(std::string_view text, IpAddress& address, bool& has_port, uint16_t& port);

// The sections the parser reads itself (parse_checks.cc, parse_vips.cc): each fills its part
// of `c` and reports into `sink`. Checks come first: VIPs refer to them.
void parse_checks(const toml::table& root, Config& c, config::Sink& sink);
void parse_vips(const toml::table& root, Config& c, config::Sink& sink);

}  // namespace steer::control::internal
