// The dataplane runtime under load, in one process with real DPDK: a worker lcore polls a
// net_ring port (rte_eth_from_rings) while this test feeds crafted frames into its RX ring,
// reads every frame back from its TX ring, and — on another thread — applies new states
// through the API server in a tight loop. Under ASan this proves the RCU publication: a
// snapshot freed while a worker still read it would be reported; and it checks what an
// operator cares about: no frame is lost, and no established flow changes backend unless its
// backend was removed.
#include "dataplane/runtime.h"

#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "common/framing.h"
#include "dataplane/api_server.h"
#include "dataplane/ports.h"
#include "testing/support/packet_builder.h"

namespace steer::dataplane {
namespace {

using steer::testing::Bytes;
using steer::testing::PacketBuilder;

constexpr uint32_t kFlows = 2048;
const char* kBackends[] = {"10.0.2.11", "10.0.2.12", "10.0.2.13", "10.0.2.14"};

// A state with the given backends and weights (weight 0 = drain; absent = removed).
std::string state(const std::vector<std::pair<int, int>>& backends) {
  std::string b;
  for (auto [i, w] : backends) {
    if (!b.empty()) b += ",";
    b += fmt::format(R"({{"address":"{}","weight":{}}})", kBackends[i], w);
  }
  return fmt::format(
      R"({{"vips":[{{"address":"192.0.2.10","proto":"tcp","port":80,"table_size":4099,"backends":[{}]}}]}})",
      b);
}

struct Output {
  uint32_t flow;     // from the inner source port
  uint32_t backend;  // index into kBackends, or UINT32_MAX when unknown
};

class RuntimeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Two queue pairs, one per worker lcore: flow f arrives on queue f % 2.
    for (int q = 0; q < kQueues; ++q) {
      rx_[q] =
          rte_ring_create(fmt::format("t_rx{}", q).c_str(), 8192, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
      tx_[q] =
          rte_ring_create(fmt::format("t_tx{}", q).c_str(), 8192, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
      ASSERT_NE(rx_[q], nullptr);
      ASSERT_NE(tx_[q], nullptr);
    }
    const int port = rte_eth_from_rings("t_port", rx_, kQueues, tx_, kQueues, 0);
    ASSERT_GE(port, 0);
    char port_name[RTE_ETH_NAME_MAX_LEN];
    ASSERT_EQ(rte_eth_dev_get_name_by_port(static_cast<uint16_t>(port), port_name), 0);
    pool_ = rte_pktmbuf_pool_create("t_pool", 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    ASSERT_NE(pool_, nullptr);

    rt_ = new Runtime;
    rt_->config.flow_table_size = 1 << 14;
    PortConfig pc;
    pc.name = port_name;
    rt_->config.ports.push_back(pc);
    rt_->tsc_hz = rte_get_tsc_hz();
    rt_->start_tsc = rte_rdtsc();
    ASSERT_TRUE(create_workers(*rt_));
    ASSERT_EQ(rt_->workers.size(), 2u) << "the EAL should give two worker lcores";
    auto ports = setup_ports(*rt_);
    ASSERT_TRUE(ports) << ports.error().message;
    ASSERT_EQ(rt_->ports.at(0).queues, kQueues);
    rt_->egress.src_mac = {2, 0, 0, 0, 0, 0x10};
    rt_->egress.dst_mac = {2, 0, 0, 0, 0, 0xfe};
    rt_->egress.source_v4 = *IpAddress::parse("10.0.1.2");
    StateSpec empty;
    empty.egress = rt_->egress;
    auto snap = Snapshot::build(empty, nullptr, 0);
    ASSERT_TRUE(snap);
    ASSERT_TRUE(rt_->publisher.init(static_cast<uint32_t>(rt_->workers.size()), *snap, empty));
    ApiHooks hooks;
    hooks.log = [](std::string_view) {};  // thousands of applies: keep the test log readable
    server_ = new ApiServer(*rt_, hooks);
    ASSERT_TRUE(launch_workers(*rt_));

    for (uint32_t f = 0; f < kFlows; ++f) {
      const std::string src = fmt::format("198.18.{}.{}", f / 200, f % 200 + 1);
      frames_.push_back(PacketBuilder()
                            .eth()
                            .ipv4(src, "192.0.2.10")
                            .tcp(static_cast<uint16_t>(10000 + f), 80, {.flags = 0x10})
                            .payload(64)
                            .build());
    }
  }

  static void TearDownTestSuite() {
    stop_workers(*rt_);
    delete server_;
    close_ports(*rt_);
    delete rt_;
    frames_.clear();
  }

  // Sends `rounds` passes over every flow, reading every output back. Returns the outputs.
  static std::vector<Output> pump(uint32_t rounds, std::atomic<bool>* keep_going = nullptr) {
    std::vector<Output> out;
    out.reserve(static_cast<size_t>(rounds) * kFlows);
    uint64_t sent = 0;
    rte_mbuf* burst[64];
    auto drain = [&] {
      void* objs[256];
      unsigned n;
      for (int q = 0; q < kQueues; ++q) {
        while ((n = rte_ring_sc_dequeue_burst(tx_[q], objs, 256, nullptr)) > 0) {
          for (unsigned i = 0; i < n; ++i) {
            auto* m = static_cast<rte_mbuf*>(objs[i]);
            out.push_back(decode(m));
            rte_pktmbuf_free(m);
          }
        }
      }
    };
    for (uint32_t r = 0; r < rounds || (keep_going && keep_going->load()); ++r) {
      for (uint32_t f = 0; f < kFlows; f += 64) {
        const uint32_t n = std::min<uint32_t>(64, kFlows - f);
        if (rte_pktmbuf_alloc_bulk(pool_, burst, n) != 0) {
          drain();
          f -= 64;
          continue;
        }
        // Sorted by queue: flows f, f+2, ... on queue 0, the others on queue 1.
        rte_mbuf* by_queue[kQueues][64];
        uint32_t count[kQueues] = {};
        for (uint32_t i = 0; i < n; ++i) {
          const Bytes& b = frames_[f + i];
          char* d = rte_pktmbuf_append(burst[i], static_cast<uint16_t>(b.size()));
          std::memcpy(d, b.data(), b.size());
          const uint32_t q = (f + i) % kQueues;
          by_queue[q][count[q]++] = burst[i];
        }
        // Never more in flight than a TX ring holds: a test that overflows its own ring
        // would count its own drops.
        while (sent - out.size() > 4096) drain();
        for (int q = 0; q < kQueues; ++q) {
          uint32_t done = 0;
          while (done < count[q]) {
            done += rte_ring_sp_enqueue_burst(rx_[q], reinterpret_cast<void**>(by_queue[q] + done),
                                              count[q] - done, nullptr);
            drain();
          }
        }
        sent += n;
      }
      if (r > 100000) break;  // bounded, whatever keep_going says
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (out.size() < sent && std::chrono::steady_clock::now() < deadline) {
      drain();
      usleep(100);
    }
    EXPECT_EQ(out.size(), sent) << "frames lost";
    return out;
  }

  static Output decode(const rte_mbuf* m) {
    const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
    Output o{UINT32_MAX, UINT32_MAX};
    // Ethernet, outer IPv4 (protocol 4), inner IPv4, TCP.
    if (m->data_len < 14 + 20 + 20 + 20 || p[12] != 0x08 || p[13] != 0 || p[14 + 9] != 4) {
      return o;
    }
    char outer[16];
    std::snprintf(outer, sizeof(outer), "%u.%u.%u.%u", p[30], p[31], p[32], p[33]);
    for (uint32_t i = 0; i < 4; ++i) {
      if (std::strcmp(outer, kBackends[i]) == 0) o.backend = i;
    }
    const uint8_t* tcp = p + 14 + 20 + 20;
    o.flow = ((tcp[0] << 8) | tcp[1]) - 10000u;
    return o;
  }

  static std::string apply(const std::string& doc) { return server_->handle("apply " + doc); }

  static constexpr int kQueues = 2;
  static inline rte_ring* rx_[kQueues] = {};
  static inline rte_ring* tx_[kQueues] = {};
  static inline rte_mempool* pool_ = nullptr;
  static inline Runtime* rt_ = nullptr;
  static inline ApiServer* server_ = nullptr;
  static inline std::vector<Bytes> frames_;
};

bool applied(const std::string& reply) { return reply.find("0000 applied") != std::string::npos; }

TEST_F(RuntimeTest, StateChurnNeverLosesFramesOrMovesEstablishedFlows) {
  ASSERT_TRUE(applied(apply(state({{0, 1}, {1, 1}, {2, 1}, {3, 1}}))));
  // Establish every flow, then record where each went.
  std::vector<uint32_t> owner(kFlows, UINT32_MAX);
  for (const Output& o : pump(1)) {
    ASSERT_LT(o.flow, kFlows);
    ASSERT_LT(o.backend, 4u);
    owner[o.flow] = o.backend;
  }
  // Apply weight changes and drains (never a removal) as fast as the server takes them while
  // traffic flows: established flows must stay where they are.
  std::atomic<bool> churning{true};
  std::atomic<uint64_t> applies{0};
  std::thread churn([&] {
    std::mt19937 rng(7);
    while (churning.load()) {
      std::vector<std::pair<int, int>> b;
      for (int i = 0; i < 4; ++i) b.emplace_back(i, static_cast<int>(rng() % 4));
      b[rng() % 4].second = 1 + static_cast<int>(rng() % 3);  // at least one takes new flows
      if (!applied(apply(state(b)))) {
        ADD_FAILURE() << "apply failed";
        return;
      }
      ++applies;
    }
  });
  std::vector<Output> outs;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (std::chrono::steady_clock::now() < until) {
    auto more = pump(4);
    outs.insert(outs.end(), more.begin(), more.end());
  }
  churning = false;
  churn.join();
  EXPECT_GT(applies.load(), 20u) << "the state did not change often enough to test anything";
  uint64_t moved = 0;
  for (const Output& o : outs) {
    ASSERT_LT(o.flow, kFlows);
    moved += o.backend != owner[o.flow];
  }
  EXPECT_EQ(moved, 0u) << "established flows changed backend under weight changes and drains";
  fmt::print("{} applies, {} frames while churning\n", applies.load(), outs.size());

  // Every worker is on the latest generation, and the counters agree with what we saw.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  for (const auto& w : rt_->workers) {
    EXPECT_EQ(w->generation.load(), rt_->publisher.snapshot()->generation());
    EXPECT_EQ(w->tx_dropped, 0u);
    EXPECT_EQ(w->ctx.counters().dropped(), 0u);
  }
}

TEST_F(RuntimeTest, RemovingABackendMovesOnlyItsFlows) {
  ASSERT_TRUE(applied(apply(state({{0, 1}, {1, 1}, {2, 1}, {3, 1}}))));
  std::vector<uint32_t> owner(kFlows, UINT32_MAX);
  for (const Output& o : pump(1)) owner[o.flow] = o.backend;
  ASSERT_TRUE(applied(apply(state({{0, 1}, {1, 1}, {2, 1}}))));  // backend 3 removed
  uint64_t moved = 0, on_removed = 0;
  for (uint32_t f = 0; f < kFlows; ++f) on_removed += owner[f] == 3;
  for (const Output& o : pump(2)) {
    ASSERT_NE(o.backend, 3u) << "a frame still went to the removed backend";
    if (owner[o.flow] == 3) {
      ++moved;
    } else {
      EXPECT_EQ(o.backend, owner[o.flow]) << "flow " << o.flow << " moved but its backend stayed";
    }
  }
  EXPECT_GT(on_removed, 0u);
  EXPECT_EQ(moved, on_removed * 2);
}

TEST_F(RuntimeTest, InvalidStateChangesNothing) {
  ASSERT_TRUE(applied(apply(state({{0, 1}, {1, 1}}))));
  const uint64_t gen = rt_->publisher.snapshot()->generation();
  const std::string r = apply(R"({"vips":[{"address":"192.0.2.10","proto":"tcp","port":80,)"
                              R"("table_size":1000,"backends":[]}]})");
  EXPECT_EQ(r.substr(0, 5), "8001 ") << r;
  EXPECT_EQ(rt_->publisher.snapshot()->generation(), gen);
  const std::string bad = server_->handle("apply {");
  EXPECT_EQ(bad.substr(0, 5), "8001 ") << bad;
  EXPECT_EQ(server_->handle("frobnicate").substr(0, 5), "9000 ");
  EXPECT_EQ(server_->handle("flow tcp 1.2.3.4").substr(0, 5), "9001 ");
}

TEST_F(RuntimeTest, FlowQueryAnswersFromTheWorkersTable) {
  ASSERT_TRUE(applied(apply(state({{0, 1}, {1, 1}, {2, 1}, {3, 1}}))));
  std::vector<uint32_t> owner(kFlows, UINT32_MAX);
  for (const Output& o : pump(1)) owner[o.flow] = o.backend;
  // Drain the owner of flow 0: the Maglev answer changes, the established answer does not.
  std::vector<std::pair<int, int>> b = {{0, 1}, {1, 1}, {2, 1}, {3, 1}};
  b[owner[0]].second = 0;
  ASSERT_TRUE(applied(apply(state(b))));
  const std::string reply = server_->handle("flow tcp 198.18.0.1 10000 192.0.2.10 80");
  // Flow 0 arrived on queue 0: worker 0 knows it, worker 1 does not.
  ReplyReader rr;
  ASSERT_TRUE(rr.feed(reply));
  auto parsed = rr.next();
  ASSERT_TRUE(parsed && parsed->ok()) << reply;
  const std::string doc = parsed->text_of(reply::kJson);
  EXPECT_NE(doc.find(fmt::format("\"backend\":\"{}\"", kBackends[owner[0]])), std::string::npos)
      << doc;
  EXPECT_NE(doc.find("established flow on lcore"), std::string::npos) << doc;
}

}  // namespace
}  // namespace steer::dataplane

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const std::string prefix = fmt::format("steer-rt-{}", getpid());
  // Three lcores (main + two workers) on however many CPUs there are: the workers may share
  // one, which is slow but exercises two flow tables, two query rings, two RCU readers.
  std::vector<std::string> eal = {"runtime_test", "--lcores",    "0@0,1@1,2@1",    "--no-huge",
                                  "-m",           "256",         "--no-pci",       "--file-prefix",
                                  prefix,         "--log-level", "lib.eal:warning"};
  std::vector<char*> args;
  for (auto& s : eal) args.push_back(s.data());
  if (rte_eal_init(static_cast<int>(args.size()), args.data()) < 0) {
    std::fprintf(stderr, "rte_eal_init failed\n");
    return 1;
  }
  const int rc = RUN_ALL_TESTS();
  rte_eal_cleanup();
  return rc;
}
