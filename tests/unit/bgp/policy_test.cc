// The announce/withdraw policy (bgp/policy.h) as sequences of inputs and instants.
#include "bgp/policy.h"

#include <gtest/gtest.h>

namespace steer::bgp {
namespace {

using std::chrono::milliseconds;

PolicyOptions options() {
  PolicyOptions o;
  o.announce_hold = milliseconds(2000);
  o.min_interval = milliseconds(1000);
  o.drain = milliseconds(30000);
  o.valve_share = 0.5;
  o.valve_window = milliseconds(60000);
  return o;
}

struct Harness {
  Policy policy{options()};
  PolicyInputs in;
  Clock::time_point t0 = Clock::now();
  Clock::time_point now = t0;

  explicit Harness(std::initializer_list<const char*> names, bool healthy = true) {
    in.warm = true;
    in.dataplane_ok = true;
    in.dataplane = "alive";
    for (const char* n : names) {
      in.units[n].healthy = healthy;
      in.units[n].health = healthy ? "ok" : "sick";
    }
  }
  std::vector<Decision> at(int ms) {
    now = t0 + milliseconds(ms);
    return policy.evaluate(in, now);
  }
  RouteState state(const char* n) const { return policy.unit(n)->state; }
  // Healthy units announced: the first evaluation, then the 2 s hold-down.
  void settle() {
    at(0);
    at(2000);
  }
  void health(const char* n, bool ok) {
    in.units[n].healthy = ok;
    in.units[n].health = ok ? "ok" : "0/4 up (needs 1)";
  }
  void admin(const char* n, Admin a, int at_ms) {
    in.units[n].admin = a;
    in.units[n].admin_since = t0 + milliseconds(at_ms);
    in.units[n].admin_by = "uid 0 (root)";
  }
};

TEST(BgpPolicy, HealthyUnitIsAnnouncedAfterTheHoldDown) {
  Harness h({"a"});
  EXPECT_TRUE(h.at(0).empty());
  EXPECT_EQ(h.state("a"), RouteState::Withdrawn);
  EXPECT_NE(h.policy.unit("a")->pending.find("announce in 2.0 s (hold-down)"), std::string::npos);
  ASSERT_TRUE(h.policy.next_wake());
  EXPECT_EQ(*h.policy.next_wake(), h.t0 + milliseconds(2000));
  EXPECT_TRUE(h.at(1999).empty());
  auto d = h.at(2000);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].from, RouteState::Withdrawn);
  EXPECT_EQ(d[0].to, RouteState::Announced);
  EXPECT_EQ(h.state("a"), RouteState::Announced);
}

TEST(BgpPolicy, UnhealthyUnitIsWithdrawnAtOnce) {
  Harness h({"a", "b", "c", "d"});
  h.settle();
  h.health("a", false);
  auto d = h.at(2001);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].to, RouteState::Withdrawn);
  EXPECT_EQ(d[0].why, "0/4 up (needs 1)");
}

// Health flapping every 100 ms for 20 s: the route changes at most twice per
// max(announce_hold, min_interval).
TEST(BgpPolicy, FlappingHealthChangesTheRouteAtABoundedRate) {
  Harness h({"a", "b"});
  h.policy.set_options([] {
    PolicyOptions o = options();
    o.valve_share = 1.0;
    return o;
  }());
  h.settle();
  int changes = 0;
  for (int t = 2100; t <= 22000; t += 100) {
    h.health("a", (t / 100) % 2 == 0);
    changes += static_cast<int>(h.at(t).size());
  }
  // Healthy for 100 ms at a time never reaches a 2 s hold-down: one withdraw, no re-announce.
  EXPECT_EQ(changes, 1);
  // Healthy 2.5 s, sick 0.5 s, repeated: at most one withdraw+announce pair per 3 s cycle.
  changes = 0;
  for (int t = 22100; t <= 52000; t += 100) {
    h.health("a", ((t - 22100) % 3000) < 2500);
    changes += static_cast<int>(h.at(t).size());
  }
  EXPECT_LE(changes, 20);
  EXPECT_GE(changes, 2);
}

TEST(BgpPolicy, MinimumIntervalSpacesAnnouncementsAfterAWithdraw) {
  Harness h({"a", "b"});
  h.policy.set_options([] {
    PolicyOptions o = options();
    o.announce_hold = milliseconds(0);
    o.min_interval = milliseconds(5000);
    o.valve_share = 1.0;
    return o;
  }());
  h.at(0);
  EXPECT_EQ(h.state("a"), RouteState::Announced);  // first announce: no previous change
  h.health("a", false);
  EXPECT_EQ(h.at(100).size(), 1u);
  h.health("a", true);
  EXPECT_TRUE(h.at(200).empty());
  EXPECT_NE(h.policy.unit("a")->pending.find("min interval"), std::string::npos);
  EXPECT_TRUE(h.at(5099).empty());
  EXPECT_EQ(h.at(5100).size(), 1u);
  EXPECT_EQ(h.state("a"), RouteState::Announced);
}

TEST(BgpPolicy, DataplaneDownWithdrawsEverythingPastTheValve) {
  Harness h({"a", "b", "c", "d"});
  h.settle();
  h.in.dataplane_ok = false;
  h.in.dataplane = "down: connection refused";
  auto d = h.at(2100);
  ASSERT_EQ(d.size(), 4u);
  for (const Decision& x : d) {
    EXPECT_EQ(x.to, RouteState::Withdrawn);
    EXPECT_FALSE(x.held);
    EXPECT_EQ(x.why, "dataplane not forwarding: down: connection refused");
  }
  // Back: announced again after the hold-down.
  h.in.dataplane_ok = true;
  EXPECT_TRUE(h.at(2200).empty());
  EXPECT_EQ(h.at(4200).size(), 4u);
}

TEST(BgpPolicy, AUnitThatDoesNotNeedTheDataplaneOutlivesIt) {
  Harness h({"vip", "dns"});
  h.in.units["dns"].needs_dataplane = false;
  h.settle();
  h.in.dataplane_ok = false;
  h.in.dataplane = "down";
  auto d = h.at(2100);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].unit, "vip");
  EXPECT_EQ(h.state("dns"), RouteState::Announced) << "its own health decides";
  h.health("dns", false);
  h.at(2200);
  EXPECT_EQ(h.state("dns"), RouteState::Withdrawn);
}

TEST(BgpPolicy, SafetyValveHoldsWithdrawalsBeyondTheShareAndSaysSo) {
  Harness h({"a", "b", "c", "d"});  // share 0.5 of 4: two per window
  h.settle();
  for (const char* n : {"a", "b", "c", "d"}) h.health(n, false);
  auto d = h.at(3000);
  ASSERT_EQ(d.size(), 4u);
  int withdrawn = 0, held = 0;
  for (const Decision& x : d) {
    withdrawn += !x.held && x.to == RouteState::Withdrawn;
    held += x.held;
  }
  EXPECT_EQ(withdrawn, 2);
  EXPECT_EQ(held, 2);
  EXPECT_TRUE(h.policy.valve_holding());
  EXPECT_EQ(h.state("c"), RouteState::Announced);
  EXPECT_NE(h.policy.unit("c")->pending.find("held by the safety valve: 2 of 4"),
            std::string::npos);
  // Said once, not on every evaluation.
  EXPECT_TRUE(h.at(3100).empty());
  // The window frees its slots 60 s after the first withdrawals.
  ASSERT_TRUE(h.policy.next_wake());
  EXPECT_EQ(*h.policy.next_wake(), h.t0 + milliseconds(63000));
  EXPECT_EQ(h.at(63000).size(), 2u);
  EXPECT_FALSE(h.policy.valve_holding());
}

TEST(BgpPolicy, ReleasingTheValveLetsHeldWithdrawalsThrough) {
  Harness h({"a", "b"});  // share 0.5 of 2: one per window
  h.settle();
  h.health("a", false);
  h.health("b", false);
  auto d = h.at(2100);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_TRUE(d[1].held);
  h.policy.release_valve(h.t0 + milliseconds(2200));
  d = h.at(2200);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].unit, "b");
  EXPECT_EQ(d[0].to, RouteState::Withdrawn);
}

// A PoP with a single VIP address can always withdraw it.
TEST(BgpPolicy, TheValveAlwaysAllowsOneWithdrawal) {
  Harness h({"only"});
  h.settle();
  h.health("only", false);
  EXPECT_EQ(h.at(2100).size(), 1u);
  EXPECT_EQ(h.state("only"), RouteState::Withdrawn);
}

// valve_share 1 means no valve: every address may go, and go again.
TEST(BgpPolicy, ValveShareOneNeverHolds) {
  Harness h({"a", "b", "c"});
  h.policy.set_options([] {
    PolicyOptions o = options();
    o.valve_share = 1.0;
    return o;
  }());
  h.settle();
  for (const char* n : {"a", "b", "c"}) h.health(n, false);
  EXPECT_EQ(h.at(2100).size(), 3u);
  EXPECT_FALSE(h.policy.valve_holding());
}

// The valve counts addresses, not events: an address that health withdrew, that came back
// and fails again within the window, is withdrawn again (a single-VIP PoP that fails twice in
// a minute must not stay announced).
TEST(BgpPolicy, TheSameAddressWithdrawnTwiceInTheWindowIsOneAddress) {
  Harness h({"only"});
  h.settle();
  h.health("only", false);
  EXPECT_EQ(h.at(2100).size(), 1u);
  h.health("only", true);
  EXPECT_TRUE(h.at(3000).empty());
  EXPECT_EQ(h.at(5000).size(), 1u);  // announced again after the hold-down
  h.health("only", false);
  auto d = h.at(6000);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_FALSE(d[0].held);
  EXPECT_EQ(h.state("only"), RouteState::Withdrawn);
}

TEST(BgpPolicy, OperatorWithdrawAndAnnounceActAtOnce) {
  Harness h({"a", "b"});
  h.settle();
  h.admin("a", Admin::Withdraw, 2100);
  auto d = h.at(2100);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].why, "withdrawn by operator (uid 0 (root))");
  h.admin("a", Admin::Announce, 2200);
  h.health("a", false);
  d = h.at(2200);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].to, RouteState::Announced);
  EXPECT_NE(d[0].why.find("announced by operator"), std::string::npos);
  // ... but not over a dead dataplane.
  h.in.dataplane_ok = false;
  EXPECT_EQ(h.at(2300).size(), 2u);
  EXPECT_EQ(h.state("a"), RouteState::Withdrawn);
}

TEST(BgpPolicy, DrainLowersPreferenceThenWithdrawsThenUndrainAnnounces) {
  Harness h({"a", "b"});
  h.settle();
  h.admin("a", Admin::Drain, 3000);
  auto d = h.at(3000);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].to, RouteState::Draining);
  EXPECT_NE(d[0].why.find("withdrawn in 30.0 s"), std::string::npos);
  ASSERT_TRUE(h.policy.next_wake());
  EXPECT_EQ(*h.policy.next_wake(), h.t0 + milliseconds(33000));
  EXPECT_TRUE(h.at(32999).empty());
  d = h.at(33000);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].to, RouteState::Withdrawn);
  h.admin("a", Admin::Auto, 40000);
  EXPECT_TRUE(h.at(40000).empty());  // hold-down from withdrawn
  EXPECT_EQ(h.at(42000).size(), 1u);
  EXPECT_EQ(h.state("a"), RouteState::Announced);
}

TEST(BgpPolicy, UndrainDuringTheDrainAnnouncesAgain) {
  Harness h({"a", "b"});
  h.settle();
  h.admin("a", Admin::Drain, 3000);
  h.at(3000);
  h.admin("a", Admin::Auto, 5000);
  auto d = h.at(5000);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].from, RouteState::Draining);
  EXPECT_EQ(d[0].to, RouteState::Announced);
}

TEST(BgpPolicy, WarmUpKeepsAdoptedStatesButObeysOperators) {
  Harness h({"a", "b"}, false);
  h.in.warm = false;
  h.policy.adopt("a", RouteState::Announced, "announced in BIRD when steerd started", h.t0);
  h.policy.adopt("b", RouteState::Announced, "announced in BIRD when steerd started", h.t0);
  EXPECT_TRUE(h.at(0).empty());
  EXPECT_EQ(h.state("a"), RouteState::Announced);
  EXPECT_NE(h.policy.unit("a")->pending.find("withdrawn after warm-up"), std::string::npos);
  h.admin("b", Admin::Withdraw, 100);
  EXPECT_EQ(h.at(100).size(), 1u);
  h.in.warm = true;
  auto d = h.at(200);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].unit, "a");
  EXPECT_EQ(d[0].to, RouteState::Withdrawn);
}

TEST(BgpPolicy, UnitsLeavingTheConfigurationAreForgotten) {
  Harness h({"a", "b"});
  h.at(0);
  h.in.units.erase("b");
  h.at(100);
  EXPECT_EQ(h.policy.unit("b"), nullptr);
  EXPECT_EQ(h.policy.units().size(), 1u);
}

}  // namespace
}  // namespace steer::bgp
