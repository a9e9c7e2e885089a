#include "dataplane/packet/explain.h"

#include <gtest/gtest.h>

#include "testing/support/pipeline_harness.h"

namespace steer::dataplane {
namespace {

using steer::testing::lab_state;
using steer::testing::must_build;

TEST(Explain, NewFlowAnswerMatchesWhatThePipelineDoes) {
  auto snap = must_build(lab_state(), nullptr, 1);
  auto ctx = PipelineContext::create(PipelineConfig{{.capacity = 1024}});
  ASSERT_TRUE(ctx);
  for (uint16_t port = 40000; port < 40200; ++port) {
    auto key = make_flow_key("tcp", "198.18.0.7", std::to_string(port), "192.0.2.10", "80");
    ASSERT_TRUE(key);
    FlowExplanation e = explain_new_flow(*snap, *key);
    ASSERT_TRUE(e.vip_found);
    const SnapshotBackend* b = snap->backend(e.handle);
    ASSERT_NE(b, nullptr);
    // The pipeline, on a real SYN of that flow, picks the same backend.
    auto frame = steer::testing::PacketBuilder()
                     .eth()
                     .ipv4("198.18.0.7", "192.0.2.10")
                     .tcp(port, 80)
                     .build();
    auto r = steer::testing::run_one(*ctx, *snap, frame);
    ASSERT_EQ(r.verdict, Verdict::Forward);
    EXPECT_EQ(steer::testing::outer_destination(r.out), b->target.backend.to_string()) << port;
  }
}

TEST(Explain, NoVipAndBadPieces) {
  auto snap = must_build(lab_state(), nullptr, 1);
  auto key = make_flow_key("tcp", "198.18.0.7", "1", "192.0.2.99", "80");
  ASSERT_TRUE(key);
  FlowExplanation e = explain_new_flow(*snap, *key);
  EXPECT_FALSE(e.vip_found);
  EXPECT_NE(e.reason.find("no VIP"), std::string::npos);
  EXPECT_FALSE(make_flow_key("icmp", "1.2.3.4", "1", "1.2.3.4", "1"));
  EXPECT_FALSE(make_flow_key("tcp", "1.2.3.4", "70000", "1.2.3.4", "1"));
  EXPECT_FALSE(make_flow_key("tcp", "1.2.3.4", "1", "2001:db8::1", "1"));
  EXPECT_FALSE(make_flow_key("udp", "x", "1", "1.2.3.4", "1"));
}

}  // namespace
}  // namespace steer::dataplane
