#include "dataplane/packet/flow_table.h"

#include <algorithm>
#include <new>

#include <fmt/format.h>

namespace steer::dataplane {

Result<FlowTable> FlowTable::create(const FlowTableConfig& config) {
  if (config.capacity == 0) return fail("flow table capacity must be at least 1");
  if (config.capacity > kMaxCapacity) {
    return fail(fmt::format("flow table capacity {} is above the maximum {}", config.capacity,
                            kMaxCapacity));
  }
  const std::pair<const char*, uint32_t> timeouts[] = {
      {"tcp", config.tcp_idle_timeout_ms},
      {"udp", config.udp_idle_timeout_ms},
      {"other", config.other_idle_timeout_ms},
  };
  for (const auto& [name, ms] : timeouts) {
    if (ms > kMaxIdleTimeoutMs) {
      return fail(fmt::format("flow table {} idle timeout {} ms is above the maximum {} ms", name,
                              ms, kMaxIdleTimeoutMs));
    }
  }

  const uint32_t buckets = std::bit_ceil((config.capacity + kWays - 1) / kWays);
  FlowTable t;
  // Value-initialised: every tag is 0 (empty), and zeroing touches every page now rather than
  // on the first packets.
  t.buckets_.reset(new (std::nothrow) Bucket[buckets]());
  t.slots_.reset(new (std::nothrow) Slot[size_t{buckets} * kWays]());
  if (!t.buckets_ || !t.slots_) {
    return fail(fmt::format("flow table: cannot allocate {} MiB for {} flows",
                            (size_t{buckets} * (sizeof(Bucket) + kWays * sizeof(Slot))) >> 20,
                            size_t{buckets} * kWays));
  }
  t.mask_ = buckets - 1;
  t.timeout_[kClassTcp] = config.tcp_idle_timeout_ms;
  t.timeout_[kClassUdp] = config.udp_idle_timeout_ms;
  t.timeout_[kClassOther] = config.other_idle_timeout_ms;
  return t;
}

bool FlowTable::erase(const FlowKey& key, uint64_t hash) noexcept {
  const uint32_t b = bucket_index(hash);
  Bucket& bk = buckets_[b];
  for (uint32_t m = match(bk, make_tag(hash, key.proto)); m != 0; m &= m - 1) {
    const uint32_t w = static_cast<uint32_t>(std::countr_zero(m));
    if (!same_key(slots_[b * kWays + w].key, key)) continue;
    bk.tag[w] = 0;
    --occupancy_;
    return true;
  }
  return false;
}

uint32_t FlowTable::sweep(uint32_t now_ms, uint32_t max_buckets) noexcept {
  uint32_t freed = 0;
  const uint32_t n = std::min(max_buckets, mask_ + 1);
  for (uint32_t i = 0; i < n; ++i) {
    Bucket& bk = buckets_[sweep_cursor_];
    for (uint32_t w = 0; w < kWays; ++w) {
      if (bk.tag[w] != 0 && expired(bk, w, now_ms)) {
        bk.tag[w] = 0;
        ++freed;
      }
    }
    sweep_cursor_ = (sweep_cursor_ + 1) & mask_;
  }
  occupancy_ -= freed;
  counters_.expirations += freed;
  return freed;
}

}  // namespace steer::dataplane
