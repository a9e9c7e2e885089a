// Maglev table: pinned tiny tables, golden hashes and checksums, the weight rule, order
// independence, validation, and an independent naive reference (the paper's pseudocode with
// `%` everywhere) checked against the optimised builder on many random sets.
#include "hashing/maglev.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <xxhash.h>

namespace steer::hashing {
namespace {

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

constexpr uint32_t kNo = MaglevTable::kNoBackend;

MaglevTable build_ok(std::span<const MaglevBackend> backends, uint32_t size) {
  auto table = MaglevTable::build(backends, size);
  EXPECT_TRUE(table.has_value()) << (table ? "" : table.error().message);
  return table ? std::move(*table) : MaglevTable{};
}

// The table as addresses, so tables built from differently ordered spans can be compared.
std::vector<IpAddress> owners(const MaglevTable& table, std::span<const MaglevBackend> backends) {
  std::vector<IpAddress> out;
  for (uint32_t e : table.entries()) out.push_back(e == kNo ? IpAddress{} : backends[e].address);
  return out;
}

std::vector<uint32_t> entries_of(const MaglevTable& table) {
  return {table.entries().begin(), table.entries().end()};
}

std::vector<uint32_t> slot_counts(const MaglevTable& table, size_t backend_count) {
  std::vector<uint32_t> counts(backend_count, 0);
  for (uint32_t e : table.entries()) {
    if (e != kNo) ++counts.at(e);
  }
  return counts;
}

// XXH64 (seed 0) of the entries as little-endian 32-bit words: one number pins a whole table.
uint64_t checksum(const MaglevTable& table) {
  std::vector<uint8_t> bytes;
  for (uint32_t e : table.entries()) {
    for (int i = 0; i < 4; ++i) bytes.push_back(uint8_t(e >> (8 * i)));
  }
  return XXH64(bytes.data(), bytes.size(), 0);
}

std::vector<MaglevBackend> pool(uint32_t n, uint32_t first_v4_host = 0x0a000001) {
  std::vector<MaglevBackend> out;
  for (uint32_t i = 0; i < n; ++i) out.push_back({IpAddress::from_v4_host(first_v4_host + i), 1});
  return out;
}

// --- Naive reference: NSDI'16 §3.4 pseudocode, plus the integer weight rule of maglev.h. ---
std::vector<uint32_t> naive_maglev(const std::vector<MaglevBackend>& backends, uint32_t m) {
  std::vector<uint32_t> order(backends.size());
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return backends[a].address < backends[b].address; });
  std::vector<uint32_t> active;
  uint32_t max_weight = 0;
  for (uint32_t i : order) {
    if (backends[i].weight == 0) continue;
    active.push_back(i);
    max_weight = std::max(max_weight, backends[i].weight);
  }
  std::vector<uint32_t> entry(m, kNo);
  if (active.empty()) return entry;

  // permutation[i][j] = (offset + j · skip) mod M, computed when needed rather than stored
  // (N × M entries would not fit in memory at the default size).
  const size_t n = active.size();
  std::vector<uint64_t> offset(n);
  std::vector<uint64_t> skip(n);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* key = backends[active[i]].address.data();
    offset[i] = XXH64(key, 16, kMaglevOffsetSeed) % m;
    skip[i] = XXH64(key, 16, kMaglevSkipSeed) % (m - 1) + 1;
  }
  auto permutation = [&](size_t i, uint64_t j) { return (offset[i] + j * skip[i]) % m; };
  std::vector<uint64_t> next(n, 0);
  std::vector<uint64_t> credit(n, 0);
  uint32_t filled = 0;
  for (;;) {
    for (size_t i = 0; i < n; ++i) {
      credit[i] += backends[active[i]].weight;
      if (credit[i] < max_weight) continue;
      credit[i] -= max_weight;
      uint64_t c = permutation(i, next[i]);
      while (entry[c] != kNo) {
        next[i] += 1;
        c = permutation(i, next[i]);
      }
      entry[c] = active[i];
      next[i] += 1;
      filled += 1;
      if (filled == m) return entry;
    }
  }
}

// --- Hash functions and permutations. ---

TEST(MaglevHash, BackendHashesArePinned) {
  // XXH64 over the 16-byte canonical address with each named seed.
  struct Golden {
    const char* address;
    uint64_t offset_hash;
    uint64_t skip_hash;
  };
  const Golden golden[] = {
      {"10.0.0.1", 0xf779f2b272b38aa8, 0xf3857076911747d0},
      {"10.0.0.2", 0xa230996dbd45976f, 0x985c758557a17ea4},
      {"10.0.0.3", 0xe99e525fd43e6241, 0x26dbd9e23a05b96e},
      {"10.0.0.4", 0x2c319434ff8cc960, 0xc49cbc2397690252},
      {"2001:db8::1", 0x0372bf4016635c5a, 0x23d46a82e49d244c},
  };
  for (const auto& g : golden) {
    const IpAddress a = ip(g.address);
    EXPECT_EQ(XXH64(a.data(), 16, kMaglevOffsetSeed), g.offset_hash) << g.address;
    EXPECT_EQ(XXH64(a.data(), 16, kMaglevSkipSeed), g.skip_hash) << g.address;
    const MaglevPermutation p = maglev_permutation(a, 65537);
    EXPECT_EQ(p.offset, g.offset_hash % 65537) << g.address;
    EXPECT_EQ(p.skip, g.skip_hash % 65536 + 1) << g.address;
  }
}

TEST(MaglevHash, SeedsAreTheNamedConstants) {
  EXPECT_EQ(kMaglevOffsetSeed, 0x6d61676c65760001ULL);
  EXPECT_EQ(kMaglevSkipSeed, 0x6d61676c65760002ULL);
}

TEST(MaglevHash, TinyPermutationsArePinned) {
  // offset = h1 mod M, skip = h2 mod (M − 1) + 1, from the golden hashes above.
  auto p = [](const char* a, uint32_t m) {
    const MaglevPermutation r = maglev_permutation(ip(a), m);
    return std::pair{r.offset, r.skip};
  };
  EXPECT_EQ(p("10.0.0.1", 7), std::pair(4u, 1u));
  EXPECT_EQ(p("10.0.0.2", 7), std::pair(2u, 1u));
  EXPECT_EQ(p("10.0.0.3", 7), std::pair(5u, 3u));
  EXPECT_EQ(p("10.0.0.1", 13), std::pair(12u, 1u));
  EXPECT_EQ(p("10.0.0.2", 13), std::pair(2u, 1u));
  EXPECT_EQ(p("10.0.0.3", 13), std::pair(8u, 3u));
  EXPECT_EQ(p("10.0.0.4", 13), std::pair(11u, 7u));
  EXPECT_EQ(p("2001:db8::1", 13), std::pair(5u, 9u));
}

// --- Pinned tiny tables, computed by hand from the permutations above. ---

TEST(MaglevTable, TableOfSevenMatchesHandComputation) {
  // Address order A=10.0.0.1 (offset 4, skip 1), B=10.0.0.2 (2, 1), C=10.0.0.3 (5, 3).
  //   A: 4 5 6 0 1 2 3     B: 2 3 4 5 6 0 1     C: 5 1 4 0 3 6 2
  //   round 1: A→4, B→2, C→5;  round 2: A→6 (5 taken), B→3, C→1;  round 3: A→0, full.
  //   slots 0..6 = A C B B A C A
  // The caller lists them as C, A, B, so the entries are indices 1 0 2 2 1 0 1.
  const std::vector<MaglevBackend> backends = {
      {ip("10.0.0.3"), 1}, {ip("10.0.0.1"), 1}, {ip("10.0.0.2"), 1}};
  const MaglevTable table = build_ok(backends, 7);
  EXPECT_FALSE(table.empty());
  EXPECT_EQ(entries_of(table), (std::vector<uint32_t>{1, 0, 2, 2, 1, 0, 1}));
}

TEST(MaglevTable, WeightedTableOfThirteenMatchesHandComputation) {
  // A=10.0.0.1 (12, 1) weight 1; B=10.0.0.2 (2, 1) weight 2; C=10.0.0.3 (8, 3) weight 1;
  // D=10.0.0.4 weight 0 takes no turns. W = 2; each round adds the weight to the credit and a
  // credit ≥ 2 pays 2 for a turn, so B claims every round and A, C every second round.
  //   A: 12 0 1 2 ...   B: 2 3 4 5 ...   C: 8 11 1 4 7 10 0 3 6 9 12 2 5
  //   r1: B→2   r2: A→12, B→3, C→8   r3: B→4   r4: A→0, B→5, C→11   r5: B→6
  //   r6: A→1, B→7, C→10 (1, 4, 7 taken)   r7: B→9 (8 taken), full.
  //   slots 0..12 = A A B B B B B B C B C C A  (A 3, B 7, C 3)
  // The caller lists D, B, C, A: indices A=3, B=1, C=2.
  const std::vector<MaglevBackend> backends = {
      {ip("10.0.0.4"), 0}, {ip("10.0.0.2"), 2}, {ip("10.0.0.3"), 1}, {ip("10.0.0.1"), 1}};
  const MaglevTable table = build_ok(backends, 13);
  EXPECT_EQ(entries_of(table), (std::vector<uint32_t>{3, 3, 1, 1, 1, 1, 1, 1, 2, 1, 2, 2, 3}));
}

TEST(MaglevTable, TableChecksumsArePinned) {
  // Whole tables pinned: any change to hashing, ordering, the weight rule or population
  // changes these, and every LB must agree on them.
  EXPECT_EQ(checksum(build_ok(pool(1000), 65537)), 14356544646049820473u);

  auto weighted = pool(100);
  for (size_t i = 0; i < weighted.size(); ++i) weighted[i].weight = uint32_t(i % 4) + 1;
  EXPECT_EQ(checksum(build_ok(weighted, 65537)), 16050915615834162482u);

  std::vector<MaglevBackend> v6;
  for (int i = 1; i <= 20; ++i) {
    v6.push_back({ip(fmt::format("2001:db8::{:x}", i).c_str()), uint32_t(i == 7 ? 1000 : 1)});
  }
  EXPECT_EQ(checksum(build_ok(v6, 251)), 8708799207784711344u);
  EXPECT_EQ(checksum(build_ok(pool(3), 7)), 9947646143385757092u);
}

TEST(MaglevTable, FingerprintIsPinnedAndIgnoresSpanOrder) {
  auto backends = pool(1000);
  const uint64_t expected = 8585566455553915100u;
  EXPECT_EQ(maglev_fingerprint(build_ok(backends, 65537), backends), expected);
  std::mt19937 rng(5);
  std::shuffle(backends.begin(), backends.end(), rng);
  EXPECT_EQ(maglev_fingerprint(build_ok(backends, 65537), backends), expected);
  // A different pool, or the same pool with one weight changed, gives another fingerprint.
  backends[0].weight = 2;
  EXPECT_NE(maglev_fingerprint(build_ok(backends, 65537), backends), expected);
  EXPECT_NE(maglev_fingerprint(build_ok(pool(999), 65537), pool(999)), expected);
}

TEST(MaglevTable, FingerprintFollowsItsDefinition) {
  // XXH3-64 over 17-byte records: 0x01 + owner address, or 0x00 + zeros for no backend.
  const auto backends = pool(3);
  const MaglevTable table = build_ok(backends, 7);
  std::vector<uint8_t> bytes;
  for (uint32_t e : table.entries()) {
    bytes.push_back(1);
    bytes.insert(bytes.end(), backends[e].address.bytes().begin(),
                 backends[e].address.bytes().end());
  }
  EXPECT_EQ(maglev_fingerprint(table, backends), XXH3_64bits(bytes.data(), bytes.size()));
  const MaglevTable none = build_ok({}, 7);
  const std::vector<uint8_t> zeros(size_t{7} * 17, 0);
  EXPECT_EQ(maglev_fingerprint(none, {}), XXH3_64bits(zeros.data(), zeros.size()));
}

// --- Properties. ---

TEST(MaglevTable, NoSlotIsEmptyWhileAnyBackendHasWeight) {
  for (uint32_t m : {2u, 7u, 13u, 65537u}) {
    auto backends = pool(std::min<uint32_t>(m, 5));
    for (auto& b : backends) b.weight = 0;
    backends.back().weight = 3;
    const MaglevTable table = build_ok(backends, m);
    EXPECT_EQ(std::count(table.entries().begin(), table.entries().end(), kNo), 0) << m;
  }
}

TEST(MaglevTable, SlotSharesFollowWeights) {
  auto backends = pool(100);
  uint64_t total = 0;
  for (size_t i = 0; i < backends.size(); ++i) {
    backends[i].weight = uint32_t(i % 4) + 1;
    total += backends[i].weight;
  }
  const uint32_t m = 65537;
  const auto counts = slot_counts(build_ok(backends, m), backends.size());
  for (size_t i = 0; i < backends.size(); ++i) {
    const double fair = double(m) * backends[i].weight / double(total);
    EXPECT_NEAR(counts[i], fair, fair * 0.01 + 1) << "backend " << i;
  }
}

TEST(MaglevTable, EqualWeightsGiveEveryBackendFloorOrCeilOfItsShare) {
  const auto counts = slot_counts(build_ok(pool(1000), 65537), 1000);
  EXPECT_EQ(*std::min_element(counts.begin(), counts.end()), 65u);
  EXPECT_EQ(*std::max_element(counts.begin(), counts.end()), 66u);
}

TEST(MaglevTable, OrderOfBackendsDoesNotChangeTheTable) {
  auto backends = pool(50);
  for (size_t i = 0; i < backends.size(); ++i) backends[i].weight = uint32_t(i % 3);
  backends.push_back({ip("2001:db8::7"), 2});
  const auto expected = owners(build_ok(backends, 4099), backends);
  std::mt19937 rng(1);
  for (int round = 0; round < 20; ++round) {
    std::shuffle(backends.begin(), backends.end(), rng);
    EXPECT_EQ(owners(build_ok(backends, 4099), backends), expected) << "shuffle " << round;
  }
}

TEST(MaglevTable, ScalingAllWeightsKeepsTheTable) {
  auto backends = pool(30);
  for (size_t i = 0; i < backends.size(); ++i) backends[i].weight = uint32_t(i % 5) + 1;
  const MaglevTable base = build_ok(backends, 1009);
  for (auto& b : backends) b.weight *= 7;
  const MaglevTable scaled = build_ok(backends, 1009);
  EXPECT_EQ(entries_of(base), entries_of(scaled));
}

TEST(MaglevTable, WeightZeroBackendGetsNoSlotsAndChangesNothing) {
  auto backends = pool(10);
  const auto without = owners(build_ok(backends, 1009), backends);
  backends.insert(backends.begin() + 4, {ip("10.0.0.200"), 0});
  const MaglevTable table = build_ok(backends, 1009);
  EXPECT_EQ(std::count(table.entries().begin(), table.entries().end(), 4u), 0);
  EXPECT_EQ(owners(table, backends), without);
}

TEST(MaglevTable, EmptySetGivesAllNoBackend) {
  const MaglevTable table = build_ok({}, 13);
  EXPECT_TRUE(table.empty());
  EXPECT_EQ(table.size(), 13u);
  EXPECT_TRUE(std::all_of(table.entries().begin(), table.entries().end(),
                          [](uint32_t e) { return e == kNo; }));
  EXPECT_EQ(table.lookup(0x1234'5678'9abc'def0), kNo);
}

TEST(MaglevTable, AllZeroWeightsGiveAllNoBackend) {
  auto backends = pool(4);
  for (auto& b : backends) b.weight = 0;
  const MaglevTable table = build_ok(backends, MaglevTable::kDefaultSize);
  EXPECT_TRUE(table.empty());
  EXPECT_EQ(table.size(), MaglevTable::kDefaultSize);
  EXPECT_TRUE(std::all_of(table.entries().begin(), table.entries().end(),
                          [](uint32_t e) { return e == kNo; }));
}

TEST(MaglevTable, DefaultSizeIs65537) {
  const auto table = MaglevTable::build(pool(3));
  ASSERT_TRUE(table.has_value());
  EXPECT_EQ(table->size(), 65537u);
}

TEST(MaglevTable, LookupReadsTheSlotOfTheHash) {
  const MaglevTable table = build_ok(pool(5), 13);
  for (uint64_t h : {0ULL, 1ULL, 0xffff'ffffULL, 0x8000'0000ULL, 0xdead'beef'0000'0001ULL}) {
    EXPECT_EQ(table.lookup(h), table.entries()[maglev_slot(h, 13)]) << h;
  }
}

TEST(MaglevTable, RemovingOneBackendMovesLittleElse) {
  // Consistency: when 1 of 100 backends goes, its ~1 % of slots must move; the rest mostly
  // stay (the paper measures a few % at this ratio).
  const auto before = pool(100);
  auto after = before;
  after.erase(after.begin() + 37);
  const auto a = owners(build_ok(before, 65537), before);
  const auto b = owners(build_ok(after, 65537), after);
  size_t moved = 0;
  size_t had_to = 0;
  for (size_t s = 0; s < a.size(); ++s) {
    moved += a[s] != b[s];
    had_to += a[s] == before[37].address;
  }
  EXPECT_GT(had_to, 0u);
  EXPECT_LE(moved, had_to * 4);
}

// --- Validation. ---

TEST(MaglevTable, NonPrimeSizeIsRejected) {
  for (uint32_t m : {4u, 65536u, 65535u, 1000000u}) {
    const auto table = MaglevTable::build(pool(2), m);
    ASSERT_FALSE(table.has_value()) << m;
    EXPECT_NE(table.error().message.find("not prime"), std::string::npos) << table.error().message;
    EXPECT_NE(table.error().message.find(std::to_string(m)), std::string::npos);
  }
  EXPECT_NE(MaglevTable::build(pool(2), 65536).error().message.find("65537"), std::string::npos);
}

TEST(MaglevTable, ZeroAndTooLargeSizesAreRejected) {
  ASSERT_TRUE(is_prime(16'777'259));  // a prime above kMaxSize
  for (uint32_t m : {0u, 1u, 16'777'259u, UINT32_MAX}) {
    const auto table = MaglevTable::build(pool(2), m);
    ASSERT_FALSE(table.has_value()) << m;
    EXPECT_NE(table.error().message.find("out of range"), std::string::npos)
        << table.error().message;
  }
  EXPECT_TRUE(MaglevTable::build(pool(2), 2).has_value());
}

TEST(MaglevTable, DuplicateAddressIsRejected) {
  const std::vector<MaglevBackend> backends = {
      {ip("10.0.0.1"), 1}, {ip("10.0.0.2"), 1}, {ip("::ffff:10.0.0.1"), 0}};
  const auto table = MaglevTable::build(backends, 13);
  ASSERT_FALSE(table.has_value());
  EXPECT_NE(table.error().message.find("duplicate"), std::string::npos);
  EXPECT_NE(table.error().message.find("10.0.0.1"), std::string::npos) << table.error().message;
}

TEST(MaglevTable, MoreBackendsThanSlotsAreRejected) {
  EXPECT_FALSE(MaglevTable::build(pool(8), 7).has_value());
  EXPECT_TRUE(MaglevTable::build(pool(7), 7).has_value());
}

TEST(MaglevSize, WarningWhenBelowHundredSlotsPerBackend) {
  EXPECT_EQ(maglev_size_warning(65537, 0), std::nullopt);
  EXPECT_EQ(maglev_size_warning(65537, 655), std::nullopt);
  const auto warning = maglev_size_warning(65537, 656);
  ASSERT_TRUE(warning.has_value());
  EXPECT_NE(warning->find("65537"), std::string::npos) << *warning;
  EXPECT_NE(warning->find("656"), std::string::npos) << *warning;
  EXPECT_NE(warning->find("65609"), std::string::npos) << *warning;  // next prime ≥ 65600
  EXPECT_TRUE(maglev_size_warning(MaglevTable::kMaxSize, 1'000'000).has_value());
}

TEST(MaglevSize, IsPrimeAndNextPrime) {
  EXPECT_FALSE(is_prime(0));
  EXPECT_FALSE(is_prime(1));
  EXPECT_TRUE(is_prime(2));
  EXPECT_TRUE(is_prime(7));
  EXPECT_FALSE(is_prime(9));
  EXPECT_TRUE(is_prime(65537));
  EXPECT_TRUE(is_prime(655373));
  EXPECT_TRUE(is_prime(MaglevTable::kMaxSize));
  EXPECT_FALSE(is_prime(MaglevTable::kMaxSize + 2));  // 2^24 − 1
  EXPECT_FALSE(is_prime(65537u * 65521u));
  EXPECT_TRUE(is_prime(4294967291u));  // largest prime below 2^32
  EXPECT_EQ(next_prime(0), 2u);
  EXPECT_EQ(next_prime(65536), 65537u);
  EXPECT_EQ(next_prime(65537), 65537u);
  EXPECT_EQ(next_prime(4294967292u), std::nullopt);
}

TEST(MaglevSlot, StaysInRange) {
  std::mt19937_64 rng(3);
  for (uint32_t m : {2u, 7u, 65537u, 655373u, MaglevTable::kMaxSize}) {
    EXPECT_EQ(maglev_slot(0, m), 0u);
    EXPECT_EQ(maglev_slot(UINT64_MAX, m), m - 1);
    EXPECT_EQ(maglev_slot(0xffff'ffff, m), m - 1);
    for (int i = 0; i < 1000; ++i) EXPECT_LT(maglev_slot(rng(), m), m);
  }
}

// --- The optimised builder against the naive reference. ---

std::vector<MaglevBackend> random_set(std::mt19937& rng, uint32_t m) {
  const uint32_t n = std::uniform_int_distribution<uint32_t>(0, std::min<uint32_t>(m, 60))(rng);
  std::set<IpAddress> seen;
  std::vector<MaglevBackend> out;
  const int weights_kind = std::uniform_int_distribution<int>(0, 3)(rng);
  while (out.size() < n) {
    IpAddress::Bytes b{};
    if (rng() % 2) {
      b[10] = b[11] = 0xff;
      b[12] = 10;
      b[15] = uint8_t(rng());
    } else {
      b[0] = 0x20;
      b[1] = 0x01;
      b[15] = uint8_t(rng());
    }
    const IpAddress a = IpAddress::from_bytes(b);
    if (!seen.insert(a).second) continue;
    // Equal; 0..10; one heavy backend in ~16 among light ones; spread up to UINT32_MAX.
    uint32_t w = 1;
    if (weights_kind == 1) w = rng() % 11;
    if (weights_kind == 2) w = rng() % 16 == 0 ? 500 + rng() % 500 : rng() % 4;
    if (weights_kind == 3) w = rng() % 3 == 0 ? UINT32_MAX : rng() % 100000;
    out.push_back({a, w});
  }
  return out;
}

TEST(MaglevTable, MatchesNaiveReferenceOnRandomSets) {
  std::mt19937 rng(2016);
  int cases = 0;
  for (uint32_t m : {2u, 3u, 7u, 13u, 101u, 251u, 1009u, 4099u}) {
    for (int i = 0; i < 60; ++i) {
      const auto backends = random_set(rng, m);
      const MaglevTable table = build_ok(backends, m);
      const auto expected = naive_maglev(backends, m);
      ASSERT_EQ(entries_of(table), expected)
          << "M=" << m << " N=" << backends.size() << " case " << i;
      ++cases;
    }
  }
  EXPECT_EQ(cases, 480);
}

TEST(MaglevTable, MatchesNaiveReferenceAtDefaultSize) {
  // Large enough for every phase of the optimised builder to run for long.
  auto backends = pool(1000);  // the pool of TableChecksumsArePinned
  EXPECT_EQ(entries_of(build_ok(backends, 65537)), naive_maglev(backends, 65537));
  for (size_t i = 0; i < backends.size(); ++i) backends[i].weight = i == 5 ? 500 : uint32_t(i % 3);
  EXPECT_EQ(entries_of(build_ok(backends, 65537)), naive_maglev(backends, 65537));
  for (size_t i = 0; i < backends.size(); ++i) backends[i].weight = uint32_t(i % 7) + 3;
  EXPECT_EQ(entries_of(build_ok(backends, 65537)), naive_maglev(backends, 65537));
}

}  // namespace
}  // namespace steer::hashing
