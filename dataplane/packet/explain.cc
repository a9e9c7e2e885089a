#include "dataplane/packet/explain.h"

#include <charconv>

#include <fmt/format.h>

#include "common/vip_key.h"
#include "hashing/flow_hash.h"

namespace steer::dataplane {

FlowExplanation explain_new_flow(const Snapshot& snap, const FlowKey& key) {
  FlowExplanation e;
  const uint32_t vip = snap.vip_table().lookup(key);
  const IpAddress dst = key.dst_addr();
  const uint16_t dport = key.dst_port();
  if (vip == kNoVip) {
    e.reason =
        fmt::format("no VIP for {} port {} protocol {}", dst, dport, ip_proto_name(key.proto));
    return e;
  }
  const SnapshotVip& v = snap.vip(vip);
  e.vip_found = true;
  e.vip = vip;
  e.flow_hash = hashing::flow_hash(key, hashing::FlowHashMode::FiveTuple, snap.flow_hash_seed());
  e.vip_hash = v.hash_mode == hashing::FlowHashMode::FiveTuple
                   ? e.flow_hash
                   : hashing::flow_hash(key, v.hash_mode, snap.flow_hash_seed());
  e.slot = hashing::maglev_slot(e.vip_hash, v.table_size);
  e.handle = v.slots[e.slot];
  const SnapshotBackend* b = snap.backend(e.handle);
  if (b == nullptr) {
    e.reason = "the VIP has no backend that takes new flows: packets are dropped";
  } else {
    e.reason = fmt::format("new flow: Maglev slot {} of {} belongs to {}", e.slot, v.table_size,
                           b->target.backend);
  }
  return e;
}

Result<FlowKey> make_flow_key(std::string_view proto, std::string_view src, std::string_view sport,
                              std::string_view dst, std::string_view dport) {
  const std::optional<L4Proto> p = parse_l4_proto(proto);
  if (!p) return fail(fmt::format("'{}' is not a protocol (tcp or udp)", proto));
  auto s = IpAddress::parse(src);
  if (!s) return fail(fmt::format("'{}' is not an IP address", src));
  auto d = IpAddress::parse(dst);
  if (!d) return fail(fmt::format("'{}' is not an IP address", dst));
  if (s->is_v4() != d->is_v4()) return fail("source and destination are of different families");
  auto port = [](std::string_view t, uint16_t& out) {
    unsigned v = 0;
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (ec != std::errc() || end != t.data() + t.size() || v > 65535) return false;
    out = static_cast<uint16_t>(v);
    return true;
  };
  uint16_t sp = 0, dp = 0;
  if (!port(sport, sp)) return fail(fmt::format("'{}' is not a port", sport));
  if (!port(dport, dp)) return fail(fmt::format("'{}' is not a port", dport));
  return FlowKey::make(*s, *d, sp, dp, ip_proto_number(*p));
}

}  // namespace steer::dataplane
