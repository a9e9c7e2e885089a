// DOC: user-space side of steer_xsk, the XDP program net_af_xdp runs in front of steer.
//
// steer-dataplane passes `xdp_prog=<xsk_program_path()>` to DPDK's net_af_xdp, which loads
// steer_xsk.bpf.c, attaches it to the interface and binds one AF_XDP socket per RX queue in
// its map `xsks_map`. The program sends a packet to the socket only when its destination is
// in the map `vip_map`; everything else goes to the kernel. This module does the two things
// DPDK does not:
//   - detach_stale_xdp(): before the port starts, remove the program a killed process left
//     attached (DPDK attaches with "only if none is attached" and fails otherwise);
//   - VipMap: after the port started, find the program DPDK attached (interface -> program
//     id -> its map called vip_map) and keep that map equal to the set of VIP addresses.
//     The map dies with the program, so it must be filled again after every port start.
//
// Threading: control path only (the API/main lcore); no function here touches the data path.
// Every failure is an Error with one line an operator can act on.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/ip_address.h"
#include "common/result.h"
#include "dataplane/xdp/bpf_util.h"

namespace steer::dataplane::xdp {

// The directory holding the compiled BPF objects (steer_xsk.bpf.o, steer_decap.bpf.o):
// $STEER_BPF_DIR when set and not empty, else the directory they were built in.
std::string default_bpf_dir();
// default_bpf_dir() + "/steer_xsk.bpf.o": the value for net_af_xdp's xdp_prog= devarg.
std::string xsk_program_path();

// Detaches every XDP program attached to `ifname` (native, generic and offloaded modes),
// whoever attached it. Returns true if one was detached, false if none was attached.
// Error: no such interface, or the kernel refused (e.g. not root).
Result<bool> detach_stale_xdp(const std::string& ifname);

// steer_xsk's counters, summed over CPUs (see enum steer_xsk_counter in steer_xdp_abi.h).
struct XskStats {
  uint64_t redirected = 0;  // to a VIP, handed to the AF_XDP socket of its queue
  uint64_t no_socket = 0;   // to a VIP, no socket bound for its queue: passed to the kernel
  uint64_t passed = 0;      // not to a VIP: passed to the kernel
  uint64_t malformed = 0;   // truncated headers: passed to the kernel
};

// The VIP set of the steer_xsk program attached to one interface. Owns file descriptors of
// the program's maps (closed on destruction; the maps live as long as the program is
// attached). Movable, not copyable.
class VipMap {
 public:
  // Finds the steer_xsk program attached to `ifname` (any XDP mode) and opens its maps.
  // Error: no such interface, no XDP program attached, the attached program is not
  // steer_xsk (its name is given), or its maps do not have the expected layout.
  static Result<VipMap> open(const std::string& ifname);

  // Makes the map's contents exactly `addresses` (duplicates are fine): adds the missing
  // ones first, then deletes the others, so a VIP in both the old and new set is never
  // absent. Error: more than STEER_XSK_MAX_VIPS addresses (nothing is changed), or a map
  // update failed (the map may then hold part of the change; sync again).
  Result<void> sync(std::span<const IpAddress> addresses);

  // The addresses now in the map, sorted.
  Result<std::vector<IpAddress>> addresses() const;

  // The program's counters summed over CPUs.
  Result<XskStats> stats() const;

  // The id of the program whose maps these are (as shown by `bpftool prog`).
  uint32_t prog_id() const { return prog_id_; }

 private:
  VipMap(Fd vip_map, Fd stats_map, uint32_t prog_id)
      : vip_map_(std::move(vip_map)), stats_map_(std::move(stats_map)), prog_id_(prog_id) {}

  Fd vip_map_;
  Fd stats_map_;
  uint32_t prog_id_ = 0;
};

}  // namespace steer::dataplane::xdp
