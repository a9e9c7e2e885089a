// The rise/fall damper as input/output sequences: probe results in ('+' pass, '-' fail),
// states out ('?' unknown, 'U' up, 'D' down), with the changed and pending flags per step.
#include "control/health/damper.h"

#include <string>

#include <gtest/gtest.h>

namespace steer::control::health {
namespace {

struct Outputs {
  std::string states;   // state after each result
  std::string changed;  // '*' where the state changed, '.' elsewhere
  std::string pending;  // 'p' while a streak toward a change is in progress, '.' elsewhere
};

char letter(State s) { return s == State::Up ? 'U' : s == State::Down ? 'D' : '?'; }

Outputs feed(Damper& d, const std::string& results) {
  Outputs r;
  for (char c : results) {
    const Damper::Step step = d.feed(c == '+');
    EXPECT_EQ(step.state, d.state());
    EXPECT_EQ(step.pending, d.pending());
    r.states += letter(step.state);
    r.changed += step.changed ? '*' : '.';
    r.pending += step.pending ? 'p' : '.';
  }
  return r;
}

struct Case {
  const char* name;
  uint32_t rise, fall;
  const char* in;
  const char* states;
  const char* changed;
  const char* pending;
};

class DamperSequence : public testing::TestWithParam<Case> {};

TEST_P(DamperSequence, StatesChangedAndPendingFollowTheResults) {
  const Case& c = GetParam();
  Damper d(c.rise, c.fall);
  EXPECT_EQ(d.state(), State::Unknown);
  EXPECT_FALSE(d.pending());
  const Outputs r = feed(d, c.in);
  EXPECT_EQ(r.states, c.states) << c.in;
  EXPECT_EQ(r.changed, c.changed) << c.in;
  EXPECT_EQ(r.pending, c.pending) << c.in;
}

INSTANTIATE_TEST_SUITE_P(
    Damper, DamperSequence,
    testing::Values(
        // A new target is Up after `rise` passes...
        Case{"UnknownToUpAfterRise", 2, 3, "++", "?U", ".*", "p."},
        // ...and Down after `fall` failures (not after `rise`: the verdict needs a streak).
        Case{"UnknownToDownAfterFall", 2, 3, "---", "??D", "..*", "pp."},
        // In Unknown a mixed start restarts the streak each time it turns.
        Case{"UnknownMixedRestartsStreaks", 2, 3, "+-+--+", "??????", "......", "pppppp"},
        Case{"UnknownMixedThenSettles", 2, 3, "+-++", "???U", "...*", "ppp."},
        // Up stays Up through fewer than `fall` failures; a pass clears the streak.
        Case{"UpSurvivesShortFailureStreaks", 2, 3, "++--+--+", "?UUUUUUU", ".*......", "p.pp.pp."},
        Case{"UpToDownAfterFall", 2, 3, "++---", "?UUUD", ".*..*", "p.pp."},
        // Down needs `rise` consecutive passes; a failure in between restarts the count.
        Case{"DownToUpNeedsConsecutivePasses", 2, 2, "--+-++", "?DDDDU", ".*...*", "p.p.p."},
        // A flapping backend (alternating) never leaves its state once settled.
        Case{"FlappingNeverFlips", 2, 2, "++-+-+-+-+", "?UUUUUUUUU", ".*........", "p.p.p.p.p."},
        Case{"FlappingDownNeverFlips", 2, 2, "---+-+-+-", "?DDDDDDDD", ".*.......", "p..p.p.p."},
        // rise = fall = 1: every result decides, nothing is ever pending.
        Case{"RiseFallOneFollowsEveryResult", 1, 1, "+-+-", "UDUD", "****", "...."},
        // Zero counts as one.
        Case{"ZeroRiseFallCountAsOne", 0, 0, "-+", "DU", "**", ".."},
        // Long streaks past the threshold change nothing more.
        Case{"StreakBeyondThresholdIsStable", 3, 2, "++++++----", "??UUUUUDDD", "..*....*..",
             "pp....p..."}),
    [](const testing::TestParamInfo<Case>& p) { return p.param.name; });

TEST(Damper, InitialStateIsKeptAndStreakRestarts) {
  // A target whose check changed keeps its verdict; the new damper starts a fresh streak.
  Damper d(3, 2, State::Up);
  EXPECT_EQ(d.state(), State::Up);
  const Outputs r = feed(d, "-+--");
  EXPECT_EQ(r.states, "UUUD");
  EXPECT_EQ(r.changed, "...*");
  EXPECT_EQ(r.pending, "p.p.");
}

TEST(Damper, StateNames) {
  EXPECT_EQ(state_name(State::Unknown), "unknown");
  EXPECT_EQ(state_name(State::Up), "up");
  EXPECT_EQ(state_name(State::Down), "down");
}

}  // namespace
}  // namespace steer::control::health
