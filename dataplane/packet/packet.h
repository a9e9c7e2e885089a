// DOC: PacketBuf, a frame in a buffer with headroom and tailroom.
//
// The packet core works on this view so the same code runs over a std::vector in tests,
// fuzzers and tools, and over a single-segment rte_mbuf in the dataplane with no copy: the
// DPDK adapter fills data/len/headroom/tailroom from the mbuf and writes data_off/data_len back
// after processing. Encapsulation grows the frame into the headroom (prepend); ICMP replies
// shrink it (trim). Plain struct; owned by one lcore at a time.
#pragma once

#include <cstdint>

namespace steer::dataplane {

struct PacketBuf {
  uint8_t* data = nullptr;  // first byte of the Ethernet frame
  uint32_t len = 0;         // bytes of frame at data
  uint32_t headroom = 0;    // writable bytes before data
  uint32_t tailroom = 0;    // writable bytes after data + len

  // Grows the frame by n bytes at the front. False (and unchanged) without room.
  bool prepend(uint32_t n) noexcept {
    if (n > headroom) return false;
    data -= n;
    len += n;
    headroom -= n;
    return true;
  }
  // Removes n bytes from the front. False (and unchanged) when n > len.
  bool adj(uint32_t n) noexcept {
    if (n > len) return false;
    data += n;
    len -= n;
    headroom += n;
    return true;
  }
  // Cuts the frame to n bytes (no-op when already shorter or equal).
  void trim_to(uint32_t n) noexcept {
    if (n >= len) return;
    tailroom += len - n;
    len = n;
  }
  // Grows the frame by n bytes at the end. False (and unchanged) without room.
  bool append(uint32_t n) noexcept {
    if (n > tailroom) return false;
    len += n;
    tailroom -= n;
    return true;
  }
};

}  // namespace steer::dataplane
