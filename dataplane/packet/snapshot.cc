#include "dataplane/packet/snapshot.h"

#include <algorithm>
#include <tuple>

#include <fmt/format.h>

namespace steer::dataplane {
namespace {

template <class K>
const uint32_t* find_id(const std::vector<std::pair<K, uint32_t>>& ids, const K& key) {
  auto it = std::lower_bound(ids.begin(), ids.end(), key,
                             [](const auto& e, const K& k) { return e.first < k; });
  return it != ids.end() && it->first == key ? &it->second : nullptr;
}

}  // namespace

Result<std::shared_ptr<const Snapshot>> Snapshot::build(const StateSpec& unsorted,
                                                        const Snapshot* previous,
                                                        uint64_t generation) {
  // VIPs in canonical order (address, protocol, port), so that the snapshot — VIP indices,
  // the fragment VIP of an address (the lowest port) — does not depend on the order of the
  // configuration.
  StateSpec spec;
  spec.egress = unsorted.egress;
  spec.flow_hash_seed = unsorted.flow_hash_seed;
  spec.vips = unsorted.vips;
  std::stable_sort(spec.vips.begin(), spec.vips.end(), [](const VipSpec& a, const VipSpec& b) {
    return std::tie(a.address, a.proto, a.port) < std::tie(b.address, b.proto, b.port);
  });
  const EgressSpec& eg = spec.egress;
  if (spec.vips.size() > kMaxVips) {
    return fail(fmt::format("{} VIPs configured; the dataplane holds at most {}", spec.vips.size(),
                            kMaxVips));
  }
  size_t total_backends = 0;
  for (const VipSpec& v : spec.vips) total_backends += v.backends.size();
  if (total_backends > kMaxBackends) {
    return fail(fmt::format("{} backends configured; the dataplane holds at most {}",
                            total_backends, kMaxBackends));
  }
  const bool have_v4_source = eg.source_v4.is_v4();
  const bool have_v6_source = !eg.source_v6.is_v4() && eg.source_v6 != IpAddress();
  if (eg.source_v4_hash_bits > 32 || eg.source_v6_hash_bits > 64) {
    return fail("egress source hash bits: at most 32 for IPv4 and 64 for IPv6");
  }

  auto snap = std::make_shared<Snapshot>();
  snap->generation_ = generation;
  snap->flow_hash_seed_ = spec.flow_hash_seed;

  // VIP table and per-VIP validation.
  // Each VIP's identity, also its name in errors ("VIP 192.0.2.10:80/tcp: ...").
  std::vector<VipKey> vip_keys;
  vip_keys.reserve(spec.vips.size());
  std::vector<VipTableEntry> entries;
  entries.reserve(spec.vips.size());
  for (uint32_t i = 0; i < spec.vips.size(); ++i) {
    const VipSpec& v = spec.vips[i];
    const std::optional<L4Proto> proto = l4_proto_of(v.proto);
    if (!proto) {
      return fail(fmt::format("VIP {} port {}: protocol {} is not tcp (6) or udp (17)", v.address,
                              v.port, ip_proto_name(v.proto)));
    }
    const VipKey key{v.address, *proto, v.port};
    vip_keys.push_back(key);
    for (const BackendSpec& b : v.backends) {
      if (b.address.is_v4() && !have_v4_source) {
        return fail(fmt::format(
            "VIP {}: backend {} is IPv4 but no IPv4 encapsulation source is set", key, b.address));
      }
      if (!b.address.is_v4() && !have_v6_source) {
        return fail(fmt::format(
            "VIP {}: backend {} is IPv6 but no IPv6 encapsulation source is set", key, b.address));
      }
      EncapTarget probe;
      probe.type = v.encap;
      probe.backend = b.address;
      probe.mtu = eg.mtu;
      const uint16_t inner_mtu = encap_client_mtu(probe);
      const uint16_t needed = v.address.is_v4() ? 576 : 1280;
      if (inner_mtu < needed) {
        return fail(fmt::format(
            "VIP {}: egress MTU {} leaves {} bytes for the inner packet to backend {}; {} needs {}",
            key, eg.mtu, inner_mtu, b.address, v.address.is_v4() ? "IPv4" : "IPv6", needed));
      }
    }
    entries.push_back(VipTableEntry{v.address, v.proto, v.port, i});
  }
  auto table = VipTable::build(entries);
  if (!table) return fail(table.error().message);
  snap->vip_table_ = std::move(*table);

  // VIP ids: kept from the previous snapshot, new ones take the lowest free id.
  std::vector<bool> vip_id_used(kMaxVips, false);
  std::vector<uint32_t> vip_id(spec.vips.size(), UINT32_MAX);
  for (size_t i = 0; i < vip_keys.size(); ++i) {
    if (previous) {
      if (const uint32_t* id = find_id(previous->vip_ids_, vip_keys[i])) {
        vip_id[i] = *id;
        vip_id_used[*id] = true;
      }
    }
  }
  uint32_t next_free_vip = 0;
  for (size_t i = 0; i < vip_keys.size(); ++i) {
    if (vip_id[i] != UINT32_MAX) continue;
    while (vip_id_used[next_free_vip]) ++next_free_vip;
    vip_id[i] = next_free_vip;
    vip_id_used[next_free_vip] = true;
  }

  // Backend handles: kept when the identity was there before; otherwise the lowest free index
  // with its epoch advanced past any handle a flow table might still hold.
  struct Pending {
    BackendKey key;
    uint32_t vip;
    uint32_t backend;  // index in the VIP's spec
  };
  std::vector<Pending> pending;
  std::vector<uint32_t> handle_of;  // parallel to pending
  std::vector<bool> index_used;
  for (uint32_t vi = 0; vi < spec.vips.size(); ++vi) {
    for (uint32_t bi = 0; bi < spec.vips[vi].backends.size(); ++bi) {
      pending.push_back(
          Pending{BackendKey{vip_keys[vi], spec.vips[vi].backends[bi].address}, vi, bi});
    }
  }
  handle_of.assign(pending.size(), kNoBackendHandle);
  std::vector<uint16_t> epochs = previous ? previous->epochs_ : std::vector<uint16_t>{};
  for (size_t i = 0; i < pending.size(); ++i) {
    if (!previous) break;
    if (const uint32_t* h = find_id(previous->backend_ids_, pending[i].key)) {
      const uint32_t index = *h & 0xffff;
      if (index >= index_used.size()) index_used.resize(index + 1, false);
      if (index_used[index]) continue;  // duplicate backend in one VIP: Maglev reports it below
      index_used[index] = true;
      handle_of[i] = *h;
    }
  }
  uint32_t next_index = 0;
  for (size_t i = 0; i < pending.size(); ++i) {
    if (handle_of[i] != kNoBackendHandle) continue;
    while (next_index < index_used.size() && index_used[next_index]) ++next_index;
    if (next_index >= index_used.size()) index_used.resize(next_index + 1, false);
    index_used[next_index] = true;
    // An index handed out before gets the next epoch, so a handle a flow table still holds
    // for the index's previous backend never names this one (16-bit epochs wrap only after
    // 65536 reuses of one index, far longer than any flow stays idle in a table).
    if (next_index < epochs.size()) {
      epochs[next_index] = uint16_t(epochs[next_index] + 1);
    } else {
      epochs.resize(next_index + 1, 0);
    }
    handle_of[i] = next_index | uint32_t(epochs[next_index]) << 16;
  }
  if (epochs.size() < index_used.size()) epochs.resize(index_used.size(), 0);
  snap->epochs_ = std::move(epochs);
  snap->backends_.assign(index_used.size(), SnapshotBackend{});

  // VIPs: Maglev tables and encapsulation targets.
  snap->vips_.resize(spec.vips.size());
  size_t p = 0;
  for (uint32_t vi = 0; vi < spec.vips.size(); ++vi) {
    const VipSpec& v = spec.vips[vi];
    SnapshotVip& sv = snap->vips_[vi];
    sv.id = vip_id[vi];
    sv.address = v.address;
    sv.proto = v.proto;
    sv.port = v.port;
    sv.hash_mode = v.hash_mode;
    sv.table_size = v.table_size;
    for (const VipSpec& other : spec.vips) {
      if (other.address == v.address && other.answer_echo) sv.answer_echo = true;
    }
    std::vector<hashing::MaglevBackend> mb;
    mb.reserve(v.backends.size());
    for (const BackendSpec& b : v.backends) mb.push_back({b.address, b.weight});
    auto maglev = hashing::MaglevTable::build(mb, v.table_size);
    if (!maglev) return fail(fmt::format("VIP {}: {}", vip_keys[vi], maglev.error().message));
    if (auto w = hashing::maglev_size_warning(v.table_size, v.backends.size())) {
      snap->warnings_.push_back(fmt::format("VIP {}: {}", vip_keys[vi], *w));
    }
    for (uint32_t bi = 0; bi < v.backends.size(); ++bi, ++p) {
      const uint32_t handle = handle_of[p];
      sv.backends.push_back(handle);
      SnapshotBackend& sb = snap->backends_[handle & 0xffff];
      sb.handle = handle;
      sb.vip = vi;
      sb.weight = v.backends[bi].weight;
      EncapTarget& t = sb.target;
      t.type = v.encap;
      t.backend = v.backends[bi].address;
      t.source_v4 = eg.source_v4;
      t.source_v4_hash_bits = eg.source_v4_hash_bits;
      t.source_v6 = eg.source_v6;
      t.source_v6_hash_bits = eg.source_v6_hash_bits;
      t.gue_port = v.gue_port;
      t.mtu = eg.mtu;
      t.src_mac = eg.src_mac;
      t.dst_mac = eg.dst_mac;
      t.egress_vlan = eg.vlan;
      sb.plan = make_encap_plan(t);
      snap->backend_ids_.emplace_back(pending[p].key, handle);
    }
    sv.slots.resize(maglev->size());
    const auto entries_view = maglev->entries();
    for (uint32_t s = 0; s < maglev->size(); ++s) {
      const uint32_t owner = entries_view[s];
      sv.slots[s] =
          owner == hashing::MaglevTable::kNoBackend ? kNoBackendHandle : sv.backends[owner];
    }
    snap->vip_ids_.emplace_back(vip_keys[vi], sv.id);
  }
  std::sort(snap->vip_ids_.begin(), snap->vip_ids_.end());
  std::sort(snap->backend_ids_.begin(), snap->backend_ids_.end());
  return std::shared_ptr<const Snapshot>(std::move(snap));
}

}  // namespace steer::dataplane
