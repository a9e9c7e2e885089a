#include "hashing/flow_hash.h"

#include <cstring>

// Inlined into this file only, so the hash of the fixed 40-byte key compiles to straight-line
// code (no length dispatch, no call into the shared library) without exporting xxHash's
// macros to every file that includes flow_hash.h.
#define XXH_INLINE_ALL
#include <xxhash.h>

namespace steer::hashing {

uint64_t flow_hash(const FlowKey& key, FlowHashMode mode, uint64_t seed) noexcept {
  switch (mode) {
    case FlowHashMode::FiveTuple:
      return XXH3_64bits_withSeed(&key, sizeof(FlowKey), seed);
    case FlowHashMode::ThreeTuple: {
      FlowKey k = key;
      k.src_port_be = 0;
      k.dst_port_be = 0;
      return XXH3_64bits_withSeed(&k, sizeof(FlowKey), seed);
    }
    case FlowHashMode::SourceOnly: {
      FlowKey k{};
      std::memcpy(k.src, key.src, sizeof(k.src));
      return XXH3_64bits_withSeed(&k, sizeof(FlowKey), seed);
    }
  }
  return 0;
}

}  // namespace steer::hashing
