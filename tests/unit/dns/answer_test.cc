// The query -> answer path (dns/answer.h) over tables built by dns/build.h from configuration
// values, checked by decoding every answer (dns/decode.h): each behaviour of the responder's
// DOC block, without sockets. Geo is off here (the PoPs come in configuration order);
// tests/unit/dns/geo_test.cc covers locations, and the integration suite the wire.
#include "dns/answer.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "dns/build.h"
#include "dns/decode.h"

namespace steer::dns {
namespace {

Name name(const char* text) {
  Name n;
  EXPECT_TRUE(parse_name_text(text, n)) << text;
  return n;
}

RecordConfig rec(const char* owner, uint16_t type, const char* data, uint32_t ttl = 300) {
  RecordConfig r;
  r.name = name(owner);
  r.type = type;
  r.ttl = ttl;
  auto rd = rdata_from_text(type, data, name("lb.example.com."));
  EXPECT_TRUE(rd) << data << ": " << (rd ? "" : rd.error().message);
  if (rd) r.rdata = *rd;
  r.text = data;
  return r;
}

IpAddress ip(const char* s) { return *IpAddress::parse(s); }

DnsConfig base_config() {
  DnsConfig c;
  ZoneConfig z;
  z.apex = name("lb.example.com.");
  z.ttl = 3600;
  z.soa.mname = name("ns1.lb.example.com.");
  z.soa.rname = name("hostmaster.example.com.");
  z.soa.serial = 7;
  z.soa.minimum = 60;
  z.ns = {name("ns1.lb.example.com."), name("ns2.lb.example.com.")};
  z.records = {
      rec("ns1.lb.example.com.", type::kA, "192.0.2.53"),
      rec("ns2.lb.example.com.", type::kAaaa, "2001:db8::53"),
      rec("www.lb.example.com.", type::kCname, "web.lb.example.com."),
      rec("old.lb.example.com.", type::kCname, "gone.lb.example.com."),
      rec("out.lb.example.com.", type::kCname, "www.example.net."),
      rec("lb.example.com.", type::kMx, "10 mail.lb.example.com."),
      rec("mail.lb.example.com.", type::kA, "192.0.2.25"),
      rec("lb.example.com.", type::kTxt, "\"v=spf1 -all\""),
      rec("deep.a.b.lb.example.com.", type::kA, "192.0.2.99"),
      rec("sub.lb.example.com.", type::kNs, "ns.sub.lb.example.com."),
      rec("ns.sub.lb.example.com.", type::kA, "192.0.2.77"),
  };
  c.zones.push_back(z);
  c.pops = {{"fra", "eu", 50.1, 8.7}, {"ams", "eu", 52.4, 4.9}, {"nyc", "us", 40.7, -74.0}};
  ServiceConfig s;
  s.name = "web";
  s.owner = name("web.lb.example.com.");
  s.zone = z.apex;
  s.ttl = 60;
  s.pending_ttl = 10;
  s.answers = 2;
  ServicePopConfig fra{.pop = "fra", .vips = {"web"}};
  ServicePopConfig ams{.pop = "ams", .addresses = {ip("198.51.100.10"), ip("2001:db8:2::10")}};
  ServicePopConfig nyc{.pop = "nyc", .addresses = {ip("203.0.113.10")}};
  s.pops = {fra, ams, nyc};
  c.services.push_back(s);
  return c;
}

struct Fixture {
  DnsConfig config = base_config();
  std::map<std::string, PopState> states = {
      {"fra", {.healthy = true}}, {"ams", {.healthy = true}}, {"nyc", {.healthy = true}}};
  std::shared_ptr<const Table> table;
  Counters counters;

  void build() {
    BuildInputs in;
    in.config = &config;
    in.local_pop = "fra";
    in.vip_address = [](const std::string& vip) -> std::optional<IpAddress> {
      if (vip == "web") return ip("192.0.2.10");
      return std::nullopt;
    };
    in.state = [this](const ServiceConfig&, const ServicePopConfig& p) { return states[p.pop]; };
    in.nsid = "fra.lb1";
    in.identity = "fra.lb1";
    in.generation = 1;
    table = build_table(in);
  }

  DecodedMessage ask(QuerySpec spec, bool tcp = false, const char* client = "192.0.2.200") {
    if (!table) build();
    auto q = make_query(spec);
    EXPECT_TRUE(q) << (q ? "" : q.error().message);
    return raw(*q, tcp, client);
  }
  DecodedMessage raw(const std::vector<uint8_t>& q, bool tcp = false,
                     const char* client = "192.0.2.200") {
    if (!table) build();
    std::vector<uint8_t> out(65535);
    const size_t n = answer(*table, q, Client{ip(client), tcp}, out, 12345, counters);
    last_size = n;
    if (n == 0) return {};
    auto d = decode_message({out.data(), n});
    EXPECT_TRUE(d) << (d ? "" : d.error().message);
    return d.value_or(DecodedMessage{});
  }
  size_t last_size = 0;
};

QuerySpec q(const char* qname, uint16_t type = type::kA) {
  QuerySpec s;
  s.name = qname;
  s.type = type;
  s.id = 0x1234;
  s.rd = true;
  return s;
}

std::vector<std::string> texts(const std::vector<DecodedRecord>& rs) {
  std::vector<std::string> out;
  for (const DecodedRecord& r : rs) out.push_back(r.data);
  return out;
}

TEST(Answer, AStaticRRsetIsAnsweredWithAuthorityAndTheQuestionsCase) {
  Fixture f;
  auto d = f.ask(q("Ns1.LB.Example.COM."));
  EXPECT_EQ(d.id, 0x1234);
  EXPECT_TRUE(d.qr);
  EXPECT_TRUE(d.aa);
  EXPECT_TRUE(d.rd) << "RD is copied";
  EXPECT_FALSE(d.ra);
  EXPECT_EQ(d.rcode, rcode::kNoError);
  EXPECT_EQ(d.qname, "Ns1.LB.Example.COM.");
  ASSERT_EQ(d.answer.size(), 1u);
  EXPECT_EQ(d.answer[0].owner, "Ns1.LB.Example.COM.") << "0x20: the owner is the question's";
  EXPECT_EQ(d.answer[0].data, "192.0.2.53");
  EXPECT_EQ(d.answer[0].ttl, 300u);
  EXPECT_TRUE(d.authority.empty());
}

TEST(Answer, NxdomainAndNodataCarryTheSoaWithTheNegativeTtl) {
  Fixture f;
  auto nx = f.ask(q("nope.lb.example.com."));
  EXPECT_EQ(nx.rcode, rcode::kNxDomain);
  EXPECT_TRUE(nx.aa);
  EXPECT_TRUE(nx.answer.empty());
  ASSERT_EQ(nx.authority.size(), 1u);
  EXPECT_EQ(nx.authority[0].type, type::kSoa);
  EXPECT_EQ(nx.authority[0].owner, "lb.example.com.");
  EXPECT_EQ(nx.authority[0].ttl, 60u) << "min(SOA TTL 3600, MINIMUM 60)";
  auto nodata = f.ask(q("ns1.lb.example.com.", type::kTxt));
  EXPECT_EQ(nodata.rcode, rcode::kNoError);
  EXPECT_TRUE(nodata.answer.empty());
  ASSERT_EQ(nodata.authority.size(), 1u);
  EXPECT_EQ(nodata.authority[0].type, type::kSoa);
  // An empty non-terminal exists: NODATA, not NXDOMAIN (RFC 8020).
  auto ent = f.ask(q("a.b.lb.example.com."));
  EXPECT_EQ(ent.rcode, rcode::kNoError);
  EXPECT_EQ(ent.authority.size(), 1u);
}

TEST(Answer, NamesOutsideOurZonesAreRefusedWithoutAuthority) {
  Fixture f;
  auto d = f.ask(q("www.example.org."));
  EXPECT_EQ(d.rcode, rcode::kRefused);
  EXPECT_FALSE(d.aa);
  EXPECT_TRUE(d.answer.empty());
  EXPECT_EQ(d.qname, "www.example.org.");
  auto xfr = f.ask(q("lb.example.com.", type::kAxfr), true);
  EXPECT_EQ(xfr.rcode, rcode::kRefused);
}

TEST(Answer, CnameChainsAreFollowedInsideOurZonesWithTheLastRcode) {
  Fixture f;
  auto d = f.ask(q("www.lb.example.com."));
  ASSERT_EQ(d.answer.size(), 3u);
  EXPECT_EQ(d.answer[0].type, type::kCname);
  EXPECT_EQ(d.answer[0].data, "web.lb.example.com.");
  EXPECT_EQ(d.answer[1].owner, "web.lb.example.com.");
  EXPECT_EQ(texts(std::vector<DecodedRecord>{d.answer[1], d.answer[2]}),
            (std::vector<std::string>{"192.0.2.10", "198.51.100.10"}));
  auto gone = f.ask(q("old.lb.example.com."));
  EXPECT_EQ(gone.rcode, rcode::kNxDomain) << "RFC 6604: the rcode of the chain's end";
  ASSERT_EQ(gone.answer.size(), 1u);
  ASSERT_EQ(gone.authority.size(), 1u);
  auto out = f.ask(q("out.lb.example.com."));
  EXPECT_EQ(out.rcode, rcode::kNoError);
  EXPECT_EQ(texts(out.answer), std::vector<std::string>{"www.example.net."});
  auto cname = f.ask(q("www.lb.example.com.", type::kCname));
  EXPECT_EQ(cname.answer.size(), 1u) << "CNAME asked: no chase";
}

TEST(Answer, ADelegationIsAReferralWithGlue) {
  Fixture f;
  auto d = f.ask(q("host.sub.lb.example.com."));
  EXPECT_EQ(d.rcode, rcode::kNoError);
  EXPECT_FALSE(d.aa);
  EXPECT_TRUE(d.answer.empty());
  ASSERT_EQ(d.authority.size(), 1u);
  EXPECT_EQ(d.authority[0].type, type::kNs);
  EXPECT_EQ(d.authority[0].owner, "sub.lb.example.com.");
  EXPECT_EQ(texts(d.additional), std::vector<std::string>{"192.0.2.77"});
}

TEST(Answer, MxTargetsInOurZonesGetTheirAddressesAdded) {
  Fixture f;
  auto d = f.ask(q("lb.example.com.", type::kMx));
  EXPECT_EQ(texts(d.answer), std::vector<std::string>{"10 mail.lb.example.com."});
  EXPECT_EQ(texts(d.additional), std::vector<std::string>{"192.0.2.25"});
  auto ns = f.ask(q("lb.example.com.", type::kNs));
  EXPECT_EQ(ns.answer.size(), 2u);
  EXPECT_EQ(texts(ns.additional), (std::vector<std::string>{"192.0.2.53", "2001:db8::53"}));
}

TEST(Answer, AnyGetsOneRRset) {
  Fixture f;
  auto d = f.ask(q("lb.example.com.", type::kAny));
  EXPECT_EQ(d.rcode, rcode::kNoError);
  ASSERT_FALSE(d.answer.empty());
  for (const DecodedRecord& r : d.answer) EXPECT_EQ(r.type, d.answer[0].type);
}

TEST(Answer, OptIsEchoedOnlyWhenAskedWithNsidAndOurSize) {
  Fixture f;
  QuerySpec plain = q("ns1.lb.example.com.");
  plain.edns = false;
  EXPECT_FALSE(f.ask(plain).has_opt);
  QuerySpec edns = q("ns1.lb.example.com.");
  edns.nsid = true;
  auto d = f.ask(edns);
  ASSERT_TRUE(d.has_opt);
  EXPECT_EQ(d.udp_size, 1232);
  EXPECT_EQ(d.nsid, "fra.lb1");
  edns.nsid = false;
  EXPECT_EQ(f.ask(edns).nsid, "");
}

TEST(Answer, AnEdnsVersionAboveZeroIsBadvers) {
  Fixture f;
  auto bytes = *make_query(q("ns1.lb.example.com."));
  bytes[bytes.size() - 5] = 1;  // the OPT TTL's version byte (then DO/Z, RDLENGTH)
  auto d = f.raw(bytes);
  EXPECT_EQ(d.rcode, rcode::kBadVers);
  EXPECT_TRUE(d.answer.empty());
  EXPECT_EQ(d.edns_version, 0);
}

TEST(Answer, ClientSubnetIsEchoedWithScopeAndMalformedOnesAreFormerr) {
  Fixture f;
  QuerySpec s = q("ns1.lb.example.com.");
  s.ecs = "198.51.100.0/24";
  auto d = f.ask(s);
  ASSERT_TRUE(d.has_ecs);
  EXPECT_EQ(d.ecs_family, 1);
  EXPECT_EQ(d.ecs_source, 24);
  EXPECT_EQ(d.ecs_scope, 0) << "a static answer does not depend on the client";
  EXPECT_EQ(d.ecs_address, "198.51.100.0");
  // Host bits past the source prefix: FORMERR (RFC 7871 6).
  s.ecs = "198.51.100.0/23";
  EXPECT_EQ(f.ask(s).rcode, rcode::kNoError);
  auto bytes = *make_query(s);
  bytes.back() |= 0x01;  // 198.51.101.0/23: the 24th bit is past the prefix
  EXPECT_EQ(f.raw(bytes).rcode, rcode::kFormErr);
  // A family that does not exist.
  bytes = *make_query(s);
  bytes[bytes.size() - 7] = 9;
  EXPECT_EQ(f.raw(bytes).rcode, rcode::kFormErr);
  // A length that does not match the prefix.
  QuerySpec v6 = q("ns1.lb.example.com.");
  v6.ecs = "2001:db8::/32";
  bytes = *make_query(v6);
  bytes.push_back(0);
  bytes[bytes.size() - 11] += 1;  // option length 9 for a /32
  bytes[bytes.size() - 14] += 1;  // and the OPT's RDLENGTH
  EXPECT_EQ(f.raw(bytes).rcode, rcode::kFormErr);
}

TEST(Answer, AnswersTooBigForUdpAreTruncatedAndWholeOverTcp) {
  Fixture f;
  std::string big;
  for (int i = 0; i < 8; ++i) big += "\"" + std::string(100, static_cast<char>('a' + i)) + "\" ";
  f.config.zones[0].records.push_back(rec("big.lb.example.com.", type::kTxt, big.c_str()));
  QuerySpec s = q("big.lb.example.com.", type::kTxt);
  s.edns = false;
  auto udp = f.ask(s);
  EXPECT_TRUE(udp.tc);
  EXPECT_TRUE(udp.answer.empty());
  EXPECT_LE(f.last_size, 512u);
  auto tcp = f.ask(s, true);
  EXPECT_FALSE(tcp.tc);
  EXPECT_EQ(tcp.answer.size(), 1u);
  // An EDNS size below 512 counts as 512: an answer of more than 100 bytes is not truncated.
  QuerySpec ns = q("lb.example.com.", type::kNs);
  ns.udp_size = 100;
  EXPECT_FALSE(f.ask(ns).tc);
  EXPECT_GT(f.last_size, 100u);
  EXPECT_LE(f.last_size, 512u);
}

TEST(Answer, OtherOpcodesAreNotImpWithRdAndCdCopiedAndNothingElse) {
  Fixture f;
  auto bytes = *make_query(q("ns1.lb.example.com."));
  bytes[2] = 0x7f;  // QR 0, opcode 15, AA TC RD set
  bytes[3] = 0xff;  // RA Z AD CD and an rcode set
  auto d = f.raw(bytes);
  EXPECT_EQ(d.rcode, rcode::kNotImp);
  EXPECT_EQ(d.opcode, 15);
  EXPECT_TRUE(d.rd);
  EXPECT_TRUE(d.cd);
  EXPECT_FALSE(d.aa);
  EXPECT_FALSE(d.tc);
  EXPECT_FALSE(d.ra);
  EXPECT_FALSE(d.ad);
  EXPECT_TRUE(d.answer.empty());
}

TEST(Answer, MalformedQueriesAreFormerrAndNonQueriesAreDropped) {
  Fixture f;
  auto bytes = *make_query(q("ns1.lb.example.com."));
  auto no_question = bytes;
  no_question[5] = 0;
  EXPECT_EQ(f.raw(no_question).rcode, rcode::kFormErr);
  auto trailing = bytes;
  trailing.push_back(0);
  EXPECT_EQ(f.raw(trailing).rcode, rcode::kFormErr);
  auto response = bytes;
  response[2] |= 0x80;
  f.raw(response);
  EXPECT_EQ(f.last_size, 0u) << "a response is never answered";
  f.raw(std::vector<uint8_t>(bytes.begin(), bytes.begin() + 11));
  EXPECT_EQ(f.last_size, 0u);
  EXPECT_EQ(f.counters.dropped, 2u);
}

TEST(Answer, AServiceAnswersTheFirstHealthyPopsUpToItsCount) {
  Fixture f;
  auto d = f.ask(q("web.lb.example.com."));
  EXPECT_TRUE(d.aa);
  EXPECT_EQ(texts(d.answer), (std::vector<std::string>{"192.0.2.10", "198.51.100.10"}));
  EXPECT_EQ(d.answer[0].ttl, 60u);
  auto v6 = f.ask(q("web.lb.example.com.", type::kAaaa));
  EXPECT_EQ(texts(v6.answer), std::vector<std::string>{"2001:db8:2::10"});
  f.states["fra"].healthy = false;
  f.build();
  EXPECT_EQ(texts(f.ask(q("web.lb.example.com.")).answer),
            (std::vector<std::string>{"198.51.100.10", "203.0.113.10"}));
}

TEST(Answer, DrainingPopsAreALastResortThenEveryPopFailsOpen) {
  Fixture f;
  f.states = {{"fra", {.healthy = true, .draining = true}}, {"ams", {}}, {"nyc", {}}};
  f.build();
  EXPECT_EQ(texts(f.ask(q("web.lb.example.com.")).answer), std::vector<std::string>{"192.0.2.10"});
  f.states["fra"] = {};
  f.build();
  EXPECT_EQ(texts(f.ask(q("web.lb.example.com.")).answer),
            (std::vector<std::string>{"192.0.2.10", "198.51.100.10"}))
      << "when every PoP is down, fail open in order";
  EXPECT_EQ(f.counters.fail_open, 1u);
  f.config.services[0].when_all_down = WhenAllDown::Static;
  f.config.services[0].static_addresses = {ip("192.0.2.250")};
  f.build();
  EXPECT_EQ(texts(f.ask(q("web.lb.example.com.")).answer), std::vector<std::string>{"192.0.2.250"});
}

TEST(Answer, APopAnOperatorDisabledIsNeverHandedOutNotEvenToFailOpen) {
  Fixture f;
  f.states["ams"].disabled = true;
  f.build();
  EXPECT_EQ(texts(f.ask(q("web.lb.example.com.")).answer),
            (std::vector<std::string>{"192.0.2.10", "203.0.113.10"}));
  f.states = {{"fra", {}}, {"ams", {.disabled = true}}, {"nyc", {}}};
  f.build();
  EXPECT_EQ(texts(f.ask(q("web.lb.example.com.")).answer),
            (std::vector<std::string>{"192.0.2.10", "203.0.113.10"}))
      << "fail open skips it";
  f.states = {
      {"fra", {.disabled = true}}, {"ams", {.disabled = true}}, {"nyc", {.disabled = true}}};
  f.build();
  auto d = f.ask(q("web.lb.example.com."));
  EXPECT_TRUE(d.answer.empty());
  EXPECT_EQ(d.authority.size(), 1u) << "NODATA";
}

TEST(Answer, AnswersHeadedAwayFromADownFirstChoiceAreCountedAsDisplacedByIt) {
  // Geo is off: every client's first choice is fra (configuration order), ams its second.
  Fixture f;
  f.ask(q("web.lb.example.com."));
  EXPECT_EQ(f.counters.by_pop[0], 1u);
  EXPECT_EQ(f.counters.displaced, decltype(f.counters.displaced){}) << "fra up: none";
  f.ask(q("web.lb.example.com.", type::kAaaa));
  EXPECT_EQ(f.counters.by_pop[1], 1u) << "ams heads: fra has no IPv6 address";
  EXPECT_EQ(f.counters.displaced[0], 0u) << "no address of the family is not displaced";
  f.states["fra"].healthy = false;
  f.build();
  f.ask(q("web.lb.example.com."));
  f.ask(q("web.lb.example.com."));
  EXPECT_EQ(f.counters.by_pop[1], 3u);
  EXPECT_EQ(f.counters.displaced[0], 2u) << "fra down: counted by fra, not by ams";
  EXPECT_EQ(f.counters.displaced[1], 0u);
  f.states["fra"] = {.healthy = true, .draining = true};
  f.build();
  f.ask(q("web.lb.example.com."));
  EXPECT_EQ(f.counters.displaced[0], 3u) << "fra draining, ams up";
  f.states["fra"] = {.disabled = true};
  f.build();
  f.ask(q("web.lb.example.com."));
  EXPECT_EQ(f.counters.displaced[0], 4u) << "fra disabled";
  f.states = {{"fra", {}}, {"ams", {}}, {"nyc", {}}};
  f.build();
  f.ask(q("web.lb.example.com."));
  EXPECT_EQ(f.counters.fail_open, 1u);
  EXPECT_EQ(f.counters.by_pop[0], 2u) << "every PoP down: fra heads the fail-open answer";
  EXPECT_EQ(f.counters.displaced[0], 4u) << "failing open displaces nobody";
}

TEST(Answer, APendingChangeShortensTheTtlAndJitterStaysInItsBounds) {
  Fixture f;
  f.states["ams"].pending = true;
  f.build();
  EXPECT_EQ(f.ask(q("web.lb.example.com.")).answer[0].ttl, 10u);
  f.states["ams"].pending = false;
  f.config.services[0].ttl_jitter = 0.5;
  f.build();
  for (uint32_t r = 0; r < 50; ++r) {
    auto bytes = *make_query(q("web.lb.example.com."));
    std::vector<uint8_t> out(512);
    const size_t n =
        answer(*f.table, bytes, Client{ip("192.0.2.1"), false}, out, r * 7919, f.counters);
    auto d = decode_message({out.data(), n});
    ASSERT_TRUE(d);
    EXPECT_GE(d->answer[0].ttl, 30u);
    EXPECT_LE(d->answer[0].ttl, 60u);
  }
}

TEST(Answer, AWildcardAnswersForNamesBelowItsClosestEncloser) {
  Fixture f;
  f.config.zones[0].records.push_back(rec("*.wild.lb.example.com.", type::kA, "192.0.2.42"));
  f.config.zones[0].records.push_back(rec("real.wild.lb.example.com.", type::kTxt, "\"x\""));
  auto d = f.ask(q("Any.Wild.lb.example.com."));
  EXPECT_EQ(d.rcode, rcode::kNoError);
  ASSERT_EQ(d.answer.size(), 1u);
  EXPECT_EQ(d.answer[0].owner, "Any.Wild.lb.example.com.") << "the owner is the name asked";
  EXPECT_EQ(d.answer[0].data, "192.0.2.42");
  EXPECT_EQ(texts(f.ask(q("a.b.wild.lb.example.com.")).answer),
            std::vector<std::string>{"192.0.2.42"});
  auto nodata = f.ask(q("x.wild.lb.example.com.", type::kMx));
  EXPECT_EQ(nodata.rcode, rcode::kNoError);
  EXPECT_TRUE(nodata.answer.empty());
  EXPECT_EQ(nodata.authority.size(), 1u);
  // A name that exists is not covered; below it, the closest encloser is that name.
  EXPECT_EQ(f.ask(q("real.wild.lb.example.com.")).answer.size(), 0u);
  EXPECT_EQ(f.ask(q("x.real.wild.lb.example.com.")).rcode, rcode::kNxDomain);
  EXPECT_EQ(f.ask(q("x.other.lb.example.com.")).rcode, rcode::kNxDomain);
}

TEST(Answer, AReferralWhoseInDomainGlueDoesNotFitIsTruncated) {
  Fixture f;
  std::string ns;
  for (int i = 0; i < 13; ++i) {
    const std::string host = fmt::format("a-long-name-server-host-{:02}.big.lb.example.com.", i);
    f.config.zones[0].records.push_back(rec("big.lb.example.com.", type::kNs, host.c_str()));
    f.config.zones[0].records.push_back(rec(host.c_str(), type::kA, "192.0.2.1"));
    f.config.zones[0].records.push_back(rec(host.c_str(), type::kAaaa, "2001:db8::1"));
  }
  QuerySpec s = q("www.big.lb.example.com.");
  s.edns = false;
  auto udp = f.ask(s);
  EXPECT_TRUE(udp.tc) << "RFC 9471: in-domain glue is required";
  auto tcp = f.ask(s, true);
  EXPECT_FALSE(tcp.tc);
  EXPECT_EQ(tcp.authority.size(), 13u);
  EXPECT_EQ(tcp.additional.size(), 26u);
  for (const DecodedRecord& r : tcp.additional) {
    EXPECT_NE(r.owner.find(".big.lb.example.com."), std::string::npos) << r.owner;
  }
}

TEST(Answer, AnEcsSourceOfZeroGetsScopeZero) {
  Fixture f;
  QuerySpec s = q("web.lb.example.com.");
  s.ecs = "0.0.0.0/0";
  auto d = f.ask(s);
  ASSERT_TRUE(d.has_ecs);
  EXPECT_EQ(d.ecs_scope, 0);
  EXPECT_FALSE(d.answer.empty());
}

TEST(Answer, ChaosIdentityIsConfigurable) {
  Fixture f;
  QuerySpec s = q("id.server.", type::kTxt);
  s.klass = klass::kCh;
  auto d = f.ask(s);
  EXPECT_EQ(d.rcode, rcode::kNoError);
  EXPECT_EQ(texts(d.answer), std::vector<std::string>{"\"fra.lb1\""});
  s.name = "version.bind.";
  EXPECT_EQ(f.ask(s).rcode, rcode::kRefused);
}

}  // namespace
}  // namespace steer::dns
