// DOC: the dataplane's side of the desired-state document of its API (`apply`, `state`): the
// mapping between doc::DesiredState (common/state_doc.h, which owns the JSON schema, its
// reader and its writer) and the StateSpec a Snapshot is built from.
//
// steerd sends the complete set of VIPs with their options and backends; the dataplane adds
// its own egress settings (MACs, outer sources, MTU) from its configuration. A backend's
// state decides its place in the Maglev table (table_weight(), common/backend_state.h):
// "up" keeps its weight, "drain" gets weight 0 (keeps its flows, takes no new ones), "down"
// is left out (its flows choose again). The document's "generation" is ignored on `apply`.
// Control thread only.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"
#include "common/state_doc.h"
#include "dataplane/packet/snapshot.h"

namespace steer::dataplane {

// The VIP part of a StateSpec (egress left default) and the flow-hash seed (the default when
// the document has none), from a document parse_desired_state() accepted.
StateSpec to_state_spec(const doc::DesiredState& state);

// The document `state` writes for an applied spec (whose VIPs are TCP or UDP: Snapshot::build
// accepts nothing else): a backend of weight 0 is "drain", every other one "up"; removed
// backends are not in the spec, so not in the document.
doc::DesiredState to_document(const StateSpec& spec, uint64_t generation);

// parse_desired_state() then to_state_spec(): shape and value errors only (Snapshot::build
// checks the rest).
Result<StateSpec> parse_state_json(std::string_view document);

// to_document() then to_json(): the `state` reply and the saved state file (round-trips
// through parse_state_json).
std::string state_to_json(const StateSpec& spec, uint64_t generation);

std::string_view encap_name(EncapType type);
std::string_view hash_mode_name(hashing::FlowHashMode mode);

}  // namespace steer::dataplane
