// steer-dataplane as a process on net_pcap ports: frames in from a pcap file, frames out to
// another, compared byte for byte with the outputs the packet fixtures define; the frame
// corpus (tests/corpus/frames.json), counted by verdict and reason as its entries say and sent
// byte for byte as the packet core makes it; and a corpus of malformed frames, counted by
// reason, that must never bring the process down.
//
// Each case writes its files into a fresh temporary directory, starts the real binary
// ($STEER_DATAPLANE) with the lab state as its saved state file (so the state is in place
// before the first frame is read), waits until every frame was received, stops it with
// SIGTERM (which flushes the output pcap), and kills it by PID if anything goes wrong.
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dataplane/state_json.h"
#include "testing/support/fixtures.h"
#include "testing/support/frame_corpus.h"
#include "testing/support/pcap_file.h"
#include "testing/support/pipeline_harness.h"
#include "tools/steerctl/client.h"

extern char** environ;

namespace steer::dataplane {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using steer::testing::Bytes;

class DataplaneProcess {
 public:
  // Starts steer-dataplane on one net_pcap port reading `in`, writing `out`, with egress MTU
  // `mtu`; above 1500 the port's receive MTU is set to it too (jumbo frames).
  DataplaneProcess(const fs::path& dir, const fs::path& in, const fs::path& out,
                   uint16_t mtu = 1500)
      : dir_(dir) {
    const char* bin = std::getenv("STEER_DATAPLANE");
    if (bin == nullptr) {
      ADD_FAILURE() << "STEER_DATAPLANE is not set";
      return;
    }
    socket_ = (dir / "api.sock").string();
    std::ofstream(dir / "dp.toml")
        << fmt::format(R"([api]
socket = "{}"
[dataplane]
flow_table_size = 65536
state_file = "{}"
[[port]]
vdev = "net_pcap0,rx_pcap={},tx_pcap={}"
{}
[egress]
source_mac = "{}"
gateway_mac = "{}"
source_v4 = "198.18.0.0"
source_v4_hash_bits = 8
source_v6 = "2001:db8:5::"
source_v6_hash_bits = 16
mtu = {}
)",
                       socket_, (dir / "state.json").string(), in.string(), out.string(),
                       mtu > 1500 ? fmt::format("mtu = {}", mtu) : "", steer::testing::kLbMac,
                       steer::testing::kRouterMac, mtu);
    StateSpec spec = steer::testing::lab_state();
    spec.egress.mtu = mtu;
    std::ofstream(dir / "state.json") << state_to_json(spec, 0);
    const std::string prefix = fmt::format("steer-pcap-{}", getpid());
    std::vector<std::string> args = {bin,
                                     "-l",
                                     "0,1",
                                     "--no-huge",
                                     "-m",
                                     "256",
                                     "--no-pci",
                                     "--file-prefix",
                                     prefix,
                                     "--log-level",
                                     "lib.eal:warning",
                                     "--",
                                     "-c",
                                     (dir / "dp.toml").string()};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    const std::string log = (dir / "dp.log").string();
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    if (posix_spawn(&pid_, bin, &fa, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
    EXPECT_GT(pid_, 0) << "cannot start " << bin;
  }

  ~DataplaneProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  // One request; the JSON document of a successful reply.
  Result<json> request(const std::string& line) {
    auto c = tools::SocketClient::connect(socket_, std::chrono::seconds(5));
    if (!c) return tl::unexpected(c.error());
    auto r = c->request(line);
    if (!r) return tl::unexpected(r.error());
    if (!r->ok()) return fail(r->message());
    return json::parse(r->text_of(reply::kJson));
  }

  // Waits until the port received `frames` frames (and the worker handled them).
  Result<json> wait_for_rx(uint64_t frames) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    std::string last = "no reply";
    while (std::chrono::steady_clock::now() < deadline) {
      if (!alive()) return fail("steer-dataplane exited: " + log());
      auto s = request("stats");
      if (s) {
        // Every frame received and accounted for (the counters of a burst being processed
        // may be read half-way).
        const json& t = (*s)["totals"];
        const uint64_t accounted = t["forwarded"].get<uint64_t>() + t["replied"].get<uint64_t>() +
                                   t["passed"].get<uint64_t>() + t["dropped"].get<uint64_t>();
        if (t["rx"].get<uint64_t>() >= frames && accounted >= t["rx"].get<uint64_t>()) return s;
        last = (*s)["totals"].dump();
      } else {
        last = s.error().message;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return fail("timed out waiting for the frames to be received: " + last);
  }

  bool alive() { return pid_ > 0 && waitpid(pid_, nullptr, WNOHANG) == 0; }

  // SIGTERM and wait; the exit status.
  int stop() {
    if (pid_ <= 0) return -1;
    kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 100; ++i) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return -2;  // still running: the destructor kills it
  }

  std::string log() const {
    std::ifstream f(dir_ / "dp.log");
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }

 private:
  fs::path dir_;
  std::string socket_;
  pid_t pid_ = -1;
};

// The counter identity on a stats reply: `frames` received, each in exactly one of
// forwarded, replied, passed and dropped.
void expect_identity(const json& stats, size_t frames) {
  const json& t = stats["totals"];
  EXPECT_EQ(t["rx"].get<uint64_t>(), frames);
  EXPECT_EQ(t["forwarded"].get<uint64_t>() + t["replied"].get<uint64_t>() +
                t["passed"].get<uint64_t>() + t["dropped"].get<uint64_t>(),
            frames);
}

// Every drop reason's count on a stats reply as `want(reason index)` says.
template <class Want>
void expect_drops(const json& stats, Want&& want) {
  for (size_t i = 0; i < kDropReasonCount; ++i) {
    const std::string name(kDropReasonNames[i]);
    EXPECT_EQ(stats["drops"][name].get<uint64_t>(), want(i)) << name;
  }
}

// The frames of the output pcap `file`, byte for byte and in order, as `expected`; a mismatch
// names the frame by `names`.
void expect_output(const fs::path& file, const std::vector<Bytes>& expected,
                   const std::vector<std::string>& names) {
  auto out = steer::testing::read_pcap(file);
  ASSERT_TRUE(out) << out.error().message;
  ASSERT_EQ(out->size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(steer::testing::to_hex((*out)[i]), steer::testing::to_hex(expected[i])) << names[i];
  }
}

class PcapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/steer-pcap-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (!HasFailure())
      fs::remove_all(dir_);
    else
      fmt::print(stderr, "files kept for inspection in {}\n", dir_.string());
  }
  fs::path dir_;
};

TEST_F(PcapTest, FixturesInOutByteForByte) {
  const auto& fixtures = steer::testing::packet_fixtures();
  std::vector<Bytes> in, expected;
  std::vector<std::string> expected_names;
  for (const auto& f : fixtures) {
    in.push_back(f.input);
    if (f.verdict == Verdict::Forward || f.verdict == Verdict::Reply) {
      expected.push_back(f.expected);
      expected_names.push_back(f.name);
    }
  }
  ASSERT_TRUE(steer::testing::write_pcap(dir_ / "in.pcap", in));
  ASSERT_TRUE(steer::testing::write_pcap(dir_ / "expected.pcap", expected));
  DataplaneProcess dp(dir_, dir_ / "in.pcap", dir_ / "out.pcap");
  auto stats = dp.wait_for_rx(in.size());
  ASSERT_TRUE(stats) << stats.error().message << "\n" << dp.log();
  // Every frame in exactly one counter, each drop under its fixture's reason.
  expect_identity(*stats, in.size());
  std::vector<uint64_t> want_drops(kDropReasonCount);
  for (const auto& f : fixtures) {
    if (f.verdict == Verdict::Drop) ++want_drops[static_cast<size_t>(f.reason)];
  }
  expect_drops(*stats, [&](size_t i) { return want_drops[i]; });
  ASSERT_EQ(dp.stop(), 0) << dp.log();
  expect_output(dir_ / "out.pcap", expected, expected_names);
}

// net_pcap reads a frame larger than one mbuf's data room into a chain of mbufs: these reach
// the worker's multi-segment path, are processed whole and leave encapsulated, byte for byte
// as the packet core makes them from one contiguous buffer.
TEST_F(PcapTest, JumboFramesInSeveralMbufsAreForwardedWhole) {
  using steer::testing::PacketBuilder;
  std::vector<Bytes> in = {
      PacketBuilder()
          .eth()
          .ipv4("198.51.100.7", "192.0.2.10")
          .tcp(40000, 80, {.flags = 0x10})
          .payload(3000)
          .build(),
      PacketBuilder()
          .eth()
          .vlan(7)
          .ipv4("198.51.100.8", "192.0.2.10", {.df = false})
          .udp(5353, 9999)
          .payload(6000)
          .build(),
      PacketBuilder()
          .eth()
          .ipv6("2001:db8:c::7", "2001:db8::20")
          .udp(33333, 53)
          .payload(5000)
          .build(),
      PacketBuilder()
          .eth()
          .ipv4("198.51.100.7", "192.0.2.10")
          .tcp(40000, 80, {.flags = 0x10})
          .payload(100)
          .build(),
      PacketBuilder()
          .eth()
          .ipv4("198.51.100.7", "192.0.2.10")
          .tcp(40001, 80, {.flags = 0x10})
          .payload(8960)
          .build(),  // 9014 bytes: too big even for MTU 9000 after IPIP
      PacketBuilder().eth().ipv4("127.0.0.1", "192.0.2.10").tcp(40000, 80).payload(3000).build(),
  };
  StateSpec spec = steer::testing::lab_state();
  spec.egress.mtu = 9000;
  auto snap = steer::testing::must_build(spec, nullptr, 1);
  auto ctx = PipelineContext::create(PipelineConfig{{.capacity = 65536}});
  ASSERT_TRUE(ctx);
  std::vector<Bytes> expected;
  for (const Bytes& b : in) {
    auto r = steer::testing::run_one(*ctx, *snap, b);
    if (r.verdict == Verdict::Forward || r.verdict == Verdict::Reply) expected.push_back(r.out);
  }
  ASSERT_EQ(expected.size(), 5u);
  ASSERT_EQ(ctx->counters().drops[size_t(DropReason::BadSourceAddress)], 1u);

  ASSERT_TRUE(steer::testing::write_pcap(dir_ / "in.pcap", in));
  DataplaneProcess dp(dir_, dir_ / "in.pcap", dir_ / "out.pcap", 9000);
  auto stats = dp.wait_for_rx(in.size());
  ASSERT_TRUE(stats) << stats.error().message << "\n" << dp.log();
  const json& t = (*stats)["totals"];
  EXPECT_EQ(t["multi_segment"].get<uint64_t>(), 5u);
  EXPECT_EQ(t["forwarded"].get<uint64_t>(), 4u);
  EXPECT_EQ(t["replied"].get<uint64_t>(), 1u);
  EXPECT_EQ((*stats)["drops"]["bad_source_address"].get<uint64_t>(), 1u);
  expect_identity(*stats, in.size());
  ASSERT_EQ(dp.stop(), 0) << dp.log();
  std::vector<std::string> names;
  for (size_t i = 0; i < expected.size(); ++i) names.push_back(fmt::format("jumbo frame {}", i));
  expect_output(dir_ / "out.pcap", expected, names);
}

// The frame corpus through the real process, in one pcap: every frame is received and lands
// in the counter its entry names (per drop reason, and the forwarded, replied and passed
// totals); what goes out is, frame by frame and in order, what the packet core in this
// process makes of the forward and reply entries. Frames larger than an mbuf arrive as chains
// and take the worker's multi-segment path.
TEST_F(PcapTest, FrameCorpusCountedByVerdictAndReasonAndSentByteForByte) {
  const char* root = std::getenv("STEER_SOURCE_ROOT");
  ASSERT_NE(root, nullptr);
  auto corpus = steer::testing::load_frame_corpus(steer::testing::frame_corpus_path(root));
  ASSERT_TRUE(corpus) << corpus.error().message;
  std::vector<Bytes> in;
  std::map<std::string, uint64_t> want_drops;
  uint64_t want_forwarded = 0, want_replied = 0, want_passed = 0;
  for (const auto& f : *corpus) {
    in.push_back(f.bytes);
    switch (f.verdict) {
      case Verdict::Forward:
        ++want_forwarded;
        break;
      case Verdict::Reply:
        ++want_replied;
        break;
      case Verdict::Pass:
        ++want_passed;
        break;
      case Verdict::Drop:
        ++want_drops[std::string(drop_reason_name(f.reason))];
        break;
    }
  }
  // The expected output: the packet core over the same frames, in order.
  auto snap = steer::testing::must_build(steer::testing::lab_state(), nullptr, 1);
  auto ctx = PipelineContext::create(PipelineConfig{{.capacity = 65536}});
  ASSERT_TRUE(ctx);
  std::vector<Bytes> expected;
  std::vector<std::string> expected_names;
  for (const auto& f : *corpus) {
    auto r = steer::testing::run_one(*ctx, *snap, f.bytes);
    ASSERT_EQ(int(r.verdict), int(f.verdict)) << f.name << " (see the packet unit test)";
    if (r.verdict == Verdict::Forward || r.verdict == Verdict::Reply) {
      expected.push_back(r.out);
      expected_names.push_back(f.name);
    }
  }

  ASSERT_TRUE(steer::testing::write_pcap(dir_ / "in.pcap", in));
  DataplaneProcess dp(dir_, dir_ / "in.pcap", dir_ / "out.pcap");
  auto stats = dp.wait_for_rx(in.size());
  ASSERT_TRUE(stats) << stats.error().message << "\n" << dp.log();
  const json& t = (*stats)["totals"];
  expect_identity(*stats, in.size());
  EXPECT_EQ(t["forwarded"].get<uint64_t>(), want_forwarded);
  EXPECT_EQ(t["replied"].get<uint64_t>(), want_replied);
  EXPECT_EQ(t["passed"].get<uint64_t>(), want_passed);
  EXPECT_GT(t["multi_segment"].get<uint64_t>(), 0u) << "no frame took the multi-segment path";
  expect_drops(*stats, [&](size_t i) { return want_drops[std::string(kDropReasonNames[i])]; });
  auto status = dp.request("status");
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_TRUE((*status)["alive"].get<bool>());
  ASSERT_EQ(dp.stop(), 0) << dp.log();
  expect_output(dir_ / "out.pcap", expected, expected_names);
}

TEST_F(PcapTest, MalformedCorpusIsCountedByReasonAndNeverCrashes) {
  std::vector<Bytes> frames;
  const char* root = std::getenv("STEER_SOURCE_ROOT");
  ASSERT_NE(root, nullptr);
  for (const auto& e : fs::directory_iterator(fs::path(root) / "tests/fuzz/corpus/parse_fuzz")) {
    std::ifstream f(e.path(), std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    const std::string raw = ss.str();
    Bytes b(raw.begin(), raw.end());
    if (!b.empty()) frames.push_back(std::move(b));
  }
  // Every fixture cut at every length: every truncation point of every header.
  for (const auto& f : steer::testing::packet_fixtures()) {
    for (size_t len = 1; len < f.input.size(); ++len) {
      frames.emplace_back(f.input.begin(), f.input.begin() + static_cast<long>(len));
    }
  }
  // The same frames through the packet core in this process give the expected counts.
  auto snap = steer::testing::must_build(steer::testing::lab_state(), nullptr, 1);
  auto ctx = PipelineContext::create(PipelineConfig{{.capacity = 65536}});
  ASSERT_TRUE(ctx);
  for (const Bytes& b : frames) steer::testing::run_one(*ctx, *snap, b);
  const PipelineCounters& want = ctx->counters();
  ASSERT_GT(want.dropped(), frames.size() / 2) << "the corpus should be mostly malformed";

  ASSERT_TRUE(steer::testing::write_pcap(dir_ / "in.pcap", frames));
  DataplaneProcess dp(dir_, dir_ / "in.pcap", dir_ / "out.pcap");
  auto stats = dp.wait_for_rx(frames.size());
  ASSERT_TRUE(stats) << stats.error().message << "\n" << dp.log();
  expect_identity(*stats, frames.size());
  EXPECT_EQ((*stats)["totals"]["dropped"].get<uint64_t>(), want.dropped());
  expect_drops(*stats, [&](size_t i) { return want.drops[i]; });
  auto status = dp.request("status");
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_TRUE((*status)["alive"].get<bool>());
  EXPECT_EQ(dp.stop(), 0) << dp.log();
}

}  // namespace
}  // namespace steer::dataplane
