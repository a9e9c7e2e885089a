// DOC: the answer table — everything a responder thread needs to answer any query, built by
// the control thread (dns/build.h) and published immutable (common/publish.h). It has two
// parts, rebuilt at different rates:
//   Catalog  what the configuration says: the zones with their records already in wire form,
//            the services with each PoP's addresses as ready-made A/AAAA records, the geo map,
//            the responder's identity (NSID, CHAOS). Built on a reload or a geo file change
//            (tens of ms for 1,000 services x 50 PoPs).
//   Table    a generation: the catalog (shared) and the health of every (service, PoP) as one
//            flat array of flags. Built on every health change (microseconds: bench/dns_bench).
// A thread reads one table per query batch and never writes to it.
//
// Static RRsets are stored as the bytes of their records with the owner written as a pointer
// to the question name (0xc00c): a direct answer is one copy. Records whose owner is another
// name (a CNAME chain's target) are written with the owner's wire name. A zone's negative
// answer carries its SOA with the negative TTL (RFC 2308 3: min(SOA TTL, SOA MINIMUM)), owner
// compressed against the question name (the apex is always its suffix).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dns/config.h"
#include "dns/geo.h"
#include "dns/wire.h"

namespace steer::dns {

struct Transfers;  // dns/xfr.h

// One RRset: `records` holds each record as TYPE CLASS TTL RDLENGTH RDATA (no owner).
struct RRset {
  uint16_t type = 0;
  uint32_t ttl = 0;
  uint16_t count = 0;
  std::vector<uint8_t> records;      // the record tails, concatenated
  std::vector<uint16_t> tail_sizes;  // the size of each record tail
  std::vector<uint8_t> direct;       // 0xc00c + tail per record: the answer when owner = qname
  std::vector<std::vector<uint8_t>> rdatas;  // each RDATA (for additional-section processing)
};

struct Node {
  std::vector<RRset> rrsets;  // at most one per type
  int32_t service = -1;       // >= 0: A/AAAA computed by the service of that index
  bool cut = false;           // a delegation: NS below the apex

  const RRset* find(uint16_t type) const;
};

struct NameHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept;
};

struct Zone {
  Name apex;
  std::unordered_map<std::string, Node, NameHash, std::equal_to<>> nodes;  // by wire name
  uint32_t negative_ttl = 0;
  std::vector<uint8_t> soa_tail;  // the SOA record's tail with the negative TTL

  // The node of `name` (lower-case wire), or nullptr. An empty non-terminal is a node with no
  // RRsets.
  const Node* find(std::span<const uint8_t> name) const;
};

// One PoP's part of a service: its addresses as ready A and AAAA records (owner 0xc00c, TTL
// patched per answer).
struct PopAnswers {
  uint16_t pop = 0;           // index in Catalog::pops
  uint16_t config_index = 0;  // index in the service's ServiceConfig::pops
  uint16_t a_count = 0, aaaa_count = 0;
  std::vector<uint8_t> a, aaaa;  // records: c0 0c TYPE CLASS TTL RDLENGTH RDATA
};

// Whether DNS may hand out one PoP of one service now.
struct PopFlags {
  bool healthy = false;
  bool draining = false;  // handed out only when no PoP is healthy and not draining
  bool disabled = false;  // by an operator: never handed out, not even to fail open
};

struct Service {
  std::string name;  // its configuration name
  Name owner;        // the name it answers for
  uint32_t ttl = 60;
  uint32_t pending_ttl = 10;  // while a health change is pending somewhere (Table::pending)
  double ttl_jitter = 0;      // fraction of the TTL taken off at random per answer
  uint16_t answers = 2;       // addresses per family per answer
  WhenAllDown when_all_down = WhenAllDown::All;
  std::vector<PopAnswers> pops;  // the PoPs that serve it
  PopAnswers fallback;           // WhenAllDown::Static: its records
  std::vector<int16_t> by_pop;   // Catalog::pops index -> index in `pops`, or -1
  uint32_t first_flag = 0;       // its pops' flags start here in Table::flags
};

struct PopInfo {
  std::string name;
  std::string region;
};

struct Catalog {
  std::vector<Zone> zones;
  std::vector<Service> services;
  std::vector<PopInfo> pops;
  std::shared_ptr<const Geo> geo;  // client address -> PoP preference order
  std::vector<uint8_t> nsid;       // "" = no NSID option in answers
  // CHAOS TXT answers: id.server. and hostname.bind. (empty: REFUSED).
  std::string chaos_id;
  uint16_t udp_cap = kDefaultUdpCap;

  size_t flag_count = 0;  // sum of the services' PoPs

  // The zone `qname` is in (the longest apex), or nullptr.
  const Zone* zone_of(const Name& qname) const;
};

struct Table {
  uint64_t generation = 0;
  std::shared_ptr<const Catalog> catalog;  // never null
  std::vector<PopFlags> flags;   // per (service, PoP): Service::first_flag + index in its pops
  std::vector<uint8_t> pending;  // per service: a verdict its answers depend on is pending
  // Per zone (Catalog::zones order): the SOA serial served now; empty: the configured ones.
  // Set with `transfers` by dns/xfr.h's with_transfers().
  std::vector<uint32_t> serials;
  std::shared_ptr<const Transfers> transfers;  // zone transfers (null: none are served)

  const PopFlags& flag(const Service& s, size_t pop_index) const {
    return flags[s.first_flag + pop_index];
  }
};

}  // namespace steer::dns
