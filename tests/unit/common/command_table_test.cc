// CommandTable (common/command_table.h): longest-path dispatch, argument counts, the
// permission check before the handler, and the generated help — every reply code a client can
// get from the table itself.
#include "common/command_table.h"

#include <optional>

#include <gtest/gtest.h>

#include "common/framing.h"

namespace steer {
namespace {

struct Fixture {
  CommandTable table{"root or group 'steer'"};
  std::vector<std::string> ran;  // "path arg arg"
  Fixture() {
    auto record = [this](std::string path) {
      return [this, path](const CommandRequest& r, const Respond& respond) {
        std::string s = path;
        for (std::string_view a : r.args) s += " " + std::string(a);
        ran.push_back(s);
        respond(ReplyWriter().finish(reply::kOk, "ok"));
      };
    };
    table.add({"show vips", "[VIP]", "VIPs", 0, 1, "", record("show vips")});
    table.add({"show status", "", "status", 0, 0, "", record("show status")});
    table.add({"bgp valve release", "", "valve", 0, 0, "change BGP", record("bgp valve release")});
    table.add({"configure", "", "reload", 0, 0, "reload", record("configure")});
    table.add({"configure check", "", "check", 0, 0, "", record("configure check")});
    table.add({"backend weight", "ADDRESS WEIGHT [VIP]", "weight", 2, 3, "change backends",
               record("backend weight")});
  }
  // The reply's last line: "CCCC text".
  std::string send(std::string_view line, bool may_change = true) {
    Peer peer;
    peer.uid = may_change ? 0 : 1000;
    peer.may_change = may_change;
    std::optional<std::string> out;
    table.dispatch(line, peer, [&](std::string r) { out = std::move(r); });
    if (!out) return "(no reply)";
    std::string s = *out;
    s.pop_back();
    return s.substr(s.rfind('\n') + 1);
  }
};

TEST(CommandTable, TheLongestPathWinsAndTheRestAreArguments) {
  Fixture f;
  EXPECT_EQ(f.send("show vips web"), "0000 ok");
  EXPECT_EQ(f.send("configure check"), "0000 ok");
  EXPECT_EQ(f.send("configure"), "0000 ok");
  EXPECT_EQ(f.send("  bgp   valve release "), "0000 ok");
  EXPECT_EQ(f.ran, (std::vector<std::string>{"show vips web", "configure check", "configure",
                                             "bgp valve release"}));
}

TEST(CommandTable, UnknownWordsAreNamedWithWhatCouldFollow) {
  Fixture f;
  EXPECT_EQ(f.send("frobnicate"), "9000 unknown command 'frobnicate' (try 'help')");
  EXPECT_EQ(f.send(""), "9000 empty request");
  EXPECT_EQ(f.send("show"), "9001 usage: show vips|status ...");
  EXPECT_EQ(f.send("show frobnicate"), "9000 unknown 'show frobnicate' (vips, status)");
  EXPECT_EQ(f.send("bgp valve"), "9001 usage: bgp valve release ...");
  EXPECT_EQ(f.send("bgp valve open"), "9000 unknown 'bgp valve open' (release)");
  EXPECT_TRUE(f.ran.empty());
}

TEST(CommandTable, ArgumentCountsAreCheckedBeforeTheHandler) {
  Fixture f;
  EXPECT_EQ(f.send("show vips a b"), "9001 show vips: unexpected 'b' (usage: show vips [VIP])");
  EXPECT_EQ(f.send("configure now"),
            "9001 configure: unexpected 'now' (usage: configure | configure check)");
  EXPECT_EQ(f.send("backend weight 10.0.0.1"), "9001 usage: backend weight ADDRESS WEIGHT [VIP]");
  EXPECT_TRUE(f.ran.empty());
}

TEST(CommandTable, AReaderMayReadButNotChangeWhateverTheArguments) {
  Fixture f;
  EXPECT_EQ(f.send("show status", false), "0000 ok");
  EXPECT_EQ(f.send("configure check", false), "0000 ok");
  EXPECT_EQ(f.send("configure", false),
            "8003 permission denied: uid 1000 may read but not reload (root or group 'steer' may)");
  EXPECT_EQ(f.send("backend weight 10.0.0.1 5", false).substr(0, 4), "8003");
  EXPECT_EQ(f.ran, (std::vector<std::string>{"show status", "configure check"}));
}

TEST(CommandTable, HelpListsEveryCommandInRegistrationOrder) {
  Fixture f;
  std::optional<std::string> out;
  f.table.dispatch("help", Peer{}, [&](std::string r) { out = std::move(r); });
  ASSERT_TRUE(out);
  ReplyReader reader;
  ASSERT_TRUE(reader.feed(*out));
  auto reply = reader.next();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->code(), reply::kOk);
  std::vector<std::string> lines;
  for (const ReplyLine& l : reply->lines) {
    if (l.code == reply::kHelp) lines.push_back(l.text.substr(0, l.text.find("  ")));
  }
  EXPECT_EQ(lines, (std::vector<std::string>{"help", "show vips [VIP]", "show status",
                                             "bgp valve release", "configure", "configure check",
                                             "backend weight ADDRESS WEIGHT [VIP]"}));
}

TEST(CommandTable, ARegistrationOfTheSamePathReplacesIt) {
  Fixture f;
  f.table.add({"show status", "", "again", 0, 1, "", [](const CommandRequest&, const Respond& r) {
                 r(ReplyWriter().finish(reply::kOk, "replaced"));
               }});
  EXPECT_EQ(f.send("show status x"), "0000 replaced");
}

}  // namespace
}  // namespace steer
