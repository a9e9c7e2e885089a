#include "common/vip_key.h"

#include <gtest/gtest.h>

namespace steer {
namespace {

IpAddress ip(const char* s) { return *IpAddress::parse(s); }

TEST(VipKey, TextForms) {
  EXPECT_EQ((VipKey{ip("192.0.2.10"), L4Proto::Tcp, 80}).to_string(), "192.0.2.10:80/tcp");
  EXPECT_EQ((VipKey{ip("192.0.2.10"), L4Proto::Udp, 0}).to_string(), "192.0.2.10:*/udp");
  EXPECT_EQ((VipKey{ip("2001:db8::10"), L4Proto::Tcp, 443}).to_string(), "[2001:db8::10]:443/tcp");
  EXPECT_EQ((VipKey{ip("2001:db8::10"), L4Proto::Udp, 0}).to_string(), "[2001:db8::10]:*/udp");
  EXPECT_EQ(fmt::format("{:>20}|", VipKey{ip("10.0.0.1"), L4Proto::Udp, 53}),
            "     10.0.0.1:53/udp|");
}

TEST(VipKey, ParseIsTheInverseOfToString) {
  for (const VipKey& k :
       {VipKey{ip("192.0.2.10"), L4Proto::Tcp, 80}, VipKey{ip("192.0.2.10"), L4Proto::Udp, 0},
        VipKey{ip("0.0.0.0"), L4Proto::Tcp, 65535}, VipKey{ip("2001:db8::10"), L4Proto::Tcp, 1},
        VipKey{ip("2001:db8::10"), L4Proto::Udp, 0}, VipKey{ip("::"), L4Proto::Udp, 53}}) {
    auto back = VipKey::parse(k.to_string());
    ASSERT_TRUE(back) << k.to_string();
    EXPECT_EQ(*back, k) << k.to_string();
  }
}

TEST(VipKey, ParseRejectsAnythingElse) {
  for (const char* bad : {"",
                          "192.0.2.10",
                          "192.0.2.10:80",
                          "192.0.2.10/tcp",
                          "192.0.2.10:80/",
                          "192.0.2.10:80/sctp",
                          "192.0.2.10:80/TCP",
                          "192.0.2.10:0/tcp",
                          "192.0.2.10:65536/tcp",
                          "192.0.2.10:-1/tcp",
                          "192.0.2.10:+80/tcp",
                          "192.0.2.10: 80/tcp",
                          "192.0.2.10:8x/tcp",
                          "192.0.2.10:/tcp",
                          "192.0.2.10:**/tcp",
                          "192.0.2:80/tcp",
                          ":80/tcp",
                          "2001:db8::10:80/tcp",  // IPv6 without brackets
                          "[192.0.2.10]:80/tcp",  // IPv4 in brackets
                          "[2001:db8::10:80/tcp",
                          "2001:db8::10]:80/tcp",
                          "[]:80/tcp",
                          "[2001:db8::10]/tcp",
                          "192.0.2.10:80/tcp/udp"}) {
    EXPECT_FALSE(VipKey::parse(bad)) << bad;
  }
}

// Address first, then protocol, then port: the dataplane's canonical VIP order, which its
// stats keep and StatsIndex and the snapshot's id bookkeeping sort by.
TEST(VipKey, OrdersByAddressProtocolPort) {
  const VipKey a{ip("192.0.2.10"), L4Proto::Udp, 1};
  const VipKey b{ip("192.0.2.11"), L4Proto::Tcp, 0};
  const VipKey c{ip("192.0.2.11"), L4Proto::Udp, 0};
  const VipKey d{ip("192.0.2.11"), L4Proto::Udp, 53};
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_LT(c, d);
}

TEST(L4Proto, NamesNumbersAndParse) {
  EXPECT_EQ(l4_proto_name(L4Proto::Tcp), "tcp");
  EXPECT_EQ(l4_proto_name(L4Proto::Udp), "udp");
  EXPECT_EQ(fmt::format("{}", L4Proto::Udp), "udp");
  EXPECT_EQ(ip_proto_number(L4Proto::Tcp), 6);
  EXPECT_EQ(ip_proto_number(L4Proto::Udp), 17);
  EXPECT_EQ(parse_l4_proto("tcp"), L4Proto::Tcp);
  EXPECT_EQ(parse_l4_proto("udp"), L4Proto::Udp);
  EXPECT_FALSE(parse_l4_proto("icmp"));
  EXPECT_FALSE(parse_l4_proto("Tcp"));
  EXPECT_FALSE(parse_l4_proto(""));
  EXPECT_EQ(l4_proto_of(6), L4Proto::Tcp);
  EXPECT_EQ(l4_proto_of(17), L4Proto::Udp);
  EXPECT_FALSE(l4_proto_of(1));
  EXPECT_FALSE(l4_proto_of(0));
}

TEST(L4Proto, AnyIpProtocolHasAName) {
  EXPECT_EQ(ip_proto_name(1), "icmp");
  EXPECT_EQ(ip_proto_name(6), "tcp");
  EXPECT_EQ(ip_proto_name(17), "udp");
  EXPECT_EQ(ip_proto_name(58), "icmpv6");
  EXPECT_EQ(ip_proto_name(47), "47");
  EXPECT_EQ(ip_proto_name(0), "0");
}

TEST(VipKey, AddressForPortBracketsIpv6Only) {
  EXPECT_EQ(address_for_port(ip("10.0.0.1")), "10.0.0.1");
  EXPECT_EQ(address_for_port(ip("2001:db8::1")), "[2001:db8::1]");
}

}  // namespace
}  // namespace steer
