// DOC: flow hashing — which bytes of a packet pick the backend.
//
// One 64-bit hash per packet, computed over the canonical FlowKey bytes with XXH3-64
// (xxHash 0.8, XXH3_64bits_withSeed), seeded with the deployment's flow-hash seed. The same
// hash serves the per-lcore flow table (bucket and signature) and the Maglev slot, so a packet
// is hashed once. Three variants, chosen per VIP (or per packet for fragments/ICMP errors):
//   FiveTuple  — src, dst, src port, dst port, protocol (the default);
//   ThreeTuple — src, dst, protocol, ports zeroed (IP fragments, which carry no ports);
//   SourceOnly — src only (per-VIP client affinity).
// The variants hash a copy of the key with the unused fields zeroed, so the byte layout is the
// one FlowKey documents. Golden vectors in tests/unit/hashing pin every variant: changing the
// hash, the seed handling or the layout breaks ECMP consistency across LBs and must not happen
// silently. Pure functions; any thread; noexcept.
#pragma once

#include <cstdint>

#include "common/flow_key.h"

namespace steer::hashing {

enum class FlowHashMode : uint8_t { FiveTuple, ThreeTuple, SourceOnly };

// The seed used when the configuration names none.
inline constexpr uint64_t kDefaultFlowHashSeed = 0x5eed'57ee'0000'0001ULL;

uint64_t flow_hash(const FlowKey& key, FlowHashMode mode, uint64_t seed) noexcept;

inline uint64_t flow_hash_5tuple(const FlowKey& key, uint64_t seed) noexcept {
  return flow_hash(key, FlowHashMode::FiveTuple, seed);
}
inline uint64_t flow_hash_3tuple(const FlowKey& key, uint64_t seed) noexcept {
  return flow_hash(key, FlowHashMode::ThreeTuple, seed);
}
inline uint64_t flow_hash_source(const FlowKey& key, uint64_t seed) noexcept {
  return flow_hash(key, FlowHashMode::SourceOnly, seed);
}

}  // namespace steer::hashing
