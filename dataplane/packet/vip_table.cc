#include "dataplane/packet/vip_table.h"

#include <algorithm>
#include <bit>

#include <fmt/format.h>

namespace steer::dataplane {

namespace {

constexpr uint8_t kTcp = 6;
constexpr uint8_t kUdp = 17;

// Smallest power of two ≥ 2·n (load ≤ 0.5), at least 2 so an empty table still has an empty
// slot to end every probe chain.
size_t capacity_for(size_t n) { return std::bit_ceil(std::max<size_t>(2, 2 * n)); }

}  // namespace

VipTable::VipTable()
    : slots_(2, Slot{0, 0, 0, kNoVip}), addr_slots_(2, Slot{0, 0, 0, kNoVip}), mask_(1),
      addr_mask_(1) {}

Result<VipTable> VipTable::build(std::span<const VipTableEntry> entries) {
  VipTable t;
  t.slots_.assign(capacity_for(entries.size()), Slot{0, 0, 0, kNoVip});
  t.mask_ = t.slots_.size() - 1;

  for (const VipTableEntry& e : entries) {
    if (e.proto != kTcp && e.proto != kUdp) {
      return fail(fmt::format("VIP {} port {}: protocol {} is neither TCP (6) nor UDP (17)",
                              e.address, e.port, e.proto));
    }
    if (e.vip_index == kNoVip) {
      return fail(fmt::format("VIP {} proto {} port {}: vip_index {} is reserved", e.address,
                              e.proto, e.port, e.vip_index));
    }
    const uint16_t port_be = uint16_t(e.port << 8 | e.port >> 8);
    if (t.find(e.address.data(), e.proto, port_be) != kNoVip) {
      return fail(fmt::format("duplicate VIP {} proto {} port {}", e.address, e.proto, e.port));
    }
    const uint64_t hi = load64(e.address.data());
    const uint64_t lo = load64(e.address.data() + 8);
    const uint32_t pp = pack_port_proto(port_be, e.proto);
    size_t i = mix(hi, lo, pp) & t.mask_;
    while (t.slots_[i].vip_index != kNoVip) i = (i + 1) & t.mask_;
    t.slots_[i] = Slot{hi, lo, pp, e.vip_index};
    if (e.port == 0) t.has_all_ports_ = true;
    ++t.size_;
  }

  // Address table: sized for the entry count (an upper bound on the distinct addresses),
  // holding the lowest vip_index per address.
  t.addr_slots_.assign(t.slots_.size(), Slot{0, 0, 0, kNoVip});
  t.addr_mask_ = t.addr_slots_.size() - 1;
  for (const VipTableEntry& e : entries) {
    const uint64_t hi = load64(e.address.data());
    const uint64_t lo = load64(e.address.data() + 8);
    for (size_t i = mix(hi, lo, 0) & t.addr_mask_;; i = (i + 1) & t.addr_mask_) {
      Slot& s = t.addr_slots_[i];
      if (s.vip_index == kNoVip) {
        s = Slot{hi, lo, 0, e.vip_index};
        break;
      }
      if (s.addr_hi == hi && s.addr_lo == lo) {
        s.vip_index = std::min(s.vip_index, e.vip_index);
        break;
      }
    }
  }
  return t;
}

uint32_t VipTable::lookup_address(const uint8_t addr16[16]) const noexcept {
  const uint64_t hi = load64(addr16);
  const uint64_t lo = load64(addr16 + 8);
  for (size_t i = mix(hi, lo, 0) & addr_mask_;; i = (i + 1) & addr_mask_) {
    const Slot& s = addr_slots_[i];
    if (s.vip_index == kNoVip) return kNoVip;
    if (s.addr_hi == hi && s.addr_lo == lo) return s.vip_index;
  }
}

}  // namespace steer::dataplane
