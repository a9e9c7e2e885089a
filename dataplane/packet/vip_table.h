// DOC: VipTable — which VIP, if any, a packet is addressed to.
//
// A VIP is (address, protocol, port). Port 0 is an all-ports VIP: it takes every port of that
// address and protocol that no exact-port VIP claims. lookup() answers for one packet's FlowKey
// (exact port first, then the all-ports VIP); lookup_address() answers "is this address a VIP
// at all" for ICMP echo and for ICMP errors sent to a VIP address.
//
// Layout: two open-addressing tables with linear probing and a power-of-two capacity at load
// ≤ 0.5 — one keyed by (address, protocol, port), one keyed by address alone (holding the
// lowest vip_index on that address). A slot is 24 bytes; an empty slot has vip_index ==
// kNoVip, and a probe chain always ends at an empty slot because the load is at most one half.
// The hash is one multiply-xorshift over the address words, protocol and port: the table is
// small and built by us, so it needs spread, not resistance to crafted keys (the key set is
// the operator's configuration, not packet data).
// Measured (bench/flow_table_bench.cc, VipTable*, 1 k VIPs, -O2, EPYC 2 vCPU): a hit costs
// about 3 ns, a miss (two probes: exact, then all-ports) about 4 ns.
//
// Threading: build() allocates and runs off the hot path (the snapshot builder). A built
// table is immutable and may be read by any number of worker lcores at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "common/flow_key.h"
#include "common/ip_address.h"
#include "common/result.h"

namespace steer::dataplane {

// lookup() result when the packet is addressed to no VIP.
inline constexpr uint32_t kNoVip = UINT32_MAX;

struct VipTableEntry {
  IpAddress address;
  uint8_t proto = 0;      // 6 (TCP) or 17 (UDP)
  uint16_t port = 0;      // host byte order; 0 = all ports
  uint32_t vip_index = 0; // caller's index of the VIP (anything but kNoVip)
};

class VipTable {
 public:
  // An empty table: every lookup answers kNoVip.
  VipTable();

  // Builds the table. Fails, naming the offending entry, when an entry repeats an
  // (address, proto, port) already given, when proto is neither TCP (6) nor UDP (17), or when
  // vip_index is kNoVip. The same address may carry any number of (proto, port) VIPs.
  static Result<VipTable> build(std::span<const VipTableEntry> entries);

  // Hot path. The vip_index for the packet with this key: the VIP on (key.dst, key.proto,
  // key.dst_port) if there is one, else the all-ports VIP on (key.dst, key.proto), else
  // kNoVip. Reads key.dst, key.proto and key.dst_port_be only. No allocation.
  uint32_t lookup(const FlowKey& key) const noexcept {
    const uint32_t exact = find(key.dst, key.proto, key.dst_port_be);
    if (exact != kNoVip || !has_all_ports_) return exact;
    return find(key.dst, key.proto, 0);
  }

  // Hot path. The lowest vip_index of any VIP on this address (canonical 16-byte form), or
  // kNoVip when the address carries no VIP.
  uint32_t lookup_address(const uint8_t addr16[16]) const noexcept;

  // Number of VIPs in the table.
  size_t size() const { return size_; }

 private:
  struct Slot {
    uint64_t addr_hi;    // address bytes 0..7, as loaded from memory
    uint64_t addr_lo;    // address bytes 8..15
    uint32_t port_proto; // dst port (network order) << 8 | proto; the low byte is never 0
    uint32_t vip_index;  // kNoVip: empty slot
  };
  static_assert(sizeof(Slot) == 24);

  static uint64_t load64(const uint8_t* p) noexcept {
    uint64_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static uint32_t pack_port_proto(uint16_t port_be, uint8_t proto) noexcept {
    return uint32_t(port_be) << 8 | proto;
  }
  static uint64_t mix(uint64_t hi, uint64_t lo, uint32_t port_proto) noexcept {
    // Multiply folds every input bit into the high half; the xorshift brings it back down so
    // the low bits (the slot index) depend on all of the key.
    uint64_t h = (hi ^ (lo * 0x9e3779b97f4a7c15ULL) ^ port_proto) * 0xbf58476d1ce4e5b9ULL;
    return h ^ (h >> 31);
  }

  uint32_t find(const uint8_t addr16[16], uint8_t proto, uint16_t port_be) const noexcept {
    const uint64_t hi = load64(addr16);
    const uint64_t lo = load64(addr16 + 8);
    const uint32_t pp = pack_port_proto(port_be, proto);
    for (size_t i = mix(hi, lo, pp) & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.vip_index == kNoVip) return kNoVip;
      if (s.addr_hi == hi && s.addr_lo == lo && s.port_proto == pp) return s.vip_index;
    }
  }

  std::vector<Slot> slots_;       // (address, proto, port) → vip_index
  std::vector<Slot> addr_slots_;  // address → lowest vip_index (port_proto unused, 0)
  size_t mask_ = 0;               // slots_.size() - 1
  size_t addr_mask_ = 0;          // addr_slots_.size() - 1
  size_t size_ = 0;
  bool has_all_ports_ = false;    // skip the second probe when no VIP has port 0
};

}  // namespace steer::dataplane
