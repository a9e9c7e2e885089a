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
//
// Exactly, for a key k (40 bytes, padding zero as FlowKey requires) and seed s:
//   FiveTuple  = XXH3_64bits_withSeed(k, 40, s)
//   ThreeTuple = XXH3_64bits_withSeed(k with src_port_be = dst_port_be = 0, 40, s)
//   SourceOnly = XXH3_64bits_withSeed(k with everything but src zeroed, 40, s)
//
// Cost: about 3 ns per key in every mode (bench/maglev_bench.cc, BM_FlowHash). The hash is
// defined here, inline, with xxHash compiled into the caller (XXH_INLINE_ALL), so the compiler
// sees the constant 40-byte length and, through the wrappers, the mode: measured 2.7 ns per
// 5-tuple key against 3.4 ns for the same code behind a call, alone or in a 32-key burst.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "common/flow_key.h"

#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#define STEER_FLOW_HASH_DEFINED_XXH_INLINE_ALL
#endif
#include <xxhash.h>
#ifdef STEER_FLOW_HASH_DEFINED_XXH_INLINE_ALL
#undef XXH_INLINE_ALL
#undef STEER_FLOW_HASH_DEFINED_XXH_INLINE_ALL
#endif

namespace steer::hashing {

enum class FlowHashMode : uint8_t { FiveTuple, ThreeTuple, SourceOnly };

// The seed used when the configuration names none.
inline constexpr uint64_t kDefaultFlowHashSeed = 0x5eed'57ee'0000'0001ULL;

namespace flow_hash_detail {

// Word 4 of the key holds bytes 32..39: ports (32..35), protocol (36), padding (37..39).
static_assert(offsetof(FlowKey, src_port_be) == 32 && offsetof(FlowKey, proto) == 36);
inline constexpr uint64_t kKeepProtoAndPad = std::endian::native == std::endian::little
                                                 ? 0xffff'ffff'0000'0000ULL
                                                 : 0x0000'0000'ffff'ffffULL;

}  // namespace flow_hash_detail

// The functions below are `static`: xxHash's inlined functions have internal linkage, so a
// definition with external linkage calling them would differ between translation units.

// The flow hash of `key` in `mode` with `seed` (see the exact definition above). Never fails.
static inline uint64_t flow_hash(const FlowKey& key, FlowHashMode mode, uint64_t seed) noexcept {
  // Fields are cleared by masking whole 64-bit words, not by storing into the 2-byte port
  // fields: a narrow store followed by the hash's 8-byte loads of the same bytes defeats
  // store-to-load forwarding (measured 7.6 ns instead of 3 ns for ThreeTuple).
  uint64_t w[5];
  static_assert(sizeof(w) == sizeof(FlowKey));
  std::memcpy(w, &key, sizeof(w));
  switch (mode) {
    case FlowHashMode::FiveTuple:
      break;
    case FlowHashMode::ThreeTuple:
      w[4] &= flow_hash_detail::kKeepProtoAndPad;
      break;
    case FlowHashMode::SourceOnly:
      w[2] = w[3] = w[4] = 0;
      break;
  }
  return XXH3_64bits_withSeed(w, sizeof(w), seed);
}

static inline uint64_t flow_hash_5tuple(const FlowKey& key, uint64_t seed) noexcept {
  return flow_hash(key, FlowHashMode::FiveTuple, seed);
}
static inline uint64_t flow_hash_3tuple(const FlowKey& key, uint64_t seed) noexcept {
  return flow_hash(key, FlowHashMode::ThreeTuple, seed);
}
static inline uint64_t flow_hash_source(const FlowKey& key, uint64_t seed) noexcept {
  return flow_hash(key, FlowHashMode::SourceOnly, seed);
}

}  // namespace steer::hashing
