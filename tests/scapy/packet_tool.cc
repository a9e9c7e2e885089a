// packet_tool: runs the packet core over frames given as hex, one per line on stdin, and
// prints one JSON object per frame on stdout, for cross-checks against an independent
// dissector (tests/scapy/crosscheck.py).
//
//   packet_tool parse    < frames.hex   # parse(): status, drop reason, offsets, keys
//   packet_tool pipeline < frames.hex   # process_burst() over the lab state
//                                       # (testing/support/pipeline_harness.h): verdict,
//                                       # drop reason, output frame
//
// An empty line is a zero-length frame. A line that is not hex prints {"error": ...} and the
// tool exits 2 after the last line; an unknown mode exits 2 at once. Modes are a table, so a
// new one is a function and a row.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/flow_key.h"
#include "dataplane/packet/drop_reason.h"
#include "dataplane/packet/parse.h"
#include "dataplane/packet/pipeline.h"
#include "testing/support/pipeline_harness.h"

namespace steer::tools {
namespace {

using dataplane::ParsedPacket;
using dataplane::ParseStatus;

std::optional<std::vector<uint8_t>> decode_hex(std::string_view line) {
  std::vector<uint8_t> out;
  out.reserve(line.size() / 2);
  int hi = -1;
  for (char c : line) {
    int v;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      v = c - 'A' + 10;
    } else if (c == ' ' || c == '\t' || c == '\r') {
      continue;
    } else {
      return std::nullopt;
    }
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(uint8_t(hi << 4 | v));
      hi = -1;
    }
  }
  if (hi >= 0) return std::nullopt;
  return out;
}

std::string hex(const void* p, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  const auto* b = static_cast<const uint8_t*>(p);
  std::string s;
  s.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    s.push_back(kDigits[b[i] >> 4]);
    s.push_back(kDigits[b[i] & 15]);
  }
  return s;
}

// A flat JSON object writer: keys are fixed identifiers, string values need no escaping
// (names, addresses, hex).
class JsonLine {
 public:
  JsonLine& add(std::string_view key, std::string_view str) {
    sep(key);
    out_ += '"';
    out_ += str;
    out_ += '"';
    return *this;
  }
  JsonLine& add(std::string_view key, const char* str) { return add(key, std::string_view(str)); }
  JsonLine& add(std::string_view key, bool b) {
    sep(key);
    out_ += b ? "true" : "false";
    return *this;
  }
  JsonLine& add(std::string_view key, uint64_t v) {
    sep(key);
    out_ += std::to_string(v);
    return *this;
  }
  JsonLine& null(std::string_view key) {
    sep(key);
    out_ += "null";
    return *this;
  }
  std::string str() const { return out_ + "}"; }

 private:
  void sep(std::string_view key) {
    out_ += out_.empty() ? "{" : ", ";
    out_ += '"';
    out_ += key;
    out_ += "\": ";
  }
  std::string out_;
};

void add_key(JsonLine& j, std::string_view prefix, const FlowKey& k) {
  const std::string p(prefix);
  j.add(p + "src", k.src_addr().to_string())
      .add(p + "dst", k.dst_addr().to_string())
      .add(p + "sport", uint64_t{k.src_port()})
      .add(p + "dport", uint64_t{k.dst_port()})
      .add(prefix.empty() ? std::string("key_proto") : p + "proto", uint64_t{k.proto})
      .add(p + "key_hex", hex(&k, sizeof k));
}

std::string parse_line(const std::vector<uint8_t>& frame) {
  ParsedPacket p;
  dataplane::DropReason reason{};
  const ParseStatus st = dataplane::parse(frame.data(), uint32_t(frame.size()), p, reason);
  JsonLine j;
  switch (st) {
    case ParseStatus::Ok:
      j.add("status", "ok").null("reason");
      break;
    case ParseStatus::NotIp:
      j.add("status", "not_ip").null("reason");
      break;
    case ParseStatus::Drop:
      j.add("status", "drop").add("reason", dataplane::drop_reason_name(reason));
      break;
  }
  j.add("l2_len", uint64_t{p.l2_len})
      .add("has_vlan", p.has_vlan)
      .add("vlan_tci", uint64_t{p.vlan_tci})
      .add("ethertype", uint64_t{p.ethertype})
      .add("is_v6", p.is_v6)
      .add("l3_len", uint64_t{p.l3_len})
      .add("ip_total_len", uint64_t{p.ip_total_len})
      .add("tos", uint64_t{p.tos})
      .add("ttl", uint64_t{p.ttl})
      .add("df", p.df)
      .add("flow_label", uint64_t{p.flow_label})
      .add("is_fragment", p.is_fragment)
      .add("first_fragment", p.first_fragment)
      .add("more_fragments", p.more_fragments)
      .add("frag_offset", uint64_t{p.frag_offset})
      .add("frag_id", uint64_t{p.frag_id})
      .add("proto", uint64_t{p.proto})
      .add("l4_offset", uint64_t{p.l4_offset})
      .add("tcp_flags", uint64_t{p.tcp_flags});
  add_key(j, "", p.key);
  j.add("icmp_type", uint64_t{p.icmp_type})
      .add("icmp_code", uint64_t{p.icmp_code})
      .add("icmp_is_error", p.icmp_is_error)
      .add("has_inner", p.has_inner)
      .add("inner_l3_offset", uint64_t{p.inner_l3_offset});
  add_key(j, "inner_", p.inner_key);
  add_key(j, "swapped_", dataplane::swapped_inner_key(p));
  return j.str();
}

// One pipeline (flow table and all) over the lab state for the whole run, so repeated
// 5-tuples hit the flow table the way a worker lcore's would.
std::string pipeline_line(const std::vector<uint8_t>& frame) {
  static const auto snap = testing::must_build(testing::lab_state());
  static auto ctx = std::move(*dataplane::PipelineContext::create({{1 << 16}}));
  uint64_t before[dataplane::kDropReasonCount];
  std::copy_n(ctx.counters().drops, dataplane::kDropReasonCount, before);
  const auto r = testing::run_one(ctx, *snap, frame);
  static constexpr std::string_view kVerdicts[] = {"forward", "reply", "pass", "drop"};
  std::string out = "{\"verdict\": \"";
  out += kVerdicts[static_cast<int>(r.verdict)];
  out += "\", \"drop\": \"";
  for (size_t i = 0; i < dataplane::kDropReasonCount; ++i) {
    if (ctx.counters().drops[i] != before[i]) out += dataplane::kDropReasonNames[i];
  }
  out += "\", \"out\": \"" + testing::to_hex(r.out) + "\"}";
  return out;
}

struct Mode {
  std::string_view name;
  std::string (*run)(const std::vector<uint8_t>& frame);
};
constexpr Mode kModes[] = {
    {"parse", parse_line},
    {"pipeline", pipeline_line},
};

int run(int argc, char** argv) {
  const Mode* mode = nullptr;
  if (argc == 2)
    for (const Mode& m : kModes)
      if (m.name == argv[1]) mode = &m;
  if (!mode) {
    std::fprintf(stderr, "usage: packet_tool MODE < hex-frames   (modes:");
    for (const Mode& m : kModes) std::fprintf(stderr, " %.*s", int(m.name.size()), m.name.data());
    std::fprintf(stderr, ")\n");
    return 2;
  }
  int rc = 0;
  std::string line;
  while (std::getline(std::cin, line)) {
    const auto frame = decode_hex(line);
    if (!frame) {
      std::cout << "{\"error\": \"not hex\"}\n";
      rc = 2;
      continue;
    }
    std::cout << mode->run(*frame) << '\n';
  }
  std::cout.flush();
  return rc;
}

}  // namespace
}  // namespace steer::tools

int main(int argc, char** argv) { return steer::tools::run(argc, argv); }
