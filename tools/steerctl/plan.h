// DOC: `steerctl plan`: what a change to a VIP's backend pool does to new-flow hashing.
//
// Offline and pure: nothing here talks to a running LB. The flow is
//   parse_pool / parse_backend_spec  →  Pool (the current backends and weights)
//   parse_change + apply_changes     →  Pool (the proposed backends and weights)
//   plan(before, after, size)        →  PlanReport (Maglev tables of both, compared slot by slot)
//   format_plan_table / _json        →  text for the operator or for scripts.
//
// Definitions used in the report (table of M slots):
//   share(b)        = slots owned by b / M                  (what the table actually gives b)
//   target(b)       = weight(b) / total weight of the pool  (what the weights ask for; 0 when
//                     the total weight is 0, and then the whole space is "unowned")
//   moved           = slots whose owner (compared by address; "no backend" counts as an owner)
//                     differs between the two tables, / M
//   optimal         = Σ over backends (and "unowned") of max(0, target_before − target_after):
//                     the hash space whose owner's target share shrank. Any scheme that gives
//                     every backend its target share must move at least this much, because
//                     each backend whose target shrank has to hand over that much space.
//                     It equals the total-variation distance between the two target shares.
//   moved / optimal = how close Maglev comes to the minimum (1.0 is ideal; undefined when
//                     optimal is 0).
// Existing flows keep their backend through the per-LB flow table; the figures above are about
// new flows (and about existing ones on an LB that lost its flow state).
//
// Threading: every function is pure and may run on any thread. Errors are values whose message
// is one line an operator can act on.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip_address.h"
#include "common/result.h"
#include "hashing/maglev.h"

namespace steer::tools {

// Largest weight a backend may have (weights are small integers; ratios are what count).
inline constexpr uint32_t kMaxWeight = 65535;

struct PoolEntry {
  IpAddress address;
  uint32_t weight = 1;  // 0: drained (takes no new flows)

  friend bool operator==(const PoolEntry&, const PoolEntry&) = default;
};

// A VIP's backends in the order they were given. Addresses are unique.
struct Pool {
  std::vector<PoolEntry> entries;

  // The entry with this address, or nullptr.
  const PoolEntry* find(const IpAddress& address) const;
  PoolEntry* find(const IpAddress& address);
};

// Parses a pool file: one backend per line, `ADDRESS [WEIGHT]`, IPv4 or IPv6, weight
// 0..kMaxWeight (default 1); `#` starts a comment; blank lines are ignored. `origin` names the
// text in error messages ("pool.txt:3: ..."). Errors: bad address, bad weight, extra fields,
// duplicate address.
Result<Pool> parse_pool(std::string_view text, std::string_view origin = "pool");

// Parses `ADDRESS[=WEIGHT]` (weight default 1). Errors: bad address, bad weight.
Result<PoolEntry> parse_backend_spec(std::string_view spec);

// Adds one backend to the pool. Error: the address is already in the pool.
Result<void> add_backend(Pool& pool, const PoolEntry& entry);

enum class ChangeKind {
  Add,      // --add ADDRESS[=WEIGHT]: a new backend (weight default 1)
  Remove,   // --remove ADDRESS: the backend leaves the pool
  Weight,   // --weight ADDRESS=WEIGHT: a new weight (0 drains)
  Drain,    // --drain ADDRESS: weight 0 for new flows; existing flows stay
  Undrain,  // --undrain ADDRESS=WEIGHT: a drained backend takes new flows again
};

// The command-line flag of a change kind, e.g. "--add".
std::string_view change_flag(ChangeKind kind);

struct Change {
  ChangeKind kind = ChangeKind::Add;
  IpAddress address;
  uint32_t weight = 0;  // Add, Weight, Undrain only

  friend bool operator==(const Change&, const Change&) = default;
};

// Parses the argument of one change flag. Errors: bad address, bad or missing weight
// (Weight and Undrain need `=WEIGHT`; Undrain needs a weight above 0), a weight given to
// Remove or Drain.
Result<Change> parse_change(ChangeKind kind, std::string_view arg);

// Applies the changes in order to a copy of `pool`. Errors (the first one found; nothing is
// applied): Add of an address already in the pool; Remove, Weight, Drain or Undrain of an
// address not in the pool; Drain of a backend already drained; Undrain of a backend not drained.
Result<Pool> apply_changes(const Pool& pool, std::span<const Change> changes);

// Checks a Maglev table size. Error: not a prime in [2, MaglevTable::kMaxSize].
Result<void> check_table_size(uint32_t table_size);

enum class BackendState { Unchanged, Added, Removed, Drained, Undrained, Reweighted };

// "unchanged", "added", ...
std::string_view state_name(BackendState state);

struct BackendPlan {
  IpAddress address;
  std::optional<uint32_t> weight_before;  // nullopt: not in that pool
  std::optional<uint32_t> weight_after;
  uint32_t slots_before = 0;
  uint32_t slots_after = 0;
  double share_before = 0;  // fractions of the table, [0, 1]
  double share_after = 0;
  double target_before = 0;  // weight / total weight, [0, 1]
  double target_after = 0;
  BackendState state = BackendState::Unchanged;
};

struct PlanReport {
  uint32_t table_size = 0;
  size_t backends_before = 0;  // pool sizes, drained backends included
  size_t backends_after = 0;
  uint64_t total_weight_before = 0;
  uint64_t total_weight_after = 0;
  std::vector<BackendPlan> backends;  // union of both pools, sorted by address
  uint32_t unowned_slots_before = 0;  // slots with no backend (all weights 0)
  uint32_t unowned_slots_after = 0;
  // hashing::maglev_fingerprint of each table: the same pool gives the same value on every
  // LB, so an operator can check a live LB's table against the plan.
  uint64_t fingerprint_before = 0;
  uint64_t fingerprint_after = 0;
  uint32_t moved_slots = 0;
  double moved_fraction = 0;
  double optimal_fraction = 0;
  std::optional<double> moved_to_optimal;   // nullopt when optimal_fraction is 0
  std::optional<std::string> size_warning;  // maglev_size_warning for the larger active set
  std::vector<std::string> notes;           // one line each, for the operator
};

// Builds the Maglev tables of both pools and compares them (see the DOC block for the
// definitions). Errors: bad table size, or a table that cannot be built (e.g. more backends
// than slots), with the builder's message.
Result<PlanReport> plan(const Pool& before, const Pool& after,
                        uint32_t table_size = hashing::MaglevTable::kDefaultSize);

// Human-readable report: an aligned table sorted by address, then summary lines. Ends in '\n'.
std::string format_plan_table(const PlanReport& report);

// The same content as one JSON object with stable snake_case keys. Ends in '\n'. Keys:
//   table_size, backends_before, backends_after, total_weight_before, total_weight_after,
//   backends: [{address, state, weight_before, weight_after (null when not in that pool),
//               slots_before, slots_after, share_before_percent, share_after_percent,
//               share_delta_percent, target_share_before_percent, target_share_after_percent}],
//   unowned_slots_before, unowned_slots_after, moved_slots, moved_percent, optimal_percent,
//   moved_to_optimal (null when optimal is 0), size_warning (string or null), notes: [string].
// Percentages have 4 decimals.
std::string format_plan_json(const PlanReport& report);

// `text` as a JSON string literal, quotes included, with `"`, `\` and control characters escaped.
std::string json_quote(std::string_view text);

}  // namespace steer::tools
