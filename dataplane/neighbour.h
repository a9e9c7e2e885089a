// DOC: the next hop's MAC address from the kernel's neighbour table (rtnetlink), so an
// operator configures the gateway's IP address and steer follows the kernel's ARP/ND.
// Control thread; each call is a netlink dump (cheap; done at start-up and once a second).
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "common/ip_address.h"
#include "common/result.h"

namespace steer::dataplane {

// The MAC the kernel holds for `address` (any usable state: reachable, stale, delay, probe,
// permanent), or nullopt when it has none. Error only when netlink itself fails.
Result<std::optional<std::array<uint8_t, 6>>> kernel_neighbour(const IpAddress& address);

// Asks the kernel to resolve `address` by sending one empty UDP datagram to its discard port
// (9). Harmless when the neighbour already exists. Errors are ignored (best effort).
void poke_neighbour(const IpAddress& address);

}  // namespace steer::dataplane
