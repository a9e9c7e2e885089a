// Helpers shared by the parser and the Config methods; not part of the module's interface.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/ip_address.h"

namespace steer::control::internal {

// Splits "ADDR:PORT", "[v6]:PORT", "ADDR" or "[v6]" into an address and, when given, a port
// (0..65535). False when the text is none of these.
bool split_address_port(std::string_view text, IpAddress& address, bool& has_port, uint16_t& port);

}  // namespace steer::control::internal
