// DOC: the probers behind the Checker (internal to control/health).
//
// One Prober per target, created when the target is (re)configured and reused for every
// probe: start() begins one probe and exactly one ProbeSink::probe_done() follows (possibly
// from inside start() when the socket call fails at once), unless abort() comes first; after
// abort() returns the prober never calls back. Timeouts are the Checker's: it calls abort()
// when a probe's deadline passes. The Checker defers destroying a prober to a posted task, so
// a prober may be retired from inside its own probe_done() call.
//
//   tcp         raw non-blocking socket on the FdPoller: socket, connect, epoll_ctl(ADD),
//               setsockopt(SO_LINGER 0), close. Every TCP probe closes with SO_LINGER {1, 0}:
//               the kernel answers with RST, so no TIME_WAIT entry is left behind (10,000
//               backends at 20 probes/s would otherwise keep ~12 million TIME_WAIT sockets,
//               far past net.ipv4.tcp_max_tw_buckets); the backend sees a reset, not a FIN.
//   http        the same socket, then "GET path HTTP/1.1" with Host and Connection: close;
//               reads the status line, headers and (when body_contains is set) up to 64 KiB
//               of body (Content-Length, chunked or up to EOF).
//   https       asio::ssl::stream over an asio socket (TLS is not the scale target), SNI =
//               host when host is a name, peer verification only with tls_verify.
//   udp, dns    connected datagram socket on the FdPoller: ICMP port unreachable comes back
//               as ECONNREFUSED ("connection refused"); dns uses dns_wire.h.
// Threading: the io_context's thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <asio.hpp>

#include "control/health/fd_poller.h"
#include "control/health/target.h"

namespace asio::ssl {
class context;
}

namespace steer::control::health {

class ProbeSink {
 public:
  // The probe of the target in `slot` ended: ok, or failed for `reason` (words).
  virtual void probe_done(uint32_t slot, bool ok, std::string reason) = 0;

 protected:
  ~ProbeSink() = default;
};

class Prober {
 public:
  virtual ~Prober() = default;
  virtual void start() = 0;
  virtual void abort() = 0;
};

// TLS client contexts shared by every HTTPS prober of a Checker (SSL_CTX set-up is costly),
// created on first use. get() returns nullptr and sets `error` when OpenSSL fails.
class TlsContexts {
 public:
  std::shared_ptr<asio::ssl::context> get(bool verify, std::string& error);

 private:
  std::shared_ptr<asio::ssl::context> verify_, no_verify_;
};

struct ProbeEnv {
  asio::io_context& io;
  FdPoller& poller;
  ProbeSink& sink;
  TlsContexts& tls;
  // Scratch for datagram replies, used only inside one on_io() call.
  std::vector<uint8_t>& scratch;
};

std::unique_ptr<Prober> make_prober(const Target& target, uint32_t slot, ProbeEnv& env,
                                    uint64_t seed);

// Words for a socket errno: "connection refused", "host unreachable", ...
std::string errno_reason(int err);

// The Host header / SNI name used when the check gives no host: the address (IPv6 in
// brackets) plus ":port" unless the port is the scheme's default.
std::string default_host(const IpAddress& address, uint16_t port, bool https);

}  // namespace steer::control::health
