// The announcer (bgp/announcer.h) in-process against BirdModel, a stateful BIRD stand-in on a
// real Unix socket, with the real BirdClient: adoption at start and after restarts, drift
// re-asserted after `configure` and hand toggles, the safety valve, drain timing, missing
// protocols, dataplane death, and the typed decisions. Each test runs in tens to hundreds of
// milliseconds of real time (the announcer's timers are real; the policy's own timing rules
// are tested with explicit instants in policy_test.cc).
#include "bgp/announcer.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "bird_model.h"
#include "common/file.h"
#include "testing/support/run_io.h"

namespace steer::bgp {
namespace {

using namespace std::chrono_literals;
using test::BirdModel;
using Clock = std::chrono::steady_clock;

RouteHealth host_route(const char* address, bool healthy, const char* vip = "web") {
  RouteHealth r;
  r.route = IpPrefix::host(*IpAddress::parse(address));
  r.vips = {vip};
  r.healthy = healthy;
  r.health = healthy ? "healthy: web 1/1 up" : "unhealthy: web 0/1 up";
  return r;
}

class AnnouncerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sbg-ann-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    cfg_.socket = dir_ + "/bird.ctl";
    cfg_.snippet = dir_ + "/steer.conf";
    cfg_.reconcile = 40ms;
    cfg_.request_timeout = 500ms;
    cfg_.attributes.local_as = 65001;
    cfg_.policy.announce_hold = 0ms;
    cfg_.policy.min_interval = 0ms;
    cfg_.policy.drain = 150ms;
    cfg_.policy.valve_share = 1;
    cfg_.policy.valve_window = 10s;
  }
  void TearDown() override {
    announcer_.reset();
    io_.restart();
    io_.run_for(50ms);  // the stopped client's coroutines finish
    bird_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Writes the snippet BIRD starts from: `announced` units enabled, the rest withdrawn.
  void bird_starts_with(const std::vector<std::pair<const char*, bool>>& units) {
    std::vector<SnippetUnit> list;
    for (const auto& [address, announced] : units) {
      const auto a = *IpAddress::parse(address);
      list.push_back(SnippetUnit{unit_name(cfg_.protocol_prefix, a),
                                 IpPrefix::host(a),
                                 address,
                                 {"web"},
                                 announced,
                                 false});
    }
    ASSERT_TRUE(write_file_atomic(cfg_.snippet,
                                  render_snippet(list, cfg_.attributes, cfg_.protocol_prefix)));
    bird_ = std::make_unique<BirdModel>(cfg_.socket, cfg_.snippet);
  }

  void start() {
    announcer_ = std::make_unique<Announcer>(io_, cfg_, dir_ + "/bgp-overrides.json",
                                             [this](std::string_view l) { log_.emplace_back(l); });
    announcer_->on_decision = [this](const RouteDecision& d) { decided_.push_back(d); };
    announcer_->start();
  }

  bool run_until(const std::function<bool()>& pred, std::chrono::milliseconds limit = 2s) {
    return steer::test::run_io_until(io_, pred, limit, 2ms);
  }
  bool adopted() { return announcer_->show({})["adopted"].get<bool>(); }
  const RouteDecision decision(const char* address) {
    const std::string unit = announcer_->address_unit(*IpAddress::parse(address));
    for (const RouteDecision& d : announcer_->decisions()) {
      if (d.unit == unit) return d;
    }
    ADD_FAILURE() << "no decision for " << address;
    return {};
  }
  std::optional<bool> bird_normal(const char* address) {
    return bird_->enabled(unit_name(cfg_.protocol_prefix, *IpAddress::parse(address)));
  }
  std::optional<bool> bird_drain(const char* address) {
    return bird_->enabled(
        drain_protocol(unit_name(cfg_.protocol_prefix, *IpAddress::parse(address))));
  }
  std::string snippet() { return read_file(cfg_.snippet).value_or(""); }

  std::string dir_;
  BgpConfig cfg_;
  asio::io_context io_;
  std::unique_ptr<BirdModel> bird_;
  std::unique_ptr<Announcer> announcer_;
  std::vector<std::string> log_;
  std::vector<RouteDecision> decided_;
};

TEST_F(AnnouncerTest, AdoptsWhatBirdAnnouncesAndChangesNothingUntilSettled) {
  bird_starts_with({{"192.0.2.10", true}});
  const std::string before = snippet();
  start();
  announcer_->update({host_route("192.0.2.10", false)}, /*settled=*/false, true, "alive");
  ASSERT_TRUE(run_until([&] { return adopted(); }));
  EXPECT_FALSE(run_until([&] { return !bird_->toggles().empty(); }, 200ms))
      << "an unsettled steerd toggled BIRD";
  EXPECT_EQ(decision("192.0.2.10").state, RouteState::Announced);
  EXPECT_EQ(decision("192.0.2.10").why, "announced in BIRD when steerd started");
  EXPECT_TRUE(decision("192.0.2.10").confirmed);
  EXPECT_EQ(snippet(), before);
  EXPECT_EQ(bird_normal("192.0.2.10"), true);
  // Settled: health rules, and the route leaves at once.
  announcer_->update({host_route("192.0.2.10", false)}, true, true, "alive");
  ASSERT_TRUE(run_until([&] { return bird_normal("192.0.2.10") == false; }));
  EXPECT_EQ(decision("192.0.2.10").state, RouteState::Withdrawn);
  ASSERT_FALSE(decided_.empty());
  EXPECT_EQ(decided_.back().state, RouteState::Withdrawn);
  EXPECT_EQ(decided_.back().health.label(), "192.0.2.10");
  EXPECT_NE(snippet().find("disabled yes"), std::string::npos);
  EXPECT_TRUE(run_until([&] { return decision("192.0.2.10").confirmed; }));
}

TEST_F(AnnouncerTest, ARestartedSteerdAdoptsTheRoutesItLeftAndABirdRestartKeepsThem) {
  bird_starts_with({{"192.0.2.10", false}, {"192.0.2.11", false}});
  start();
  announcer_->update({host_route("192.0.2.10", true), host_route("192.0.2.11", false)}, true, true,
                     "alive");
  ASSERT_TRUE(run_until([&] { return bird_normal("192.0.2.10") == true; }));
  // steerd restarts: a new announcer adopts BIRD's state without toggling anything.
  announcer_.reset();
  io_.restart();
  io_.run_for(20ms);
  const size_t toggles = bird_->toggles().size();
  start();
  announcer_->update({host_route("192.0.2.10", true), host_route("192.0.2.11", false)}, false, true,
                     "alive");
  ASSERT_TRUE(run_until([&] { return adopted(); }));
  EXPECT_EQ(decision("192.0.2.10").state, RouteState::Announced);
  EXPECT_EQ(decision("192.0.2.11").state, RouteState::Withdrawn);
  // BIRD restarts: it reads steer's snippet, so its routes are what steer decided.
  announcer_->update({host_route("192.0.2.10", true), host_route("192.0.2.11", false)}, true, true,
                     "alive");
  bird_->restart();
  EXPECT_EQ(bird_normal("192.0.2.10"), true);
  EXPECT_EQ(bird_normal("192.0.2.11"), false);
  ASSERT_TRUE(run_until([&] { return announcer_->bird_connected(); }));
  EXPECT_FALSE(run_until([&] { return bird_->toggles().size() != toggles; }, 200ms))
      << "nothing needed re-asserting after the restart";
}

TEST_F(AnnouncerTest, DriftAfterConfigureOrAHandToggleIsReasserted) {
  bird_starts_with({{"192.0.2.10", false}});
  start();
  announcer_->update({host_route("192.0.2.10", true)}, true, true, "alive");
  ASSERT_TRUE(run_until([&] { return bird_normal("192.0.2.10") == true; }));
  // Someone edits the snippet behind steer's back and reconfigures BIRD.
  std::string edited = snippet();
  const size_t at = edited.find("disabled no");
  ASSERT_NE(at, std::string::npos);
  edited.replace(at, 11, "disabled yes");
  ASSERT_TRUE(write_file_atomic(cfg_.snippet, edited));
  bird_->reconfigure();
  ASSERT_EQ(bird_normal("192.0.2.10"), false);
  ASSERT_TRUE(run_until([&] { return bird_normal("192.0.2.10") == true; }));
  EXPECT_TRUE(run_until([&] { return snippet().find("disabled no") != std::string::npos; }))
      << "the snippet is written again";
  // A hand toggle.
  bird_->toggle(unit_name(cfg_.protocol_prefix, *IpAddress::parse("192.0.2.10")), false);
  ASSERT_TRUE(run_until([&] { return bird_normal("192.0.2.10") == true; }));
  EXPECT_GE(announcer_->show({})["drift_corrections"].get<uint64_t>(), 2u);
  EXPECT_EQ(decision("192.0.2.10").state, RouteState::Announced);
}

TEST_F(AnnouncerTest, TheSafetyValveHoldsWithdrawalsPastItsShareUntilReleased) {
  cfg_.policy.valve_share = 0.5;
  const std::vector<const char*> addresses = {"192.0.2.10", "192.0.2.11", "192.0.2.12",
                                              "192.0.2.13"};
  bird_starts_with(
      {{addresses[0], true}, {addresses[1], true}, {addresses[2], true}, {addresses[3], true}});
  start();
  auto routes = [&](bool healthy) {
    std::vector<RouteHealth> r;
    for (const char* a : addresses) r.push_back(host_route(a, healthy));
    return r;
  };
  announcer_->update(routes(true), true, true, "alive");
  ASSERT_TRUE(run_until([&] { return adopted(); }));
  announcer_->update(routes(false), true, true, "alive");
  auto withdrawn = [&] {
    size_t n = 0;
    for (const char* a : addresses) n += bird_normal(a) == false;
    return n;
  };
  ASSERT_TRUE(run_until([&] { return withdrawn() == 2; }));
  EXPECT_FALSE(run_until([&] { return withdrawn() > 2; }, 200ms));
  EXPECT_TRUE(announcer_->valve_holding());
  size_t held = 0;
  for (const RouteDecision& d : announcer_->decisions()) held += d.held_by_valve;
  EXPECT_EQ(held, 2u);
  EXPECT_TRUE(std::any_of(log_.begin(), log_.end(), [](const std::string& l) {
    return l.find("SAFETY VALVE: NOT withdrawing") != std::string::npos;
  }));
  announcer_->release_valve(Peer{.uid = 0, .user = "root"});
  EXPECT_TRUE(run_until([&] { return withdrawn() == 4; }));
  EXPECT_FALSE(announcer_->valve_holding());
}

TEST_F(AnnouncerTest, ADrainIsAnnouncedWithLowerPreferenceForDrainMsThenWithdrawn) {
  bird_starts_with({{"192.0.2.10", true}});
  start();
  announcer_->update({host_route("192.0.2.10", true)}, true, true, "alive");
  ASSERT_TRUE(run_until([&] { return adopted(); }));
  const std::string unit = announcer_->address_unit(*IpAddress::parse("192.0.2.10"));
  const auto t0 = Clock::now();
  auto r = announcer_->set_admin(unit, Admin::Drain, Peer{.uid = 0, .user = "root"});
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(run_until(
      [&] { return bird_drain("192.0.2.10") == true && bird_normal("192.0.2.10") == false; }));
  // The drain twin is enabled before the normal route goes: no gap.
  const auto toggles = bird_->toggles();
  ASSERT_GE(toggles.size(), 2u);
  EXPECT_EQ(toggles[toggles.size() - 2], "enable " + drain_protocol(unit));
  EXPECT_EQ(toggles.back(), "disable " + unit);
  EXPECT_EQ(decision("192.0.2.10").state, RouteState::Draining);
  ASSERT_TRUE(run_until([&] { return bird_drain("192.0.2.10") == false; }, 2s));
  const auto took = Clock::now() - t0;
  EXPECT_GE(took, cfg_.policy.drain);
  EXPECT_LT(took, cfg_.policy.drain + 500ms);
  EXPECT_EQ(bird_normal("192.0.2.10"), false);
  EXPECT_EQ(decision("192.0.2.10").state, RouteState::Withdrawn);
  // The override persisted, with who set it.
  const std::string saved = read_file(dir_ + "/bgp-overrides.json").value_or("");
  EXPECT_NE(saved.find("\"admin\": \"drain\""), std::string::npos) << saved;
  EXPECT_NE(saved.find("\"user\": \"root\""), std::string::npos) << saved;
}

TEST_F(AnnouncerTest, ADeadDataplaneWithdrawsEveryRoutePastTheValve) {
  cfg_.policy.valve_share = 0.25;
  bird_starts_with({{"192.0.2.10", true}, {"192.0.2.11", true}});
  start();
  const std::vector<RouteHealth> routes = {host_route("192.0.2.10", true),
                                           host_route("192.0.2.11", true)};
  announcer_->update(routes, true, true, "alive");
  ASSERT_TRUE(run_until([&] { return adopted(); }));
  announcer_->update(routes, true, false, "down: dataplane API: connection closed");
  ASSERT_TRUE(run_until(
      [&] { return bird_normal("192.0.2.10") == false && bird_normal("192.0.2.11") == false; }));
  EXPECT_FALSE(announcer_->valve_holding());
  EXPECT_NE(decision("192.0.2.11").why.find("dataplane"), std::string::npos)
      << decision("192.0.2.11").why;
}

TEST_F(AnnouncerTest, ProtocolsBirdLacksMakeItReadTheSnippet) {
  bird_starts_with({});
  start();
  announcer_->update({host_route("192.0.2.10", true)}, true, true, "alive");
  ASSERT_TRUE(run_until([&] { return bird_normal("192.0.2.10") == true; }));
  EXPECT_GE(bird_->configures(), 1);
  EXPECT_TRUE(run_until([&] { return decision("192.0.2.10").in_bird; }))
      << "the next poll finds both protocols";
}

}  // namespace
}  // namespace steer::bgp
