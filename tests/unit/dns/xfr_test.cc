// Zone transfers (dns/xfr.h) and TSIG (dns/tsig.h) over tables built by dns/build.h: the
// fallback view a secondary gets, its serial, the transfer's messages (decoded with
// dns/decode.h), who is refused, and TSIG's sign/verify/error paths. dnspython and kdig check
// the same wire against independent implementations (tests/integration/dns, case xfr).
#include "dns/xfr.h"

#include <algorithm>
#include <map>

#include <gtest/gtest.h>

#include "dns/answer.h"
#include "dns/build.h"
#include "dns/decode.h"

namespace steer::dns {
namespace {

Name name(const char* text) {
  Name n;
  EXPECT_TRUE(parse_name_text(text, n)) << text;
  return n;
}

IpAddress ip(const char* s) { return *IpAddress::parse(s); }

RecordConfig rec(const char* owner, uint16_t type, const char* data) {
  RecordConfig r;
  r.name = name(owner);
  r.type = type;
  r.ttl = 300;
  r.rdata = *rdata_from_text(type, data, name("lb.example.com."));
  r.text = data;
  return r;
}

constexpr uint64_t kNow = 1760000000;

tsig::Key key(const char* n = "xfr-key.", uint8_t fill = 7) {
  return tsig::Key{name(n), tsig::Algorithm::HmacSha256, std::vector<uint8_t>(32, fill)};
}

DnsConfig base_config() {
  DnsConfig c;
  ZoneConfig z;
  z.apex = name("lb.example.com.");
  z.soa.mname = name("ns1.lb.example.com.");
  z.soa.rname = name("hostmaster.example.com.");
  z.soa.serial = 7;
  z.ns = {name("ns1.lb.example.com.")};
  z.records = {rec("ns1.lb.example.com.", type::kA, "192.0.2.53"),
               rec("www.lb.example.com.", type::kCname, "web.lb.example.com."),
               rec("lb.example.com.", type::kTxt, "\"v=spf1 -all\"")};
  z.transfer = {TransferFrom{*IpPrefix::parse("192.0.2.0/24"), {}},
                TransferFrom{*IpPrefix::parse("198.51.100.7/32"), name("xfr-key.")}};
  c.zones.push_back(z);
  c.tsig = {TsigKeyConfig{name("xfr-key."), "hmac-sha256", std::vector<uint8_t>(32, 7)}};
  c.pops = {{"ams", "eu", 52.4, 4.9}, {"nyc", "us", 40.7, -74.0}};
  ServiceConfig s;
  s.name = "web";
  s.owner = name("web.lb.example.com.");
  s.zone = z.apex;
  s.ttl = 45;
  s.answers = 1;
  s.pops = {ServicePopConfig{.pop = "ams", .addresses = {ip("198.51.100.10"), ip("2001:db8::10")}},
            ServicePopConfig{.pop = "nyc", .addresses = {ip("203.0.113.10")}}};
  c.services.push_back(s);
  return c;
}

struct Fixture {
  DnsConfig config = base_config();
  std::map<std::string, PopState> states = {{"ams", {.healthy = true}}, {"nyc", {.healthy = true}}};
  std::shared_ptr<XfrLog> log = std::make_shared<XfrLog>();
  std::shared_ptr<const Table> table;

  // A new table; the serial follows the previous one (if any) at `now`.
  void build(uint32_t now = kNow) {
    BuildInputs in;
    in.config = &config;
    in.local_pop = "local";
    in.state = [this](const ServiceConfig&, const ServicePopConfig& p) { return states[p.pop]; };
    auto t = build_table(in);
    table = with_transfers(t, config, table ? table->transfers.get() : nullptr, log, now);
  }
  const ZoneView& view() const { return *table->transfers->zones[0].view; }
  uint32_t serial() const { return table->serials[0]; }

  // Every message of a transfer request from `peer`, decoded; empty when not taken on.
  std::vector<std::vector<uint8_t>> transfer(const std::vector<uint8_t>& request, const char* peer,
                                             uint64_t now = kNow) {
    std::vector<std::vector<uint8_t>> out;
    auto t = start_transfer(*table, request, ip(peer), now, 0);
    if (!t) return out;
    std::vector<uint8_t> stream;
    while (t->next(stream)) {
    }
    for (size_t at = 0; at + 2 <= stream.size();) {
      const size_t len = size_t{stream[at]} << 8 | stream[at + 1];
      out.emplace_back(stream.begin() + static_cast<ptrdiff_t>(at + 2),
                       stream.begin() + static_cast<ptrdiff_t>(at + 2 + len));
      at += 2 + len;
    }
    return out;
  }
};

std::vector<uint8_t> axfr(uint16_t qtype = type::kAxfr, const char* zone = "lb.example.com.") {
  QuerySpec s;
  s.name = zone;
  s.type = qtype;
  s.id = 0x4242;
  s.edns = false;
  return *make_query(s);
}

// `msg` signed as a client signs a request.
std::vector<uint8_t> signed_request(std::vector<uint8_t> msg, const tsig::Key& k,
                                    uint64_t time = kNow) {
  const size_t size = msg.size();
  msg.resize(size + tsig::record_size(k));
  tsig::Signing s;
  s.key = &k;
  s.time = time;
  s.original_id = static_cast<uint16_t>(msg[0] << 8 | msg[1]);
  std::vector<uint8_t> mac;
  msg.resize(tsig::sign(msg, size, s, mac));
  return msg;
}

std::vector<std::string> texts(const std::vector<DecodedRecord>& rs, uint16_t type) {
  std::vector<std::string> out;
  for (const DecodedRecord& r : rs) {
    if (r.type == type) out.push_back(r.owner + " " + std::to_string(r.ttl) + " " + r.data);
  }
  std::sort(out.begin(), out.end());
  return out;
}

DecodedMessage decode(const std::vector<uint8_t>& m) {
  auto d = decode_message(m);
  EXPECT_TRUE(d) << (d ? "" : d.error().message);
  return d.value_or(DecodedMessage{});
}

// --- the fallback view -----------------------------------------------------------------------

TEST(Xfr, ViewHasEveryHealthyPopAtTheServiceTtlAndTheStaticRecords) {
  Fixture f;
  f.build();
  auto m = f.transfer(axfr(), "192.0.2.60");
  ASSERT_EQ(m.size(), 1u);
  const DecodedMessage d = decode(m[0]);
  EXPECT_TRUE(d.aa);
  EXPECT_EQ(d.rcode, rcode::kNoError);
  ASSERT_GE(d.answer.size(), 2u);
  EXPECT_EQ(d.answer.front().type, type::kSoa);
  EXPECT_EQ(d.answer.back().type, type::kSoa);
  EXPECT_EQ(texts(d.answer, type::kA),
            (std::vector<std::string>{"ns1.lb.example.com. 300 192.0.2.53",
                                      "web.lb.example.com. 45 198.51.100.10",
                                      "web.lb.example.com. 45 203.0.113.10"}));
  EXPECT_EQ(texts(d.answer, type::kAaaa),
            (std::vector<std::string>{"web.lb.example.com. 45 2001:db8::10"}));
  EXPECT_EQ(texts(d.answer, type::kCname).size(), 1u);
  EXPECT_EQ(texts(d.answer, type::kTxt).size(), 1u);
  EXPECT_EQ(texts(d.answer, type::kNs).size(), 1u);
  EXPECT_EQ(d.answer.size(), 9u);  // SOA, NS, TXT, ns1 A, www CNAME, 2 A + 1 AAAA, SOA
}

TEST(Xfr, ViewDropsADownPopAndFailsOpenOrStaticWhenAllAreDown) {
  Fixture f;
  f.states["ams"].healthy = false;
  f.build();
  auto d = decode(f.transfer(axfr(), "192.0.2.60").at(0));
  EXPECT_EQ(texts(d.answer, type::kA).size(), 2u);  // ns1 and nyc
  EXPECT_TRUE(texts(d.answer, type::kAaaa).empty()) << "nyc has no IPv6 address: none";
  f.states["nyc"].healthy = false;
  f.build();
  d = decode(f.transfer(axfr(), "192.0.2.60").at(0));
  EXPECT_EQ(texts(d.answer, type::kA).size(), 3u) << "every PoP: fail open";
  f.config.services[0].when_all_down = WhenAllDown::Static;
  f.config.services[0].static_addresses = {ip("192.0.2.200")};
  f.table.reset();
  f.build();
  d = decode(f.transfer(axfr(), "192.0.2.60").at(0));
  EXPECT_EQ(texts(d.answer, type::kA),
            (std::vector<std::string>{"ns1.lb.example.com. 300 192.0.2.53",
                                      "web.lb.example.com. 45 192.0.2.200"}));
}

TEST(Xfr, DisabledPopIsLeftOut) {
  Fixture f;
  f.states["nyc"].disabled = true;
  f.build();
  auto d = decode(f.transfer(axfr(), "192.0.2.60").at(0));
  EXPECT_EQ(texts(d.answer, type::kA).size(), 2u);  // ns1 and ams
}

// --- the serial ------------------------------------------------------------------------------

TEST(Xfr, SerialStaysWhileTheViewStaysAndAdvancesWhenItChanges) {
  Fixture f;
  f.build(kNow);
  EXPECT_EQ(f.serial(), kNow) << "the first: max(configured 7, now)";
  f.build(kNow + 5);
  EXPECT_EQ(f.serial(), kNow) << "same view, same serial";
  f.states["ams"].pending = true;
  f.build(kNow + 6);
  EXPECT_EQ(f.serial(), kNow) << "a pending verdict changes no address";
  f.states["ams"].healthy = false;
  f.build(kNow + 10);
  EXPECT_EQ(f.serial(), kNow + 10) << "changed: the time, ahead of previous + 1";
  f.states["ams"].healthy = true;
  f.build(kNow + 10);
  EXPECT_EQ(f.serial(), kNow + 11) << "changed twice in a second: previous + 1";
  EXPECT_EQ(f.view().serial, f.serial());
  f.config.zones[0].records.push_back(rec("new.lb.example.com.", type::kA, "192.0.2.1"));
  f.build(kNow + 11);
  EXPECT_EQ(f.serial(), kNow + 12) << "a configuration change to the zone";
}

TEST(Xfr, ZoneNobodyFollowsKeepsItsConfiguredSerial) {
  Fixture f;
  f.config.zones[0].transfer.clear();
  f.build(kNow);
  EXPECT_EQ(f.serial(), 7u);
  f.states["ams"].healthy = false;
  f.build(kNow + 10);
  EXPECT_EQ(f.serial(), 7u);
  EXPECT_TRUE(f.transfer(axfr(), "192.0.2.60").empty());
}

TEST(Xfr, NextSerialUsesRfc1982Arithmetic) {
  EXPECT_EQ(next_serial(0xffffffffu, 5, 0), 5u) << "wrapped: 5 is after 0xffffffff + 1 = 0";
  EXPECT_EQ(next_serial(100, 50, 0), 101u);
  EXPECT_EQ(next_serial(100, 50, 2000), 2000u) << "a configured serial ahead wins";
  EXPECT_EQ(next_serial(0x80000000u, 1, 0x80000001u), 0x80000001u) << "1 is behind: previous + 1";
}

TEST(Xfr, AnswersCarryTheSameSerialAsTheTransfer) {
  Fixture f;
  f.states["ams"].healthy = false;
  f.build(kNow);
  f.states["ams"].healthy = true;
  f.build(kNow + 3);
  ASSERT_EQ(f.serial(), kNow + 3);
  auto q = [&](const char* qname, uint16_t type) {
    QuerySpec s;
    s.name = qname;
    s.type = type;
    std::vector<uint8_t> out(65535);
    Counters n;
    const size_t size = answer(*f.table, *make_query(s), Client{ip("192.0.2.1"), false}, out, 0, n);
    return decode({out.begin(), out.begin() + static_cast<ptrdiff_t>(size)});
  };
  const std::string want = std::to_string(kNow + 3);
  const DecodedMessage soa = q("lb.example.com.", type::kSoa);
  ASSERT_EQ(soa.answer.size(), 1u);
  EXPECT_NE(soa.answer[0].data.find(want), std::string::npos) << soa.answer[0].data;
  const DecodedMessage nx = q("nope.lb.example.com.", type::kA);
  ASSERT_EQ(nx.authority.size(), 1u);
  EXPECT_NE(nx.authority[0].data.find(want), std::string::npos) << nx.authority[0].data;
  const DecodedMessage x = decode(f.transfer(axfr(), "192.0.2.60").at(0));
  EXPECT_NE(x.answer[0].data.find(want), std::string::npos) << x.answer[0].data;
}

// --- who gets it -----------------------------------------------------------------------------

TEST(Xfr, AddressesOutsideTheTransferListAreLeftToTheAnswerPath) {
  Fixture f;
  f.build();
  EXPECT_TRUE(f.transfer(axfr(), "203.0.113.1").empty());
  EXPECT_TRUE(f.transfer(axfr(type::kAxfr, "www.lb.example.com."), "192.0.2.60").empty())
      << "not a zone's apex";
  EXPECT_EQ(f.log->count(XfrResult::Refused), 1u);
  EXPECT_TRUE(f.log->last().empty()) << "refusals of unlisted addresses are not kept";
}

TEST(Xfr, IxfrGetsTheWholeZone) {
  Fixture f;
  f.build();
  // RFC 1995 3: the secondary's SOA in the authority section (root names, serial 5).
  std::vector<uint8_t> ixfr = axfr(type::kIxfr);
  ixfr[9] = 1;
  const uint8_t soa[] = {0xc0, 0x0c, 0, 6, 0, 1, 0, 0, 0, 0, 0, 22, 0, 0, 0, 0, 0,
                         5,    0,    0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0, 0, 0};
  ixfr.insert(ixfr.end(), std::begin(soa), std::end(soa));
  auto m = f.transfer(ixfr, "192.0.2.60");
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(decode(m[0]).answer.size(), 9u);
  ASSERT_EQ(f.log->last().size(), 1u);
  EXPECT_TRUE(f.log->last()[0].ixfr);
}

TEST(Xfr, KeyedEntryRefusesAnUnsignedRequest) {
  Fixture f;
  f.build();
  auto m = f.transfer(axfr(), "198.51.100.7");
  ASSERT_EQ(m.size(), 1u);
  const DecodedMessage d = decode(m[0]);
  EXPECT_EQ(d.rcode, rcode::kRefused);
  EXPECT_TRUE(d.answer.empty());
  ASSERT_EQ(f.log->last().size(), 1u);
  EXPECT_EQ(f.log->last()[0].result, XfrResult::Refused);
}

TEST(Xfr, SignedTransferVerifiesAndChainsItsMacs) {
  Fixture f;
  // Enough records for several messages.
  for (int i = 0; i < 3000; ++i) {
    const std::string owner = "host" + std::to_string(i) + ".lb.example.com.";
    f.config.zones[0].records.push_back(
        rec(owner.c_str(), type::kTxt, "\"a fairly long text record to fill the messages up\""));
  }
  f.build();
  const tsig::Key k = key();
  const std::vector<uint8_t> request = signed_request(axfr(), k);
  tsig::Record req;
  ASSERT_EQ(tsig::find(request, req), tsig::Found::Ok);
  auto m = f.transfer(request, "198.51.100.7");
  ASSERT_GT(m.size(), 2u);
  size_t records = 0;
  std::vector<uint8_t> prior(req.mac.begin(), req.mac.end());
  for (size_t i = 0; i < m.size(); ++i) {
    EXPECT_LE(m[i].size(), 65535u);
    tsig::Record r;
    ASSERT_EQ(tsig::find(m[i], r), tsig::Found::Ok) << "message " << i << " is signed";
    EXPECT_EQ(r.error, 0);
    if (i == 0) {
      const tsig::Key* used = nullptr;
      const std::vector<tsig::Key> keys{k};
      EXPECT_EQ(tsig::verify(m[i], r, keys, kNow, prior, &used), tsig::Verdict::Ok);
    }
    prior.assign(r.mac.begin(), r.mac.end());
    records += decode(m[i]).answer.size();
  }
  EXPECT_EQ(records, 9u + 3000u);
  ASSERT_EQ(f.log->last().size(), 1u);
  EXPECT_EQ(f.log->last()[0].result, XfrResult::Ok);
  EXPECT_EQ(f.log->last()[0].key, "xfr-key.");
  EXPECT_EQ(f.log->last()[0].messages, m.size());
}

TEST(Xfr, TsigErrorsAreAnsweredNotAuthWithTheirCode) {
  Fixture f;
  f.build();
  auto error_of = [&](const std::vector<uint8_t>& request, uint64_t now = kNow) {
    auto m = f.transfer(request, "198.51.100.7", now);
    EXPECT_EQ(m.size(), 1u);
    if (m.empty()) return std::pair<uint16_t, uint16_t>{0, 0};
    tsig::Record r;
    EXPECT_EQ(tsig::find(m[0], r), tsig::Found::Ok);
    return std::pair<uint16_t, uint16_t>{decode(m[0]).rcode, r.error};
  };
  EXPECT_EQ(error_of(signed_request(axfr(), key("other-key."))),
            (std::pair<uint16_t, uint16_t>{tsig::kNotAuth, tsig::kBadKey}));
  EXPECT_EQ(error_of(signed_request(axfr(), key("xfr-key.", 8))),
            (std::pair<uint16_t, uint16_t>{tsig::kNotAuth, tsig::kBadSig}));
  EXPECT_EQ(error_of(signed_request(axfr(), key(), kNow - 301)),
            (std::pair<uint16_t, uint16_t>{tsig::kNotAuth, tsig::kBadTime}));
  EXPECT_EQ(f.log->count(XfrResult::BadKey), 1u);
  EXPECT_EQ(f.log->count(XfrResult::BadSig), 1u);
  EXPECT_EQ(f.log->count(XfrResult::BadTime), 1u);
}

TEST(Xfr, SignedSoaQueryFromASecondaryGetsASignedAnswer) {
  Fixture f;
  f.build();
  QuerySpec spec;
  spec.name = "lb.example.com.";
  spec.type = type::kSoa;
  spec.id = 0x1111;
  const tsig::Key k = key();
  const std::vector<uint8_t> request = signed_request(*make_query(spec), k);
  tsig::Record req;
  ASSERT_EQ(tsig::find(request, req), tsig::Found::Ok);
  EXPECT_TRUE(is_transfer_peer(*f.table, ip("198.51.100.7")));
  EXPECT_FALSE(is_transfer_peer(*f.table, ip("203.0.113.1")));
  std::vector<uint8_t> out(4096);
  Counters n;
  auto size = answer_signed(*f.table, request, Client{ip("198.51.100.7"), false}, out, 0, n, kNow);
  ASSERT_TRUE(size.has_value());
  out.resize(*size);
  tsig::Record r;
  ASSERT_EQ(tsig::find(out, r), tsig::Found::Ok);
  const std::vector<tsig::Key> keys{k};
  const tsig::Key* used = nullptr;
  EXPECT_EQ(tsig::verify(out, r, keys, kNow, req.mac, &used), tsig::Verdict::Ok);
  const DecodedMessage d = decode(out);
  ASSERT_EQ(d.answer.size(), 1u);
  EXPECT_NE(d.answer[0].data.find(std::to_string(f.serial())), std::string::npos);
  EXPECT_FALSE(answer_signed(*f.table, *make_query(spec), Client{ip("198.51.100.7"), false}, out, 0,
                             n, kNow))
      << "unsigned: answered as usual";
}

// --- TSIG ------------------------------------------------------------------------------------

TEST(Tsig, SignedMessageVerifiesAndATamperedOneDoesNot) {
  const tsig::Key k = key();
  std::vector<uint8_t> m = signed_request(axfr(), k);
  tsig::Record r;
  ASSERT_EQ(tsig::find(m, r), tsig::Found::Ok);
  EXPECT_EQ(r.key, k.name);
  EXPECT_EQ(r.mac.size(), 32u);
  EXPECT_EQ(r.fudge, tsig::kFudge);
  const std::vector<tsig::Key> keys{k};
  const tsig::Key* used = nullptr;
  EXPECT_EQ(tsig::verify(m, r, keys, kNow + 300, {}, &used), tsig::Verdict::Ok);
  EXPECT_EQ(used, &keys[0]);
  EXPECT_EQ(tsig::verify(m, r, keys, kNow + 301, {}, &used), tsig::Verdict::BadTime);
  m[kHeaderSize + 2] ^= 0x20;  // the question's case: covered by the MAC
  ASSERT_EQ(tsig::find(m, r), tsig::Found::Ok);
  EXPECT_EQ(tsig::verify(m, r, keys, kNow, {}, &used), tsig::Verdict::BadSig);
}

TEST(Tsig, FindRejectsATsigThatIsNotLast) {
  const tsig::Key k = key();
  std::vector<uint8_t> m = signed_request(axfr(), k);
  // Announce one more additional record after the TSIG: a malformed message.
  m[11] = static_cast<uint8_t>(m[11] + 1);
  tsig::Record r;
  EXPECT_EQ(tsig::find(m, r), tsig::Found::Malformed);
  EXPECT_EQ(tsig::find(axfr(), r), tsig::Found::None);
}

TEST(Tsig, AlgorithmsByName) {
  EXPECT_EQ(tsig::parse_algorithm("HMAC-SHA256."), tsig::Algorithm::HmacSha256);
  EXPECT_EQ(tsig::parse_algorithm("hmac-sha512"), tsig::Algorithm::HmacSha512);
  EXPECT_FALSE(tsig::parse_algorithm("hmac-md5"));
  EXPECT_EQ(tsig::mac_size(tsig::Algorithm::HmacSha384), 48u);
}

}  // namespace
}  // namespace steer::dns
