#include "dataplane/packet/pipeline.h"

#include <atomic>
#include <utility>

#include "dataplane/packet/encap.h"
#include "dataplane/packet/icmp.h"
#include "dataplane/packet/validate.h"
#include "hashing/flow_hash.h"
#include "hashing/maglev.h"

namespace steer::dataplane {
namespace {

using hashing::FlowHashMode;

bool is_icmp(uint8_t proto) { return proto == kProtoIcmp || proto == kProtoIcmpv6; }

bool is_echo_request(const ParsedPacket& p) {
  return (p.proto == kProtoIcmp && p.icmp_type == 8) ||
         (p.proto == kProtoIcmpv6 && p.icmp_type == 128);
}

// ICMPv6 neighbour discovery and router messages (133..137) and multicast listener messages
// (130..132, 143) are the host's business even when addressed to a VIP address.
bool is_icmpv6_host_control(const ParsedPacket& p) {
  return p.proto == kProtoIcmpv6 &&
         ((p.icmp_type >= 130 && p.icmp_type <= 137) || p.icmp_type == 143);
}

}  // namespace

PipelineContext::PipelineContext(FlowTable flows)
    : flows_(std::move(flows)),
      vip_counters_(kMaxVips),
      backend_counters_(kMaxBackends),
      parsed_(kMaxBurst),
      pending_(kMaxBurst) {}

Result<PipelineContext> PipelineContext::create(const PipelineConfig& config) {
  auto flows = FlowTable::create(config.flow_table);
  if (!flows) return fail(flows.error().message);
  return PipelineContext(std::move(*flows));
}

// The two passes share per-packet state through ctx.pending_; see the header for the shape.
// Measured cost: see bench/packet_bench.cc (BM_Pipeline*).
void process_burst(PipelineContext& ctx, const Snapshot& snap, PacketBuf* pkts, Verdict* verdicts,
                   uint32_t n, uint32_t now_ms) noexcept {
  PipelineCounters& c = ctx.counters_;
  const uint64_t seed = snap.flow_hash_seed();
  const VipTable& vips = snap.vip_table();

  // Raw pointers: through the vectors every access reloads their data pointer (the stores to
  // packet bytes may alias it as far as the compiler knows).
  ParsedPacket* const parsed = ctx.parsed_.data();
  PipelineContext::Pending* const pending = ctx.pending_.data();
  for (uint32_t base = 0; base < n; base += kMaxBurst) {
    const uint32_t count = n - base < kMaxBurst ? n - base : kMaxBurst;
    PacketBuf* burst = pkts + base;
    Verdict* out = verdicts + base;

    auto drop = [&](uint32_t i, DropReason r) {
      out[i] = Verdict::Drop;
      ++c.drops[static_cast<size_t>(r)];
      pending[i].kind = PipelineContext::Kind::Done;
    };
    auto done = [&](uint32_t i, Verdict v) {
      out[i] = v;
      pending[i].kind = PipelineContext::Kind::Done;
      if (v == Verdict::Pass) ++c.passed;  // replies are counted by kind at the call
    };

    // Pass 1: parse, classify, hash, prefetch.
    for (uint32_t i = 0; i < count; ++i) {
      ParsedPacket& p = parsed[i];
      PipelineContext::Pending& pd = pending[i];
      DropReason reason{};
      const ParseStatus st = parse(burst[i].data, burst[i].len, p, reason);
      if (st == ParseStatus::NotIp) {
        done(i, Verdict::Pass);
        continue;
      }
      if (st == ParseStatus::Drop) {
        drop(i, reason);
        continue;
      }

      if (is_icmp(p.proto) && !p.is_fragment) {
        const uint32_t on_addr = vips.lookup_address(p.key.dst);
        if (on_addr == kNoVip || is_icmpv6_host_control(p)) {
          done(i, Verdict::Pass);
          continue;
        }
        if (const auto bad = check_vip_packet(burst[i].data, p)) [[unlikely]] {
          drop(i, *bad);
          continue;
        }
        if (is_echo_request(p)) {
          if (!snap.vip(on_addr).answer_echo) {
            drop(i, DropReason::EchoDisabled);
          } else if (make_echo_reply(burst[i], p)) {
            ++c.echo_replies;
            done(i, Verdict::Reply);
          } else {
            drop(i, DropReason::NoHeadroom);
          }
          continue;
        }
        if (!p.icmp_is_error) {
          drop(i, DropReason::IcmpUnsupported);
          continue;
        }
        if (!p.has_inner) {
          drop(i, DropReason::TruncatedIcmpInner);
          continue;
        }
        pd.swapped = swapped_inner_key(p);
        pd.key = &pd.swapped;
        pd.vip = vips.lookup(pd.swapped);
        if (pd.vip == kNoVip) {
          drop(i, DropReason::IcmpErrorNoFlow);
          continue;
        }
        pd.kind = PipelineContext::Kind::IcmpError;
      } else if (p.is_fragment) {
        pd.key = &p.key;
        pd.vip = vips.lookup_any_port(p.key.dst, p.key.proto);
        if (pd.vip == kNoVip) {
          done(i, Verdict::Pass);
          continue;
        }
        if (const auto bad = check_vip_packet(burst[i].data, p)) [[unlikely]] {
          drop(i, *bad);
          continue;
        }
        pd.kind = PipelineContext::Kind::Fragment;
        const FlowHashMode mode = snap.vip(pd.vip).hash_mode == FlowHashMode::SourceOnly
                                      ? FlowHashMode::SourceOnly
                                      : FlowHashMode::ThreeTuple;
        pd.vip_hash = hashing::flow_hash(*pd.key, mode, seed);
        pd.hash = pd.vip_hash;
        continue;  // stateless: no flow-table bucket to prefetch
      } else {
        pd.key = &p.key;
        pd.vip = vips.lookup(p.key);
        if (pd.vip == kNoVip) {
          done(i, Verdict::Pass);
          continue;
        }
        if (const auto bad = check_vip_packet(burst[i].data, p)) [[unlikely]] {
          drop(i, *bad);
          continue;
        }
        pd.kind = PipelineContext::Kind::Flow;
      }
      pd.hash = hashing::flow_hash(*pd.key, FlowHashMode::FiveTuple, seed);
      const FlowHashMode mode = snap.vip(pd.vip).hash_mode;
      pd.vip_hash =
          mode == FlowHashMode::FiveTuple ? pd.hash : hashing::flow_hash(*pd.key, mode, seed);
      ctx.flows_.prefetch(pd.hash);
    }

    // Pass 2: the key slots the buckets point to, prefetched for the whole burst (the buckets
    // arrived during pass 1), then every flow-table lookup back to back: a hit reads two
    // lines, and neither waits on memory behind another packet's work.
    for (uint32_t i = 0; i < count; ++i) {
      const PipelineContext::Pending& pd = pending[i];
      if (pd.kind == PipelineContext::Kind::Flow || pd.kind == PipelineContext::Kind::IcmpError) {
        ctx.flows_.prefetch_slot(pd.key->proto, pd.hash);
      }
    }
    for (uint32_t i = 0; i < count; ++i) {
      PipelineContext::Pending& pd = pending[i];
      pd.hit =
          (pd.kind == PipelineContext::Kind::Flow || pd.kind == PipelineContext::Kind::IcmpError) &&
          ctx.flows_.lookup(*pd.key, pd.hash, now_ms, pd.handle);
    }

    // Pass 3: choose the backend and rewrite.
    bool inserted = false;  // a flow created in this burst may have missed in pass 2
    for (uint32_t i = 0; i < count; ++i) {
      PipelineContext::Pending& pd = pending[i];
      if (pd.kind == PipelineContext::Kind::Done) continue;
      const ParsedPacket& p = parsed[i];
      const SnapshotVip& vip = snap.vip(pd.vip);
      const SnapshotBackend* backend = nullptr;
      bool is_new = false;

      if (!pd.hit && inserted && pd.kind != PipelineContext::Kind::Fragment) {
        pd.hit = ctx.flows_.lookup(*pd.key, pd.hash, now_ms, pd.handle);
      }
      if (pd.hit) {
        backend = snap.backend(pd.handle);
        if (backend == nullptr || backend->vip != pd.vip) {
          backend = nullptr;
          ++c.rechosen;
        }
      }
      if (backend == nullptr) {
        const uint32_t handle = vip.slots[hashing::maglev_slot(pd.vip_hash, vip.table_size)];
        backend = snap.backend(handle);
        if (backend == nullptr) {
          drop(i, DropReason::NoBackend);
          continue;
        }
        if (pd.kind == PipelineContext::Kind::Flow) {
          ctx.flows_.insert(*pd.key, pd.hash, now_ms, handle);
          is_new = true;
          inserted = true;
        }
      }

      const uint32_t ip_bytes = p.ip_total_len;
      const EncapStatus st = encapsulate(burst[i], p, backend->plan, pd.hash);
      if (st == EncapStatus::Ok) [[likely]] {
        out[i] = Verdict::Forward;
        ++c.forwarded;
        if (is_new) {
          ++c.new_flows;
          ++ctx.vip_counters_[vip.id].new_flows;
        }
        if (pd.kind == PipelineContext::Kind::Fragment) ++c.fragments;
        if (pd.kind == PipelineContext::Kind::IcmpError) ++c.icmp_errors_forwarded;
        VipCounters& vc = ctx.vip_counters_[vip.id];
        ++vc.packets;
        vc.bytes += ip_bytes;
        BackendCounters& bc = ctx.backend_counters_[backend->handle & 0xffff];
        ++bc.packets;
        bc.bytes += ip_bytes;
        continue;
      }
      if (st == EncapStatus::TooBig && pd.kind != PipelineContext::Kind::IcmpError) {
        // Never answer an ICMP error with another (RFC 1122 3.2.2); those fall through.
        const bool no_df = !p.is_v6 && !p.df;
        if (make_too_big_reply(burst[i], p, encap_client_mtu(backend->target))) {
          ++c.too_big_replies;
          if (no_df) ++c.too_big_no_df;
          done(i, Verdict::Reply);
          continue;
        }
      }
      drop(i, st == EncapStatus::TooBig       ? DropReason::TooBig
              : st == EncapStatus::NoHeadroom ? DropReason::NoHeadroom
                                              : DropReason::Internal);
    }
    // Received frames are counted once their verdicts are: a reader on another thread that
    // sees them in rx sees them in forwarded/replied/passed/dropped too (the fence keeps the
    // compiler from moving this store ahead; x86 keeps stores in order), so the counter
    // identity holds in every stats reading, not only between bursts.
    std::atomic_signal_fence(std::memory_order_release);
    c.rx += count;
  }
}

}  // namespace steer::dataplane
