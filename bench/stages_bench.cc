// Cost of each stage of the packet core on its own, for the figures written above the stages
// in dataplane/packet/*.h: parse, encapsulation (each family and type), checksums and the ICMP
// replies. Frames are built once with PacketBuilder; each iteration handles one frame in cache.
#include <cstring>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include "dataplane/packet/checksum.h"
#include "dataplane/packet/encap.h"
#include "dataplane/packet/icmp.h"
#include "dataplane/packet/parse.h"
#include "testing/support/packet_builder.h"
#include "testing/support/pipeline_harness.h"

namespace steer::dataplane {
namespace {

using testing::Bytes;
using testing::must_parse;
using testing::PacketBuilder;

void BM_Parse(benchmark::State& state, Bytes frame) {
  ParsedPacket p;
  DropReason r{};
  for (auto _ : state) {
    benchmark::DoNotOptimize(parse(frame.data(), uint32_t(frame.size()), p, r));
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
}
BENCHMARK_CAPTURE(BM_Parse, Ipv4Tcp,
                  PacketBuilder().eth().ipv4("198.51.100.7", "192.0.2.10").tcp(40000, 80).build());
BENCHMARK_CAPTURE(
    BM_Parse, Ipv6Tcp,
    PacketBuilder().eth().ipv6("2001:db8:c::7", "2001:db8::10").tcp(40000, 443).build());
BENCHMARK_CAPTURE(
    BM_Parse, Ipv4IcmpError,
    PacketBuilder()
        .eth()
        .ipv4("198.51.100.254", "192.0.2.10")
        .icmp(3, 4, 1400)
        .payload(PacketBuilder().ipv4("192.0.2.10", "198.51.100.7").tcp(80, 40000).build())
        .build());

void BM_Checksum(benchmark::State& state) {
  std::vector<uint8_t> b(size_t(state.range(0)) + 1);
  std::mt19937 rng(1);
  for (auto& c : b) c = uint8_t(rng());
  for (auto _ : state) {
    benchmark::DoNotOptimize(checksum(b.data() + 1, size_t(state.range(0))));  // unaligned
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Checksum)->Arg(20)->Arg(64)->Arg(1500)->Arg(9000);

// Encapsulation of one frame (inner family, outer family, type) with a payload of range(0).
void BM_Encap(benchmark::State& state, bool inner_v6, bool outer_v6, EncapType type) {
  PacketBuilder b;
  b.eth();
  if (inner_v6) {
    b.ipv6("2001:db8:c::7", "2001:db8::10");
  } else {
    b.ipv4("198.51.100.7", "192.0.2.10");
  }
  const Bytes frame = b.tcp(40000, 443).payload(size_t(state.range(0))).build();
  const ParsedPacket p = must_parse(frame);
  EncapTarget t;
  t.type = type;
  t.backend = *IpAddress::parse(outer_v6 ? "2001:db8:b::2" : "203.0.113.2");
  t.source_v4 = *IpAddress::parse("198.18.0.0");
  t.source_v4_hash_bits = 8;
  t.source_v6 = *IpAddress::parse("2001:db8:5::");
  t.source_v6_hash_bits = 16;
  t.mtu = 9000;
  std::vector<uint8_t> storage(128 + frame.size());
  std::memcpy(storage.data() + 128, frame.data(), frame.size());
  uint64_t hash = 0x9e3779b97f4a7c15ULL;
  for (auto _ : state) {
    // Only the Ethernet header is overwritten by a previous round: the rest stays valid.
    std::memcpy(storage.data() + 128, frame.data(), 14);
    PacketBuf buf{storage.data() + 128, uint32_t(frame.size()), 128, 0};
    hash += 0x9e3779b97f4a7c15ULL;
    benchmark::DoNotOptimize(encapsulate(buf, p, t, hash));
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
}
BENCHMARK_CAPTURE(BM_Encap, Ipip4in4, false, false, EncapType::Ipip)->Arg(0)->Arg(1400);
BENCHMARK_CAPTURE(BM_Encap, Ipip6in6, true, true, EncapType::Ipip)->Arg(0)->Arg(1400);
BENCHMARK_CAPTURE(BM_Encap, Gue4in4, false, false, EncapType::Gue)->Arg(0)->Arg(1400);
BENCHMARK_CAPTURE(BM_Encap, Gue6in6, true, true, EncapType::Gue)->Arg(0)->Arg(1400);

void BM_EchoReplyV4(benchmark::State& state) {
  const Bytes frame =
      PacketBuilder().eth().ipv4("198.51.100.7", "192.0.2.10").icmp(8, 0, 1).payload(56).build();
  const ParsedPacket p = must_parse(frame);
  std::vector<uint8_t> work(frame.size());
  for (auto _ : state) {
    std::memcpy(work.data(), frame.data(), frame.size());
    PacketBuf buf{work.data(), uint32_t(frame.size()), 0, 0};
    benchmark::DoNotOptimize(make_echo_reply(buf, p));
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
}
BENCHMARK(BM_EchoReplyV4);

void BM_TooBigReplyV4(benchmark::State& state) {
  const Bytes frame =
      PacketBuilder().eth().ipv4("198.51.100.7", "192.0.2.10").tcp(1, 2).payload(1460).build();
  const ParsedPacket p = must_parse(frame);
  std::vector<uint8_t> work(64 + frame.size());
  std::memcpy(work.data() + 64, frame.data(), frame.size());
  for (auto _ : state) {
    std::memcpy(work.data() + 64, frame.data(), 64);  // the headers a previous round moved
    PacketBuf buf{work.data() + 64, uint32_t(frame.size()), 64, 0};
    benchmark::DoNotOptimize(make_too_big_reply(buf, p, 1480));
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
}
BENCHMARK(BM_TooBigReplyV4);

}  // namespace
}  // namespace steer::dataplane
