// DOC: the answer-table builder — from the [dns] configuration, the geo map and each
// (service, PoP)'s health to one immutable Table (dns/table.h) that the responder threads
// read. Called by steerd's control thread (control/dns_link.cc): the catalog at start, on
// reload and when a geo file changes; a table over it on every health change. The result is
// published by pointer swap.
//
// Cost (bench/dns_bench.cc, 1,000 services x 50 PoPs, 2-vCPU VM): the catalog ~30 ms (every
// record's wire form is made here so that a query only copies bytes); a table over it — one
// flag per (service, PoP) — well under a millisecond.
// Pure function; any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "dns/config.h"
#include "dns/geo.h"
#include "dns/table.h"

namespace steer::dns {

// Whether DNS may hand out a PoP's addresses for a service.
struct PopState {
  bool healthy = false;
  bool draining = false;  // healthy but on its way out (BGP drain): last resort
  bool pending = false;   // a change is on its way: answers get the pending TTL
  bool disabled = false;  // an operator took it out of DNS answers: never handed out
};

struct BuildInputs {
  const DnsConfig* config = nullptr;
  std::string local_pop;
  std::shared_ptr<const Geo> geo;
  // The address of a local VIP by name (nullopt: unknown).
  std::function<std::optional<IpAddress>(const std::string& vip)> vip_address;
  // The state of one PoP of one service.
  std::function<PopState(const ServiceConfig&, const ServicePopConfig&)> state;
  std::string nsid;      // resolved: never empty unless NSID is off
  std::string identity;  // CHAOS; "" = REFUSED
  uint64_t generation = 0;
};

// The catalog part (configuration, geo, identity); `state` is not read.
std::shared_ptr<const Catalog> build_catalog(const BuildInputs& in);
// A generation over a catalog: every (service, PoP)'s flags from `in.state`.
std::shared_ptr<const Table> build_table(std::shared_ptr<const Catalog> catalog,
                                         const BuildInputs& in);
// Both (tests, tools).
std::shared_ptr<const Table> build_table(const BuildInputs& in);

}  // namespace steer::dns
