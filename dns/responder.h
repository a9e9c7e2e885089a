// DOC: the responder's threads and sockets — steer's authoritative DNS on the wire.
//
//   N threads, each with its own epoll set:
//     one UDP socket per listen address (SO_REUSEPORT: the kernel spreads datagrams over the
//     threads by flow hash), read and answered in batches (recvmmsg / sendmmsg, 32 at a time);
//     the TCP listeners (shared, EPOLLEXCLUSIVE: one thread wakes per connection) and the
//     thread's own TCP connections (RFC 7766: 2-byte length framing, pipelined queries
//     answered in order, an idle timeout, a limit on connections over all threads; a client
//     that does not read its answers stops being read from);
//     an eventfd to stop.
//   A zone transfer request over TCP from an allowed secondary (dns/xfr.h) is answered by a
//   Transfer written a message at a time as the connection drains (EPOLLOUT), so a large zone
//   does not hold up the thread's other connections; the connection's later queries wait.
//   Each batch reads the current answer table once (common/publish.h: one atomic load when
//   nothing changed) and answers with dns/answer.h into the thread's own buffers: no lock, no
//   allocation per query (TCP buffers grow per connection, not per query).
//
// Response-rate limiting (dns/rrl.h), when options.rrl.enabled: each thread has its own
// limiter, made at start (its table allocated then), applied to every UDP answer after
// answer() made it, with the time read once per batch; TCP answers are never limited.
//
// Counters: each thread counts into its own dns::Counters and publishes a copy after every
// batch (relaxed atomics), so counters() from another thread never races the hot path.
// Start binds everything or nothing (an error names the address); stop() joins the threads.
// The table cell and the log outlive the responder.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/publish.h"
#include "common/result.h"
#include "dns/answer.h"
#include "dns/config.h"
#include "dns/rrl.h"
#include "dns/table.h"

namespace steer::dns {

struct ResponderOptions {
  std::vector<ListenAddress> listen;
  uint16_t threads = 2;
  uint32_t tcp_idle_ms = 10000;
  uint32_t tcp_connections = 512;
  RrlConfig rrl;  // off unless enabled
  // After a wake-up that found datagrams but not a full batch, wait this long before the next
  // read so that the next wake-up finds several (interrupt moderation for the UDP path): fewer
  // wake-ups per query, at most this much added latency. 0: answer every wake-up at once.
  uint32_t coalesce_us = 0;
};

class Responder {
 public:
  using Log = std::function<void(std::string_view)>;

  // Binds every socket and starts the threads. Error: the first address that cannot be bound
  // (nothing is left open then).
  static Result<std::unique_ptr<Responder>> start(const ResponderOptions& options,
                                                  const PublishCell<Table>& tables, Log log);
  ~Responder();
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;

  // Stops and joins the threads; closes every socket. Idempotent.
  void stop();

  // The sum over threads (a consistent snapshot per thread, not across threads).
  Counters counters() const;
  // TCP connections open now, over all threads.
  uint32_t tcp_open() const { return tcp_open_.load(std::memory_order_relaxed); }
  // The table generation each thread answered its last batch with (to prove a swap reached
  // every thread).
  std::vector<uint64_t> generations() const;
  // The ports bound, in listen order (useful when a port 0 was asked for).
  const std::vector<uint16_t>& ports() const { return ports_; }

 private:
  struct Worker;
  Responder(const PublishCell<Table>& tables, Log log);
  void run(Worker& w);

  const PublishCell<Table>& tables_;
  Log log_;
  ResponderOptions opt_;
  std::vector<int> tcp_listeners_;
  std::vector<uint16_t> ports_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<uint32_t> tcp_open_{0};
  bool stopped_ = false;
};

}  // namespace steer::dns
