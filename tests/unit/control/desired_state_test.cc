#include "control/desired_state.h"

#include <map>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace steer::control {
namespace {

using health::State;

Config config_with(const char* text) {
  auto c = parse_config(text, "t.toml");
  if (!c) {
    ADD_FAILURE() << format_errors(c.error());
    return Config{};
  }
  return *c;
}

constexpr const char* kConfig = R"(
[check.http]
type = "http"
interval_ms = 100
timeout_ms = 50

[check.alt]
type = "tcp"
port = 8080

[[vip]]
name = "web"
address = "192.0.2.10"
protocol = "tcp"
port = 80
check = "http"
min_healthy = 2
  [[vip.backend]]
  address = "10.0.0.1"
  [[vip.backend]]
  address = "10.0.0.2"
  weight = 3
  [[vip.backend]]
  address = "10.0.0.3"
  check = "alt"
  [[vip.backend]]
  address = "10.0.0.4"
  check = ""
)";

struct Fixture {
  Config config = config_with(kConfig);
  std::map<std::string, State> health;
  Overrides overrides = *Overrides::load("");
  std::vector<VipView> views() {
    return compute_views(
        config,
        [this](const std::string& k) {
          auto it = health.find(k);
          return it == health.end() ? State::Unknown : it->second;
        },
        overrides);
  }
  void all_up() {
    for (auto k : {"10.0.0.1:80/http", "10.0.0.2:80/http", "10.0.0.3:8080/alt"})
      health[k] = State::Up;
  }
};

const BackendView& backend(const VipView& v, const char* address) {
  for (const BackendView& b : v.backends) {
    if (b.address == *IpAddress::parse(address)) return b;
  }
  static BackendView none;
  ADD_FAILURE() << "no backend " << address;
  return none;
}

Override make(const char* address, AdminState admin, std::optional<uint32_t> weight = {},
              std::string vip = "*") {
  Override o;
  o.vip = std::move(vip);
  o.address = *IpAddress::parse(address);
  o.admin = admin;
  o.weight = weight;
  o.uid = 1000;
  o.user = "alice";
  return o;
}

TEST(DesiredState, TargetKeysNameAddressPortAndCheck) {
  Fixture f;
  auto v = f.views();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(backend(v[0], "10.0.0.1").target_key, "10.0.0.1:80/http");
  EXPECT_EQ(backend(v[0], "10.0.0.3").target_key, "10.0.0.3:8080/alt");  // the check's port
  EXPECT_EQ(backend(v[0], "10.0.0.4").target_key, "");                   // no check
}

TEST(DesiredState, UndecidedAndDownBackendsGetNoTrafficUncheckedOnesDo) {
  Fixture f;
  f.health["10.0.0.2:80/http"] = State::Down;
  auto v = f.views();
  EXPECT_EQ(backend(v[0], "10.0.0.1").effective, "down");
  EXPECT_EQ(backend(v[0], "10.0.0.1").why, "health not yet decided");
  EXPECT_EQ(backend(v[0], "10.0.0.2").effective, "down");
  EXPECT_EQ(backend(v[0], "10.0.0.4").effective, "up");
  EXPECT_EQ(v[0].up, 1u);
  EXPECT_FALSE(v[0].healthy);  // min_healthy = 2
}

TEST(DesiredState, HealthyBackendsKeepTheirConfiguredWeight) {
  Fixture f;
  f.all_up();
  auto v = f.views();
  EXPECT_EQ(backend(v[0], "10.0.0.2").weight, 3u);
  EXPECT_EQ(v[0].up, 4u);
  EXPECT_TRUE(v[0].healthy);
}

TEST(DesiredState, OverridesInOrderDisableForceUpHealthDrainWeight) {
  Fixture f;
  f.all_up();
  f.health["10.0.0.3:8080/alt"] = State::Down;
  ASSERT_TRUE(f.overrides.set(make("10.0.0.1", AdminState::Disable)));
  ASSERT_TRUE(f.overrides.set(make("10.0.0.3", AdminState::ForceUp)));
  ASSERT_TRUE(f.overrides.set(make("10.0.0.2", AdminState::Drain)));
  ASSERT_TRUE(f.overrides.set(make("10.0.0.4", AdminState::None, 7)));
  auto v = f.views();
  EXPECT_EQ(backend(v[0], "10.0.0.1").effective, "down");
  EXPECT_EQ(backend(v[0], "10.0.0.1").why, "disabled by alice (uid 1000)");
  EXPECT_EQ(backend(v[0], "10.0.0.3").effective, "up");  // forced, although its check fails
  EXPECT_EQ(backend(v[0], "10.0.0.2").effective, "drain");
  EXPECT_EQ(backend(v[0], "10.0.0.2").weight, 0u);
  EXPECT_EQ(backend(v[0], "10.0.0.4").weight, 7u);
  EXPECT_EQ(v[0].up, 2u);  // drained and disabled do not count
}

TEST(DesiredState, DrainOfADownBackendStaysDown) {
  Fixture f;
  f.all_up();
  f.health["10.0.0.2:80/http"] = State::Down;
  ASSERT_TRUE(f.overrides.set(make("10.0.0.2", AdminState::Drain)));
  EXPECT_EQ(backend(f.views()[0], "10.0.0.2").effective, "down");
}

TEST(DesiredState, AVipSpecificOverrideWinsOverTheGlobalOne) {
  Fixture f;
  f.all_up();
  ASSERT_TRUE(f.overrides.set(make("10.0.0.1", AdminState::Disable)));
  ASSERT_TRUE(f.overrides.set(make("10.0.0.1", AdminState::ForceUp, {}, "web")));
  EXPECT_EQ(backend(f.views()[0], "10.0.0.1").effective, "up");
}

TEST(DesiredState, ClearingAnOverrideRemovesIt) {
  Fixture f;
  ASSERT_TRUE(f.overrides.set(make("10.0.0.1", AdminState::Drain)));
  ASSERT_EQ(f.overrides.all().size(), 1u);
  ASSERT_TRUE(f.overrides.set(make("10.0.0.1", AdminState::None)));
  EXPECT_TRUE(f.overrides.all().empty());
}

TEST(DesiredState, DocumentListsUpAndDrainedBackendsOnly) {
  Fixture f;
  f.all_up();
  f.health["10.0.0.3:8080/alt"] = State::Down;
  ASSERT_TRUE(f.overrides.set(make("10.0.0.2", AdminState::Drain)));
  auto doc = nlohmann::json::parse(desired_state_json(f.views()));
  ASSERT_EQ(doc["vips"].size(), 1u);
  const auto& vip = doc["vips"][0];
  EXPECT_EQ(vip["address"], "192.0.2.10");
  EXPECT_EQ(vip["proto"], "tcp");
  EXPECT_EQ(vip["port"], 80);
  std::map<std::string, std::string> states;
  for (const auto& b : vip["backends"]) states[b["address"]] = b["state"];
  EXPECT_EQ(states, (std::map<std::string, std::string>{
                        {"10.0.0.1", "up"}, {"10.0.0.2", "drain"}, {"10.0.0.4", "up"}}));
}

TEST(DesiredState, OverridesPersistAcrossLoads) {
  char tmpl[] = "/tmp/steer-overrides-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string path = std::string(tmpl) + "/overrides.json";
  {
    auto o = Overrides::load(path);
    ASSERT_TRUE(o);
    ASSERT_TRUE(o->set(make("10.0.0.2", AdminState::Drain, 5, "web")));
  }
  auto again = Overrides::load(path);
  ASSERT_TRUE(again) << again.error().message;
  const Override* o = again->find("web", *IpAddress::parse("10.0.0.2"));
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->admin, AdminState::Drain);
  EXPECT_EQ(o->weight, 5u);
  EXPECT_EQ(o->user, "alice");
  EXPECT_EQ(again->find("other", *IpAddress::parse("10.0.0.2")), nullptr);
  std::remove(path.c_str());
  rmdir(tmpl);
}

}  // namespace
}  // namespace steer::control
