// DOC: the whole query → answer path of steer's authoritative responder, as one pure
// function over an immutable Table (dns/table.h): the responder threads call it per datagram
// or TCP message, tests and the fuzzer call it directly, `steerctl dns query` calls it with an
// explanation. Given the same table, query, client and random word, the same bytes come out.
//
// What it answers (RFC 1034/1035, 2308, 6891, 7871, 5001, 8482, 8906):
//   malformed question / OPT / ECS                 FORMERR (RFC 7871 7.1: a bad ECS too)
//   not even a header, or a response (QR set)      nothing (Drop; counted)
//   an opcode other than QUERY                     NOTIMP, question echoed, RD/CD copied
//   EDNS version > 0                               BADVERS, our OPT (version 0)
//   class CH: id.server. / hostname.bind. TXT      the configured identity, else REFUSED
//   a name outside every zone                      REFUSED (AA clear)
//   AXFR / IXFR                                    REFUSED (over TCP, an allowed secondary
//                                                  is served by dns/xfr.h before this)
//   below a delegation                             a referral: NS in authority, glue, AA clear
//   a service name, A or AAAA                      the nearest healthy PoPs' addresses (below)
//   an RRset that exists                           it (AA); MX/NS/SRV targets' A/AAAA added
//   a CNAME, another type asked                    the chain inside our zones (8 steps at most)
//   ANY                                            one RRset (RFC 8482 minimal answer)
//   the name exists, not the type                  NODATA: NOERROR, SOA with the negative TTL
//   the name does not exist                        NXDOMAIN, SOA (an empty non-terminal exists)
// Size: UDP answers fit min(the client's EDNS size, at least 512, our cap) or 512 without
// EDNS; when the answer section does not fit, the answer is truncated (TC, no records) and the
// client retries over TCP. Additional-section records that do not fit are left out.
// EDNS: OPT only when the query had one; NSID when asked and configured; ECS echoed with
// SCOPE set to the prefix the answer holds for (0 when it does not depend on the location).
//
// Service answers: the client's location (ECS address, or the resolver's) gives a PoP order
// (dns/geo.h); the answer takes addresses of the query's family from PoPs in that order that
// are healthy and not draining, up to the service's `answers`; then draining ones; then, when
// none is up, every PoP (fail open) or the configured static answer. The TTL is the service's,
// or its pending TTL while a health change is pending, minus a random jitter.
//
// No allocation, no lock, no exception: any thread, with its own Scratch and Counters.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/ip_address.h"
#include "dns/table.h"
#include "dns/wire.h"

namespace steer::dns {

struct Client {
  IpAddress address;  // the resolver's (source) address
  bool tcp = false;
};

// Per-thread counters; the responder sums them for metrics.
struct Counters {
  uint64_t queries = 0;
  uint64_t dropped = 0;                 // not answered: no header, or a response
  std::array<uint64_t, 24> by_rcode{};  // indexed by the full (extended) rcode, 23 = other
  uint64_t udp = 0, tcp = 0;
  uint64_t ecs = 0;        // queries with a Client Subnet option
  uint64_t truncated = 0;  // answers sent with TC
  uint64_t service_answers = 0;
  uint64_t fail_open = 0;  // service answers given while no PoP was up
  uint64_t static_fallback = 0;
  std::array<uint64_t, 8> by_qtype{};  // A, AAAA, NS, SOA, CNAME, TXT, ANY, other
  // Response-rate limiting (dns/rrl.h; the responder, UDP only): answers made (and counted
  // above) but not sent, sent truncated instead, and live accounts replaced to make room.
  uint64_t rrl_dropped = 0;
  uint64_t rrl_slipped = 0;
  uint64_t rrl_evicted = 0;
  // UDP reads (recvmmsg calls) that returned datagrams: udp / udp_reads is how many queries a
  // wake-up finds, what [dns] coalesce_us trades latency for.
  uint64_t udp_reads = 0;
  // UDP answer latency, per answer sent: from the kernel's receive timestamp to the send call
  // (socket queueing and coalesce_us included), counted in kLatencyBoundsNs buckets (the last
  // slot: above every bound), and the sum in nanoseconds.
  static constexpr size_t kLatencySlots = 12;
  std::array<uint64_t, kLatencySlots> udp_latency{};
  uint64_t udp_latency_sum_ns = 0;
  // Service answers by the PoP that heads them (the client's best PoP among those handed
  // out), indexed as [dns.pop] lists the PoPs; kPopSlots - 1 counts every later PoP.
  static constexpr size_t kPopSlots = 64;
  std::array<uint64_t, kPopSlots> by_pop{};
  // Service answers headed by another PoP because the client's first choice by location (its
  // health aside) was down, draining or disabled, by that first choice (indexed as by_pop).
  // After a PoP fails, these are its clients' resolvers coming back: the visible part of the
  // resolver tail (docs/resolver-tail.md).
  std::array<uint64_t, kPopSlots> displaced{};
};
// The upper bounds of Counters::udp_latency's buckets, in nanoseconds.
inline constexpr std::array<int64_t, Counters::kLatencySlots - 1> kLatencyBoundsNs = {
    10'000,    25'000,    50'000,    100'000,    250'000,    500'000,
    1'000'000, 2'500'000, 5'000'000, 10'000'000, 100'000'000};
// The same in seconds (the metric's le labels).
inline constexpr auto kLatencyBounds = [] {
  std::array<double, kLatencyBoundsNs.size()> s{};
  for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<double>(kLatencyBoundsNs[i]) / 1e9;
  return s;
}();
size_t qtype_bucket(uint16_t qtype);
inline constexpr const char* kQtypeBuckets[8] = {"A",     "AAAA", "NS",  "SOA",
                                                 "CNAME", "TXT",  "ANY", "other"};

// What an answer was made of, for `steerctl dns query` (optional; nullptr on the hot path).
struct Explanation {
  std::string zone;
  std::string outcome;  // "service web: 2 addresses", "NXDOMAIN", "referral to sub.example.", ...
  LocationDetail location;
  std::vector<std::string> pops;  // per PoP considered, in order: "fra: healthy, 1 address"
  uint8_t scope = 0;
};

// Writes the response to `query` into `out` (at least 65535 bytes for TCP, 4096 for UDP) and
// returns its size; 0 means send nothing.
size_t answer(const Table& table, std::span<const uint8_t> query, const Client& client,
              std::span<uint8_t> out, uint32_t random, Counters& counters,
              Explanation* why = nullptr);

}  // namespace steer::dns
