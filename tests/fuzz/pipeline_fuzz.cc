// libFuzzer target for the whole per-packet pipeline: any byte string is a frame sent to the
// lab configuration (testing/support/pipeline_harness.h). It is sent twice (a new flow, then a
// flow-table hit) in a buffer with headroom. Beyond "no crash, no out-of-bounds access" (ASan,
// UBSan), it checks the counter identity and that a Pass leaves the frame untouched.
// Seed corpus: tests/fuzz/corpus/pipeline_fuzz/ (the packet fixtures' inputs).
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "dataplane/packet/pipeline.h"
#include "testing/support/pipeline_harness.h"

namespace {

using namespace steer;
using namespace steer::dataplane;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

struct World {
  std::shared_ptr<const Snapshot> snap = testing::must_build(testing::lab_state());
  PipelineContext ctx = std::move(*PipelineContext::create({FlowTableConfig{4096}}));
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World world;
  if (size > 9216) return 0;
  for (int round = 0; round < 2; ++round) {
    testing::Frame frame(testing::Bytes(data, data + size));
    Verdict v{};
    process_burst(world.ctx, *world.snap, &frame.buf(), &v, 1, 1000 + round);
    const PacketBuf& b = frame.buf();
    check(frame.consistent());
    if (v == Verdict::Pass)
      check(b.len == size && (size == 0 || std::memcmp(b.data, data, size) == 0));
    if (v == Verdict::Forward) check(b.len >= 14 + 20);
  }
  const PipelineCounters& c = world.ctx.counters();
  check(c.rx == c.forwarded + c.replied() + c.passed + c.dropped());
  return 0;
}
