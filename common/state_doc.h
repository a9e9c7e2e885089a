// DOC: the documents steerd, steer-dataplane and steerctl exchange over the dataplane's API
// socket (docs/dataplane.md), as types with one writer and one reader each, so the schema is
// written once: steerd writes a DesiredState (`apply`), the dataplane reads it, writes its
// applied state (`state`) in the same form, and writes its counters (`stats`), which steerd
// and steerctl read.
//
// Desired state (JSON):
//   {"generation": 7,                                     (written by `state`; ignored on read)
//    "flow_hash_seed": "0x5eed57ee00000001",              (optional; string or number)
//    "vips": [{"address": "192.0.2.10", "proto": "tcp", "port": 80,   (port 0: all ports)
//              "encap": "ipip"|"gue", "gue_port": 6080, "table_size": 65537,
//              "hash": "5-tuple"|"3-tuple"|"source", "echo": true,
//              "backends": [{"address": "10.0.2.11", "weight": 1,
//                            "state": "up"|"drain"|"down"}]}]}
// Unknown keys are errors (a typo must not silently change forwarding). Errors name the
// place: `vips[1].backends[0].weight: expected an integer 0..65535`.
//
// Pure functions on values; any thread. Control paths only (JSON, allocation).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/backend_state.h"
#include "common/ip_address.h"
#include "common/result.h"
#include "common/vip_key.h"

namespace steer::doc {

// ---- desired / applied state ------------------------------------------------------------------

struct Backend {
  IpAddress address;
  uint32_t weight = 1;  // 0..65535
  BackendState state = BackendState::Up;

  friend bool operator==(const Backend&, const Backend&) = default;
};

struct Vip {
  VipKey key;
  std::string encap = "ipip";  // "ipip" | "gue" (validated by the reader)
  uint16_t gue_port = 6080;    // 1..65535
  uint32_t table_size = 65537;
  std::string hash = "5-tuple";  // "5-tuple" | "3-tuple" | "source" (validated by the reader)
  bool echo = true;
  std::vector<Backend> backends;

  friend bool operator==(const Vip&, const Vip&) = default;
};

struct DesiredState {
  std::optional<uint64_t> generation;      // written by the dataplane's `state`
  std::optional<uint64_t> flow_hash_seed;  // written as "0x%016x"
  std::vector<Vip> vips;

  friend bool operator==(const DesiredState&, const DesiredState&) = default;
};

std::string to_json(const DesiredState& state);
// Shape and value errors only (what a Snapshot can or cannot hold is the dataplane's to say).
Result<DesiredState> parse_desired_state(std::string_view document);

}  // namespace steer::doc
