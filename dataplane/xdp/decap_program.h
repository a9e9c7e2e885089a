// DOC: loader for steer_decap, the backend-side decapsulation program (steer-decap command).
//
// A backend behind steer receives its clients' packets inside IPIP / 6in4 / IP6IP6 / 4in6 or
// GUE variant 1 (see dataplane/packet/encap.h) and answers the client directly (DSR). Hosts
// with the ipip/ip6_tunnel/fou modules decapsulate in the kernel; hosts without them run
// steer_decap.bpf.c, which this module attaches in one of three modes:
//   Xdp         native XDP (driver mode; veth supports it),
//   XdpGeneric  generic XDP (any device, slower),
//   Tc          tc clsact ingress filter (handle kTcHandle, priority kTcPriority).
// The loader fills the program's maps: the GUE port, the accepted outer destinations (by
// default the device's addresses at attach time) and an optional allow list of outer source
// prefixes. A steer_decap program is recognised by its name, so attach replaces a stale one
// in any mode and detach removes every one; a foreign XDP program is never replaced.
//
// Programs stay attached after the loader exits (netlink XDP attach and tc filters are not
// tied to a process); their maps live as long as they are attached.
// Threading: control path, any thread. Errors are one line an operator can act on.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip_address.h"
#include "common/result.h"
#include "dataplane/xdp/steer_xdp_abi.h"

namespace steer::dataplane::xdp {

enum class DecapMode : uint8_t { Xdp, XdpGeneric, Tc };

// "xdp", "xdp-generic", "tc".
std::string_view decap_mode_name(DecapMode mode);
std::optional<DecapMode> parse_decap_mode(std::string_view text);

// tc filter identity of the Tc mode on the clsact ingress hook.
inline constexpr uint32_t kTcHandle = 0x57ee;
inline constexpr uint32_t kTcPriority = 1;

// An address prefix; `length` counts bits of the address's own family (0..32 for IPv4).
struct IpPrefix {
  IpAddress address;
  uint8_t length = 0;

  // "10.0.0.0/8", "2001:db8::/32"; a bare address is a host prefix. Host bits are cleared.
  static std::optional<IpPrefix> parse(std::string_view text);
  std::string to_string() const;
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads a defaulted <=>
  friend auto operator<=>(const IpPrefix&, const IpPrefix&) = default;
};

struct DecapOptions {
  DecapMode mode = DecapMode::Xdp;
  uint16_t gue_port = 6080;  // outer UDP destination port of GUE (dataplane kDefaultGuePort)
  // Outer source prefixes allowed to tunnel in; empty = any source. When not empty, an
  // encapsulated packet from another source is dropped.
  std::vector<IpPrefix> allow;
  // Outer destinations to decapsulate; empty = the device's addresses at attach time
  // (error if it has none). Ignored when any_destination.
  std::vector<IpAddress> destinations;
  bool any_destination = false;
  // Tc mode: re-inject cross-family packets instead of using BPF_F_ADJ_ROOM_DECAP_L3_* (what
  // the program does by itself on kernels before 6.3); for testing that path.
  bool tc_redirect_fallback = false;
  // The compiled object; empty = default_bpf_dir() + "/steer_decap.bpf.o".
  std::string object_path;
};

// What is attached to one interface, read back from the kernel.
struct DecapStatus {
  bool attached = false;
  DecapMode mode = DecapMode::Xdp;
  uint32_t prog_id = 0;
  uint16_t gue_port = 0;
  bool any_destination = true;
  std::vector<IpAddress> destinations;  // sorted
  std::vector<IpPrefix> allow;          // sorted; empty = any source
  bool tc_redirect_fallback = false;
  std::array<uint64_t, STEER_DECAP_COUNTER_COUNT> counters{};  // summed over CPUs
};

// Short name of counter `i` (enum steer_decap_counter): "ipip", "not_local", ...
std::string_view decap_counter_name(size_t i);

// Loads steer_decap, fills its maps and attaches it to `ifname` in opts.mode, replacing any
// steer_decap program already attached in any mode. Returns the resulting status.
// Error: no such interface, a foreign XDP program is attached (XDP modes), the device has no
// address and no destination was given, the object cannot be loaded, or the kernel refused.
Result<DecapStatus> attach_decap(const std::string& ifname, const DecapOptions& opts);

// Detaches every steer_decap program from `ifname`; true if one was attached.
Result<bool> detach_decap(const std::string& ifname);

// The steer_decap program attached to `ifname` (attached = false if none).
Result<DecapStatus> decap_status(const std::string& ifname);

}  // namespace steer::dataplane::xdp
