// The health checker against real servers on loopback in a private network namespace
// (main() unshares one, so nothing else on the machine is touched and nothing outlives the
// process): every probe type, passing and failing for each reason, rise/fall timing, the
// fast re-check, jitter, target-set changes. Needs root (exits 77, "skipped", without).
#include "control/health/checker.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <numeric>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>

#include "servers.h"
#include "testing/support/run_io.h"

namespace steer::control::health {
namespace {

using namespace std::chrono_literals;
using test::HttpServer;
using test::TcpAcceptServer;

IpAddress ip(const char* s) { return *IpAddress::parse(s); }

CheckConfig check(CheckType type, uint32_t interval_ms = 100, uint32_t timeout_ms = 80) {
  CheckConfig c;
  c.name = "t";
  c.type = type;
  c.interval_ms = interval_ms;
  c.timeout_ms = timeout_ms;
  c.rise = 1;
  c.fall = 1;
  c.jitter = 0.1;
  return c;
}

// A loopback UDP port nobody listens on (a server bound it, then stopped): probes get ICMP
// port unreachable.
uint16_t closed_udp_port() {
  test::UdpServer s([](const std::string&) { return std::optional<std::string>(); });
  const uint16_t p = s.port();
  s.stop();
  return p;
}

Target target(std::string key, const char* addr, uint16_t port, CheckConfig c) {
  return Target{std::move(key), ip(addr), port, std::move(c)};
}

struct Change {
  std::string key;
  State before, now;
  ProbeResult last;
  Clock::time_point when;
};

// One io_context and one Checker, run on this thread in slices.
struct Harness {
  asio::io_context io;
  std::vector<Change> changes;
  std::function<void(const Change&)> also;  // extra on_change behaviour for a test
  Checker checker{io,
                  [this](const std::string& key, State before, State now, const ProbeResult& r) {
                    changes.push_back(Change{key, before, now, r, Clock::now()});
                    if (also) also(changes.back());
                  },
                  1234};

  // Runs the io_context until pred() holds or `limit` passes; returns pred().
  bool run_until(const std::function<bool()>& pred, Clock::duration limit = 5s) {
    return steer::test::run_io_until(io, pred, limit, 2ms);
  }
  void run_for(Clock::duration d) {
    run_until([] { return false; }, d);
  }
  const TargetStatus& st(const std::string& key) {
    const TargetStatus* s = checker.status(key);
    EXPECT_NE(s, nullptr) << key;
    static const TargetStatus kNone;
    return s != nullptr ? *s : kNone;
  }
  bool settled() { return checker.all_settled(); }
  // Waits until `key` has had at least `n` probes.
  bool probes(const std::string& key, uint64_t n, Clock::duration limit = 5s) {
    return run_until([&] { return checker.status(key) && checker.status(key)->probes >= n; },
                     limit);
  }
};

// --- TCP ---

TEST(HealthTcp, OpenPortIsUpClosedPortIsRefused) {
  TcpAcceptServer server;
  const uint16_t closed = [] {
    TcpAcceptServer s;
    const uint16_t p = s.port();
    s.stop();
    return p;
  }();
  Harness h;
  h.checker.set_targets({target("open", "127.0.0.1", server.port(), check(CheckType::Tcp)),
                         target("closed", "127.0.0.1", closed, check(CheckType::Tcp))});
  EXPECT_FALSE(h.checker.all_settled());
  ASSERT_TRUE(h.run_until([&] { return h.settled(); }));
  EXPECT_EQ(h.st("open").state, State::Up);
  EXPECT_EQ(h.st("closed").state, State::Down);
  EXPECT_EQ(h.st("closed").last_failure, "connection refused");
  EXPECT_EQ(h.st("closed").history.back().reason, "connection refused");
  EXPECT_EQ(h.st("open").history.back().reason, "");
  EXPECT_TRUE(h.st("open").history.back().ok);
  EXPECT_EQ(h.st("open").last_failure, "");
  // Both verdicts were announced, from Unknown.
  ASSERT_EQ(h.changes.size(), 2u);
  for (const Change& c : h.changes) {
    EXPECT_EQ(c.before, State::Unknown);
    EXPECT_EQ(c.now, c.key == "open" ? State::Up : State::Down);
  }
  // Latency recorded: positive, far below the timeout on loopback.
  const ProbeResult& r = h.st("open").history.back();
  EXPECT_GT(r.latency.count(), 0);
  EXPECT_LT(r.latency, 50ms);
  EXPECT_LE(r.at, Clock::now());
  // The listener really saw the connections.
  EXPECT_TRUE(h.probes("open", 3));
  EXPECT_GE(server.accepted.load(), 2);
}

TEST(HealthTcp, Ipv6Loopback) {
  TcpAcceptServer server("::1");
  Harness h;
  h.checker.set_targets({target("v6", "::1", server.port(), check(CheckType::Tcp))});
  ASSERT_TRUE(h.run_until([&] { return h.settled(); }));
  EXPECT_EQ(h.st("v6").state, State::Up);
}

TEST(HealthTcp, NoSynAckTimesOut) {
  test::TcpBlackhole hole;
  Harness h;
  h.checker.set_targets({target("hole", "127.0.0.1", hole.port(), check(CheckType::Tcp, 200, 60))});
  ASSERT_TRUE(h.run_until([&] { return h.settled(); }));
  const TargetStatus& s = h.st("hole");
  EXPECT_EQ(s.state, State::Down);
  EXPECT_EQ(s.last_failure, "timeout after 60 ms");
  // The verdict came at the deadline: latency is the timeout (timer precision aside).
  EXPECT_GE(s.history.back().latency, 60ms);
  EXPECT_LT(s.history.back().latency, 90ms);
  EXPECT_GE(h.checker.stats().timeouts, 1u);
}

TEST(HealthTcp, HistoryKeepsTheLastSixteenInOrder) {
  TcpAcceptServer server;
  Harness h;
  auto c = check(CheckType::Tcp, 50, 40);
  c.jitter = 0;
  h.checker.set_targets({target("a", "127.0.0.1", server.port(), c)});
  ASSERT_TRUE(h.probes("a", 20));
  const TargetStatus& s = h.st("a");
  EXPECT_EQ(s.history.size(), TargetStatus::kHistory);
  EXPECT_GE(s.probes, 20u);
  EXPECT_EQ(s.failures, 0u);
  for (size_t i = 1; i < s.history.size(); ++i) {
    const auto gap = s.history[i].at - s.history[i - 1].at;
    // jitter 0: every 50 ms (timer precision and a busy machine aside).
    EXPECT_GT(gap, 45ms);
    EXPECT_LT(gap, 65ms);
  }
}

// --- HTTP ---

TEST(HealthHttp, StatusBodyAndHostHeader) {
  HttpServer ok(test::http_response(200, "status: ok\n"));
  HttpServer unavailable(test::http_response(503, "busy"));
  HttpServer wrong_body(test::http_response(200, "status: degraded\n"));
  HttpServer no_content(test::http_response(204, ""));
  HttpServer chunked(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nall o\r\n1\r\nk\r\n0\r\n\r\n");
  HttpServer garbage("SSH-2.0-OpenSSH_9.2\r\n\r\n");
  HttpServer hang("");

  auto c = check(CheckType::Http, 100, 70);
  c.path = "/healthz?full=1";
  c.host = "web.example";
  c.body_contains = "ok";
  auto plain = check(CheckType::Http, 100, 70);  // no body check, default Host
  auto accept_204 = plain;
  accept_204.expect_status = {200, 204};
  Harness h;
  h.checker.set_targets({
      target("ok", "127.0.0.1", ok.port(), c),
      target("503", "127.0.0.1", unavailable.port(), c),
      target("body", "127.0.0.1", wrong_body.port(), c),
      target("204-not-expected", "127.0.0.1", no_content.port(), plain),
      target("204-expected", "127.0.0.1", no_content.port(), accept_204),
      target("chunked", "127.0.0.1", chunked.port(), c),
      target("garbage", "127.0.0.1", garbage.port(), plain),
      target("hang", "127.0.0.1", hang.port(), plain),
  });
  ASSERT_TRUE(h.run_until([&] { return h.settled(); }));
  EXPECT_EQ(h.st("ok").state, State::Up);
  EXPECT_EQ(h.st("503").last_failure, "HTTP 503");
  EXPECT_EQ(h.st("body").last_failure, "body lacks 'ok'");
  EXPECT_EQ(h.st("204-not-expected").last_failure, "HTTP 204");
  EXPECT_EQ(h.st("204-expected").state, State::Up);
  EXPECT_EQ(h.st("chunked").state, State::Up) << h.st("chunked").last_failure;
  EXPECT_EQ(h.st("garbage").last_failure, "malformed HTTP response");
  EXPECT_EQ(h.st("hang").last_failure, "timeout after 70 ms");
  for (const char* k : {"503", "body", "204-not-expected", "garbage", "hang"}) {
    EXPECT_EQ(h.st(k).state, State::Down) << k;
  }
  // The request: GET with the path, the configured Host, Connection: close.
  const auto reqs = ok.requests();
  ASSERT_FALSE(reqs.empty());
  EXPECT_EQ(reqs[0].rfind("GET /healthz?full=1 HTTP/1.1\r\n", 0), 0u) << reqs[0];
  EXPECT_NE(reqs[0].find("\r\nHost: web.example\r\n"), std::string::npos) << reqs[0];
  EXPECT_NE(reqs[0].find("\r\nConnection: close\r\n"), std::string::npos) << reqs[0];
  // Default Host: the backend address and (non-80) port.
  const auto reqs204 = no_content.requests();
  ASSERT_FALSE(reqs204.empty());
  EXPECT_NE(reqs204[0].find("\r\nHost: 127.0.0.1:" + std::to_string(no_content.port()) + "\r\n"),
            std::string::npos)
      << reqs204[0];
}

TEST(HealthHttp, ClosedPortIsRefused) {
  const uint16_t closed = [] {
    HttpServer s("x");
    const uint16_t p = s.port();
    s.stop();
    return p;
  }();
  Harness h;
  h.checker.set_targets({target("c", "127.0.0.1", closed, check(CheckType::Http))});
  ASSERT_TRUE(h.run_until([&] { return h.settled(); }));
  EXPECT_EQ(h.st("c").last_failure, "connection refused");
}

// --- HTTPS ---

TEST(HealthHttps, SelfSignedWithoutVerificationSniAndFailures) {
  test::SelfSignedCert cert("health.example");
  test::HttpsServer ok(cert, test::http_response(200, "ok"));
  test::HttpsServer bad(cert, test::http_response(503, "no"));
  auto c = check(CheckType::Https, 200, 150);
  c.host = "health.example";
  c.body_contains = "ok";
  auto verify = c;
  verify.tls_verify = true;
  auto by_address = check(CheckType::Https, 200, 150);  // host "" : no SNI
  Harness h;
  h.checker.set_targets({target("ok", "127.0.0.1", ok.port(), c),
                         target("503", "127.0.0.1", bad.port(), c),
                         target("verify", "127.0.0.1", ok.port(), verify),
                         target("by-address", "127.0.0.1", bad.port(), by_address)});
  ASSERT_TRUE(h.run_until([&] { return h.settled(); }));
  EXPECT_EQ(h.st("ok").state, State::Up) << h.st("ok").last_failure;
  EXPECT_EQ(h.st("503").last_failure, "HTTP 503");
  EXPECT_EQ(h.st("by-address").last_failure, "HTTP 503");
  EXPECT_EQ(h.st("verify").state, State::Down);
  EXPECT_EQ(h.st("verify").last_failure, "TLS handshake failed: certificate verify failed");
  // SNI = the configured host name; none when probing by address.
  const auto ok_sni = ok.sni();
  ASSERT_FALSE(ok_sni.empty());
  EXPECT_EQ(ok_sni[0], "health.example");
  bool saw_empty = false;
  for (const auto& s : bad.sni()) saw_empty |= s.empty();
  EXPECT_TRUE(saw_empty);
}

TEST(HealthHttps, ServerThatClosesFailsTheHandshake) {
  TcpAcceptServer plain;  // accepts and closes: no TLS at all
  Harness h;
  h.checker.set_targets(
      {target("p", "127.0.0.1", plain.port(), check(CheckType::Https, 200, 150))});
  ASSERT_TRUE(h.run_until([&] { return h.settled(); }));
  EXPECT_EQ(h.st("p").state, State::Down);
  EXPECT_EQ(h.st("p").last_failure.rfind("TLS handshake failed: ", 0), 0u)
      << h.st("p").last_failure;
}

// --- UDP ---

TEST(HealthUdp, EchoRefusedWrongReplyAndSilence) {
  test::UdpServer echo([](const std::string& d) { return std::optional(d + "-pong"); });
  test::UdpServer wrong([](const std::string&) { return std::optional<std::string>("nope"); });
  test::UdpServer silent([](const std::string&) { return std::optional<std::string>(); });
  const uint16_t closed = closed_udp_port();
  auto c = check(CheckType::Udp);
  c.payload = "ping";
  c.expect = "pong";
  auto any = check(CheckType::Udp);  // expect "": any reply passes
  Harness h;
  h.checker.set_targets(
      {target("echo", "127.0.0.1", echo.port(), c), target("any", "127.0.0.1", wrong.port(), any),
       target("wrong", "127.0.0.1", wrong.port(), c),
       target("silent", "127.0.0.1", silent.port(), c), target("closed", "127.0.0.1", closed, c)});
  ASSERT_TRUE(h.run_until([&] { return h.settled(); }));
  EXPECT_EQ(h.st("echo").state, State::Up);
  EXPECT_EQ(h.st("any").state, State::Up);
  EXPECT_EQ(h.st("wrong").last_failure, "reply lacks 'pong'");
  EXPECT_EQ(h.st("silent").last_failure, "timeout after 80 ms");
  EXPECT_EQ(h.st("closed").last_failure, "connection refused");
}

// --- DNS ---

TEST(HealthDns, AnswerRcodeAndRefused) {
  const std::map<std::string, std::string> zone = {{"svc.test.", "192.0.2.10"}};
  test::UdpServer dns([&zone](const std::string& q) { return test::dns_answer(zone, q); });
  const uint16_t closed = closed_udp_port();
  auto c = check(CheckType::Dns);
  c.query = "svc.test.";
  c.expect_answer = "192.0.2.10";
  auto wrong = c;
  wrong.expect_answer = "192.0.2.99";
  auto any = c;
  any.expect_answer = "";
  any.query = "SVC.test";  // case and the trailing dot do not matter
  auto nx = c;
  nx.query = "missing.test.";
  nx.expect_answer = "";
  auto nx_expected = nx;
  nx_expected.expect_rcode = 3;
  Harness h;
  h.checker.set_targets(
      {target("ok", "127.0.0.1", dns.port(), c), target("wrong", "127.0.0.1", dns.port(), wrong),
       target("any", "127.0.0.1", dns.port(), any), target("nx", "127.0.0.1", dns.port(), nx),
       target("nx-expected", "127.0.0.1", dns.port(), nx_expected),
       target("closed", "127.0.0.1", closed, c)});
  ASSERT_TRUE(h.run_until([&] { return h.settled(); }));
  EXPECT_EQ(h.st("ok").state, State::Up) << h.st("ok").last_failure;
  EXPECT_EQ(h.st("any").state, State::Up) << h.st("any").last_failure;
  EXPECT_EQ(h.st("nx-expected").state, State::Up) << h.st("nx-expected").last_failure;
  EXPECT_EQ(h.st("wrong").last_failure, "wrong answer (got 192.0.2.10)");
  EXPECT_EQ(h.st("nx").last_failure, "rcode NXDOMAIN");
  EXPECT_EQ(h.st("closed").last_failure, "connection refused");
}

// --- rise/fall timing and the fast re-check ---

// The gaps between consecutive probe starts in `s`'s history, from index `from` on.
std::vector<Clock::duration> gaps(const TargetStatus& s, size_t from = 1) {
  std::vector<Clock::duration> out;
  for (size_t i = std::max<size_t>(from, 1); i < s.history.size(); ++i) {
    out.push_back(s.history[i].at - s.history[i - 1].at);
  }
  return out;
}

TEST(HealthTiming, StoppedServerIsDownAfterFallIntervals) {
  auto server = std::make_unique<TcpAcceptServer>();
  const uint16_t port = server->port();
  auto c = check(CheckType::Tcp, 100, 50);
  c.rise = 2;
  c.fall = 3;
  c.fast_interval_ms = 100;  // no fast re-check: fall × interval
  c.jitter = 0.05;
  Harness h;
  h.checker.set_targets({target("t", "127.0.0.1", port, c)});
  ASSERT_TRUE(h.run_until([&] { return h.st("t").state == State::Up; }));
  h.run_for(150ms);
  const auto stopped = Clock::now();
  server->stop();
  ASSERT_TRUE(h.run_until([&] { return h.st("t").state == State::Down; }));
  const auto took = h.changes.back().when - stopped;
  // First failure within one interval, then two more an interval apart: (fall-1)×interval to
  // fall×interval, jitter (5 %) and scheduling slack aside.
  EXPECT_GT(took, 2 * 95ms) << std::chrono::duration<double, std::milli>(took).count();
  EXPECT_LT(took, 3 * 105ms + 30ms) << std::chrono::duration<double, std::milli>(took).count();
  EXPECT_EQ(h.changes.back().before, State::Up);
  EXPECT_EQ(h.changes.back().last.reason, "connection refused");
  // Back up after `rise` passes.
  server = std::make_unique<TcpAcceptServer>("127.0.0.1", port);
  const auto restarted = Clock::now();
  ASSERT_TRUE(h.run_until([&] { return h.st("t").state == State::Up; }));
  const auto up_took = h.changes.back().when - restarted;
  EXPECT_GT(up_took, 1 * 95ms);
  EXPECT_LT(up_took, 2 * 105ms + 30ms);
}

TEST(HealthTiming, FastRecheckWhilePending) {
  auto server = std::make_unique<TcpAcceptServer>();
  const uint16_t port = server->port();
  auto c = check(CheckType::Tcp, 400, 40);
  c.rise = 2;
  c.fall = 4;
  c.fast_interval_ms = 50;
  c.jitter = 0.05;
  Harness h;
  h.checker.set_targets({target("t", "127.0.0.1", port, c)});
  // The first verdict itself uses the fast interval: pending after the first pass.
  ASSERT_TRUE(h.run_until([&] { return h.st("t").state == State::Up; }));
  ASSERT_GE(h.st("t").history.size(), 2u);
  EXPECT_LT(h.st("t").history[1].at - h.st("t").history[0].at, 70ms);
  // Steady state: the normal interval.
  ASSERT_TRUE(h.probes("t", 4));
  for (auto g : gaps(h.st("t"), 2)) EXPECT_GT(g, 370ms);
  const uint64_t before = h.st("t").probes;
  server->stop();
  const auto stopped = Clock::now();
  ASSERT_TRUE(h.run_until([&] { return h.st("t").state == State::Down; }));
  const auto took = h.changes.back().when - stopped;
  // One normal interval at most to the first failure, then 3 fast re-checks.
  EXPECT_LT(took, 420ms + 3 * 53ms + 40ms);
  const TargetStatus& s = h.st("t");
  ASSERT_GE(s.probes - before, 4u);
  // The last four probes failed, and were 50 ms apart (±jitter, loaded machine aside).
  const auto g = gaps(s, s.history.size() - 3);
  ASSERT_EQ(g.size(), 3u);
  for (auto d : g) {
    EXPECT_GT(d, 45ms);
    EXPECT_LT(d, 75ms);
  }
  EXPECT_FALSE(s.pending);
  // A pending flag while the streak runs: one failure then a pass when the server is back.
  server = std::make_unique<TcpAcceptServer>("127.0.0.1", port);
  ASSERT_TRUE(h.run_until([&] { return h.st("t").pending; }));
  EXPECT_EQ(h.st("t").state, State::Down);
  ASSERT_TRUE(h.run_until([&] { return h.st("t").state == State::Up; }));
}

// --- jitter ---

TEST(HealthJitter, StartsAreSpreadNotSynchronised) {
  TcpAcceptServer server;
  constexpr int kTargets = 200;
  auto c = check(CheckType::Tcp, 200, 100);
  c.jitter = 0.2;
  c.rise = 1;
  c.fall = 1;
  std::vector<Target> ts;
  ts.reserve(kTargets);
  for (int i = 0; i < kTargets; ++i) {
    ts.push_back(target("t" + std::to_string(i), "127.0.0.1", server.port(), c));
  }
  Harness h;
  const auto t0 = Clock::now();
  h.checker.set_targets(ts);
  h.run_for(1300ms);
  // First probes: uniform over the first interval (10 buckets of 20 ms, 20 expected each).
  std::vector<int> buckets(10);
  std::vector<double> periods;
  for (int i = 0; i < kTargets; ++i) {
    const TargetStatus& s = h.st("t" + std::to_string(i));
    ASSERT_GE(s.history.size(), 4u);
    const auto first = s.history.front().at - t0;
    ASSERT_LT(first, 205ms);
    ++buckets[static_cast<size_t>(std::min<int64_t>(9, first / 20ms))];
    for (auto g : gaps(s)) periods.push_back(std::chrono::duration<double, std::milli>(g).count());
  }
  for (int n : buckets) {
    EXPECT_GT(n, 5);
    EXPECT_LT(n, 40);
  }
  // Periods: within 200 ms ± 20 % and spread across it (uniform: sd = 40/sqrt(3) = 23 ms).
  const double mean = std::accumulate(periods.begin(), periods.end(), 0.0) / double(periods.size());
  double var = 0;
  for (double p : periods) var += (p - mean) * (p - mean);
  const double sd = std::sqrt(var / double(periods.size()));
  EXPECT_NEAR(mean, 200, 8);
  EXPECT_GT(sd, 15);
  EXPECT_LT(sd, 30);
  // Gaps between actual starts: the schedule is exact, a start may be up to 0.5 ms early
  // (batching) or late by the lag (a loaded machine).
  const Checker::Stats st = h.checker.stats();
  const double slop = st.lag_max_us / 1000 + 0.6;
  EXPECT_GT(*std::min_element(periods.begin(), periods.end()), 160 - slop);
  EXPECT_LT(*std::max_element(periods.begin(), periods.end()), 240 + slop);
  EXPECT_EQ(st.failures, 0u);
  EXPECT_GT(st.lag_samples, 800u);
  EXPECT_LT(st.lag_p99_us, 20'000);
}

// --- the target set ---

TEST(HealthTargets, UnchangedKeepStatusChangedRestartRemovedStop) {
  TcpAcceptServer server;
  HttpServer hang("");
  auto c = check(CheckType::Tcp, 100, 80);
  auto slow = check(CheckType::Http, 100, 90);  // always in flight for 90 ms of 100
  Harness h;
  h.checker.set_targets({target("keep", "127.0.0.1", server.port(), c),
                         target("change", "127.0.0.1", server.port(), c),
                         target("remove", "127.0.0.1", hang.port(), slow)});
  ASSERT_TRUE(h.run_until([&] { return h.settled(); }));
  ASSERT_TRUE(h.probes("keep", 3));
  const TargetStatus keep_before = h.st("keep");
  const TargetStatus change_before = h.st("change");
  // Catch "remove" with a probe in flight.
  ASSERT_TRUE(h.run_until([&] { return h.checker.stats().in_flight > 0; }));
  auto c2 = c;
  c2.timeout_ms = 70;
  h.changes.clear();
  h.checker.set_targets({target("keep", "127.0.0.1", server.port(), c),
                         target("change", "127.0.0.1", server.port(), c2),
                         target("new", "127.0.0.1", server.port(), c)});
  EXPECT_EQ(h.checker.status("remove"), nullptr);
  EXPECT_EQ(h.checker.keys(), (std::vector<std::string>{"change", "keep", "new"}));
  // Unchanged: same status object contents (counters continue from where they were).
  EXPECT_EQ(h.st("keep").probes, keep_before.probes);
  EXPECT_EQ(h.st("keep").history.size(), keep_before.history.size());
  // Changed: verdict and history kept, stream restarted.
  EXPECT_EQ(h.st("change").state, State::Up);
  EXPECT_EQ(h.st("change").probes, change_before.probes);
  EXPECT_EQ(h.st("new").state, State::Unknown);
  EXPECT_FALSE(h.checker.all_settled());
  h.run_for(400ms);
  EXPECT_GT(h.st("keep").probes, keep_before.probes + 2);
  EXPECT_GT(h.st("change").probes, change_before.probes + 2);
  EXPECT_EQ(h.st("new").state, State::Up);
  // Only "new" changed state; nothing about the removed target ever came back.
  ASSERT_EQ(h.changes.size(), 1u);
  EXPECT_EQ(h.changes[0].key, "new");
  // Duplicate keys: the first wins.
  h.checker.set_targets(
      {target("a", "127.0.0.1", server.port(), c), target("a", "127.0.0.1", 1, c)});
  ASSERT_TRUE(h.run_until([&] { return h.settled(); }));
  EXPECT_EQ(h.st("a").state, State::Up);
  // Empty set: settled, nothing runs, and the probes cancelled in flight (the hanging HTTP
  // one, anything caught mid-connect) are no longer counted as in flight.
  h.checker.set_targets({target("slow", "127.0.0.1", hang.port(), slow)});
  ASSERT_TRUE(h.run_until([&] { return h.checker.stats().in_flight == 1; }));
  h.checker.set_targets({});
  EXPECT_EQ(h.checker.stats().in_flight, 0u);
  EXPECT_TRUE(h.checker.all_settled());
  EXPECT_TRUE(h.checker.keys().empty());
  const uint64_t started = h.checker.stats().probes_started;
  h.run_for(250ms);
  EXPECT_EQ(h.checker.stats().probes_started, started);
}

TEST(HealthTargets, OnChangeMayReplaceTheTargetSet) {
  // on_change removes the very target that changed (from inside its own probe's callback)
  // and adds another: no use-after-free (the sanitizer build checks), and the new one runs.
  TcpAcceptServer server;
  Harness h;
  const auto c = check(CheckType::Tcp, 60, 40);
  h.also = [&](const Change& ch) {
    if (ch.key == "first") h.checker.set_targets({target("second", "127.0.0.1", server.port(), c)});
  };
  h.checker.set_targets({target("first", "127.0.0.1", server.port(), c)});
  ASSERT_TRUE(h.run_until([&] { return h.checker.status("second") != nullptr && h.settled(); }));
  EXPECT_EQ(h.checker.status("first"), nullptr);
  EXPECT_EQ(h.st("second").state, State::Up);
}

TEST(HealthTargets, DestroyingTheCheckerWithProbesInFlight) {
  HttpServer hang("");
  asio::io_context io;
  {
    Checker checker(io, nullptr, 9);
    std::vector<Target> ts;
    ts.reserve(20);
    for (int i = 0; i < 20; ++i) {
      ts.push_back(target("h" + std::to_string(i), "127.0.0.1", hang.port(),
                          check(CheckType::Http, 50, 45)));
    }
    checker.set_targets(ts);
    io.run_for(120ms);
    EXPECT_GT(checker.stats().in_flight, 0u);
  }
  // Handlers still queued must not touch the dead checker.
  io.restart();
  io.run_for(100ms);
}

}  // namespace
}  // namespace steer::control::health

// A private network namespace with its own loopback up: the servers and probes see nothing
// else and nothing remains after the process ends.
int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  if (unshare(CLONE_NEWNET) != 0) {
    std::fprintf(stderr, "checker_test: cannot unshare a network namespace (needs root): %s\n",
                 std::system_category().message(errno).c_str());
    return 77;
  }
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ifreq ifr{};
  std::strcpy(ifr.ifr_name, "lo");
  if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) != 0 ||
      (ifr.ifr_flags |= IFF_UP, ioctl(fd, SIOCSIFFLAGS, &ifr)) != 0) {
    std::fprintf(stderr, "checker_test: cannot bring lo up: %s\n",
                 std::system_category().message(errno).c_str());
    return 1;
  }
  close(fd);
  return RUN_ALL_TESTS();
}
