#include "dataplane/config.h"

#include <gtest/gtest.h>

namespace steer::dataplane {
namespace {

TEST(DataplaneConfig, ParsesAFullFile) {
  auto c = parse_dataplane_config(R"(
[api]
socket = "/tmp/dp.sock"
mode = "0600"
[dataplane]
flow_table_size = 4096
idle_sleep_us = 100
[[port]]
vdev = "net_af_xdp0,iface=lb0,start_queue=0"
[[port]]
name = "net_pcap0"
queues = 2
mtu = 9000
[egress]
mtu = 1600
gateway = "10.0.1.1"
source_v4 = "10.0.1.2"
source_v4_hash_bits = 4
source_v6 = "fd00::2"
)",
                                  "t.toml");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->api_socket, "/tmp/dp.sock");
  EXPECT_EQ(c->api_socket_mode, 0600u);
  EXPECT_EQ(c->flow_table_size, 4096u);
  EXPECT_EQ(c->idle_sleep_us, 100u);
  ASSERT_EQ(c->ports.size(), 2u);
  EXPECT_EQ(c->ports[0].device_name(), "net_af_xdp0");
  EXPECT_EQ(c->ports[0].af_xdp_iface(), "lb0");
  EXPECT_EQ(c->ports[1].device_name(), "net_pcap0");
  EXPECT_EQ(c->ports[1].af_xdp_iface(), "");
  EXPECT_EQ(c->ports[1].queues, 2u);
  EXPECT_EQ(c->ports[0].mtu, 0u);  // the device's default
  EXPECT_EQ(c->ports[1].mtu, 9000u);
  EXPECT_EQ(c->egress.mtu, 1600);
  EXPECT_EQ(c->egress.gateway->to_string(), "10.0.1.1");
  EXPECT_EQ(c->egress.source_v4_hash_bits, 4);
  EXPECT_EQ(c->egress.source_v6->to_string(), "fd00::2");
}

TEST(DataplaneConfig, ErrorsCarryFileLineColumn) {
  struct Case {
    const char* text;
    const char* expect;
  } cases[] = {
      {"[api\n", "t.toml:1:"},
      {"[[port]]\nname = \"x\"\n[egress]\ngateway = \"1.2.3\"\n",
       "t.toml:4:11: 'egress.gateway' must be an IPv4 or IPv6 address"},
      {"[[port]]\nname = \"x\"\n[egress]\ngateway_mac = \"zz\"\n", "'egress.gateway_mac'"},
      {"[[port]]\nname = \"x\"\n[egress]\ngateway = \"1.2.3.4\"\nsource_v4 = \"fd00::1\"\n",
       "'egress.source_v4' must be an IPv4 address"},
      {"[[port]]\nname = \"x\"\nvdev = \"y\"\n[egress]\ngateway = \"1.2.3.4\"\n",
       "exactly one of vdev, pci, name"},
      {"[egress]\ngateway = \"1.2.3.4\"\n", "no [[port]] configured"},
      {"[[port]]\nname = \"x\"\n", "[egress] needs gateway"},
      {"[[port]]\nname = \"x\"\n[dataplane]\nflow_table_size = 1000\n[egress]\ngateway = "
       "\"1.2.3.4\"\n",
       "t.toml:4:19: 'dataplane.flow_table_size' must be a power of two"},
      {"[[port]]\nname = \"x\"\ncolour = 1\n[egress]\ngateway = \"1.2.3.4\"\n",
       "t.toml:3:10: unknown key 'port.colour'"},
      {"[api]\nmode = \"0999\"\n", "'api.mode' must be an octal mode"},
      {"[[port]]\nname = \"x\"\nmtu = 1000\n[egress]\ngateway = \"1.2.3.4\"\n",
       "t.toml:1:1: [[port]] mtu 1000 is below 1280"},
      {"[[port]]\nname = \"x\"\nmtu = 20000\n[egress]\ngateway = \"1.2.3.4\"\n",
       "t.toml:3:7: 'port.mtu' must be an integer 0..16000"},
  };
  for (const Case& c : cases) {
    auto r = parse_dataplane_config(c.text, "t.toml");
    ASSERT_FALSE(r) << c.text;
    EXPECT_NE(r.error().message.find(c.expect), std::string::npos)
        << c.text << " -> " << r.error().message;
  }
}

TEST(DataplaneConfig, MacRoundTrip) {
  auto m = parse_mac("02:00:0a:FF:00:01");
  ASSERT_TRUE(m);
  EXPECT_EQ(format_mac(*m), "02:00:0a:ff:00:01");
  EXPECT_FALSE(parse_mac("02:00:0a:ff:00"));
  EXPECT_FALSE(parse_mac("02:00:0a:ff:00:01:02"));
  EXPECT_FALSE(parse_mac("02:00:0a:ff:00:1x"));
  EXPECT_FALSE(parse_mac("002:00:0a:ff:00:01"));
  EXPECT_FALSE(parse_mac("02-00-0a-ff-00-01"));
}

}  // namespace
}  // namespace steer::dataplane
