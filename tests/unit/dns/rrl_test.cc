// Response-rate limiting (dns/rrl.h): the token bucket with an injected clock (rate, burst,
// window, slip), the accounts (client prefixes, answer classes made by the real answer path
// and read back from its bytes), the truncated form of a slipped answer, and what a full
// table does. The responder applies it to UDP only; the integration suite covers the wire.
#include "dns/rrl.h"

#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/publish.h"
#include "dns/build.h"
#include "dns/decode.h"
#include "dns/responder.h"

namespace steer::dns {
namespace {

IpAddress ip(const char* s) { return *IpAddress::parse(s); }

RrlConfig config(uint32_t rate = 10, uint32_t window = 5, uint32_t slip = 2) {
  RrlConfig c;
  c.enabled = true;
  c.responses_per_second = rate;
  c.window_s = window;
  c.slip = slip;
  return c;
}

struct Tally {
  int sent = 0, dropped = 0, slipped = 0;
  void add(RrlVerdict v) {
    (v == RrlVerdict::Send ? sent : v == RrlVerdict::Drop ? dropped : slipped)++;
  }
};

// `n` answers for `key`, evenly spread over [from, from + duration_ms).
Tally run(Rrl& r, uint64_t key, int n, int64_t from, int64_t duration_ms) {
  Tally t;
  bool evicted = false;
  for (int i = 0; i < n; ++i) t.add(r.account(key, from + duration_ms * i / n, evicted));
  return t;
}

TEST(RrlBucket, UnderTheRateNothingIsLimited) {
  Rrl r(config(10));
  // A burst of one second's worth at once, then exactly the rate for a minute.
  EXPECT_EQ(run(r, 42, 10, 0, 0).sent, 10);
  const Tally t = run(r, 42, 600, 1000, 60'000);
  EXPECT_EQ(t.sent, 600);
  EXPECT_EQ(t.dropped + t.slipped, 0);
}

TEST(RrlBucket, OverTheRateEveryAnswerIsLimitedAndEverySlipthGoesOutTruncated) {
  Rrl r(config(10, 5, 2));
  // 100/s for 10 s. BIND's account: every answer debits, limited or not, so an account asked
  // faster than the rate stays below zero — after the burst (the 10 credits and what 100 ms
  // earn: 11 answers) nothing gets through in full. Of the limited, half are dropped and
  // half slipped.
  const Tally t = run(r, 7, 1000, 0, 10'000);
  EXPECT_EQ(t.sent, 11);
  EXPECT_EQ(t.sent + t.dropped + t.slipped, 1000);
  EXPECT_NEAR(t.slipped, t.dropped, 1);

  // Just over the rate (12/s against 10/s): the account sinks more slowly, but it sinks.
  // Each answer costs 1 and earns 10/12: the burst lasts about 9000 / 167 answers.
  Rrl slow(config(10, 5, 0));
  const Tally early = run(slow, 7, 120, 0, 10'000);
  EXPECT_NEAR(early.sent, 54, 3);
  const Tally rest = run(slow, 7, 600, 10'000, 50'000);
  EXPECT_EQ(rest.sent, 0) << "the account stays below zero";

  Rrl three(config(10, 5, 3));
  const Tally t3 = run(three, 7, 1000, 0, 10'000);
  EXPECT_NEAR(t3.dropped, 2 * t3.slipped, 2) << "slip 3: one in three limited goes out TC";

  Rrl never(config(10, 5, 0));
  const Tally t0 = run(never, 7, 1000, 0, 10'000);
  EXPECT_EQ(t0.slipped, 0) << "slip 0: every limited answer is dropped";
  EXPECT_GT(t0.dropped, 800);

  Rrl always(config(10, 5, 1));
  const Tally t1 = run(always, 7, 1000, 0, 10'000);
  EXPECT_EQ(t1.dropped, 0) << "slip 1: every limited answer goes out truncated";
  EXPECT_GT(t1.slipped, 800);
}

TEST(RrlBucket, TheOneAnswerOverTheBurstIsLimitedAndTheNextMillisecondsEarnCredit) {
  Rrl r(config(10, 5, 0));
  bool evicted = false;
  for (int i = 0; i < 10; ++i) EXPECT_EQ(r.account(1, 0, evicted), RrlVerdict::Send);
  EXPECT_EQ(r.account(1, 0, evicted), RrlVerdict::Drop);
  // 10/s: one answer's credit per 100 ms. The limited answer debited too (BIND's account):
  // -1 now, so 100 ms brings it to 0 and the next answer to -1 again.
  EXPECT_EQ(r.account(1, 100, evicted), RrlVerdict::Drop);
  EXPECT_EQ(r.account(1, 300, evicted), RrlVerdict::Send);
}

TEST(RrlBucket, AfterAFloodTheAccountRecoversInTheWindow) {
  // BIND's semantics: a flood takes the account to -window x rate; it earns the rate back per
  // second, so answers flow again `window` seconds after the flood stops.
  Rrl r(config(10, 5, 0));
  run(r, 9, 10'000, 0, 10'000);  // 1000/s for 10 s
  bool evicted = false;
  EXPECT_EQ(r.account(9, 10'000 + 4'800, evicted), RrlVerdict::Drop) << "4.8 s: still limited";
  EXPECT_EQ(r.account(9, 10'000 + 5'300, evicted), RrlVerdict::Send) << "past the window";
  // And then the burst refills within a second of quiet.
  const Tally t = run(r, 9, 10, 10'000 + 5'300 + 1'100, 0);
  EXPECT_EQ(t.sent, 10);
}

TEST(RrlBucket, ALongWindowKeepsAFloodedAccountLimitedLonger) {
  Rrl r(config(10, 30, 0));
  run(r, 9, 10'000, 0, 10'000);
  bool evicted = false;
  EXPECT_EQ(r.account(9, 10'000 + 20'000, evicted), RrlVerdict::Drop);
  EXPECT_EQ(r.account(9, 10'000 + 31'000, evicted), RrlVerdict::Send);
}

TEST(RrlBucket, AClockThatGoesBackEarnsNothingAndBreaksNothing) {
  Rrl r(config(10, 5, 0));
  run(r, 3, 10, 5'000, 0);
  bool evicted = false;
  EXPECT_EQ(r.account(3, 1'000, evicted), RrlVerdict::Drop);
  EXPECT_EQ(r.account(3, 5'200, evicted), RrlVerdict::Send);
}

// ---- accounts: prefixes and answer classes, from real answers ----------------------------

Name name(const char* text) {
  Name n;
  EXPECT_TRUE(parse_name_text(text, n)) << text;
  return n;
}

RecordConfig rec(const char* owner, uint16_t type, const char* data) {
  RecordConfig r;
  r.name = name(owner);
  r.type = type;
  r.ttl = 300;
  auto rd = rdata_from_text(type, data, name("lb.example.com."));
  EXPECT_TRUE(rd) << data;
  if (rd) r.rdata = *rd;
  r.text = data;
  return r;
}

struct Answers {
  DnsConfig config;
  std::shared_ptr<const Table> table;
  Counters counters;

  Answers() {
    ZoneConfig z;
    z.apex = name("lb.example.com.");
    z.soa.mname = name("ns1.lb.example.com.");
    z.soa.rname = name("hostmaster.example.com.");
    z.ns = {name("ns1.lb.example.com.")};
    z.records = {rec("ns1.lb.example.com.", type::kA, "192.0.2.53"),
                 rec("www.lb.example.com.", type::kA, "192.0.2.80"),
                 rec("www.lb.example.com.", type::kAaaa, "2001:db8::80"),
                 rec("sub.lb.example.com.", type::kNs, "ns.sub.lb.example.com."),
                 rec("ns.sub.lb.example.com.", type::kA, "192.0.2.77")};
    config.zones.push_back(z);
    ZoneConfig other = z;
    other.apex = name("other.example.");
    other.soa.mname = name("ns1.other.example.");
    other.ns = {name("ns1.other.example.")};
    other.records = {};
    config.zones.push_back(other);
    BuildInputs in;
    in.config = &config;
    in.state = [](const ServiceConfig&, const ServicePopConfig&) { return PopState{}; };
    in.nsid = "test";
    table = build_table(in);
  }

  std::vector<uint8_t> make(const char* qname, uint16_t qtype = type::kA, bool edns = true) {
    QuerySpec s;
    s.name = qname;
    s.type = qtype;
    s.id = 0x4242;
    s.edns = edns;
    s.nsid = edns;
    auto q = make_query(s);
    EXPECT_TRUE(q);
    std::vector<uint8_t> out(4096);
    const size_t n = answer(*table, *q, Client{ip("192.0.2.1"), false}, out, 1, counters);
    out.resize(n);
    return out;
  }
};

TEST(RrlKey, AnswersAreClassedByWhatTheySay) {
  Answers a;
  EXPECT_EQ(Rrl::classify(a.make("www.lb.example.com.")), ResponseClass::Answer);
  EXPECT_EQ(Rrl::classify(a.make("nope.lb.example.com.")), ResponseClass::NxDomain);
  EXPECT_EQ(Rrl::classify(a.make("ns1.lb.example.com.", type::kTxt)), ResponseClass::Empty);
  EXPECT_EQ(Rrl::classify(a.make("x.sub.lb.example.com.")), ResponseClass::Empty) << "referral";
  EXPECT_EQ(Rrl::classify(a.make("www.example.org.")), ResponseClass::Error) << "REFUSED";
  QuerySpec s;
  s.name = "www.lb.example.com.";
  auto q = make_query(s);
  ASSERT_TRUE(q);
  (*q)[q->size() - 11 + 6] = 1;  // the OPT's version (root, type, class, ext rcode, version)
  std::vector<uint8_t> out(4096);
  out.resize(answer(*a.table, *q, Client{ip("192.0.2.1"), false}, out, 1, a.counters));
  ASSERT_EQ(decode_message(out)->rcode, rcode::kBadVers);
  EXPECT_EQ(Rrl::classify(out), ResponseClass::Error) << "BADVERS: its rcode is in the OPT";
}

TEST(RrlKey, OneAccountPerPrefixAndAnswerWhateverTheCaseOrHostBits) {
  Answers a;
  Rrl r(config());
  const IpAddress c = ip("198.51.100.7");
  const uint64_t k = r.key(c, a.make("www.lb.example.com."));
  EXPECT_EQ(r.key(c, a.make("WwW.lB.eXample.COM.")), k) << "0x20 case is one answer";
  EXPECT_EQ(r.key(ip("198.51.100.250"), a.make("www.lb.example.com.")), k) << "one /24";
  EXPECT_NE(r.key(ip("198.51.101.7"), a.make("www.lb.example.com.")), k) << "another /24";
  EXPECT_NE(r.key(c, a.make("www.lb.example.com.", type::kAaaa)), k) << "another type";
  EXPECT_NE(r.key(c, a.make("ns1.lb.example.com.")), k) << "another name";
  // Negative answers: one account per zone, whatever the (random) name.
  const uint64_t nx = r.key(c, a.make("a1b2.lb.example.com."));
  EXPECT_EQ(r.key(c, a.make("zz9.deep.lb.example.com.")), nx);
  EXPECT_NE(r.key(c, a.make("a1b2.other.example.")), nx) << "another zone";
  EXPECT_NE(nx, r.key(c, a.make("ns1.lb.example.com.", type::kTxt))) << "NODATA is not NXDOMAIN";
  // A referral: the delegation, whatever the name below it.
  EXPECT_EQ(r.key(c, a.make("a.sub.lb.example.com.")), r.key(c, a.make("b.c.sub.lb.example.com.")));
  // Errors: one account per prefix.
  EXPECT_EQ(r.key(c, a.make("www.example.org.")), r.key(c, a.make("x.example.net.", type::kMx)));
  // The hash is seeded: another thread's table places keys elsewhere.
  Rrl seeded(config(), Rrl::kDefaultSlots, 99);
  EXPECT_NE(seeded.key(c, a.make("www.lb.example.com.")), k);
}

TEST(RrlKey, PrefixesAreTheConfiguredLengths) {
  RrlConfig c = config();
  Rrl r(c);
  EXPECT_EQ(r.prefix_of(ip("192.0.2.200")), ip("192.0.2.0"));
  EXPECT_EQ(r.prefix_of(ip("2001:db8:1:ff12:3::1")), ip("2001:db8:1:ff00::")) << "/56";
  c.ipv4_prefix = 20;
  c.ipv6_prefix = 64;
  Rrl other(c);
  EXPECT_EQ(other.prefix_of(ip("10.1.31.9")), ip("10.1.16.0"));
  EXPECT_EQ(other.prefix_of(ip("2001:db8:1:ff12:3::1")), ip("2001:db8:1:ff12::"));
  c.ipv4_prefix = 32;
  c.ipv6_prefix = 128;
  Rrl exact(c);
  EXPECT_EQ(exact.prefix_of(ip("10.1.31.9")), ip("10.1.31.9"));
  EXPECT_EQ(exact.prefix_of(ip("2001:db8::1")), ip("2001:db8::1"));
}

// apply(): the answers a client gets.
struct Sent {
  int full = 0, truncated = 0, none = 0;
};
Sent flood(Rrl& r, Answers& a, const char* client, const char* qname, int n, int64_t at,
           Counters& counters) {
  Sent s;
  const std::vector<uint8_t> ans = a.make(qname);
  for (int i = 0; i < n; ++i) {
    std::vector<uint8_t> buf = ans;
    const size_t size = r.apply(ip(client), buf, buf.size(), at, counters);
    if (size == ans.size()) {
      ++s.full;
    } else if (size == 0) {
      ++s.none;
    } else {
      ++s.truncated;
    }
  }
  return s;
}

TEST(RrlApply, DifferentPrefixesAreIndependent) {
  Answers a;
  Rrl r(config(10, 5, 2));
  Counters n;
  const Sent victim = flood(r, a, "203.0.113.9", "www.lb.example.com.", 100, 0, n);
  EXPECT_EQ(victim.full, 10);
  EXPECT_EQ(victim.truncated, 45);
  EXPECT_EQ(victim.none, 45);
  EXPECT_EQ(n.rrl_dropped, 45u);
  EXPECT_EQ(n.rrl_slipped, 45u);
  const Sent other = flood(r, a, "203.0.114.9", "www.lb.example.com.", 10, 0, n);
  EXPECT_EQ(other.full, 10) << "another /24 has its own account";
  const Sent v6 = flood(r, a, "2001:db8::9", "www.lb.example.com.", 10, 0, n);
  EXPECT_EQ(v6.full, 10);
}

TEST(RrlApply, A24AggregatesItsAddresses) {
  Answers a;
  Rrl r(config(10, 5, 0));
  Counters n;
  int full = 0;
  for (int host = 1; host <= 50; ++host) {
    const std::string client = "192.0.2." + std::to_string(host);
    full += flood(r, a, client.c_str(), "www.lb.example.com.", 1, 0, n).full;
  }
  EXPECT_EQ(full, 10) << "50 hosts of one /24 share one account";
  EXPECT_EQ(n.rrl_dropped, 40u);
}

TEST(RrlApply, An56AggregatesItsIpv6AddressesAndTheNextDoesNot) {
  Answers a;
  Rrl r(config(10, 5, 0));
  Counters n;
  int full = 0;
  for (const char* c : {"2001:db8:0:1::1", "2001:db8:0:ff::2", "2001:db8:0:42:1:2:3:4"}) {
    full += flood(r, a, c, "www.lb.example.com.", 5, 0, n).full;
  }
  EXPECT_EQ(full, 10) << "2001:db8:0:0::/56 is one account";
  EXPECT_EQ(flood(r, a, "2001:db8:0:100::1", "www.lb.example.com.", 5, 0, n).full, 5)
      << "2001:db8:0:100::/56 is another";
}

TEST(RrlApply, RefillOverTime) {
  Answers a;
  Rrl r(config(10, 2, 0));
  Counters n;
  EXPECT_EQ(flood(r, a, "192.0.2.1", "www.lb.example.com.", 30, 0, n).full, 10);
  // 30 debits from 10 credits: -20, the floor (2 s x 10). 2 s to get back to 0, then the
  // rate: at 2.5 s, 5 more answers' worth.
  EXPECT_EQ(flood(r, a, "192.0.2.1", "www.lb.example.com.", 10, 1'900, n).full, 0);
  EXPECT_EQ(flood(r, a, "192.0.2.1", "www.lb.example.com.", 10, 5'000, n).full, 10);
}

TEST(RrlApply, RandomNamesUnderOneZoneShareTheNxdomainAccount) {
  Answers a;
  Rrl r(config(10, 5, 0));
  Counters n;
  int full = 0;
  for (int i = 0; i < 100; ++i) {
    const std::string qname = "r" + std::to_string(i * 7919) + ".lb.example.com.";
    full += flood(r, a, "192.0.2.1", qname.c_str(), 1, 0, n).full;
  }
  EXPECT_EQ(full, 10);
}

TEST(RrlApply, ASlippedAnswerIsTheQuestionWithTcAndABareOpt) {
  Answers a;
  Rrl r(config(1, 5, 1));
  Counters n;
  const std::vector<uint8_t> full = a.make("www.lb.example.com.", type::kA, true);
  std::vector<uint8_t> buf = full;
  ASSERT_EQ(r.apply(ip("192.0.2.1"), buf, buf.size(), 0, n), full.size());
  const size_t size = r.apply(ip("192.0.2.1"), buf, buf.size(), 0, n);
  ASSERT_GT(size, 0u);
  ASSERT_LT(size, full.size());
  EXPECT_EQ(n.rrl_slipped, 1u);
  auto d = decode_message({buf.data(), size});
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->id, 0x4242);
  EXPECT_TRUE(d->qr);
  EXPECT_TRUE(d->tc);
  EXPECT_TRUE(d->aa);
  EXPECT_EQ(d->rcode, rcode::kNoError);
  EXPECT_EQ(d->qname, "www.lb.example.com.");
  EXPECT_EQ(d->qtype, type::kA);
  EXPECT_TRUE(d->answer.empty());
  EXPECT_TRUE(d->authority.empty());
  EXPECT_TRUE(d->additional.empty());
  EXPECT_TRUE(d->has_opt) << "RFC 6891 7: an OPT answers an OPT";
  EXPECT_EQ(d->udp_size, 1232);
  EXPECT_EQ(d->nsid, "") << "options stay out";
  EXPECT_EQ(size, kHeaderSize + 20 + 4 + 11);

  // Without EDNS: no OPT.
  std::vector<uint8_t> plain = a.make("www.lb.example.com.", type::kA, false);
  const size_t t = Rrl::truncate(plain);
  auto p = decode_message({plain.data(), t});
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->tc);
  EXPECT_FALSE(p->has_opt);
  EXPECT_EQ(t, kHeaderSize + 20 + 4);
  // A negative answer keeps its rcode.
  std::vector<uint8_t> nx = a.make("nope.lb.example.com.");
  auto x = decode_message({nx.data(), Rrl::truncate(nx)});
  ASSERT_TRUE(x);
  EXPECT_EQ(x->rcode, rcode::kNxDomain);
  EXPECT_TRUE(x->authority.empty());
}

TEST(RrlApply, ARateOfZeroLimitsNothing) {
  Answers a;
  Rrl r(config(0));
  Counters n;
  EXPECT_EQ(flood(r, a, "192.0.2.1", "www.lb.example.com.", 1000, 0, n).full, 1000);
}

// ---- the table ----------------------------------------------------------------------------

TEST(RrlTable, IdleAccountsAreForgottenAfterTheWindowAndTheirSlotsReused) {
  Rrl r(config(10, 5, 0), 64);
  EXPECT_EQ(r.slots(), 64u);
  bool evicted = false;
  for (uint64_t k = 1; k <= 40; ++k) r.account(k * 0x9e3779b97f4a7c15ULL, 0, evicted);
  EXPECT_EQ(r.live(0), 40u);
  EXPECT_EQ(r.live(5'999), 40u);
  EXPECT_EQ(r.live(6'000), 0u) << "window + 1 s idle: the same as no account";
  int evictions = 0;
  for (uint64_t k = 100; k < 140; ++k) {
    r.account(k * 0x9e3779b97f4a7c15ULL, 6'000, evicted);
    evictions += evicted;
  }
  EXPECT_EQ(evictions, 0) << "stale slots are free";
  EXPECT_EQ(r.live(6'000), 40u);
}

TEST(RrlTable, AFullTableReplacesTheLeastRecentlyUsedAndKeepsLimitingAFlood) {
  // 64 slots: far more live keys than fit. The flood touches its account on every answer,
  // so it stays; the quiet keys push each other out (counted), each coming back with a fresh
  // burst: the table degrades towards answering, never towards dropping.
  Rrl r(config(10, 5, 0), 64);
  Counters n;
  const uint64_t flood_key = 0x1234'5678'9abc'def1ULL;
  bool evicted = false;
  int flood_sent = 0, quiet_sent = 0, evictions = 0;
  uint64_t next = 1;
  for (int64_t t = 0; t < 10'000; t += 10) {  // 10 s
    flood_sent += r.account(flood_key, t, evicted) == RrlVerdict::Send;
    for (int i = 0; i < 5; ++i) {  // 500 new keys a second, each asking twice
      const uint64_t k = (next++) * 0x9e3779b97f4a7c15ULL;
      quiet_sent += r.account(k, t, evicted) == RrlVerdict::Send;
      evictions += evicted;
      quiet_sent += r.account(k, t, evicted) == RrlVerdict::Send;
    }
  }
  EXPECT_LE(r.live(10'000), 64u);
  EXPECT_GT(evictions, 4000) << "the table is full: nearly every new key replaces a live one";
  EXPECT_EQ(quiet_sent, 2 * 5000) << "no quiet key is ever limited";
  EXPECT_EQ(flood_sent, 11) << "the flood (100/s) is limited as it would be alone";
}

// ---- the responder ------------------------------------------------------------------------

// A socket to the responder on 127.0.0.1:port.
int connect_to(int type, uint16_t port) {
  const int fd = ::socket(AF_INET, type, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return -1;
  return fd;
}

TEST(RrlResponder, UdpAnswersOverTheRateAreDroppedOrTruncatedAndTcpOnesNever) {
  Answers a;
  PublishCell<Table> cell(a.table);
  ResponderOptions o;
  o.listen = {{ip("127.0.0.1"), 0}};
  o.threads = 1;
  o.rrl = config(5, 5, 2);
  auto r = Responder::start(o, cell, [](std::string_view) {});
  ASSERT_TRUE(r) << r.error().message;
  const uint16_t port = (*r)->ports()[0];
  QuerySpec s;
  s.name = "www.lb.example.com.";
  const std::vector<uint8_t> query = *make_query(s);

  // 40 queries at once over UDP: 5 answered, 35 limited (about half of them slipped).
  const int udp = connect_to(SOCK_DGRAM, port);
  ASSERT_GE(udp, 0);
  for (int i = 0; i < 40; ++i) {
    ASSERT_EQ(::send(udp, query.data(), query.size(), 0), ssize_t(query.size()));
  }
  int full = 0, truncated = 0;
  pollfd p{udp, POLLIN, 0};
  while (::poll(&p, 1, 500) == 1) {
    uint8_t buf[4096];
    const ssize_t k = ::recv(udp, buf, sizeof buf, 0);
    ASSERT_GT(k, 0);
    auto d = decode_message({buf, static_cast<size_t>(k)});
    ASSERT_TRUE(d);
    (d->tc ? truncated : full)++;
    if (d->tc) {
      EXPECT_TRUE(d->answer.empty());
    }
  }
  ::close(udp);
  EXPECT_EQ(full, 5) << "the burst, then nothing: 40 queries in well under 200 ms";
  EXPECT_GE(truncated, 16);
  EXPECT_LE(truncated, 18);
  // The same from TCP: every answer whole.
  const int tcp = connect_to(SOCK_STREAM, port);
  ASSERT_GE(tcp, 0);
  std::vector<uint8_t> framed;
  for (int i = 0; i < 20; ++i) {
    framed.push_back(static_cast<uint8_t>(query.size() >> 8));
    framed.push_back(static_cast<uint8_t>(query.size()));
    framed.insert(framed.end(), query.begin(), query.end());
  }
  ASSERT_EQ(::send(tcp, framed.data(), framed.size(), 0), ssize_t(framed.size()));
  std::vector<uint8_t> got;
  int tcp_full = 0;
  pollfd t{tcp, POLLIN, 0};
  while (tcp_full < 20 && ::poll(&t, 1, 2000) == 1) {
    uint8_t buf[4096];
    const ssize_t k = ::recv(tcp, buf, sizeof buf, 0);
    if (k <= 0) break;
    got.insert(got.end(), buf, buf + k);
    while (got.size() >= 2 && got.size() >= 2u + (got[0] << 8 | got[1])) {
      const size_t len = got[0] << 8 | got[1];
      auto d = decode_message({got.data() + 2, len});
      ASSERT_TRUE(d);
      EXPECT_FALSE(d->tc);
      EXPECT_EQ(d->answer.size(), 1u);
      ++tcp_full;
      got.erase(got.begin(), got.begin() + 2 + static_cast<ptrdiff_t>(len));
    }
  }
  ::close(tcp);
  EXPECT_EQ(tcp_full, 20);
  // Counters are published after each batch.
  Counters n;
  for (int i = 0; i < 100 && n.queries < 60; ++i) {
    n = (*r)->counters();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(n.queries, 60u);
  EXPECT_EQ(n.rrl_dropped + n.rrl_slipped, 35u);
  EXPECT_EQ(n.rrl_slipped, static_cast<uint64_t>(truncated));
  (*r)->stop();
}

TEST(RrlResponder, OffByDefault) {
  Answers a;
  PublishCell<Table> cell(a.table);
  ResponderOptions o;
  o.listen = {{ip("127.0.0.1"), 0}};
  o.threads = 1;
  auto r = Responder::start(o, cell, [](std::string_view) {});
  ASSERT_TRUE(r) << r.error().message;
  QuerySpec s;
  s.name = "www.lb.example.com.";
  const std::vector<uint8_t> query = *make_query(s);
  const int udp = connect_to(SOCK_DGRAM, (*r)->ports()[0]);
  ASSERT_GE(udp, 0);
  for (int i = 0; i < 40; ++i) ::send(udp, query.data(), query.size(), 0);
  int full = 0;
  pollfd p{udp, POLLIN, 0};
  while (full < 40 && ::poll(&p, 1, 500) == 1) {
    uint8_t buf[4096];
    full += ::recv(udp, buf, sizeof buf, 0) > 0;
  }
  ::close(udp);
  EXPECT_EQ(full, 40);
}

}  // namespace
}  // namespace steer::dns
