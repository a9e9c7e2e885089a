// DOC: helpers to run frames through the packet pipeline in tests, fixtures and benchmarks.
//
// Frame owns a buffer with headroom, so encapsulation can grow the frame in place exactly as
// it does in an mbuf. lab_state() is the reference configuration the packet fixtures and the
// pipeline tests share (documentation address ranges only: VIPs in 192.0.2.0/24 and
// 2001:db8::/48, clients in 198.51.100.0/24, backends in 203.0.113.0/24 and 2001:db8:b::/48).
// Test-only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/packet/packet.h"
#include "dataplane/packet/parse.h"
#include "dataplane/packet/pipeline.h"
#include "dataplane/packet/snapshot.h"
#include "testing/support/packet_builder.h"

namespace steer::testing {

inline constexpr uint32_t kTestHeadroom = 128;
inline constexpr uint32_t kTestTailroom = 64;

// A frame in a buffer with headroom and tailroom, as the dataplane hands it over. Bytes
// outside the frame are filled with 0xee so a stray write shows up. Movable; the frame stays
// where it is when the Frame moves.
class Frame {
 public:
  explicit Frame(const Bytes& bytes, uint32_t headroom = kTestHeadroom,
                 uint32_t tailroom = kTestTailroom);
  dataplane::PacketBuf& buf() { return buf_; }
  const dataplane::PacketBuf& buf() const { return buf_; }
  Bytes bytes() const { return Bytes(buf_.data, buf_.data + buf_.len); }
  // headroom + len + tailroom still describe the storage exactly.
  bool consistent() const;

 private:
  std::vector<uint8_t> storage_;
  dataplane::PacketBuf buf_;
};

// The shared reference state (see the DOC above for addresses), listed in the snapshot's
// canonical VIP order, so the index shown is the snapshot's VIP index:
//   vip 0  192.0.2.10:80/tcp      IPIP     203.0.113.1, .2, .3 (weight 1)
//   vip 1  192.0.2.10:*/udp       GUE      203.0.113.4, .5
//   vip 2  192.0.2.20:80/tcp      IPIP     2001:db8:b::3 (IPv4 in IPv6); echo not answered
//   vip 3  192.0.2.30:80/tcp      IPIP     203.0.113.9 weight 0 (no backend for new flows)
//   vip 4  [2001:db8::10]:443/tcp IPIP     2001:db8:b::1, ::2
//   vip 5  [2001:db8::20]:53/udp  GUE      2001:db8:b::4 (GUE over IPv6)
// Egress: LB MAC 02:00:00:00:00:10 → router 02:00:00:00:00:fe, MTU 1500, outer sources
// 198.18.0.0 (8 hash bits) and 2001:db8:5::/112 (16 hash bits).
dataplane::StateSpec lab_state();

// Builds a snapshot or aborts the test program with the error (test helper).
std::shared_ptr<const dataplane::Snapshot> must_build(const dataplane::StateSpec& spec,
                                                      const dataplane::Snapshot* previous = nullptr,
                                                      uint64_t generation = 1);

struct RunResult {
  dataplane::Verdict verdict;
  Bytes out;  // the frame after processing
};

// Runs one frame through process_burst.
RunResult run_one(dataplane::PipelineContext& ctx, const dataplane::Snapshot& snap,
                  const Bytes& frame, uint32_t now_ms = 1000);

// Parses a frame that must parse (test helper): aborts the program, naming the drop reason,
// when parse() does not return Ok.
dataplane::ParsedPacket must_parse(const Bytes& frame);

// The outer destination address of an encapsulated frame ("" if it does not parse).
std::string outer_destination(const Bytes& frame);

}  // namespace steer::testing
