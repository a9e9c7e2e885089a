// Every packet fixture (testing/support/fixtures.cc), run through a fresh pipeline over
// lab_state(), gives its verdict and, byte for byte, its expected output frame.
#include "testing/support/fixtures.h"

#include <gtest/gtest.h>

#include "testing/support/pipeline_harness.h"

namespace steer::testing {
namespace {

class Fixture : public ::testing::TestWithParam<size_t> {};

TEST_P(Fixture, GivesExpectedVerdictAndBytes) {
  const PacketFixture& fx = packet_fixtures()[GetParam()];
  SCOPED_TRACE(fx.name + ": " + fx.description);
  auto snap = must_build(lab_state());
  auto ctx = dataplane::PipelineContext::create({dataplane::FlowTableConfig{1024}});
  ASSERT_TRUE(ctx);
  auto r = run_one(*ctx, *snap, fx.input);
  ASSERT_EQ(int(r.verdict), int(fx.verdict));
  if (fx.verdict == dataplane::Verdict::Drop) {
    EXPECT_EQ(ctx->counters().drops[size_t(fx.reason)], 1u)
        << "expected drop reason " << dataplane::drop_reason_name(fx.reason);
    return;
  }
  EXPECT_EQ(to_hex(r.out), to_hex(fx.expected));
}

INSTANTIATE_TEST_SUITE_P(Packets, Fixture, ::testing::Range<size_t>(0, packet_fixtures().size()),
                         [](const ::testing::TestParamInfo<size_t>& param) {
                           return packet_fixtures()[param.param].name;
                         });

}  // namespace
}  // namespace steer::testing
