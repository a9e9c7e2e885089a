#include "dataplane/packet/flow_table.h"

#include <cstdlib>
#include <map>
#include <random>
#include <unordered_map>
#include <utility>

#include <gtest/gtest.h>

#include "hashing/flow_hash.h"

namespace steer::dataplane {
namespace {

constexpr uint8_t kTcp = 6;
constexpr uint8_t kUdp = 17;
constexpr uint8_t kIcmp = 1;

FlowKey client(uint32_t i, uint8_t proto = kTcp) {
  return FlowKey::make(IpAddress::from_v4_host(0x0a000000 + i), IpAddress::from_v4_host(0xc0000201),
                       uint16_t(1024 + i % 60000), 443, proto);
}

uint64_t real_hash(const FlowKey& k) {
  return hashing::flow_hash_5tuple(k, hashing::kDefaultFlowHashSeed);
}

// A crafted hash: bucket index in bits 32.., signature in bits 8..31.
constexpr uint64_t crafted(uint32_t bucket, uint32_t sig24) {
  return uint64_t{bucket} << 32 | uint64_t{sig24 & 0xffffff} << 8;
}

FlowTable make(uint32_t capacity, uint32_t tcp = 300'000, uint32_t udp = 30'000,
               uint32_t other = 30'000) {
  auto t = FlowTable::create({capacity, tcp, udp, other});
  if (!t.has_value()) {
    ADD_FAILURE() << t.error().message;
    std::abort();
  }
  return std::move(*t);
}

// A flow inserted is found with its value, counted as one insert and one hit.
TEST(FlowTable, InsertThenLookupHits) {
  FlowTable t = make(1024);
  const FlowKey k = client(1);
  t.insert(k, real_hash(k), 100, 42);
  uint32_t v = 0;
  EXPECT_TRUE(t.lookup(k, real_hash(k), 101, v));
  EXPECT_EQ(v, 42u);
  EXPECT_EQ(t.counters().inserts, 1u);
  EXPECT_EQ(t.counters().hits, 1u);
  EXPECT_EQ(t.counters().misses, 0u);
  EXPECT_EQ(t.occupancy(), 1u);
}

// A lookup of an absent flow misses, leaves value alone, and is counted.
TEST(FlowTable, AbsentFlowMisses) {
  FlowTable t = make(1024);
  t.insert(client(1), real_hash(client(1)), 0, 1);
  uint32_t v = 77;
  EXPECT_FALSE(t.lookup(client(2), real_hash(client(2)), 0, v));
  EXPECT_FALSE(t.lookup(client(3), real_hash(client(3)), 0, v));
  EXPECT_EQ(v, 77u);
  EXPECT_EQ(t.counters().misses, 2u);
  EXPECT_EQ(t.counters().hits, 0u);
}

// Inserting a present key replaces its value without creating a second entry.
TEST(FlowTable, InsertOverwritesValue) {
  FlowTable t = make(64);
  const FlowKey k = client(5);
  t.insert(k, real_hash(k), 0, 1);
  t.insert(k, real_hash(k), 1, 2);
  uint32_t v = 0;
  ASSERT_TRUE(t.lookup(k, real_hash(k), 2, v));
  EXPECT_EQ(v, 2u);
  EXPECT_EQ(t.occupancy(), 1u);
  EXPECT_EQ(t.counters().inserts, 1u);
}

// The same tuple with a different protocol is a different flow.
TEST(FlowTable, ProtocolIsPartOfTheKey) {
  FlowTable t = make(64);
  const FlowKey tcp = client(5, kTcp);
  const FlowKey udp = client(5, kUdp);
  t.insert(tcp, 7, 0, 1);  // same hash on purpose
  t.insert(udp, 7, 0, 2);
  uint32_t v = 0;
  ASSERT_TRUE(t.lookup(tcp, 7, 0, v));
  EXPECT_EQ(v, 1u);
  ASSERT_TRUE(t.lookup(udp, 7, 0, v));
  EXPECT_EQ(v, 2u);
}

// An entry idle exactly its timeout is live; one millisecond more and it is gone, counted as
// a miss and an expiration, and freed.
TEST(FlowTable, UdpIdleTimeoutExpires) {
  FlowTable t = make(64, /*tcp=*/10'000, /*udp=*/100);
  const FlowKey k = client(1, kUdp);
  uint32_t v = 0;
  t.insert(k, real_hash(k), 1000, 9);
  EXPECT_TRUE(t.lookup(k, real_hash(k), 1100, v));   // idle 100: live, refreshed to 1100
  EXPECT_FALSE(t.lookup(k, real_hash(k), 1201, v));  // idle 101: expired
  EXPECT_EQ(t.counters().expirations, 1u);
  EXPECT_EQ(t.counters().misses, 1u);
  EXPECT_EQ(t.occupancy(), 0u);
  EXPECT_FALSE(t.lookup(k, real_hash(k), 1201, v));  // and stays gone
  EXPECT_EQ(t.counters().expirations, 1u);
}

// TCP and UDP flows age out on their own timeouts.
TEST(FlowTable, TcpAndUdpTimeoutsAreSeparate) {
  FlowTable t = make(64, /*tcp=*/1000, /*udp=*/100);
  const FlowKey tcp = client(1, kTcp);
  const FlowKey udp = client(2, kUdp);
  t.insert(tcp, real_hash(tcp), 0, 1);
  t.insert(udp, real_hash(udp), 0, 2);
  uint32_t v = 0;
  EXPECT_FALSE(t.lookup(udp, real_hash(udp), 101, v));
  EXPECT_TRUE(t.lookup(tcp, real_hash(tcp), 101, v));    // refreshed to 101
  EXPECT_TRUE(t.lookup(tcp, real_hash(tcp), 1101, v));   // idle 1000: still live
  EXPECT_FALSE(t.lookup(tcp, real_hash(tcp), 2102, v));  // idle 1001
  EXPECT_EQ(t.counters().expirations, 2u);
}

// Protocols other than TCP and UDP use the 'other' timeout.
TEST(FlowTable, OtherProtocolsUseOtherTimeout) {
  FlowTable t = make(64, /*tcp=*/1000, /*udp=*/1000, /*other=*/10);
  const FlowKey icmp = client(1, kIcmp);
  const FlowKey udp = client(1, kUdp);
  t.insert(icmp, real_hash(icmp), 0, 1);
  t.insert(udp, real_hash(udp), 0, 2);
  uint32_t v = 0;
  EXPECT_FALSE(t.lookup(icmp, real_hash(icmp), 11, v));
  EXPECT_TRUE(t.lookup(udp, real_hash(udp), 11, v));
}

// Ages are measured across the wrap of the 32-bit millisecond clock.
TEST(FlowTable, TimeoutsHoldAcrossClockWrap) {
  FlowTable t = make(64, /*tcp=*/1000, /*udp=*/100);
  const FlowKey tcp = client(1, kTcp);
  const FlowKey udp = client(2, kUdp);
  const uint32_t start = UINT32_MAX - 49;  // 50 ms before the wrap
  t.insert(tcp, real_hash(tcp), start, 1);
  t.insert(udp, real_hash(udp), start, 2);
  uint32_t v = 0;
  EXPECT_TRUE(t.lookup(udp, real_hash(udp), start + 100, v));    // now_ms == 50, idle 100
  EXPECT_TRUE(t.lookup(tcp, real_hash(tcp), start + 1000, v));   // now_ms == 950, idle 1000
  EXPECT_FALSE(t.lookup(udp, real_hash(udp), start + 201, v));   // idle 101
  EXPECT_TRUE(t.lookup(tcp, real_hash(tcp), start + 2000, v));   // idle 1000 again
  EXPECT_FALSE(t.lookup(tcp, real_hash(tcp), start + 3001, v));  // idle 1001
}

// In a full bucket, a new flow evicts the least recently used one (a hit counts as use).
TEST(FlowTable, LruEvictionInFullBucket) {
  FlowTable t = make(FlowTable::kWays);  // one bucket: every key collides
  ASSERT_EQ(t.capacity(), FlowTable::kWays);
  for (uint32_t i = 0; i < FlowTable::kWays; ++i) t.insert(client(i), crafted(0, i), 10 + i, i);
  uint32_t v = 0;
  ASSERT_TRUE(t.lookup(client(0), crafted(0, 0), 100, v));  // client 0 is now the newest
  t.insert(client(100), crafted(0, 100), 101, 100);         // evicts client 1 (last seen 11)
  EXPECT_EQ(t.counters().evictions, 1u);
  EXPECT_EQ(t.occupancy(), FlowTable::kWays);
  EXPECT_FALSE(t.lookup(client(1), crafted(0, 1), 102, v));
  for (uint32_t i : {0u, 2u, 3u, 4u, 5u, 6u, 7u, 100u}) {
    ASSERT_TRUE(t.lookup(client(i), crafted(0, i), 102, v)) << i;
    EXPECT_EQ(v, i);
  }
  // All ways were last seen at 102: among equals the lowest way (client 0's) goes.
  t.insert(client(101), crafted(0, 101), 103, 101);
  EXPECT_EQ(t.counters().evictions, 2u);
  EXPECT_FALSE(t.lookup(client(0), crafted(0, 0), 104, v));
  EXPECT_TRUE(t.lookup(client(101), crafted(0, 101), 104, v));
  EXPECT_EQ(t.occupancy(), FlowTable::kWays);
  EXPECT_EQ(t.counters().expirations, 0u);
}

// A full bucket gives an idle-expired way to a new flow before evicting a live one.
TEST(FlowTable, ExpiredWayIsReusedBeforeEviction) {
  FlowTable t = make(FlowTable::kWays, /*tcp=*/10'000, /*udp=*/100);
  for (uint32_t i = 0; i < FlowTable::kWays - 1; ++i) t.insert(client(i), crafted(0, i), 0, i);
  t.insert(client(50, kUdp), crafted(0, 50), 500, 50);  // newest, but short-lived
  t.insert(client(60), crafted(0, 60), 601, 60);
  EXPECT_EQ(t.counters().evictions, 0u);
  EXPECT_EQ(t.counters().expirations, 1u);
  uint32_t v = 0;
  for (uint32_t i = 0; i < FlowTable::kWays - 1; ++i)
    EXPECT_TRUE(t.lookup(client(i), crafted(0, i), 602, v));
  EXPECT_TRUE(t.lookup(client(60), crafted(0, 60), 602, v));
  EXPECT_FALSE(t.lookup(client(50, kUdp), crafted(0, 50), 602, v));
}

// Re-inserting a key whose entry expired starts a new flow: one expiration, one insert.
TEST(FlowTable, ReinsertAfterExpiryCountsNewFlow) {
  FlowTable t = make(64, /*tcp=*/100);
  const FlowKey k = client(1);
  t.insert(k, real_hash(k), 0, 1);
  t.insert(k, real_hash(k), 500, 2);
  EXPECT_EQ(t.counters().inserts, 2u);
  EXPECT_EQ(t.counters().expirations, 1u);
  EXPECT_EQ(t.occupancy(), 1u);
  uint32_t v = 0;
  ASSERT_TRUE(t.lookup(k, real_hash(k), 600, v));
  EXPECT_EQ(v, 2u);
}

// Keys with identical hashes (same bucket, same signature) are told apart by the full key.
TEST(FlowTable, SameHashDifferentKeysAreNeverConfused) {
  FlowTable t = make(1024);
  const uint64_t h = crafted(3, 0xabcdef);
  for (uint32_t i = 0; i < FlowTable::kWays; ++i) t.insert(client(i), h, 0, 1000 + i);
  uint32_t v = 0;
  for (uint32_t i = 0; i < FlowTable::kWays; ++i) {
    ASSERT_TRUE(t.lookup(client(i), h, 1, v)) << i;
    EXPECT_EQ(v, 1000 + i);
  }
  EXPECT_FALSE(t.lookup(client(99), h, 1, v));
  EXPECT_TRUE(t.erase(client(4), h));
  EXPECT_FALSE(t.lookup(client(4), h, 1, v));
  ASSERT_TRUE(t.lookup(client(5), h, 1, v));
  EXPECT_EQ(v, 1005u);
}

// Flows in different buckets never compete for ways.
TEST(FlowTable, DifferentBucketsDoNotEvictEachOther) {
  FlowTable t = make(2 * FlowTable::kWays);
  ASSERT_EQ(t.capacity(), 2 * FlowTable::kWays);
  for (uint32_t i = 0; i < 2 * FlowTable::kWays; ++i) t.insert(client(i), crafted(i % 2, 1), 0, i);
  EXPECT_EQ(t.counters().evictions, 0u);
  EXPECT_EQ(t.occupancy(), 2 * FlowTable::kWays);
}

// erase removes a present key once; the freed way takes a new flow without eviction.
TEST(FlowTable, EraseRemovesOnce) {
  FlowTable t = make(FlowTable::kWays);
  for (uint32_t i = 0; i < FlowTable::kWays; ++i) t.insert(client(i), crafted(0, i), 0, i);
  EXPECT_TRUE(t.erase(client(3), crafted(0, 3)));
  EXPECT_FALSE(t.erase(client(3), crafted(0, 3)));
  EXPECT_FALSE(t.erase(client(42), crafted(0, 42)));
  EXPECT_EQ(t.occupancy(), FlowTable::kWays - 1);
  uint32_t v = 0;
  EXPECT_FALSE(t.lookup(client(3), crafted(0, 3), 0, v));
  t.insert(client(42), crafted(0, 42), 0, 42);
  EXPECT_EQ(t.counters().evictions, 0u);
  EXPECT_EQ(t.occupancy(), FlowTable::kWays);
}

// Capacity is ceil(requested / kWays) buckets rounded up to a power of two, times kWays.
TEST(FlowTable, CapacityRoundsUpToPowerOfTwoBuckets) {
  const std::pair<uint32_t, uint32_t> cases[] = {
      {1, 8}, {8, 8}, {9, 16}, {17, 32}, {100, 128}, {1000, 1024}, {1025, 2048}, {65536, 65536}};
  for (const auto& [requested, expected] : cases) {
    EXPECT_EQ(make(requested).capacity(), expected) << requested;
  }
}

// create() refuses a zero or absurd capacity and absurd timeouts, with a message.
TEST(FlowTable, CreateRejectsBadConfig) {
  auto zero = FlowTable::create({0});
  ASSERT_FALSE(zero.has_value());
  EXPECT_EQ(zero.error().message, "flow table capacity must be at least 1");
  auto huge = FlowTable::create({FlowTable::kMaxCapacity + 1});
  ASSERT_FALSE(huge.has_value());
  EXPECT_EQ(huge.error().message, "flow table capacity 268435457 is above the maximum 268435456");
  EXPECT_FALSE(FlowTable::create({UINT32_MAX}).has_value());
  auto timeout = FlowTable::create({64, 300'000, UINT32_MAX});
  ASSERT_FALSE(timeout.has_value());
  EXPECT_EQ(timeout.error().message,
            "flow table udp idle timeout 4294967295 ms is above the maximum 2147483647 ms");
}

// for_each visits every live entry once with its age, and skips expired ones.
TEST(FlowTable, ForEachVisitsLiveEntries) {
  FlowTable t = make(64, /*tcp=*/1000, /*udp=*/100);
  t.insert(client(1), real_hash(client(1)), 0, 11);
  t.insert(client(2, kUdp), real_hash(client(2, kUdp)), 0, 22);
  t.insert(client(3), real_hash(client(3)), 150, 33);
  std::map<uint32_t, uint32_t> seen;  // value → age
  t.for_each(200, [&](const FlowKey& k, uint32_t value, uint32_t age) {
    EXPECT_EQ(k.proto, kTcp);
    seen[value] = age;
  });
  EXPECT_EQ(seen, (std::map<uint32_t, uint32_t>{{11, 200}, {33, 50}}));
}

// sweep frees expired entries bucket by bucket, round robin, and counts them.
TEST(FlowTable, SweepReclaimsExpiredEntries) {
  FlowTable t = make(4 * FlowTable::kWays, /*tcp=*/1000, /*udp=*/100);
  for (uint32_t b = 0; b < 4; ++b) {
    t.insert(client(b, kUdp), crafted(b, 1), 0, b);
    t.insert(client(b), crafted(b, 2), 0, b);
  }
  EXPECT_EQ(t.sweep(50, 4), 0u);   // nothing idle long enough yet
  EXPECT_EQ(t.sweep(101, 2), 2u);  // buckets 0 and 1
  EXPECT_EQ(t.occupancy(), 6u);
  EXPECT_EQ(t.sweep(101, 100), 2u);  // buckets 2 and 3 (the whole table at most once)
  EXPECT_EQ(t.sweep(101, 100), 0u);
  EXPECT_EQ(t.occupancy(), 4u);
  EXPECT_EQ(t.counters().expirations, 4u);
}

// A moved-to table keeps the flows and counters.
TEST(FlowTable, MoveKeepsFlows) {
  FlowTable a = make(64);
  a.insert(client(1), real_hash(client(1)), 0, 5);
  FlowTable b = std::move(a);
  uint32_t v = 0;
  ASSERT_TRUE(b.lookup(client(1), real_hash(client(1)), 0, v));
  EXPECT_EQ(v, 5u);
  EXPECT_EQ(b.counters().inserts, 1u);
}

// Random inserts, overwrites, lookups and erases agree with a std::unordered_map model when the
// table is large enough never to evict, and the counters obey their identity.
TEST(FlowTable, MatchesReferenceModel) {
  FlowTable t = make(1 << 16);
  std::unordered_map<uint32_t, uint32_t> model;  // client id → value
  std::mt19937 rng(12345);
  uint64_t erased = 0;
  uint64_t expected_hits = 0;
  uint64_t expected_misses = 0;
  uint32_t now = 0;
  for (int op = 0; op < 200'000; ++op) {
    const uint32_t id = rng() % 4000;
    const FlowKey k = client(id, id % 3 == 0 ? kUdp : kTcp);
    const uint64_t h = real_hash(k);
    t.prefetch(h);
    now += (rng() % 16 == 0) ? 1 : 0;  // stays far below every timeout over the run
    switch (rng() % 4) {
      case 0:
      case 1: {
        uint32_t v = 0;
        const bool hit = t.lookup(k, h, now, v);
        const auto it = model.find(id);
        ASSERT_EQ(hit, it != model.end()) << "op " << op;
        if (hit) {
          EXPECT_EQ(v, it->second);
          ++expected_hits;
        } else {
          ++expected_misses;
        }
        break;
      }
      case 2: {
        const uint32_t value = rng();
        t.insert(k, h, now, value);
        model[id] = value;
        break;
      }
      case 3: {
        const bool had = model.erase(id) == 1;
        ASSERT_EQ(t.erase(k, h), had) << "op " << op;
        erased += had;
        break;
      }
    }
  }
  ASSERT_LT(now, 30'000u);
  const FlowTableCounters& c = t.counters();
  EXPECT_EQ(c.evictions, 0u);
  EXPECT_EQ(c.expirations, 0u);
  EXPECT_EQ(c.hits, expected_hits);
  EXPECT_EQ(c.misses, expected_misses);
  EXPECT_EQ(t.occupancy(), model.size());
  EXPECT_EQ(t.occupancy(), c.inserts - c.evictions - c.expirations - erased);
  size_t visited = 0;
  t.for_each(now, [&](const FlowKey& k, uint32_t value, uint32_t) {
    const uint32_t id = k.src_addr().v4_host() - 0x0a000000;
    const auto it = model.find(id);
    ASSERT_NE(it, model.end());
    EXPECT_EQ(value, it->second);
    ++visited;
  });
  EXPECT_EQ(visited, model.size());
}

// Under pressure (more flows than ways), the counter identity still holds.
TEST(FlowTable, CounterIdentityHoldsUnderEviction) {
  FlowTable t = make(64, /*tcp=*/50, /*udp=*/20);
  std::mt19937 rng(7);
  uint64_t erased = 0;
  uint32_t now = UINT32_MAX - 5000;  // run across the clock wrap
  for (int op = 0; op < 100'000; ++op) {
    const uint32_t id = rng() % 2000;
    const FlowKey k = client(id, id % 2 ? kUdp : kTcp);
    const uint64_t h = real_hash(k);
    now += (rng() % 8 == 0) ? 1 : 0;  // ~150 flows inserted per TCP timeout: 64 ways overflow
    uint32_t v = 0;
    switch (rng() % 8) {
      case 0:
        erased += t.erase(k, h);
        break;
      case 1:
        t.sweep(now, 3);
        break;
      case 2:
      case 3:
      case 4:
        t.insert(k, h, now, id);
        break;
      default:
        if (t.lookup(k, h, now, v)) {
          ASSERT_EQ(v, id);
        }
    }
    ASSERT_LE(t.occupancy(), t.capacity());
  }
  const FlowTableCounters& c = t.counters();
  EXPECT_GT(c.evictions, 0u);
  EXPECT_GT(c.expirations, 0u);
  EXPECT_EQ(t.occupancy(), c.inserts - c.evictions - c.expirations - erased);
}

}  // namespace
}  // namespace steer::dataplane
