// DOC: VipTable — which VIP, if any, a packet is addressed to.
//
// A VIP is (address, protocol, port). Port 0 is an all-ports VIP: it takes every port of that
// address and protocol that no exact-port VIP claims. lookup() answers for one packet's FlowKey
// (exact port first, then the all-ports VIP); lookup_address() answers "is this address a VIP
// at all" for ICMP echo and for ICMP errors sent to a VIP address.
//
// Layout: two open-addressing tables with linear probing and a power-of-two capacity at load
// ≤ 0.5 — one keyed by (address, protocol, port), one keyed by (address, protocol) and by
// address alone, for the port-less questions. A slot is 24 bytes; an empty slot has vip_index
// == kNoVip, and a probe chain always ends at an empty slot because the load is at most 0.5.
// The hash is a folded 64×64→128-bit multiply of the address words, then a multiply with
// protocol and port, indexed by its top bits. It needs spread, not resistance to crafted keys:
// probe chains are made by the configured VIPs alone, so packets cannot lengthen them.
// Measured (bench/flow_table_bench.cc, BM_VipTable*, 1 k VIPs, -O2, 2-vCPU AMD EPYC VM): a hit
// costs ~2 ns, a miss (two probes: exact, then all-ports) ~3.5 ns; the longest probe is 13.
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
  uint8_t proto = 0;       // 6 (TCP) or 17 (UDP)
  uint16_t port = 0;       // host byte order; 0 = all ports
  uint32_t vip_index = 0;  // caller's index of the VIP (anything but kNoVip)
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
    const uint64_t hi = load64(key.dst);
    const uint64_t lo = load64(key.dst + 8);
    const uint32_t exact = ports_.find(hi, lo, pack(key.dst_port_be, key.proto));
    if (exact != kNoVip || !has_all_ports_) return exact;
    return ports_.find(hi, lo, pack(0, key.proto));
  }

  // Hot path. For a packet whose port is unknown (an IP fragment): the all-ports VIP on
  // (address, proto) if there is one, else the lowest vip_index among the VIPs on that address
  // with that protocol; kNoVip when there is none.
  uint32_t lookup_any_port(const uint8_t addr16[16], uint8_t proto) const noexcept {
    return addresses_.find(load64(addr16), load64(addr16 + 8), proto);
  }

  // Hot path. The lowest vip_index of any VIP on this address (canonical 16-byte form), or
  // kNoVip when the address carries no VIP.
  uint32_t lookup_address(const uint8_t addr16[16]) const noexcept {
    return addresses_.find(load64(addr16), load64(addr16 + 8), 0);
  }

  // Number of VIPs in the table.
  size_t size() const { return size_; }

  // Quality figure for tests and benchmarks: the most slots a lookup() of a configured VIP
  // examines in its probe (1 = found in its home slot).
  uint32_t max_probe_length() const { return max_probe_; }

 private:
  struct Slot {
    uint64_t addr_hi;     // address bytes 0..7, as loaded from memory
    uint64_t addr_lo;     // address bytes 8..15
    uint32_t port_proto;  // see pack()
    uint32_t vip_index;   // kNoVip: empty slot
  };
  static_assert(sizeof(Slot) == 24);

  // One open-addressing table with linear probing.
  struct Table {
    std::vector<Slot> slots;
    size_t mask = 0;  // slots.size() - 1
    int shift = 63;   // 64 - log2(slots.size()): the hash's top bits index the table

    // Sized for n keys at load ≤ 0.5, all slots empty.
    explicit Table(size_t n);

    // The slot holding the key, or the empty slot where it belongs; `probes` gets the number of
    // slots examined. Build time only.
    Slot& slot_for(uint64_t hi, uint64_t lo, uint32_t port_proto, uint32_t& probes);

    uint32_t find(uint64_t hi, uint64_t lo, uint32_t port_proto) const noexcept {
      for (size_t i = home(hi, lo, port_proto);; i = (i + 1) & mask) {
        const Slot& s = slots[i];
        if (s.vip_index == kNoVip) return kNoVip;
        if (s.addr_hi == hi && s.addr_lo == lo && s.port_proto == port_proto) return s.vip_index;
      }
    }

    // The 64×64→128-bit multiply folds every address bit into every output bit; the final
    // multiply spreads protocol and port; the top bits index the table.
    size_t home(uint64_t hi, uint64_t lo, uint32_t port_proto) const noexcept {
      const unsigned __int128 p =
          static_cast<unsigned __int128>(hi ^ 0x243f6a8885a308d3ULL) * (lo ^ 0x13198a2e03707344ULL);
      const uint64_t h = (static_cast<uint64_t>(p >> 64) ^ static_cast<uint64_t>(p) ^ port_proto) *
                         0x9e3779b97f4a7c15ULL;
      return static_cast<size_t>(h >> shift);
    }
  };

  static uint64_t load64(const uint8_t* p) noexcept {
    uint64_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  // dst port (network order) << 8 | proto. VIP protocols are never 0, so the value 0 is free
  // for the address-only keys of addresses_.
  static uint32_t pack(uint16_t port_be, uint8_t proto) noexcept {
    return uint32_t{port_be} << 8 | proto;
  }

  // (address, proto, port) → vip_index.
  Table ports_;
  // (address, proto) → lookup_any_port() answer, keyed pack(0, proto);
  // address → lowest vip_index, keyed 0.
  Table addresses_;
  size_t size_ = 0;
  uint32_t max_probe_ = 0;
  bool has_all_ports_ = false;  // lookup() skips the second probe when no VIP has port 0
};

}  // namespace steer::dataplane
