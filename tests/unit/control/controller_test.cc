// steerd's controller (control/controller.h) wired as steerd wires it — the dataplane link,
// the BGP link, the command table — with its collaborators replaced: a scripted health
// checker, a fake steer-dataplane on a real Unix socket (tests/unit/control/fakes.h), and a
// stateful BIRD stand-in (tests/unit/bgp/bird_model.h) driven by the real BirdClient. Warm-up
// adoption, reload of an invalid file, persisted overrides, dataplane death withdrawing every
// address, and the command table against docs/cli-protocol.md. Real time, tens to hundreds of
// milliseconds per test.
#include "control/controller.h"

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/file.h"
#include "control/bgp_link.h"
#include "control/commands.h"
#include "control/dataplane_link.h"
#include "control/dns_link.h"
#include "control/metrics.h"
#include "fakes.h"
#include "testing/support/run_io.h"
#include "tests/unit/bgp/bird_model.h"

namespace steer::control {
namespace {

using namespace std::chrono_literals;
using health::State;
using test::FakeDataplane;
using test::ScriptedChecker;

constexpr const char* kVips = R"(
[check.t]
type = "tcp"
interval_ms = 100
timeout_ms = 50

[[vip]]
name = "web"
address = "192.0.2.10"
port = 80
check = "t"
  [[vip.backend]]
  address = "10.0.0.1"
  [[vip.backend]]
  address = "10.0.0.2"

[[vip]]
name = "api"
address = "192.0.2.20"
port = 443
check = "t"
  [[vip.backend]]
  address = "10.0.0.3"
)";

Peer root() { return Peer{.uid = 0, .may_change = true, .user = "root"}; }
Peer nobody() { return Peer{.uid = 65534, .may_change = false, .user = "nobody"}; }

// steerd, assembled from its parts around fakes.
class Rig {
 public:
  Rig(const std::string& dir, std::string extra, std::string dataplane_state = R"({"vips":[]})",
      std::vector<std::pair<const char*, bool>> bird_routes = {})
      : dir_(dir), extra_(std::move(extra)) {
    write_config("");
    if (extra_.find("[bgp]") != std::string::npos) {
      std::string snippet = "# steer\n";
      for (const auto& [address, up] : bird_routes) {
        const std::string unit = fmt::format(
            "steer_v4_{}", std::regex_replace(std::string(address), std::regex("\\."), "_"));
        snippet += fmt::format(
            "protocol static {} {{\n  ipv4;\n  route {}/32 blackhole;\n  "
            "disabled {};\n}}\n",
            unit, address, up ? "no" : "yes");
        snippet += fmt::format(
            "protocol static {}_drain {{\n  ipv4;\n  route {}/32 blackhole;\n"
            "  disabled yes;\n}}\n",
            unit, address);
      }
      std::ofstream(dir_ + "/steer.conf") << snippet;
      bird = std::make_unique<bgp::test::BirdModel>(dir_ + "/bird.ctl", dir_ + "/steer.conf");
    }
    dataplane = std::make_unique<FakeDataplane>(dir_ + "/dp.sock", std::move(dataplane_state));
    build();
  }
  ~Rig() { teardown(); }

  void write_config(const std::string& more) {
    const std::string text = fmt::format(
        "[dataplane]\nsocket = \"{0}/dp.sock\"\npush_interval_ms = 5\nstatus_interval_ms = 20\n"
        "[state]\ndir = \"{0}/state\"\n{1}\n{2}\n{3}",
        dir_, extra_, kVips, more);
    std::ofstream(dir_ + "/steerd.toml") << text;
  }

  // steerd's start (again, after teardown(): a restart that reads the persisted overrides).
  void build() {
    auto config = load_config(dir_ + "/steerd.toml");
    if (!config) throw std::runtime_error(format_errors(config.error()));
    auto overrides = Overrides::load(dir_ + "/state/overrides.json");
    if (!overrides) throw std::runtime_error(overrides.error().message);
    client =
        std::make_unique<DataplaneClient>(io,
                                          DataplaneLinkOptions{.socket = config->dataplane_socket,
                                                               .push_interval = 5ms,
                                                               .status_interval = 20ms,
                                                               .stuck_after = 1000ms},
                                          [](std::string_view) {});
    commands = std::make_unique<CommandTable>();
    const std::string path = dir_ + "/steerd.toml";
    controller = std::make_unique<Controller>(
        Controller::Deps{io, checker, *client, events, [path] { return load_config(path); }},
        std::move(*config), std::move(*overrides));
    dataplane_link = std::make_unique<DataplaneLink>(*client);
    bgp_link = std::make_unique<BgpLink>(io, *commands, events);
    dns_link = std::make_unique<DnsLink>(io, *commands, events, *bgp_link);
    controller->add_module(*dataplane_link);  // steerd's order (control/steerd.cc)
    controller->add_module(*dns_link);
    controller->add_module(*bgp_link);
    register_controller_commands(*commands, *controller, path);
    controller->start();
  }

  void teardown() {
    if (!controller) return;
    controller->stop();
    io.restart();
    io.run_for(60ms);  // the clients' coroutines see the stop
    dns_link.reset();
    bgp_link.reset();
    dataplane_link.reset();
    controller.reset();
    commands.reset();
    client.reset();
  }

  bool run_until(const std::function<bool()>& pred, std::chrono::milliseconds limit = 2s) {
    return steer::test::run_io_until(io, pred, limit, 2ms);
  }
  void run_for(std::chrono::milliseconds d) {
    io.restart();
    io.run_for(d);
  }

  // One request through the command table; the whole reply text.
  std::string request(std::string_view line, const Peer& peer = root()) {
    std::optional<std::string> out;
    commands->dispatch(line, peer, [&](std::string r) { out = std::move(r); });
    run_until([&] { return out.has_value(); });
    return out.value_or("(no reply)");
  }
  static int code(const std::string& reply) {
    const size_t last = reply.rfind('\n', reply.size() - 2);
    return std::stoi(reply.substr(last == std::string::npos ? 0 : last + 1, 4));
  }
  bool event_with(std::string_view text) const {
    for (const Events::Event& e : events.list()) {
      if (e.text.find(text) != std::string::npos) return true;
    }
    return false;
  }
  bool bird_announces(const char* address) {
    return bird->enabled(fmt::format(
               "steer_v4_{}", std::regex_replace(std::string(address), std::regex("\\."), "_"))) ==
           true;
  }

  asio::io_context io;
  Events events{[](std::string_view) {}};
  ScriptedChecker checker;
  std::unique_ptr<FakeDataplane> dataplane;
  std::unique_ptr<bgp::test::BirdModel> bird;
  std::unique_ptr<DataplaneClient> client;
  std::unique_ptr<CommandTable> commands;
  std::unique_ptr<Controller> controller;
  std::unique_ptr<DataplaneLink> dataplane_link;
  std::unique_ptr<BgpLink> bgp_link;
  std::unique_ptr<DnsLink> dns_link;

 private:
  std::string dir_, extra_;
};

class ControllerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/steer-ctl-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

constexpr const char* kBgp = R"(
[bgp]
socket = "{dir}/bird.ctl"
snippet = "{dir}/steer.conf"
local_as = 65001
announce_hold_ms = 0
min_interval_ms = 0
reconcile_ms = 50
valve_share = 0.25
)";

std::string bgp_section(const std::string& dir) {
  return std::regex_replace(kBgp, std::regex("\\{dir\\}"), dir);
}

TEST_F(ControllerTest, WarmUpAdoptsTheRunningDataplaneAndBirdUntilEveryCheckHasAVerdict) {
  const std::string running =
      R"({"vips":[{"address":"192.0.2.10","proto":"tcp","port":80,"backends":[{"address":"10.0.0.9","weight":1,"state":"up"}]}]})";
  Rig rig(dir_, "[warmup]\nmax_ms = 60000\n" + bgp_section(dir_), running,
          {{"192.0.2.10", true}, {"192.0.2.20", false}});
  ASSERT_TRUE(rig.run_until([&] { return rig.client->health() == DataplaneHealth::Alive; }));
  rig.run_for(200ms);
  EXPECT_EQ(rig.dataplane->apply_count(), 0u) << "pushed before warm-up ended";
  EXPECT_TRUE(rig.bird->toggles().empty()) << "BIRD toggled before warm-up ended";
  EXPECT_FALSE(rig.controller->health()->warm);
  EXPECT_EQ(rig.dataplane->pool("192.0.2.10"),
            (std::map<std::string, std::string>{{"10.0.0.9", "up"}}));
  // Some verdicts are not a warm-up's end.
  rig.checker.set("10.0.0.1:80/t", State::Up);
  rig.run_for(50ms);
  EXPECT_EQ(rig.dataplane->apply_count(), 0u);
  rig.checker.set("10.0.0.2:80/t", State::Up);
  rig.checker.set("10.0.0.3:443/t", State::Up);
  EXPECT_TRUE(rig.controller->health()->warm);
  EXPECT_TRUE(rig.event_with("warm-up over: every backend has a health verdict"));
  ASSERT_TRUE(rig.run_until([&] { return rig.dataplane->apply_count() > 0; }));
  EXPECT_EQ(rig.dataplane->pool("192.0.2.10"),
            (std::map<std::string, std::string>{{"10.0.0.1", "up"}, {"10.0.0.2", "up"}}));
  ASSERT_TRUE(rig.run_until([&] { return rig.bird_announces("192.0.2.20"); }));
  EXPECT_TRUE(rig.bird_announces("192.0.2.10"));
  EXPECT_EQ(rig.bird->toggles().size(), 1u) << "only the withdrawn address changed";
  EXPECT_GE(rig.controller->health()->generation, 4u);
  EXPECT_EQ(rig.controller->health_cell().load(), rig.controller->health());
}

TEST_F(ControllerTest, WarmUpEndsAfterMaxMsWithUndecidedBackendsOutOfService) {
  Rig rig(dir_, "[warmup]\nmax_ms = 150\n");
  rig.checker.set("10.0.0.1:80/t", State::Up);
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(rig.run_until([&] { return rig.dataplane->apply_count() > 0; }));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 140ms);
  EXPECT_TRUE(rig.event_with("warm-up over after max_ms"));
  EXPECT_EQ(rig.dataplane->pool("192.0.2.10"),
            (std::map<std::string, std::string>{{"10.0.0.1", "up"}}));
  EXPECT_TRUE(rig.dataplane->pool("192.0.2.20").empty());
}

TEST_F(ControllerTest, AStreakTowardAnotherVerdictIsPublishedAsPending) {
  Rig rig(dir_, "[warmup]\nmax_ms = 0\n");
  rig.checker.set_all(State::Up);
  const uint64_t generation = rig.controller->health()->generation;
  rig.checker.set_pending("10.0.0.1:80/t", true);
  EXPECT_EQ(rig.controller->health()->generation, generation + 1);
  EXPECT_TRUE(rig.controller->health()->vips[0].backends[0].pending);
  rig.checker.set_pending("10.0.0.1:80/t", false);
  EXPECT_FALSE(rig.controller->health()->vips[0].backends[0].pending);
}

TEST_F(ControllerTest, ReloadingAnInvalidFileChangesNothing) {
  Rig rig(dir_, "[warmup]\nmax_ms = 0\n");
  rig.checker.set_all(State::Up);
  ASSERT_TRUE(rig.run_until([&] { return rig.dataplane->apply_count() > 0; }));
  rig.run_for(30ms);
  const auto health = rig.controller->health();
  const Config* config = &rig.controller->config();
  const size_t applies = rig.dataplane->apply_count();
  const int target_sets = rig.checker.target_sets();
  rig.write_config("[[vip]]\nname = \"bad\"\naddress = \"nope\"\nport = 70000\n");
  auto r = rig.controller->reload("test");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("'vip.address' must be an IPv4 or IPv6 address"),
            std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("'vip.port' must be an integer 0..65535"), std::string::npos);
  EXPECT_NE(r.error().message.find("steerd.toml:"), std::string::npos) << "file:line:column";
  EXPECT_EQ(&rig.controller->config(), config);
  EXPECT_EQ(rig.controller->health(), health);
  EXPECT_EQ(rig.checker.target_sets(), target_sets);
  EXPECT_TRUE(rig.event_with("reload by test rejected: 2 error(s)"));
  rig.run_for(50ms);
  EXPECT_EQ(rig.dataplane->apply_count(), applies);
  // The same through the CLI: 8005 with every error; `configure check` says so too.
  EXPECT_EQ(Rig::code(rig.request("configure")), reply::kConfigInvalid);
  EXPECT_EQ(Rig::code(rig.request("configure check")), reply::kConfigInvalid);
  // A valid change applies: a new backend gets a target, and traffic once it is up.
  rig.write_config("");
  std::ofstream(dir_ + "/steerd.toml", std::ios::app)
      << "[[vip]]\nname = \"new\"\naddress = \"192.0.2.30\"\nport = 80\ncheck = \"t\"\n"
         "  [[vip.backend]]\n  address = \"10.0.0.4\"\n";
  auto ok = rig.controller->reload("test");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->vips_added, std::vector<std::string>{"new"});
  EXPECT_EQ(rig.checker.target_sets(), target_sets + 1);
  rig.checker.set("10.0.0.4:80/t", State::Up);
  ASSERT_TRUE(rig.run_until([&] { return !rig.dataplane->pool("192.0.2.30").empty(); }));
  EXPECT_EQ(rig.controller->reloads(), 1u);
}

TEST_F(ControllerTest, OverridesArePersistedWithWhoAndSurviveARestart) {
  Rig rig(dir_, "[warmup]\nmax_ms = 0\n");
  rig.checker.set_all(State::Up);
  ASSERT_TRUE(rig.run_until([&] { return rig.dataplane->apply_count() > 0; }));
  // A reader may not change anything; nothing is written then.
  const std::string denied = rig.request("backend disable 10.0.0.1", nobody());
  EXPECT_EQ(Rig::code(denied), reply::kPermissionDenied) << denied;
  EXPECT_NE(denied.find("uid 65534 may read but not change backends"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/state/overrides.json"));
  const std::string done = rig.request("backend drain 10.0.0.2 web");
  EXPECT_EQ(Rig::code(done), reply::kOk) << done;
  ASSERT_TRUE(
      rig.run_until([&] { return rig.dataplane->pool("192.0.2.10")["10.0.0.2"] == "drain"; }));
  EXPECT_TRUE(rig.event_with("uid 0 (root): backend drain 10.0.0.2 on web"));
  const std::string saved = read_file(dir_ + "/state/overrides.json").value_or("");
  EXPECT_NE(saved.find("\"admin\": \"drain\""), std::string::npos) << saved;
  EXPECT_NE(saved.find("\"user\": \"root\""), std::string::npos) << saved;
  // steerd restarts (the dataplane keeps forwarding): the drain is still in force.
  rig.teardown();
  rig.build();
  EXPECT_EQ(rig.controller->overrides().all().size(), 1u);
  rig.checker.set_all(State::Up);
  const size_t applies = rig.dataplane->apply_count();
  ASSERT_TRUE(rig.run_until([&] { return rig.dataplane->apply_count() > applies; }));
  EXPECT_EQ(rig.dataplane->pool("192.0.2.10")["10.0.0.2"], "drain");
  const auto* b = &rig.controller->health()->vips[0].backends[1];
  EXPECT_EQ(b->state, BackendState::Drain);
  ASSERT_TRUE(b->override_.has_value());
  EXPECT_EQ(b->override_->user, "root");
}

TEST_F(ControllerTest, ADeadDataplaneWithdrawsEveryAddressAndItsReturnBringsThemBack) {
  Rig rig(dir_, "[warmup]\nmax_ms = 0\n" + bgp_section(dir_), R"({"vips":[]})",
          {{"192.0.2.10", false}, {"192.0.2.20", false}});
  rig.checker.set_all(State::Up);
  ASSERT_TRUE(rig.run_until(
      [&] { return rig.bird_announces("192.0.2.10") && rig.bird_announces("192.0.2.20"); }));
  rig.dataplane->kill();
  ASSERT_TRUE(rig.run_until(
      [&] { return !rig.bird_announces("192.0.2.10") && !rig.bird_announces("192.0.2.20"); }, 1s));
  EXPECT_EQ(rig.controller->health()->dataplane, DataplaneHealth::Down);
  EXPECT_TRUE(rig.event_with("dataplane down"));
  for (const bgp::RouteDecision& d : rig.bgp_link->decisions()) {
    EXPECT_EQ(d.state, bgp::RouteState::Withdrawn) << d.unit;
    EXPECT_FALSE(d.held_by_valve) << "dataplane death bypasses the valve";
  }
  rig.dataplane->revive();
  ASSERT_TRUE(rig.run_until(
      [&] { return rig.bird_announces("192.0.2.10") && rig.bird_announces("192.0.2.20"); }));
  EXPECT_EQ(rig.controller->health()->dataplane, DataplaneHealth::Alive);
}

TEST_F(ControllerTest, StatusAndMetricsComeFromEveryModule) {
  Rig rig(dir_, "[warmup]\nmax_ms = 0\n" + bgp_section(dir_), R"({"vips":[]})",
          {{"192.0.2.10", false}});
  rig.checker.set_all(State::Up);
  ASSERT_TRUE(rig.run_until([&] { return rig.bird_announces("192.0.2.10"); }));
  const std::string status = rig.request("show status");
  ReplyReader reader;
  ASSERT_TRUE(reader.feed(status));
  auto reply = reader.next();
  ASSERT_TRUE(reply && reply->ok()) << status;
  auto doc = nlohmann::json::parse(reply->text_of(reply::kJson));
  EXPECT_EQ(doc["warm"], true);
  EXPECT_EQ(doc["vips"]["configured"], 2);
  EXPECT_EQ(doc["vips"]["healthy"], 2);
  EXPECT_EQ(doc["dataplane"]["health"], "alive");
  EXPECT_EQ(doc["bgp"]["addresses"], 2);
  EXPECT_EQ(doc["bgp"]["bird_connected"], true);
  const std::string m = metrics_text(*rig.controller);
  for (const char* line :
       {"steer_up 1", "steer_vip_healthy{vip=\"web\"} 1",
        "steer_backend_up{vip=\"web\",backend=\"10.0.0.1\"} 1",
        "steer_dataplane_health{state=\"alive\"} 1",
        "steer_bgp_route_state{prefix=\"192.0.2.10/32\",state=\"announced\"} 1"}) {
    EXPECT_NE(m.find(line), std::string::npos) << line << "\n" << m;
  }
}

// docs/cli-protocol.md's list of steerd's commands is the table's: every row names
// registered commands (alternatives written a\|b expand), and every command has a row.
TEST(CommandTable, TheProtocolDocumentListsExactlyTheRegisteredCommands) {
  const char* root = std::getenv("STEER_SOURCE_ROOT");
  ASSERT_NE(root, nullptr) << "meson sets STEER_SOURCE_ROOT";
  const std::string text = read_file(std::string(root) + "/docs/cli-protocol.md").value_or("");
  const size_t start = text.find("## steerd commands");
  ASSERT_NE(start, std::string::npos);
  const size_t end = text.find("\n## ", start + 1);
  std::set<std::string> documented;
  std::regex row(R"(^\| `([^`]+)` \|)");
  std::istringstream lines(text.substr(start, end - start));
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (!std::regex_search(line, m, row)) continue;
    // "backend drain\|undrain ADDRESS [VIP]": the words before the first argument.
    std::vector<std::vector<std::string>> words;
    std::istringstream ws(std::regex_replace(m[1].str(), std::regex(R"(\\\|)"), "|"));
    for (std::string w; ws >> w;) {
      if (w.empty() || std::isupper(static_cast<unsigned char>(w[0])) || w[0] == '[') break;
      std::vector<std::string> alts;
      std::istringstream as(w);
      for (std::string a; std::getline(as, a, '|');) alts.push_back(a);
      words.push_back(alts);
    }
    std::vector<std::string> paths = {""};
    for (const auto& alts : words) {
      std::vector<std::string> next;
      for (const std::string& p : paths) {
        for (const std::string& a : alts) next.push_back(p.empty() ? a : p + " " + a);
      }
      paths = next;
    }
    documented.insert(paths.begin(), paths.end());
  }
  // The table as steerd builds it (no collaborator is started).
  asio::io_context io;
  Events events{[](std::string_view) {}};
  ScriptedChecker checker;
  DataplaneClient client(io, DataplaneLinkOptions{.socket = "/nonexistent"},
                         [](std::string_view) {});
  CommandTable table;
  Controller controller(
      Controller::Deps{io, checker, client, events, [] { return parse_config("", "x"); }}, Config{},
      *Overrides::load(""));
  BgpLink bgp_link(io, table, events);
  DnsLink dns_link(io, table, events, bgp_link);
  register_controller_commands(table, controller, "x");
  std::set<std::string> registered;
  for (const Command& c : table.commands()) registered.insert(c.path);
  EXPECT_EQ(documented, registered);
}

// [dns] with this PoP ("here", serving the VIP web) and a remote one ("far", probed at
// 127.0.0.9 with check t): web.lb.example.test answers one address, the best PoP's.
std::string dns_section(uint16_t port) {
  return fmt::format(R"(
[pop]
name = "here"

[dns]
listen = ["127.0.0.1:{}"]
threads = 1
answers = 1

[[dns.pop]]
name = "here"
region = "a"
latitude = 0.0
longitude = 0.0

[[dns.pop]]
name = "far"
region = "b"
latitude = 40.0
longitude = 40.0

[[dns.zone]]
name = "lb.example.test."
ns = ["ns1"]
soa = {{ rname = "hostmaster" }}
records = [{{ name = "ns1", type = "A", data = "127.0.0.1" }}]

[[dns.service]]
name = "web"
check = "t"
  [[dns.service.pop]]
  pop = "here"
  vips = ["web"]
  [[dns.service.pop]]
  pop = "far"
  addresses = ["198.51.100.7"]
  probe = ["127.0.0.9"]
  port = 80
)",
                     port);
}

uint16_t free_udp_tcp_port() {
  for (int i = 0; i < 20; ++i) {
    const int u = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ::bind(u, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::getsockname(u, reinterpret_cast<sockaddr*>(&a), &len);
    const int t = ::socket(AF_INET, SOCK_STREAM, 0);
    const bool ok = ::bind(t, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(t);
    ::close(u);
    if (ok) return ntohs(a.sin_port);
  }
  return 0;
}

// The addresses `dns query` hands a client for web's A record.
std::vector<std::string> dns_answer(Rig& rig) {
  const std::string text = rig.request("dns query web.lb.example.test A 203.0.113.1");
  ReplyReader reader;
  if (!reader.feed(text)) return {"(unreadable reply)"};
  auto reply = reader.next();
  if (!reply || !reply->ok()) return {"(error) " + text};
  std::vector<std::string> out;
  const auto doc = nlohmann::json::parse(reply->text_of(reply::kJson));
  for (const auto& r : doc["answer"]) {
    out.push_back(r["data"].get<std::string>());
  }
  return out;
}

// DNS follows the BGP decision for the local VIP, not its own reading of health: an
// operator's withdrawal (health still up) takes it out of answers, a health withdrawal too,
// and a drained address is handed out only while nothing better is up.
TEST_F(ControllerTest, DnsHandsOutTheLocalVipOnlyWhileBgpAnnouncesIt) {
  const uint16_t port = free_udp_tcp_port();
  ASSERT_NE(port, 0);
  Rig rig(dir_, "[warmup]\nmax_ms = 0\n" + bgp_section(dir_) + dns_section(port), R"({"vips":[]})",
          {{"192.0.2.10", false}, {"192.0.2.20", false}});
  rig.checker.set_all(State::Up);
  using Addresses = std::vector<std::string>;
  const Addresses here{"192.0.2.10"}, far{"198.51.100.7"};
  ASSERT_TRUE(rig.run_until([&] { return rig.bird_announces("192.0.2.10"); }));
  ASSERT_TRUE(rig.run_until([&] { return dns_answer(rig) == here; }))
      << rig.request("dns query web.lb.example.test A 203.0.113.1");

  // Withdrawn by the operator while every check is up.
  ASSERT_EQ(Rig::code(rig.request("bgp withdraw web")), reply::kOk);
  ASSERT_TRUE(rig.run_until([&] { return !rig.bird_announces("192.0.2.10"); }));
  EXPECT_EQ(dns_answer(rig), far);
  ASSERT_EQ(Rig::code(rig.request("bgp auto web")), reply::kOk);
  ASSERT_TRUE(rig.run_until([&] { return dns_answer(rig) == here; }));
  EXPECT_TRUE(rig.bird_announces("192.0.2.10"));

  // Withdrawn because web's backends are down.
  rig.checker.set("10.0.0.1:80/t", State::Down);
  rig.checker.set("10.0.0.2:80/t", State::Down);
  ASSERT_TRUE(rig.run_until([&] { return !rig.bird_announces("192.0.2.10"); }));
  EXPECT_EQ(dns_answer(rig), far);
  rig.checker.set_all(State::Up);
  ASSERT_TRUE(rig.run_until([&] { return dns_answer(rig) == here; }));

  // Draining: the remote PoP first while it is up; the drained VIP when it is all there is.
  ASSERT_EQ(Rig::code(rig.request("bgp drain web")), reply::kOk);
  ASSERT_TRUE(rig.run_until([&] { return dns_answer(rig) == far; }));
  std::string far_probe;
  for (const std::string& k : rig.checker.keys()) {
    if (k.rfind("127.0.0.9:", 0) == 0) far_probe = k;
  }
  ASSERT_FALSE(far_probe.empty()) << "the remote PoP's probe is a health target";
  rig.checker.set(far_probe, State::Down);
  ASSERT_TRUE(rig.run_until([&] { return dns_answer(rig) == here; }));
}

// The reply codes docs/cli-protocol.md lists are the ones common/framing.h defines.
TEST(CommandTable, TheProtocolDocumentListsEveryReplyCode) {
  const char* root = std::getenv("STEER_SOURCE_ROOT");
  ASSERT_NE(root, nullptr) << "meson sets STEER_SOURCE_ROOT";
  const std::string text = read_file(std::string(root) + "/docs/cli-protocol.md").value_or("");
  const size_t start = text.find("## Reply codes");
  ASSERT_NE(start, std::string::npos);
  const size_t end = text.find("\n## ", start + 1);
  std::set<int> documented;
  std::regex row(R"(^\| `(\d{4})` \|)");
  std::istringstream lines(text.substr(start, end - start));
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_search(line, m, row)) documented.insert(std::stoi(m[1].str()));
  }
  const std::set<int> defined(std::begin(reply::kAll), std::end(reply::kAll));
  EXPECT_EQ(documented, defined);
}

}  // namespace
}  // namespace steer::control
