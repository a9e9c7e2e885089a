#include "control/config/diff.h"

#include <gtest/gtest.h>

namespace steer::control {
namespace {

IpAddress ip(std::string_view text) { return *IpAddress::parse(text); }

Config parse(const std::string& text) {
  auto c = parse_config(text, "t.toml");
  EXPECT_TRUE(c) << format_errors(c.error());
  return c ? *c : Config{};
}

const std::string kBase = R"(
[pop]
name = "ams1"
[check.http]
type = "http"
[check.tcp]
[[vip]]
name = "web"
address = "192.0.2.1"
port = 80
check = "http"
  [[vip.backend]]
  address = "10.0.0.1"
  [[vip.backend]]
  address = "10.0.0.2"
[[vip]]
name = "mail"
address = "192.0.2.2"
port = 25
)";

// Replaces the first `from` in kBase by `to` (the test fails if `from` is missing).
std::string base_with(std::string_view from, std::string_view to) {
  std::string s = kBase;
  const size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

TEST(ConfigDiff, IdenticalConfigsGiveAnEmptyDiff) {
  const ConfigDiff d = diff_configs(parse(kBase), parse(kBase));
  EXPECT_TRUE(d.empty());
  EXPECT_EQ(d.summary(), "");
}

TEST(ConfigDiff, VipsAddedAndRemovedByName) {
  const Config next = parse(base_with("name = \"mail\"", "name = \"smtp\""));
  const ConfigDiff d = diff_configs(parse(kBase), next);
  EXPECT_EQ(d.vips_added, std::vector<std::string>{"smtp"});
  EXPECT_EQ(d.vips_removed, std::vector<std::string>{"mail"});
  EXPECT_TRUE(d.vips_changed.empty());
  EXPECT_TRUE(d.backends.empty());  // an added/removed VIP brings its backends with it
  EXPECT_FALSE(d.empty());
}

TEST(ConfigDiff, VipOptionChangeIsChangedButABackendChangeIsNot) {
  const ConfigDiff opt = diff_configs(parse(kBase), parse(base_with("port = 25", "port = 587")));
  EXPECT_EQ(opt.vips_changed, std::vector<std::string>{"mail"});
  EXPECT_TRUE(opt.backends.empty());

  const ConfigDiff backend = diff_configs(
      parse(kBase),
      parse(base_with("address = \"10.0.0.2\"", "address = \"10.0.0.2\"\n  weight = 5")));
  EXPECT_TRUE(backend.vips_changed.empty());
  ASSERT_EQ(backend.backends.size(), 1u);
}

TEST(ConfigDiff, BackendsAddedRemovedReweightedAndRechecked) {
  const Config next = parse(base_with(R"(  [[vip.backend]]
  address = "10.0.0.1"
  [[vip.backend]]
  address = "10.0.0.2")",
                                      R"(  [[vip.backend]]
  address = "10.0.0.1"
  weight = 3
  check = "tcp"
  [[vip.backend]]
  address = "10.0.0.3")"));
  const ConfigDiff d = diff_configs(parse(kBase), next);
  const std::vector<ConfigDiff::BackendChange> expected = {
      {"web", ip("10.0.0.1"), "weight 1 -> 3"},
      {"web", ip("10.0.0.1"), "check http -> tcp"},
      {"web", ip("10.0.0.3"), "added"},
      {"web", ip("10.0.0.2"), "removed"},
  };
  EXPECT_EQ(d.backends, expected);
  EXPECT_TRUE(d.vips_changed.empty());
  EXPECT_EQ(d.summary(),
            "vip web: backend 10.0.0.1 weight 1 -> 3\n"
            "vip web: backend 10.0.0.1 check http -> tcp\n"
            "vip web: backend 10.0.0.3 added\n"
            "vip web: backend 10.0.0.2 removed\n");
}

// Changing the VIP's check changes the VIP and, through inheritance, each backend's check.
TEST(ConfigDiff, InheritedCheckChangeShowsOnEveryInheritingBackend) {
  const ConfigDiff d =
      diff_configs(parse(kBase), parse(base_with("check = \"http\"", "check = \"tcp\"")));
  EXPECT_EQ(d.vips_changed, std::vector<std::string>{"web"});
  const std::vector<ConfigDiff::BackendChange> expected = {
      {"web", ip("10.0.0.1"), "check http -> tcp"},
      {"web", ip("10.0.0.2"), "check http -> tcp"},
  };
  EXPECT_EQ(d.backends, expected);

  const ConfigDiff none = diff_configs(parse(kBase), parse(base_with("check = \"http\"", "")));
  ASSERT_EQ(none.backends.size(), 2u);
  EXPECT_EQ(none.backends[0].what, "check http -> (none)");
}

TEST(ConfigDiff, ChecksAddedRemovedAndChanged) {
  const Config next = parse(base_with("[check.tcp]", "[check.tcp2]") + "[check.http2]\n");
  const Config changed = parse(base_with("type = \"http\"", "type = \"http\"\npath = \"/h\""));
  const ConfigDiff d = diff_configs(parse(kBase), next);
  EXPECT_EQ(d.checks_added, (std::vector<std::string>{"http2", "tcp2"}));
  EXPECT_EQ(d.checks_removed, std::vector<std::string>{"tcp"});
  EXPECT_TRUE(d.checks_changed.empty());
  const ConfigDiff c = diff_configs(parse(kBase), changed);
  EXPECT_EQ(c.checks_changed, std::vector<std::string>{"http"});
  EXPECT_TRUE(c.backends.empty());  // backends still name the same check
  EXPECT_EQ(c.summary(), "check http: changed\n");
}

TEST(ConfigDiff, StartupOnlyKeysAreRestartNeeded) {
  const Config next = parse(kBase + R"(
[cli]
socket = "/tmp/other.sock"
mode = "0600"
[metrics]
listen = ""
[state]
dir = "/tmp/state"
[dataplane]
socket = "/tmp/dp.sock"
)");
  const ConfigDiff d = diff_configs(parse(kBase), next);
  EXPECT_EQ(d.restart_needed,
            (std::vector<std::string>{"dataplane.socket", "cli.socket", "cli.mode",
                                      "metrics.listen", "state.dir"}));
  EXPECT_TRUE(d.settings_changed.empty());
  EXPECT_NE(d.summary().find("cli.socket: changed (takes effect after a restart)\n"),
            std::string::npos);
}

TEST(ConfigDiff, LiveSettingsAndKeptSectionsAreReported) {
  const Config next =
      parse(base_with("name = \"ams1\"", "name = \"ams2\"") +
            "[dataplane]\npush_interval_ms = 50\n[bgp]\nsocket = \"s\"\nlocal_as = 1\n");
  const ConfigDiff d = diff_configs(parse(kBase), next);
  EXPECT_EQ(d.settings_changed,
            (std::vector<std::string>{"pop.name", "dataplane.push_interval_ms", "bgp"}));
  EXPECT_TRUE(d.restart_needed.empty());
  EXPECT_FALSE(d.empty());
}

TEST(ConfigDiff, SummaryHasOneLinePerChange) {
  Config next = parse(base_with("name = \"mail\"", "name = \"smtp\""));
  next.vips[0].table_size = 251;
  const ConfigDiff d = diff_configs(parse(kBase), next);
  EXPECT_EQ(d.summary(),
            "vip smtp: added\n"
            "vip mail: removed\n"
            "vip web: options changed\n");
}

}  // namespace
}  // namespace steer::control
