// DOC: PacketBuilder — a fluent builder for test, fixture and benchmark packets.
//
//   auto frame = PacketBuilder().eth().ipv4("198.51.100.7", "192.0.2.10").tcp(40000, 80)
//                    .payload(100).build();
//
// Layers are stacked in call order; build() fills what a correct packet needs and the caller
// did not force: EtherType and next-header/protocol fields from the following layer, IPv4
// total length and header checksum, IPv6 payload length, UDP length, and TCP/UDP/ICMP/ICMPv6
// checksums (with the pseudo-header of the nearest IP layer above). Every computed field can
// be overridden through the options structs to build malformed packets; truncation is done by
// resizing the result. The checksum code here is deliberately independent of the packet
// core's, so tests cross-check it. Test-only; not thread-safe per instance.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace steer::testing {

using Bytes = std::vector<uint8_t>;
using Mac = std::array<uint8_t, 6>;

Mac parse_mac(std::string_view text);  // "02:00:00:00:00:01"; aborts on bad input (test helper)
std::string to_hex(const Bytes& b);    // lower-case, no separators
Bytes from_hex(std::string_view hex);  // ignores spaces and newlines; aborts on bad input

inline constexpr std::string_view kClientMac = "02:00:00:00:00:01";
inline constexpr std::string_view kRouterMac = "02:00:00:00:00:fe";
inline constexpr std::string_view kLbMac = "02:00:00:00:00:10";

struct Ipv4Options {
  uint8_t ttl = 64;
  uint8_t tos = 0;
  uint16_t id = 0x1234;
  bool df = true;
  bool mf = false;
  uint16_t frag_offset = 0;  // in 8-byte units
  Bytes options;             // IPv4 options (padded to 4 bytes by the caller)
  std::optional<uint8_t> version;
  std::optional<uint8_t> ihl;
  std::optional<uint16_t> total_length;
  std::optional<uint8_t> proto;
  std::optional<uint16_t> checksum;
};

struct Ipv6Options {
  uint8_t hop_limit = 64;
  uint8_t traffic_class = 0;
  uint32_t flow_label = 0;
  std::optional<uint8_t> version;
  std::optional<uint16_t> payload_length;
  std::optional<uint8_t> next_header;
};

struct TcpOptions {
  uint8_t flags = 0x02;  // SYN
  uint32_t seq = 1000;
  uint32_t ack = 0;
  uint16_t window = 65535;
  std::optional<uint8_t> data_offset;  // in 32-bit words
  std::optional<uint16_t> checksum;
};

class PacketBuilder {
 public:
  PacketBuilder& eth(std::string_view src = kClientMac, std::string_view dst = kLbMac,
                     std::optional<uint16_t> ethertype = std::nullopt);
  PacketBuilder& vlan(uint16_t tci, std::optional<uint16_t> ethertype = std::nullopt);
  PacketBuilder& ipv4(std::string_view src, std::string_view dst, Ipv4Options o = {});
  PacketBuilder& ipv6(std::string_view src, std::string_view dst, Ipv6Options o = {});
  // IPv6 extension headers; `len8` is the header's length field (total = (len8 + 1) * 8).
  PacketBuilder& ipv6_hop_by_hop(uint8_t len8 = 0);
  PacketBuilder& ipv6_dest_options(uint8_t len8 = 0);
  PacketBuilder& ipv6_routing(uint8_t len8 = 0);
  PacketBuilder& ipv6_fragment(uint16_t offset8, bool more, uint32_t id);
  PacketBuilder& tcp(uint16_t sport, uint16_t dport, TcpOptions o = {});
  // `checksum` forces the UDP checksum (e.g. 0 for "none", as GUE over IPv4 sends).
  PacketBuilder& udp(uint16_t sport, uint16_t dport, std::optional<uint16_t> length = {},
                     std::optional<uint16_t> checksum = {});
  // ICMP / ICMPv6; `rest` is the 4 bytes after the checksum (id/seq, MTU, unused).
  PacketBuilder& icmp(uint8_t type, uint8_t code, uint32_t rest = 0);
  PacketBuilder& icmpv6(uint8_t type, uint8_t code, uint32_t rest = 0);
  PacketBuilder& payload(const Bytes& bytes);
  PacketBuilder& payload(size_t n, uint8_t first = 0);  // n bytes counting up from `first`

  Bytes build() const;

 private:
  enum class Kind : uint8_t { Eth, Vlan, Ipv4, Ipv6, Ext, Tcp, Udp, Icmp, Icmpv6, Raw };
  struct Layer {
    Kind kind;
    Bytes header;                      // serialised with placeholders
    std::optional<uint16_t> forced16;  // ethertype / udp length
    uint8_t ext_type = 0;              // IPv6 extension header type
    Ipv4Options v4;
    Ipv6Options v6;
    TcpOptions tcp;
    std::optional<uint16_t> forced_checksum;  // UDP
  };
  std::vector<Layer> layers_;
};

}  // namespace steer::testing
