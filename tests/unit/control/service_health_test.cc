#include "control/service_health.h"

#include <map>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "control/dataplane_link.h"

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
  explicit Fixture(const char* text = kConfig) : config(config_with(text)) {}
  Config config;
  std::map<std::string, State> health;
  Overrides overrides = *Overrides::load("");
  DataplaneHealth dataplane = DataplaneHealth::Alive;
  bool warm = true;
  ServiceHealth compute() {
    ServiceInputs in;
    in.config = std::make_shared<const Config>(config);
    in.verdict = [this](const std::string& k) {
      auto it = health.find(k);
      return it == health.end() ? State::Unknown : it->second;
    };
    in.overrides = &overrides;
    in.dataplane = dataplane;
    in.dataplane_why = "workers alive";
    in.warm = warm;
    return compute_service_health(in);
  }
  std::vector<VipHealth> views() {
    last = compute();
    return last.vips;
  }
  ServiceHealth last;
  void all_up() {
    for (auto k : {"10.0.0.1:80/http", "10.0.0.2:80/http", "10.0.0.3:8080/alt"})
      health[k] = State::Up;
  }
};

const BackendHealth& backend(const VipHealth& v, const char* address) {
  for (const BackendHealth& b : v.backends) {
    if (b.address == *IpAddress::parse(address)) return b;
  }
  static BackendHealth none;
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

TEST(ServiceHealth, TargetKeysNameAddressPortAndCheck) {
  Fixture f;
  auto v = f.views();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(backend(v[0], "10.0.0.1").target_key, "10.0.0.1:80/http");
  EXPECT_EQ(backend(v[0], "10.0.0.3").target_key, "10.0.0.3:8080/alt");  // the check's port
  EXPECT_EQ(backend(v[0], "10.0.0.4").target_key, "");                   // no check
}

TEST(ServiceHealth, UndecidedAndDownBackendsGetNoTrafficUncheckedOnesDo) {
  Fixture f;
  f.health["10.0.0.2:80/http"] = State::Down;
  auto v = f.views();
  EXPECT_EQ(backend(v[0], "10.0.0.1").state, BackendState::Down);
  EXPECT_EQ(backend(v[0], "10.0.0.1").why, "health not yet decided");
  EXPECT_EQ(backend(v[0], "10.0.0.2").state, BackendState::Down);
  EXPECT_EQ(backend(v[0], "10.0.0.4").state, BackendState::Up);
  EXPECT_EQ(v[0].up, 1u);
  EXPECT_FALSE(v[0].healthy);  // min_healthy = 2
}

TEST(ServiceHealth, HealthyBackendsKeepTheirConfiguredWeight) {
  Fixture f;
  f.all_up();
  auto v = f.views();
  EXPECT_EQ(backend(v[0], "10.0.0.2").weight, 3u);
  EXPECT_EQ(v[0].up, 4u);
  EXPECT_TRUE(v[0].healthy);
}

TEST(ServiceHealth, OverridesInOrderDisableForceUpHealthDrainWeight) {
  Fixture f;
  f.all_up();
  f.health["10.0.0.3:8080/alt"] = State::Down;
  ASSERT_TRUE(f.overrides.set(make("10.0.0.1", AdminState::Disable)));
  ASSERT_TRUE(f.overrides.set(make("10.0.0.3", AdminState::ForceUp)));
  ASSERT_TRUE(f.overrides.set(make("10.0.0.2", AdminState::Drain)));
  ASSERT_TRUE(f.overrides.set(make("10.0.0.4", AdminState::None, 7)));
  auto v = f.views();
  EXPECT_EQ(backend(v[0], "10.0.0.1").state, BackendState::Down);
  EXPECT_EQ(backend(v[0], "10.0.0.1").why, "disabled by alice (uid 1000)");
  EXPECT_EQ(backend(v[0], "10.0.0.3").state, BackendState::Up);  // forced, although its check fails
  EXPECT_EQ(backend(v[0], "10.0.0.2").state, BackendState::Drain);
  EXPECT_EQ(backend(v[0], "10.0.0.2").weight, 0u);
  EXPECT_EQ(backend(v[0], "10.0.0.4").weight, 7u);
  EXPECT_EQ(v[0].up, 2u);  // drained and disabled do not count
}

TEST(ServiceHealth, DrainOfADownBackendStaysDown) {
  Fixture f;
  f.all_up();
  f.health["10.0.0.2:80/http"] = State::Down;
  ASSERT_TRUE(f.overrides.set(make("10.0.0.2", AdminState::Drain)));
  EXPECT_EQ(backend(f.views()[0], "10.0.0.2").state, BackendState::Down);
}

TEST(ServiceHealth, AVipSpecificOverrideWinsOverTheGlobalOne) {
  Fixture f;
  f.all_up();
  ASSERT_TRUE(f.overrides.set(make("10.0.0.1", AdminState::Disable)));
  ASSERT_TRUE(f.overrides.set(make("10.0.0.1", AdminState::ForceUp, {}, "web")));
  EXPECT_EQ(backend(f.views()[0], "10.0.0.1").state, BackendState::Up);
}

TEST(ServiceHealth, ClearingAnOverrideRemovesIt) {
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
  auto doc = nlohmann::json::parse(doc::to_json(desired_state(f.compute())));
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

TEST(ServiceHealth, OverridesPersistAcrossLoads) {
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

// Two VIPs at one address (one route) and one elsewhere, plus a group over all three.
constexpr const char* kRoutes = R"(
[bgp]
socket = "/run/bird.ctl"
local_as = 65001
announce = "all"
[[vip]]
name = "web"
address = "192.0.2.10"
port = 80
  [[vip.backend]]
  address = "10.0.0.1"
  check = "t"
[[vip]]
name = "dns"
address = "192.0.2.10"
protocol = "udp"
port = 53
  [[vip.backend]]
  address = "10.0.0.2"
  check = "t"
[[vip]]
name = "api"
address = "192.0.2.20"
port = 443
  [[vip.backend]]
  address = "10.0.0.3"
  check = "t"
[check.t]
type = "tcp"
[[bgp.group]]
name = "edge"
prefix = "192.0.2.0/24"
announce = "any"
)";

const RouteHealth* route(const ServiceHealth& h, const char* label) {
  for (const RouteHealth& r : h.routes) {
    if (r.label() == label) return &r;
  }
  ADD_FAILURE() << "no route " << label;
  return nullptr;
}

TEST(ServiceHealth, AnAddressRouteNeedsAllItsVipsAGroupAny) {
  Fixture f(kRoutes);
  f.health = {
      {"10.0.0.1:80/t", State::Up}, {"10.0.0.2:53/t", State::Down}, {"10.0.0.3:443/t", State::Up}};
  const ServiceHealth h = f.compute();
  ASSERT_EQ(h.routes.size(), 3u);  // two addresses, then the group
  EXPECT_EQ(h.routes[0].route.to_string(), "192.0.2.10/32");
  EXPECT_EQ(h.routes[1].route.to_string(), "192.0.2.20/32");
  EXPECT_EQ(h.routes[2].group, "edge");
  const RouteHealth* shared = route(h, "192.0.2.10");
  ASSERT_NE(shared, nullptr);
  EXPECT_EQ(shared->vips, (std::vector<std::string>{"web", "dns"}));
  EXPECT_FALSE(shared->healthy);  // announce = "all": dns is down
  EXPECT_EQ(shared->health, "unhealthy: web 1/1 up (needs 1); dns 0/1 up (needs 1)");
  EXPECT_TRUE(route(h, "192.0.2.20")->healthy);
  const RouteHealth* group = route(h, "group edge");
  ASSERT_NE(group, nullptr);
  EXPECT_EQ(group->route.to_string(), "192.0.2.0/24");
  EXPECT_EQ(group->vips, (std::vector<std::string>{"web", "dns", "api"}));
  EXPECT_TRUE(group->healthy);  // the group's announce = "any"
}

TEST(ServiceHealth, AddressesNeedAnyOfTheirVipsWithAnnounceAny) {
  std::string text = kRoutes;
  text.replace(text.find("announce = \"all\""), 16, "announce = \"any\"");
  Fixture f(text.c_str());
  f.health = {{"10.0.0.1:80/t", State::Up}, {"10.0.0.2:53/t", State::Down}};
  EXPECT_TRUE(route(f.compute(), "192.0.2.10")->healthy);
}

TEST(ServiceHealth, WithoutBgpEveryAddressIsStillARouteWithAllItsVips) {
  Fixture f;
  f.all_up();
  const ServiceHealth h = f.compute();
  ASSERT_EQ(h.routes.size(), 1u);
  EXPECT_EQ(h.routes[0].label(), "192.0.2.10");
  EXPECT_TRUE(h.routes[0].healthy);
}

TEST(ServiceHealth, SettledNeedsWarmAndAKnownDataplane) {
  Fixture f;
  f.warm = false;
  EXPECT_FALSE(f.compute().settled);
  f.warm = true;
  f.dataplane = DataplaneHealth::Unknown;
  EXPECT_TRUE(f.compute().warm);
  EXPECT_FALSE(f.compute().settled);
  f.dataplane = DataplaneHealth::Down;
  EXPECT_TRUE(f.compute().settled);  // known to be down: routes may be withdrawn
}

TEST(ServiceHealth, ThePopServesWithALiveDataplaneAndAHealthyVip) {
  Fixture f(kRoutes);
  f.health = {{"10.0.0.1:80/t", State::Up}};
  ServiceHealth h = f.compute();
  EXPECT_EQ(h.pop.vips, 3u);
  EXPECT_EQ(h.pop.vips_healthy, 1u);
  EXPECT_TRUE(h.pop.serving);
  f.dataplane = DataplaneHealth::Stuck;
  EXPECT_FALSE(f.compute().pop.serving);
  f.dataplane = DataplaneHealth::Alive;
  f.health.clear();
  EXPECT_FALSE(f.compute().pop.serving);
}

TEST(ServiceHealth, HealthTargetsAreOnePerKeySorted) {
  Fixture f(kRoutes);
  std::vector<std::string> keys;
  for (const health::Target& t : health_targets(f.config)) keys.push_back(t.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"10.0.0.1:80/t", "10.0.0.2:53/t", "10.0.0.3:443/t"}));
}

TEST(ServiceHealth, AValueKeepsItsConfigAlive) {
  ServiceHealth h;
  {
    Fixture f;
    f.all_up();
    h = f.compute();
  }  // the fixture's Config is gone; the value's copy is not
  EXPECT_EQ(h.vips[0].config->name, "web");
  EXPECT_EQ(h.vip("web"), &h.vips[0]);
  EXPECT_EQ(h.vip("nope"), nullptr);
}

// [dns]: a service with the local PoP (its VIP) and a remote one (probed), and the responder's
// own address announced through BGP.
constexpr const char* kDns = R"(
[pop]
name = "fra"
[bgp]
socket = "/run/bird.ctl"
local_as = 65001
[check.t]
type = "tcp"
port = 80
[[vip]]
name = "web"
address = "192.0.2.10"
port = 80
  [[vip.backend]]
  address = "10.0.0.1"
  check = "t"
[dns]
listen = ["192.0.2.53:53"]
announce = ["192.0.2.53"]
[[dns.pop]]
name = "fra"
region = "eu"
latitude = 50.1
longitude = 8.7
[[dns.pop]]
name = "nyc"
region = "us"
latitude = 40.7
longitude = -74.0
[[dns.zone]]
name = "lb.example.com."
ns = ["ns1"]
soa = { rname = "hostmaster" }
records = [{ name = "ns1", type = "A", data = "192.0.2.53" }]
[[dns.service]]
name = "web"
check = "t"
  [[dns.service.pop]]
  pop = "fra"
  vips = ["web"]
  [[dns.service.pop]]
  pop = "nyc"
  addresses = ["203.0.113.10"]
  probe = ["203.0.113.1", "203.0.113.2"]
)";

TEST(ServiceHealth, DnsPopsAreTheLocalVipsAndTheRemoteProbes) {
  Fixture f(kDns);
  f.health = {{"10.0.0.1:80/t", State::Up},
              {"203.0.113.1:80/t", State::Up},
              {"203.0.113.2:80/t", State::Down}};
  ServiceHealth h = f.compute();
  ASSERT_EQ(h.dns.size(), 1u);
  ASSERT_EQ(h.dns[0].pops.size(), 2u);
  const DnsPopHealth& fra = h.dns[0].pops[0];
  EXPECT_TRUE(fra.local);
  EXPECT_TRUE(fra.healthy);
  EXPECT_EQ(fra.why, "web 1/1 up (needs 1)");
  const DnsPopHealth& nyc = h.dns[0].pops[1];
  EXPECT_FALSE(nyc.local);
  EXPECT_FALSE(nyc.healthy) << "every probe must be up";
  EXPECT_EQ(nyc.why, "probes 1/2 up: 203.0.113.2:80/t down");
  f.dataplane = DataplaneHealth::Down;
  h = f.compute();
  EXPECT_FALSE(h.dns[0].pops[0].healthy);
  EXPECT_EQ(h.dns[0].pops[0].why, "dataplane down");
}

TEST(ServiceHealth, TheResponderAddressIsARouteOfItsOwnProbeThatOutlivesTheDataplane) {
  Fixture f(kDns);
  std::vector<std::string> keys;
  for (const health::Target& t : health_targets(f.config)) keys.push_back(t.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"10.0.0.1:80/t", "192.0.2.53:53/dns-self",
                                            "203.0.113.1:80/t", "203.0.113.2:80/t"}));
  f.health = {{"192.0.2.53:53/dns-self", State::Up}};
  ServiceHealth h = f.compute();
  const RouteHealth* dns = route(h, "192.0.2.53");
  ASSERT_NE(dns, nullptr);
  EXPECT_TRUE(dns->healthy);
  EXPECT_FALSE(dns->needs_dataplane);
  EXPECT_EQ(dns->vips, std::vector<std::string>{"dns"});
  f.health.clear();
  EXPECT_FALSE(route(f.compute(), "192.0.2.53")->healthy);
}

}  // namespace
}  // namespace steer::control
