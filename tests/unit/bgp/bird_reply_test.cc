// BIRD reply parsers and command builders (bgp/bird_reply.h) against transcripts recorded
// from a live BIRD 2.0.12 (fixtures/), each fed through ReplyReader in many chunkings.
#include "bgp/bird_reply.h"

#include <algorithm>

#include <dirent.h>
#include <gtest/gtest.h>

#include "fixtures.h"

namespace steer::bgp {
namespace {

using test::feed_chunked;
using test::fixture;
using test::fixture_reply;

std::vector<std::string> all_fixtures() {
  std::vector<std::string> names;
  DIR* d = opendir(test::fixture_dir().c_str());
  if (d == nullptr) return names;
  while (dirent* e = readdir(d)) {  // NOLINT(concurrency-mt-unsafe)
    std::string n = e->d_name;
    if (n.size() > 4 && n.substr(n.size() - 4) == ".txt")
      names.push_back(n.substr(0, n.size() - 4));
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

void expect_same(const test::Parsed& a, const test::Parsed& b, const std::string& what) {
  ASSERT_EQ(a.ok, b.ok) << what;
  ASSERT_EQ(a.replies.size(), b.replies.size()) << what;
  for (size_t i = 0; i < a.replies.size(); ++i) {
    ASSERT_EQ(a.replies[i].lines.size(), b.replies[i].lines.size()) << what << " reply " << i;
    for (size_t k = 0; k < a.replies[i].lines.size(); ++k) {
      const ReplyLine& x = a.replies[i].lines[k];
      const ReplyLine& y = b.replies[i].lines[k];
      EXPECT_EQ(x.code, y.code) << what;
      EXPECT_EQ(x.last, y.last) << what;
      EXPECT_EQ(x.text, y.text) << what;
    }
  }
  EXPECT_EQ(a.notices, b.notices) << what;
}

TEST(BirdFixtures, EveryTranscriptReadsTheSameInAnyChunking) {
  const auto names = all_fixtures();
  ASSERT_GE(names.size(), 20u);
  for (const std::string& name : names) {
    const std::string bytes = fixture(name);
    const test::Parsed whole = feed_chunked(bytes, 0);
    ASSERT_TRUE(whole.ok) << name;
    ASSERT_FALSE(whole.replies.empty()) << name;
    // One byte at a time, then random chunkings.
    test::Parsed bytewise;
    {
      ReplyReader r;
      for (char c : bytes) ASSERT_TRUE(r.feed(std::string_view(&c, 1))) << name;
      while (auto rep = r.next()) bytewise.replies.push_back(std::move(*rep));
      bytewise.notices = r.notices();
    }
    expect_same(whole, bytewise, name + " bytewise");
    for (uint32_t seed = 1; seed <= 40; ++seed) {
      expect_same(whole, feed_chunked(bytes, seed, 1 + seed % 23), name);
    }
  }
}

TEST(BirdFixtures, GreetingIsCodeOne) {
  const Reply g = fixture_reply("greeting");
  EXPECT_EQ(g.code(), reply::kGreeting);
  EXPECT_EQ(g.message(), "BIRD 2.0.12 ready.");
}

TEST(BirdFixtures, EchoSessionKeepsNoticesApartFromReplies) {
  const test::Parsed p = feed_chunked(fixture("session_echo"), 7);
  ASSERT_TRUE(p.ok);
  ASSERT_EQ(p.replies.size(), 4u);  // greeting, echo, disable, enable
  EXPECT_EQ(p.replies[0].code(), 1);
  EXPECT_EQ(parse_toggle(p.replies[2], "other_static", false), Toggle::Changed);
  EXPECT_EQ(parse_toggle(p.replies[3], "other_static", true), Toggle::Changed);
  EXPECT_EQ(p.notices, (std::vector<std::string>{"Disabling protocol other_static",
                                                 "Enabling protocol other_static"}));
}

TEST(ShowProtocols, ParsesRowsIncludingSpaceContinuedOnes) {
  for (uint32_t seed : {0u, 3u, 11u}) {
    auto rows = parse_show_protocols(fixture_reply("show_protocols", seed));
    ASSERT_TRUE(rows) << fmt::format("{}", rows.error());
    ASSERT_EQ(rows->size(), 6u);
    const BirdProtocol& dev = (*rows)[0];
    EXPECT_EQ(dev.name, "device1");
    EXPECT_EQ(dev.proto, "Device");
    EXPECT_EQ(dev.table, "---");
    EXPECT_EQ(dev.state, "up");
    EXPECT_EQ(dev.since, "00:04:01.129");
    EXPECT_EQ(dev.info, "");
    const BirdProtocol& st = (*rows)[1];
    EXPECT_EQ(st.name, "steer_v4_192_0_2_10");
    EXPECT_EQ(st.proto, "Static");
    EXPECT_EQ(st.table, "master4");
    EXPECT_TRUE(st.up());
    const BirdProtocol& drain = (*rows)[2];
    EXPECT_EQ(drain.name, "steer_v4_192_0_2_10_drain");
    EXPECT_EQ(drain.state, "down");  // `disabled yes` in the config
    EXPECT_FALSE(drain.up());
    const BirdProtocol& up = (*rows)[4];
    EXPECT_EQ(up.name, "up");  // a protocol named like a keyword
    EXPECT_EQ(up.proto, "BGP");
    EXPECT_TRUE(up.up());
    EXPECT_EQ(up.info, "Established");
    const BirdProtocol& down = (*rows)[5];
    EXPECT_EQ(down.name, "down_peer");
    EXPECT_EQ(down.state, "start");
    EXPECT_FALSE(down.up());
    EXPECT_EQ(down.since, "00:04:01.129");
    EXPECT_EQ(down.info, "Active        Socket: Connection refused");
  }
}

TEST(ShowProtocols, SinceMayHoldASpace) {
  auto rows = parse_show_protocols(fixture_reply("show_protocols_iso_long", 5));
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 6u);
  EXPECT_EQ((*rows)[0].since, "2026-11-26 00:04:01");
  EXPECT_EQ((*rows)[0].info, "");
  EXPECT_EQ((*rows)[4].name, "up");
  EXPECT_EQ((*rows)[4].state, "start");
  EXPECT_EQ((*rows)[4].since, "2026-11-26 00:04:13");
  EXPECT_EQ((*rows)[4].info, "Active        Socket: Connection refused");
}

TEST(ShowProtocols, SessionShutDownByThePeer) {
  auto rows = parse_show_protocols(fixture_reply("show_protocols_peer_shutdown"));
  ASSERT_TRUE(rows);
  EXPECT_EQ((*rows)[4].name, "up");
  EXPECT_FALSE((*rows)[4].up());
  EXPECT_EQ((*rows)[4].info, "Active        Received: Administrative shutdown");
}

TEST(ShowProtocols, ErrorsAndMalformedReplies) {
  auto none = parse_show_protocols(fixture_reply("no_match"));
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().kind, BirdErrorKind::Runtime);
  EXPECT_EQ(none.error().code, 8003);
  EXPECT_EQ(none.error().message, "No protocols match");

  auto wrong = parse_show_protocols(fixture_reply("show_status"));
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().kind, BirdErrorKind::Protocol);

  for (const char* bad : {"1002-x Static t up 00:00\n0000 \n",           // no header
                          "2002-Name Proto\n1002-x Static\n0000 \n"}) {  // short row
    auto r = parse_show_protocols(feed_chunked(bad, 0).replies.at(0));
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().kind, BirdErrorKind::Protocol) << bad;
  }
  // The header alone: no protocols.
  auto empty = parse_show_protocols(feed_chunked("2002-Name Proto\n0000 \n", 0).replies.at(0));
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

TEST(Toggle, ChangedAndAlready) {
  EXPECT_EQ(parse_toggle(fixture_reply("disable_changed"), "steer_v4_192_0_2_10", false),
            Toggle::Changed);
  EXPECT_EQ(parse_toggle(fixture_reply("disable_already"), "steer_v4_192_0_2_10", false),
            Toggle::Already);
  EXPECT_EQ(parse_toggle(fixture_reply("enable_changed"), "steer_v4_192_0_2_10", true),
            Toggle::Changed);
  EXPECT_EQ(parse_toggle(fixture_reply("enable_already"), "steer_v4_192_0_2_10", true),
            Toggle::Already);
}

TEST(Toggle, AnythingElseIsAProtocolError) {
  // The right protocol but the other direction, or another protocol's line.
  for (auto [name, fx, enable] : {std::tuple{"steer_v4_192_0_2_10", "disable_changed", true},
                                  std::tuple{"steer_v4_192_0_2_10", "enable_already", false},
                                  std::tuple{"steer_v4_192_0_2_1", "disable_changed", false},
                                  std::tuple{"steer_v4_192_0_2_10_drain", "disable_changed", false},
                                  std::tuple{"steer_v4_192_0_2_10", "show_status", false},
                                  std::tuple{"steer_v4_192_0_2_10", "configure", false}}) {
    auto t = parse_toggle(fixture_reply(fx), name, enable);
    ASSERT_FALSE(t) << fx;
    EXPECT_EQ(t.error().kind, BirdErrorKind::Protocol) << fx;
  }
}

TEST(Toggle, BirdErrorsKeepCodeAndText) {
  auto unknown = parse_toggle(fixture_reply("unknown_name"), "nosuch", false);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().kind, BirdErrorKind::Syntax);
  EXPECT_EQ(unknown.error().code, 9001);
  EXPECT_EQ(unknown.error().message,
            "syntax error, unexpected CF_SYM_UNDEFINED, expecting CF_SYM_KNOWN or TEXT or ALL");
  auto nomatch = parse_toggle(fixture_reply("no_match"), "nosuch", false);
  ASSERT_FALSE(nomatch);
  EXPECT_EQ(nomatch.error().kind, BirdErrorKind::Runtime);
  EXPECT_EQ(nomatch.error().code, 8003);
  // After `restrict`, disable is denied too.
  const test::Parsed restricted = feed_chunked(fixture("session_restrict"), 9);
  ASSERT_EQ(restricted.replies.size(), 5u);  // greeting, restrict, configure, disable, status
  auto denied = parse_toggle(restricted.replies[3], "other_static", false);
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().kind, BirdErrorKind::Runtime);
  EXPECT_EQ(denied.error().code, 8007);
  EXPECT_EQ(denied.error().message, "Access denied");
  EXPECT_TRUE(parse_show_status(restricted.replies[4]));
}

TEST(ShowStatus, ReadsVersionRouterIdAndTimes) {
  auto s = parse_show_status(fixture_reply("show_status", 4));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->version, "2.0.12");
  EXPECT_EQ(s->router_id, "10.83.71.1");
  EXPECT_EQ(s->server_time, "2026-11-26 00:04:05.363");
  EXPECT_EQ(s->last_reboot, "2026-11-26 00:04:01.129");
  EXPECT_EQ(s->last_reconfiguration, "2026-11-26 00:04:01.129");
  EXPECT_EQ(s->message, "Daemon is up and running");
  auto wrong = parse_show_status(fixture_reply("show_protocols"));
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().kind, BirdErrorKind::Protocol);
}

TEST(ShowMemory, ContinuationLinesKeepTheirLeadingSpaces) {
  const Reply m = fixture_reply("show_memory", 2);
  ASSERT_TRUE(check_reply(m));
  ASSERT_EQ(m.lines.size(), 9u);
  for (size_t i = 0; i + 1 < m.lines.size(); ++i) EXPECT_EQ(m.lines[i].code, 1018);
  EXPECT_EQ(m.lines[0].text, "BIRD memory usage");
  // BIRD wrote " " + "%-17s Effective    Overhead": the first space marks the continuation.
  EXPECT_EQ(m.lines[1].text, std::string(18, ' ') + "Effective    Overhead");
  EXPECT_EQ(m.lines[2].text, "Routing tables:     19.4 kB   9376.0  B");
  EXPECT_EQ(m.lines[8].code, 0);
  EXPECT_TRUE(m.lines[8].last);
}

TEST(Configure, Outcomes) {
  const std::pair<const char*, ConfigureOutcome> cases[] = {
      {"configure", ConfigureOutcome::Reconfigured},
      {"configure_in_progress", ConfigureOutcome::InProgress},
      {"configure_check", ConfigureOutcome::CheckOk},
      {"configure_timeout", ConfigureOutcome::Reconfigured},  // with a 0022 undo line
      {"configure_confirm", ConfigureOutcome::Confirmed},
      {"configure_confirm_nothing", ConfigureOutcome::NothingToDo},
  };
  for (const auto& [fx, want] : cases) {
    auto got = parse_configure(fixture_reply(fx, 6));
    ASSERT_TRUE(got) << fx << ": " << fmt::format("{}", got.error());
    EXPECT_EQ(*got, want) << fx << " " << configure_outcome_name(*got);
  }
  auto queued = parse_configure(feed_chunked("0005 Reconfiguration already in progress, "
                                             "queueing new config\n",
                                             0)
                                    .replies.at(0));
  EXPECT_EQ(queued, ConfigureOutcome::InProgress);
}

TEST(Configure, ConfigErrorCarriesFileLineAndText) {
  for (const char* fx : {"configure_error", "configure_check_error"}) {
    auto r = parse_configure(fixture_reply(fx));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, BirdErrorKind::Runtime);
    EXPECT_EQ(r.error().code, 8002);
    EXPECT_EQ(r.error().message,
              "/tmp/sbg-rec/a-extra.conf:3:23 syntax error, unexpected CF_SYM_UNDEFINED");
  }
  const test::Parsed restricted = feed_chunked(fixture("session_restrict"), 0);
  auto denied = parse_configure(restricted.replies.at(2));
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code, 8007);
  auto other = parse_configure(fixture_reply("show_status"));  // 0013
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().kind, BirdErrorKind::Protocol);
  EXPECT_EQ(other.error().code, 13);
}

TEST(CheckReply, SortsCodes) {
  EXPECT_TRUE(check_reply(fixture_reply("show_route")));
  auto abbrev = check_reply(fixture_reply("abbrev"));  // `sh pro`: no abbreviations
  ASSERT_FALSE(abbrev);
  EXPECT_EQ(abbrev.error().kind, BirdErrorKind::Syntax);
  EXPECT_EQ(abbrev.error().code, 9001);
  auto missing = check_reply(fixture_reply("peer_route_missing"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, BirdErrorKind::Runtime);
  EXPECT_EQ(missing.error().message, "Network not found");
  auto empty = check_reply(Reply{});
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().kind, BirdErrorKind::Protocol);
  Reply odd;
  odd.lines.push_back(ReplyLine{1002, true, "x"});
  auto not_final = check_reply(odd);
  ASSERT_FALSE(not_final);
  EXPECT_EQ(not_final.error().kind, BirdErrorKind::Protocol);
  // Tab-indented continuation lines (show route all) are data, not errors.
  const Reply all = fixture_reply("peer_route", 13);
  ASSERT_TRUE(check_reply(all));
  EXPECT_NE(all.text_of(1012).find("BGP.community: (65001,666)"), std::string::npos);
}

TEST(Commands, SetEnabledQuotesTheName) {
  EXPECT_EQ(command_set_enabled("steer_v4_192_0_2_10", false), "disable \"steer_v4_192_0_2_10\"");
  EXPECT_EQ(command_set_enabled("steer_v6_2001_db8__10_drain", true),
            "enable \"steer_v6_2001_db8__10_drain\"");
  EXPECT_EQ(command_set_enabled("up", true), "enable \"up\"");  // a keyword as a name
  EXPECT_EQ(command_set_enabled("a-b.c:d_9", false), "disable \"a-b.c:d_9\"");
  const std::string longest(kMaxProtocolNameBytes, 'p');
  EXPECT_EQ(command_set_enabled(longest, true), "enable \"" + longest + "\"");
}

TEST(Commands, SetEnabledRejectsNamesBirdCannotHave) {
  for (const std::string& bad :
       {std::string(), std::string("a\"b"), std::string("a\nb"), std::string("a\rb"),
        std::string("a b"), std::string("steer_*"), std::string("x?"), std::string("a\\b"),
        std::string("caf\xc3\xa9"), std::string("a\0b", 3), std::string("a\x7f"),
        std::string(kMaxProtocolNameBytes + 1, 'p')}) {
    auto c = command_set_enabled(bad, false);
    ASSERT_FALSE(c) << bad;
    EXPECT_EQ(c.error().kind, BirdErrorKind::Rejected) << bad;
    EXPECT_FALSE(c.error().message.empty());
  }
}

TEST(Commands, ValidateCommandLimits) {
  EXPECT_TRUE(validate_command("show status"));
  EXPECT_TRUE(validate_command("show\tstatus"));
  EXPECT_TRUE(validate_command(std::string(kMaxCommandBytes, 'x')));
  EXPECT_EQ(kMaxCommandBytes, 1022u);  // measured on BIRD 2.0.12; the integration test checks it
  for (const std::string& bad : {std::string(), std::string(kMaxCommandBytes + 1, 'x'),
                                 std::string("show status\nconfigure"), std::string("a\rb")}) {
    auto v = validate_command(bad);
    ASSERT_FALSE(v);
    EXPECT_EQ(v.error().kind, BirdErrorKind::Rejected);
  }
}

TEST(BirdError, FormatsKindCodeAndMessage) {
  EXPECT_EQ(fmt::format("{}", BirdError{BirdErrorKind::Syntax, 9001, "syntax error"}),
            "syntax error 9001: syntax error");
  EXPECT_EQ(fmt::format("{}", BirdError{BirdErrorKind::Timeout, 0, "no reply within 5 ms"}),
            "timeout: no reply within 5 ms");
  for (auto k : {BirdErrorKind::NotConnected, BirdErrorKind::Timeout, BirdErrorKind::Io,
                 BirdErrorKind::Protocol, BirdErrorKind::Runtime, BirdErrorKind::Syntax,
                 BirdErrorKind::Rejected}) {
    EXPECT_NE(bird_error_kind_name(k), "unknown");
  }
}

}  // namespace
}  // namespace steer::bgp
