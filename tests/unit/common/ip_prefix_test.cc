#include "common/ip_prefix.h"

#include <gtest/gtest.h>

namespace steer {
namespace {

IpAddress ip(const char* s) { return *IpAddress::parse(s); }

TEST(IpPrefix, ParsesBothFamiliesAndPrintsBack) {
  for (const char* s : {"192.0.2.0/24", "192.0.2.10/32", "0.0.0.0/0", "2001:db8::/48",
                        "2001:db8::10/128", "::/0"}) {
    auto p = IpPrefix::parse(s);
    ASSERT_TRUE(p) << s;
    EXPECT_EQ(p->to_string(), s);
  }
  EXPECT_EQ(IpPrefix::parse("192.0.2.0/24")->length, 24);
  EXPECT_TRUE(IpPrefix::parse("192.0.2.0/24")->is_v4());
}

TEST(IpPrefix, RejectsMalformedLengthsAndHostBits) {
  for (const char* s : {"192.0.2.0", "192.0.2.0/", "192.0.2.0/33", "192.0.2.1/24", "2001:db8::/129",
                        "2001:db8::1/64", "x/24", "192.0.2.0/24x", "192.0.2.0/-1", "/24"}) {
    EXPECT_FALSE(IpPrefix::parse(s)) << s;
  }
}

TEST(IpPrefix, ContainsItsAddressesOfTheSameFamilyOnly) {
  const IpPrefix p = *IpPrefix::parse("192.0.2.0/24");
  EXPECT_TRUE(p.contains(ip("192.0.2.0")));
  EXPECT_TRUE(p.contains(ip("192.0.2.255")));
  EXPECT_FALSE(p.contains(ip("192.0.3.0")));
  EXPECT_FALSE(p.contains(ip("::ffff:192.0.3.1")));
  EXPECT_FALSE(p.contains(ip("2001:db8::1")));
  const IpPrefix q = *IpPrefix::parse("2001:db8::/32");
  EXPECT_TRUE(q.contains(ip("2001:db8:ffff::1")));
  EXPECT_FALSE(q.contains(ip("2001:db9::1")));
  EXPECT_FALSE(q.contains(ip("192.0.2.1")));
  EXPECT_TRUE(IpPrefix::parse("0.0.0.0/0")->contains(ip("10.1.2.3")));
  EXPECT_FALSE(IpPrefix::parse("0.0.0.0/0")->contains(ip("::1")));
  EXPECT_EQ(IpPrefix::host(ip("192.0.2.10")).to_string(), "192.0.2.10/32");
  EXPECT_EQ(IpPrefix::host(ip("2001:db8::10")).to_string(), "2001:db8::10/128");
}

}  // namespace
}  // namespace steer
