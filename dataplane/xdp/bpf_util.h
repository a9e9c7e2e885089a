// DOC: small libbpf helpers shared by steer's BPF loaders (xsk_program, decap_program).
//
// An owned file descriptor (Fd), interface lookup, "which XDP programs are attached where",
// and "find the map named X used by program Y" — the way a second process reaches the maps
// of a program it did not load (interface -> program id -> map ids -> map names).
// Control path only; every function is safe to call from any thread (no shared state).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <linux/bpf.h>

#include "common/result.h"

namespace steer::dataplane::xdp {

// An owned file descriptor; closed on destruction. Movable, not copyable.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void reset();

 private:
  int fd_ = -1;
};

// strerror-like text for a positive errno value.
std::string errno_text(int err);

// The interface index of `ifname`. Error: no such interface.
Result<int> interface_index(const std::string& ifname);

// The XDP programs attached to an interface, per attach mode (0 = none).
struct XdpAttachment {
  uint32_t drv_prog_id = 0;  // native (driver) mode
  uint32_t skb_prog_id = 0;  // generic (skb) mode
  uint32_t hw_prog_id = 0;   // offloaded
  bool any() const { return drv_prog_id != 0 || skb_prog_id != 0 || hw_prog_id != 0; }
};
Result<XdpAttachment> query_xdp(int ifindex);

// Opens a loaded program by id. Error: it no longer exists, or no permission.
Result<Fd> prog_fd_by_id(uint32_t prog_id);
// The kernel's view of a program (name, type, map ids are not filled in).
Result<bpf_prog_info> prog_info(int prog_fd);
// The map called `name` among the maps used by the program `prog_fd`, opened.
// Error: the program uses no such map.
Result<Fd> find_prog_map(int prog_fd, std::string_view name);
// The kernel's view of a map.
Result<bpf_map_info> map_info(int map_fd);

// Reads entries 0..count-1 of a per-CPU array of __u64 and sums each over all CPUs.
Result<std::vector<uint64_t>> read_percpu_counters(int map_fd, uint32_t count);

// Sends libbpf's own messages (warnings, verifier logs) to stderr when `verbose`, otherwise
// drops them; steer reports its own one-line errors. Process-wide.
void set_libbpf_verbose(bool verbose);

}  // namespace steer::dataplane::xdp
