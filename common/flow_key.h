// DOC: FlowKey, the canonical 5-tuple that flow hashing and the flow table work on.
//
// Layout is fixed (40 bytes, no implicit padding) because the flow hash runs over these
// bytes: addresses in the IpAddress canonical form (IPv4-mapped for IPv4), ports in network
// byte order exactly as they sit in the packet, the IP protocol number, then zero padding.
// Every LB on every machine must hash the same bytes for the same flow.
#pragma once

#include <cstdint>
#include <cstring>

#include "common/ip_address.h"

namespace steer {

struct FlowKey {
  uint8_t src[16];       // client address (canonical 16-byte form)
  uint8_t dst[16];       // VIP address (canonical 16-byte form)
  uint16_t src_port_be;  // network byte order; 0 when the protocol has no ports
  uint16_t dst_port_be;  // network byte order; 0 when the protocol has no ports
  uint8_t proto;         // IP protocol number (6 TCP, 17 UDP, ...)
  uint8_t pad[3];        // always zero: hashed and compared as bytes

  static FlowKey make(const IpAddress& src, const IpAddress& dst, uint16_t src_port_host,
                      uint16_t dst_port_host, uint8_t proto) {
    FlowKey k{};
    std::memcpy(k.src, src.data(), 16);
    std::memcpy(k.dst, dst.data(), 16);
    k.src_port_be = uint16_t(src_port_host << 8 | src_port_host >> 8);
    k.dst_port_be = uint16_t(dst_port_host << 8 | dst_port_host >> 8);
    k.proto = proto;
    return k;
  }

  IpAddress src_addr() const { return IpAddress::from_v6(src); }
  IpAddress dst_addr() const { return IpAddress::from_v6(dst); }
  uint16_t src_port() const { return uint16_t(src_port_be << 8 | src_port_be >> 8); }
  uint16_t dst_port() const { return uint16_t(dst_port_be << 8 | dst_port_be >> 8); }

  friend bool operator==(const FlowKey& a, const FlowKey& b) {
    return std::memcmp(&a, &b, sizeof(FlowKey)) == 0;
  }
};
static_assert(sizeof(FlowKey) == 40, "FlowKey is hashed as bytes: keep it 40 bytes");

}  // namespace steer
