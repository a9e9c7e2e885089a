#include "control/config/config.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "testing/support/config_errors.h"

namespace steer::control {
namespace {

// Joins lines with '\n', so a test reads line numbers off its own source.
std::string lines(std::initializer_list<std::string_view> ls) {
  std::string out;
  for (std::string_view l : ls) {
    out += l;
    out += '\n';
  }
  return out;
}

IpAddress ip(std::string_view text) { return *IpAddress::parse(text); }

// A VIP header with the required keys (lines 1-4); tests append their own lines.
constexpr std::string_view kVip[] = {"[[vip]]", "name = \"web\"", "address = \"192.0.2.1\"",
                                     "port = 80"};

std::string vip_with(std::initializer_list<std::string_view> more) {
  std::string out;
  for (std::string_view l : kVip) out += std::string(l) + "\n";
  for (std::string_view l : more) out += std::string(l) + "\n";
  return out;
}

std::vector<ConfigError> errors_in(const std::string& text) {
  auto r = parse_config(text, "t.toml");
  if (r) return {};
  return r.error();
}

// Exactly one error, at `where`, whose message contains `message` and hint contains `hint`.
::testing::AssertionResult one_error(const std::string& text, std::string_view where,
                                     std::string_view message, std::string_view hint = {}) {
  return test::exactly_one_error(errors_in(text), where, message, hint);
}

::testing::AssertionResult parses(const std::string& text) {
  auto r = parse_config(text, "t.toml");
  if (r) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << format_errors(r.error());
}

// --- whole files -----------------------------------------------------------------------------

// The example shipped in examples/steerd.toml (and docs/configuration.md) parses as documented.
TEST(ControlConfig, ShippedExampleParsesToItsDocumentedValues) {
  const char* root = std::getenv("STEER_SOURCE_ROOT");  // NOLINT(concurrency-mt-unsafe)
  ASSERT_NE(root, nullptr) << "STEER_SOURCE_ROOT is not set (meson test sets it)";
  auto c = load_config(std::string(root) + "/examples/steerd.toml");
  ASSERT_TRUE(c) << format_errors(c.error());
  EXPECT_EQ(c->pop_name, "ams1");
  EXPECT_EQ(c->pop_region, "eu-west");
  EXPECT_EQ(c->cli_group, "steer");
  EXPECT_EQ(c->cli_mode, 0660u);
  ASSERT_TRUE(c->bgp.has_value());
  EXPECT_EQ(c->bgp->snippet, "/etc/bird/steer.conf");
  EXPECT_EQ(c->bgp->attributes.local_as, 65001u);
  EXPECT_EQ(c->bgp->attributes.drain_communities, (std::vector<std::string>{"65001:666"}));
  ASSERT_EQ(c->bgp->groups.size(), 1u);
  EXPECT_EQ(c->bgp->groups[0].prefix.to_string(), "192.0.2.0/24");
  EXPECT_EQ(c->bgp->groups[0].vips, (std::vector<std::string>{"web"}));
  ASSERT_EQ(c->checks.size(), 2u);
  const CheckConfig& http = c->checks.at("web-http");
  EXPECT_EQ(http.type, CheckType::Http);
  EXPECT_EQ(http.port, 8080);
  EXPECT_EQ(http.path, "/healthz");
  EXPECT_EQ(http.host, "www.example.com");
  EXPECT_EQ(http.expect_status, (std::vector<uint16_t>{200, 204}));
  const CheckConfig& tcp = c->checks.at("tcp-connect");
  EXPECT_EQ(tcp.type, CheckType::Tcp);
  EXPECT_EQ(tcp.interval_ms, 2000u);
  EXPECT_DOUBLE_EQ(tcp.jitter, 0.2);

  ASSERT_EQ(c->vips.size(), 2u);
  const VipConfig& web = c->vips[0];
  EXPECT_EQ(web.name, "web");
  EXPECT_EQ(web.address, ip("192.0.2.10"));
  EXPECT_EQ(web.port, 80);
  EXPECT_TRUE(web.min_healthy.is_fraction);
  EXPECT_DOUBLE_EQ(web.min_healthy.fraction, 0.5);
  ASSERT_EQ(web.backends.size(), 3u);
  EXPECT_EQ(web.backends[1].weight, 2u);
  EXPECT_EQ(web.backends[2].weight, 0u);
  for (const BackendConfig& b : web.backends) EXPECT_EQ(b.check, "web-http");

  const VipConfig& api = c->vips[1];
  EXPECT_EQ(api.name, "api-v6");
  EXPECT_EQ(api.address, ip("2001:db8::10"));
  EXPECT_EQ(api.encap, "gue");
  EXPECT_EQ(api.hash, "3-tuple");
  ASSERT_EQ(api.backends.size(), 2u);
  EXPECT_EQ(api.backends[0].check, "tcp-connect");
  EXPECT_EQ(api.backends[1].address, ip("10.0.1.22"));
  EXPECT_EQ(api.backends[1].check, "web-http");
}

// docs/configuration.md opens with the same example, so the documented one is the tested one.
TEST(ControlConfig, DocumentedExampleIsTheShippedExample) {
  const char* root = std::getenv("STEER_SOURCE_ROOT");  // NOLINT(concurrency-mt-unsafe)
  ASSERT_NE(root, nullptr) << "STEER_SOURCE_ROOT is not set (meson test sets it)";
  auto read = [](const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  const std::string example = read(std::string(root) + "/examples/steerd.toml");
  const std::string doc = read(std::string(root) + "/docs/configuration.md");
  ASSERT_FALSE(example.empty());
  const size_t start = doc.find("```toml\n");
  ASSERT_NE(start, std::string::npos);
  const size_t body = start + 8;
  const size_t end = doc.find("```", body);
  ASSERT_NE(end, std::string::npos);
  EXPECT_EQ(doc.substr(body, end - body), example);
}

// Every key of the file, each away from its default, lands in the Config.
TEST(ControlConfig, FullFileParsesToExpectedValues) {
  auto c = parse_config(R"(
[pop]
name = "fra2"
region = "eu-central"
[dataplane]
socket = "/tmp/dp.sock"
push_interval_ms = 20
status_interval_ms = 200
stuck_after_ms = 3000
[cli]
socket = "/tmp/steerd.sock"
group = "ops"
mode = "0600"
[metrics]
listen = "[::1]:9700"
[state]
dir = "/tmp/state"
[warmup]
max_ms = 0
[check.h]
type = "https"
port = 8443
interval_ms = 2000
timeout_ms = 700
rise = 4
fall = 5
fast_interval_ms = 100
jitter = 0
path = "/ready?x=1"
host = "svc.internal"
expect_status = [200, 301]
body_contains = "OK"
tls_verify = true
[check.u]
type = "udp"
port = 53
payload_hex = "00ff41"
expect = "pong"
[check.d]
type = "dns"
port = 53
query = "health.example.com."
qtype = "AAAA"
expect_rcode = "NXDOMAIN"
expect_answer = "2001:db8::1"
[[vip]]
name = "dns-v4"
address = "192.0.2.53"
protocol = "udp"
port = 53
table_size = 251
encap = "gue"
gue_port = 7000
hash = "source"
echo = false
min_healthy = 2
check = "d"
  [[vip.backend]]
  address = "10.0.0.1"
  weight = 7
  [[vip.backend]]
  address = "10.0.0.2"
  check = "u"
[bgp]
socket = "/run/bird/bird.ctl"
snippet = "/etc/bird/steer.conf"
protocol_prefix = "lb_"
local_as = 65001
announce = "any"
announce_hold_ms = 3000
min_interval_ms = 1500
reconcile_ms = 250
request_timeout_ms = 900
drain_ms = 60000
drain_prepend = 2
drain_communities = ["65001:666", "0:1"]
communities = ["65001:100"]
valve_share = 0.25
valve_window_ms = 120000
[dns]
listen = ["127.0.0.1:5353"]
[[dns.pop]]
name = "fra2"
region = "eu-central"
latitude = 50.1
longitude = 8.7
[[dns.zone]]
name = "lb.example.com."
ns = ["ns1"]
soa = { rname = "hostmaster" }
records = [{ name = "ns1", type = "A", data = "192.0.2.53" }]
[[dns.service]]
name = "dns"
  [[dns.service.pop]]
  pop = "fra2"
  vips = ["dns-v4"]
)",
                        "t.toml");
  ASSERT_TRUE(c) << format_errors(c.error());
  EXPECT_EQ(c->pop_name, "fra2");
  EXPECT_EQ(c->pop_region, "eu-central");
  EXPECT_EQ(c->dataplane_socket, "/tmp/dp.sock");
  EXPECT_EQ(c->push_interval_ms, 20u);
  EXPECT_EQ(c->status_interval_ms, 200u);
  EXPECT_EQ(c->stuck_after_ms, 3000u);
  EXPECT_EQ(c->cli_socket, "/tmp/steerd.sock");
  EXPECT_EQ(c->cli_group, "ops");
  EXPECT_EQ(c->cli_mode, 0600u);
  EXPECT_EQ(c->metrics_listen, "[::1]:9700");
  EXPECT_EQ(c->state_dir, "/tmp/state");
  EXPECT_EQ(c->warmup_max_ms, 0u);

  CheckConfig h;
  h.name = "h";
  h.type = CheckType::Https;
  h.port = 8443;
  h.interval_ms = 2000;
  h.timeout_ms = 700;
  h.rise = 4;
  h.fall = 5;
  h.fast_interval_ms = 100;
  h.jitter = 0;
  h.path = "/ready?x=1";
  h.host = "svc.internal";
  h.expect_status = {200, 301};
  h.body_contains = "OK";
  h.tls_verify = true;
  EXPECT_EQ(c->checks.at("h"), h);

  const CheckConfig& u = c->checks.at("u");
  EXPECT_EQ(u.type, CheckType::Udp);
  EXPECT_EQ(u.payload, std::string("\x00\xff\x41", 3));
  EXPECT_EQ(u.expect, "pong");

  const CheckConfig& d = c->checks.at("d");
  EXPECT_EQ(d.type, CheckType::Dns);
  EXPECT_EQ(d.query, "health.example.com.");
  EXPECT_EQ(d.qtype, 28);
  EXPECT_EQ(d.expect_rcode, 3);
  EXPECT_EQ(d.expect_answer, "2001:db8::1");

  ASSERT_EQ(c->vips.size(), 1u);
  VipConfig v;
  v.name = "dns-v4";
  v.address = ip("192.0.2.53");
  v.proto = L4Proto::Udp;
  v.port = 53;
  v.table_size = 251;
  v.encap = "gue";
  v.gue_port = 7000;
  v.hash = "source";
  v.echo = false;
  v.min_healthy = MinHealthy{.is_fraction = false, .count = 2, .fraction = 0};
  v.check = "d";
  v.backends = {{ip("10.0.0.1"), 7, "d"}, {ip("10.0.0.2"), 1, "u"}};
  EXPECT_EQ(c->vips[0], v);

  using std::chrono::milliseconds;
  bgp::BgpConfig bgp;
  bgp.socket = "/run/bird/bird.ctl";
  bgp.snippet = "/etc/bird/steer.conf";
  bgp.protocol_prefix = "lb_";
  bgp.attributes.local_as = 65001;
  bgp.announce_all = false;
  bgp.policy.announce_hold = milliseconds(3000);
  bgp.policy.min_interval = milliseconds(1500);
  bgp.reconcile = milliseconds(250);
  bgp.request_timeout = milliseconds(900);
  bgp.policy.drain = milliseconds(60000);
  bgp.attributes.drain_prepend = 2;
  bgp.attributes.drain_communities = {"65001:666", "0:1"};
  bgp.attributes.communities = {"65001:100"};
  bgp.policy.valve_share = 0.25;
  bgp.policy.valve_window = milliseconds(120000);
  EXPECT_EQ(c->bgp, bgp);
  // [dns] is read by dns/config.cc (tests/unit/dns/config_test.cc has its rules): it sees the
  // [pop] name and the VIPs parsed here.
  ASSERT_TRUE(c->dns.has_value());
  ASSERT_EQ(c->dns->services.size(), 1u);
  EXPECT_EQ(c->dns->services[0].owner.text(), "dns.lb.example.com.");
  EXPECT_EQ(c->dns->services[0].pops[0].vips, std::vector<std::string>{"dns-v4"});
}

// An empty file is a valid configuration with the documented defaults.
TEST(ControlConfig, EmptyFileGivesDefaults) {
  auto c = parse_config("", "t.toml");
  ASSERT_TRUE(c) << format_errors(c.error());
  EXPECT_EQ(*c, Config{});
  EXPECT_EQ(c->dataplane_socket, "/run/steer/dataplane.sock");
  EXPECT_EQ(c->cli_mode, 0660u);
  EXPECT_EQ(c->metrics_listen, "127.0.0.1:9610");
  EXPECT_EQ(c->warmup_max_ms, 5000u);
  EXPECT_FALSE(c->bgp.has_value());
}

// A VIP with only its required keys gets every default of the contract.
TEST(ControlConfig, VipAndCheckDefaults) {
  auto c = parse_config(vip_with({"  [[vip.backend]]", "  address = \"10.0.0.1\"", "[check.t]"}),
                        "t.toml");
  ASSERT_TRUE(c) << format_errors(c.error());
  const VipConfig& v = c->vips.at(0);
  EXPECT_EQ(v.proto, L4Proto::Tcp);
  EXPECT_EQ(v.table_size, 65537u);
  EXPECT_EQ(v.encap, "ipip");
  EXPECT_EQ(v.gue_port, 6080);
  EXPECT_EQ(v.hash, "5-tuple");
  EXPECT_TRUE(v.echo);
  EXPECT_EQ(v.min_healthy, MinHealthy{});
  EXPECT_EQ(v.check, "");
  EXPECT_EQ(v.backends.at(0).weight, 1u);
  EXPECT_EQ(v.backends.at(0).check, "");
  CheckConfig t;
  t.name = "t";
  EXPECT_EQ(c->checks.at("t"), t);
}

// --- syntax, unknown keys, types -----------------------------------------------------------

TEST(ControlConfigErrors, TomlSyntaxErrorCarriesPosition) {
  const auto errors = errors_in("[pop]\nname = \"x\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_TRUE(errors[0].where.starts_with("t.toml:2:")) << errors[0].where;
}

TEST(ControlConfigErrors, UnknownKeyHintsClosestKnownKey) {
  EXPECT_TRUE(one_error(vip_with({"tabel_size = 251"}), "t.toml:5:1",
                        "unknown key 'vip.tabel_size'", "did you mean 'table_size'?"));
  EXPECT_TRUE(one_error("[pop]\nnmae = \"x\"\n", "t.toml:2:1", "unknown key 'pop.nmae'",
                        "did you mean 'name'?"));
  // Nothing close: the hint lists the known keys instead.
  EXPECT_TRUE(
      one_error("[state]\nzzzzzzzz = 1\n", "t.toml:2:1", "unknown key 'state.zzzzzzzz'", "dir"));
}

TEST(ControlConfigErrors, UnknownSectionHintsClosestSection) {
  EXPECT_TRUE(one_error("[pops]\nname = \"x\"\n", "t.toml:1:2", "unknown section 'pops'",
                        "did you mean 'pop'?"));
  EXPECT_TRUE(one_error(lines({"[check.a]", "interval = 100"}), "t.toml:2:1",
                        "unknown key 'check.a.interval'", "did you mean 'interval_ms'?"));
  EXPECT_TRUE(one_error(vip_with({"  [[vip.backend]]", "  adress = \"10.0.0.1\""}), "t.toml:6:3",
                        "unknown key 'vip.backend.adress'", "did you mean 'address'?"));
}

TEST(ControlConfigErrors, WrongTypesNameTheExpectedType) {
  EXPECT_TRUE(
      one_error(lines({"[[vip]]", "name = \"web\"", "address = \"192.0.2.1\"", "port = \"80\""}),
                "t.toml:4:8", "'vip.port' must be an integer 0..65535"));
  EXPECT_TRUE(one_error(vip_with({"echo = 1"}), "t.toml:5:8", "'vip.echo' must be true or false"));
  EXPECT_TRUE(one_error("[pop]\nname = 3\n", "t.toml:2:8", "'pop.name' must be a string"));
  EXPECT_TRUE(one_error("pop = 3\n", "t.toml:1:7", "'pop' must be a table"));
  EXPECT_TRUE(one_error("[[pop]]\n", "t.toml:1:1", "'pop' must be a table"));
  EXPECT_TRUE(one_error("[vip]\nname = \"a\"\n", "t.toml:1:1", "'vip' must be an array of tables",
                        "[[vip]]"));
  EXPECT_TRUE(
      one_error(lines({"[[vip]]", "name = \"web\"", "address = \"192.0.2.300\"", "port = 80"}),
                "t.toml:3:11", "'vip.address' must be an IPv4 or IPv6 address"));
}

TEST(ControlConfigErrors, RangesAreChecked) {
  EXPECT_TRUE(
      one_error(vip_with({"  [[vip.backend]]", "  address = \"10.0.0.1\"", "  weight = 70000"}),
                "t.toml:7:12", "'vip.backend.weight' must be an integer 0..65535 (got 70000)"));
  EXPECT_TRUE(one_error(lines({"[check.a]", "rise = 0"}), "t.toml:2:8",
                        "'check.a.rise' must be an integer 1..1000 (got 0)"));
  EXPECT_TRUE(one_error(lines({"[dataplane]", "push_interval_ms = -1"}), "t.toml:2:20",
                        "'dataplane.push_interval_ms' must be an integer 1..60000"));
  EXPECT_TRUE(one_error(lines({"[warmup]", "max_ms = 700000"}), "t.toml:2:10",
                        "'warmup.max_ms' must be an integer 0..600000"));
  EXPECT_TRUE(one_error(lines({"[dataplane]", "socket = \"\""}), "t.toml:2:10",
                        "'dataplane.socket' must be a non-empty string"));
  EXPECT_TRUE(one_error(lines({"[dataplane]", "status_interval_ms = 500", "stuck_after_ms = 500"}),
                        "t.toml:3:18", "must be greater than status_interval_ms"));
}

TEST(ControlConfigErrors, MissingVipKeysReportedAtTheVipHeader) {
  const auto errors = errors_in("\n[[vip]]\nprotocol = \"tcp\"\n");
  ASSERT_EQ(errors.size(), 3u) << format_errors(errors);
  for (const auto& e : errors) EXPECT_EQ(e.where, "t.toml:2:1");
  EXPECT_EQ(errors[0].message, "VIP needs a name");
  EXPECT_EQ(errors[1].message, "VIP needs an address");
  EXPECT_EQ(errors[2].message, "VIP needs a port");
  EXPECT_NE(errors[2].hint.find("port = 0"), std::string::npos);
  EXPECT_TRUE(one_error(vip_with({"", "  [[vip.backend]]", "  weight = 2"}), "t.toml:6:3",
                        "backend needs an address"));
}

// --- VIP rules -------------------------------------------------------------------------------

TEST(ControlConfigErrors, DuplicateVipNamePointsAtTheFirst) {
  EXPECT_TRUE(
      one_error(vip_with({"[[vip]]", "name = \"web\"", "address = \"192.0.2.2\"", "port = 80"}),
                "t.toml:6:8", "duplicate VIP name 'web'", "first defined at line 2:8"));
}

TEST(ControlConfigErrors, DuplicateAddressProtocolPortIsAnError) {
  EXPECT_TRUE(one_error(
      vip_with({"[[vip]]", "name = \"web2\"", "address = \"192.0.2.1\"", "port = 80"}),
      "t.toml:7:11",
      "VIP 'web2' has the same address, protocol and port (192.0.2.1:80/tcp) as VIP 'web'",
      "that one is at line 1:1"));
  // Another protocol or port on the same address is a different VIP.
  EXPECT_TRUE(parses(vip_with({"[[vip]]", "name = \"web-udp\"", "address = \"192.0.2.1\"",
                               "port = 80", "protocol = \"udp\"", "[[vip]]", "name = \"web-443\"",
                               "address = \"192.0.2.1\"", "port = 443"})));
}

TEST(ControlConfigErrors, DuplicateBackendInAVip) {
  EXPECT_TRUE(one_error(vip_with({"  [[vip.backend]]", "  address = \"10.0.0.1\"",
                                  "  [[vip.backend]]", "  address = \"10.0.0.1\""}),
                        "t.toml:8:13", "backend 10.0.0.1 appears twice in VIP 'web'",
                        "first at line 6:13"));
  // The same backend in two VIPs is fine.
  EXPECT_TRUE(parses(vip_with({"  [[vip.backend]]", "  address = \"10.0.0.1\"", "[[vip]]",
                               "name = \"b\"", "address = \"192.0.2.2\"", "port = 80",
                               "  [[vip.backend]]", "  address = \"10.0.0.1\""})));
}

TEST(ControlConfigErrors, VipNameCharset) {
  EXPECT_TRUE(
      one_error(lines({"[[vip]]", "name = \"Web.1\"", "address = \"192.0.2.1\"", "port = 80"}),
                "t.toml:2:8", "VIP name \"Web.1\" must be 1..64 characters of a-z, 0-9"));
  EXPECT_TRUE(one_error(lines({"[[vip]]", "name = \"\"", "address = \"192.0.2.1\"", "port = 80"}),
                        "t.toml:2:8", "VIP name \"\""));
  EXPECT_TRUE(
      parses(lines({"[[vip]]", "name = \"web_2-a\"", "address = \"192.0.2.1\"", "port = 80"})));
}

TEST(ControlConfigErrors, EnumValuesAreChecked) {
  EXPECT_TRUE(one_error(vip_with({"encap = \"gre\""}), "t.toml:5:9",
                        "'vip.encap' must be one of ipip, gue (got \"gre\")"));
  EXPECT_TRUE(one_error(vip_with({"hash = \"4-tuple\""}), "t.toml:5:8",
                        "'vip.hash' must be one of 5-tuple, 3-tuple, source", "\"5-tuple\""));
  EXPECT_TRUE(one_error(vip_with({"protocol = \"sctp\""}), "t.toml:5:12",
                        "'vip.protocol' must be one of tcp, udp"));
  EXPECT_TRUE(one_error(lines({"[check.a]", "type = \"htpp\""}), "t.toml:2:8",
                        "'check.a.type' must be one of tcp, http, https, udp, dns",
                        "did you mean \"http\"?"));
}

TEST(ControlConfigErrors, TableSizeMustBePrimeAndHintsTheNextPrime) {
  EXPECT_TRUE(one_error(vip_with({"table_size = 65536"}), "t.toml:5:14",
                        "'vip.table_size' must be prime (got 65536)", "the next prime is 65537"));
  EXPECT_TRUE(one_error(vip_with({"table_size = 1"}), "t.toml:5:14",
                        "'vip.table_size' must be an integer 2..16777213"));
  EXPECT_TRUE(one_error(vip_with({"table_size = 16777214"}), "t.toml:5:14", "2..16777213"));
}

// A table under 100 slots per backend is only a warning (the dataplane logs it), not an error;
// fewer slots than backends cannot be built at all.
TEST(ControlConfigErrors, SmallTableIsAcceptedButNotSmallerThanTheBackends) {
  EXPECT_TRUE(parses(vip_with({"table_size = 7", "  [[vip.backend]]", "  address = \"10.0.0.1\"",
                               "  [[vip.backend]]", "  address = \"10.0.0.2\""})));
  EXPECT_TRUE(one_error(vip_with({"table_size = 2", "  [[vip.backend]]", "  address = \"10.0.0.1\"",
                                  "  [[vip.backend]]", "  address = \"10.0.0.2\"",
                                  "  [[vip.backend]]", "  address = \"10.0.0.3\""}),
                        "t.toml:5:14", "table_size 2 is smaller than the 3 backends"));
}

TEST(ControlConfigErrors, GuePortZeroIsAnError) {
  EXPECT_TRUE(one_error(vip_with({"encap = \"gue\"", "gue_port = 0"}), "t.toml:6:12",
                        "'vip.gue_port' must be an integer 1..65535 (got 0)"));
}

TEST(ControlConfigErrors, MinHealthyCountAboveBackendCount) {
  EXPECT_TRUE(
      one_error(vip_with({"min_healthy = 3", "  [[vip.backend]]", "  address = \"10.0.0.1\"",
                          "  [[vip.backend]]", "  address = \"10.0.0.2\""}),
                "t.toml:5:15", "min_healthy is 3 but VIP 'web' has 2 backends", "percentage"));
  // The default (1) on a VIP without backends is not an error.
  EXPECT_TRUE(parses(vip_with({})));
}

TEST(ControlConfigErrors, MinHealthyFractionMustBeWithinZeroToHundredPercent) {
  EXPECT_TRUE(one_error(vip_with({"min_healthy = \"0%\""}), "t.toml:5:15",
                        "'vip.min_healthy' must be a percentage in (0, 100]%"));
  EXPECT_TRUE(one_error(vip_with({"min_healthy = \"150%\""}), "t.toml:5:15",
                        "'vip.min_healthy' must be a percentage in (0, 100]%"));
  EXPECT_TRUE(one_error(vip_with({"min_healthy = \"half\""}), "t.toml:5:15",
                        "'vip.min_healthy' must be a count of backends"));
  EXPECT_TRUE(one_error(vip_with({"min_healthy = 0.5"}), "t.toml:5:15",
                        "'vip.min_healthy' must be a count of backends"));
  auto c = parse_config(vip_with({"min_healthy = \"100%\""}), "t.toml");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->vips[0].min_healthy.is_fraction);
  EXPECT_DOUBLE_EQ(c->vips[0].min_healthy.fraction, 1.0);
}

TEST(ControlConfig, MinHealthyRequiredRoundsFractionsUp) {
  MinHealthy half{.is_fraction = true, .count = 0, .fraction = 0.5};
  EXPECT_EQ(half.required(4), 2u);
  EXPECT_EQ(half.required(3), 2u);
  EXPECT_EQ(half.required(1), 1u);
  EXPECT_EQ(half.required(0), 1u);
  MinHealthy thirty{.is_fraction = true, .count = 0, .fraction = 0.3};
  EXPECT_EQ(thirty.required(10), 3u);  // not 4: 0.3 * 10 is a hair above 3 in binary
  EXPECT_EQ(thirty.required(11), 4u);
  MinHealthy all{.is_fraction = true, .count = 0, .fraction = 1.0};
  EXPECT_EQ(all.required(7), 7u);
  MinHealthy two{.is_fraction = false, .count = 2, .fraction = 0};
  EXPECT_EQ(two.required(5), 2u);
}

// 4in6 and 6in4: a VIP of one family may have backends of the other.
TEST(ControlConfig, MixedAddressFamiliesAreAllowed) {
  EXPECT_TRUE(parses(
      lines({"[[vip]]", "name = \"v6\"", "address = \"2001:db8::1\"", "port = 80",
             "  [[vip.backend]]", "  address = \"10.0.0.1\"", "  [[vip.backend]]",
             "  address = \"2001:db8:1::1\"", "[[vip]]", "name = \"v4\"", "address = \"192.0.2.1\"",
             "port = 80", "  [[vip.backend]]", "  address = \"2001:db8:1::1\""})));
}

// --- checks and their references ---------------------------------------------------------------

TEST(ControlConfigErrors, UnknownCheckReferenceListsTheDefinedOnes) {
  const std::string checks = lines({"[check.http-a]", "[check.tcp-b]"});
  EXPECT_TRUE(one_error(vip_with({"check = \"http-x\""}) + checks, "t.toml:5:9",
                        "unknown check 'http-x'", "did you mean 'http-a'? defined: http-a, tcp-b"));
  EXPECT_TRUE(one_error(
      vip_with({"  [[vip.backend]]", "  address = \"10.0.0.1\"", "  check = \"zzzzzzzzzzzz\""}) +
          checks,
      "t.toml:7:11", "unknown check 'zzzzzzzzzzzz'", "defined: http-a, tcp-b"));
  EXPECT_TRUE(one_error(vip_with({"check = \"a\""}), "t.toml:5:9", "unknown check 'a'",
                        "no checks are defined"));
}

// The VIP's check is reported once, not once per backend inheriting it.
TEST(ControlConfigErrors, InheritedUnknownCheckIsReportedOnce) {
  EXPECT_TRUE(
      one_error(vip_with({"check = \"nope\"", "  [[vip.backend]]", "  address = \"10.0.0.1\"",
                          "  [[vip.backend]]", "  address = \"10.0.0.2\""}),
                "t.toml:5:9", "unknown check 'nope'"));
}

TEST(ControlConfigErrors, CheckPortZeroOnAnAllPortsVip) {
  const std::string all_ports =
      lines({"[[vip]]", "name = \"all\"", "address = \"192.0.2.1\"", "port = 0", "check = \"t\"",
             "  [[vip.backend]]", "  address = \"10.0.0.1\""});
  EXPECT_TRUE(one_error(all_ports + "[check.t]\n", "t.toml:5:9",
                        "check 't' has port 0 (the VIP's port) but VIP 'all' serves all ports",
                        "set port in [check.t]"));
  EXPECT_TRUE(parses(all_ports + "[check.t]\nport = 22\n"));
  // Set on the backend: reported there.
  EXPECT_TRUE(one_error(
      lines({"[[vip]]", "name = \"all\"", "address = \"192.0.2.1\"", "port = 0",
             "  [[vip.backend]]", "  address = \"10.0.0.1\"", "  check = \"t\"", "[check.t]"}),
      "t.toml:7:11", "check 't' has port 0"));
}

TEST(ControlConfigErrors, TimeoutMustBeBelowInterval) {
  EXPECT_TRUE(one_error(
      lines({"[check.a]", "interval_ms = 1000", "timeout_ms = 1000"}), "t.toml:3:14",
      "'check.a.timeout_ms' (1000) must be less than interval_ms (1000)", "lower timeout_ms"));
  // An interval below the default timeout: reported at the interval.
  EXPECT_TRUE(one_error(lines({"[check.a]", "interval_ms = 400"}), "t.toml:2:15",
                        "'check.a.timeout_ms' (500) must be less than interval_ms (400)"));
}

TEST(ControlConfigErrors, IntervalAtLeastFiftyMilliseconds) {
  EXPECT_TRUE(one_error(lines({"[check.a]", "interval_ms = 49", "timeout_ms = 10"}), "t.toml:2:15",
                        "'check.a.interval_ms' must be an integer 50..3600000 (got 49)",
                        "at least 50 ms"));
  EXPECT_TRUE(parses(lines({"[check.a]", "interval_ms = 50", "timeout_ms = 10"})));
}

TEST(ControlConfigErrors, JitterWithinZeroToHalf) {
  EXPECT_TRUE(one_error(lines({"[check.a]", "jitter = 0.6"}), "t.toml:2:10",
                        "'check.a.jitter' must be a number 0..0.5 (got 0.6)", "fraction"));
  EXPECT_TRUE(one_error(lines({"[check.a]", "jitter = -0.1"}), "t.toml:2:10", "'check.a.jitter'"));
  EXPECT_TRUE(one_error(lines({"[check.a]", "jitter = nan"}), "t.toml:2:10", "'check.a.jitter'"));
  EXPECT_TRUE(parses(lines({"[check.a]", "jitter = 0.5"})));
  EXPECT_TRUE(parses(lines({"[check.a]", "jitter = 0"})));
}

TEST(ControlConfigErrors, FastIntervalZeroOrFiftyUpToInterval) {
  EXPECT_TRUE(one_error(lines({"[check.a]", "fast_interval_ms = 20"}), "t.toml:2:20",
                        "must be 0 or at least 50"));
  EXPECT_TRUE(one_error(lines({"[check.a]", "fast_interval_ms = 2000"}), "t.toml:2:20",
                        "(2000) must not exceed interval_ms (1000)"));
}

TEST(ControlConfig, EffectiveFastIntervalIsAQuarterOfTheIntervalAtLeastFifty) {
  CheckConfig c;
  EXPECT_EQ(c.effective_fast_interval_ms(), 250u);
  c.interval_ms = 100;
  EXPECT_EQ(c.effective_fast_interval_ms(), 50u);
  c.fast_interval_ms = 80;
  EXPECT_EQ(c.effective_fast_interval_ms(), 80u);
}

TEST(ControlConfigErrors, CheckNameCharset) {
  EXPECT_TRUE(one_error(lines({"[check.\"a b\"]"}), "t.toml:1:8",
                        "check name \"a b\" must be 1..64 letters"));
  EXPECT_TRUE(one_error(lines({"[check]", "a = 1"}), "t.toml:2:5", "'check.a' must be a table"));
}

TEST(ControlConfigErrors, KeysOfAnotherCheckTypeAreRejected) {
  EXPECT_TRUE(one_error(lines({"[check.a]", "type = \"tcp\"", "path = \"/x\""}), "t.toml:3:1",
                        "'check.a.path' does not apply to a tcp check", "http and https"));
  EXPECT_TRUE(one_error(lines({"[check.a]", "type = \"http\"", "tls_verify = true"}), "t.toml:3:1",
                        "'check.a.tls_verify' does not apply to a http check", "https checks"));
  EXPECT_TRUE(one_error(lines({"[check.a]", "type = \"dns\"", "query = \"x.\"", "payload = \"p\""}),
                        "t.toml:4:1", "'check.a.payload' does not apply to a dns check"));
}

TEST(ControlConfigErrors, HttpExpectStatusWithin100To599) {
  EXPECT_TRUE(one_error(lines({"[check.a]", "type = \"http\"", "expect_status = [200, 600]"}),
                        "t.toml:3:23", "values must be HTTP status codes 100..599 (got 600)"));
  EXPECT_TRUE(one_error(lines({"[check.a]", "type = \"http\"", "expect_status = [99]"}),
                        "t.toml:3:18", "(got 99)"));
  EXPECT_TRUE(one_error(lines({"[check.a]", "type = \"http\"", "expect_status = []"}),
                        "t.toml:3:17", "must list at least one status"));
  EXPECT_TRUE(one_error(lines({"[check.a]", "type = \"http\"", "expect_status = \"200\""}),
                        "t.toml:3:17", "must be an array of status codes"));
  auto c = parse_config(lines({"[check.a]", "type = \"http\"", "expect_status = 204"}), "t.toml");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->checks.at("a").expect_status, std::vector<uint16_t>{204});
}

TEST(ControlConfigErrors, HttpPathAndHostAreSafeForTheRequest) {
  EXPECT_TRUE(one_error(lines({"[check.a]", "type = \"http\"", "path = \"health\""}), "t.toml:3:8",
                        "must start with '/'"));
  EXPECT_TRUE(one_error(lines({"[check.a]", "type = \"http\"", "host = \"a\\r\\nX: y\""}),
                        "t.toml:3:8", "'check.a.host' must contain no spaces or control"));
}

TEST(ControlConfig, DnsQtypeNamesAndNumbers) {
  const std::pair<std::string_view, uint16_t> cases[] = {
      {"\"A\"", 1},  {"\"AAAA\"", 28}, {"\"CNAME\"", 5}, {"\"TXT\"", 16}, {"\"SOA\"", 6},
      {"\"NS\"", 2}, {"\"MX\"", 15},   {"\"aaaa\"", 28}, {"33", 33},      {"\"255\"", 255},
  };
  for (const auto& [text, value] : cases) {
    auto c = parse_config(lines({"[check.d]", "type = \"dns\"", "query = \"example.com.\"",
                                 "qtype = " + std::string(text)}),
                          "t.toml");
    ASSERT_TRUE(c) << text << ": " << format_errors(c.error());
    EXPECT_EQ(c->checks.at("d").qtype, value) << text;
  }
  EXPECT_TRUE(one_error(
      lines({"[check.d]", "type = \"dns\"", "query = \"example.com.\"", "qtype = \"AAAAA\""}),
      "t.toml:4:9",
      "'check.d.qtype' must be one of A, NS, CNAME, SOA, MX, TXT, AAAA or a "
      "number 1..65535 (got \"AAAAA\")",
      "did you mean \"AAAA\"?"));
  EXPECT_TRUE(
      one_error(lines({"[check.d]", "type = \"dns\"", "query = \"example.com.\"", "qtype = 0"}),
                "t.toml:4:9", "1..65535"));
}

TEST(ControlConfig, DnsRcodeNamesAndNumbers) {
  const std::pair<std::string_view, uint8_t> cases[] = {
      {"\"NOERROR\"", 0}, {"\"NXDOMAIN\"", 3}, {"\"SERVFAIL\"", 2}, {"\"REFUSED\"", 5}, {"4", 4},
  };
  for (const auto& [text, value] : cases) {
    auto c = parse_config(lines({"[check.d]", "type = \"dns\"", "query = \"example.com.\"",
                                 "expect_rcode = " + std::string(text)}),
                          "t.toml");
    ASSERT_TRUE(c) << text << ": " << format_errors(c.error());
    EXPECT_EQ(c->checks.at("d").expect_rcode, value) << text;
  }
  EXPECT_TRUE(one_error(lines({"[check.d]", "type = \"dns\"", "query = \"example.com.\"",
                               "expect_rcode = \"NXDOMIAN\""}),
                        "t.toml:4:16", "'check.d.expect_rcode' must be one of NOERROR, SERVFAIL",
                        "did you mean \"NXDOMAIN\"?"));
  EXPECT_TRUE(one_error(
      lines({"[check.d]", "type = \"dns\"", "query = \"example.com.\"", "expect_rcode = 16"}),
      "t.toml:4:16", "0..15"));
}

TEST(ControlConfigErrors, DnsCheckNeedsAValidQuery) {
  EXPECT_TRUE(one_error(lines({"", "[check.d]", "type = \"dns\""}), "t.toml:2:1",
                        "dns check 'd' needs a query"));
  EXPECT_TRUE(one_error(lines({"[check.d]", "type = \"dns\"", "query = \"a..b\""}), "t.toml:3:9",
                        "'check.d.query' must be a DNS name"));
  EXPECT_TRUE(one_error(
      lines({"[check.d]", "type = \"dns\"", "query = \"a.\"", "expect_answer = \"not-an-ip\""}),
      "t.toml:4:17", "'check.d.expect_answer' must be an IPv4 or IPv6 address"));
}

TEST(ControlConfigErrors, UdpPayloadHexMustBeHex) {
  EXPECT_TRUE(one_error(lines({"[check.u]", "type = \"udp\"", "payload_hex = \"0g\""}),
                        "t.toml:3:15", "'check.u.payload_hex' must be hex digits"));
  EXPECT_TRUE(one_error(lines({"[check.u]", "type = \"udp\"", "payload_hex = \"abc\""}),
                        "t.toml:3:15", "must be hex digits"));
  EXPECT_TRUE(
      one_error(lines({"[check.u]", "type = \"udp\"", "payload = \"x\"", "payload_hex = \"00\""}),
                "t.toml:4:15", "'check.u.payload_hex' and payload are both set"));
  auto c =
      parse_config(lines({"[check.u]", "type = \"udp\"", "payload_hex = \"DEADbeef\""}), "t.toml");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->checks.at("u").payload, "\xde\xad\xbe\xef");
  auto d = parse_config(lines({"[check.u]", "type = \"udp\""}), "t.toml");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->checks.at("u").payload, "ping");
}

TEST(ControlConfigErrors, SocketModeIsAnOctalString) {
  EXPECT_TRUE(one_error(lines({"[cli]", "mode = \"0999\""}), "t.toml:2:8",
                        "'cli.mode' must be an octal mode string like \"0660\" (got \"0999\")"));
  EXPECT_TRUE(one_error(lines({"[cli]", "mode = \"01777\""}), "t.toml:2:8", "octal mode"));
  EXPECT_TRUE(one_error(lines({"[cli]", "mode = 660"}), "t.toml:2:8", "'cli.mode' must be an octal",
                        "quote it"));
  auto c = parse_config(lines({"[cli]", "mode = \"600\""}), "t.toml");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->cli_mode, 0600u);
}

TEST(ControlConfigErrors, MetricsListenIsAddressColonPort) {
  for (std::string_view good : {"127.0.0.1:9610", "[::1]:9610", "0.0.0.0:1", ""}) {
    EXPECT_TRUE(parses(lines({"[metrics]", "listen = \"" + std::string(good) + "\""}))) << good;
  }
  for (std::string_view bad : {"localhost:9610", "::1:9610", "127.0.0.1", "127.0.0.1:0",
                               "1.2.3.4:70000", "[::1]", "[127.0.0.1]:80x", ":9610"}) {
    EXPECT_TRUE(one_error(lines({"[metrics]", "listen = \"" + std::string(bad) + "\""}),
                          "t.toml:2:10", "'metrics.listen' must be \"ADDR:PORT\"",
                          "127.0.0.1:9610"))
        << bad;
  }
}

TEST(ControlConfigErrors, BgpAndDnsMustBeTables) {
  EXPECT_TRUE(one_error("bgp = 1\n", "t.toml:1:7", "'bgp' must be a table"));
  EXPECT_TRUE(one_error("dns = 1\n", "t.toml:1:7", "'dns' must be a table"));
}

TEST(ControlConfig, BgpDefaults) {
  auto c = parse_config(lines({"[bgp]", "socket = \"/run/bird/bird.ctl\"", "local_as = 65001"}),
                        "t.toml");
  ASSERT_TRUE(c) << format_errors(c.error());
  ASSERT_TRUE(c->bgp.has_value());
  EXPECT_EQ(c->bgp->protocol_prefix, "steer_");
  EXPECT_TRUE(c->bgp->announce_all);
  EXPECT_EQ(c->bgp->snippet, "");
  EXPECT_EQ(c->bgp->policy.announce_hold, std::chrono::milliseconds(2000));
  EXPECT_EQ(c->bgp->policy.min_interval, std::chrono::milliseconds(1000));
  EXPECT_EQ(c->bgp->attributes.drain_prepend, 3u);
  EXPECT_EQ(c->bgp->policy.valve_share, 0.5);
  // Drain by communities only needs no AS number.
  EXPECT_TRUE(parses(lines({"[bgp]", "socket = \"s\"", "drain_prepend = 0"})));
}

TEST(ControlConfigErrors, BgpRules) {
  EXPECT_TRUE(one_error(lines({"[bgp]", "local_as = 65001"}), "t.toml:1:1", "[bgp] needs 'socket'",
                        "/run/bird/bird.ctl"));
  EXPECT_TRUE(one_error(lines({"[bgp]", "socket = \"s\""}), "t.toml:1:1",
                        "[bgp] needs 'local_as' to prepend it 3 time(s)", "drain_prepend = 0"));
  EXPECT_TRUE(
      one_error(lines({"[bgp]", "socket = \"s\"", "local_as = 1", "protocol_prefix = \"9x\""}),
                "t.toml:4:19", "'bgp.protocol_prefix' must be 1..32 of a-z"));
  EXPECT_TRUE(one_error(lines({"[bgp]", "socket = \"s\"", "local_as = 1",
                               "drain_communities = [\"65001:666\", \"70000:1\"]"}),
                        "t.toml:4:35", "BGP communities \"ASN:VALUE\""));
  EXPECT_TRUE(one_error(lines({"[bgp]", "socket = \"s\"", "local_as = 1", "communities = \"1:2\""}),
                        "t.toml:4:15", "'bgp.communities' must be an array"));
  EXPECT_TRUE(one_error(lines({"[bgp]", "socket = \"s\"", "local_as = 1", "announce = \"al\""}),
                        "t.toml:4:12", "'bgp.announce' must be one of", "did you mean \"all\"?"));
  EXPECT_TRUE(one_error(lines({"[bgp]", "socket = \"s\"", "local_as = 1", "valve_share = 1.5"}),
                        "t.toml:4:15", "'bgp.valve_share' must be a number 0..1"));
  EXPECT_TRUE(one_error(lines({"[bgp]", "socket = \"s\"", "local_as = 0"}), "t.toml:3:12",
                        "'bgp.local_as' must be an integer 1..4294967295"));
  EXPECT_TRUE(one_error(lines({"[bgp]", "socket = \"s\"", "local_as = 1", "reconcile_ms = 10"}),
                        "t.toml:4:16", "'bgp.reconcile_ms' must be an integer 50..600000"));
  EXPECT_TRUE(one_error(lines({"[bgp]", "sockit = \"s\"", "local_as = 1"}), "t.toml:2:1",
                        "unknown key 'bgp.sockit'", "socket"));
}

// [[bgp.group]]: an aggregate announced for several VIPs.
std::string bgp_groups(std::initializer_list<std::string_view> group_lines) {
  std::string text = lines({"[bgp]", "socket = \"s\"", "local_as = 1"});
  text += "\n" + lines(group_lines) + "\n";
  text += lines({"[[vip]]", "name = \"web\"", "address = \"192.0.2.10\"", "port = 80", "[[vip]]",
                 "name = \"api\"", "address = \"192.0.2.20\"", "port = 443", "[[vip]]",
                 "name = \"web6\"", "address = \"2001:db8::10\"", "port = 80"});
  return text;
}

TEST(ControlConfig, BgpGroupsNameTheirVipsOrTakeEveryVipInside) {
  auto c =
      parse_config(bgp_groups({"[[bgp.group]]", "name = \"edge_v4\"", "prefix = \"192.0.2.0/24\"",
                               "[[bgp.group]]", "name = \"web_only\"", "prefix = \"192.0.2.0/28\"",
                               "vips = [\"web\"]", "announce = \"any\""}),
                   "t.toml");
  ASSERT_TRUE(c) << format_errors(c.error());
  ASSERT_EQ(c->bgp->groups.size(), 2u);
  EXPECT_EQ(c->bgp->groups[0].name, "edge_v4");
  EXPECT_EQ(c->bgp->groups[0].prefix.to_string(), "192.0.2.0/24");
  EXPECT_EQ(c->bgp->groups[0].vips, (std::vector<std::string>{"web", "api"}));
  EXPECT_TRUE(c->bgp->groups[0].announce_all);
  EXPECT_EQ(c->bgp->groups[1].vips, (std::vector<std::string>{"web"}));
  EXPECT_FALSE(c->bgp->groups[1].announce_all);
}

TEST(ControlConfigErrors, BgpGroupRules) {
  EXPECT_TRUE(one_error(bgp_groups({"[[bgp.group]]", "name = \"g\"", "prefix = \"192.0.2.1/24\""}),
                        "t.toml:7:10", "'bgp.group.prefix' must be an IPv4 or IPv6 prefix"));
  EXPECT_TRUE(one_error(bgp_groups({"[[bgp.group]]", "name = \"g\"", "prefix = \"192.0.2.0/24\"",
                                    "vips = [\"wbe\"]"}),
                        "t.toml:8:9", "'bgp.group.vips' entries must be names of VIPs",
                        "did you mean 'web'?"));
  EXPECT_TRUE(one_error(bgp_groups({"[[bgp.group]]", "name = \"g\"", "prefix = \"192.0.2.0/24\"",
                                    "vips = [\"web6\"]"}),
                        "t.toml:8:9",
                        "VIP 'web6' (2001:db8::10) is not inside the group's prefix"));
  EXPECT_TRUE(
      one_error(bgp_groups({"[[bgp.group]]", "name = \"g\"", "prefix = \"198.51.100.0/24\""}),
                "t.toml:5:1", "group 'g' has no VIP: none is inside 198.51.100.0/24"));
  EXPECT_TRUE(
      one_error(bgp_groups({"[[bgp.group]]", "name = \"G-1\"", "prefix = \"192.0.2.0/24\""}),
                "t.toml:6:8", "'bgp.group.name' must be 1..24 of a-z"));
  EXPECT_TRUE(one_error(bgp_groups({"[[bgp.group]]", "name = \"g\"", "prefix = \"192.0.2.0/24\"",
                                    "[[bgp.group]]", "name = \"g\"", "prefix = \"192.0.2.0/25\""}),
                        "t.toml:9:8", "duplicate group name 'g'", "first defined at line 6:8"));
  EXPECT_TRUE(one_error(bgp_groups({"[[bgp.group]]", "prefix = \"192.0.2.0/24\""}), "t.toml:5:1",
                        "a [[bgp.group]] needs a 'name'"));
}

// --- many errors -------------------------------------------------------------------------------

// Every independent mistake in a file is reported, in file order.
TEST(ControlConfigErrors, EveryErrorInAFileIsReportedInOrder) {
  const auto errors = errors_in(lines({
      "[pop]",                     // 1
      "nmae = \"x\"",              // 2  unknown key
      "[check.a]",                 // 3
      "interval_ms = 20",          // 4  range
      "jitter = 0.9",              // 5  range
      "[[vip]]",                   // 6
      "name = \"web\"",            // 7
      "address = \"192.0.2.1\"",   // 8
      "port = 80",                 // 9
      "table_size = 100",          // 10 not prime
      "check = \"b\"",             // 11 unknown check
      "  [[vip.backend]]",         // 12
      "  address = \"10.0.0.1\"",  // 13
      "  weight = -1",             // 14 range
      "[[vip]]",                   // 15
      "name = \"web\"",            // 16 duplicate name
      "address = \"192.0.2.2\"",   // 17
      "port = 80",                 // 18
      "encap = \"vxlan\"",         // 19 enum
  }));
  ASSERT_EQ(errors.size(), 8u) << format_errors(errors);
  const char* expected[] = {"t.toml:2:1",  "t.toml:4:15",  "t.toml:5:10", "t.toml:10:14",
                            "t.toml:11:9", "t.toml:14:12", "t.toml:16:8", "t.toml:19:9"};
  for (size_t i = 0; i < errors.size(); ++i) EXPECT_EQ(errors[i].where, expected[i]) << i;
  EXPECT_NE(errors[6].message.find("duplicate VIP name 'web'"), std::string::npos);
}

// --- check inheritance ---------------------------------------------------------------------

TEST(ControlConfig, BackendsInheritTheVipCheckUnlessTheyNameTheirOwn) {
  auto c = parse_config(
      vip_with({"check = \"vipcheck\"", "  [[vip.backend]]", "  address = \"10.0.0.1\"",
                "  [[vip.backend]]", "  address = \"10.0.0.2\"", "  check = \"own\"",
                "  [[vip.backend]]", "  address = \"10.0.0.3\"", "  check = \"\"",
                "[check.vipcheck]", "[check.own]", "port = 8080"}),
      "t.toml");
  ASSERT_TRUE(c) << format_errors(c.error());
  const auto& b = c->vips[0].backends;
  EXPECT_EQ(b[0].check, "vipcheck");
  EXPECT_EQ(b[1].check, "own");
  EXPECT_EQ(b[2].check, "");  // "" opts out: always healthy
  EXPECT_EQ(c->vips[0].check, "vipcheck");
}

TEST(ControlConfig, NoCheckMeansNoInheritance) {
  auto c = parse_config(vip_with({"  [[vip.backend]]", "  address = \"10.0.0.1\""}), "t.toml");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->vips[0].backends[0].check, "");
}

// --- lookups and output ----------------------------------------------------------------------

TEST(ControlConfig, FindVipByNameOrAddress) {
  auto c = parse_config(
      lines({"[[vip]]", "name = \"web\"", "address = \"192.0.2.1\"", "port = 80", "[[vip]]",
             "name = \"web-udp\"", "address = \"192.0.2.1\"", "port = 80", "protocol = \"udp\"",
             "[[vip]]", "name = \"v6\"", "address = \"2001:db8::1\"", "port = 443"}),
      "t.toml");
  ASSERT_TRUE(c) << format_errors(c.error());
  auto name_of = [&](std::string_view q) -> std::string {
    const VipConfig* v = c->find_vip(q);
    return v ? v->name : "(null)";
  };
  EXPECT_EQ(name_of("web"), "web");
  EXPECT_EQ(name_of("web-udp"), "web-udp");
  EXPECT_EQ(name_of("192.0.2.1:80/tcp"), "web");
  EXPECT_EQ(name_of("192.0.2.1:80/udp"), "web-udp");
  EXPECT_EQ(name_of("[2001:db8::1]:443/tcp"), "v6");
  EXPECT_EQ(name_of("2001:db8::1"), "v6");
  EXPECT_EQ(name_of("[2001:db8::1]:443"), "v6");
  EXPECT_EQ(name_of("192.0.2.1"), "(null)");     // two VIPs on it
  EXPECT_EQ(name_of("192.0.2.1:80"), "(null)");  // tcp and udp
  EXPECT_EQ(name_of("192.0.2.1:81/tcp"), "(null)");
  EXPECT_EQ(name_of("192.0.2.1:80/sctp"), "(null)");
  EXPECT_EQ(name_of("nope"), "(null)");
  EXPECT_EQ(name_of(""), "(null)");
}

// Text quoted from the file cannot break the one-error-per-line format.
TEST(ControlConfigErrors, QuotedFileTextIsEscapedToStayOnOneLine) {
  EXPECT_TRUE(
      one_error(lines({"[pop]", "\"a\\nb\" = 1"}), "t.toml:2:1", "unknown key 'pop.a\\x0ab'"));
  const auto errors = errors_in(lines({"[check.a]", "type = \"http\"", "host = \"x\\r\\ny\""}));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(format_errors(errors).find('\n'), format_errors(errors).size() - 1);
}

TEST(ControlConfig, FormatErrorsOneLinePerErrorWithHint) {
  std::vector<ConfigError> errors = {{"f:1:2", "bad thing", "do this"}, {"f:3:4", "other", ""}};
  EXPECT_EQ(format_errors(errors), "f:1:2: bad thing (hint: do this)\nf:3:4: other\n");
}

TEST(ControlConfig, LoadConfigReportsAnUnreadableFile) {
  auto c = load_config("/nonexistent/steerd.toml");
  ASSERT_FALSE(c);
  ASSERT_EQ(c.error().size(), 1u);
  EXPECT_EQ(c.error()[0].where, "/nonexistent/steerd.toml");
  EXPECT_NE(c.error()[0].message.find("cannot open"), std::string::npos);
}

TEST(ControlConfig, LoadConfigNamesTheFileInPositions) {
  const std::string path = ::testing::TempDir() + "/steerd-config-test.toml";
  {
    std::ofstream out(path);
    out << "[pop]\nnmae = 1\n";
  }
  auto c = load_config(path);
  std::remove(path.c_str());
  ASSERT_FALSE(c);
  ASSERT_EQ(c.error().size(), 1u);
  EXPECT_EQ(c.error()[0].where, path + ":2:1");
}

}  // namespace
}  // namespace steer::control
