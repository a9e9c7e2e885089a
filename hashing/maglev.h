// DOC: Maglev consistent hashing (Eisenbud et al., NSDI'16, §3.4), with integer weights.
//
// A table of M slots (M prime) maps a flow hash to a backend. Each backend's preference list
// is the permutation  p(j) = (offset + j·skip) mod M  with
//   offset = XXH64(address bytes, kMaglevOffsetSeed) mod M
//   skip   = XXH64(address bytes, kMaglevSkipSeed) mod (M − 1) + 1
// over the backend's canonical 16-byte address (IpAddress). Backends take turns claiming their
// next preferred free slot; with weights, a backend of weight w takes a turn in proportion to
// w / max weight (integer credit, no floating point), and weight 0 takes no slots.
//
// The weight rule, exactly (W = the largest weight in the set): every backend of weight > 0
// starts with credit 0. In each round, backends in address order each add their weight to
// their credit; a backend whose credit is then ≥ W spends W and claims one slot. Population
// stops as soon as the last slot is claimed, possibly mid-round. With equal weights every
// backend claims a slot every round, which is the paper's algorithm unchanged. Scaling all
// weights by the same factor gives the same table.
//
// Determinism: the builder sorts backends by address before populating, so the same set with
// the same weights gives the identical table whatever order it is given in, on every LB.
// Table entries are indices into the caller's backend span (in the caller's order).
//
// Cost (bench/maglev_bench.cc; figures in docs/maglev.md): build is about M·ln M permutation
// steps: 0.64 ms at M = 65537, N = 1000 and 8 ms at M = 655373. lookup() is one
// multiply-shift and one load.
//
// Threading: build() allocates and may run on any thread; a built table is immutable and may
// be read from any number of threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/ip_address.h"
#include "common/result.h"

namespace steer::hashing {

inline constexpr uint64_t kMaglevOffsetSeed = 0x6d61'676c'6576'0001ULL;  // "maglev" 1
inline constexpr uint64_t kMaglevSkipSeed = 0x6d61'676c'6576'0002ULL;    // "maglev" 2

struct MaglevBackend {
  IpAddress address;
  uint32_t weight = 1;
};

// One backend's preference list in a table of M slots: p(j) = (offset + j·skip) mod M.
struct MaglevPermutation {
  uint32_t offset = 0;  // in [0, M)
  uint32_t skip = 1;    // in [1, M), so with M prime the list visits every slot once
};

// Maps a 64-bit flow hash onto [0, size) by multiply-shift of its low 32 bits
// (Lemire's fast range): no division on the packet path.
inline uint32_t maglev_slot(uint64_t flow_hash, uint32_t size) noexcept {
  return uint32_t((uint64_t(uint32_t(flow_hash)) * size) >> 32);
}

// True when n is prime. Trial division: control path only.
bool is_prime(uint32_t n) noexcept;

// The smallest prime ≥ n, or nullopt when there is none below 2^32. Control path only
// (used to suggest a table size in error messages and warnings).
std::optional<uint32_t> next_prime(uint32_t n) noexcept;

// The preference list of `address` in a table of `size` slots, with the hash functions and
// seeds above. `size` must be ≥ 2 (any value below is treated as 2). Pure; any thread.
MaglevPermutation maglev_permutation(const IpAddress& address, uint32_t size) noexcept;

// A warning for the operator when the table is too small for the backend count (M < 100·N):
// shares then deviate from the weights by more than about 1 %. nullopt when M is fine.
// `backend_count` counts the backends that take slots (weight > 0).
std::optional<std::string> maglev_size_warning(uint32_t size, size_t backend_count);

class MaglevTable {
 public:
  static constexpr uint32_t kDefaultSize = 65537;
  static constexpr uint32_t kMaxSize = 16'777'213;  // largest prime below 2^24
  static constexpr uint32_t kNoBackend = UINT32_MAX;

  // Builds the table. Errors: size not prime or out of [2, kMaxSize], duplicate backend
  // address, more backends than slots. An empty set, or all weights 0, gives a table whose
  // every slot is kNoBackend.
  static Result<MaglevTable> build(std::span<const MaglevBackend> backends,
                                   uint32_t size = kDefaultSize);

  uint32_t size() const { return uint32_t(entries_.size()); }
  // True when no backend has weight > 0 (every slot is kNoBackend).
  bool empty() const { return empty_; }
  // Index into the backend span given to build(), or kNoBackend.
  uint32_t lookup(uint64_t flow_hash) const noexcept {
    return entries_[maglev_slot(flow_hash, size())];
  }
  std::span<const uint32_t> entries() const { return entries_; }

 private:
  std::vector<uint32_t> entries_;
  bool empty_ = true;
};

// A fingerprint of a built table as addresses, for checking that two LBs agree: XXH3-64
// (XXH3_64bits, seed 0) over, for each slot in order, 17 bytes: 0x01 and the owner's 16-byte
// address, or 0x00 and 16 zero bytes for kNoBackend. `backends` must be the span given to
// build() (an entry outside it is hashed as 0x02 and 16 zero bytes, so it cannot match a good
// table). It does not depend on the order of the span, so the same set and weights give the
// same fingerprint on every LB. Control path: hashes 17·M bytes (about 0.1 ms at M = 65537).
uint64_t maglev_fingerprint(const MaglevTable& table, std::span<const MaglevBackend> backends);

}  // namespace steer::hashing
