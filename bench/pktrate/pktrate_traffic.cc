// DOC: steer-pktrate-traffic — the crafted traffic tools/pktrate replays (docs/pktrate.md).
//
// Output, in --out DIR: q0.pcap .. q<N-1>.pcap (one file per worker queue: net_pcap replays one
// file per RX queue, so a file stands for what RSS would give one worker), state.json (the
// VIPs and backends to `apply`) and, on stdout, one JSON summary line.
//
// Each file holds every one of its queue's flows exactly once and is replayed in a loop, so the
// packets of a file repeat with a period of one file. Two kinds of flow:
//   established — random client tuples; after the first loop each is a flow-table hit;
//   new         — tuples that miss the flow table on every packet, although the file repeats:
//                 all of them hash into a few "churn" buckets of the worker's flow table, at
//                 least kMinChurnPerBucket per bucket, and each appears once per loop, so
//                 between two packets of one tuple the rest of its bucket (more than the 8
//                 ways) goes by and the LRU has evicted it. Each packet is a miss, a Maglev
//                 choice and an insert that evicts: what a SYN of a fresh tuple costs once the
//                 table is full. Established tuples avoid the churn buckets, so they stay hits.
// The bucket of a tuple is computed as the flow table does (hash bits 32.., flow_table.h),
// and the result is checked, not assumed: before writing anything the tool runs every file
// twice through the real packet core (process_burst, with a flow table of the same size and
// the state it wrote) and reports the new-flow fraction of the second loop; every packet must
// be forwarded, or the tool fails.
//
// Frames: Ethernet + IPv4/IPv6 + TCP (established: ACK, new: SYN) or UDP, padded to
// --frame-size bytes (default 64 on the wire = 60 in the file, no FCS), client MACs and
// addresses from the benchmarking ranges (198.18.0.0/15, 2001:db8:c::/64).
// Exit status: 0 written, 1 cannot write or self-check failed, 2 usage error.
#include <algorithm>
#include <bit>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <CLI/CLI.hpp>
#pragma GCC diagnostic pop
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/flow_key.h"
#include "common/ip_address.h"
#include "dataplane/packet/pipeline.h"
#include "dataplane/packet/snapshot.h"
#include "dataplane/state_json.h"
#include "hashing/flow_hash.h"
#include "testing/support/packet_builder.h"
#include "testing/support/pipeline_harness.h"

namespace steer::bench {
namespace {

using dataplane::Verdict;
using testing::Bytes;
using testing::PacketBuilder;

// A churn bucket needs more distinct tuples than its 8 ways, so that each one has been evicted
// by the time it comes round again; 12 leaves room for LRU ties within one millisecond.
constexpr uint32_t kMinChurnPerBucket = 12;
constexpr uint32_t kWays = dataplane::FlowTable::kWays;

struct Options {
  std::string out;
  uint32_t flows = 65536;  // distinct tuples, all queues together
  uint32_t vips = 1;
  uint32_t backends = 8;  // per VIP
  std::string proto = "tcp";
  int family = 4;
  double new_flow_pct = 0;  // percent of packets (and of tuples) that are new flows
  uint32_t queues = 1;
  uint32_t table_size = 262144;  // per worker, as [dataplane] flow_table_size
  uint32_t frame_size = 64;      // on the wire, FCS included
  std::string encap = "ipip";
  uint64_t seed = 1;
  uint64_t flow_hash_seed = hashing::kDefaultFlowHashSeed;
};

struct Tuple {
  FlowKey key;
  IpAddress src;
  uint16_t sport;
  uint32_t vip;
  bool fresh;  // a new-flow tuple
};

struct QueueTraffic {
  std::vector<Bytes> frames;
  uint32_t established = 0;
  uint32_t fresh = 0;
  uint32_t churn_buckets = 0;
};

IpAddress vip_address(const Options& o, uint32_t i) {
  if (o.family == 4) return IpAddress::from_v4_host(0xc0000200u + 10 + i);  // 192.0.2.10 + i
  return *IpAddress::parse(fmt::format("2001:db8::{:x}", 0x10 + i));
}

IpAddress backend_address(const Options& o, uint32_t vip, uint32_t j) {
  if (o.family == 4) return IpAddress::from_v4_host(0x0a020000u | vip << 8 | (j + 1));
  return *IpAddress::parse(fmt::format("fd00:2::{:x}:{:x}", vip, j + 1));
}

uint16_t vip_port(const Options& o) { return o.proto == "tcp" ? 80 : 443; }
uint8_t proto_number(const Options& o) { return o.proto == "tcp" ? 6 : 17; }

std::string state_json(const Options& o) {
  nlohmann::json vips = nlohmann::json::array();
  for (uint32_t i = 0; i < o.vips; ++i) {
    nlohmann::json backends = nlohmann::json::array();
    for (uint32_t j = 0; j < o.backends; ++j) {
      backends.push_back({{"address", backend_address(o, i, j).to_string()}, {"weight", 1}});
    }
    vips.push_back({{"address", vip_address(o, i).to_string()},
                    {"proto", o.proto},
                    {"port", vip_port(o)},
                    {"encap", o.encap},
                    {"backends", backends}});
  }
  nlohmann::json doc = {{"flow_hash_seed", fmt::format("{:#018x}", o.flow_hash_seed)},
                        {"vips", vips}};
  return doc.dump(1) + "\n";
}

IpAddress random_client(const Options& o, std::mt19937_64& rng) {
  if (o.family == 4) {
    // 198.18.0.0/15, the benchmarking range (RFC 2544).
    return IpAddress::from_v4_host(0xc6120000u | static_cast<uint32_t>(rng() & 0x1ffff));
  }
  uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0x0c};  // 2001:db8:c::/64
  const uint64_t low = rng();
  for (int i = 0; i < 8; ++i) b[8 + i] = static_cast<uint8_t>(low >> (56 - 8 * i));
  return IpAddress::from_v6(b);
}

Bytes frame_for(const Options& o, const Tuple& t) {
  PacketBuilder pb;
  pb.eth();
  const std::string src = t.src.to_string();
  const std::string dst = vip_address(o, t.vip).to_string();
  size_t headers = 14;
  if (o.family == 4) {
    pb.ipv4(src, dst);
    headers += 20;
  } else {
    pb.ipv6(src, dst);
    headers += 40;
  }
  if (o.proto == "tcp") {
    testing::TcpOptions tcp;
    tcp.flags = t.fresh ? 0x02 : 0x10;  // SYN for a new flow, ACK for an established one
    tcp.seq = static_cast<uint32_t>(t.sport) * 7919u;
    tcp.ack = t.fresh ? 0 : 1;
    pb.tcp(t.sport, vip_port(o), tcp);
    headers += 20;
  } else {
    pb.udp(t.sport, vip_port(o));
    headers += 8;
  }
  const size_t wanted = o.frame_size - 4;  // the file holds no FCS
  pb.payload(wanted > headers ? wanted - headers : 0);
  return pb.build();
}

// The tuples of one queue, in file order. Established tuples keep out of the churn buckets;
// new ones fill every churn bucket to its quota (at least kMinChurnPerBucket each).
Result<QueueTraffic> make_queue(const Options& o, uint32_t established, uint32_t fresh,
                                std::mt19937_64& rng, std::unordered_set<uint64_t>& seen) {
  const uint32_t buckets = o.table_size / kWays;
  QueueTraffic q;
  q.established = established;
  q.fresh = fresh;
  uint32_t churn = 0;
  if (fresh > 0) {
    if (fresh < kMinChurnPerBucket) {
      return fail(fmt::format(
          "{} new-flow tuples per queue are too few to miss the flow table every time (need at "
          "least {}): raise --flows or --new-flows",
          fresh, kMinChurnPerBucket));
    }
    churn = std::bit_floor(fresh / kMinChurnPerBucket);
    churn = std::min(churn, buckets / 2);
  }
  q.churn_buckets = churn;
  const uint32_t stride = churn ? buckets / churn : 0;  // both powers of two
  auto is_churn = [&](uint32_t b) { return churn != 0 && (b & (stride - 1)) == 0; };
  std::vector<uint32_t> quota(churn, fresh / std::max(churn, 1u));
  for (uint32_t i = 0; i < (churn ? fresh % churn : 0); ++i) ++quota[i];

  const uint8_t proto = proto_number(o);
  std::vector<Tuple> est, neu;
  est.reserve(established);
  neu.reserve(fresh);
  std::uniform_int_distribution<uint32_t> port_dist(1024, 65535);
  uint64_t attempts = 0;
  const uint64_t max_attempts = 64ull * (established + fresh) * std::max(stride, 1u) + 1000000;
  while (est.size() < established || neu.size() < fresh) {
    if (++attempts > max_attempts) {
      return fail("cannot find enough distinct tuples (raise --table-size or lower --flows)");
    }
    Tuple t;
    t.src = random_client(o, rng);
    t.sport = static_cast<uint16_t>(port_dist(rng));
    t.vip = static_cast<uint32_t>((est.size() + neu.size()) % o.vips);
    t.key = FlowKey::make(t.src, vip_address(o, t.vip), t.sport, vip_port(o), proto);
    const uint64_t h = hashing::flow_hash_5tuple(t.key, o.flow_hash_seed);
    const uint32_t bucket = static_cast<uint32_t>(h >> 32) & (buckets - 1);
    if (is_churn(bucket)) {
      uint32_t& left = quota[bucket / stride];
      if (neu.size() >= fresh || left == 0 || !seen.insert(h).second) continue;
      --left;
      t.fresh = true;
      neu.push_back(t);
    } else {
      if (est.size() >= established || !seen.insert(h).second) continue;
      t.fresh = false;
      est.push_back(t);
    }
  }
  std::shuffle(est.begin(), est.end(), rng);
  std::shuffle(neu.begin(), neu.end(), rng);

  // New-flow packets spread evenly through the file (Bresenham).
  const uint64_t total = established + fresh;
  q.frames.reserve(total);
  size_t ei = 0, ni = 0;
  for (uint64_t p = 0; p < total; ++p) {
    const bool take_new = (p + 1) * fresh / total > p * fresh / total;
    const Tuple& t = take_new ? neu[ni++] : est[ei++];
    q.frames.push_back(frame_for(o, t));
  }
  return q;
}

struct Prediction {
  uint64_t packets = 0;
  uint64_t forwarded = 0;
  uint64_t new_flows = 0;
  uint64_t evictions = 0;
};

// Runs the queue's file twice through the packet core as one worker would (bursts of 32, a
// clock advancing 1 ms per 10 000 packets) and returns the counters of the second loop.
Result<Prediction> predict(const Options& o, const dataplane::Snapshot& snap,
                           const std::vector<Bytes>& frames) {
  dataplane::PipelineConfig pc;
  pc.flow_table.capacity = o.table_size;
  auto ctx = dataplane::PipelineContext::create(pc);
  if (!ctx) return fail("packet core: " + ctx.error().message);
  constexpr uint32_t kBurst = 32;
  uint64_t sent = 0;
  Prediction before;
  for (int loop = 0; loop < 2; ++loop) {
    if (loop == 1) {
      before.packets = ctx->counters().rx;
      before.forwarded = ctx->counters().forwarded;
      before.new_flows = ctx->counters().new_flows;
      before.evictions = ctx->flows().counters().evictions;
    }
    for (size_t i = 0; i < frames.size(); i += kBurst) {
      const uint32_t n = static_cast<uint32_t>(std::min<size_t>(kBurst, frames.size() - i));
      std::vector<testing::Frame> burst;
      burst.reserve(n);
      dataplane::PacketBuf bufs[kBurst];
      Verdict verdicts[kBurst];
      for (uint32_t k = 0; k < n; ++k) {
        burst.emplace_back(frames[i + k]);
        bufs[k] = burst.back().buf();
      }
      const uint32_t now_ms = 1000 + static_cast<uint32_t>(sent / 10000);
      dataplane::process_burst(*ctx, snap, bufs, verdicts, n, now_ms);
      sent += n;
      for (uint32_t k = 0; k < n; ++k) {
        if (verdicts[k] != Verdict::Forward) {
          return fail(
              fmt::format("packet {} of the file is not forwarded by the packet core", i + k));
        }
      }
    }
  }
  Prediction p;
  p.packets = ctx->counters().rx - before.packets;
  p.forwarded = ctx->counters().forwarded - before.forwarded;
  p.new_flows = ctx->counters().new_flows - before.new_flows;
  p.evictions = ctx->flows().counters().evictions - before.evictions;
  return p;
}

Result<void> write_pcap(const std::string& path, const std::vector<Bytes>& frames) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return fail(fmt::format("cannot write {}", path));
  auto put32 = [&](uint32_t v) { f.write(reinterpret_cast<const char*>(&v), 4); };
  auto put16 = [&](uint16_t v) { f.write(reinterpret_cast<const char*>(&v), 2); };
  put32(0xa1b2c3d4);  // microsecond timestamps, host byte order
  put16(2);
  put16(4);
  put32(0);
  put32(0);
  put32(65535);  // snaplen
  put32(1);      // LINKTYPE_ETHERNET
  for (size_t i = 0; i < frames.size(); ++i) {
    put32(static_cast<uint32_t>(i / 1000000));
    put32(static_cast<uint32_t>(i % 1000000));
    put32(static_cast<uint32_t>(frames[i].size()));
    put32(static_cast<uint32_t>(frames[i].size()));
    f.write(reinterpret_cast<const char*>(frames[i].data()),
            static_cast<std::streamsize>(frames[i].size()));
  }
  f.close();
  if (!f) return fail(fmt::format("cannot write {}", path));
  return {};
}

Result<nlohmann::json> generate(const Options& o) {
  const std::string state = state_json(o);
  auto spec = dataplane::parse_state_json(state);
  if (!spec) return fail("state document: " + spec.error().message);
  spec->egress.dst_mac = {0x02, 0, 0, 0, 0, 0xfe};
  spec->egress.source_v4 = *IpAddress::parse("10.0.1.2");
  spec->egress.source_v6 = *IpAddress::parse("fd00:1::2");
  auto snap = dataplane::Snapshot::build(*spec, nullptr, 1);
  if (!snap) return fail("state document: " + snap.error().message);

  const uint32_t fresh_total =
      static_cast<uint32_t>(static_cast<double>(o.flows) * o.new_flow_pct / 100.0 + 0.5);
  const uint32_t est_total = o.flows - fresh_total;
  std::mt19937_64 rng(o.seed);
  std::unordered_set<uint64_t> seen;
  nlohmann::json queues = nlohmann::json::array();
  uint64_t packets = 0, predicted_new = 0, predicted_evictions = 0;
  uint32_t churn_buckets = 0;
  for (uint32_t q = 0; q < o.queues; ++q) {
    const uint32_t est = est_total / o.queues + (q < est_total % o.queues ? 1 : 0);
    const uint32_t neu = fresh_total / o.queues + (q < fresh_total % o.queues ? 1 : 0);
    auto traffic = make_queue(o, est, neu, rng, seen);
    if (!traffic) return tl::unexpected(traffic.error());
    auto pred = predict(o, **snap, traffic->frames);
    if (!pred) return tl::unexpected(pred.error());
    const std::string path = fmt::format("{}/q{}.pcap", o.out, q);
    if (auto w = write_pcap(path, traffic->frames); !w) return tl::unexpected(w.error());
    packets += traffic->frames.size();
    predicted_new += pred->new_flows;
    predicted_evictions += pred->evictions;
    churn_buckets = traffic->churn_buckets;
    queues.push_back({{"pcap", path},
                      {"packets", traffic->frames.size()},
                      {"established_flows", traffic->established},
                      {"new_flow_tuples", traffic->fresh}});
  }
  const std::string state_path = o.out + "/state.json";
  std::ofstream sf(state_path, std::ios::trunc);
  sf << state;
  sf.close();
  if (!sf) return fail(fmt::format("cannot write {}", state_path));

  const Bytes sample = frame_for(o, Tuple{FlowKey{}, random_client(o, rng), 1024, 0, false});
  return nlohmann::json{
      {"packets", packets},
      {"queues", queues},
      {"flows", o.flows},
      {"established_flows", est_total},
      {"new_flow_tuples", fresh_total},
      {"designed_new_fraction", packets ? static_cast<double>(fresh_total) / packets : 0.0},
      {"predicted_new_fraction", packets ? static_cast<double>(predicted_new) / packets : 0.0},
      {"predicted_evictions_per_loop", predicted_evictions},
      {"churn_buckets_per_queue", churn_buckets},
      {"table_size", o.table_size},
      {"frame_bytes", sample.size()},
      {"state", state_path},
  };
}

int run(int argc, char** argv) {
  Options o;
  CLI::App app{"Writes the pcap files and state document that tools/pktrate replays"};
  app.add_option("--out", o.out, "output directory (must exist)")->required();
  app.add_option("--flows", o.flows, "distinct flows (tuples), all queues together")
      ->check(CLI::Range(1u, 1u << 24));
  app.add_option("--vips", o.vips, "VIPs")->check(CLI::Range(1u, 200u));
  app.add_option("--backends", o.backends, "backends per VIP")->check(CLI::Range(1u, 250u));
  app.add_option("--proto", o.proto, "tcp or udp")->check(CLI::IsMember({"tcp", "udp"}));
  app.add_option("--family", o.family, "4 or 6")->check(CLI::IsMember({4, 6}));
  app.add_option("--new-flows", o.new_flow_pct, "percent of packets that are new flows")
      ->check(CLI::Range(0.0, 100.0));
  app.add_option("--queues", o.queues, "worker queues (one pcap each)")->check(CLI::Range(1u, 64u));
  app.add_option("--table-size", o.table_size, "flow-table entries per worker (power of two)")
      ->check(CLI::Range(64u, 1u << 28));
  app.add_option("--frame-size", o.frame_size, "frame bytes on the wire, FCS included")
      ->check(CLI::Range(64u, 1518u));
  app.add_option("--encap", o.encap, "ipip or gue")->check(CLI::IsMember({"ipip", "gue"}));
  app.add_option("--seed", o.seed, "random seed for the tuples");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if ((o.table_size & (o.table_size - 1)) != 0) {
    fmt::print(stderr, "steer-pktrate-traffic: --table-size must be a power of two\n");
    return 2;
  }
  auto result = generate(o);
  if (!result) {
    fmt::print(stderr, "steer-pktrate-traffic: {}\n", result.error().message);
    return 1;
  }
  fmt::print("{}\n", result->dump());
  return 0;
}

}  // namespace
}  // namespace steer::bench

int main(int argc, char** argv) { return steer::bench::run(argc, argv); }
