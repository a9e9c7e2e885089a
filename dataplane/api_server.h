// DOC: the dataplane API server: a Unix stream socket speaking steer's line protocol
// (common/framing.h, docs/dataplane.md) — apply a complete desired state, read it back, read
// stats and liveness, and ask which backend a 5-tuple gets and why.
//
// Runs on the main lcore, which is the only writer of state: one poll() loop serves every
// client (non-blocking sockets, buffered replies) and the periodic jobs (freeing retired
// snapshots, following the gateway's MAC). A request runs to completion before the next; an
// apply validates the whole document and builds the new snapshot before publishing it, so an
// invalid state changes nothing. With no client connected the workers go on forwarding with
// the last state (fail-static).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>

#include "common/result.h"
#include "common/state_doc.h"
#include "dataplane/runtime.h"

namespace steer::dataplane {

struct ApiHooks {
  // After a snapshot is published (e.g. make the AF_XDP VIP map match). Errors become
  // warnings in the apply reply and the log.
  std::function<Result<void>(const Snapshot&)> after_publish;
  // Once a second: e.g. re-read the gateway's MAC; returns new egress settings when they
  // changed (the server then republishes the same state with them).
  std::function<std::optional<EgressSpec>()> refresh_egress;
  // The counters of steer's XDP program per AF_XDP interface, for `status` ("xdp").
  std::function<std::map<std::string, doc::XdpStatus>()> xdp_status;
  // Where the server's log lines go (one line each, no newline); default: stderr.
  std::function<void(std::string_view)> log;
};

class ApiServer {
 public:
  ApiServer(Runtime& rt, ApiHooks hooks);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Creates the socket (removing a stale one left by a crashed run; refusing when another
  // live process answers on it) with the configured mode and group.
  Result<void> listen();
  // Serves until rt.stop is set (signal handler). Returns on stop.
  void run();

  // One request line → the complete reply text (framing included). Public for tests.
  std::string handle(std::string_view line);

  // Applies a state document as `apply` does (also at start-up, for the saved state file):
  // validates, builds, publishes, saves. Does not wait for the workers to switch.
  struct Applied {
    uint64_t generation = 0;
    std::vector<std::string> warnings;
  };
  Result<Applied> apply_document(std::string_view document);

 private:
  struct Client;
  std::string apply(std::string_view document);
  void save_state();
  std::string state();
  std::string stats();
  std::string status();
  std::string flow(std::string_view args);
  void republish_egress(const EgressSpec& egress);
  void periodic();

  Runtime& rt_;
  ApiHooks hooks_;
  int listen_fd_ = -1;
  std::string path_;
  uint64_t generation_ = 0;
  uint64_t last_periodic_tsc_ = 0;
  std::vector<FlowQuery*> abandoned_;  // queries a stuck worker has not answered yet
};

}  // namespace steer::dataplane
