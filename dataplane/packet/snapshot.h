// DOC: Snapshot — the complete, immutable forwarding state that worker lcores read.
//
// The control path describes the desired state as a StateSpec (VIPs with their options and
// backends, the egress settings, the flow-hash seed) and Snapshot::build() turns it into the
// structures the hot path reads: the VipTable, one Maglev slot array per VIP (slot → backend
// handle), and one EncapTarget per backend. Build validates everything first and either
// returns a complete snapshot or an error naming the first problem; nothing is half-applied.
//
// Backend handles: the flow table remembers a flow's backend as a 32-bit handle
// (index | epoch << 16). A backend keeps its handle across snapshots for as long as it stays
// in its VIP's set (same VIP address/protocol/port, same backend address), whatever else
// changes, so established flows stay put. A removed backend's index is reused only with the
// next epoch, so a stale handle in a flow table never resolves to a different backend: the
// worker sees `backend(handle) == nullptr` and chooses again. VIP ids are kept stable the same
// way, so per-VIP counters survive a reordered configuration.
//
// Weights: weight 0 means draining — the backend takes no new flows (no Maglev slots) but
// stays resolvable, so its established flows keep going to it. Removing a backend from the
// spec moves its flows (the next packet of each picks a new backend).
//
// Threading: build() allocates and runs on the control thread. A built Snapshot is immutable
// and shared read-only by all workers; its lifetime is managed by the publisher (RCU in the
// dataplane), never by the workers.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/ip_address.h"
#include "common/result.h"
#include "common/vip_key.h"
#include "dataplane/packet/encap.h"
#include "dataplane/packet/vip_table.h"
#include "hashing/flow_hash.h"
#include "hashing/maglev.h"

namespace steer::dataplane {

inline constexpr uint32_t kMaxVips = 4096;
inline constexpr uint32_t kMaxBackends = 65535;  // across all VIPs (16 index bits of a handle)
inline constexpr uint32_t kNoBackendHandle = hashing::MaglevTable::kNoBackend;

struct BackendSpec {
  IpAddress address;
  uint32_t weight = 1;  // 0 = draining: keeps its flows, takes no new ones
};

struct VipSpec {
  IpAddress address;
  uint8_t proto = 6;                                         // 6 TCP, 17 UDP
  uint16_t port = 0;                                         // host order; 0 = all ports
  uint32_t table_size = hashing::MaglevTable::kDefaultSize;  // prime
  EncapType encap = EncapType::Ipip;
  uint16_t gue_port = kDefaultGuePort;
  hashing::FlowHashMode hash_mode = hashing::FlowHashMode::FiveTuple;
  bool answer_echo = true;  // answer ICMP/ICMPv6 echo requests to this address
  std::vector<BackendSpec> backends;
};

struct EgressSpec {
  std::array<uint8_t, 6> src_mac{};  // our port's MAC
  std::array<uint8_t, 6> dst_mac{};  // next hop toward the backends
  uint16_t vlan = 0;                 // egress 802.1Q TCI; 0 = untagged
  uint16_t mtu = 1500;               // egress L3 MTU
  IpAddress source_v4;               // outer source base for IPv4 backends
  uint8_t source_v4_hash_bits = 0;   // low bits of it taken from the flow hash
  IpAddress source_v6;               // outer source base for IPv6 backends
  uint8_t source_v6_hash_bits = 0;
};

struct StateSpec {
  EgressSpec egress;
  uint64_t flow_hash_seed = hashing::kDefaultFlowHashSeed;
  std::vector<VipSpec> vips;
};

struct SnapshotBackend {
  uint32_t handle = kNoBackendHandle;  // index | epoch << 16
  uint32_t vip = 0;                    // index of its VIP in this snapshot
  uint32_t weight = 0;
  EncapTarget target;
  EncapPlan plan;  // make_encap_plan(target)
};

struct SnapshotVip {
  uint32_t id = 0;  // stable across snapshots while the VIP exists (counters index)
  IpAddress address;
  uint8_t proto = 0;
  uint16_t port = 0;
  hashing::FlowHashMode hash_mode = hashing::FlowHashMode::FiveTuple;
  bool answer_echo = false;  // true if any VIP on this address answers echo
  uint32_t table_size = 0;
  std::vector<uint32_t> slots;     // Maglev slot → backend handle (kNoBackendHandle if none)
  std::vector<uint32_t> backends;  // handles of this VIP's backends, in spec order

  // Its identity, whose text form labels its statistics (common/vip_key.h). Snapshot::build
  // accepts only TCP and UDP VIPs.
  VipKey key() const { return VipKey{address, l4_proto_of(proto).value_or(L4Proto::Tcp), port}; }
};

class Snapshot {
 public:
  // Validates `spec` and builds a snapshot. VIP indices follow the canonical order of
  // (address, protocol, port), not the order of spec.vips. `previous` (may be null) is the snapshot
  // in use: handles and VIP ids carry over from it. Errors name the VIP/backend at fault: bad
  // protocol, duplicate VIP or backend, non-prime table size, backend family without a configured
  // outer source of that family, MTU too small for an IPv6 VIP's encapsulation (IPv6 needs 1280
  // after the outer headers), more than kMaxVips VIPs or kMaxBackends backends.
  static Result<std::shared_ptr<const Snapshot>> build(const StateSpec& spec,
                                                       const Snapshot* previous,
                                                       uint64_t generation);

  uint64_t generation() const { return generation_; }
  uint64_t flow_hash_seed() const { return flow_hash_seed_; }
  const VipTable& vip_table() const { return vip_table_; }
  const std::vector<SnapshotVip>& vips() const { return vips_; }
  const SnapshotVip& vip(uint32_t index) const { return vips_[index]; }

  // Hot path. The backend a handle names, or nullptr when the handle is stale (its backend
  // left the set) or kNoBackendHandle.
  const SnapshotBackend* backend(uint32_t handle) const noexcept {
    const uint32_t index = handle & 0xffff;
    if (index >= backends_.size()) return nullptr;
    const SnapshotBackend& b = backends_[index];
    return b.handle == handle ? &b : nullptr;
  }
  // Every backend slot by index (unused indices have handle kNoBackendHandle).
  const std::vector<SnapshotBackend>& backend_slots() const { return backends_; }

  // Warnings an operator should see (e.g. Maglev table too small for the backend count).
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  uint64_t generation_ = 0;
  uint64_t flow_hash_seed_ = 0;
  VipTable vip_table_;
  std::vector<SnapshotVip> vips_;
  std::vector<SnapshotBackend> backends_;  // by handle index
  std::vector<std::string> warnings_;
  // Identity → handle/id bookkeeping carried to the next build.
  struct BackendKey {
    VipKey vip;
    IpAddress address;
    // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads a defaulted <=>
    friend auto operator<=>(const BackendKey&, const BackendKey&) = default;
  };
  std::vector<std::pair<VipKey, uint32_t>> vip_ids_;          // sorted by key
  std::vector<std::pair<BackendKey, uint32_t>> backend_ids_;  // sorted by key → handle
  std::vector<uint16_t> epochs_;  // by handle index: epoch of the latest backend given it
};

}  // namespace steer::dataplane
