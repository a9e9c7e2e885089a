// DOC: steerd's client of BIRD's control socket (bird -s SOCK).
//
// One connection, kept open and re-opened; everything runs on one io_context thread (the
// control thread), so the client needs no locks and must only be called from that thread.
//
// Session: connect, read the greeting ("0001 BIRD 2.0.12 ready.") within request_timeout,
// then serve the request queue: FIFO, one request in flight (BIRD answers in order, but a
// pipelined command after a failed one would be misattributed), each with request_timeout.
// The socket is read all the time, so '+' asynchronous lines (on_notice) and BIRD going away
// (on_disconnect) are seen even when idle. A reply nobody asked for means the framing is lost:
// the connection is dropped.
//
// Failures of a request (BirdErrorKind):
//   NotConnected  not connected, or the session ended before the request was written (it
//                 had no effect); answered through io.post, never inside request()
//   Timeout       no complete reply in time: the connection is dropped and re-opened, since
//                 a late reply would be taken for the next request's
//   Io, Protocol  the connection broke or spoke nonsense while the request was in flight
//                 (whether BIRD executed it is unknown); the connection is re-opened
//   Runtime, Syntax  BIRD's 8xxx/9xxx (typed helpers; request() returns the raw Reply)
//   Rejected      the command cannot be sent (newline, too long, bad protocol name)
// Reconnects wait backoff_min, doubling up to backoff_max after each failed attempt; a good
// greeting resets it.
//
// Lifetime: stop() (also run by the destructor) closes the socket and drops every pending
// request. After stop() returns no callback of this client runs again — neither request
// callbacks (including ones already posted) nor on_connect/on_disconnect/on_notice. The
// coroutines keep their own state alive, so the client may be destroyed right after stop(),
// while the io_context is still running.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <asio.hpp>

#include "bgp/bird_reply.h"

namespace steer::bgp {

struct BirdClientOptions {
  std::string socket;                               // BIRD's control socket path
  std::chrono::milliseconds request_timeout{2000};  // also bounds waiting for the greeting
  std::chrono::milliseconds backoff_min{100};
  std::chrono::milliseconds backoff_max{5000};
};

class BirdClient {
 public:
  using Log = std::function<void(std::string_view)>;

  // `log` receives one line per connection event (connected, lost, first failure of a
  // kind); it may be empty.
  BirdClient(asio::io_context& io, BirdClientOptions options, Log log);
  ~BirdClient();
  BirdClient(const BirdClient&) = delete;
  BirdClient& operator=(const BirdClient&) = delete;

  // Starts connecting (once; the client does not restart after stop()).
  void start();
  // Closes the connection and drops pending requests; no callback runs after it returns.
  void stop();

  // Sends one command (full lower-case keywords) and hands `done` the complete reply, whatever
  // its code (use check_reply or the typed helpers below for 8xxx/9xxx). Queued FIFO behind
  // earlier requests. Rejected (invalid command) and NotConnected are posted, never called
  // from inside request().
  void request(std::string command, std::function<void(BirdResult<Reply>)> done);

  // `show protocols`.
  void show_protocols(std::function<void(BirdResult<std::vector<BirdProtocol>>)> done);
  // `enable "P"` / `disable "P"` (command_set_enabled). A name no protocol has is Runtime 8003.
  void set_enabled(std::string protocol, bool enable, std::function<void(BirdResult<Toggle>)> done);
  // `show status`.
  void show_status(std::function<void(BirdResult<BirdStatus>)> done);
  // `configure` (re-reads BIRD's configuration file; 8002 Runtime on a configuration error).
  void configure(std::function<void(BirdResult<ConfigureOutcome>)> done);

  // Whether a session is up (greeting received, not lost since).
  bool connected() const;
  // The last greeting's text, e.g. "BIRD 2.0.12 ready." (empty before the first).
  const std::string& greeting() const;
  // Why the last session ended or the last connect attempt failed (empty while connected
  // after a good greeting).
  const std::string& last_error() const;
  // Sessions established (good greetings) and requests written, since construction.
  uint64_t connects() const;
  uint64_t requests() const;

  // Called after each successful greeting.
  std::function<void()> on_connect;
  // Called once each time an established session ends (BIRD closed it or died, a timeout,
  // an I/O or protocol error), with the reason. Failed connect attempts while not connected
  // do not call it (see last_error()).
  std::function<void(const std::string& why)> on_disconnect;
  // Called with each '+' asynchronous line (without the '+'), e.g. log lines after `echo`.
  std::function<void(const std::string& line)> on_notice;

 private:
  struct State;  // shared with the coroutines (bird_client.cc)
  std::shared_ptr<State> state_;
};

}  // namespace steer::bgp
