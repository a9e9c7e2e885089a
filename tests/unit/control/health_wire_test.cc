// The pure pieces of control/health: the jittered schedule arithmetic, the lag histogram,
// the HTTP response reader and the DNS wire codec (checked against hand-built messages).
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "control/health/dns_wire.h"
#include "control/health/http_response.h"
#include "control/health/schedule.h"

namespace steer::control::health {
namespace {

using std::chrono::microseconds;

TEST(Schedule, JitteredPeriodStaysWithinBoundsAndSpreads) {
  Rng rng(42);
  int64_t lo = INT64_MAX, hi = 0;
  double sum = 0;
  constexpr int kN = 20000;
  for (int i = 0; i < kN; ++i) {
    const int64_t p = jittered_period(1000, 0.1, rng).count();
    lo = std::min(lo, p);
    hi = std::max(hi, p);
    sum += static_cast<double>(p);
  }
  EXPECT_GE(lo, 900'000);
  EXPECT_LE(hi, 1'100'000);
  // Uniform: the extremes are reached and the mean is the interval.
  EXPECT_LT(lo, 902'000);
  EXPECT_GT(hi, 1'098'000);
  EXPECT_NEAR(sum / kN, 1'000'000, 2'000);
}

TEST(Schedule, ZeroJitterIsExactAndJitterIsClampedToHalf) {
  Rng rng(1);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(jittered_period(50, 0.0, rng), microseconds(50'000));
  for (int i = 0; i < 1000; ++i) {
    const auto p = jittered_period(100, 3.0, rng).count();
    EXPECT_GE(p, 50'000);
    EXPECT_LE(p, 150'000);
  }
}

TEST(Schedule, SameSeedSameSequence) {
  Rng a(7), b(7), c(8);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(a.next(), b.next());
  EXPECT_NE(Rng(7).next(), c.next());
}

TEST(Schedule, FirstPhaseCoversTheInterval) {
  Rng rng(3);
  std::vector<int> buckets(10);
  for (int i = 0; i < 10000; ++i) {
    const auto p = first_phase(100, rng).count();
    ASSERT_GE(p, 0);
    ASSERT_LT(p, 100'000);
    ++buckets[static_cast<size_t>(p / 10'000)];
  }
  for (int n : buckets) EXPECT_NEAR(n, 1000, 150);
}

TEST(LagHistogram, PercentilesWithinTwoPercent) {
  LagHistogram h;
  EXPECT_EQ(h.percentile(0.5), 0);
  for (uint64_t v = 1; v <= 10000; ++v) h.record(v);
  EXPECT_EQ(h.total(), 10000u);
  EXPECT_NEAR(h.percentile(0.5), 5000, 5000 * 0.02);
  EXPECT_NEAR(h.percentile(0.99), 9900, 9900 * 0.02);
  EXPECT_NEAR(h.percentile(1.0), 10000, 10000 * 0.02);
  LagHistogram small;
  for (int i = 0; i < 99; ++i) small.record(3);
  small.record(40);
  EXPECT_EQ(small.percentile(0.5), 3);
  EXPECT_EQ(small.percentile(1.0), 40);
  small.add(h);
  EXPECT_EQ(small.total(), 10100u);
  small.clear();
  EXPECT_EQ(small.total(), 0u);
  LagHistogram huge;
  huge.record(UINT64_MAX);
  EXPECT_GT(huge.percentile(0.5), 1e18);
}

// --- HTTP ---

// Keeps the input alive until the next call: the reply's body may be a view into it.
HttpParse parse(const std::string& in, bool eof, bool want_body, HttpReply& r) {
  static std::string input, scratch;
  input = in;
  return parse_http_reply(input, eof, want_body, r, scratch);
}

TEST(HttpResponse, StatusOnlyCompletesAtEndOfHeaders) {
  HttpReply r;
  EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nContent-Le", false, false, r), HttpParse::NeedMore);
  EXPECT_EQ(parse("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 5\r\n\r\n", false, false, r),
            HttpParse::Complete);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(parse("HTTP/1.0 204\r\n\r\n", false, true, r), HttpParse::Complete);
  EXPECT_EQ(r.status, 204);
}

TEST(HttpResponse, BodyByContentLength) {
  HttpReply r;
  const std::string head = "HTTP/1.1 200 OK\r\ncontent-length: 11\r\n\r\n";
  EXPECT_EQ(parse(head + "hello", false, true, r), HttpParse::NeedMore);
  EXPECT_EQ(parse(head + "hello world+extra", false, true, r), HttpParse::Complete);
  EXPECT_EQ(r.body, "hello world");
  // Cut short: at EOF what arrived is the body.
  EXPECT_EQ(parse(head + "hello", true, true, r), HttpParse::Complete);
  EXPECT_EQ(r.body, "hello");
}

TEST(HttpResponse, BodyToEofAndCapped) {
  HttpReply r;
  const std::string head = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n";
  EXPECT_EQ(parse(head + "abc", false, true, r), HttpParse::NeedMore);
  EXPECT_EQ(parse(head + "abc", true, true, r), HttpParse::Complete);
  EXPECT_EQ(r.body, "abc");
  const std::string big(kMaxHttpBody + 100, 'x');
  EXPECT_EQ(parse(head + big, false, true, r), HttpParse::Complete);
  EXPECT_EQ(r.body.size(), kMaxHttpBody);
}

TEST(HttpResponse, ChunkedBodyIsDecoded) {
  HttpReply r;
  const std::string head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  EXPECT_EQ(parse(head + "4\r\nstat\r\n", false, true, r), HttpParse::NeedMore);
  EXPECT_EQ(parse(head + "4\r\nstat\r\n7;ext=1\r\nus: ok!\r\n0\r\n\r\n", false, true, r),
            HttpParse::Complete);
  EXPECT_EQ(r.body, "status: ok!");
  EXPECT_EQ(parse(head + "zz\r\n", false, true, r), HttpParse::Malformed);
  EXPECT_EQ(parse(head + "2\r\nabXX", false, true, r), HttpParse::Malformed);
}

TEST(HttpResponse, InterimResponsesAreSkipped) {
  HttpReply r;
  EXPECT_EQ(parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\n\r\n", false, false, r),
            HttpParse::Complete);
  EXPECT_EQ(r.status, 404);
}

TEST(HttpResponse, GarbageIsMalformedAndHugeHeadersTooLarge) {
  HttpReply r;
  EXPECT_EQ(parse("SSH-2.0-OpenSSH_9.2\r\n\r\n", false, false, r), HttpParse::Malformed);
  EXPECT_EQ(parse("HTTP/1.1 2x0 OK\r\n\r\n", false, false, r), HttpParse::Malformed);
  EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nNoColonHere\r\n\r\n", false, false, r), HttpParse::Malformed);
  EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", false, true, r),
            HttpParse::Malformed);
  EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nX: " + std::string(kMaxHttpHeaders, 'a'), false, false, r),
            HttpParse::TooLarge);
}

// --- DNS ---

using Bytes = std::vector<uint8_t>;

TEST(DnsWire, QueryMatchesHandBuiltBytes) {
  Bytes out(512);
  size_t n = 0;
  ASSERT_EQ(dns::encode_query(0xbeef, "www.Example.com.", dns::kTypeA, false, out, n),
            dns::DnsEncode::Ok);
  const Bytes want = {0xbe, 0xef, 0x00, 0x00, 0, 1,   0,   0,   0,   0,   0,   0,    // header, RD=0
                      3,    'w',  'w',  'w',  7, 'E', 'x', 'a', 'm', 'p', 'l', 'e',  // labels
                      3,    'c',  'o',  'm',  0,                                     // root
                      0,    1,    0,    1};                                          // A, IN
  EXPECT_EQ(Bytes(out.begin(), out.begin() + static_cast<long>(n)), want);
  // Same without the trailing dot; RD set when asked.
  size_t n2 = 0;
  Bytes out2(512);
  ASSERT_EQ(dns::encode_query(0xbeef, "www.Example.com", dns::kTypeA, true, out2, n2),
            dns::DnsEncode::Ok);
  EXPECT_EQ(n2, n);
  EXPECT_EQ(out2[2], 0x01);
}

TEST(DnsWire, QueryNameErrors) {
  Bytes out(512);
  size_t n = 0;
  EXPECT_EQ(dns::encode_query(1, "a..b", 1, false, out, n), dns::DnsEncode::EmptyLabel);
  EXPECT_EQ(dns::encode_query(1, std::string(64, 'a') + ".com", 1, false, out, n),
            dns::DnsEncode::LabelTooLong);
  std::string long_name;
  for (int i = 0; i < 50; ++i) long_name += "abcde.";
  EXPECT_EQ(dns::encode_query(1, long_name, 1, false, out, n), dns::DnsEncode::NameTooLong);
  Bytes tiny(10);
  EXPECT_EQ(dns::encode_query(1, "a.b", 1, false, tiny, n), dns::DnsEncode::BufferTooSmall);
  EXPECT_EQ(dns::encode_query(1, ".", 1, false, out, n), dns::DnsEncode::Ok);
  EXPECT_EQ(n, 12u + 1 + 4);
}

// A reply to `query` with the given answers (each name a pointer to the question's name).
Bytes make_reply(uint16_t id, uint8_t rcode, const std::vector<Bytes>& rdatas, uint16_t type) {
  Bytes q(512);
  size_t n = 0;
  EXPECT_EQ(dns::encode_query(id, "svc.example.", type, false, q, n), dns::DnsEncode::Ok);
  q.resize(n);
  q[2] = 0x84;  // QR, AA
  q[3] = rcode;
  q[7] = static_cast<uint8_t>(rdatas.size());
  for (const Bytes& rd : rdatas) {
    const Bytes rr = {0xc0, 12, 0, static_cast<uint8_t>(type),     0, 1, 0, 0,
                      0,    60, 0, static_cast<uint8_t>(rd.size())};
    q.insert(q.end(), rr.begin(), rr.end());
    q.insert(q.end(), rd.begin(), rd.end());
  }
  return q;
}

TEST(DnsWire, ReplyWithCompressedAnswers) {
  const Bytes m = make_reply(77, 0, {{192, 0, 2, 1}, {192, 0, 2, 2}}, dns::kTypeA);
  dns::Reply r;
  ASSERT_EQ(dns::decode_reply(m, r), dns::DnsDecode::Ok);
  EXPECT_EQ(r.id, 77);
  EXPECT_EQ(r.rcode, 0);
  EXPECT_EQ(r.qname, "svc.example.");
  EXPECT_EQ(r.qtype, dns::kTypeA);
  ASSERT_EQ(r.addresses.size(), 2u);
  EXPECT_EQ(r.addresses[1], *IpAddress::parse("192.0.2.2"));
  EXPECT_EQ(dns::rcode_name(3), "NXDOMAIN");
  EXPECT_EQ(dns::rcode_name(14), "RCODE14");
  EXPECT_EQ(dns::canonical_name("SVC.Example"), "svc.example.");
}

TEST(DnsWire, AaaaAnswer) {
  Bytes v6(16, 0);
  v6[0] = 0x20, v6[1] = 0x01, v6[2] = 0x0d, v6[3] = 0xb8, v6[15] = 5;
  const Bytes m = make_reply(1, 0, {v6}, dns::kTypeAAAA);
  dns::Reply r;
  ASSERT_EQ(dns::decode_reply(m, r), dns::DnsDecode::Ok);
  ASSERT_EQ(r.addresses.size(), 1u);
  EXPECT_EQ(r.addresses[0], *IpAddress::parse("2001:db8::5"));
}

TEST(DnsWire, HostileRepliesAreRejectedNotOverread) {
  dns::Reply r;
  const Bytes good = make_reply(9, 0, {{10, 0, 0, 1}}, dns::kTypeA);
  // Every truncation of a valid reply is an error, never a crash or a read past the end.
  for (size_t len = 0; len < good.size(); ++len) {
    EXPECT_NE(dns::decode_reply(std::span(good.data(), len), r), dns::DnsDecode::Ok) << len;
  }
  Bytes query = good;
  query[2] = 0x00;
  EXPECT_EQ(dns::decode_reply(query, r), dns::DnsDecode::NotAReply);
  // A pointer to itself, and one pointing forward, are refused.
  Bytes loop = good;
  const size_t answer = good.size() - 16;  // the answer RR: pointer, 10 bytes, 4 of RDATA
  loop[answer] = 0xc0, loop[answer + 1] = static_cast<uint8_t>(answer);
  EXPECT_EQ(dns::decode_reply(loop, r), dns::DnsDecode::BadName);
  Bytes fwd = good;
  fwd[answer + 1] = static_cast<uint8_t>(answer + 4);
  EXPECT_EQ(dns::decode_reply(fwd, r), dns::DnsDecode::BadName);
  // An A record of 5 bytes, and RDLENGTH past the end.
  Bytes a5 = make_reply(9, 0, {{10, 0, 0, 1, 7}}, dns::kTypeA);
  EXPECT_EQ(dns::decode_reply(a5, r), dns::DnsDecode::BadRecord);
  Bytes over = good;
  over[answer + 11] = 200;
  EXPECT_EQ(dns::decode_reply(over, r), dns::DnsDecode::BadRecord);
  // Reserved label type 0x40.
  Bytes label = good;
  label[12] = 0x41;
  EXPECT_EQ(dns::decode_reply(label, r), dns::DnsDecode::BadName);
}

}  // namespace
}  // namespace steer::control::health
