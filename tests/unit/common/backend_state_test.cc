#include "common/backend_state.h"

#include <gtest/gtest.h>

namespace steer {
namespace {

constexpr BackendState kAll[] = {BackendState::Up, BackendState::Drain, BackendState::Down};

TEST(BackendState, OneNameEachAndParseIsItsInverse) {
  EXPECT_EQ(backend_state_name(BackendState::Up), "up");
  EXPECT_EQ(backend_state_name(BackendState::Drain), "drain");
  EXPECT_EQ(backend_state_name(BackendState::Down), "down");
  for (BackendState s : kAll) {
    EXPECT_EQ(parse_backend_state(backend_state_name(s)), s);
    EXPECT_EQ(fmt::format("{}", s), backend_state_name(s));
  }
  EXPECT_EQ(fmt::format("[{:>6}]", BackendState::Up), "[    up]");
}

TEST(BackendState, ParseRejectsOtherWords) {
  for (const char* bad : {"", "Up", "UP", "drained", "disabled", "sick", "up "}) {
    EXPECT_FALSE(parse_backend_state(bad)) << bad;
  }
}

// The one rule: up keeps its weight, drain is weight 0 (flows stay), down is not in the set.
TEST(BackendState, TableWeight) {
  EXPECT_EQ(table_weight(BackendState::Up, 3), 3u);
  EXPECT_EQ(table_weight(BackendState::Up, 0), 0u);
  EXPECT_EQ(table_weight(BackendState::Drain, 3), 0u);
  EXPECT_EQ(table_weight(BackendState::Down, 3), std::nullopt);
  static_assert(table_weight(BackendState::Drain, 7) == 0u);
}

}  // namespace
}  // namespace steer
