// DOC: the documents steerd, steer-dataplane and steerctl exchange over the dataplane's API
// socket (docs/dataplane.md), as types with one writer and one reader each, so the schema is
// written once: steerd writes a DesiredState (`apply`), the dataplane reads it, writes its
// applied state (`state`) in the same form, and writes its counters (`stats`) and liveness
// (`status`), which steerd and steerctl read. JSON objects are written with their keys in
// sorted order (what every writer of these documents has always produced).
//
// Desired state (JSON):
//   {"generation": 7,                                     (written by `state`; see below)
//    "flow_hash_seed": "0x5eed57ee00000001",              (optional; string or number)
//    "vips": [{"address": "192.0.2.10", "proto": "tcp", "port": 80,   (port 0: all ports)
//              "encap": "ipip"|"gue", "gue_port": 6080, "table_size": 65537,
//              "hash": "5-tuple"|"3-tuple"|"source", "echo": true,
//              "backends": [{"address": "10.0.2.11", "weight": 1,
//                            "state": "up"|"drain"|"down"}]}]}
// Strict: unknown keys are errors (a typo must not silently change forwarding), and so is a
// missing "vips" (an empty list withdraws every VIP; a missing one is a mistake). Errors name
// the place: `vips[1].backends[0].weight: expected an integer 0..65535`. "generation" is never
// an error: the dataplane ignores it on `apply`, so that `state` output applies again; the
// reader keeps it when it is an unsigned integer (for views), and ignores any other value.
//
// Stats (`stats`) and status (`status`) are lenient, because a newer dataplane may add to
// them and an older steerd or steerctl must still read them: unknown keys are ignored, and
// a missing key leaves its field at the default below (0, false, empty). A key that is present
// with the wrong JSON type is an error naming the place (`lcores[0].flows: expected an
// unsigned integer`), and so is an entry that cannot be matched: a per-VIP or per-backend
// entry without a valid "vip" label or backend "address".
//
// Pure functions on values; any thread. Control paths only (JSON, allocation).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/backend_state.h"
#include "common/ip_address.h"
#include "common/result.h"
#include "common/vip_key.h"

namespace steer::doc {

// ---- desired / applied state ------------------------------------------------------------------

// A backend as steerd sent it: the state and weight are kept as they came. What a state means
// for forwarding is table_weight() (common/backend_state.h): the dataplane applies it when it
// builds its snapshot (down: absent, drain: weight 0).
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

// The JSON text; "generation" and "flow_hash_seed" only when set.
std::string to_json(const DesiredState& state);
// Shape and value errors only (what a Snapshot can or cannot hold is the dataplane's to say):
// "state: not valid JSON", "vips: missing ...", "vips[0].proto: expected \"tcp\" or \"udp\"",
// "vips[0].backends[2].state: 'sick' is not one of up, drain, down", ...
Result<DesiredState> parse_desired_state(std::string_view document);

// ---- stats --------------------------------------------------------------------------------------
//
// {"generation": 7, "tsc_hz": 2000000000,
//  "totals": {PacketCounters},
//  "drops": {"no_backend": 0, "bad_checksum": 0, ...},             (every reason, by name)
//  "lcores": [{PacketCounters, "lcore": 1, "queues": [{"port": 0, "queue": 0}],
//              "flows": 10, "flow_capacity": 1048576, "flow_hits": 0, "flow_misses": 0,
//              "flow_inserts": 0, "flow_evictions": 0, "flow_expirations": 0,
//              "generation": 7, "busy_cycles": 0, "iterations": 0}],
//  "vips": [{"vip": "192.0.2.10:80/tcp", "address": "192.0.2.10", "proto": "tcp", "port": 80,
//            "backends": 3, "packets": 0, "bytes": 0, "new_flows": 0}],
//  "backends": [{"vip": "192.0.2.10:80/tcp", "address": "10.0.2.11", "weight": 1,
//                "slots": 21846, "packets": 0, "bytes": 0}],
//  "ports": [{"port": 0, "name": "net_ring0", "ipackets": 0, "opackets": 0, "ibytes": 0,
//             "obytes": 0, "imissed": 0, "ierrors": 0, "oerrors": 0, "rx_nombuf": 0}]}

// The packet counters of one lcore, or of all of them summed ("totals"). dropped is the sum
// of the drops by reason; replied the ICMP replies steer itself sent (echo + too big).
struct PacketCounters {
  uint64_t rx = 0;
  uint64_t forwarded = 0;
  uint64_t replied = 0;
  uint64_t passed = 0;
  uint64_t dropped = 0;
  uint64_t new_flows = 0;
  uint64_t rechosen = 0;
  uint64_t fragments = 0;
  uint64_t icmp_errors_forwarded = 0;
  uint64_t echo_replies = 0;
  uint64_t too_big_replies = 0;
  uint64_t too_big_no_df = 0;
  uint64_t tx_dropped = 0;     // frames the TX queue did not take
  uint64_t multi_segment = 0;  // multi-segment frames received (handled by copy)

  friend bool operator==(const PacketCounters&, const PacketCounters&) = default;
};

struct LcoreQueue {
  uint16_t port = 0;
  uint16_t queue = 0;

  friend bool operator==(const LcoreQueue&, const LcoreQueue&) = default;
};

struct LcoreStats {
  uint32_t lcore = 0;
  PacketCounters counters;  // written beside the fields below, in the same object
  std::vector<LcoreQueue> queues;
  uint64_t flows = 0;          // flow-table occupancy
  uint64_t flow_capacity = 0;  // flows the table can hold
  uint64_t flow_hits = 0;
  uint64_t flow_misses = 0;
  uint64_t flow_inserts = 0;
  uint64_t flow_evictions = 0;
  uint64_t flow_expirations = 0;
  uint64_t generation = 0;   // the state generation the worker reads
  uint64_t busy_cycles = 0;  // TSC cycles spent in iterations that received packets
  uint64_t iterations = 0;

  friend bool operator==(const LcoreStats&, const LcoreStats&) = default;
};

// One VIP. On the wire: "vip" (the VipKey's text form, the label readers match by) and,
// for scripts, its parts "address", "proto" and "port".
struct VipStats {
  VipKey key;
  uint64_t backend_count = 0;  // "backends": backends in the VIP's set (drained ones too)
  uint64_t packets = 0;
  uint64_t bytes = 0;
  uint64_t new_flows = 0;

  friend bool operator==(const VipStats&, const VipStats&) = default;
};

// One backend of one VIP, labelled by (VIP label, backend address).
struct BackendStats {
  VipKey vip;
  IpAddress address;
  uint32_t weight = 0;  // in the dataplane: 0 while draining
  uint64_t slots = 0;   // Maglev slots it holds
  uint64_t packets = 0;
  uint64_t bytes = 0;

  friend bool operator==(const BackendStats&, const BackendStats&) = default;
};

// One ethdev port's counters (rte_eth_stats).
struct PortStats {
  uint16_t port = 0;
  std::string name;
  uint64_t ipackets = 0;
  uint64_t opackets = 0;
  uint64_t ibytes = 0;
  uint64_t obytes = 0;
  uint64_t imissed = 0;
  uint64_t ierrors = 0;
  uint64_t oerrors = 0;
  uint64_t rx_nombuf = 0;

  friend bool operator==(const PortStats&, const PortStats&) = default;
};

struct Stats {
  uint64_t generation = 0;
  PacketCounters totals;
  std::map<std::string, uint64_t, std::less<>> drops;  // by reason name (drop_reason.h)
  std::vector<LcoreStats> lcores;
  uint64_t tsc_hz = 0;
  std::vector<VipStats> vips;          // in the dataplane's VIP order
  std::vector<BackendStats> backends;  // grouped by VIP, in each VIP's backend order
  std::vector<PortStats> ports;

  friend bool operator==(const Stats&, const Stats&) = default;
};

std::string to_json(const Stats& stats);
// Lenient (see the DOC block). Errors: "stats: not valid JSON", "stats: expected a JSON
// object", "<place>: expected ...", "vips[0].vip: '...' is not a VIP label (ADDR:PORT/PROTO)".
Result<Stats> parse_stats(std::string_view document);

// Stats with lookups by VIP and by (VIP, backend address), for a reader that matches the
// dataplane's counters to its own VIPs (steerd). A plain value: it indexes by position, so a
// copy stays valid. Built in O(n log n); each lookup O(log n).
class StatsIndex {
 public:
  StatsIndex() = default;
  explicit StatsIndex(Stats stats);

  const Stats& stats() const { return stats_; }
  // nullptr when the dataplane has no such VIP / backend of that VIP.
  const VipStats* vip(const VipKey& key) const;
  const BackendStats* backend(const VipKey& vip, const IpAddress& address) const;

 private:
  Stats stats_;
  std::map<VipKey, size_t> vips_;
  std::map<std::pair<VipKey, IpAddress>, size_t> backends_;
};

// ---- status -------------------------------------------------------------------------------------
//
// {"version": "0.1.0", "pid": 4242, "uptime_s": 12.5, "generation": 7,
//  "alive": true, "switched": true,
//  "workers": [{"lcore": 1, "alive": true, "heartbeat_age_ms": 0.2, "iterations": 123,
//               "generation": 7}],
//  "ports": [{"port": 0, "name": "net_af_xdp0", "mac": "02:00:00:00:00:10", "queues": 1,
//             "link_up": true, "af_xdp_iface": "veth0"}],
//  "egress": {"src_mac": "...", "dst_mac": "...", "gateway": "10.0.1.1",
//             "gateway_resolved": true, "mtu": 1500},
//  "xdp": {"veth0": {"prog_id": 42, "redirected": 0, "no_socket": 0, "passed": 0,
//                    "malformed": 0}}}                        (only with AF_XDP ports)

struct WorkerStatus {
  uint32_t lcore = 0;
  bool alive = false;            // heartbeat younger than the dataplane's stuck_ms
  double heartbeat_age_ms = -1;  // -1: no heartbeat yet
  uint64_t iterations = 0;
  uint64_t generation = 0;  // the state generation the worker reads

  friend bool operator==(const WorkerStatus&, const WorkerStatus&) = default;
};

struct PortStatus {
  uint16_t port = 0;
  std::string name;
  std::string mac;
  uint16_t queues = 0;
  bool link_up = false;
  std::string af_xdp_iface;  // "" unless an AF_XDP port

  friend bool operator==(const PortStatus&, const PortStatus&) = default;
};

struct EgressStatus {
  std::string src_mac;
  std::string dst_mac;
  std::string gateway;  // "" with a fixed gateway MAC
  bool gateway_resolved = false;
  uint16_t mtu = 0;

  friend bool operator==(const EgressStatus&, const EgressStatus&) = default;
};

// The counters of steer's XDP program on one AF_XDP interface.
struct XdpStatus {
  uint32_t prog_id = 0;
  uint64_t redirected = 0;  // to a VIP, handed to the AF_XDP socket of its queue
  uint64_t no_socket = 0;   // to a VIP, no socket on its queue: passed to the kernel
  uint64_t passed = 0;      // not to a VIP
  uint64_t malformed = 0;   // truncated headers

  friend bool operator==(const XdpStatus&, const XdpStatus&) = default;
};

struct Status {
  std::string version;  // "" when absent (e.g. no status read yet)
  int64_t pid = -1;     // -1 when absent
  double uptime_s = 0;
  uint64_t generation = 0;  // the latest applied state
  bool alive = false;       // every worker alive
  bool switched = false;    // every worker on `generation`
  std::vector<WorkerStatus> workers;
  std::vector<PortStatus> ports;
  EgressStatus egress;
  std::optional<std::map<std::string, XdpStatus>> xdp;  // by interface; only with AF_XDP ports

  friend bool operator==(const Status&, const Status&) = default;
};

std::string to_json(const Status& status);
// Lenient (see the DOC block). Errors: "status: not valid JSON", "status: expected a JSON
// object", "<place>: expected ...".
Result<Status> parse_status(std::string_view document);

}  // namespace steer::doc
