// libFuzzer target for parse(): any byte string is an Ethernet frame. Beyond "no crash, no
// read past the end" (ASan), it checks the invariants later stages rely on and traps when one
// breaks. Seed corpus: tests/fuzz/corpus/parse_fuzz/ (tests/scapy/make_parse_corpus.py).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "dataplane/packet/parse.h"

namespace {

using steer::FlowKey;
using steer::dataplane::DropReason;
using steer::dataplane::kDropReasonCount;
using steer::dataplane::ParsedPacket;
using steer::dataplane::ParseStatus;

// A value outside the enum: parse() must overwrite it on Drop and leave it otherwise.
constexpr auto kUnset = static_cast<DropReason>(kDropReasonCount);

void check(bool ok) {
  if (!ok) __builtin_trap();
}

bool pad_is_zero(const FlowKey& k) { return k.pad[0] == 0 && k.pad[1] == 0 && k.pad[2] == 0; }

bool keys_equal(const FlowKey& a, const FlowKey& b) { return std::memcmp(&a, &b, sizeof a) == 0; }

void check_ok(const ParsedPacket& p, uint32_t len) {
  check(p.l2_len == 14 || p.l2_len == 18);
  check(p.has_vlan == (p.l2_len == 18));
  check(p.l4_offset == p.l2_len + p.l3_len);
  // The datagram fits in the frame and the L4 offset lies inside it.
  check(p.l2_len + p.ip_total_len <= len);
  check(p.l4_offset <= p.l2_len + p.ip_total_len);
  check(p.is_v6 ? p.l3_len >= 40 : (p.l3_len >= 20 && p.l3_len <= 60 && p.l3_len % 4 == 0));
  check(p.key.proto == p.proto);
  check(pad_is_zero(p.key));
  if (!p.is_v6) check(p.key.src_addr().is_v4() && p.key.dst_addr().is_v4());
  if (p.first_fragment) check(p.is_fragment && p.frag_offset == 0);
  if (p.is_fragment && !p.first_fragment) {
    check(p.key.src_port_be == 0 && p.key.dst_port_be == 0 && p.icmp_type == 0);
  }
  if (p.icmp_is_error) check(p.proto == (p.is_v6 ? 58 : 1));
  if (p.has_inner) {
    check(p.icmp_is_error);
    check(p.inner_l3_offset == p.l4_offset + 8);
    check(p.inner_l3_offset + (p.is_v6 ? 40u : 20u) <= p.l2_len + p.ip_total_len);
    check(pad_is_zero(p.inner_key));
    const FlowKey s = swapped_inner_key(p);
    check(std::memcmp(s.src, p.inner_key.dst, 16) == 0);
    check(std::memcmp(s.dst, p.inner_key.src, 16) == 0);
    check(s.src_port_be == p.inner_key.dst_port_be && s.dst_port_be == p.inner_key.src_port_be);
  } else {
    check(keys_equal(p.inner_key, FlowKey{}));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 0xffff) return 0;  // frames beyond 64 KiB add nothing but slowness
  // An exact-size heap copy, so a read one byte past the end is caught by ASan.
  const std::vector<uint8_t> frame(data, data + size);
  const uint32_t len = uint32_t(size);

  ParsedPacket p;
  DropReason reason = kUnset;
  const ParseStatus st = parse(frame.data(), len, p, reason);
  switch (st) {
    case ParseStatus::Ok:
      check(reason == kUnset);
      check_ok(p, len);
      break;
    case ParseStatus::NotIp:
      check(p.l2_len == 14 || p.l2_len == 18);
      check(p.ethertype != steer::dataplane::kEtherTypeIpv4 &&
            p.ethertype != steer::dataplane::kEtherTypeIpv6);
      break;
    case ParseStatus::Drop:
      check(static_cast<size_t>(reason) < kDropReasonCount);
      break;
  }

  // Deterministic: a second parse into a dirty ParsedPacket gives the same verdict and key.
  ParsedPacket q = p;
  q.has_inner = !q.has_inner;
  DropReason reason2 = kUnset;
  check(parse(frame.data(), len, q, reason2) == st);
  check(keys_equal(q.key, p.key) && keys_equal(q.inner_key, p.inner_key));
  check(q.has_inner == p.has_inner);
  if (st == ParseStatus::Drop) check(reason2 == reason);
  return 0;
}
