// DOC: FlowTable — the per-lcore connection table: FlowKey → backend, with idle timeouts.
//
// A packet whose flow is in the table goes to the backend recorded for it, so a Maglev table
// change does not move established connections. The table is set-associative: the flow hash
// picks a bucket (hash bits 32..56) and a 24-bit signature (hash bits 8..31); a flow lives in
// one of the kWays ways of its bucket. A full bucket reuses an idle-expired way first and
// otherwise evicts its least recently used way (ms granularity; ties go to the lowest way).
//
// Layout (one bucket = one cache line, read first; keys in a parallel slot array, read only
// on a signature match):
//
//   Bucket (64 B, alignas 64)                  Slot (64 B, alignas 64), index way·buckets + bucket
//   ┌─────────────────────────────────────┐    ┌──────────────────────────────────────────┐
//   │ tag[8]       sig24 << 8 | class     │    │ FlowKey key (40 B)  uint32 value  pad    │
//   │ last_seen[8] ms, wrapping uint32    │    └──────────────────────────────────────────┘
//   └─────────────────────────────────────┘
//
// class is 1 TCP, 2 UDP, 3 any other protocol (ICMP echo, GRE, ESP, ...), and selects the
// idle timeout; tag 0 marks an empty way (class is never 0). The class is a function of the
// key, so it is part of the compared tag. The full 40-byte key is compared on every signature
// match: two flows are never confused, whatever their hashes. Fixing the slot at
// way·buckets + bucket needs no slot index in the bucket, which buys 8 ways per line instead
// of 5. The slot array is way-major: a table that is not full uses its low ways, and those
// sit together at the start of the array instead of every 512 bytes — with bucket-major
// slots a quarter-full table touched only a quarter of the cache sets (BM_PipelineHitV4,
// 64 k flows in a 256 k table: 178 ns per packet bucket-major, 57 ns way-major, one run).
//
// Measured cost per key (bench/flow_table_bench.cc, -O2 without -march, 2-vCPU AMD EPYC VM
// shared with other work, so ±15%; table sized at twice the flows; bursts of 32 with every
// bucket of the burst prefetched first, as the pipeline does):
//                        64 k flows    1 M flows
//   lookup hit             ~6 ns         ~41 ns    (bucket line + slot line from DRAM)
//   lookup miss            ~1.5 ns       ~8 ns     (bucket line only)
//   insert, evicting       ~11 ns        ~47 ns
// Prefetching only the next key's bucket instead gives ~59 ns per hit at 1 M flows.
// Choices these figures settled: the signature compare uses SSE2 (miss at 64 k: 1.4 ns, vs
// 4.0 ns for the scalar loop GCC emits at -O2); a slot is padded to a full line so key and
// value never straddle two lines (48-byte slots, 25% less memory: hit at 1 M 44 ns vs 41 ns);
// large arrays ask for transparent huge pages (with 4 KiB pages: hit at 1 M 44 ns vs 41 ns).
//
// Time: now_ms is a wrapping uint32 millisecond clock supplied by the caller; ages are
// computed by unsigned subtraction, so the wrap every 49.7 days is harmless. An entry idle
// for more than 2^32 ms would look young again; calling sweep() from the poll loop reclaims
// idle entries long before. An entry idle for more than its timeout is expired: lookup()
// treats it as a miss and frees it; insert() reuses its way first.
//
// Counters identity (after any sequence of calls):
//   occupancy() == inserts − evictions − expirations − (successful erase() calls)
//
// Threading: one table per lcore, never shared. create() allocates (and touches every page,
// so the hot path takes no page faults); nothing allocates afterwards. All other calls are
// noexcept and must come from the owning thread.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "common/flow_key.h"
#include "common/result.h"

namespace steer::dataplane {

struct FlowTableConfig {
  uint32_t capacity = 0;                    // flows; rounded up (see FlowTable::create)
  uint32_t tcp_idle_timeout_ms = 300'000;   // proto 6
  uint32_t udp_idle_timeout_ms = 30'000;    // proto 17
  uint32_t other_idle_timeout_ms = 30'000;  // every other protocol (ICMP echo, GRE, ...)
};

// Plain per-lcore counters, summed by the reader.
struct FlowTableCounters {
  uint64_t hits = 0;         // lookups that found a live flow
  uint64_t misses = 0;       // lookups that found none (new flow, or its entry had expired)
  uint64_t inserts = 0;      // new entries created (overwriting a live key is not counted)
  uint64_t evictions = 0;    // live flows pushed out of a full bucket, breaking their stickiness;
                             // ~1% of flows at half load is chance, more means the table is too
                             // small for the flow count
  uint64_t expirations = 0;  // entries freed because they were idle past their timeout
};

class FlowTable {
 public:
  static constexpr uint32_t kWays = 8;
  // Largest capacity create() accepts: 2^28 flows is 16 GiB of slots.
  static constexpr uint32_t kMaxCapacity = 1u << 28;
  // Largest idle timeout create() accepts (~24.8 days), far from the 2^32 ms clock wrap.
  static constexpr uint32_t kMaxIdleTimeoutMs = 0x7fff'ffffu;

  // Allocates a table for at least config.capacity flows: the bucket count is
  // ceil(capacity / kWays) rounded up to a power of two, so capacity() may exceed the request.
  // Fails when capacity is 0 or above kMaxCapacity, when a timeout is above
  // kMaxIdleTimeoutMs, or when memory cannot be allocated. Control path only.
  static Result<FlowTable> create(const FlowTableConfig& config);

  // Movable (a moved-from table may only be destroyed or assigned to), not copyable.
  FlowTable(FlowTable&&) noexcept = default;
  FlowTable& operator=(FlowTable&&) noexcept = default;
  FlowTable(const FlowTable&) = delete;
  FlowTable& operator=(const FlowTable&) = delete;
  ~FlowTable() = default;

  // Hot path. True and `value` set when the flow is present and not idle-expired; a hit makes
  // the entry the most recently used. An expired entry is freed and reported as a miss.
  // `hash` is hashing::flow_hash over the same key; `now_ms` is the lcore's clock.
  bool lookup(const FlowKey& key, uint64_t hash, uint32_t now_ms, uint32_t& value) noexcept;

  // Off the hot path (the "which backend would this flow get" query, run on the worker that
  // owns the table): like lookup() but changes nothing — no LRU refresh, no reclaim, no
  // counters. `age_ms` is the time since the flow's last packet.
  bool peek(const FlowKey& key, uint64_t hash, uint32_t now_ms, uint32_t& value,
            uint32_t& age_ms) const noexcept;

  // Hot path. Records key → value, or overwrites the value of a present key (refreshing it).
  // In a full bucket it takes an expired way first, else evicts the least recently used.
  // Never fails.
  void insert(const FlowKey& key, uint64_t hash, uint32_t now_ms, uint32_t value) noexcept;

  // Removes the key. True when it was in the table (live or expired but not yet reclaimed),
  // false when absent.
  bool erase(const FlowKey& key, uint64_t hash) noexcept;

  // Hot path. Prefetches the bucket for `hash`. Best called for every packet of a burst before
  // the first lookup (hit at 1 M flows: 42 ns, against 60 ns when prefetching only packet i+1
  // while handling packet i).
  void prefetch(uint64_t hash) const noexcept {
    __builtin_prefetch(&buckets_[bucket_index(hash)], 1, 3);
  }

  // Hot path. Prefetches the key slot of the first way of the bucket whose tag matches the
  // flow's: the second line a hit reads (a second match is a 2^-24 chance). Call it after
  // prefetch() has had time to bring the bucket in: the pipeline calls it for the whole burst
  // between its parse and lookup passes, so every hit of the burst finds both of its lines in
  // the cache. Always inlined: GCC finds a function whose only effect is a prefetch pure,
  // and deletes its calls.
  [[gnu::always_inline]] void prefetch_slot(uint8_t proto, uint64_t hash) const noexcept {
    const uint32_t b = bucket_index(hash);
    const uint32_t m = match(buckets_[b], make_tag(hash, proto));
    if (m != 0) {
      __builtin_prefetch(&slots_[slot_index(b, static_cast<uint32_t>(std::countr_zero(m)))], 0, 3);
    }
  }

  // Background reclaim, for idle moments of the poll loop: examines the next `max_buckets`
  // buckets (round robin over the table) and frees their expired entries. Returns the number
  // freed (each counted in expirations). Keeps occupancy() close to the live count and keeps
  // idle entries from living long enough to alias across the clock wrap.
  uint32_t sweep(uint32_t now_ms, uint32_t max_buckets) noexcept;

  const FlowTableCounters& counters() const { return counters_; }
  // Flows the table can hold: bucket count × kWays.
  uint32_t capacity() const { return (mask_ + 1) * kWays; }
  // Entries held, including expired entries not yet reclaimed by lookup/insert/sweep.
  size_t occupancy() const { return occupancy_; }

  // Off the hot path (stats, debug). Calls f(const FlowKey&, uint32_t value, uint32_t age_ms)
  // for every entry that is live at now_ms. Must not be called concurrently with writes.
  template <class F>
  void for_each(uint32_t now_ms, F&& f) const {
    for (uint32_t b = 0; b <= mask_; ++b) {
      const Bucket& bk = buckets_[b];
      for (uint32_t w = 0; w < kWays; ++w) {
        if (bk.tag[w] == 0) continue;
        const uint32_t age = now_ms - bk.last_seen[w];
        if (age > timeout_[bk.tag[w] & kClassMask]) continue;
        const Slot& s = slots_[slot_index(b, w)];
        f(s.key, s.value, age);
      }
    }
  }

 private:
  struct alignas(64) Bucket {
    uint32_t tag[kWays];        // sig24 << 8 | class; 0 = empty
    uint32_t last_seen[kWays];  // now_ms of the last insert or hit
  };
  static_assert(sizeof(Bucket) == 64);

  struct alignas(64) Slot {
    FlowKey key;
    uint32_t value;
  };
  static_assert(sizeof(Slot) == 64);

  static constexpr uint32_t kClassMask = 0xff;
  static constexpr uint32_t kSigMask = 0xffff'ff00;
  static constexpr uint32_t kClassTcp = 1;
  static constexpr uint32_t kClassUdp = 2;
  static constexpr uint32_t kClassOther = 3;

  FlowTable() = default;

  uint32_t slot_index(uint32_t bucket, uint32_t way) const noexcept {
    return way * (mask_ + 1) + bucket;
  }
  uint32_t bucket_index(uint64_t hash) const noexcept {
    return static_cast<uint32_t>(hash >> 32) & mask_;
  }
  static uint32_t make_tag(uint64_t hash, uint8_t proto) noexcept {
    const uint32_t cls = proto == 6 ? kClassTcp : proto == 17 ? kClassUdp : kClassOther;
    return (static_cast<uint32_t>(hash) & kSigMask) | cls;
  }
  // Bit w set when tag[w] == tag: two SSE2 compares (x86-64 baseline) instead of eight
  // scalar ones, which GCC does not vectorise at -O2.
  static uint32_t match(const Bucket& b, uint32_t tag) noexcept {
#if defined(__SSE2__)
    const __m128i t = _mm_set1_epi32(static_cast<int>(tag));
    const __m128i lo = _mm_load_si128(reinterpret_cast<const __m128i*>(&b.tag[0]));
    const __m128i hi = _mm_load_si128(reinterpret_cast<const __m128i*>(&b.tag[4]));
    const int m_lo = _mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(lo, t)));
    const int m_hi = _mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(hi, t)));
    return static_cast<uint32_t>(m_lo | m_hi << 4);
#else
    uint32_t m = 0;
    for (uint32_t w = 0; w < kWays; ++w) m |= uint32_t{b.tag[w] == tag} << w;
    return m;
#endif
  }
  static uint64_t load64(const void* p) noexcept {
    uint64_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  // FlowKey equality as five 8-byte words (its padding is always zero).
  static bool same_key(const FlowKey& a, const FlowKey& b) noexcept {
    static_assert(sizeof(FlowKey) == 40);
    const auto* x = reinterpret_cast<const uint8_t*>(&a);
    const auto* y = reinterpret_cast<const uint8_t*>(&b);
    return ((load64(x) ^ load64(y)) | (load64(x + 8) ^ load64(y + 8)) |
            (load64(x + 16) ^ load64(y + 16)) | (load64(x + 24) ^ load64(y + 24)) |
            (load64(x + 32) ^ load64(y + 32))) == 0;
  }
  bool expired(const Bucket& b, uint32_t way, uint32_t now_ms) const noexcept {
    return now_ms - b.last_seen[way] > timeout_[b.tag[way] & kClassMask];
  }

  struct FreeDeleter {
    void operator()(void* p) const noexcept;
  };

  std::unique_ptr<Bucket[], FreeDeleter> buckets_;
  std::unique_ptr<Slot[], FreeDeleter> slots_;
  uint32_t mask_ = 0;          // bucket count − 1
  uint32_t sweep_cursor_ = 0;  // next bucket sweep() examines
  uint32_t timeout_[4] = {};   // by class; [0] unused
  size_t occupancy_ = 0;
  FlowTableCounters counters_;
};

// The hot-path bodies live here so the pipeline inlines them.

inline bool FlowTable::lookup(const FlowKey& key, uint64_t hash, uint32_t now_ms,
                              uint32_t& value) noexcept {
  const uint32_t b = bucket_index(hash);
  Bucket& bk = buckets_[b];
  for (uint32_t m = match(bk, make_tag(hash, key.proto)); m != 0; m &= m - 1) {
    const uint32_t w = static_cast<uint32_t>(std::countr_zero(m));
    const Slot& s = slots_[slot_index(b, w)];
    if (!same_key(s.key, key)) continue;
    if (expired(bk, w, now_ms)) {
      bk.tag[w] = 0;
      --occupancy_;
      ++counters_.expirations;
      break;
    }
    bk.last_seen[w] = now_ms;
    value = s.value;
    ++counters_.hits;
    return true;
  }
  ++counters_.misses;
  return false;
}

inline bool FlowTable::peek(const FlowKey& key, uint64_t hash, uint32_t now_ms, uint32_t& value,
                            uint32_t& age_ms) const noexcept {
  const uint32_t b = bucket_index(hash);
  const Bucket& bk = buckets_[b];
  for (uint32_t m = match(bk, make_tag(hash, key.proto)); m != 0; m &= m - 1) {
    const uint32_t w = static_cast<uint32_t>(std::countr_zero(m));
    const Slot& s = slots_[slot_index(b, w)];
    if (!same_key(s.key, key)) continue;
    if (expired(bk, w, now_ms)) return false;
    value = s.value;
    age_ms = now_ms - bk.last_seen[w];
    return true;
  }
  return false;
}

inline void FlowTable::insert(const FlowKey& key, uint64_t hash, uint32_t now_ms,
                              uint32_t value) noexcept {
  const uint32_t b = bucket_index(hash);
  Bucket& bk = buckets_[b];
  const uint32_t tag = make_tag(hash, key.proto);
  for (uint32_t m = match(bk, tag); m != 0; m &= m - 1) {
    const uint32_t w = static_cast<uint32_t>(std::countr_zero(m));
    Slot& s = slots_[slot_index(b, w)];
    if (!same_key(s.key, key)) continue;
    if (expired(bk, w, now_ms)) {
      // The old flow ended; this is a new one that happens to reuse the tuple.
      ++counters_.expirations;
      ++counters_.inserts;
    }
    bk.last_seen[w] = now_ms;
    s.value = value;
    return;
  }

  uint32_t way;
  if (const uint32_t empty = match(bk, 0); empty != 0) {
    way = static_cast<uint32_t>(std::countr_zero(empty));
    ++occupancy_;
  } else {
    // Full bucket: the first expired way, else the oldest (first among equals).
    way = 0;
    uint32_t oldest = 0;
    bool reclaimed = false;
    for (uint32_t w = 0; w < kWays; ++w) {
      if (expired(bk, w, now_ms)) {
        way = w;
        reclaimed = true;
        break;
      }
      const uint32_t age = now_ms - bk.last_seen[w];
      if (age > oldest) {
        oldest = age;
        way = w;
      }
    }
    if (reclaimed) {
      ++counters_.expirations;
    } else {
      ++counters_.evictions;
    }
  }
  bk.tag[way] = tag;
  bk.last_seen[way] = now_ms;
  Slot& s = slots_[slot_index(b, way)];
  s.key = key;
  s.value = value;
  ++counters_.inserts;
}

}  // namespace steer::dataplane
