// DOC: the desired-state document of the dataplane API (`apply`, `state`) as JSON.
//
// The control plane sends the complete set of VIPs with their options and backends; the
// dataplane adds its own egress settings (MACs, outer sources, MTU) from its configuration
// and builds a Snapshot. Format (docs/dataplane.md):
//   {"flow_hash_seed": "0x5eed57ee00000001",            (optional; string or number)
//    "vips": [{"address": "192.0.2.10", "proto": "tcp", "port": 80,   (port 0: all ports)
//              "encap": "ipip"|"gue", "gue_port": 6080, "table_size": 65537,
//              "hash": "5-tuple"|"3-tuple"|"source", "echo": true,
//              "backends": [{"address": "10.0.2.11", "weight": 1,
//                            "state": "up"|"drain"|"down"}]}]}
// "drain" keeps a backend's flows and gives it no new ones (weight 0); "down" removes it.
// Unknown keys are errors (a typo must not silently change forwarding). Errors name the
// place: `vips[1].backends[0].weight: expected an integer 0..65535`.
// Control thread only.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"
#include "dataplane/packet/snapshot.h"

namespace steer::dataplane {

enum class BackendState : uint8_t { Up, Drain, Down };

// Parses a state document into the VIP part of a StateSpec (egress left default) and the
// flow-hash seed. Shape and value errors only; Snapshot::build checks the rest.
Result<StateSpec> parse_state_json(std::string_view document);

// The document for `state` (round-trips through parse_state_json). Drained backends appear
// with "state": "drain"; removed ones are absent.
std::string state_to_json(const StateSpec& spec, uint64_t generation);

std::string_view encap_name(EncapType type);
std::string_view hash_mode_name(hashing::FlowHashMode mode);
std::string_view proto_name(uint8_t proto);  // "tcp", "udp", or the number

}  // namespace steer::dataplane
