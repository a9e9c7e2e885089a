#include "dataplane/packet/vip_table.h"

#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace steer::dataplane {
namespace {

constexpr uint8_t kTcp = 6;
constexpr uint8_t kUdp = 17;

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

FlowKey to(const char* dst, uint8_t proto, uint16_t dst_port) {
  return FlowKey::make(ip("198.51.100.7"), ip(dst), 40000, dst_port, proto);
}

VipTable build_ok(const std::vector<VipTableEntry>& entries) {
  auto t = VipTable::build(entries);
  EXPECT_TRUE(t.has_value()) << t.error().message;
  return t.has_value() ? std::move(*t) : VipTable();
}

// An empty table (default or built from nothing) answers kNoVip to everything.
TEST(VipTable, EmptyTableFindsNothing) {
  const VipTable empty;
  EXPECT_EQ(empty.lookup(to("10.0.0.1", kTcp, 80)), kNoVip);
  EXPECT_EQ(empty.lookup_address(ip("10.0.0.1").data()), kNoVip);
  const VipTable built = build_ok({});
  EXPECT_EQ(built.size(), 0u);
  EXPECT_EQ(built.lookup(to("10.0.0.1", kTcp, 80)), kNoVip);
}

// A VIP is found by its exact (address, proto, port); other ports of that address miss.
TEST(VipTable, ExactPortMatches) {
  const VipTable t = build_ok({{ip("10.0.0.1"), kTcp, 80, 3}});
  EXPECT_EQ(t.lookup(to("10.0.0.1", kTcp, 80)), 3u);
  EXPECT_EQ(t.lookup(to("10.0.0.1", kTcp, 81)), kNoVip);
  EXPECT_EQ(t.lookup(to("10.0.0.2", kTcp, 80)), kNoVip);
}

// The exact-port VIP wins over an all-ports VIP on the same address and protocol.
TEST(VipTable, ExactMatchBeatsAllPorts) {
  const VipTable t = build_ok({{ip("10.0.0.1"), kTcp, 0, 1}, {ip("10.0.0.1"), kTcp, 443, 2}});
  EXPECT_EQ(t.lookup(to("10.0.0.1", kTcp, 443)), 2u);
  EXPECT_EQ(t.lookup(to("10.0.0.1", kTcp, 80)), 1u);
}

// An all-ports VIP takes every port, including 0 and 65535.
TEST(VipTable, AllPortsMatchesAnyPort) {
  const VipTable t = build_ok({{ip("10.0.0.1"), kUdp, 0, 9}});
  for (uint16_t port : {0, 1, 53, 443, 8080, 65535}) {
    EXPECT_EQ(t.lookup(to("10.0.0.1", kUdp, port)), 9u) << port;
  }
  EXPECT_EQ(t.lookup(to("10.0.0.1", kTcp, 53)), kNoVip);
}

// TCP and UDP on the same address and port are different VIPs; other protocols miss.
TEST(VipTable, ProtocolDistinguishesVips) {
  const VipTable t = build_ok({{ip("10.0.0.1"), kTcp, 53, 1}, {ip("10.0.0.1"), kUdp, 53, 2}});
  EXPECT_EQ(t.lookup(to("10.0.0.1", kTcp, 53)), 1u);
  EXPECT_EQ(t.lookup(to("10.0.0.1", kUdp, 53)), 2u);
  EXPECT_EQ(t.lookup(to("10.0.0.1", 1, 53)), kNoVip);
  EXPECT_EQ(t.lookup(to("10.0.0.1", 132, 53)), kNoVip);
}

// IPv4 and IPv6 VIPs coexist; an IPv4 address is not confused with a look-alike IPv6 one.
TEST(VipTable, Ipv4AndIpv6AreDistinct) {
  const VipTable t = build_ok({{ip("192.0.2.10"), kTcp, 80, 1},
                               {ip("2001:db8::10"), kTcp, 80, 2},
                               {ip("::c000:20a"), kTcp, 80, 3}});  // IPv4-compatible form
  EXPECT_EQ(t.lookup(to("192.0.2.10", kTcp, 80)), 1u);
  EXPECT_EQ(t.lookup(to("2001:db8::10", kTcp, 80)), 2u);
  EXPECT_EQ(t.lookup(to("::c000:20a", kTcp, 80)), 3u);
  EXPECT_EQ(t.lookup(to("::ffff:192.0.2.10", kTcp, 80)), 1u);  // the canonical IPv4 form
  EXPECT_EQ(t.lookup(to("2001:db8::11", kTcp, 80)), kNoVip);
}

// The port is read in network order from the key, as the parser leaves it.
TEST(VipTable, PortIsReadInNetworkOrder) {
  const VipTable t = build_ok({{ip("10.0.0.1"), kTcp, 0x0150, 1}});  // 336
  FlowKey k = to("10.0.0.1", kTcp, 0x0150);
  EXPECT_EQ(k.dst_port_be, 0x5001);
  EXPECT_EQ(t.lookup(k), 1u);
  EXPECT_EQ(t.lookup(to("10.0.0.1", kTcp, 0x5001)), kNoVip);
}

// Only the destination side of the key matters.
TEST(VipTable, SourceAddressAndPortAreIgnored) {
  const VipTable t = build_ok({{ip("10.0.0.1"), kTcp, 80, 4}});
  EXPECT_EQ(t.lookup(FlowKey::make(ip("2001:db8::1"), ip("10.0.0.1"), 1, 80, kTcp)), 4u);
  EXPECT_EQ(t.lookup(FlowKey::make(ip("10.0.0.1"), ip("10.0.0.9"), 80, 80, kTcp)), kNoVip);
}

// Two entries with the same (address, proto, port) are rejected with a message naming them.
TEST(VipTable, DuplicateIsRejected) {
  const std::vector<VipTableEntry> entries = {
      {ip("10.0.0.1"), kTcp, 80, 1}, {ip("10.0.0.2"), kTcp, 80, 2}, {ip("10.0.0.1"), kTcp, 80, 3}};
  auto t = VipTable::build(entries);
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().message, "duplicate VIP 10.0.0.1 proto 6 port 80");
}

// Duplicate all-ports VIPs are rejected too.
TEST(VipTable, DuplicateAllPortsIsRejected) {
  const std::vector<VipTableEntry> entries = {{ip("2001:db8::1"), kUdp, 0, 1},
                                              {ip("2001:db8::1"), kUdp, 0, 2}};
  EXPECT_FALSE(VipTable::build(entries).has_value());
}

// Protocols other than TCP and UDP, and the reserved index kNoVip, are rejected.
TEST(VipTable, InvalidEntriesAreRejected) {
  const std::vector<VipTableEntry> icmp = {{ip("10.0.0.1"), 1, 0, 1}};
  auto a = VipTable::build(icmp);
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(a.error().message, "VIP 10.0.0.1 port 0: protocol 1 is neither TCP (6) nor UDP (17)");
  const std::vector<VipTableEntry> reserved = {{ip("10.0.0.1"), kTcp, 80, kNoVip}};
  EXPECT_FALSE(VipTable::build(reserved).has_value());
}

// Thousands of VIPs (IPv4 and IPv6, mixed ports) are all found, and near misses are not.
TEST(VipTable, ManyEntriesAreAllFound) {
  std::vector<VipTableEntry> entries;
  for (uint32_t i = 0; i < 3000; ++i) {
    const IpAddress a = (i % 2 == 0) ? IpAddress::from_v4_host(0x0a000000 + i / 4)
                                     : *IpAddress::parse(fmt::format("2001:db8::{:x}", i / 4));
    const uint8_t proto = (i % 4 < 2) ? kTcp : kUdp;
    entries.push_back({a, proto, uint16_t(i % 5 == 0 ? 0 : 1000 + i), i});
  }
  const VipTable t = build_ok(entries);
  EXPECT_EQ(t.size(), 3000u);
  EXPECT_LE(t.max_probe_length(), 16u);  // the hash spreads mapped IPv4 and IPv6 keys alike
  for (const VipTableEntry& e : entries) {
    const FlowKey k = FlowKey::make(ip("203.0.113.1"), e.address, 5555, e.port, e.proto);
    EXPECT_EQ(t.lookup(k), e.vip_index)
        << e.address.to_string() << " " << int(e.proto) << " " << e.port;
    if (e.port != 0) {
      // A port nobody configured on that address misses unless an all-ports VIP covers it.
      const FlowKey other = FlowKey::make(ip("203.0.113.1"), e.address, 5555, 999, e.proto);
      const uint32_t got = t.lookup(other);
      EXPECT_TRUE(got == kNoVip || entries[got].port == 0) << e.address.to_string();
    }
  }
  EXPECT_EQ(t.lookup(to("10.0.100.0", kTcp, 1000)), kNoVip);
}

// lookup_address finds any VIP on the address, answering with the lowest vip_index.
TEST(VipTable, LookupAddressAnswersLowestIndex) {
  const VipTable t = build_ok({{ip("10.0.0.1"), kTcp, 80, 7},
                               {ip("10.0.0.1"), kUdp, 0, 4},
                               {ip("10.0.0.1"), kTcp, 443, 5},
                               {ip("2001:db8::1"), kUdp, 53, 2}});
  EXPECT_EQ(t.lookup_address(ip("10.0.0.1").data()), 4u);
  EXPECT_EQ(t.lookup_address(ip("2001:db8::1").data()), 2u);
  EXPECT_EQ(t.lookup_address(ip("10.0.0.2").data()), kNoVip);
  EXPECT_EQ(t.lookup_address(ip("2001:db8::2").data()), kNoVip);
}

// For a port-less packet (a fragment), the all-ports VIP of (address, proto) wins, else the
// lowest index among that address's VIPs of that protocol.
TEST(VipTable, LookupAnyPortPrefersAllPortsThenLowestIndex) {
  const VipTable t = build_ok({{ip("10.0.0.1"), kTcp, 443, 8},
                               {ip("10.0.0.1"), kTcp, 80, 6},
                               {ip("10.0.0.1"), kUdp, 53, 1},
                               {ip("10.0.0.1"), kUdp, 0, 9},
                               {ip("2001:db8::1"), kTcp, 22, 3}});
  EXPECT_EQ(t.lookup_any_port(ip("10.0.0.1").data(), kTcp), 6u);
  EXPECT_EQ(t.lookup_any_port(ip("10.0.0.1").data(), kUdp), 9u);
  EXPECT_EQ(t.lookup_any_port(ip("2001:db8::1").data(), kTcp), 3u);
  EXPECT_EQ(t.lookup_any_port(ip("2001:db8::1").data(), kUdp), kNoVip);
  EXPECT_EQ(t.lookup_any_port(ip("10.0.0.1").data(), 1), kNoVip);
  EXPECT_EQ(t.lookup_any_port(ip("10.0.0.2").data(), kTcp), kNoVip);
  EXPECT_EQ(t.lookup_address(ip("10.0.0.1").data()), 1u);
}

}  // namespace
}  // namespace steer::dataplane
