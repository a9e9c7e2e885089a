#include "dataplane/packet/vip_table.h"

#include <algorithm>
#include <bit>

#include <fmt/format.h>

namespace steer::dataplane {

namespace {

constexpr uint8_t kTcp = 6;
constexpr uint8_t kUdp = 17;

}  // namespace

VipTable::Table::Table(size_t n)
    // At least 2 slots, so even an empty table has an empty slot to end every probe.
    : slots(std::bit_ceil(std::max<size_t>(2, 2 * n)), Slot{0, 0, 0, kNoVip}),
      mask(slots.size() - 1),
      shift(64 - std::countr_zero(slots.size())) {}

VipTable::Slot& VipTable::Table::slot_for(uint64_t hi, uint64_t lo, uint32_t port_proto,
                                          uint32_t& probes) {
  probes = 1;
  for (size_t i = home(hi, lo, port_proto);; i = (i + 1) & mask, ++probes) {
    Slot& s = slots[i];
    if (s.vip_index == kNoVip) {
      s.addr_hi = hi;
      s.addr_lo = lo;
      s.port_proto = port_proto;
      return s;
    }
    if (s.addr_hi == hi && s.addr_lo == lo && s.port_proto == port_proto) return s;
  }
}

VipTable::VipTable() : ports_(0), addresses_(0) {}

Result<VipTable> VipTable::build(std::span<const VipTableEntry> entries) {
  VipTable t;
  t.ports_ = Table(entries.size());
  // Each entry adds at most two keys here: its (address, proto) and its address.
  t.addresses_ = Table(2 * entries.size());

  for (const VipTableEntry& e : entries) {
    if (e.proto != kTcp && e.proto != kUdp) {
      return fail(fmt::format("VIP {} port {}: protocol {} is neither TCP (6) nor UDP (17)",
                              e.address, e.port, e.proto));
    }
    if (e.vip_index == kNoVip) {
      return fail(fmt::format("VIP {} proto {} port {}: vip_index {} is reserved", e.address,
                              e.proto, e.port, e.vip_index));
    }
    const uint64_t hi = load64(e.address.data());
    const uint64_t lo = load64(e.address.data() + 8);
    const uint16_t port_be = uint16_t(e.port << 8 | e.port >> 8);
    uint32_t probes = 0;
    Slot& s = t.ports_.slot_for(hi, lo, pack(port_be, e.proto), probes);
    if (s.vip_index != kNoVip) {
      return fail(fmt::format("duplicate VIP {} proto {} port {}", e.address, e.proto, e.port));
    }
    s.vip_index = e.vip_index;
    t.max_probe_ = std::max(t.max_probe_, probes);
    if (e.port == 0) t.has_all_ports_ = true;
    ++t.size_;

    for (const uint32_t key : {pack(0, e.proto), uint32_t{0}}) {
      Slot& a = t.addresses_.slot_for(hi, lo, key, probes);
      a.vip_index = std::min(a.vip_index, e.vip_index);  // kNoVip (empty) is the largest
    }
  }
  // An all-ports VIP takes the port-less packets of its (address, proto), whatever its index.
  for (const VipTableEntry& e : entries) {
    if (e.port != 0) continue;
    uint32_t probes = 0;
    t.addresses_
        .slot_for(load64(e.address.data()), load64(e.address.data() + 8), pack(0, e.proto), probes)
        .vip_index = e.vip_index;
  }
  return t;
}

}  // namespace steer::dataplane
