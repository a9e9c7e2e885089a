// DOC: "which backend would this flow get, and why" — the answer the dataplane's `flow` query
// gives, computed from a Snapshot exactly as the pipeline would for a new flow. The flow-table
// part (is the flow already established, on which backend) is added by the caller, which asks
// each worker about its own table.
// Control thread; reads the snapshot only.
#pragma once

#include <cstdint>
#include <string>

#include "common/flow_key.h"
#include "dataplane/packet/snapshot.h"

namespace steer::dataplane {

struct FlowExplanation {
  bool vip_found = false;
  uint32_t vip = 0;        // index in the snapshot
  uint64_t flow_hash = 0;  // 5-tuple hash (flow-table key)
  uint64_t vip_hash = 0;   // hash in the VIP's mode (Maglev slot)
  uint32_t slot = 0;
  uint32_t handle = kNoBackendHandle;  // the slot's backend, kNoBackendHandle if the VIP has none
  std::string reason;                  // one line for an operator
};

FlowExplanation explain_new_flow(const Snapshot& snap, const FlowKey& key);

// A FlowKey from text pieces; error names the bad piece.
Result<FlowKey> make_flow_key(std::string_view proto, std::string_view src, std::string_view sport,
                              std::string_view dst, std::string_view dport);

}  // namespace steer::dataplane
