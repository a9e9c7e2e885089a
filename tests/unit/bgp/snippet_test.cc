// The BIRD snippet steer writes (bgp/snippet.h): names, routes, attributes, disabled flags.
#include "bgp/snippet.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "common/file.h"

namespace steer::bgp {
namespace {

IpAddress ip(const char* s) { return *IpAddress::parse(s); }

TEST(BgpSnippet, UnitNamesAreBirdSymbolsMadeFromTheAddress) {
  EXPECT_EQ(unit_name("steer_", ip("192.0.2.10")), "steer_v4_192_0_2_10");
  EXPECT_EQ(unit_name("lb_", ip("2001:db8::10")), "lb_v6_2001_db8__10");
  EXPECT_EQ(drain_protocol("steer_v4_192_0_2_10"), "steer_v4_192_0_2_10_drain");
  EXPECT_EQ(group_unit_name("steer_", "edge_v4"), "steer_g_edge_v4");
  EXPECT_EQ(host_prefix(ip("192.0.2.10")), "192.0.2.10/32");
  EXPECT_EQ(host_prefix(ip("2001:db8::10")), "2001:db8::10/128");
}

TEST(BgpSnippet, EachAddressHasANormalAndADrainProtocolWithItsDecision) {
  RouteAttributes a;
  a.local_as = 65001;
  a.drain_prepend = 2;
  a.drain_communities = {"65001:666"};
  a.communities = {"65001:100"};
  const std::string text = render_snippet({SnippetUnit{"steer_v4_192_0_2_10",
                                                       IpPrefix::host(ip("192.0.2.10")),
                                                       "192.0.2.10",
                                                       {"web", "echo"},
                                                       true,
                                                       false},
                                           SnippetUnit{"steer_v6_2001_db8__10",
                                                       IpPrefix::host(ip("2001:db8::10")),
                                                       "2001:db8::10",
                                                       {"web6"},
                                                       false,
                                                       true},
                                           SnippetUnit{"steer_g_edge_v4",
                                                       *IpPrefix::parse("192.0.2.0/24"),
                                                       "group edge_v4",
                                                       {"web", "api"},
                                                       true,
                                                       false}},
                                          a, "steer_");
  EXPECT_NE(text.find("# 192.0.2.10 (web, echo)\n"
                      "protocol static steer_v4_192_0_2_10 {\n"
                      "  ipv4;\n"
                      "  route 192.0.2.10/32 blackhole { bgp_community.add((65001,100)); };\n"
                      "  disabled no;\n"
                      "}\n"
                      "protocol static steer_v4_192_0_2_10_drain {\n"
                      "  ipv4;\n"
                      "  route 192.0.2.10/32 blackhole { bgp_path.prepend(65001); "
                      "bgp_path.prepend(65001); bgp_community.add((65001,666)); "
                      "bgp_community.add((65001,100)); };\n"
                      "  disabled yes;\n"
                      "}\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("protocol static steer_v6_2001_db8__10 {\n"
                      "  ipv6;\n"
                      "  route 2001:db8::10/128 blackhole { bgp_community.add((65001,100)); };\n"
                      "  disabled yes;\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("protocol static steer_v6_2001_db8__10_drain {\n  ipv6;\n"),
            std::string::npos);
  EXPECT_NE(text.find("# group edge_v4 (web, api)\n"
                      "protocol static steer_g_edge_v4 {\n"
                      "  ipv4;\n"
                      "  route 192.0.2.0/24 blackhole { bgp_community.add((65001,100)); };\n"
                      "  disabled no;\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("export where proto ~ \"steer_*\""), std::string::npos);
}

TEST(BgpSnippet, RoutesWithoutAttributesHaveNoBlock) {
  const std::string text = render_snippet(
      {SnippetUnit{
          "s_v4_10_0_0_1", IpPrefix::host(ip("10.0.0.1")), "10.0.0.1", {"x"}, false, false}},
      {}, "s_");
  EXPECT_NE(text.find("  route 10.0.0.1/32 blackhole;\n  disabled yes;\n"), std::string::npos)
      << text;
}

// The snippet is written with common/file.h's atomic replacement.
TEST(BgpSnippet, WriteFileAtomicReplacesTheFile) {
  const std::string path = ::testing::TempDir() + "/steer-snippet-test.conf";
  ASSERT_TRUE(write_file_atomic(path, "one\n"));
  ASSERT_TRUE(write_file_atomic(path, "two\n"));
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), "two\n");
  std::remove(path.c_str());
  auto bad = write_file_atomic("/nonexistent-dir/x.conf", "x");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("cannot write /nonexistent-dir/x.conf: "), std::string::npos);
}

}  // namespace
}  // namespace steer::bgp
