// BirdClient (bgp/bird_client.h) against FakeBird, a real Unix-socket server in a thread that
// replays recorded BIRD transcripts (fixtures/) or misbehaves on purpose: FIFO with one request
// in flight, '+' notices, timeouts, broken connections, bad greetings, backoff, stop().
#include "bgp/bird_client.h"

#include <map>
#include <memory>

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "fixtures.h"
#include "testing/support/run_io.h"
#include "testing/support/script_server.h"

namespace steer::bgp {
namespace {

using namespace std::chrono_literals;
using FakeBird = steer::test::ScriptServer;
using test::fixture;
using Clock = std::chrono::steady_clock;

using Table = std::map<std::string, std::string>;

Table replay_table() {
  return Table{
      {"show protocols", fixture("show_protocols")},
      {"show status", fixture("show_status")},
      {"show memory", fixture("show_memory")},
      {"disable \"steer_v4_192_0_2_10\"", fixture("disable_changed")},
      {"enable \"steer_v4_192_0_2_10\"", fixture("enable_changed")},
      {"disable \"nosuch\"", fixture("no_match")},
      {"disable nosuch", fixture("unknown_name")},
      {"configure", fixture("configure")},
  };
}

// Greets (unless told not to), then answers each command from `table` (9001 for anything
// else) until EOF; replies go out in pieces of `chunk` bytes when it is not 0.
void replay(FakeBird::Conn& c, const Table& table, size_t chunk = 0, bool greet = true) {
  if (greet && !c.send(fixture("greeting"))) return;
  while (auto line = c.read_line()) {
    auto it = table.find(*line);
    const std::string reply = it != table.end() ? it->second : "9001 syntax error\n";
    if (!(chunk > 0 ? c.send_slowly(reply, chunk) : c.send(reply))) return;
  }
}

class BirdClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sbg-unit-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    sock_ = dir_ + "/bird.ctl";
  }
  void TearDown() override {
    ::unlink(sock_.c_str());
    ::rmdir(dir_.c_str());
  }

  BirdClientOptions options(std::chrono::milliseconds timeout = 2000ms,
                            std::chrono::milliseconds backoff_min = 10ms,
                            std::chrono::milliseconds backoff_max = 100ms) const {
    BirdClientOptions o;
    o.socket = sock_;
    o.request_timeout = timeout;
    o.backoff_min = backoff_min;
    o.backoff_max = backoff_max;
    return o;
  }
  BirdClient::Log logger() {
    return [this](std::string_view line) { log_.emplace_back(line); };
  }

  // Runs the io_context until pred() holds or `limit` passes; returns pred().
  bool run_until(const std::function<bool()>& pred, Clock::duration limit = 5s) {
    return steer::test::run_io_until(io_, pred, limit, 5ms);
  }
  void run_for(Clock::duration d) {
    run_until([] { return false; }, d);
  }

  // Wires the client's events into counters.
  void watch(BirdClient& c) {
    c.on_connect = [this] { ++connect_events_; };
    c.on_disconnect = [this](const std::string& why) { disconnects_.push_back(why); };
    c.on_notice = [this](const std::string& n) { notices_.push_back(n); };
  }

  std::string dir_, sock_;
  asio::io_context io_;
  std::vector<std::string> log_;
  int connect_events_ = 0;
  std::vector<std::string> disconnects_;
  std::vector<std::string> notices_;
};

TEST_F(BirdClientTest, RequestsAreAnsweredInFifoOrderOneInFlight) {
  const Table table = replay_table();
  std::atomic<bool> overlapped{false};
  FakeBird bird(sock_, [&](FakeBird::Conn& c, int) {
    if (!c.send(fixture("greeting"))) return;
    bool first = true;
    while (auto line = c.read_line()) {
      // While the first request is unanswered, the client must not send the next one.
      if (first && !c.quiet_for(150ms)) overlapped = true;
      first = false;
      auto it = table.find(*line);
      if (!c.send_slowly(it != table.end() ? it->second : "9001 syntax error\n", 64)) return;
    }
  });
  BirdClient client(io_, options(), logger());
  watch(client);
  client.start();
  ASSERT_TRUE(run_until([&] { return client.connected(); }));
  EXPECT_EQ(client.greeting(), "BIRD 2.0.12 ready.");
  EXPECT_EQ(connect_events_, 1);

  std::vector<int> order;
  client.show_protocols([&](BirdResult<std::vector<BirdProtocol>> r) {
    order.push_back(1);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->size(), 6u);
    EXPECT_EQ((*r)[1].name, "steer_v4_192_0_2_10");
  });
  client.show_status([&](BirdResult<BirdStatus> r) {
    order.push_back(2);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->version, "2.0.12");
  });
  client.set_enabled("steer_v4_192_0_2_10", false, [&](BirdResult<Toggle> r) {
    order.push_back(3);
    EXPECT_EQ(r, Toggle::Changed);
  });
  client.configure([&](BirdResult<ConfigureOutcome> r) {
    order.push_back(4);
    EXPECT_EQ(r, ConfigureOutcome::Reconfigured);
  });
  client.request("show memory", [&](BirdResult<Reply> r) {
    order.push_back(5);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->lines.size(), 9u);
  });
  ASSERT_TRUE(run_until([&] { return order.size() == 5; }));
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3, 4, 5}));
  EXPECT_FALSE(overlapped.load());
  EXPECT_EQ(bird.commands(), (std::vector<std::string>{"show protocols", "show status",
                                                       "disable \"steer_v4_192_0_2_10\"",
                                                       "configure", "show memory"}));
  EXPECT_EQ(client.requests(), 5u);
  EXPECT_EQ(client.connects(), 1u);
  EXPECT_TRUE(disconnects_.empty());
}

TEST_F(BirdClientTest, NoticesReachOnNoticeIdleOrAfterAReply) {
  Table table = replay_table();
  table["disable \"other_static\""] =
      "0009-other_static: disabled\n0000 \n+Disabling protocol other_static\n";
  FakeBird bird(sock_, [&](FakeBird::Conn& c, int) {
    if (!c.send(fixture("greeting")) || !c.send("+hello while idle\n")) return;
    replay(c, table, 0, false);
  });
  BirdClient client(io_, options(), logger());
  watch(client);
  client.start();
  // Nothing was asked: the client reads the socket while idle.
  ASSERT_TRUE(run_until([&] { return notices_.size() == 1; }));
  EXPECT_EQ(notices_[0], "hello while idle");
  std::optional<BirdResult<Toggle>> got;
  client.set_enabled("other_static", false, [&](BirdResult<Toggle> r) { got = r; });
  ASSERT_TRUE(run_until([&] { return got.has_value() && notices_.size() == 2; }));
  ASSERT_TRUE(*got) << fmt::format("{}", got->error());
  EXPECT_EQ(*got, Toggle::Changed);
  EXPECT_EQ(notices_[1], "Disabling protocol other_static");
  EXPECT_TRUE(client.connected());
}

TEST_F(BirdClientTest, TimeoutFailsTheRequestDropsTheConnectionAndReconnects) {
  const Table table = replay_table();
  std::atomic<bool> closed_by_client{false};
  FakeBird bird(sock_, [&](FakeBird::Conn& c, int index) {
    if (index == 0) {  // reads one command and never answers
      if (!c.send(fixture("greeting")) || !c.read_line()) return;
      closed_by_client = c.wait_closed(5s);
      return;
    }
    replay(c, table);
  });
  BirdClient client(io_, options(300ms), logger());
  watch(client);
  client.start();
  ASSERT_TRUE(run_until([&] { return client.connected(); }));
  std::optional<BirdResult<BirdStatus>> first;
  std::optional<BirdResult<std::vector<BirdProtocol>>> second;
  const auto t0 = Clock::now();
  client.show_status([&](BirdResult<BirdStatus> r) { first = r; });
  client.show_protocols([&](BirdResult<std::vector<BirdProtocol>> r) { second = r; });
  ASSERT_TRUE(run_until([&] { return first && second; }));
  const auto took = Clock::now() - t0;
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 3s);
  ASSERT_FALSE(*first);
  EXPECT_EQ(first->error().kind, BirdErrorKind::Timeout);
  EXPECT_EQ(first->error().message, "no reply within 300 ms");
  ASSERT_FALSE(*second);  // queued behind it: never sent
  EXPECT_EQ(second->error().kind, BirdErrorKind::NotConnected);
  EXPECT_EQ(disconnects_, (std::vector<std::string>{"no reply within 300 ms"}));

  ASSERT_TRUE(run_until([&] { return client.connected() && client.connects() == 2; }));
  EXPECT_EQ(connect_events_, 2);
  std::optional<BirdResult<BirdStatus>> third;
  client.show_status([&](BirdResult<BirdStatus> r) { third = r; });
  ASSERT_TRUE(run_until([&] { return third.has_value(); }));
  EXPECT_TRUE(*third);
  EXPECT_TRUE(closed_by_client.load());
  EXPECT_EQ(bird.commands(), (std::vector<std::string>{"show status", "show status"}));
}

TEST_F(BirdClientTest, ServerClosingMidReplyIsAnIoErrorThenReconnects) {
  const Table table = replay_table();
  FakeBird bird(sock_, [&](FakeBird::Conn& c, int index) {
    if (index == 0) {
      if (!c.send(fixture("greeting")) || !c.read_line()) return;
      const std::string half = fixture("show_protocols");
      c.send(std::string_view(half).substr(0, half.size() / 2));
      return;  // closes the connection
    }
    replay(c, table);
  });
  BirdClient client(io_, options(), logger());
  watch(client);
  client.start();
  ASSERT_TRUE(run_until([&] { return client.connected(); }));
  std::optional<BirdResult<std::vector<BirdProtocol>>> first;
  client.show_protocols([&](BirdResult<std::vector<BirdProtocol>> r) { first = r; });
  ASSERT_TRUE(run_until([&] { return first.has_value(); }));
  ASSERT_FALSE(*first);
  EXPECT_EQ(first->error().kind, BirdErrorKind::Io);
  EXPECT_EQ(first->error().message, "BIRD closed the connection");
  EXPECT_EQ(disconnects_, (std::vector<std::string>{"BIRD closed the connection"}));

  ASSERT_TRUE(run_until([&] { return client.connected() && client.connects() == 2; }));
  std::optional<BirdResult<std::vector<BirdProtocol>>> again;
  client.show_protocols([&](BirdResult<std::vector<BirdProtocol>> r) { again = r; });
  ASSERT_TRUE(run_until([&] { return again.has_value(); }));
  ASSERT_TRUE(*again);
  EXPECT_EQ((*again)->size(), 6u);
}

TEST_F(BirdClientTest, MissingOrBadGreetingNeverConnects) {
  const std::pair<std::string, std::string> cases[] = {
      {"hello\n", "malformed reply line"},
      {"", "no greeting within 150 ms"},
      {"0000 \n", "unexpected greeting '0000 '"},
      {"9999 go away\n", "unexpected greeting '9999 go away'"},
      {"0001 BIRD", "no greeting within 150 ms"},  // an unfinished line
  };
  for (const auto& [greeting_text, why] : cases) {
    SCOPED_TRACE(why);
    // A named copy: clang 14 (clang-tidy's parser) cannot capture a structured binding.
    const std::string& greeting = greeting_text;
    FakeBird bird(sock_, [&](FakeBird::Conn& c, int) {
      if (!greeting.empty() && !c.send(greeting)) return;
      c.wait_closed(3s);
    });
    BirdClient client(io_, options(150ms, 20ms, 40ms), logger());
    watch(client);
    client.start();
    run_for(700ms);
    EXPECT_FALSE(client.connected());
    EXPECT_EQ(client.connects(), 0u);
    EXPECT_EQ(connect_events_, 0);
    EXPECT_TRUE(disconnects_.empty());
    EXPECT_GE(bird.accepts(), 2);  // it keeps trying
    EXPECT_NE(client.last_error().find(why), std::string::npos) << client.last_error();
    std::optional<BirdResult<Reply>> r;
    client.request("show status", [&](BirdResult<Reply> x) { r = std::move(x); });
    ASSERT_TRUE(run_until([&] { return r.has_value(); }));
    ASSERT_FALSE(*r);
    EXPECT_EQ(r->error().kind, BirdErrorKind::NotConnected);
    EXPECT_TRUE(bird.commands().empty());
    client.stop();
  }
}

TEST_F(BirdClientTest, NotConnectedIsPostedNeverCalledInsideRequest) {
  BirdClient client(io_, options(), logger());  // no server at all
  std::optional<BirdResult<Reply>> before_start;
  client.request("show status", [&](BirdResult<Reply> r) { before_start = std::move(r); });
  EXPECT_FALSE(before_start.has_value());  // not re-entrant
  ASSERT_TRUE(run_until([&] { return before_start.has_value(); }));
  ASSERT_FALSE(*before_start);
  EXPECT_EQ(before_start->error().kind, BirdErrorKind::NotConnected);

  client.start();
  ASSERT_TRUE(run_until([&] { return !client.last_error().empty(); }));
  EXPECT_NE(client.last_error().find("No such file or directory"), std::string::npos)
      << client.last_error();
  std::optional<BirdResult<Toggle>> after;
  client.set_enabled("steer_v4_192_0_2_10", true, [&](BirdResult<Toggle> r) { after = r; });
  EXPECT_FALSE(after.has_value());
  ASSERT_TRUE(run_until([&] { return after.has_value(); }));
  ASSERT_FALSE(*after);
  EXPECT_EQ(after->error().kind, BirdErrorKind::NotConnected);
  EXPECT_EQ(after->error().message, client.last_error());
  EXPECT_EQ(client.requests(), 0u);
}

TEST_F(BirdClientTest, BackoffDoublesUpToTheMaximum) {
  // A server that closes every connection before greeting: each attempt fails.
  FakeBird bird(sock_, [](FakeBird::Conn&, int) {});
  {
    BirdClient client(io_, options(1000ms, 10ms, 10000ms), logger());
    client.start();
    run_for(1000ms);
    // Attempts at about 0, 10, 30, 70, 150, 310, 630 ms (the next would be at 1270).
    const int attempts = bird.accepts();
    EXPECT_GE(attempts, 5);
    EXPECT_LE(attempts, 8);
    client.stop();
  }
  {
    const int before = bird.accepts();
    BirdClient client(io_, options(1000ms, 10ms, 10ms), logger());  // no room to grow
    client.start();
    run_for(1000ms);
    EXPECT_GE(bird.accepts() - before, 30);
    client.stop();
  }
}

TEST_F(BirdClientTest, GoodGreetingResetsTheBackoff) {
  // Greets, then closes at once: every session is good, so the wait stays at backoff_min.
  FakeBird bird(sock_, [](FakeBird::Conn& c, int) { c.send(fixture("greeting")); });
  BirdClient client(io_, options(1000ms, 10ms, 10000ms), logger());
  watch(client);
  client.start();
  run_for(1000ms);
  EXPECT_GE(client.connects(), 20u);  // without the reset it would be about 7
  EXPECT_EQ(connect_events_, static_cast<int>(client.connects()));
  EXPECT_GE(disconnects_.size() + 1, client.connects());
  for (const std::string& why : disconnects_) EXPECT_EQ(why, "BIRD closed the connection");
}

TEST_F(BirdClientTest, UnsolicitedReplyDropsTheConnection) {
  const Table table = replay_table();
  FakeBird bird(sock_, [&](FakeBird::Conn& c, int index) {
    if (index == 0) {
      if (!c.send(fixture("greeting"))) return;
      std::this_thread::sleep_for(50ms);
      c.send("0000 \n");
      c.wait_closed(3s);
      return;
    }
    replay(c, table);
  });
  BirdClient client(io_, options(), logger());
  watch(client);
  client.start();
  ASSERT_TRUE(run_until([&] { return disconnects_.size() == 1; }));
  EXPECT_EQ(disconnects_[0], "reply without a request: '0000 '");
  ASSERT_TRUE(run_until([&] { return client.connected() && client.connects() == 2; }));
}

TEST_F(BirdClientTest, StopSilencesEveryCallbackEvenWhenDestroyedAtOnce) {
  FakeBird bird(sock_, [](FakeBird::Conn& c, int) {
    if (!c.send(fixture("greeting")) || !c.read_line()) return;
    c.send("+late notice\n");
    c.wait_closed(5s);
  });
  int calls = 0;
  auto client = std::make_unique<BirdClient>(io_, options(), logger());
  watch(*client);
  client->start();
  ASSERT_TRUE(run_until([&] { return client->connected(); }));
  client->request("show status", [&](BirdResult<Reply>) { ++calls; });  // in flight
  ASSERT_TRUE(run_until([&] { return bird.commands().size() == 1; }));
  client->request("show protocols", [&](BirdResult<Reply>) { ++calls; });  // queued
  client->request("bad\ncommand", [&](BirdResult<Reply>) { ++calls; });    // posted
  client->stop();
  client.reset();
  disconnects_.clear();
  notices_.clear();
  run_for(300ms);
  EXPECT_EQ(calls, 0);
  EXPECT_TRUE(disconnects_.empty());
  EXPECT_TRUE(notices_.empty());
}

TEST_F(BirdClientTest, RejectedCommandsAreNeverSent) {
  const Table table = replay_table();
  FakeBird bird(sock_, [&](FakeBird::Conn& c, int) { replay(c, table); });
  BirdClient client(io_, options(), logger());
  client.start();
  ASSERT_TRUE(run_until([&] { return client.connected(); }));
  std::vector<BirdError> errors;
  auto keep = [&](BirdResult<Reply> r) {
    ASSERT_FALSE(r);
    errors.push_back(r.error());
  };
  client.request("show status\nconfigure", keep);
  client.request(std::string(kMaxCommandBytes + 1, 'x'), keep);
  client.set_enabled("bad\"name", false, [&](BirdResult<Toggle> r) {
    ASSERT_FALSE(r);
    errors.push_back(r.error());
  });
  EXPECT_TRUE(errors.empty());  // posted, not called inside
  std::optional<BirdResult<Reply>> ok;
  client.request("show status", [&](BirdResult<Reply> r) { ok = std::move(r); });
  ASSERT_TRUE(run_until([&] { return errors.size() == 3 && ok.has_value(); }));
  for (const BirdError& e : errors) EXPECT_EQ(e.kind, BirdErrorKind::Rejected) << e.message;
  ASSERT_TRUE(*ok);
  EXPECT_TRUE(check_reply(**ok));
  EXPECT_EQ(bird.commands(), (std::vector<std::string>{"show status"}));
  EXPECT_EQ(client.requests(), 1u);
}

TEST_F(BirdClientTest, TypedHelpersReportBirdErrors) {
  Table table = replay_table();
  table["configure"] = fixture("configure_error");
  FakeBird bird(sock_, [&](FakeBird::Conn& c, int) { replay(c, table, 3); });
  BirdClient client(io_, options(), logger());
  client.start();
  ASSERT_TRUE(run_until([&] { return client.connected(); }));
  std::optional<BirdResult<Toggle>> quoted;
  std::optional<BirdResult<ConfigureOutcome>> conf;
  std::optional<BirdResult<Reply>> raw;
  client.set_enabled("nosuch", false, [&](BirdResult<Toggle> r) { quoted = r; });
  client.configure([&](BirdResult<ConfigureOutcome> r) { conf = r; });
  client.request("disable nosuch", [&](BirdResult<Reply> r) { raw = std::move(r); });
  ASSERT_TRUE(run_until([&] { return quoted && conf && raw; }));
  ASSERT_FALSE(*quoted);
  EXPECT_EQ(quoted->error().kind, BirdErrorKind::Runtime);
  EXPECT_EQ(quoted->error().code, 8003);
  ASSERT_FALSE(*conf);
  EXPECT_EQ(conf->error().kind, BirdErrorKind::Runtime);
  EXPECT_EQ(conf->error().code, 8002);
  EXPECT_EQ(conf->error().message.rfind("/tmp/sbg-rec/a-extra.conf:3:23 ", 0), 0u);
  ASSERT_TRUE(*raw);  // request() hands back the reply; check_reply sorts it
  auto checked = check_reply(**raw);
  ASSERT_FALSE(checked);
  EXPECT_EQ(checked.error().kind, BirdErrorKind::Syntax);
  EXPECT_EQ(checked.error().code, 9001);
  EXPECT_TRUE(client.connected());  // BIRD's errors do not end the session
}

}  // namespace
}  // namespace steer::bgp
