#include "testing/support/pipeline_harness.h"

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "dataplane/packet/parse.h"

namespace steer::testing {

using dataplane::BackendSpec;
using dataplane::EncapType;
using dataplane::StateSpec;
using dataplane::VipSpec;

Frame::Frame(const Bytes& bytes, uint32_t headroom, uint32_t tailroom)
    : storage_(headroom + bytes.size() + tailroom, 0xee) {
  std::copy(bytes.begin(), bytes.end(), storage_.begin() + headroom);
  buf_.data = storage_.data() + headroom;
  buf_.len = uint32_t(bytes.size());
  buf_.headroom = headroom;
  buf_.tailroom = tailroom;
}

bool Frame::consistent() const {
  return buf_.data - storage_.data() == std::ptrdiff_t(buf_.headroom) &&
         size_t{buf_.headroom} + buf_.len + buf_.tailroom == storage_.size();
}

namespace {

IpAddress ip(const char* text) {
  auto a = IpAddress::parse(text);
  if (!a) {
    std::fprintf(stderr, "bad address %s\n", text);
    std::abort();
  }
  return *a;
}

VipSpec vip(const char* addr, uint8_t proto, uint16_t port, EncapType encap,
            std::vector<BackendSpec> backends) {
  VipSpec v;
  v.address = ip(addr);
  v.proto = proto;
  v.port = port;
  v.encap = encap;
  v.backends = std::move(backends);
  return v;
}

}  // namespace

StateSpec lab_state() {
  StateSpec s;
  s.egress.src_mac = parse_mac(kLbMac);
  s.egress.dst_mac = parse_mac(kRouterMac);
  s.egress.mtu = 1500;
  s.egress.source_v4 = ip("198.18.0.0");
  s.egress.source_v4_hash_bits = 8;
  s.egress.source_v6 = ip("2001:db8:5::");
  s.egress.source_v6_hash_bits = 16;
  s.vips.push_back(vip("192.0.2.10", 6, 80, EncapType::Ipip,
                       {{ip("203.0.113.1"), 1}, {ip("203.0.113.2"), 1}, {ip("203.0.113.3"), 1}}));
  s.vips.push_back(
      vip("192.0.2.10", 17, 0, EncapType::Gue, {{ip("203.0.113.4"), 1}, {ip("203.0.113.5"), 1}}));
  s.vips.push_back(vip("192.0.2.20", 6, 80, EncapType::Ipip, {{ip("2001:db8:b::3"), 1}}));
  s.vips.back().answer_echo = false;
  s.vips.push_back(vip("192.0.2.30", 6, 80, EncapType::Ipip, {{ip("203.0.113.9"), 0}}));
  s.vips.push_back(vip("2001:db8::10", 6, 443, EncapType::Ipip,
                       {{ip("2001:db8:b::1"), 1}, {ip("2001:db8:b::2"), 1}}));
  s.vips.push_back(vip("2001:db8::20", 17, 53, EncapType::Gue, {{ip("2001:db8:b::4"), 1}}));
  return s;
}

std::shared_ptr<const dataplane::Snapshot> must_build(const StateSpec& spec,
                                                      const dataplane::Snapshot* previous,
                                                      uint64_t generation) {
  auto snap = dataplane::Snapshot::build(spec, previous, generation);
  if (!snap) {
    std::fprintf(stderr, "snapshot: %s\n", snap.error().message.c_str());
    std::abort();
  }
  return *snap;
}

RunResult run_one(dataplane::PipelineContext& ctx, const dataplane::Snapshot& snap,
                  const Bytes& frame, uint32_t now_ms) {
  Frame f(frame);
  dataplane::Verdict v{};
  dataplane::process_burst(ctx, snap, &f.buf(), &v, 1, now_ms);
  return RunResult{v, f.bytes()};
}

dataplane::ParsedPacket must_parse(const Bytes& frame) {
  dataplane::ParsedPacket p;
  dataplane::DropReason r{};
  const auto status = dataplane::parse(frame.data(), uint32_t(frame.size()), p, r);
  if (status != dataplane::ParseStatus::Ok) {
    const std::string_view why =
        status == dataplane::ParseStatus::NotIp ? "not IP" : dataplane::drop_reason_name(r);
    std::fprintf(stderr, "must_parse: frame does not parse: %.*s\n", int(why.size()), why.data());
    std::abort();
  }
  return p;
}

std::string outer_destination(const Bytes& frame) {
  dataplane::ParsedPacket p;
  dataplane::DropReason r{};
  if (dataplane::parse(frame.data(), uint32_t(frame.size()), p, r) != dataplane::ParseStatus::Ok)
    return "";
  return p.key.dst_addr().to_string();
}

}  // namespace steer::testing
