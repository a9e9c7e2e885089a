// Flow hash: golden vectors for every mode and both address families, the documented byte
// definition (XXH3-64 over the 40-byte FlowKey with unused fields zeroed), which fields each
// mode sees, and seeding.
#include "hashing/flow_hash.h"

#include <cstring>

#include <gtest/gtest.h>
#include <xxhash.h>

namespace steer::hashing {
namespace {

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

constexpr FlowHashMode kModes[] = {FlowHashMode::FiveTuple, FlowHashMode::ThreeTuple,
                                   FlowHashMode::SourceOnly};

FlowKey v4_key() { return FlowKey::make(ip("192.0.2.1"), ip("198.51.100.10"), 12345, 80, 6); }
FlowKey v6_key() {
  return FlowKey::make(ip("2001:db8::1"), ip("2001:db8:ffff::80"), 54321, 443, 17);
}

TEST(FlowHash, DefaultSeedIsPinned) { EXPECT_EQ(kDefaultFlowHashSeed, 0x5eed57ee00000001ULL); }

TEST(FlowHash, GoldenVectorsV4) {
  const FlowKey k = v4_key();
  EXPECT_EQ(flow_hash(k, FlowHashMode::FiveTuple, kDefaultFlowHashSeed), 0xad012b7e8c41a70eULL);
  EXPECT_EQ(flow_hash(k, FlowHashMode::ThreeTuple, kDefaultFlowHashSeed), 0x293a7742de0661fbULL);
  EXPECT_EQ(flow_hash(k, FlowHashMode::SourceOnly, kDefaultFlowHashSeed), 0xdaa60c8ffdada0c8ULL);
}

TEST(FlowHash, GoldenVectorsV6) {
  const FlowKey k = v6_key();
  EXPECT_EQ(flow_hash(k, FlowHashMode::FiveTuple, kDefaultFlowHashSeed), 0x0a046f8da56954beULL);
  EXPECT_EQ(flow_hash(k, FlowHashMode::ThreeTuple, kDefaultFlowHashSeed), 0x02b1b469d8483cb0ULL);
  EXPECT_EQ(flow_hash(k, FlowHashMode::SourceOnly, kDefaultFlowHashSeed), 0x1e981b1b78eb04f8ULL);
}

TEST(FlowHash, GoldenVectorsOtherSeeds) {
  EXPECT_EQ(flow_hash(v4_key(), FlowHashMode::FiveTuple, 0), 0x0951a354d63c6ffbULL);
  EXPECT_EQ(flow_hash(v4_key(), FlowHashMode::FiveTuple, 1), 0xc717769cf5b914f5ULL);
}

TEST(FlowHash, IsXxh3OverTheKeyBytesWithUnusedFieldsZeroed) {
  for (const FlowKey& k : {v4_key(), v6_key()}) {
    EXPECT_EQ(flow_hash(k, FlowHashMode::FiveTuple, 99), XXH3_64bits_withSeed(&k, 40, 99));

    FlowKey three = k;
    three.src_port_be = 0;
    three.dst_port_be = 0;
    EXPECT_EQ(flow_hash(k, FlowHashMode::ThreeTuple, 99), XXH3_64bits_withSeed(&three, 40, 99));

    FlowKey source{};
    std::memcpy(source.src, k.src, 16);
    EXPECT_EQ(flow_hash(k, FlowHashMode::SourceOnly, 99), XXH3_64bits_withSeed(&source, 40, 99));
  }
}

TEST(FlowHash, FiveTupleSeesEveryField) {
  const FlowKey base = v4_key();
  const uint64_t h = flow_hash_5tuple(base, kDefaultFlowHashSeed);
  FlowKey k = base;
  k.src[15] ^= 1;
  EXPECT_NE(flow_hash_5tuple(k, kDefaultFlowHashSeed), h);
  k = base;
  k.dst[15] ^= 1;
  EXPECT_NE(flow_hash_5tuple(k, kDefaultFlowHashSeed), h);
  k = base;
  k.src_port_be ^= 1;
  EXPECT_NE(flow_hash_5tuple(k, kDefaultFlowHashSeed), h);
  k = base;
  k.dst_port_be ^= 1;
  EXPECT_NE(flow_hash_5tuple(k, kDefaultFlowHashSeed), h);
  k = base;
  k.proto = 17;
  EXPECT_NE(flow_hash_5tuple(k, kDefaultFlowHashSeed), h);
}

TEST(FlowHash, ThreeTupleIgnoresPorts) {
  const FlowKey base = v6_key();
  const uint64_t h = flow_hash_3tuple(base, kDefaultFlowHashSeed);
  FlowKey k = base;
  k.src_port_be = 0xbeef;
  k.dst_port_be = 0;
  EXPECT_EQ(flow_hash_3tuple(k, kDefaultFlowHashSeed), h);
  // ...but not the addresses or the protocol.
  k = base;
  k.proto = 6;
  EXPECT_NE(flow_hash_3tuple(k, kDefaultFlowHashSeed), h);
  k = base;
  k.src[0] ^= 0x80;
  EXPECT_NE(flow_hash_3tuple(k, kDefaultFlowHashSeed), h);
  k = base;
  k.dst[0] ^= 0x80;
  EXPECT_NE(flow_hash_3tuple(k, kDefaultFlowHashSeed), h);
}

TEST(FlowHash, FragmentsOfAFlowShareTheThreeTupleHash) {
  // The first fragment carries ports, the later ones do not: both must hash alike.
  const FlowKey first = v4_key();
  const FlowKey later = FlowKey::make(first.src_addr(), first.dst_addr(), 0, 0, first.proto);
  EXPECT_EQ(flow_hash_3tuple(first, kDefaultFlowHashSeed),
            flow_hash_3tuple(later, kDefaultFlowHashSeed));
}

TEST(FlowHash, SourceOnlyIgnoresEverythingButTheSource) {
  const FlowKey base = v4_key();
  const uint64_t h = flow_hash_source(base, kDefaultFlowHashSeed);
  const FlowKey other = FlowKey::make(base.src_addr(), ip("203.0.113.9"), 1, 2, 17);
  EXPECT_EQ(flow_hash_source(other, kDefaultFlowHashSeed), h);
  FlowKey k = base;
  k.src[15] ^= 1;
  EXPECT_NE(flow_hash_source(k, kDefaultFlowHashSeed), h);
}

TEST(FlowHash, DifferentSeedsGiveDifferentHashes) {
  for (FlowHashMode mode : kModes) {
    for (const FlowKey& k : {v4_key(), v6_key()}) {
      EXPECT_NE(flow_hash(k, mode, kDefaultFlowHashSeed), flow_hash(k, mode, 0));
      EXPECT_NE(flow_hash(k, mode, 1), flow_hash(k, mode, 2));
    }
  }
}

TEST(FlowHash, ModesGiveDifferentHashesForTheSameKey) {
  const FlowKey k = v4_key();
  EXPECT_NE(flow_hash_5tuple(k, 1), flow_hash_3tuple(k, 1));
  EXPECT_NE(flow_hash_3tuple(k, 1), flow_hash_source(k, 1));
}

TEST(FlowHash, WrappersMatchTheirModes) {
  for (const FlowKey& k : {v4_key(), v6_key()}) {
    EXPECT_EQ(flow_hash_5tuple(k, 5), flow_hash(k, FlowHashMode::FiveTuple, 5));
    EXPECT_EQ(flow_hash_3tuple(k, 5), flow_hash(k, FlowHashMode::ThreeTuple, 5));
    EXPECT_EQ(flow_hash_source(k, 5), flow_hash(k, FlowHashMode::SourceOnly, 5));
  }
}

TEST(FlowHash, V4AndItsMappedV6FormHashAlike) {
  // One canonical form: 192.0.2.1 and ::ffff:192.0.2.1 are the same client.
  const FlowKey a = FlowKey::make(ip("192.0.2.1"), ip("198.51.100.10"), 1000, 80, 6);
  const FlowKey b = FlowKey::make(ip("::ffff:192.0.2.1"), ip("::ffff:198.51.100.10"), 1000, 80, 6);
  EXPECT_EQ(flow_hash_5tuple(a, 7), flow_hash_5tuple(b, 7));
}

}  // namespace
}  // namespace steer::hashing
