#include "common/ip_address.h"

#include <gtest/gtest.h>

#include "common/flow_key.h"

namespace steer {
namespace {

// IPv4 parses into the IPv4-mapped form and prints back unchanged.
TEST(IpAddress, Ipv4RoundTripsThroughMappedForm) {
  auto a = IpAddress::parse("192.0.2.10");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->is_v4());
  EXPECT_EQ(a->v4_host(), 0xc000020au);
  EXPECT_EQ(a->bytes()[10], 0xff);
  EXPECT_EQ(a->bytes()[11], 0xff);
  EXPECT_EQ(a->to_string(), "192.0.2.10");
  EXPECT_EQ(fmt::format("{}", *a), "192.0.2.10");
  EXPECT_EQ(*a, IpAddress::from_v4_host(0xc000020a));
}

// IPv6 parses, is not mistaken for IPv4, and prints in canonical compressed form.
TEST(IpAddress, Ipv6RoundTrips) {
  auto a = IpAddress::parse("2001:db8:0:0::1");
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->is_v4());
  EXPECT_EQ(a->to_string(), "2001:db8::1");
}

// Garbage, empty strings and over-long input are rejected rather than misread.
TEST(IpAddress, RejectsInvalidText) {
  for (const char* bad : {"", "1.2.3", "1.2.3.256", "2001:db8::g", "example.com", "1.2.3.4/24",
                          "::1::2", "0123456789012345678901234567890123456789012345678"}) {
    EXPECT_FALSE(IpAddress::parse(bad)) << bad;
  }
}

// Addresses order bytewise, which is what makes Maglev's sorted build order-independent.
TEST(IpAddress, OrdersBytewise) {
  EXPECT_LT(*IpAddress::parse("192.0.2.1"), *IpAddress::parse("192.0.2.2"));
  EXPECT_LT(*IpAddress::parse("::1"), *IpAddress::parse("192.0.2.1"));
}

// FlowKey keeps ports in network order, as in the packet, and reads them back in host order.
TEST(FlowKey, StoresPortsInNetworkOrder) {
  auto k = FlowKey::make(*IpAddress::parse("198.51.100.7"), *IpAddress::parse("192.0.2.10"), 0x1234,
                         80, 6);
  const auto* raw = reinterpret_cast<const uint8_t*>(&k.src_port_be);
  EXPECT_EQ(raw[0], 0x12);
  EXPECT_EQ(raw[1], 0x34);
  EXPECT_EQ(k.src_port(), 0x1234);
  EXPECT_EQ(k.dst_port(), 80);
  EXPECT_EQ(k.src_addr().to_string(), "198.51.100.7");
  EXPECT_EQ(k.pad[0] | k.pad[1] | k.pad[2], 0);
}

}  // namespace
}  // namespace steer
