// BirdClient against real BIRD 2 daemons. main() unshares a private network namespace (root
// needed; exit 77, "skipped", without root or without /usr/sbin/bird), so the BGP session
// between the two daemons uses 127.0.0.1/127.0.0.2 without touching anything else.
// Each test starts its own pair, in /tmp/sbg-XXXXXX:
//   A ("steer's BIRD")  two static protocols for 192.0.2.10/32 (normal, and drain: disabled,
//                       AS-path prepended), exported over BGP to B;
//   B (the peer)        imports the route; the test asks B's socket what it sees.
// Both are started with fork/exec (bird -f -c CONF -s SOCK -P PID) and killed by PID in the
// fixture's TearDown, even when a test fails; PR_SET_PDEATHSIG covers a crashed test.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <system_error>
#include <thread>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bgp/bird_client.h"
#include "testing/support/run_io.h"

namespace steer::bgp {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kBird = "/usr/sbin/bird";
constexpr const char* kVip = "192.0.2.10/32";
constexpr const char* kNormal = "steer_v4_192_0_2_10";
constexpr const char* kDrain = "steer_v4_192_0_2_10_drain";

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

// Connects a plain POSIX socket to a BIRD control socket; -1 on failure.
int connect_unix(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.c_str(), std::min(path.size() + 1, sizeof a.sun_path - 1));
  if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return fd;
  if (fd >= 0) ::close(fd);
  return -1;
}

// Reads from fd until `text` appears, EOF/error (returns what came) or 3 s pass.
std::string read_until(int fd, std::string_view text, bool* eof) {
  std::string got;
  *eof = false;
  timeval tv{0, 200000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const auto end = Clock::now() + 3s;
  while (Clock::now() < end && got.find(text) == std::string::npos) {
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
      *eof = true;
      break;
    }
    if (n > 0) got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

// One BIRD daemon run from the test: config, control socket, pid file and logs in `dir`.
class BirdProcess {
 public:
  BirdProcess(std::string dir, std::string name, std::string config)
      : dir_(std::move(dir)), name_(std::move(name)) {
    write_file(conf(), config);
  }
  ~BirdProcess() { stop(SIGTERM); }
  BirdProcess(const BirdProcess&) = delete;
  BirdProcess& operator=(const BirdProcess&) = delete;

  std::string conf() const { return dir_ + "/" + name_ + ".conf"; }
  std::string socket() const { return dir_ + "/" + name_ + ".ctl"; }
  std::string output() const { return read_file(dir_ + "/" + name_ + ".out"); }
  std::string log() const { return read_file(dir_ + "/" + name_ + ".log"); }
  pid_t pid() const { return pid_; }

  // Starts bird in the foreground and waits until its socket greets (bounded).
  bool start(std::string* why) {
    const std::string out = dir_ + "/" + name_ + ".out";
    const std::string pidfile = dir_ + "/" + name_ + ".pid";
    const std::string cf = conf();
    const std::string sock = socket();
    pid_ = ::fork();
    if (pid_ < 0) {
      *why = std::string("fork: ") + std::strerror(errno);  // NOLINT(concurrency-mt-unsafe)
      return false;
    }
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      ::execl(kBird, "bird", "-f", "-c", cf.c_str(), "-s", sock.c_str(), "-P", pidfile.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    const auto end = Clock::now() + 10s;
    while (Clock::now() < end) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        *why = "bird exited at start: " + output();
        return false;
      }
      const int fd = connect_unix(sock);
      if (fd >= 0) {
        bool eof = false;
        const std::string greeting = read_until(fd, "\n", &eof);
        ::close(fd);
        if (greeting.rfind("0001 BIRD", 0) == 0) return true;
      }
      std::this_thread::sleep_for(20ms);
    }
    *why = "bird did not open its socket within 10 s: " + output();
    return false;
  }

  // Signals the daemon and reaps it (SIGKILL after 3 s).
  void stop(int sig) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    const auto end = Clock::now() + 3s;
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (Clock::now() > end) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(10ms);
    }
    pid_ = -1;
  }

 private:
  std::string dir_, name_;
  pid_t pid_ = -1;
};

std::string timers() {
  return "  multihop; strict bind yes;\n"
         "  connect delay time 1; connect retry time 1; error wait time 1, 2; hold time 6;\n";
}

std::string config_a(const std::string& dir) {
  return "log \"" + dir + "/a.log\" all;\n" + "router id 10.0.0.1;\n" + "include \"" + dir +
         "/a-extra.conf\";\n" +
         "protocol device {}\n"
         "protocol static " +
         kNormal +
         " {\n"
         "  ipv4;\n"
         "  route 192.0.2.10/32 blackhole { bgp_community.add((65001,100)); };\n"
         "}\n"
         "protocol static " +
         kDrain +
         " {\n"
         "  disabled yes;\n"
         "  ipv4;\n"
         "  route 192.0.2.10/32 blackhole { bgp_path.prepend(65001); bgp_path.prepend(65001);"
         " bgp_community.add((65001,666)); };\n"
         "}\n"
         "protocol bgp peer {\n"
         "  local 127.0.0.1 port 1179 as 65001;\n"
         "  neighbor 127.0.0.2 port 1179 as 65002;\n" +
         timers() +
         "  ipv4 { import none; export where proto ~ \"steer_*\"; };\n"
         "}\n";
}

std::string config_b(const std::string& dir) {
  return "log \"" + dir + "/b.log\" all;\n" +
         "router id 10.0.0.2;\n"
         "protocol device {}\n"
         "protocol bgp steer {\n"
         "  local 127.0.0.2 port 1179 as 65002;\n"
         "  neighbor 127.0.0.1 port 1179 as 65001;\n" +
         timers() +
         "  ipv4 { import all; export none; };\n"
         "}\n";
}

class BirdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sbg-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    write_file(dir_ + "/a-extra.conf", "");
    a_ = std::make_unique<BirdProcess>(dir_, "a", config_a(dir_));
    b_ = std::make_unique<BirdProcess>(dir_, "b", config_b(dir_));
    std::string why;
    ASSERT_TRUE(a_->start(&why)) << why;
    ASSERT_TRUE(b_->start(&why)) << why;
    client_ = make_client(a_->socket());
    client_->on_connect = [this] { events_.push_back("connect"); };
    client_->on_disconnect = [this](const std::string& w) {
      events_.push_back("disconnect: " + w);
    };
    peer_ = make_client(b_->socket());
    client_->start();
    peer_->start();
    ASSERT_TRUE(run_until([&] { return client_->connected() && peer_->connected(); }))
        << client_->last_error() << " / " << peer_->last_error();
    // The BGP session comes up and the normal static's route reaches the peer.
    ASSERT_TRUE(wait_peer_route(true, 20s)) << a_->log() << b_->log();
  }

  void TearDown() override {
    if (HasFailure()) {
      std::fprintf(stderr, "--- a.log\n%s--- b.log\n%s--- client log\n",
                   a_ ? a_->log().c_str() : "", b_ ? b_->log().c_str() : "");
      for (const std::string& l : log_) std::fprintf(stderr, "%s\n", l.c_str());
    }
    if (client_) client_->stop();
    if (peer_) peer_->stop();
    client_.reset();
    peer_.reset();
    a_.reset();  // kills by PID
    b_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::unique_ptr<BirdClient> make_client(const std::string& socket) {
    BirdClientOptions o;
    o.socket = socket;
    o.request_timeout = 3000ms;
    o.backoff_min = 20ms;
    o.backoff_max = 200ms;
    return std::make_unique<BirdClient>(io_, o, [this, socket](std::string_view l) {
      log_.push_back(socket + ": " + std::string(l));
    });
  }

  bool run_until(const std::function<bool()>& pred, Clock::duration limit = 10s) {
    return steer::test::run_io_until(io_, pred, limit, 5ms);
  }

  // Starts an asynchronous call and runs the io_context until its callback fires.
  template <class T>
  std::optional<T> await(const std::function<void(std::function<void(T)>)>& call,
                         Clock::duration limit = 10s) {
    std::optional<T> out;
    call([&out](T r) { out = std::move(r); });
    run_until([&] { return out.has_value(); }, limit);
    return out;
  }

  BirdResult<Reply> ask(BirdClient& c, const std::string& command) {
    auto r = await<BirdResult<Reply>>([&](auto done) { c.request(command, done); });
    if (!r) return tl::unexpected(BirdError{BirdErrorKind::Timeout, 0, "test: no callback"});
    return *r;
  }
  BirdResult<Toggle> toggle(const std::string& name, bool enable) {
    auto r =
        await<BirdResult<Toggle>>([&](auto done) { client_->set_enabled(name, enable, done); });
    if (!r) return tl::unexpected(BirdError{BirdErrorKind::Timeout, 0, "test: no callback"});
    return *r;
  }
  BirdResult<std::vector<BirdProtocol>> protocols() {
    auto r = await<BirdResult<std::vector<BirdProtocol>>>(
        [&](auto done) { client_->show_protocols(done); });
    if (!r) return tl::unexpected(BirdError{BirdErrorKind::Timeout, 0, "test: no callback"});
    return *r;
  }
  std::optional<BirdProtocol> protocol(const std::string& name) {
    auto rows = protocols();
    if (!rows) return std::nullopt;
    for (const BirdProtocol& p : *rows) {
      if (p.name == name) return p;
    }
    return std::nullopt;
  }

  // What the peer has for the VIP: the `show route ... all` text, or nullopt when it has no
  // route (8001 Network not found).
  std::optional<std::string> peer_route() {
    auto r = ask(*peer_, std::string("show route for ") + kVip + " all");
    if (!r) return std::nullopt;
    auto checked = check_reply(*r);
    if (!checked) return std::nullopt;
    std::string text;
    for (const ReplyLine& l : r->lines) text += l.text + "\n";
    if (text.find(kVip) == std::string::npos) return std::nullopt;
    return text;
  }
  // Polls the peer until it has (or lacks) the route, or `limit` passes.
  bool wait_peer_route(bool present, Clock::duration limit = 10s,
                       std::string_view must_contain = {}) {
    const auto end = Clock::now() + limit;
    while (Clock::now() < end) {
      auto route = peer_route();
      if (route.has_value() == present &&
          (!present || route->find(must_contain) != std::string::npos)) {
        return true;
      }
      run_until([] { return false; }, 50ms);
    }
    return false;
  }

  std::string dir_;
  asio::io_context io_;
  std::unique_ptr<BirdProcess> a_, b_;
  std::unique_ptr<BirdClient> client_, peer_;
  std::vector<std::string> events_;
  std::vector<std::string> log_;
};

TEST_F(BirdTest, ShowProtocolsSeesTheStaticsAndTheSession) {
  auto rows = protocols();
  ASSERT_TRUE(rows) << fmt::format("{}", rows.error());
  std::map<std::string, BirdProtocol> by_name;
  for (const BirdProtocol& p : *rows) by_name[p.name] = p;
  ASSERT_TRUE(by_name.count(kNormal));
  EXPECT_EQ(by_name[kNormal].proto, "Static");
  EXPECT_EQ(by_name[kNormal].table, "master4");
  EXPECT_TRUE(by_name[kNormal].up());
  ASSERT_TRUE(by_name.count(kDrain));
  EXPECT_EQ(by_name[kDrain].state, "down");  // disabled yes
  ASSERT_TRUE(by_name.count("peer"));
  EXPECT_EQ(by_name["peer"].proto, "BGP");
  EXPECT_TRUE(by_name["peer"].up());
  EXPECT_EQ(by_name["peer"].info, "Established");

  auto status = await<BirdResult<BirdStatus>>([&](auto done) { client_->show_status(done); });
  ASSERT_TRUE(status && *status);
  EXPECT_EQ((*status)->router_id, "10.0.0.1");
  EXPECT_EQ((*status)->message, "Daemon is up and running");
  EXPECT_EQ(client_->greeting(), "BIRD " + (*status)->version + " ready.");
  EXPECT_EQ((*status)->version.substr(0, 2), "2.");
  EXPECT_EQ(client_->connects(), 1u);
}

TEST_F(BirdTest, DisableWithdrawsAtThePeerEnableRestoresIt) {
  auto route = peer_route();
  ASSERT_TRUE(route);
  EXPECT_NE(route->find("(65001,100)"), std::string::npos) << *route;

  EXPECT_EQ(toggle(kNormal, false), Toggle::Changed);
  EXPECT_TRUE(wait_peer_route(false)) << "the peer still has the route after disable";
  EXPECT_EQ(toggle(kNormal, false), Toggle::Already);
  auto p = protocol(kNormal);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->state, "down");

  EXPECT_EQ(toggle(kNormal, true), Toggle::Changed);
  EXPECT_TRUE(wait_peer_route(true)) << "the route did not come back after enable";
  EXPECT_EQ(toggle(kNormal, true), Toggle::Already);
}

TEST_F(BirdTest, DrainProtocolAnnouncesWithPrependAndCommunity) {
  // Draining as steer does it: drain enabled, normal disabled.
  EXPECT_EQ(toggle(kDrain, true), Toggle::Changed);
  EXPECT_EQ(toggle(kNormal, false), Toggle::Changed);
  EXPECT_TRUE(wait_peer_route(true, 10s, "BGP.as_path: 65001 65001 65001"));
  auto route = peer_route();
  ASSERT_TRUE(route);
  EXPECT_NE(route->find("(65001,666)"), std::string::npos) << *route;
  // Withdrawn: both disabled.
  EXPECT_EQ(toggle(kDrain, false), Toggle::Changed);
  EXPECT_TRUE(wait_peer_route(false));
}

TEST_F(BirdTest, UnknownProtocolAndBadSyntax) {
  // Quoted (as set_enabled sends it) an unknown name is a pattern matching nothing: 8003.
  auto quoted = toggle("nosuch", false);
  ASSERT_FALSE(quoted);
  EXPECT_EQ(quoted.error().kind, BirdErrorKind::Runtime);
  EXPECT_EQ(quoted.error().code, 8003);
  EXPECT_EQ(quoted.error().message, "No protocols match");
  // Unquoted it is a syntax error, 9001.
  for (const char* command : {"disable nosuch", "sh pro"}) {
    auto raw = ask(*client_, command);
    ASSERT_TRUE(raw) << command;
    auto checked = check_reply(*raw);
    ASSERT_FALSE(checked) << command;
    EXPECT_EQ(checked.error().kind, BirdErrorKind::Syntax) << command;
    EXPECT_EQ(checked.error().code, 9001) << command;
  }
  // A protocol named like a keyword works quoted.
  EXPECT_EQ(toggle("peer", true), Toggle::Already);
  EXPECT_TRUE(client_->connected());
}

TEST_F(BirdTest, ConfigureReenablesAProtocolDisabledFromTheSocket) {
  EXPECT_EQ(toggle(kNormal, false), Toggle::Changed);
  ASSERT_TRUE(wait_peer_route(false));
  auto check = ask(*client_, "configure check");
  ASSERT_TRUE(check);
  EXPECT_EQ(parse_configure(*check), ConfigureOutcome::CheckOk);

  auto conf = await<BirdResult<ConfigureOutcome>>([&](auto done) { client_->configure(done); });
  ASSERT_TRUE(conf && *conf) << (conf ? fmt::format("{}", conf->error()) : "no callback");
  EXPECT_TRUE(**conf == ConfigureOutcome::Reconfigured || **conf == ConfigureOutcome::InProgress);
  // The config says nothing about `disabled`: configure turned the protocol back on.
  auto p = protocol(kNormal);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->up()) << p->state;
  EXPECT_TRUE(wait_peer_route(true));

  // A broken configuration: 8002 with file:line, and BIRD keeps running the old one.
  write_file(dir_ + "/a-extra.conf", "protocol static broken {\n  ipv4;\n  route x;\n}\n");
  auto broken = await<BirdResult<ConfigureOutcome>>([&](auto done) { client_->configure(done); });
  ASSERT_TRUE(broken);
  ASSERT_FALSE(*broken);
  EXPECT_EQ(broken->error().kind, BirdErrorKind::Runtime);
  EXPECT_EQ(broken->error().code, 8002);
  EXPECT_EQ(broken->error().message.rfind(dir_ + "/a-extra.conf:3:", 0), 0u)
      << broken->error().message;
  EXPECT_TRUE(protocol(kNormal).value_or(BirdProtocol{}).up());
  write_file(dir_ + "/a-extra.conf", "");
  auto fixed = await<BirdResult<ConfigureOutcome>>([&](auto done) { client_->configure(done); });
  ASSERT_TRUE(fixed && *fixed);
}

TEST_F(BirdTest, CommandLengthLimitMatchesBird) {
  // The longest command BirdClient lets through works...
  std::string longest = "show status";
  longest.resize(kMaxCommandBytes, ' ');
  auto ok = ask(*client_, longest);
  ASSERT_TRUE(ok);
  EXPECT_TRUE(parse_show_status(*ok));
  // ...one byte more is refused before sending...
  auto rejected = ask(*client_, longest + " ");
  ASSERT_FALSE(rejected);
  EXPECT_EQ(rejected.error().kind, BirdErrorKind::Rejected);
  EXPECT_TRUE(client_->connected());
  // ...because BIRD drops the connection on it (checked on a separate raw connection).
  const int fd = connect_unix(a_->socket());
  ASSERT_GE(fd, 0);
  bool eof = false;
  ASSERT_EQ(read_until(fd, "\n", &eof).rfind("0001 ", 0), 0u);
  const std::string too_long = longest + " \n";
  (void)!::send(fd, too_long.data(), too_long.size(), MSG_NOSIGNAL);
  const std::string answer = read_until(fd, "0013 ", &eof);
  ::close(fd);
  EXPECT_TRUE(eof) << "BIRD answered a " << too_long.size() - 1 << "-byte command: " << answer;
  EXPECT_TRUE(client_->connected());
}

TEST_F(BirdTest, RestartedBirdIsReconnected) {
  EXPECT_EQ(events_, (std::vector<std::string>{"connect"}));
  a_->stop(SIGKILL);
  ASSERT_TRUE(run_until([&] { return events_.size() == 2; }));
  EXPECT_EQ(events_[1], "disconnect: BIRD closed the connection");
  EXPECT_FALSE(client_->connected());
  auto down = ask(*client_, "show status");
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().kind, BirdErrorKind::NotConnected);
  run_until([] { return false; }, 300ms);  // a few refused attempts
  EXPECT_EQ(events_.size(), 2u);           // failed attempts are not disconnects

  std::string why;
  ASSERT_TRUE(a_->start(&why)) << why;
  ASSERT_TRUE(run_until([&] { return client_->connected(); }));
  EXPECT_EQ(events_, (std::vector<std::string>{"connect", "disconnect: BIRD closed the connection",
                                               "connect"}));
  EXPECT_EQ(client_->connects(), 2u);
  auto status = await<BirdResult<BirdStatus>>([&](auto done) { client_->show_status(done); });
  ASSERT_TRUE(status && *status);
  // The restarted BIRD announces from its configuration again.
  EXPECT_TRUE(wait_peer_route(true, 20s));
}

}  // namespace
}  // namespace steer::bgp

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  if (::access(steer::bgp::kBird, X_OK) != 0) {
    std::fprintf(stderr, "bird_test: %s not found (apt-get install bird2)\n", steer::bgp::kBird);
    return 77;
  }
  if (::unshare(CLONE_NEWNET) != 0) {
    std::fprintf(stderr, "bird_test: cannot unshare a network namespace (needs root): %s\n",
                 std::system_category().message(errno).c_str());
    return 77;
  }
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ifreq ifr{};
  std::strcpy(ifr.ifr_name, "lo");
  if (fd < 0 || ::ioctl(fd, SIOCGIFFLAGS, &ifr) != 0 ||
      (ifr.ifr_flags |= IFF_UP, ::ioctl(fd, SIOCSIFFLAGS, &ifr)) != 0) {
    std::fprintf(stderr, "bird_test: cannot bring lo up: %s\n",
                 std::system_category().message(errno).c_str());
    return 1;
  }
  ::close(fd);
  return RUN_ALL_TESTS();
}
