#include "tools/steerctl/plan.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hashing/maglev.h"

namespace steer::tools {
namespace {

IpAddress ip(std::string_view text) {
  auto a = IpAddress::parse(text);
  EXPECT_TRUE(a) << text;
  return a.value_or(IpAddress());
}

Pool pool_of(std::initializer_list<std::pair<std::string_view, uint32_t>> entries) {
  Pool pool;
  for (const auto& [address, weight] : entries) pool.entries.push_back({ip(address), weight});
  return pool;
}

// 10.0.0.1 .. 10.0.0.n, weight 1 each.
Pool equal_pool(uint32_t n) {
  Pool pool;
  for (uint32_t i = 1; i <= n; ++i)
    pool.entries.push_back({IpAddress::from_v4_host(0x0a000000 + i), 1});
  return pool;
}

const BackendPlan& row_of(const PlanReport& report, std::string_view address) {
  for (const BackendPlan& row : report.backends) {
    if (row.address == ip(address)) return row;
  }
  ADD_FAILURE() << "no row for " << address;
  static const BackendPlan kNone;
  return kNone;
}

std::string error_of(const Result<Pool>& r) {
  return r ? std::string("(no error)") : r.error().message;
}

// ---- parse_pool -----------------------------------------------------------------------------

// Addresses of both families, explicit and default weights, comments, blank lines, tabs and CRLF.
TEST(ParsePool, ReadsAddressesWeightsCommentsAndBlankLines) {
  const auto pool = parse_pool(
      "# a comment\n"
      "\n"
      "192.0.2.1\n"
      "  192.0.2.2\t3   # trailing comment\r\n"
      "2001:db8::1 0\n"
      "   \t  \n"
      "2001:db8::2 65535");
  ASSERT_TRUE(pool) << pool.error().message;
  const std::vector<PoolEntry> expected = {{ip("192.0.2.1"), 1},
                                           {ip("192.0.2.2"), 3},
                                           {ip("2001:db8::1"), 0},
                                           {ip("2001:db8::2"), 65535}};
  EXPECT_EQ(pool->entries, expected);
}

// Text with no backends is an empty pool, not an error.
TEST(ParsePool, EmptyTextIsEmptyPool) {
  const auto pool = parse_pool("# nothing here\n\n");
  ASSERT_TRUE(pool);
  EXPECT_TRUE(pool->entries.empty());
}

// A bad address is reported with the origin and line number.
TEST(ParsePool, RejectsBadAddressWithLineNumber) {
  EXPECT_EQ(error_of(parse_pool("192.0.2.1\n192.0.2.300 2\n", "pool.txt")),
            "pool.txt:2: bad address '192.0.2.300' (want IPv4 or IPv6)");
  EXPECT_EQ(error_of(parse_pool("backend-1\n")),
            "pool:1: bad address 'backend-1' (want IPv4 or IPv6)");
}

// Weights are plain integers 0..65535.
TEST(ParsePool, RejectsBadWeights) {
  for (const char* weight : {"-1", "65536", "x", "1.5", "+2", "0x10", "99999999999"}) {
    EXPECT_EQ(error_of(parse_pool(fmt::format("192.0.2.1 {}\n", weight))),
              fmt::format("pool:1: bad weight '{}' (want an integer 0..65535)", weight));
  }
}

// A third field is an error, not silently ignored.
TEST(ParsePool, RejectsExtraField) {
  EXPECT_EQ(error_of(parse_pool("192.0.2.1 2 3\n")),
            "pool:1: unexpected '3' after the weight (want ADDRESS [WEIGHT])");
}

// The same address twice is an error even when spelled differently.
TEST(ParsePool, RejectsDuplicateInAnySpelling) {
  EXPECT_EQ(error_of(parse_pool("2001:db8::1\n# x\n2001:DB8:0::1 2\n")),
            "pool:3: duplicate backend 2001:db8::1 (first on line 1)");
  EXPECT_EQ(error_of(parse_pool("192.0.2.1\n::ffff:192.0.2.1\n")),
            "pool:2: duplicate backend 192.0.2.1 (first on line 1)");
}

// ---- parse_backend_spec / add_backend -------------------------------------------------------

// ADDRESS[=WEIGHT], weight default 1, for both families.
TEST(ParseBackendSpec, ReadsAddressAndOptionalWeight) {
  EXPECT_EQ(parse_backend_spec("192.0.2.7").value(), (PoolEntry{ip("192.0.2.7"), 1}));
  EXPECT_EQ(parse_backend_spec("192.0.2.7=4").value(), (PoolEntry{ip("192.0.2.7"), 4}));
  EXPECT_EQ(parse_backend_spec("2001:db8::7=0").value(), (PoolEntry{ip("2001:db8::7"), 0}));
}

// Bad addresses and weights are rejected with the offending text.
TEST(ParseBackendSpec, RejectsBadAddressAndWeight) {
  EXPECT_EQ(parse_backend_spec("192.0.2").error().message,
            "bad address '192.0.2' (want IPv4 or IPv6)");
  EXPECT_EQ(parse_backend_spec("192.0.2.7=").error().message,
            "bad weight '' (want an integer 0..65535)");
  EXPECT_EQ(parse_backend_spec("192.0.2.7=70000").error().message,
            "bad weight '70000' (want an integer 0..65535)");
}

// add_backend refuses an address already in the pool.
TEST(AddBackend, RejectsDuplicate) {
  Pool pool = pool_of({{"192.0.2.1", 1}});
  EXPECT_TRUE(add_backend(pool, {ip("192.0.2.2"), 2}));
  const auto dup = add_backend(pool, {ip("192.0.2.1"), 5});
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().message, "duplicate backend 192.0.2.1 (already in the pool)");
  EXPECT_EQ(pool.entries.size(), 2u);
}

// ---- parse_change ---------------------------------------------------------------------------

// Each change kind parses its argument form.
TEST(ParseChange, ParsesEachKind) {
  EXPECT_EQ(parse_change(ChangeKind::Add, "192.0.2.9").value(),
            (Change{ChangeKind::Add, ip("192.0.2.9"), 1}));
  EXPECT_EQ(parse_change(ChangeKind::Add, "192.0.2.9=3").value(),
            (Change{ChangeKind::Add, ip("192.0.2.9"), 3}));
  EXPECT_EQ(parse_change(ChangeKind::Remove, "2001:db8::9").value(),
            (Change{ChangeKind::Remove, ip("2001:db8::9"), 0}));
  EXPECT_EQ(parse_change(ChangeKind::Weight, "192.0.2.9=0").value(),
            (Change{ChangeKind::Weight, ip("192.0.2.9"), 0}));
  EXPECT_EQ(parse_change(ChangeKind::Drain, "192.0.2.9").value(),
            (Change{ChangeKind::Drain, ip("192.0.2.9"), 0}));
  EXPECT_EQ(parse_change(ChangeKind::Undrain, "192.0.2.9=2").value(),
            (Change{ChangeKind::Undrain, ip("192.0.2.9"), 2}));
}

// Each malformed argument gets one line naming the flag and the argument.
TEST(ParseChange, RejectsMalformedArguments) {
  const auto message = [](ChangeKind kind, std::string_view arg) {
    const auto r = parse_change(kind, arg);
    return r ? std::string("(no error)") : r.error().message;
  };
  EXPECT_EQ(message(ChangeKind::Add, "192.0.2.300"),
            "--add 192.0.2.300: bad address '192.0.2.300' (want IPv4 or IPv6)");
  EXPECT_EQ(message(ChangeKind::Add, "192.0.2.9=-1"),
            "--add 192.0.2.9=-1: bad weight '-1' (want an integer 0..65535)");
  EXPECT_EQ(message(ChangeKind::Remove, "192.0.2.9=1"),
            "--remove 192.0.2.9=1: takes an address only, no =WEIGHT");
  EXPECT_EQ(message(ChangeKind::Drain, "192.0.2.9=0"),
            "--drain 192.0.2.9=0: takes an address only, no =WEIGHT");
  EXPECT_EQ(message(ChangeKind::Weight, "192.0.2.9"),
            "--weight 192.0.2.9: missing weight (want ADDRESS=WEIGHT)");
  EXPECT_EQ(message(ChangeKind::Undrain, "192.0.2.9"),
            "--undrain 192.0.2.9: missing weight (want ADDRESS=WEIGHT)");
  EXPECT_EQ(message(ChangeKind::Undrain, "192.0.2.9=0"),
            "--undrain 192.0.2.9=0: weight must be above 0 to take new flows again");
}

// ---- apply_changes --------------------------------------------------------------------------

class ApplyChanges : public ::testing::Test {
 protected:
  const Pool pool_ = pool_of({{"192.0.2.1", 1}, {"192.0.2.2", 2}, {"192.0.2.3", 0}});

  Result<Pool> apply(std::vector<Change> changes) { return apply_changes(pool_, changes); }
};

// Add appends the backend with its weight.
TEST_F(ApplyChanges, AddAppendsBackend) {
  const auto after = apply({{ChangeKind::Add, ip("2001:db8::1"), 4}});
  ASSERT_TRUE(after);
  ASSERT_EQ(after->entries.size(), 4u);
  EXPECT_EQ(after->entries.back(), (PoolEntry{ip("2001:db8::1"), 4}));
}

// Remove takes the backend out and keeps the others in order.
TEST_F(ApplyChanges, RemoveDropsBackend) {
  const auto after = apply({{ChangeKind::Remove, ip("192.0.2.2"), 0}});
  ASSERT_TRUE(after);
  EXPECT_EQ(after->entries, pool_of({{"192.0.2.1", 1}, {"192.0.2.3", 0}}).entries);
}

// Weight, Drain and Undrain set the weight.
TEST_F(ApplyChanges, WeightDrainAndUndrainSetWeight) {
  const auto after = apply({{ChangeKind::Weight, ip("192.0.2.1"), 7},
                            {ChangeKind::Drain, ip("192.0.2.2"), 0},
                            {ChangeKind::Undrain, ip("192.0.2.3"), 5}});
  ASSERT_TRUE(after);
  EXPECT_EQ(after->entries,
            pool_of({{"192.0.2.1", 7}, {"192.0.2.2", 0}, {"192.0.2.3", 5}}).entries);
}

// Changes apply in order: a backend removed and added back is just reweighted.
TEST_F(ApplyChanges, AppliesInOrder) {
  const auto after = apply({{ChangeKind::Remove, ip("192.0.2.1"), 0},
                            {ChangeKind::Add, ip("192.0.2.1"), 9},
                            {ChangeKind::Drain, ip("192.0.2.1"), 0},
                            {ChangeKind::Undrain, ip("192.0.2.1"), 6}});
  ASSERT_TRUE(after);
  EXPECT_EQ(after->entries,
            pool_of({{"192.0.2.2", 2}, {"192.0.2.3", 0}, {"192.0.2.1", 6}}).entries);
  // The other order fails: the backend is not there to drain.
  const auto bad =
      apply({{ChangeKind::Remove, ip("192.0.2.1"), 0}, {ChangeKind::Drain, ip("192.0.2.1"), 0}});
  EXPECT_EQ(error_of(bad), "--drain 192.0.2.1: no such backend in the pool");
}

// Every kind of invalid change is an error naming the flag and address.
TEST_F(ApplyChanges, RejectsInvalidChanges) {
  EXPECT_EQ(error_of(apply({{ChangeKind::Add, ip("192.0.2.1"), 1}})),
            "--add 192.0.2.1: already in the pool (use --weight to change its weight)");
  EXPECT_EQ(error_of(apply({{ChangeKind::Remove, ip("192.0.2.99"), 0}})),
            "--remove 192.0.2.99: no such backend in the pool");
  EXPECT_EQ(error_of(apply({{ChangeKind::Weight, ip("2001:db8::99"), 1}})),
            "--weight 2001:db8::99: no such backend in the pool");
  EXPECT_EQ(error_of(apply({{ChangeKind::Drain, ip("192.0.2.99"), 0}})),
            "--drain 192.0.2.99: no such backend in the pool");
  EXPECT_EQ(error_of(apply({{ChangeKind::Undrain, ip("192.0.2.99"), 1}})),
            "--undrain 192.0.2.99: no such backend in the pool");
  EXPECT_EQ(error_of(apply({{ChangeKind::Drain, ip("192.0.2.3"), 0}})),
            "--drain 192.0.2.3: already drained (weight 0)");
  EXPECT_EQ(error_of(apply({{ChangeKind::Undrain, ip("192.0.2.2"), 1}})),
            "--undrain 192.0.2.2: not drained (weight 2; use --weight to change it)");
}

// ---- table size -----------------------------------------------------------------------------

// Only primes in [2, kMaxSize] are table sizes.
TEST(CheckTableSize, AcceptsOnlyPrimesInRange) {
  EXPECT_TRUE(check_table_size(65537));
  EXPECT_TRUE(check_table_size(7));
  EXPECT_TRUE(check_table_size(hashing::MaglevTable::kMaxSize));
  for (const uint32_t bad : {0u, 1u, 65536u, 65535u, 16'777'259u}) {
    EXPECT_FALSE(check_table_size(bad)) << bad;
  }
  EXPECT_EQ(check_table_size(65536).error().message,
            "table size 65536 is not a prime in [2, 16777213]; Maglev needs a prime (e.g. 65537, "
            "131071)");
}

// ---- plan -----------------------------------------------------------------------------------

// Removing 1 of 10 equal backends moves about its 10 %; the optimum is exactly its share.
TEST(Plan, RemovingOneOfTenEqualBackendsMovesAboutTenPercent) {
  const Pool before = equal_pool(10);
  const auto after =
      apply_changes(before, std::vector<Change>{{ChangeKind::Remove, ip("10.0.0.4"), 0}});
  ASSERT_TRUE(after);
  const auto report = plan(before, *after);
  ASSERT_TRUE(report) << report.error().message;
  const BackendPlan& removed = row_of(*report, "10.0.0.4");
  EXPECT_EQ(removed.state, BackendState::Removed);
  EXPECT_EQ(removed.slots_after, 0u);
  EXPECT_DOUBLE_EQ(report->optimal_fraction, 0.1);
  EXPECT_DOUBLE_EQ(report->optimal_fraction, removed.target_before);
  // Every slot the removed backend owned must move; Maglev moves little else.
  EXPECT_GE(report->moved_slots, removed.slots_before);
  EXPECT_NEAR(report->moved_fraction, 0.10, 0.01);
  ASSERT_TRUE(report->moved_to_optimal);
  EXPECT_GE(*report->moved_to_optimal, 0.99);
  EXPECT_LE(*report->moved_to_optimal, 1.10);
}

// A drained backend owns no slot afterwards, and the report says its connections stay.
TEST(Plan, DrainGivesDrainedBackendNoSlots) {
  const Pool before = equal_pool(4);
  const auto after =
      apply_changes(before, std::vector<Change>{{ChangeKind::Drain, ip("10.0.0.2"), 0}});
  ASSERT_TRUE(after);
  const auto report = plan(before, *after);
  ASSERT_TRUE(report);
  const BackendPlan& drained = row_of(*report, "10.0.0.2");
  EXPECT_EQ(drained.state, BackendState::Drained);
  EXPECT_GT(drained.slots_before, 0u);
  EXPECT_EQ(drained.slots_after, 0u);
  EXPECT_EQ(drained.weight_after, 0u);
  EXPECT_DOUBLE_EQ(report->optimal_fraction, 0.25);
  EXPECT_EQ(report->unowned_slots_after, 0u);
  EXPECT_NE(report->notes.at(0).find("10.0.0.2 is drained"), std::string::npos);
  EXPECT_NE(report->notes.at(0).find("connections are not cut"), std::string::npos);
}

// Slots cover the whole table on both sides, so shares sum to 100 %.
TEST(Plan, SharesSumToHundredPercent) {
  const Pool before = pool_of({{"192.0.2.1", 3}, {"192.0.2.2", 1}, {"2001:db8::1", 2}});
  const Pool after = pool_of({{"192.0.2.1", 3}, {"2001:db8::1", 5}, {"2001:db8::2", 1}});
  const auto report = plan(before, after, 10007);
  ASSERT_TRUE(report);
  uint64_t slots_before = 0, slots_after = 0;
  double share_before = 0, share_after = 0, target_before = 0, target_after = 0;
  for (const BackendPlan& row : report->backends) {
    slots_before += row.slots_before;
    slots_after += row.slots_after;
    share_before += row.share_before;
    share_after += row.share_after;
    target_before += row.target_before;
    target_after += row.target_after;
  }
  EXPECT_EQ(slots_before, 10007u);
  EXPECT_EQ(slots_after, 10007u);
  EXPECT_NEAR(share_before, 1.0, 1e-9);
  EXPECT_NEAR(share_after, 1.0, 1e-9);
  EXPECT_NEAR(target_before, 1.0, 1e-9);
  EXPECT_NEAR(target_after, 1.0, 1e-9);
}

// Slot shares follow the weights (within 1 % at the default size).
TEST(Plan, SlotSharesFollowWeights) {
  const Pool pool = pool_of({{"192.0.2.1", 1}, {"192.0.2.2", 2}, {"192.0.2.3", 3}});
  const auto report = plan(pool, pool);
  ASSERT_TRUE(report);
  for (const BackendPlan& row : report->backends) {
    EXPECT_NEAR(row.share_before, row.target_before, 0.01) << row.address.to_string();
  }
  EXPECT_DOUBLE_EQ(row_of(*report, "192.0.2.3").target_before, 0.5);
}

// The same pool on both sides moves nothing and has no ratio.
TEST(Plan, NoChangeMovesNothing) {
  const Pool pool = equal_pool(5);
  const auto report = plan(pool, pool);
  ASSERT_TRUE(report);
  EXPECT_EQ(report->moved_slots, 0u);
  EXPECT_EQ(report->moved_fraction, 0.0);
  EXPECT_EQ(report->optimal_fraction, 0.0);
  EXPECT_FALSE(report->moved_to_optimal);
  for (const BackendPlan& row : report->backends) EXPECT_EQ(row.state, BackendState::Unchanged);
  EXPECT_TRUE(report->notes.empty());
}

// Scaling every weight by the same factor leaves every target share as it was.
TEST(Plan, ProportionalReweightNeedsNoMove) {
  const auto report = plan(pool_of({{"192.0.2.1", 1}, {"192.0.2.2", 3}}),
                           pool_of({{"192.0.2.1", 2}, {"192.0.2.2", 6}}));
  ASSERT_TRUE(report);
  EXPECT_EQ(report->optimal_fraction, 0.0);
  EXPECT_FALSE(report->moved_to_optimal);
  EXPECT_EQ(row_of(*report, "192.0.2.1").state, BackendState::Reweighted);
}

// Doubling one of two equal weights: its target goes 1/2 → 2/3, so exactly 1/6 must move.
TEST(Plan, OptimalIsSumOfShrunkTargetShares) {
  const auto report = plan(pool_of({{"192.0.2.1", 1}, {"192.0.2.2", 1}}),
                           pool_of({{"192.0.2.1", 2}, {"192.0.2.2", 1}}));
  ASSERT_TRUE(report);
  EXPECT_DOUBLE_EQ(report->optimal_fraction, 1.0 / 6.0);
}

// Every state is recognised and rows are sorted by address (IPv4 before IPv6).
TEST(Plan, ClassifiesEveryStateAndSortsByAddress) {
  const Pool before = pool_of(
      {{"2001:db8::1", 1}, {"192.0.2.5", 1}, {"192.0.2.4", 2}, {"192.0.2.3", 0}, {"192.0.2.2", 1}});
  const Pool after = pool_of(
      {{"192.0.2.1", 1}, {"192.0.2.2", 0}, {"192.0.2.3", 4}, {"192.0.2.4", 1}, {"2001:db8::1", 1}});
  const auto report = plan(before, after, 1009);
  ASSERT_TRUE(report);
  std::vector<std::string> rows;
  for (const BackendPlan& row : report->backends) {
    rows.push_back(fmt::format("{} {}", row.address, state_name(row.state)));
  }
  EXPECT_EQ(rows, (std::vector<std::string>{"192.0.2.1 added", "192.0.2.2 drained",
                                            "192.0.2.3 undrained", "192.0.2.4 reweighted",
                                            "192.0.2.5 removed", "2001:db8::1 unchanged"}));
  EXPECT_EQ(report->backends_before, 5u);
  EXPECT_EQ(report->backends_after, 5u);
  EXPECT_EQ(report->total_weight_before, 5u);
  EXPECT_EQ(report->total_weight_after, 7u);
  EXPECT_FALSE(row_of(*report, "192.0.2.1").weight_before);
  EXPECT_FALSE(row_of(*report, "192.0.2.5").weight_after);
}

// The moved count equals an independent slot-by-slot comparison of the two tables by address.
TEST(Plan, MovedMatchesDirectTableComparison) {
  const Pool before =
      pool_of({{"192.0.2.1", 1}, {"192.0.2.2", 2}, {"192.0.2.3", 1}, {"2001:db8::1", 1}});
  const Pool after =
      pool_of({{"2001:db8::1", 3}, {"192.0.2.1", 1}, {"192.0.2.3", 0}, {"192.0.2.9", 1}});
  const auto table_of = [](const Pool& pool, std::vector<hashing::MaglevBackend>& backends) {
    for (const PoolEntry& e : pool.entries) backends.push_back({e.address, e.weight});
    return hashing::MaglevTable::build(backends, 4099).value();
  };
  std::vector<hashing::MaglevBackend> b1, b2;
  const auto t1 = table_of(before, b1);
  const auto t2 = table_of(after, b2);
  uint32_t moved = 0;
  for (uint32_t slot = 0; slot < 4099; ++slot) {
    if (b1[t1.entries()[slot]].address != b2[t2.entries()[slot]].address) ++moved;
  }
  const auto report = plan(before, after, 4099);
  ASSERT_TRUE(report);
  EXPECT_EQ(report->moved_slots, moved);
  EXPECT_EQ(report->table_size, 4099u);
  EXPECT_DOUBLE_EQ(report->moved_fraction, moved / 4099.0);
}

// Draining every backend leaves the whole space unowned: all of it changes, all of it must.
TEST(Plan, DrainingEverythingLeavesSpaceUnowned) {
  const Pool before = pool_of({{"192.0.2.1", 1}, {"192.0.2.2", 1}});
  const Pool after = pool_of({{"192.0.2.1", 0}, {"192.0.2.2", 0}});
  const auto report = plan(before, after, 101);
  ASSERT_TRUE(report);
  EXPECT_EQ(report->unowned_slots_before, 0u);
  EXPECT_EQ(report->unowned_slots_after, 101u);
  EXPECT_EQ(report->moved_slots, 101u);
  EXPECT_EQ(report->optimal_fraction, 1.0);
  EXPECT_EQ(report->moved_to_optimal, 1.0);
}

// A new VIP (empty pool before) gets all of its space assigned.
TEST(Plan, EmptyPoolToBackendsMovesEverything) {
  const auto report = plan(Pool{}, pool_of({{"192.0.2.1", 1}}), 101);
  ASSERT_TRUE(report);
  EXPECT_EQ(report->unowned_slots_before, 101u);
  EXPECT_EQ(report->moved_slots, 101u);
  EXPECT_EQ(report->optimal_fraction, 1.0);
  EXPECT_EQ(row_of(*report, "192.0.2.1").state, BackendState::Added);
}

// A bad size or a pool that does not fit is an error, not a report.
TEST(Plan, RejectsBadTableSizeAndOversizedPool) {
  const Pool pool = equal_pool(4);
  EXPECT_FALSE(plan(pool, pool, 100));
  const auto too_small = plan(pool, pool, 3);
  ASSERT_FALSE(too_small);
  EXPECT_EQ(too_small.error().message.rfind("current pool: ", 0), 0u) << too_small.error().message;
}

// A table too small for the backend count carries the Maglev size warning.
TEST(Plan, SmallTableCarriesSizeWarning) {
  const Pool pool = equal_pool(10);
  const auto small = plan(pool, pool, 101);
  ASSERT_TRUE(small);
  EXPECT_EQ(small->size_warning, hashing::maglev_size_warning(101, 10));
  EXPECT_TRUE(small->size_warning);
  const auto fine = plan(pool, pool);
  ASSERT_TRUE(fine);
  EXPECT_FALSE(fine->size_warning);
}

// ---- format_plan_table ----------------------------------------------------------------------

size_t display_columns(std::string_view s) {
  size_t n = 0;
  for (const char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The table has one aligned row per backend and the summary lines with pinned figures.
TEST(FormatPlanTable, AlignsRowsAndPrintsSummary) {
  const Pool before = equal_pool(10);
  const auto after =
      apply_changes(before, std::vector<Change>{{ChangeKind::Remove, ip("10.0.0.4"), 0}});
  const auto report = plan(before, after.value());
  ASSERT_TRUE(report);
  const std::string text = format_plan_table(*report);
  const auto lines = lines_of(text);
  ASSERT_GE(lines.size(), 12u);
  EXPECT_EQ(lines[0].rfind("BACKEND", 0), 0u);
  // Each column starts at the same display column on every row: check STATE and the arrows.
  const auto column_of = [](const std::string& line, std::string_view needle) {
    const size_t at = line.find(needle);
    return at == std::string::npos ? size_t(-1) : display_columns(line.substr(0, at));
  };
  const size_t state_col = column_of(lines[0], "STATE");
  const size_t first_arrow = column_of(lines[1], "→");
  for (size_t i = 1; i <= 10; ++i) {
    const std::string state = i == 4 ? "removed" : "unchanged";
    EXPECT_EQ(column_of(lines[i], state), state_col) << lines[i];
    EXPECT_EQ(column_of(lines[i], "→"), first_arrow) << lines[i];
    EXPECT_EQ(lines[i].rfind(fmt::format("10.0.0.{} ", i), 0), 0u) << lines[i];
  }
  EXPECT_NE(lines[4].find("1 → -"), std::string::npos) << lines[4];
  EXPECT_NE(lines[4].find("-10.0"), std::string::npos) << lines[4];
  EXPECT_NE(text.find("\ntable size       65537 slots\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nbackends         10 → 9 (total weight 10 → 9)\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find(fmt::format("\nmoved            {:.3f} % of new-flow hash space changes "
                                  "owner ({} of 65537 slots)\n",
                                  report->moved_fraction * 100, report->moved_slots)),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\noptimal          10.000 % must move"), std::string::npos) << text;
  EXPECT_NE(text.find(fmt::format("\nmoved / optimal  {:.3f}\n", *report->moved_to_optimal)),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("note: 10.0.0.4 is removed"), std::string::npos) << text;
}

// A drain shows in the table with its note; no move means no ratio.
TEST(FormatPlanTable, ShowsDrainNoteAndMissingRatio) {
  const Pool before = pool_of({{"192.0.2.1", 2}, {"2001:db8::1", 1}});
  const auto drained = plan(
      before,
      apply_changes(before, std::vector<Change>{{ChangeKind::Drain, ip("192.0.2.1"), 0}}).value());
  ASSERT_TRUE(drained);
  const std::string text = format_plan_table(*drained);
  EXPECT_NE(text.find("2 → 0"), std::string::npos) << text;
  EXPECT_NE(text.find("drained\n"), std::string::npos) << text;
  EXPECT_NE(text.find("note: 192.0.2.1 is drained: it takes no new flows, but its existing flows "
                      "stay on it through the flow table, so its connections are not cut\n"),
            std::string::npos)
      << text;
  const auto same = plan(before, before);
  ASSERT_TRUE(same);
  EXPECT_NE(format_plan_table(*same).find("moved / optimal  n/a"), std::string::npos);
}

// ---- JSON -----------------------------------------------------------------------------------

// A small strict JSON reader (RFC 8259 grammar), enough to check the output structurally.
struct Json {
  enum class Kind { Null, Bool, Number, String, Array, Object };
  Kind kind = Kind::Null;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<Json> array;
  std::map<std::string, Json> object;

  const Json& operator[](const std::string& key) const {
    static const Json kMissing{Kind::Null, false, std::nan(""), "<missing>", {}, {}};
    const auto it = object.find(key);
    return it == object.end() ? kMissing : it->second;
  }
  bool has(const std::string& key) const { return object.count(key) != 0; }
};

class JsonReader {
 public:
  explicit JsonReader(std::string_view text) : text_(text) {}

  // The document's value, or nullopt on any syntax error (trailing text included).
  std::optional<Json> read() {
    auto v = value();
    skip_space();
    if (!v || pos_ != text_.size()) return std::nullopt;
    return v;
  }

 private:
  void skip_space() {
    while (pos_ < text_.size() &&
           std::string_view(" \t\r\n").find(text_[pos_]) != std::string_view::npos)
      ++pos_;
  }
  bool eat(char c) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }
  std::optional<std::string> string() {
    if (!eat('"')) return std::nullopt;
    std::string out;
    while (pos_ < text_.size()) {
      const char c = text_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) return std::nullopt;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= text_.size()) return std::nullopt;
      const char e = text_[pos_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out += e;
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          if (pos_ + 4 > text_.size()) return std::nullopt;
          unsigned code = 0;
          for (int i = 0; i < 4; ++i) {
            const char h = text_[pos_++];
            code <<= 4;
            if (h >= '0' && h <= '9')
              code |= unsigned(h - '0');
            else if (h >= 'a' && h <= 'f')
              code |= unsigned(h - 'a' + 10);
            else if (h >= 'A' && h <= 'F')
              code |= unsigned(h - 'A' + 10);
            else
              return std::nullopt;
          }
          if (code >= 0x80) return std::nullopt;  // the output only escapes ASCII controls
          out += char(code);
          break;
        }
        default:
          return std::nullopt;
      }
    }
    return std::nullopt;
  }
  std::optional<Json> number() {
    const size_t start = pos_;
    if (pos_ < text_.size() && text_[pos_] == '-') ++pos_;
    const auto digits = [&] {
      const size_t from = pos_;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
      return pos_ - from;
    };
    const size_t int_start = pos_;
    const size_t int_digits = digits();
    if (int_digits == 0 || (int_digits > 1 && text_[int_start] == '0')) return std::nullopt;
    if (pos_ < text_.size() && text_[pos_] == '.') {
      ++pos_;
      if (digits() == 0) return std::nullopt;
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
      if (digits() == 0) return std::nullopt;
    }
    Json j;
    j.kind = Json::Kind::Number;
    j.number = std::strtod(std::string(text_.substr(start, pos_ - start)).c_str(), nullptr);
    return j;
  }
  std::optional<Json> value() {
    skip_space();
    if (pos_ >= text_.size()) return std::nullopt;
    Json j;
    const char c = text_[pos_];
    if (c == '{') {
      ++pos_;
      j.kind = Json::Kind::Object;
      if (eat('}')) return j;
      do {
        auto key = string();
        if (!key || !eat(':')) return std::nullopt;
        auto v = value();
        if (!v || !j.object.emplace(*key, std::move(*v)).second) return std::nullopt;  // no dups
      } while (eat(','));
      if (!eat('}')) return std::nullopt;
      return j;
    }
    if (c == '[') {
      ++pos_;
      j.kind = Json::Kind::Array;
      if (eat(']')) return j;
      do {
        auto v = value();
        if (!v) return std::nullopt;
        j.array.push_back(std::move(*v));
      } while (eat(','));
      if (!eat(']')) return std::nullopt;
      return j;
    }
    if (c == '"') {
      auto s = string();
      if (!s) return std::nullopt;
      j.kind = Json::Kind::String;
      j.string = std::move(*s);
      return j;
    }
    if (literal("null")) return j;
    if (literal("true") || literal("false")) {
      j.kind = Json::Kind::Bool;
      j.boolean = text_[pos_ - 1] == 'e' && text_[pos_ - 2] == 'u';
      return j;
    }
    return number();
  }

  std::string_view text_;
  size_t pos_ = 0;
};

// The reader itself rejects what is not JSON, so the structural checks below mean something.
TEST(JsonReader, RejectsMalformedDocuments) {
  for (const char* bad : {"{", "{\"a\":1,}", "[1 2]", "{\"a\":01}", "\"\x01\"", "{\"a\":1}x",
                          "{\"a\":1,\"a\":2}", "nul", "1.", "{a:1}"}) {
    EXPECT_FALSE(JsonReader(bad).read()) << bad;
  }
  EXPECT_TRUE(JsonReader("{\"a\": [1, -2.5e3, null, true, \"x\\u0041\"]}").read());
}

// json_quote escapes quotes, backslashes and control characters.
TEST(JsonQuote, EscapesSpecialCharacters) {
  EXPECT_EQ(json_quote("plain"), "\"plain\"");
  EXPECT_EQ(json_quote("a\"b\\c\nd\te\x01"), "\"a\\\"b\\\\c\\nd\\te\\u0001\"");
  const auto round = JsonReader(json_quote("q\"\\\r\x1f")).read();
  ASSERT_TRUE(round);
  EXPECT_EQ(round->string, "q\"\\\r\x1f");
}

// The JSON output parses and carries the same figures as the report, under stable keys.
TEST(FormatPlanJson, ParsesAndMatchesReport) {
  const Pool before = pool_of({{"192.0.2.1", 2}, {"192.0.2.2", 1}, {"2001:db8::1", 1}});
  const auto after =
      apply_changes(before, std::vector<Change>{{ChangeKind::Drain, ip("192.0.2.2"), 0},
                                                {ChangeKind::Add, ip("192.0.2.3"), 1}});
  const auto report = plan(before, after.value(), 211);
  ASSERT_TRUE(report);
  const std::string text = format_plan_json(*report);
  const auto doc = JsonReader(text).read();
  ASSERT_TRUE(doc) << text;
  ASSERT_EQ(doc->kind, Json::Kind::Object);
  for (const char* key :
       {"table_size", "backends_before", "backends_after", "total_weight_before",
        "total_weight_after", "backends", "unowned_slots_before", "unowned_slots_after",
        "fingerprint_before", "fingerprint_after", "moved_slots", "moved_percent",
        "optimal_percent", "moved_to_optimal", "size_warning", "notes"}) {
    EXPECT_TRUE(doc->has(key)) << key;
  }
  EXPECT_EQ(doc->object.size(), 16u);
  EXPECT_EQ((*doc)["table_size"].number, 211);
  EXPECT_EQ((*doc)["moved_slots"].number, report->moved_slots);
  EXPECT_NEAR((*doc)["moved_percent"].number, report->moved_fraction * 100, 1e-4);
  EXPECT_NEAR((*doc)["optimal_percent"].number, 25.0, 1e-9);
  EXPECT_NEAR((*doc)["moved_to_optimal"].number, *report->moved_to_optimal, 1e-4);
  EXPECT_EQ((*doc)["size_warning"].kind, Json::Kind::String);  // 211 < 100 × 3
  ASSERT_EQ((*doc)["notes"].kind, Json::Kind::Array);
  EXPECT_EQ((*doc)["notes"].array.size(), report->notes.size());

  const Json& rows = (*doc)["backends"];
  ASSERT_EQ(rows.kind, Json::Kind::Array);
  ASSERT_EQ(rows.array.size(), 4u);
  double share_after_sum = 0;
  for (size_t i = 0; i < rows.array.size(); ++i) {
    const Json& row = rows.array[i];
    const BackendPlan& expect = report->backends[i];
    EXPECT_EQ(row.object.size(), 11u);
    EXPECT_EQ(row["address"].string, expect.address.to_string());
    EXPECT_EQ(row["state"].string, state_name(expect.state));
    EXPECT_EQ(row["slots_before"].number, expect.slots_before);
    EXPECT_EQ(row["slots_after"].number, expect.slots_after);
    EXPECT_NEAR(row["share_after_percent"].number, expect.share_after * 100, 1e-4);
    share_after_sum += row["share_after_percent"].number;
  }
  EXPECT_NEAR(share_after_sum, 100.0, 1e-3);
  // The added backend has no weight before: null, not 0.
  EXPECT_EQ(rows.array[2]["address"].string, "192.0.2.3");
  EXPECT_EQ(rows.array[2]["weight_before"].kind, Json::Kind::Null);
  EXPECT_EQ(rows.array[2]["weight_after"].number, 1);
  EXPECT_EQ(rows.array[1]["state"].string, "drained");
  EXPECT_EQ(rows.array[1]["slots_after"].number, 0);
}

// With nothing to move the ratio is null, and an empty pool gives an empty array.
TEST(FormatPlanJson, NullRatioAndEmptyBackends) {
  const auto report = plan(Pool{}, Pool{}, 7);
  ASSERT_TRUE(report);
  const auto doc = JsonReader(format_plan_json(*report)).read();
  ASSERT_TRUE(doc);
  EXPECT_EQ((*doc)["moved_to_optimal"].kind, Json::Kind::Null);
  EXPECT_EQ((*doc)["backends"].kind, Json::Kind::Array);
  EXPECT_TRUE((*doc)["backends"].array.empty());
}

// ---- end to end: the built steerctl binary --------------------------------------------------

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string slurp(const std::string& path) {
  std::string text;
  if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
    std::fclose(f);
  }
  return text;
}

class EndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* bin = std::getenv("STEERCTL");  // NOLINT(concurrency-mt-unsafe)
    // Not a skip: run outside meson without it, the test must not pass silently.
    if (!bin || !*bin) FAIL() << "STEERCTL is not set (meson test sets it)";
    binary_ = bin;
    char dir[] = "/tmp/steerctl-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    pool_ = dir_ + "/pool.txt";
    std::ofstream(pool_) << "# test pool\n192.0.2.1 2\n192.0.2.2\n192.0.2.3\n2001:db8::1 1\n";
  }
  void TearDown() override {
    if (dir_.empty()) return;
    for (const char* f : {"/pool.txt", "/out", "/err"}) std::remove((dir_ + f).c_str());
    rmdir(dir_.c_str());
  }

  // Runs steerctl with `args`, stdout and stderr captured through files.
  RunResult run(std::vector<std::string> args) {
    const std::string out = dir_ + "/out", err = dir_ + "/err";
    const pid_t pid = fork();
    if (pid == 0) {
      const int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      const int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0) _exit(126);
      std::vector<char*> argv{binary_.data()};
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(binary_.c_str(), argv.data());
      _exit(127);
    }
    RunResult r;
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) return r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
  }

  std::string binary_;
  std::string dir_;
  std::string pool_;
};

// A valid plan prints the table on stdout, nothing on stderr, and exits 0.
TEST_F(EndToEnd, PlanPrintsTableAndExitsZero) {
  const auto r = run({"plan", "--pool", pool_, "--remove", "192.0.2.3", "--add", "192.0.2.9=2"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out.rfind("BACKEND", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("removed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("added"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nmoved            "), std::string::npos) << r.out;
}

// --json prints one JSON object, and changes from flags apply in command-line order.
TEST_F(EndToEnd, JsonOutputParsesAndKeepsChangeOrder) {
  const auto r = run({"plan", "--backend", "192.0.2.1", "--backend", "192.0.2.2=3", "--weight",
                      "192.0.2.1=0", "--undrain", "192.0.2.1=5", "--table-size", "1009", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto doc = JsonReader(r.out).read();
  ASSERT_TRUE(doc) << r.out;
  EXPECT_EQ((*doc)["table_size"].number, 1009);
  EXPECT_EQ((*doc)["backends"].array.at(0)["weight_after"].number, 5);
  EXPECT_EQ((*doc)["total_weight_after"].number, 8);
}

// A usage error exits 2 with exactly one line on stderr and nothing on stdout.
TEST_F(EndToEnd, UsageErrorExitsTwoWithOneLine) {
  const auto r = run({"plan", "--pool", pool_, "--remove", "192.0.2.99"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "steerctl: --remove 192.0.2.99: no such backend in the pool\n");
  EXPECT_EQ(r.out, "");
}

// Parser-level mistakes (unknown flag, non-prime size, bad pool line) are usage errors too.
TEST_F(EndToEnd, ParserErrorsExitTwo) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"plan", "--pool", pool_, "--bogus"},
        std::vector<std::string>{"plan", "--pool", pool_, "--table-size", "65536"},
        std::vector<std::string>{"plan", "--pool", pool_, "--table-size", "abc"},
        std::vector<std::string>{"plan"}, std::vector<std::string>{},
        std::vector<std::string>{"nonsense"}}) {
    const auto r = run(args);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_EQ(r.err.rfind("steerctl: ", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  std::ofstream(pool_) << "192.0.2.1\n192.0.2.1 2\n";
  const auto dup = run({"plan", "--pool", pool_});
  EXPECT_EQ(dup.exit_code, 2);
  EXPECT_EQ(dup.err,
            fmt::format("steerctl: {}:2: duplicate backend 192.0.2.1 (first on line 1)\n", pool_));
}

// A pool file that cannot be read is a runtime error: exit 1.
TEST_F(EndToEnd, MissingPoolFileExitsOne) {
  const auto r = run({"plan", "--pool", dir_ + "/absent.txt"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, fmt::format("steerctl: cannot read pool file '{}/absent.txt': No such file or "
                               "directory\n",
                               dir_));
  EXPECT_EQ(r.out, "");
}

// --help at both levels prints usage on stdout and exits 0.
TEST_F(EndToEnd, HelpExitsZero) {
  const auto root = run({"--help"});
  EXPECT_EQ(root.exit_code, 0);
  EXPECT_NE(root.out.find("plan"), std::string::npos);
  const auto sub = run({"plan", "--help"});
  EXPECT_EQ(sub.exit_code, 0);
  EXPECT_NE(sub.out.find("--drain"), std::string::npos);
  EXPECT_NE(sub.out.find("--table-size"), std::string::npos);
}

// The shipped example pool parses and plans.
TEST_F(EndToEnd, ExamplePoolPlans) {
  const char* root = std::getenv("STEER_SOURCE_ROOT");  // NOLINT(concurrency-mt-unsafe)
  if (!root) FAIL() << "STEER_SOURCE_ROOT is not set (meson test sets it)";
  const auto r =
      run({"plan", "--pool", std::string(root) + "/examples/pool.txt", "--drain", "192.0.2.13"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("192.0.2.13 is drained"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace steer::tools

namespace steer::tools {
namespace {

// The plan carries each table's Maglev fingerprint, the value an operator compares with a
// live LB: it is maglev_fingerprint of the pool's table, and the order of the pool file does
// not change it.
TEST(PlanFingerprint, MatchesMaglevFingerprintAndIgnoresOrder) {
  auto a = parse_pool("192.0.2.1 1\n192.0.2.2 2\n2001:db8::1 3\n");
  auto b = parse_pool("2001:db8::1 3\n192.0.2.2 2\n192.0.2.1 1\n");
  ASSERT_TRUE(a && b);
  auto ra = plan(*a, *a);
  auto rb = plan(*b, *b);
  ASSERT_TRUE(ra && rb);
  EXPECT_EQ(ra->fingerprint_before, rb->fingerprint_before);
  EXPECT_EQ(ra->fingerprint_before, ra->fingerprint_after);

  std::vector<hashing::MaglevBackend> backends;
  for (const PoolEntry& e : a->entries) backends.push_back({e.address, e.weight});
  auto table = hashing::MaglevTable::build(backends);
  ASSERT_TRUE(table);
  EXPECT_EQ(ra->fingerprint_before, hashing::maglev_fingerprint(*table, backends));

  Change drain = *parse_change(ChangeKind::Drain, "192.0.2.2");
  auto after = apply_changes(*a, std::span<const Change>(&drain, 1));
  ASSERT_TRUE(after);
  auto rc = plan(*a, *after);
  ASSERT_TRUE(rc);
  EXPECT_NE(rc->fingerprint_before, rc->fingerprint_after);
  EXPECT_NE(format_plan_table(*rc).find(fmt::format("{:016x}", rc->fingerprint_after)),
            std::string::npos);
  EXPECT_NE(format_plan_json(*rc).find(
                fmt::format("\"fingerprint_after\": \"{:016x}\"", rc->fingerprint_after)),
            std::string::npos);
}

}  // namespace
}  // namespace steer::tools
