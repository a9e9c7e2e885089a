#include "dns/config.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "testing/support/config_errors.h"

namespace steer::dns {
namespace {

using config::ConfigError;

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

Name name(std::string_view text) {
  Name n;
  EXPECT_TRUE(parse_name_text(text, n)) << text;
  return n;
}

std::vector<uint8_t> wire(std::string_view text) {
  const Name n = name(text);
  return {n.bytes.begin(), n.bytes.begin() + n.size};
}

// This PoP is "fra"; VIPs web, web6 and api; checks http (port 80), tcp (443) and vip-port
// (port 0: the VIP's).
DnsContext context() {
  DnsContext c;
  c.local_pop = "fra";
  c.vips = {{"web", ip("192.0.2.10")}, {"web6", ip("2001:db8::10")}, {"api", ip("192.0.2.11")}};
  c.checks = {"http", "tcp", "vip-port"};
  c.check_ports = {{"http", 80}, {"tcp", 443}, {"vip-port", 0}};
  return c;
}

struct Parsed {
  std::optional<DnsConfig> dns;
  std::vector<ConfigError> errors;
};

Parsed parse(const std::string& text, const DnsContext& c = context()) {
  config::Sink sink("t.toml");
  Parsed p;
  try {
    const toml::table root = toml::parse(std::string_view(text), std::string_view("t.toml"));
    p.dns = parse_section(root, c, sink);
  } catch (const toml::parse_error& e) {
    ADD_FAILURE() << "not TOML: " << e.description() << " at line " << e.source().begin.line << "\n"
                  << text;
  }
  p.errors = sink.take();
  return p;
}

// Exactly one error, at `where`, whose message contains `message` and hint contains `hint`.
::testing::AssertionResult one_error(const std::string& text, std::string_view where,
                                     std::string_view message, std::string_view hint = {},
                                     const DnsContext& c = context()) {
  return test::exactly_one_error(parse(text, c).errors, where, message, hint);
}

// The value of a file with no error.
DnsConfig parsed(const std::string& text, const DnsContext& c = context()) {
  Parsed p = parse(text, c);
  EXPECT_TRUE(p.errors.empty()) << config::format_errors(p.errors) << text;
  EXPECT_TRUE(p.dns.has_value());
  return p.dns.value_or(DnsConfig{});
}

// PoPs fra (this one) and ams, and one zone: lines 3-16 of every file below.
constexpr std::string_view kPopsAndZone[] = {
    "[[dns.pop]]",  // 3
    "name = \"fra\"",
    "region = \"eu-central\"",
    "latitude = 50.11",
    "longitude = 8.68",
    "[[dns.pop]]",  // 8
    "name = \"ams\"",
    "region = \"eu-west\"",
    "latitude = 52.37",
    "longitude = 4.9",
    "[[dns.zone]]",  // 13
    "name = \"lb.example.com.\"",
    "ns = [\"ns1\", \"ns2.example.net.\"]",
    "soa = { rname = \"hostmaster\" }",
};

// "[dns]", `keys` (from line 2), the PoPs and the zone, then `more`.
std::string dns_with(std::initializer_list<std::string_view> keys,
                     std::initializer_list<std::string_view> more = {}) {
  std::string out = "[dns]\n";
  for (std::string_view l : keys) out += std::string(l) + "\n";
  for (std::string_view l : kPopsAndZone) out += std::string(l) + "\n";
  for (std::string_view l : more) out += std::string(l) + "\n";
  return out;
}

// A [dns] with one listen address (line 2), the PoPs and the zone; `more` starts at line 17
// (still inside the [[dns.zone]] table until a new header).
std::string base(std::initializer_list<std::string_view> more = {}) {
  return dns_with({"listen = [\"127.0.0.1:53\"]"}, more);
}

// base() with `more` as its zone's records: line 17 is "records = [", records from line 18.
std::string records(std::initializer_list<std::string_view> rs,
                    std::initializer_list<std::string_view> after = {}) {
  std::string out = base({"records = ["});
  for (std::string_view l : rs) out += std::string(l) + ",\n";
  out += "]\n";
  for (std::string_view l : after) out += std::string(l) + "\n";
  return out;
}

// base() and a service "web" from line 17 with `keys` from line 19, and `pops` after them.
std::string service(std::initializer_list<std::string_view> keys,
                    std::initializer_list<std::string_view> pops = {
                        "[[dns.service.pop]]", "pop = \"fra\"", "vips = [\"web\"]"}) {
  std::string out = base({"[[dns.service]]", "name = \"web\""});
  for (std::string_view l : keys) out += std::string(l) + "\n";
  for (std::string_view l : pops) out += std::string(l) + "\n";
  return out;
}

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// --- whole sections ------------------------------------------------------------------------

// The [dns] example in docs/configuration.md parses to the value it describes, with the VIPs
// and checks of examples/steerd.toml.
TEST(DnsConfig, DocumentedExampleParsesToItsValue) {
  const char* root = std::getenv("STEER_SOURCE_ROOT");  // NOLINT(concurrency-mt-unsafe)
  ASSERT_NE(root, nullptr) << "STEER_SOURCE_ROOT is not set (meson test sets it)";
  const std::string doc = read(std::string(root) + "/docs/configuration.md");
  const size_t start = doc.find("```toml\n[dns]\n");
  ASSERT_NE(start, std::string::npos);
  const size_t end = doc.find("```\n", start + 8);
  ASSERT_NE(end, std::string::npos);
  DnsContext c;
  c.local_pop = "ams1";
  c.vips = {{"web", ip("192.0.2.10")}, {"api-v6", ip("2001:db8::10")}};
  c.checks = {"tcp-connect", "web-http"};
  c.check_ports = {{"tcp-connect", 0}, {"web-http", 8080}};
  const DnsConfig d = parsed(doc.substr(start + 8, end - start - 8), c);

  DnsConfig want;
  want.listen = {{ip("192.0.2.53"), 53}, {ip("2001:db8::53"), 53}};
  want.nsid = "ams1-lb1";
  want.nets = "/etc/steer/nets.txt";
  want.mmdb = "/var/lib/GeoIP/GeoLite2-City.mmdb";
  want.rrl.enabled = true;
  want.regions = {{"eu-west", {"ams1", "fra1"}}};
  want.pops = {{"ams1", "eu-west", 52.37, 4.90}, {"fra1", "eu-central", 50.11, 8.68}};
  ZoneConfig z;
  z.apex = name("lb.example.com.");
  z.ns = {name("ns1.lb.example.com."), name("ns2.lb.example.com.")};
  z.soa.mname = name("ns1.lb.example.com.");
  z.soa.rname = name("hostmaster.lb.example.com.");
  z.soa.serial = 2026120701;
  auto record = [&](std::string_view owner, uint16_t type, std::vector<uint8_t> rdata,
                    uint32_t ttl = 3600) {
    z.records.push_back(RecordConfig{name(owner), type, ttl, std::move(rdata), ""});
  };
  const std::string spf = "v=spf1 -all";
  std::vector<uint8_t> txt{static_cast<uint8_t>(spf.size())};
  txt.insert(txt.end(), spf.begin(), spf.end());
  std::vector<uint8_t> mx{0, 10};
  for (uint8_t b : wire("mail.example.net.")) mx.push_back(b);
  record("ns1.lb.example.com.", type::kA, {192, 0, 2, 53});
  record("ns2.lb.example.com.", type::kAaaa,
         {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53});
  record("www.lb.example.com.", type::kCname, wire("web.lb.example.com."));
  record("lb.example.com.", type::kTxt, txt, 300);
  record("lb.example.com.", type::kMx, mx);
  record("sub.lb.example.com.", type::kNs, wire("ns.sub.lb.example.com."));
  record("ns.sub.lb.example.com.", type::kA, {192, 0, 2, 99});
  want.zones = {z};
  ServiceConfig web;
  web.name = "web";
  web.owner = name("web.lb.example.com.");
  web.zone = name("lb.example.com.");
  web.check = "web-http";
  ServicePopConfig ams1;
  ams1.pop = "ams1";
  ams1.vips = {"web"};
  ServicePopConfig fra1;
  fra1.pop = "fra1";
  fra1.addresses = {ip("198.51.100.10"), ip("2001:db8:2::10")};
  fra1.probe = fra1.addresses;  // the default
  fra1.check = "web-http";      // the service's
  fra1.port = 8080;             // the check's
  web.pops = {ams1, fra1};
  want.services = {web};

  // Piece by piece first, for a readable failure; then the whole.
  EXPECT_EQ(d.listen, want.listen);
  EXPECT_EQ(d.rrl, want.rrl);
  EXPECT_EQ(d.regions, want.regions);
  EXPECT_EQ(d.pops, want.pops);
  ASSERT_EQ(d.zones.size(), 1u);
  ASSERT_EQ(d.zones[0].records.size(), z.records.size());
  for (size_t i = 0; i < z.records.size(); ++i) {
    EXPECT_EQ(d.zones[0].records[i], z.records[i]) << "record " << i;
  }
  EXPECT_EQ(d.zones[0].records[3].text, "v=spf1 -all");  // as written
  EXPECT_EQ(d.zones, want.zones);
  ASSERT_EQ(d.services.size(), 1u);
  EXPECT_EQ(d.services[0].pops, want.services[0].pops);
  EXPECT_EQ(d.services, want.services);
  EXPECT_EQ(d, want);
}

TEST(DnsConfig, NoDnsTableMeansNoResponder) {
  const Parsed p = parse("[other]\nx = 1\n");
  EXPECT_FALSE(p.dns.has_value());
  EXPECT_TRUE(p.errors.empty());
}

TEST(DnsConfig, DnsMustBeATable) {
  EXPECT_TRUE(one_error("dns = 1\n", "t.toml:1:7", "'dns' must be a table"));
}

TEST(DnsConfig, MinimalSectionTakesTheDefaults) {
  const DnsConfig d = parsed(base());
  DnsConfig want;
  want.listen = {{ip("127.0.0.1"), 53}};
  want.pops = {{"fra", "eu-central", 50.11, 8.68}, {"ams", "eu-west", 52.37, 4.9}};
  ZoneConfig z;
  z.apex = name("lb.example.com.");
  z.ns = {name("ns1.lb.example.com."), name("ns2.example.net.")};
  z.soa.mname = name("ns1.lb.example.com.");  // the first ns
  z.soa.rname = name("hostmaster.lb.example.com.");
  want.zones = {z};
  EXPECT_EQ(d, want);
  // The documented defaults, spelled out.
  EXPECT_EQ(d.threads, 2);
  EXPECT_EQ(d.udp_size, 1232);
  EXPECT_EQ(d.tcp_idle_ms, 10000u);
  EXPECT_EQ(d.tcp_connections, 512u);
  EXPECT_EQ(d.coalesce_us, 0u);
  EXPECT_EQ(d.ttl, 60u);
  EXPECT_EQ(d.pending_ttl, 10u);
  EXPECT_EQ(d.ttl_jitter, 0.0);
  EXPECT_EQ(d.answers, 2);
  EXPECT_FALSE(d.rrl.enabled);
  EXPECT_EQ(d.rrl.responses_per_second, 20u);
  EXPECT_EQ(d.rrl.window_s, 15u);
  EXPECT_EQ(d.rrl.slip, 2u);
  EXPECT_EQ(d.rrl.ipv4_prefix, 24);
  EXPECT_EQ(d.rrl.ipv6_prefix, 56);
  EXPECT_EQ(d.zones[0].ttl, 3600u);
  EXPECT_EQ(d.zones[0].soa.serial, 1u);
  EXPECT_EQ(d.zones[0].soa.refresh, 3600u);
  EXPECT_EQ(d.zones[0].soa.retry, 600u);
  EXPECT_EQ(d.zones[0].soa.expire, 1209600u);
  EXPECT_EQ(d.zones[0].soa.minimum, 60u);
}

// A mistake in every part of the file gives one error each, in file order.
TEST(DnsConfig, EveryMistakeIsReportedOnceInFileOrder) {
  const auto errors = parse(dns_with({"listen = [\"127.0.0.1:53\"]", "threads = 0"},
                                     {"records = [{ name = \"x\", type = \"A\", data = \"1\" }]",
                                      "[[dns.service]]", "name = \"Web\""}))
                          .errors;
  ASSERT_EQ(errors.size(), 4u) << config::format_errors(errors);
  EXPECT_EQ(errors[0].where, "t.toml:3:11");   // threads
  EXPECT_EQ(errors[1].where, "t.toml:18:45");  // the A record's data
  EXPECT_EQ(errors[2].where, "t.toml:19:1");   // the service has no pop
  EXPECT_EQ(errors[3].where, "t.toml:20:8");   // its name
}

// --- [dns] settings ------------------------------------------------------------------------

TEST(DnsConfig, ListenIsRequired) {
  EXPECT_TRUE(one_error(dns_with({}), "t.toml:1:1", "[dns] needs 'listen'", "listen = ["));
}

TEST(DnsConfig, ListenTakesAddrPortAndBracketedV6) {
  const DnsConfig d = parsed(dns_with({"listen = [\"192.0.2.53:5353\", \"[2001:db8::53]:53\"]"}));
  EXPECT_EQ(d.listen,
            (std::vector<ListenAddress>{{ip("192.0.2.53"), 5353}, {ip("2001:db8::53"), 53}}));
}

TEST(DnsConfig, ListenEntriesMustBeAddrPort) {
  for (std::string_view bad : {"127.0.0.1", "::1:53", "[::1]", "[127.0.0.1]:53", "127.0.0.1:0",
                               "127.0.0.1:65536", "localhost:53", "[::1]53", "127.0.0.1:5x"}) {
    EXPECT_TRUE(one_error(dns_with({fmt::format("listen = [\"{}\"]", bad)}), "t.toml:2:11",
                          "'dns.listen' entries must be \"ADDR:PORT\" or \"[V6ADDR]:PORT\"",
                          "for example"))
        << bad;
  }
}

TEST(DnsConfig, ListenAddressTwiceIsAnError) {
  EXPECT_TRUE(one_error(dns_with({"listen = [\"[::1]:53\", \"[0::1]:53\"]"}), "t.toml:2:23",
                        "'dns.listen' has \"[0::1]:53\" twice", "first at line 2:11"));
}

TEST(DnsConfig, ListenMayNotBeEmptyOrAString) {
  EXPECT_TRUE(
      one_error(dns_with({"listen = []"}), "t.toml:2:10", "'dns.listen' must list at least one"));
  EXPECT_TRUE(one_error(dns_with({"listen = \"127.0.0.1:53\""}), "t.toml:2:10",
                        "'dns.listen' must be an array"));
}

TEST(DnsConfig, SettingsOutOfRangeAreErrorsAtTheirValue) {
  struct Case {
    std::string_view line;
    std::string_view message;
  };
  for (const Case& c : {
           Case{"threads = 0", "'dns.threads' must be an integer 1..64 (got 0)"},
           Case{"threads = 65", "'dns.threads' must be an integer 1..64 (got 65)"},
           Case{"udp_size = 511", "'dns.udp_size' must be an integer 512..4096"},
           Case{"udp_size = 4097", "'dns.udp_size' must be an integer 512..4096"},
           Case{"tcp_idle_ms = 99", "'dns.tcp_idle_ms' must be an integer 100..600000"},
           Case{"tcp_connections = 0", "'dns.tcp_connections' must be an integer 1..65535"},
           Case{"coalesce_us = 5001", "'dns.coalesce_us' must be an integer 0..5000"},
           Case{"coalesce_us = -1", "'dns.coalesce_us' must be an integer 0..5000"},
           Case{"ttl = 86401", "'dns.ttl' must be an integer 0..86400"},
           Case{"pending_ttl = -1", "'dns.pending_ttl' must be an integer 0..86400"},
           Case{"ttl_jitter = 0.6", "'dns.ttl_jitter' must be a number 0..0.5"},
           Case{"answers = 0", "'dns.answers' must be an integer 1..16"},
           Case{"answers = 17", "'dns.answers' must be an integer 1..16"},
           Case{"nets = 1", "'dns.nets' must be a string"},
       }) {
    const size_t column = c.line.find('=') + 3;
    EXPECT_TRUE(one_error(dns_with({"listen = [\"127.0.0.1:53\"]", c.line}),
                          fmt::format("t.toml:3:{}", column), c.message))
        << c.line;
  }
}

TEST(DnsConfig, SettingsParse) {
  const DnsConfig d = parsed(dns_with(
      {"listen = [\"127.0.0.1:53\"]", "threads = 64", "identity = \"ns.example.net\"",
       "udp_size = 4096", "tcp_idle_ms = 600000", "tcp_connections = 65535", "coalesce_us = 5000",
       "ttl = 0", "pending_ttl = 0", "ttl_jitter = 0.5", "answers = 16", "nets = \"\""}));
  EXPECT_EQ(d.threads, 64);
  EXPECT_EQ(d.identity, "ns.example.net");
  EXPECT_EQ(d.udp_size, 4096);
  EXPECT_EQ(d.tcp_idle_ms, 600000u);
  EXPECT_EQ(d.tcp_connections, 65535u);
  EXPECT_EQ(d.coalesce_us, 5000u);
  EXPECT_EQ(d.ttl, 0u);
  EXPECT_EQ(d.pending_ttl, 0u);
  EXPECT_EQ(d.ttl_jitter, 0.5);
  EXPECT_EQ(d.answers, 16);
  EXPECT_EQ(d.nets, "");
}

TEST(DnsConfig, NsidAndIdentityArePrintableAsciiOfBoundedLength) {
  const std::string listen = "listen = [\"127.0.0.1:53\"]";
  const std::string n128(128, 'n');
  EXPECT_EQ(parsed(dns_with({listen, "nsid = \"" + n128 + "\""})).nsid, n128);
  EXPECT_TRUE(one_error(dns_with({listen, "nsid = \"" + n128 + "x\""}), "t.toml:3:8",
                        "'dns.nsid' must be at most 128 bytes of printable ASCII",
                        "\"<pop name>.<hostname>\""));
  EXPECT_TRUE(
      one_error(dns_with({listen, "nsid = \"a\\tb\""}), "t.toml:3:8",
                "'dns.nsid' must be at most 128 bytes of printable ASCII (got \"a\\x09b\")"));
  const std::string i255(255, 'i');
  EXPECT_EQ(parsed(dns_with({listen, "identity = \"" + i255 + "\""})).identity, i255);
  EXPECT_TRUE(one_error(dns_with({listen, "identity = \"" + i255 + "x\""}), "t.toml:3:12",
                        "'dns.identity' must be at most 255 bytes", "answers the NSID"));
}

TEST(DnsConfig, PendingTtlMayNotExceedTtl) {
  const std::string listen = "listen = [\"127.0.0.1:53\"]";
  // The default pending_ttl (10) above a lower ttl: reported at ttl, the key written.
  EXPECT_TRUE(one_error(dns_with({listen, "ttl = 5"}), "t.toml:3:7",
                        "'dns.pending_ttl' (10) must not be greater than ttl (5)",
                        "set pending_ttl too"));
  EXPECT_TRUE(one_error(dns_with({listen, "ttl = 30", "pending_ttl = 31"}), "t.toml:4:15",
                        "'dns.pending_ttl' (31) must not be greater than ttl (30)"));
  EXPECT_EQ(parsed(dns_with({listen, "ttl = 5", "pending_ttl = 5"})).pending_ttl, 5u);
  // A ttl already reported is not compared.
  EXPECT_TRUE(one_error(dns_with({listen, "ttl = -5", "pending_ttl = 3"}), "t.toml:3:7",
                        "'dns.ttl' must be an integer"));
}

TEST(DnsConfig, UnknownKeysSuggestTheClosest) {
  EXPECT_TRUE(one_error(dns_with({"listen = [\"127.0.0.1:53\"]", "thread = 2"}), "t.toml:3:1",
                        "unknown key 'dns.thread'", "did you mean 'threads'?"));
  EXPECT_TRUE(one_error(dns_with({"listen = [\"127.0.0.1:53\"]", "[dns.rrl]", "slips = 1"}),
                        "t.toml:4:1", "unknown key 'dns.rrl.slips'", "did you mean 'slip'?"));
  // A misspelt required key is one error, not also "missing".
  EXPECT_TRUE(one_error(dns_with({"listn = [\"127.0.0.1:53\"]"}), "t.toml:2:1",
                        "unknown key 'dns.listn'", "did you mean 'listen'?"));
}

// --- [dns.rrl] -----------------------------------------------------------------------------

TEST(DnsConfig, RrlParses) {
  const DnsConfig d = parsed(dns_with({"listen = [\"127.0.0.1:53\"]", "[dns.rrl]", "enabled = true",
                                       "responses_per_second = 1000000", "window_s = 3600",
                                       "slip = 0", "ipv4_prefix = 32", "ipv6_prefix = 128"}));
  EXPECT_EQ(d.rrl, (RrlConfig{true, 1000000, 3600, 0, 32, 128}));
}

TEST(DnsConfig, RrlValuesOutOfRangeAreErrors) {
  for (std::string_view line : {"responses_per_second = 0", "window_s = 3601", "slip = 11",
                                "ipv4_prefix = 7", "ipv6_prefix = 129", "enabled = 1"}) {
    const size_t column = line.find('=') + 3;
    EXPECT_TRUE(one_error(dns_with({"listen = [\"127.0.0.1:53\"]", "[dns.rrl]", line}),
                          fmt::format("t.toml:4:{}", column),
                          fmt::format("'dns.rrl.{}' must be", line.substr(0, line.find(' ')))))
        << line;
  }
  EXPECT_TRUE(one_error(dns_with({"listen = [\"127.0.0.1:53\"]", "rrl = true"}), "t.toml:3:7",
                        "'dns.rrl' must be a table"));
}

// --- [[dns.pop]] and [dns.regions] -------------------------------------------------------------

TEST(DnsConfig, PopNeedsEachOfItsKeysAtItsHeader) {
  for (std::string_view key : {"name", "region", "latitude", "longitude"}) {
    std::string text = base({"[[dns.pop]]"});
    for (std::string_view line :
         {"name = \"par\"", "region = \"eu-west\"", "latitude = 48.86", "longitude = 2.35"}) {
      if (!line.starts_with(key)) text += std::string(line) + "\n";
    }
    EXPECT_TRUE(one_error(text, "t.toml:17:1", fmt::format("a [[dns.pop]] needs a '{}'", key)))
        << key;
  }
}

TEST(DnsConfig, PopNamesAreSimpleAndUnique) {
  const std::string_view rest[] = {"region = \"eu-west\"", "latitude = 48.86", "longitude = 2.35"};
  auto pop = [&](std::string_view name_line) {
    return base({"[[dns.pop]]", name_line, rest[0], rest[1], rest[2]});
  };
  EXPECT_TRUE(one_error(pop("name = \"Paris\""), "t.toml:18:8",
                        "'dns.pop.name' must be 1..32 of a-z, 0-9, '_' and '-' (got \"Paris\")"));
  EXPECT_TRUE(one_error(pop("name = \"" + std::string(33, 'p') + "\""), "t.toml:18:8",
                        "'dns.pop.name' must be 1..32"));
  EXPECT_TRUE(one_error(pop("name = \"ams\""), "t.toml:18:8", "duplicate PoP name 'ams'",
                        "first defined at line 9:8"));
}

TEST(DnsConfig, PopCoordinatesAreInRange) {
  EXPECT_TRUE(one_error(base({"[[dns.pop]]", "name = \"par\"", "region = \"eu-west\"",
                              "latitude = 90.5", "longitude = 2"}),
                        "t.toml:20:12", "'dns.pop.latitude' must be a number -90..90"));
  EXPECT_TRUE(one_error(base({"[[dns.pop]]", "name = \"par\"", "region = \"eu-west\"",
                              "latitude = -90", "longitude = -180.5"}),
                        "t.toml:21:13", "'dns.pop.longitude' must be a number -180..180"));
  EXPECT_TRUE(one_error(base({"[[dns.pop]]", "name = \"par\"", "region = \"Europe West\"",
                              "latitude = -90", "longitude = 180"}),
                        "t.toml:19:10", "'dns.pop.region' must be 1..32 of a-z"));
}

TEST(DnsConfig, PopUnknownKeys) {
  EXPECT_TRUE(one_error(base({"[[dns.pop]]", "name = \"par\"", "region = \"eu-west\"",
                              "latitud = 48.86", "longitude = 2.35"}),
                        "t.toml:20:1", "unknown key 'dns.pop.latitud'",
                        "did you mean 'latitude'?"));
}

TEST(DnsConfig, ThisPopMustBeADnsPop) {
  DnsContext c = context();
  c.local_pop = "par";
  EXPECT_TRUE(one_error(base(), "t.toml:1:1", "no [[dns.pop]] is this PoP ('par', its [pop] name)",
                        "every PoP has a [[dns.pop]], this one included", c));
  c.local_pop = "frr";
  EXPECT_TRUE(one_error(base(), "t.toml:1:1", "no [[dns.pop]] is this PoP ('frr'",
                        "did you mean 'fra'?", c));
  c.local_pop = "";
  EXPECT_TRUE(one_error(base(), "t.toml:1:1", "[dns] needs this PoP's name, from [pop] name",
                        "set name in [pop]", c));
}

TEST(DnsConfig, RegionsListPopsInPreferenceOrder) {
  const DnsConfig d = parsed(dns_with({"listen = [\"127.0.0.1:53\"]", "[dns.regions]",
                                       "eu-central = [\"fra\", \"ams\"]", "africa = [\"ams\"]"}));
  EXPECT_EQ(d.regions, (std::vector<std::pair<std::string, std::vector<std::string>>>{
                           {"africa", {"ams"}}, {"eu-central", {"fra", "ams"}}}));
}

TEST(DnsConfig, RegionMistakes) {
  auto regions = [](std::string_view line) {
    return dns_with({"listen = [\"127.0.0.1:53\"]", "[dns.regions]", line});
  };
  EXPECT_TRUE(one_error(regions("eu = [\"fra\", \"amss\"]"), "t.toml:4:14",
                        "unknown PoP 'amss' in 'dns.regions.eu'", "did you mean 'ams'?"));
  EXPECT_TRUE(one_error(regions("eu = [\"fra\", \"par\"]"), "t.toml:4:14",
                        "unknown PoP 'par' in 'dns.regions.eu'", "defined PoPs: fra, ams"));
  EXPECT_TRUE(one_error(regions("eu = [\"fra\", \"fra\"]"), "t.toml:4:14",
                        "PoP 'fra' appears twice in 'dns.regions.eu'", "first at line 4:7"));
  EXPECT_TRUE(one_error(regions("eu = []"), "t.toml:4:6",
                        "'dns.regions.eu' must be a non-empty array of PoP names"));
  EXPECT_TRUE(one_error(regions("eu = \"fra\""), "t.toml:4:6",
                        "'dns.regions.eu' must be a non-empty array of PoP names"));
  EXPECT_TRUE(
      one_error(regions("EU = [\"fra\"]"), "t.toml:4:1", "region name 'EU' must be 1..32 of a-z"));
  // A region with a PoP's name: ambiguous as a nets file target.
  EXPECT_TRUE(one_error(regions("ams = [\"ams\"]"), "t.toml:4:1",
                        "region 'ams' has the name of a PoP", "give the region another name"));
  EXPECT_TRUE(one_error(base({"[[dns.pop]]", "name = \"par\"", "region = \"fra\"",
                              "latitude = 48.86", "longitude = 2.35"}),
                        "t.toml:19:10", "region 'fra' has the name of a PoP"));
}

// --- [[dns.zone]] --------------------------------------------------------------------------

TEST(DnsConfig, AtLeastOneZone) {
  EXPECT_TRUE(
      one_error(lines({"[dns]", "listen = [\"127.0.0.1:53\"]", "[[dns.pop]]", "name = \"fra\"",
                       "region = \"eu\"", "latitude = 0", "longitude = 0"}),
                "t.toml:1:1", "[dns] needs at least one [[dns.zone]]"));
}

TEST(DnsConfig, ZoneNameIsAbsolute) {
  const std::string text =
      lines({"[dns]", "listen = [\"127.0.0.1:53\"]", "[[dns.pop]]", "name = \"fra\"",
             "region = \"eu\"", "latitude = 0", "longitude = 0", "[[dns.zone]]",
             "name = \"lb.example.com\"", "ns = [\"ns1\"]", "soa = { rname = \"hostmaster\" }",
             "records = [{ name = \"www\", type = \"A\", data = \"x\" }]"});
  // The records are not checked against a bad apex (they are relative to it).
  EXPECT_TRUE(one_error(text, "t.toml:9:8",
                        "'dns.zone.name' must be an absolute domain name, ending in '.' (got "
                        "\"lb.example.com\")",
                        "name = \"lb.example.com.\""));
}

TEST(DnsConfig, ZoneNeedsNsAndSoaWithRname) {
  auto zone = [](std::initializer_list<std::string_view> keys) {
    std::string out = base({"[[dns.zone]]", "name = \"other.example.\""});
    for (std::string_view k : keys) out += std::string(k) + "\n";
    return out;
  };
  EXPECT_TRUE(
      one_error(zone({"soa = { rname = \"h\" }"}), "t.toml:17:1", "a [[dns.zone]] needs 'ns'"));
  EXPECT_TRUE(one_error(zone({"ns = [\"ns1\"]"}), "t.toml:17:1", "a [[dns.zone]] needs 'soa'"));
  EXPECT_TRUE(one_error(zone({"ns = [\"ns1\"]", "soa = { serial = 5 }"}), "t.toml:20:7",
                        "the zone's soa needs an 'rname'", "hostmaster.example.com."));
  EXPECT_TRUE(one_error(zone({"ns = []", "soa = { rname = \"h\" }"}), "t.toml:19:6",
                        "'dns.zone.ns' must list at least one"));
  EXPECT_TRUE(one_error(zone({"ns = [\"ns1\", \"ns1.other.example.\"]", "soa = { rname = \"h\" }"}),
                        "t.toml:19:14", "name server ns1.other.example. appears twice"));
  EXPECT_TRUE(one_error(zone({"ns = [\"ns1..x\"]", "soa = { rname = \"h\" }"}), "t.toml:19:7",
                        "'dns.zone.ns' entries must be domain names (got \"ns1..x\")"));
  EXPECT_TRUE(one_error(zone({"ns = [\"ns1\"]", "soa = \"h\""}), "t.toml:20:7",
                        "'dns.zone.soa' must be a table"));
}

TEST(DnsConfig, SoaNamesAndNumbers) {
  const std::string soa_line =
      "soa = { mname = \"primary.example.net.\", rname = \"dns-admin.example.org.\", "
      "serial = 4294967295, refresh = 1, retry = 2, expire = 3, minimum = 86400 }";
  const DnsConfig d =
      parsed(lines({"[dns]", "listen = [\"127.0.0.1:53\"]", "[[dns.pop]]", "name = \"fra\"",
                    "region = \"eu\"", "latitude = 0", "longitude = 0", "[[dns.zone]]",
                    "name = \"lb.example.com.\"", "ns = [\"ns1\"]", soa_line}));
  const Soa& soa = d.zones[0].soa;
  EXPECT_EQ(soa.mname, name("primary.example.net."));  // may be outside the zone
  EXPECT_EQ(soa.rname, name("dns-admin.example.org."));
  EXPECT_EQ(soa.serial, 4294967295u);
  EXPECT_EQ(soa.refresh, 1u);
  EXPECT_EQ(soa.retry, 2u);
  EXPECT_EQ(soa.expire, 3u);
  EXPECT_EQ(soa.minimum, 86400u);
  EXPECT_EQ(parsed(base({"[[dns.zone]]", "name = \"other.example.\"", "ns = [\"a.example.\"]",
                         "soa = { mname = \"@\", rname = \"@\" }"}))
                .zones[1]
                .soa.mname,
            name("other.example."));
}

TEST(DnsConfig, SoaMistakes) {
  auto soa = [](std::string_view table) {
    return base({"[[dns.zone]]", "name = \"other.example.\"", "ns = [\"ns1\"]",
                 fmt::format("soa = {}", table)});
  };
  EXPECT_TRUE(one_error(soa("{ rname = \"hostmaster@example.com\" }"), "t.toml:20:17",
                        "'dns.zone.soa.rname' is a mailbox written as a domain name",
                        "\"hostmaster.example.com.\""));
  EXPECT_TRUE(one_error(soa("{ rname = \"h\", minimum = 86401 }"), "t.toml:20:32",
                        "'dns.zone.soa.minimum' must be an integer 0..86400"));
  EXPECT_TRUE(one_error(soa("{ rname = \"h\", expire = 2147483648 }"), "t.toml:20:31",
                        "'dns.zone.soa.expire' must be an integer 0..2147483647"));
  EXPECT_TRUE(one_error(soa("{ rname = \"h\", serial = -1 }"), "t.toml:20:31",
                        "'dns.zone.soa.serial' must be an integer 0..4294967295"));
  EXPECT_TRUE(one_error(soa("{ rname = \"h\", mname = \"a..b\" }"), "t.toml:20:30",
                        "'dns.zone.soa.mname' must be a domain name"));
  EXPECT_TRUE(one_error(soa("{ rname = \"h\", mnam = \"x\" }"), "t.toml:20:22",
                        "unknown key 'dns.zone.soa.mnam'", "did you mean 'mname'?"));
}

TEST(DnsConfig, ZonesMayNotNestOrRepeat) {
  auto second = [](std::string_view apex) {
    return base({"[[dns.zone]]", fmt::format("name = \"{}\"", apex), "ns = [\"ns1\"]",
                 "soa = { rname = \"h\" }"});
  };
  EXPECT_TRUE(one_error(second("eu.lb.example.com."), "t.toml:18:8",
                        "zone eu.lb.example.com. is inside zone lb.example.com. (line 14:8): "
                        "zones may not nest",
                        "delegate it there with NS records"));
  EXPECT_TRUE(one_error(second("example.com."), "t.toml:18:8",
                        "zone lb.example.com. is inside zone example.com. (line 14:8)"));
  EXPECT_TRUE(one_error(second("LB.example.com."), "t.toml:18:8", "duplicate zone lb.example.com.",
                        "first defined at line 14:8"));
  EXPECT_EQ(parsed(second("xlb.example.com.")).zones.size(), 2u);  // a suffix, not inside
}

TEST(DnsConfig, ZoneUnknownKeys) {
  EXPECT_TRUE(one_error(base({"record = []"}), "t.toml:17:1", "unknown key 'dns.zone.record'",
                        "did you mean 'records'?"));
  EXPECT_TRUE(
      one_error(records({"{ name = \"www\", type = \"A\", data = \"192.0.2.1\", tll = 5 }"}),
                "t.toml:18:49", "unknown key 'dns.zone.records.tll'", "did you mean 'ttl'?"));
}

// --- records -------------------------------------------------------------------------------

TEST(DnsConfig, RecordNamesAreRelativeAbsoluteOrTheApex) {
  const DnsConfig d =
      parsed(records({"{ name = \"www\", type = \"A\", data = \"192.0.2.1\" }",
                      "{ name = \"WWW.lb.example.com.\", type = \"AAAA\", data = \"2001:db8::1\" }",
                      "{ name = \"@\", type = \"TXT\", data = \"apex\" }",
                      "{ name = \"a.b\", type = \"PTR\", data = \"@\" }"}));
  const auto& rs = d.zones[0].records;
  ASSERT_EQ(rs.size(), 4u);
  EXPECT_EQ(rs[0].name, name("www.lb.example.com."));
  EXPECT_EQ(rs[1].name, name("www.lb.example.com."));
  EXPECT_EQ(rs[2].name, name("lb.example.com."));
  EXPECT_EQ(rs[3].name, name("a.b.lb.example.com."));
  EXPECT_EQ(rs[3].rdata, wire("lb.example.com."));  // "@" in data too
}

TEST(DnsConfig, RecordOutsideTheZoneIsAnError) {
  EXPECT_TRUE(one_error(records({"{ name = \"www.example.net.\", type = \"A\", data = "
                                 "\"192.0.2.1\" }"}),
                        "t.toml:18:10",
                        "'dns.zone.records.name' www.example.net. is not inside zone "
                        "lb.example.com.",
                        "relative to the zone"));
  EXPECT_TRUE(one_error(records({"{ name = \"a b\", type = \"A\", data = \"192.0.2.1\" }"}),
                        "t.toml:18:10", "'dns.zone.records.name' must be a domain name"));
}

TEST(DnsConfig, RecordTtlDefaultsToTheZones) {
  const DnsConfig d = parsed(
      base({"ttl = 600", "records = [", "{ name = \"a\", type = \"A\", data = \"192.0.2.1\" },",
            "{ name = \"b\", type = \"A\", data = \"192.0.2.1\", ttl = 0 },", "]"}));
  EXPECT_EQ(d.zones[0].ttl, 600u);
  EXPECT_EQ(d.zones[0].records[0].ttl, 600u);
  EXPECT_EQ(d.zones[0].records[1].ttl, 0u);
  EXPECT_TRUE(
      one_error(records({"{ name = \"a\", type = \"A\", data = \"192.0.2.1\", ttl = 604801 }"}),
                "t.toml:18:53", "'dns.zone.records.ttl' must be an integer 0..604800"));
}

TEST(DnsConfig, RecordsNeedNameTypeAndData) {
  EXPECT_TRUE(one_error(records({"{ type = \"A\", data = \"192.0.2.1\" }"}), "t.toml:18:1",
                        "a record needs a 'name'"));
  EXPECT_TRUE(one_error(records({"{ name = \"a\", data = \"192.0.2.1\" }"}), "t.toml:18:1",
                        "a record needs a 'type'", "one of A, AAAA"));
  EXPECT_TRUE(one_error(records({"{ name = \"a\", type = \"A\" }"}), "t.toml:18:1",
                        "a record needs its 'data'"));
  EXPECT_TRUE(one_error(base({"records = [\"a A 192.0.2.1\"]"}), "t.toml:17:12",
                        "'dns.zone.records' entries must be tables"));
  EXPECT_TRUE(one_error(base({"records = 5"}), "t.toml:17:11",
                        "'dns.zone.records' must be an array of records"));
}

TEST(DnsConfig, RecordTypesTheZoneDoesNotTake) {
  auto one = [](std::string_view owner, std::string_view type, std::string_view data) {
    return records(
        {fmt::format("{{ name = \"{}\", type = \"{}\", data = \"{}\" }}", owner, type, data)});
  };
  const size_t at = 18;
  EXPECT_TRUE(one_error(one("a", "CNAM", "b"), fmt::format("t.toml:{}:22", at),
                        "unknown record type \"CNAM\"", "did you mean 'CNAME'?"));
  EXPECT_TRUE(one_error(one("a", "cnme", "b"), fmt::format("t.toml:{}:22", at),
                        "unknown record type \"cnme\"", "did you mean 'CNAME'?"));
  EXPECT_TRUE(one_error(one("@", "SOA", "x"), fmt::format("t.toml:{}:22", at),
                        "a zone's SOA record comes from its 'soa' table"));
  EXPECT_TRUE(one_error(one("a", "DS", "x"), fmt::format("t.toml:{}:22", at),
                        "record type DS is not supported in a zone", "supported: A, AAAA"));
  EXPECT_TRUE(one_error(one("a", "TYPE99", "x"), fmt::format("t.toml:{}:22", at),
                        "record type TYPE99 is not supported"));
  EXPECT_TRUE(one_error(one("@", "NS", "ns3"), fmt::format("t.toml:{}:22", at),
                        "the apex NS records are the zone's 'ns' list", "ns = [...]"));
  EXPECT_TRUE(one_error(one("@", "CNAME", "x.example."), fmt::format("t.toml:{}:22", at),
                        "a CNAME cannot be at the zone's apex"));
  // Any case is a type.
  EXPECT_EQ(parsed(one("a", "aaaa", "2001:db8::1")).zones[0].records[0].type, type::kAaaa);
}

// rdata_from_text's complaint, at the data key.
TEST(DnsConfig, RecordDataErrorsAreAtTheDataKey) {
  struct Case {
    std::string_view type, data, message;
  };
  for (const Case& c : {
           Case{"A", "192.0.2.300",
                "not valid A data (got \"192.0.2.300\"): '192.0.2.300' is "
                "not an IPv4 address"},
           Case{"A", "2001:db8::1", "is not an IPv4 address"},
           Case{"AAAA", "192.0.2.1", "is not an IPv6 address"},
           Case{"MX", "mail", "MX: a preference 0..65535, then a name"},
           Case{"MX", "10 mail extra", "MX: a preference and one name expected"},
           Case{"SRV", "0 5 443", "is not a domain name"},
           Case{"SRV", "0 5 443 web extra", "SRV: priority, weight, port and one target name"},
           Case{"CNAME", "a..b", "'a..b' is not a domain name"},
           Case{"TXT", "\\\"open", "unterminated quoted string"},
           Case{"TXT", "", "no text"},
           Case{"CAA", "0 issue", "CAA: one value"},
       }) {
    const std::string text =
        records({fmt::format("{{ name = \"a\", type = \"{}\", data = \"{}\" }}", c.type, c.data)});
    const size_t column = 33 + c.type.size();
    EXPECT_TRUE(one_error(text, fmt::format("t.toml:18:{}", column), c.message))
        << c.type << " " << c.data;
  }
}

TEST(DnsConfig, TxtDataIsOneStringUnlessQuoted) {
  const DnsConfig d = parsed(
      records({"{ name = \"a\", type = \"TXT\", data = \"v=spf1 -all\" }",
               "{ name = \"b\", type = \"TXT\", data = '\"x y\" \"z\"' }",
               "{ name = \"c\", type = \"TXT\", data = \"" + std::string(300, 'k') + "\" }"}));
  const auto& rs = d.zones[0].records;
  const std::string spf = "v=spf1 -all";
  std::vector<uint8_t> one{static_cast<uint8_t>(spf.size())};
  one.insert(one.end(), spf.begin(), spf.end());
  EXPECT_EQ(rs[0].rdata, one);
  EXPECT_EQ(rs[1].rdata, (std::vector<uint8_t>{3, 'x', ' ', 'y', 1, 'z'}));
  ASSERT_EQ(rs[2].rdata.size(), 302u);  // 255 + 45 bytes, each with its length byte
  EXPECT_EQ(rs[2].rdata[0], 255);
  EXPECT_EQ(rs[2].rdata[256], 45);
}

TEST(DnsConfig, DuplicateRecordIsAnError) {
  EXPECT_TRUE(one_error(records({"{ name = \"a\", type = \"A\", data = \"192.0.2.1\" }",
                                 "{ name = \"A\", type = \"a\", data = \" 192.0.2.1\", ttl = 5 }"}),
                        "t.toml:19:1", "duplicate record a.lb.example.com. A \" 192.0.2.1\"",
                        "first at line 18:1"));
}

TEST(DnsConfig, AnRRsetHasOneTtl) {
  EXPECT_TRUE(one_error(records({"{ name = \"a\", type = \"A\", data = \"192.0.2.1\" }",
                                 "{ name = \"a\", type = \"A\", data = \"192.0.2.2\", ttl = 5 }",
                                 "{ name = \"a\", type = \"A\", data = \"192.0.2.3\", ttl = 5 }"}),
                        "t.toml:19:53",
                        "the a.lb.example.com. A records have different TTLs: 5 here, 3600 at "
                        "line 18:1",
                        "RFC 2181 5.2"));
  // Another type at the name is another RRset.
  parsed(records({"{ name = \"a\", type = \"A\", data = \"192.0.2.1\" }",
                  "{ name = \"a\", type = \"TXT\", data = \"x\", ttl = 5 }"}));
}

TEST(DnsConfig, CnameIsAloneAtItsName) {
  EXPECT_TRUE(one_error(records({"{ name = \"www\", type = \"CNAME\", data = \"web\" }",
                                 "{ name = \"www\", type = \"TXT\", data = \"x\" }",
                                 "{ name = \"www\", type = \"MX\", data = \"0 mx\" }"}),
                        "t.toml:19:1",
                        "www.lb.example.com. has a CNAME, so it can have no other record: CNAME "
                        "at line 18:1, TXT here",
                        "RFC 1034 3.6.2"));
  EXPECT_TRUE(one_error(records({"{ name = \"www\", type = \"TXT\", data = \"x\" }",
                                 "{ name = \"www\", type = \"CNAME\", data = \"web\" }"}),
                        "t.toml:19:1", "TXT at line 18:1, CNAME here"));
  EXPECT_TRUE(one_error(records({"{ name = \"www\", type = \"CNAME\", data = \"web\" }",
                                 "{ name = \"www\", type = \"CNAME\", data = \"web2\" }"}),
                        "t.toml:19:1", "CNAME at line 18:1, CNAME here"));
  // A CNAME below another name's CNAME is another name.
  parsed(records({"{ name = \"www\", type = \"CNAME\", data = \"web\" }",
                  "{ name = \"x.www\", type = \"CNAME\", data = \"web\" }"}));
}

TEST(DnsConfig, DelegationsHaveOnlyTheirNsAndGlue) {
  const DnsConfig d = parsed(records({
      "{ name = \"sub\", type = \"NS\", data = \"ns1.sub\" }",
      "{ name = \"sub\", type = \"NS\", data = \"sub\" }",
      "{ name = \"sub\", type = \"NS\", data = \"ns.example.net.\" }",
      "{ name = \"ns1.sub\", type = \"A\", data = \"192.0.2.1\" }",  // glue below the cut
      "{ name = \"ns1.sub\", type = \"AAAA\", data = \"2001:db8::1\" }",
      "{ name = \"sub\", type = \"A\", data = \"192.0.2.2\" }",  // glue at the cut
  }));
  EXPECT_EQ(d.zones[0].records.size(), 6u);

  EXPECT_TRUE(one_error(records({"{ name = \"sub\", type = \"NS\", data = \"ns1.sub\" }",
                                 "{ name = \"www.sub\", type = \"A\", data = \"192.0.2.1\" }"}),
                        "t.toml:19:1",
                        "www.sub.lb.example.com. A is below the delegation sub.lb.example.com. "
                        "(NS at line 18:1): the zone has no data there",
                        "only glue may be there"));
  EXPECT_TRUE(one_error(records({"{ name = \"sub\", type = \"NS\", data = \"ns1.sub\" }",
                                 "{ name = \"sub\", type = \"TXT\", data = \"x\" }"}),
                        "t.toml:19:1",
                        "sub.lb.example.com. is a delegation (NS at line 18:1): the zone has "
                        "only its NS records and glue there, not sub.lb.example.com. TXT"));
  // An address of a name the NS records do not point to is not glue.
  EXPECT_TRUE(one_error(records({"{ name = \"ns9.sub\", type = \"A\", data = \"192.0.2.9\" }",
                                 "{ name = \"sub\", type = \"NS\", data = \"ns1.sub\" }"}),
                        "t.toml:18:1", "ns9.sub.lb.example.com. A is below the delegation"));
  // A delegation inside a delegation.
  EXPECT_TRUE(
      one_error(records({"{ name = \"sub\", type = \"NS\", data = \"ns.example.net.\" }",
                         "{ name = \"a.sub\", type = \"NS\", data = \"ns.example.net.\" }"}),
                "t.toml:19:1", "a.sub.lb.example.com. NS is below the delegation"));
  // A CNAME at a delegation: one error.
  EXPECT_TRUE(one_error(records({"{ name = \"sub\", type = \"NS\", data = \"ns.example.net.\" }",
                                 "{ name = \"sub\", type = \"CNAME\", data = \"web\" }"}),
                        "t.toml:19:1", "is a delegation"));
}

// --- [[dns.service]] -----------------------------------------------------------------------

TEST(DnsConfig, ServiceDefaultsComeFromDns) {
  const DnsConfig d = parsed(
      dns_with({"listen = [\"127.0.0.1:53\"]", "ttl = 30", "pending_ttl = 3", "ttl_jitter = 0.2",
                "answers = 4"},
               {"[[dns.service]]", "name = \"web\"", "check = \"http\"", "[[dns.service.pop]]",
                "pop = \"fra\"", "vips = [\"web\", \"web6\"]", "[[dns.service.pop]]",
                "pop = \"ams\"", "addresses = [\"198.51.100.10\", \"2001:db8:2::10\"]"}));
  ASSERT_EQ(d.services.size(), 1u);
  ServiceConfig want;
  want.name = "web";
  want.owner = name("web.lb.example.com.");
  want.zone = name("lb.example.com.");
  want.ttl = 30;
  want.pending_ttl = 3;
  want.ttl_jitter = 0.2;
  want.answers = 4;
  want.check = "http";
  want.pops = {ServicePopConfig{"fra", {"web", "web6"}, {}, {}, "", 0},
               ServicePopConfig{"ams",
                                {},
                                {ip("198.51.100.10"), ip("2001:db8:2::10")},
                                {ip("198.51.100.10"), ip("2001:db8:2::10")},
                                "http",
                                80}};
  EXPECT_EQ(d.services[0], want);
}

TEST(DnsConfig, ServiceOverridesTheDefaults) {
  const DnsConfig d =
      parsed(service({"zone = \"lb.example.com\"", "host = \"@\"", "ttl = 300", "pending_ttl = 30",
                      "ttl_jitter = 0.5", "answers = 1", "when_all_down = \"static\"",
                      "static = [\"192.0.2.200\", \"2001:db8::200\"]"},
                     {"[[dns.service.pop]]", "pop = \"ams\"", "addresses = [\"198.51.100.10\"]",
                      "probe = [\"10.1.0.10\"]", "check = \"tcp\"", "port = 8443"}));
  const ServiceConfig& v = d.services[0];
  EXPECT_EQ(v.owner, name("lb.example.com."));
  EXPECT_EQ(v.ttl, 300u);
  EXPECT_EQ(v.pending_ttl, 30u);
  EXPECT_EQ(v.ttl_jitter, 0.5);
  EXPECT_EQ(v.answers, 1);
  EXPECT_EQ(v.when_all_down, WhenAllDown::Static);
  EXPECT_EQ(v.static_addresses, (std::vector<IpAddress>{ip("192.0.2.200"), ip("2001:db8::200")}));
  EXPECT_EQ(v.check, "");
  EXPECT_EQ(v.pops, (std::vector<ServicePopConfig>{ServicePopConfig{
                        "ams", {}, {ip("198.51.100.10")}, {ip("10.1.0.10")}, "tcp", 8443}}));
}

TEST(DnsConfig, ServiceHostIsRelativeAbsoluteOrTheApex) {
  EXPECT_EQ(parsed(service({"host = \"www.eu\""})).services[0].owner,
            name("www.eu.lb.example.com."));
  EXPECT_EQ(parsed(service({"host = \"x.lb.example.com.\""})).services[0].owner,
            name("x.lb.example.com."));
  EXPECT_TRUE(one_error(service({"host = \"www.example.net.\""}), "t.toml:19:8",
                        "'dns.service.host' www.example.net. is not inside zone lb.example.com."));
}

TEST(DnsConfig, ServiceNamesAreLabelsAndUnique) {
  EXPECT_TRUE(one_error(service({}, {"[[dns.service.pop]]", "pop = \"fra\"", "vips = [\"web\"]",
                                     "[[dns.service]]", "name = \"web\"", "host = \"www\"",
                                     "[[dns.service.pop]]", "pop = \"fra\"", "vips = [\"api\"]"}),
                        "t.toml:23:8", "duplicate service name 'web'",
                        "first defined at line 18:8"));
  EXPECT_TRUE(one_error(base({"[[dns.service]]", "name = \"Web.site\"", "host = \"web\"",
                              "[[dns.service.pop]]", "pop = \"fra\"", "vips = [\"web\"]"}),
                        "t.toml:18:8", "'dns.service.name' must be 1..63 of a-z, 0-9"));
  EXPECT_TRUE(one_error(
      base({"[[dns.service]]", "[[dns.service.pop]]", "pop = \"fra\"", "vips = [\"web\"]"}),
      "t.toml:17:1", "a [[dns.service]] needs a 'name'"));
}

TEST(DnsConfig, ServiceNeedsAPop) {
  EXPECT_TRUE(one_error(service({}, {}), "t.toml:17:1",
                        "service 'web' needs at least one [[dns.service.pop]]"));
}

TEST(DnsConfig, ServiceZoneIsOptionalWithOneZoneOnly) {
  const std::initializer_list<std::string_view> two_zones = {
      "[[dns.zone]]",        "name = \"other.example.\"",
      "ns = [\"ns1\"]",      "soa = { rname = \"h\" }",
      "[[dns.service]]",     "name = \"web\"",
      "[[dns.service.pop]]", "pop = \"fra\"",
      "vips = [\"web\"]"};
  EXPECT_TRUE(one_error(base(two_zones), "t.toml:21:1",
                        "the service needs 'zone': [dns] has 2 zones",
                        "one of lb.example.com., other.example."));
  EXPECT_TRUE(one_error(service({"zone = \"lb.example.org.\""}), "t.toml:19:8",
                        "unknown zone 'lb.example.org.' in 'dns.service.zone'",
                        "did you mean 'lb.example.com.'?"));
  EXPECT_TRUE(one_error(service({"zone = \"a..b\""}), "t.toml:19:8",
                        "'dns.service.zone' must be a zone's name"));
}

// A zone whose name was reported is not reported again as the service's unknown zone, nor
// are its records checked against a name it has not got.
TEST(DnsConfig, ServiceInABadZoneIsOneError) {
  EXPECT_TRUE(one_error(
      base({"[[dns.zone]]", "name = \"other.example\"", "ns = [\"ns1\"]", "soa = { rname = \"h\" }",
            "[[dns.service]]", "name = \"web\"", "zone = \"other.example\"", "[[dns.service.pop]]",
            "pop = \"fra\"", "vips = [\"web\"]"}),
      "t.toml:18:8", "'dns.zone.name' must be an absolute domain name"));
}

TEST(DnsConfig, ServiceNameOwnsItsAddressRecords) {
  auto with = [](std::string_view record, std::string_view host = "web") {
    return records({record},
                   {"[[dns.service]]", "name = \"web\"", fmt::format("host = \"{}\"", host),
                    "[[dns.service.pop]]", "pop = \"fra\"", "vips = [\"web\"]"});
  };
  // Other types at its name are the zone's.
  parsed(with("{ name = \"web\", type = \"TXT\", data = \"x\" }"));
  parsed(with("{ name = \"web\", type = \"MX\", data = \"10 mx\" }"));
  EXPECT_TRUE(one_error(with("{ name = \"web\", type = \"A\", data = \"192.0.2.1\" }"),
                        "t.toml:22:8",
                        "service 'web' answers for web.lb.example.com., which has an A record "
                        "(line 18:1)",
                        "a service owns the A and AAAA records of its name"));
  EXPECT_TRUE(one_error(with("{ name = \"web\", type = \"AAAA\", data = \"2001:db8::1\" }"),
                        "t.toml:22:8", "which has an AAAA record"));
  EXPECT_TRUE(one_error(with("{ name = \"web\", type = \"CNAME\", data = \"x\" }"), "t.toml:22:8",
                        "which has a CNAME record (line 18:1)", "RFC 1034 3.6.2"));
  EXPECT_TRUE(one_error(with("{ name = \"web\", type = \"NS\", data = \"ns.example.net.\" }"),
                        "t.toml:22:8",
                        "service 'web' answers for web.lb.example.com., which is the delegation "
                        "web.lb.example.com."));
  EXPECT_TRUE(
      one_error(with("{ name = \"eu\", type = \"NS\", data = \"ns.example.net.\" }", "web.eu"),
                "t.toml:22:8", "below the delegation eu.lb.example.com."));
}

TEST(DnsConfig, TwoServicesCannotAnswerForOneName) {
  EXPECT_TRUE(one_error(service({}, {"[[dns.service.pop]]", "pop = \"fra\"", "vips = [\"web\"]",
                                     "[[dns.service]]", "name = \"api\"", "host = \"web\"",
                                     "[[dns.service.pop]]", "pop = \"fra\"", "vips = [\"api\"]"}),
                        "t.toml:24:8",
                        "services 'web' and 'api' both answer for web.lb.example.com.",
                        "the other is at line 18:8"));
}

TEST(DnsConfig, ThisPopAnswersWithItsVips) {
  auto local = [](std::initializer_list<std::string_view> keys) {
    std::vector<std::string_view> pops = {"[[dns.service.pop]]", "pop = \"fra\""};
    pops.insert(pops.end(), keys.begin(), keys.end());
    std::string out = service({}, {});
    for (std::string_view l : pops) out += std::string(l) + "\n";
    return out;
  };
  EXPECT_TRUE(one_error(local({"vips = [\"web\", \"wbe6\"]"}), "t.toml:21:16",
                        "unknown VIP 'wbe6' in 'dns.service.pop.vips'", "did you mean 'web6'?"));
  EXPECT_TRUE(one_error(local({"vips = [\"web\", \"web\"]"}), "t.toml:21:16",
                        "VIP 'web' appears twice", "first at line 21:9"));
  EXPECT_TRUE(one_error(local({}), "t.toml:19:1", "the local PoP 'fra' needs 'vips'"));
  EXPECT_TRUE(one_error(local({"vips = []"}), "t.toml:21:8",
                        "'dns.service.pop.vips' must list at least one of VIP names"));
  // Remote keys on this PoP: one error, naming them all.
  EXPECT_TRUE(one_error(local({"addresses = [\"192.0.2.1\"]", "port = 80"}), "t.toml:21:13",
                        "'fra' is this PoP ([pop] name): it answers with its VIPs' addresses, so "
                        "addresses, port do not apply",
                        "vips = ["));
  DnsContext no_vips = context();
  no_vips.vips.clear();
  EXPECT_TRUE(one_error(local({"vips = [\"web\"]"}), "t.toml:21:9", "unknown VIP 'web'",
                        "no VIPs are defined", no_vips));
}

TEST(DnsConfig, RemotePopsAnswerWithTheirAddresses) {
  auto remote = [](std::initializer_list<std::string_view> keys,
                   std::initializer_list<std::string_view> service_keys = {"check = \"http\""}) {
    std::string out = service(service_keys, {"[[dns.service.pop]]", "pop = \"ams\""});
    for (std::string_view l : keys) out += std::string(l) + "\n";
    return out;
  };
  EXPECT_TRUE(one_error(remote({"vips = [\"web\"]"}), "t.toml:22:8",
                        "'dns.service.pop.vips' names this PoP's VIPs, but 'ams' is a remote PoP "
                        "(this one is 'fra')",
                        "addresses = ["));
  EXPECT_TRUE(one_error(remote({}), "t.toml:20:1", "the remote PoP 'ams' needs 'addresses'"));
  EXPECT_TRUE(one_error(remote({"addresses = [\"198.51.100.10\", \"198.51.100.x\"]"}),
                        "t.toml:22:31",
                        "'dns.service.pop.addresses' entries must be IPv4 or IPv6 addresses (got "
                        "\"198.51.100.x\")"));
  EXPECT_TRUE(one_error(remote({"addresses = [\"2001:db8::1\", \"2001:DB8::1\"]"}), "t.toml:22:29",
                        "2001:db8::1 appears twice in 'dns.service.pop.addresses'"));
  EXPECT_TRUE(one_error(remote({"addresses = [\"198.51.100.10\"]", "probe = []"}), "t.toml:23:9",
                        "'dns.service.pop.probe' must list at least one"));
  EXPECT_TRUE(one_error(remote({"addresses = [\"198.51.100.10\"]", "port = 0"}), "t.toml:23:8",
                        "'dns.service.pop.port' must be an integer 1..65535"));
  EXPECT_TRUE(one_error(remote({"adresses = [\"198.51.100.10\"]"}), "t.toml:22:1",
                        "unknown key 'dns.service.pop.adresses'", "did you mean 'addresses'?"));
}

TEST(DnsConfig, RemotePopsNeedACheck) {
  auto remote = [](std::initializer_list<std::string_view> service_keys,
                   std::initializer_list<std::string_view> pop_keys) {
    std::string out = service(
        service_keys, {"[[dns.service.pop]]", "pop = \"ams\"", "addresses = [\"198.51.100.10\"]"});
    for (std::string_view l : pop_keys) out += std::string(l) + "\n";
    return out;
  };
  EXPECT_TRUE(one_error(remote({}, {}), "t.toml:17:1",
                        "service 'web' needs 'check': its remote PoP 'ams' has no check of its own",
                        "a [check.NAME] that probes the remote PoPs' addresses"));
  // Its own check is enough.
  EXPECT_EQ(parsed(remote({}, {"check = \"tcp\""})).services[0].pops[0].port, 443);
  EXPECT_TRUE(one_error(remote({"check = \"htp\""}, {}), "t.toml:19:9", "unknown check 'htp'",
                        "did you mean 'http'?"));
  EXPECT_TRUE(one_error(remote({}, {"check = \"tpc\""}), "t.toml:22:9", "unknown check 'tpc'",
                        "did you mean 'tcp'?"));
  DnsContext no_checks = context();
  no_checks.checks.clear();
  no_checks.check_ports.clear();
  EXPECT_TRUE(one_error(remote({}, {"check = \"tcp\""}), "t.toml:22:9", "unknown check 'tcp'",
                        "no checks are defined", no_checks));
}

TEST(DnsConfig, RemotePopNeedsAPortWhenItsCheckProbesTheVipsPort) {
  auto remote = [](std::initializer_list<std::string_view> pop_keys) {
    std::string out = service({"check = \"vip-port\""}, {"[[dns.service.pop]]", "pop = \"ams\"",
                                                         "addresses = [\"198.51.100.10\"]"});
    for (std::string_view l : pop_keys) out += std::string(l) + "\n";
    return out;
  };
  EXPECT_TRUE(one_error(remote({}), "t.toml:20:1",
                        "the remote PoP 'ams' needs 'port': check 'vip-port' probes the VIP's "
                        "port (its port is 0)",
                        "set port in [check.vip-port]"));
  const ServicePopConfig p = parsed(remote({"port = 8080"})).services[0].pops[0];
  EXPECT_EQ(p.check, "vip-port");
  EXPECT_EQ(p.port, 8080);
  // The PoP's own check with a port of its own needs none.
  EXPECT_EQ(parsed(remote({"check = \"http\""})).services[0].pops[0].port, 80);
}

TEST(DnsConfig, ServicePopsAreKnownPopsOnce) {
  EXPECT_TRUE(one_error(
      service({}, {"[[dns.service.pop]]", "pop = \"amd\"", "addresses = [\"198.51.100.10\"]"}),
      "t.toml:20:7", "unknown PoP 'amd' in 'dns.service.pop.pop'", "did you mean 'ams'?"));
  EXPECT_TRUE(one_error(service({}, {"[[dns.service.pop]]", "pop = \"fra\"", "vips = [\"web\"]",
                                     "[[dns.service.pop]]", "pop = \"fra\"", "vips = [\"web6\"]"}),
                        "t.toml:23:7", "PoP 'fra' appears twice in the service",
                        "first at line 20:7"));
  EXPECT_TRUE(one_error(service({}, {"[[dns.service.pop]]", "vips = [\"web\"]"}), "t.toml:19:1",
                        "a [[dns.service.pop]] needs 'pop'"));
}

// This PoP missing from [[dns.pop]] is one error at [dns], not also one per service.
TEST(DnsConfig, MissingLocalPopIsReportedOnce) {
  DnsContext c = context();
  c.local_pop = "par";
  EXPECT_TRUE(one_error(service({}, {"[[dns.service.pop]]", "pop = \"par\"", "vips = [\"web\"]"}),
                        "t.toml:1:1", "no [[dns.pop]] is this PoP ('par'", "", c));
}

TEST(DnsConfig, StaticAnswerGoesWithWhenAllDownStatic) {
  EXPECT_TRUE(one_error(service({"when_all_down = \"static\""}), "t.toml:17:1",
                        "when_all_down = \"static\" needs 'static'"));
  EXPECT_TRUE(one_error(service({"static = [\"192.0.2.200\"]"}), "t.toml:19:10",
                        "'dns.service.static' is only used with when_all_down = \"static\""));
  EXPECT_TRUE(one_error(service({"when_all_down = \"all\"", "static = [\"192.0.2.200\"]"}),
                        "t.toml:20:10", "only used with when_all_down = \"static\""));
  EXPECT_TRUE(one_error(service({"when_all_down = \"none\""}), "t.toml:19:17",
                        "'dns.service.when_all_down' must be one of all, static"));
  EXPECT_TRUE(one_error(service({"when_all_down = \"static\"", "static = [\"192.0.2\"]"}),
                        "t.toml:20:11", "'dns.service.static' entries must be IPv4 or IPv6"));
  EXPECT_EQ(parsed(service({})).services[0].when_all_down, WhenAllDown::All);
}

TEST(DnsConfig, ServiceTtlsFollowTheSameRules) {
  EXPECT_TRUE(one_error(service({"ttl = 5"}), "t.toml:19:7",
                        "'dns.service.pending_ttl' (10) must not be greater than ttl (5) "
                        "(pending_ttl from [dns])",
                        "set pending_ttl too"));
  EXPECT_TRUE(one_error(service({"pending_ttl = 61"}), "t.toml:19:15",
                        "'dns.service.pending_ttl' (61) must not be greater than ttl (60)"));
  EXPECT_TRUE(one_error(service({"answers = 17"}), "t.toml:19:11",
                        "'dns.service.answers' must be an integer 1..16"));
  EXPECT_TRUE(one_error(service({"ttl_jitter = 1"}), "t.toml:19:14",
                        "'dns.service.ttl_jitter' must be a number 0..0.5"));
}

TEST(DnsConfig, ServiceUnknownKeys) {
  EXPECT_TRUE(one_error(service({"hots = \"www\""}), "t.toml:19:1",
                        "unknown key 'dns.service.hots'", "did you mean 'host'?"));
  EXPECT_TRUE(
      one_error(service({"pops = 1"}, {"[[dns.service.pop]]", "pop = \"fra\"", "vips = [\"web\"]"}),
                "t.toml:19:1", "unknown key 'dns.service.pops'", "did you mean 'pop'?"));
}

}  // namespace
}  // namespace steer::dns

namespace steer::dns {
namespace {

// [dns] announce: listen addresses BGP announces; [bgp] needed, not a VIP's address.
TEST(DnsConfig, AnnounceNamesListenAddressesAndNeedsBgp) {
  DnsContext with_bgp = context();
  with_bgp.bgp = true;
  const std::string listen = "listen = [\"192.0.2.53:53\", \"[2001:db8::53]:53\"]";
  const DnsConfig d =
      parsed(dns_with({listen, "announce = [\"192.0.2.53\", \"2001:db8::53\"]"}), with_bgp);
  EXPECT_EQ(d.announce, (std::vector<IpAddress>{ip("192.0.2.53"), ip("2001:db8::53")}));
  EXPECT_TRUE(one_error(dns_with({listen, "announce = [\"192.0.2.53\"]"}), "t.toml:3:12",
                        "'dns.announce' needs [bgp]"));
  EXPECT_TRUE(one_error(dns_with({listen, "announce = [\"192.0.2.54\"]"}), "t.toml:3:12",
                        "192.0.2.54 is not one of the listen addresses", "", with_bgp));
  EXPECT_TRUE(one_error(dns_with({"listen = [\"192.0.2.10:53\"]", "announce = [\"192.0.2.10\"]"}),
                        "t.toml:3:12", "is the address of VIP 'web'", "", with_bgp));
}

}  // namespace
}  // namespace steer::dns

namespace steer::dns {
namespace {

// 32 bytes of 0x00 and of 0xff in base64.
constexpr std::string_view kSecret = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

// base() whose zone has `zone_keys` from line 17, then a [[dns.tsig]] "xfr." (its lines after).
std::string xfr(std::initializer_list<std::string_view> zone_keys,
                std::initializer_list<std::string_view> tsig = {}) {
  std::string out = base(zone_keys);
  out += "[[dns.tsig]]\nname = \"xfr.\"\n";
  out += fmt::format("secret = \"{}\"\n", kSecret);
  for (std::string_view l : tsig) out += std::string(l) + "\n";
  return out;
}

// [[dns.tsig]] keys and a zone's transfer and notify lists parse to their values.
TEST(DnsConfig, TransferAndNotifyWithTsigKeys) {
  const DnsConfig d = parsed(
      xfr({"transfer = [{ from = \"192.0.2.60\", key = \"xfr.\" }, { from = "
           "\"2001:db8:60::/48\" }]",
           "notify = [{ to = \"192.0.2.60:5300\", key = \"XFR\" }, { to = \"[2001:db8::1]:53\" }]"},
          {"algorithm = \"hmac-sha512\""}));
  ASSERT_EQ(d.tsig.size(), 1u);
  EXPECT_EQ(d.tsig[0].name, name("xfr."));
  EXPECT_EQ(d.tsig[0].algorithm, "hmac-sha512");
  EXPECT_EQ(d.tsig[0].secret, std::vector<uint8_t>(32, 0));
  const ZoneConfig& z = d.zones.at(0);
  ASSERT_EQ(z.transfer.size(), 2u);
  EXPECT_EQ(z.transfer[0].from, *IpPrefix::parse("192.0.2.60/32"));
  EXPECT_EQ(z.transfer[0].key, name("xfr."));
  EXPECT_EQ(z.transfer[1].from, *IpPrefix::parse("2001:db8:60::/48"));
  EXPECT_EQ(z.transfer[1].key.size, 0);
  ASSERT_EQ(z.notify.size(), 2u);
  EXPECT_EQ(z.notify[0].address, ip("192.0.2.60"));
  EXPECT_EQ(z.notify[0].port, 5300);
  EXPECT_EQ(z.notify[0].key, name("xfr."));
  EXPECT_EQ(z.notify[1].port, 53);
  EXPECT_EQ(z.notify[1].key.size, 0);
  EXPECT_TRUE(parsed(base()).zones.at(0).transfer.empty()) << "no transfers unless listed";
}

TEST(DnsConfig, TransferErrors) {
  EXPECT_TRUE(one_error(xfr({"transfer = [{ from = \"192.0.2.60\", key = \"nope.\" }]"}),
                        "t.toml:17:42", "unknown TSIG key 'nope.'", "defined keys: xfr."));
  EXPECT_TRUE(one_error(xfr({"transfer = [{ from = \"192.0.2.1/24\" }]"}), "t.toml:17:22",
                        "must be an address or a prefix with its host bits zero"));
  EXPECT_TRUE(one_error(xfr({"transfer = [{ key = \"xfr.\" }]"}), "t.toml:17:13",
                        "a 'transfer' entry needs 'from'"));
  EXPECT_TRUE(one_error(xfr({"transfer = [{ from = \"192.0.2.1\", to = \"x\" }]"}), "t.toml:17:35",
                        "unknown key 'dns.zone.transfer.to'"));
  EXPECT_TRUE(one_error(xfr({"transfer = [{ from = \"192.0.2.1\" }, { from = \"192.0.2.1/32\" }]"}),
                        "t.toml:17:46", "192.0.2.1/32 appears twice"));
  EXPECT_TRUE(one_error(xfr({"transfer = \"192.0.2.1\""}), "t.toml:17:12",
                        "'dns.zone.transfer' must be an array of tables"));
  EXPECT_TRUE(one_error(xfr({"notify = [{ to = \"192.0.2.60\" }]"}), "t.toml:17:18",
                        "'dns.zone.notify.to' must be \"ADDR:PORT\""));
  EXPECT_TRUE(one_error(xfr({"notify = [{ to = \"192.0.2.60:53\", key = \"other.\" }]"}),
                        "t.toml:17:41", "unknown TSIG key 'other.'"));
}

TEST(DnsConfig, TsigKeyErrors) {
  EXPECT_TRUE(
      one_error(xfr({}, {"algorithm = \"hmac-md5\""}), "t.toml:20:13", "'dns.tsig.algorithm'"));
  EXPECT_TRUE(one_error(base({"[[dns.tsig]]", "name = \"k.\"", "secret = \"not base64!\""}),
                        "t.toml:19:10", "'dns.tsig.secret' must be base64"));
  EXPECT_TRUE(one_error(base({"[[dns.tsig]]", "name = \"k.\"", "secret = \"c2hvcnQ=\""}),
                        "t.toml:19:10", "is 5 bytes: at least 16 are needed"));
  EXPECT_TRUE(one_error(base({"[[dns.tsig]]", "name = \"k.\""}), "t.toml:17:1",
                        "a [[dns.tsig]] needs a 'secret'"));
  EXPECT_TRUE(one_error(
      xfr({}, {"[[dns.tsig]]", "name = \"XFR.\"", fmt::format("secret = \"{}\"", kSecret)}),
      "t.toml:21:8", "duplicate TSIG key 'xfr.'", "first defined at line 18:8"));
  EXPECT_TRUE(
      one_error(base({"[[dns.tsig]]", "name = \"a..b\"", fmt::format("secret = \"{}\"", kSecret)}),
                "t.toml:18:8", "'dns.tsig.name' must be a domain name"));
}

}  // namespace
}  // namespace steer::dns
