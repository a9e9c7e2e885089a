// DOC: steerd's side of the dataplane API socket (docs/dataplane.md).
//
// One connection, one request in flight, everything on the control thread's io_context:
//   - pushes the desired state, coalesced: at most one `apply` per push interval, always the
//     latest document; re-pushed after a dataplane restart (its pid changed) or a reconnect;
//   - polls `status` every status interval and judges liveness: not connected / not
//     answering -> down; a worker without heartbeat, or workers not switching to the pushed
//     generation within stuck_after -> stuck;
//   - polls `stats` once a second for show commands and metrics;
//   - passes operator queries (`flow ...`) through.
// On (re)connect it first reads the dataplane's applied `state`, so steerd can adopt a running
// dataplane without disturbing it (it pushes nothing until told to).
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <optional>
#include <string>

#include <asio.hpp>

#include "common/framing.h"
#include "common/result.h"
#include "common/state_doc.h"
#include "control/dataplane_health.h"

namespace steer::control {

using SteadyClock = std::chrono::steady_clock;

struct DataplaneLinkOptions {
  std::string socket;
  std::chrono::milliseconds push_interval{10};
  std::chrono::milliseconds status_interval{100};
  std::chrono::milliseconds stuck_after{1000};
  std::chrono::milliseconds request_timeout{2000};
};

class DataplaneClient {
 public:
  using Done = std::function<void(Result<Reply>)>;
  using Log = std::function<void(std::string_view)>;

  DataplaneClient(asio::io_context& io, DataplaneLinkOptions options, Log log);
  void start();
  // Stops talking: closes the socket, fails queued requests; no on_health call follows. The
  // client's coroutines end at their next wake-up (within status_interval): keep the
  // io_context running that long before destroying the client.
  void stop();
  // A reload: new push and status intervals and stuck threshold (the socket stays).
  void set_intervals(std::chrono::milliseconds push, std::chrono::milliseconds status,
                     std::chrono::milliseconds stuck_after);

  // The document to push (complete state). Coalesced; pushed when allowed.
  void set_desired(std::string document);
  // Whether pushing is allowed yet (steerd's warm-up holds it).
  void enable_push(bool on);
  // Sends one request line; `done` runs on the io thread with the reply or an error.
  void request(std::string line, Done done);

  const std::string& socket() const { return opt_.socket; }
  DataplaneHealth health() const { return health_; }
  const std::string& health_reason() const { return health_reason_; }
  SteadyClock::time_point health_since() const { return health_since_; }
  bool connected() const { return connected_; }
  // The last `status` read (parsed, and its text as the dataplane sent it; empty until the
  // first reply).
  const doc::Status& status() const { return status_; }
  const std::string& status_text() const { return status_text_; }
  // The last two `stats` read, indexed, with when they arrived (for rates); empty (no VIPs,
  // time 0) until the replies come. stats_text(): the last one as the dataplane sent it.
  const doc::StatsIndex& stats() const { return stats_; }
  SteadyClock::time_point stats_at() const { return stats_at_; }
  const doc::StatsIndex& previous_stats() const { return previous_stats_; }
  SteadyClock::time_point previous_stats_at() const { return previous_stats_at_; }
  const std::string& stats_text() const { return stats_text_; }
  // The state the dataplane held when we connected (adoption), until the first push.
  const std::optional<std::string>& adopted_state() const { return adopted_; }
  uint64_t pushed_generation() const { return pushed_generation_; }
  uint64_t pushes() const { return pushes_; }
  uint64_t push_failures() const { return push_failures_; }
  const std::string& last_push_error() const { return last_push_error_; }
  // The last pushes the dataplane acknowledged: generation and Unix time of the ack (µs), for
  // measuring how long a health change takes to reach the dataplane.
  struct PushRecord {
    uint64_t generation = 0;
    int64_t acked_unix_us = 0;
  };
  const std::deque<PushRecord>& recent_pushes() const { return recent_pushes_; }

  // Called on every health change (for logs and the BGP policy later).
  std::function<void(DataplaneHealth before, DataplaneHealth now, const std::string& why)>
      on_health;

 private:
  struct Pending {
    std::string line;
    Done done;
  };
  asio::awaitable<void> session();
  asio::awaitable<Result<Reply>> exchange(asio::local::stream_protocol::socket& sock,
                                          ReplyReader& reader, const std::string* line);
  asio::awaitable<void> ticker();
  void maybe_push();
  void set_health(DataplaneHealth h, std::string why);
  void on_status(const Reply& r);

  asio::io_context& io_;
  DataplaneLinkOptions opt_;
  Log log_;
  asio::steady_timer wake_;
  asio::steady_timer push_timer_;
  std::deque<Pending> queue_;
  bool stopped_ = false;
  bool connected_ = false;
  asio::local::stream_protocol::socket* sock_ = nullptr;

  std::string desired_;
  bool desired_dirty_ = false;
  bool push_enabled_ = false;
  bool push_in_flight_ = false;
  SteadyClock::time_point last_push_at_{};
  uint64_t pushed_generation_ = 0;
  uint64_t pushes_ = 0;
  uint64_t push_failures_ = 0;
  std::string last_push_error_;
  std::deque<PushRecord> recent_pushes_;
  SteadyClock::time_point pushed_at_{};
  bool status_in_flight_ = false;
  bool stats_in_flight_ = false;

  DataplaneHealth health_ = DataplaneHealth::Unknown;
  std::string health_reason_ = "not connected yet";
  SteadyClock::time_point health_since_ = SteadyClock::now();
  int64_t dataplane_pid_ = -1;
  bool just_connected_ = false;
  doc::Status status_;
  std::string status_text_;
  doc::StatsIndex stats_, previous_stats_;
  std::string stats_text_;
  SteadyClock::time_point stats_at_{}, previous_stats_at_{};
  std::optional<std::string> adopted_;
};

}  // namespace steer::control
