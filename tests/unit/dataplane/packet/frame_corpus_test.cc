// The frame corpus (tests/corpus/frames.json) through the packet core: every frame, in order,
// through one pipeline over lab_state() as a worker lcore would see them, gives the entry's
// verdict and lands in exactly one counter — for a drop, the entry's reason. A failure names
// the entry.
#include "testing/support/frame_corpus.h"

#include <cstdlib>
#include <map>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "testing/support/pipeline_harness.h"

namespace steer::testing {
namespace {

using dataplane::DropReason;
using dataplane::PipelineCounters;
using dataplane::Verdict;

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::Forward:
      return "forward";
    case Verdict::Reply:
      return "reply";
    case Verdict::Pass:
      return "pass";
    case Verdict::Drop:
      return "drop";
  }
  return "?";
}

std::vector<CorpusFrame> load() {
  const char* root = std::getenv("STEER_SOURCE_ROOT");  // NOLINT(concurrency-mt-unsafe)
  if (root == nullptr) {
    ADD_FAILURE() << "STEER_SOURCE_ROOT is not set (meson test sets it)";
    return {};
  }
  auto corpus = load_frame_corpus(frame_corpus_path(root));
  if (!corpus) {
    ADD_FAILURE() << corpus.error().message;
    return {};
  }
  return std::move(*corpus);
}

// The drop reasons whose counters moved between two snapshots, comma-separated.
std::string moved_drops(const PipelineCounters& before, const PipelineCounters& after) {
  std::string out;
  for (size_t i = 0; i < dataplane::kDropReasonCount; ++i) {
    if (after.drops[i] == before.drops[i]) continue;
    if (!out.empty()) out += ",";
    out += dataplane::kDropReasonNames[i];
  }
  return out;
}

TEST(FrameCorpus, EveryFrameGetsItsVerdictAndReason) {
  const auto corpus = load();
  ASSERT_GE(corpus.size(), 300u);
  auto snap = must_build(lab_state());
  auto ctx = dataplane::PipelineContext::create({dataplane::FlowTableConfig{65536}});
  ASSERT_TRUE(ctx);
  for (const CorpusFrame& f : corpus) {
    const PipelineCounters before = ctx->counters();
    const auto r = run_one(*ctx, *snap, f.bytes);
    const PipelineCounters& after = ctx->counters();
    const std::string drops = moved_drops(before, after);
    EXPECT_EQ(verdict_name(r.verdict), std::string(verdict_name(f.verdict)))
        << f.name << ": " << f.description << (drops.empty() ? "" : " — dropped as " + drops);
    const std::string want_drop =
        f.verdict == Verdict::Drop ? std::string(drop_reason_name(f.reason)) : "";
    EXPECT_EQ(drops, want_drop) << f.name << ": " << f.description;
    EXPECT_EQ(after.rx, before.rx + 1) << f.name;
    EXPECT_EQ(after.forwarded + after.replied() + after.passed + after.dropped(), after.rx)
        << f.name << " left the counter identity";
    if (r.verdict == Verdict::Pass) {
      EXPECT_EQ(r.out, f.bytes) << f.name << ": pass modified it";
    }
  }
}

// The corpus covers every verdict and every drop reason a frame can provoke in the packet
// core, each with several variants. Three reasons no frame provokes here: no_headroom (the
// adapter always leaves room), multi_segment (counted by the dataplane's worker for chains over
// 16384 bytes) and internal_error (a bug).
TEST(FrameCorpus, CoversEveryVerdictAndReason) {
  const auto corpus = load();
  ASSERT_FALSE(corpus.empty());
  std::map<std::string, size_t> verdicts;
  std::map<std::string, size_t> reasons;
  std::set<std::string> names;
  for (const CorpusFrame& f : corpus) {
    ++verdicts[verdict_name(f.verdict)];
    if (f.verdict == Verdict::Drop) ++reasons[std::string(drop_reason_name(f.reason))];
    EXPECT_TRUE(names.insert(f.name).second) << "duplicate name " << f.name;
    EXPECT_FALSE(f.description.empty()) << f.name;
    EXPECT_FALSE(f.rfc.empty()) << f.name;
  }
  for (const char* v : {"forward", "reply", "pass", "drop"})
    EXPECT_GE(verdicts[v], 10u) << "few entries with verdict " << v;
  const std::set<DropReason> not_provoked = {DropReason::NoHeadroom, DropReason::MultiSegment,
                                             DropReason::Internal};
  for (size_t i = 0; i < dataplane::kDropReasonCount; ++i) {
    if (not_provoked.contains(static_cast<DropReason>(i))) continue;
    const std::string name(dataplane::kDropReasonNames[i]);
    EXPECT_GE(reasons[name], 3u) << "drop reason " << name << " has fewer than 3 entries";
  }
}

}  // namespace
}  // namespace steer::testing
