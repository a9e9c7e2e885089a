// The probers on raw non-blocking sockets (tcp, http, udp, dns) and the helpers every prober
// shares. The https prober is in https_probe.cc.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control/health/dns_wire.h"
#include "control/health/http_response.h"
#include "control/health/probe.h"
#include "control/health/probe_internal.h"

namespace steer::control::health {

std::string errno_reason(int err) {
  switch (err) {
    case ECONNREFUSED:
      return "connection refused";
    case ECONNRESET:
      return "connection reset";
    case EHOSTUNREACH:
      return "host unreachable";
    case ENETUNREACH:
      return "network unreachable";
    case ETIMEDOUT:
      return "connection timed out";
    case EPIPE:
      return "connection closed";
    case EACCES:
    case EPERM:
      return "not permitted";
    case EADDRNOTAVAIL:
      return "no local address or port available";
    case EMFILE:
    case ENFILE:
      return "out of file descriptors";
    case ENOBUFS:
    case ENOMEM:
      return "out of socket buffers";
    default:
      return fmt::format("socket error {} ({})", err, std::system_category().message(err));
  }
}

std::string default_host(const IpAddress& address, uint16_t port, bool https) {
  const std::string a = address.is_v4() ? address.to_string() : "[" + address.to_string() + "]";
  return port == (https ? 443 : 80) ? a : fmt::format("{}:{}", a, port);
}

socklen_t to_sockaddr(const IpAddress& address, uint16_t port, sockaddr_storage& ss) {
  std::memset(&ss, 0, sizeof ss);
  if (address.is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    std::memcpy(&sin->sin_addr, address.v4_data(), 4);
    return sizeof(sockaddr_in);
  }
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(port);
  std::memcpy(&sin6->sin6_addr, address.data(), 16);
  return sizeof(sockaddr_in6);
}

std::string build_http_request(const Target& t, bool https) {
  const CheckConfig& c = t.check;
  const std::string host = c.host.empty() ? default_host(t.address, t.port, https) : c.host;
  const std::string path = c.path.empty() ? "/" : c.path;
  return fmt::format(
      "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: steerd-health\r\nAccept: */*\r\n"
      "Connection: close\r\n\r\n",
      path, host);
}

std::string judge_http(const CheckConfig& c, const HttpReply& reply) {
  if (std::find(c.expect_status.begin(), c.expect_status.end(), reply.status) ==
      c.expect_status.end()) {
    return fmt::format("HTTP {}", reply.status);
  }
  if (!c.body_contains.empty() && reply.body.find(c.body_contains) == std::string_view::npos) {
    return fmt::format("body lacks '{}'", c.body_contains);
  }
  return {};
}

namespace {

// A probe on one raw non-blocking socket watched by the FdPoller.
class SocketProber : public Prober, public FdPoller::Client {
 public:
  void abort() override { close_socket(); }

 protected:
  SocketProber(const Target& t, uint32_t slot, ProbeEnv& env, int type)
      : env_(env), slot_(slot), type_(type) {
    addr_len_ = to_sockaddr(t.address, t.port, addr_);
  }
  ~SocketProber() override { close_socket(); }

  // Opens the socket, starts connecting and watches it for `events`. On failure reports it
  // (finish) and returns false.
  bool open_and_connect(uint32_t events) {
    fd_ = ::socket(addr_.ss_family, type_ | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
      finish(false, errno_reason(errno));
      return false;
    }
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr_), addr_len_) != 0 &&
        errno != EINPROGRESS) {
      finish(false, errno_reason(errno));
      return false;
    }
    // A connect that finished at once (loopback) is reported by epoll right away.
    handle_ = env_.poller.add(fd_, events, this);
    if (handle_ == 0) {
      finish(false, "epoll_ctl: " + std::system_category().message(errno));
      return false;
    }
    return true;
  }

  int socket_error() const {
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
    return err;
  }

  void close_socket() {
    if (fd_ < 0) return;
    env_.poller.remove(handle_);
    handle_ = 0;
    if (connected_ && type_ == SOCK_STREAM) {
      // RST instead of FIN: no TIME_WAIT on our side (see probe.h).
      const linger lg{1, 0};
      ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    ::close(fd_);
    fd_ = -1;
    connected_ = false;
  }

  // Ends the probe: closes the socket, then reports. Must be the caller's last action (the
  // sink may retire this prober).
  void finish(bool ok, std::string reason) {
    close_socket();
    on_finish();
    env_.sink.probe_done(slot_, ok, std::move(reason));
  }
  virtual void on_finish() {}

  ProbeEnv& env_;
  const uint32_t slot_;
  const int type_;
  sockaddr_storage addr_;
  socklen_t addr_len_;
  int fd_ = -1;
  uint64_t handle_ = 0;
  bool connected_ = false;
};

class TcpProber final : public SocketProber {
 public:
  TcpProber(const Target& t, uint32_t slot, ProbeEnv& env)
      : SocketProber(t, slot, env, SOCK_STREAM) {}

  void start() override { open_and_connect(EPOLLOUT); }

  void on_io(uint32_t events) override {
    if (events & (EPOLLERR | EPOLLHUP)) {
      const int err = socket_error();
      finish(false, errno_reason(err != 0 ? err : ECONNRESET));
    } else if (events & EPOLLOUT) {
      // Writable without an error: the handshake completed (no getsockopt needed).
      connected_ = true;
      finish(true, {});
    }
  }
};

class HttpProber final : public SocketProber {
 public:
  HttpProber(const Target& t, uint32_t slot, ProbeEnv& env)
      : SocketProber(t, slot, env, SOCK_STREAM),
        check_(t.check),
        request_(build_http_request(t, false)) {}

  void start() override {
    phase_ = Phase::Connecting;
    sent_ = 0;
    len_ = 0;
    open_and_connect(EPOLLIN | EPOLLOUT | EPOLLRDHUP);
  }

  void on_io(uint32_t events) override {
    if (phase_ == Phase::Connecting) {
      if (events & EPOLLERR) {
        const int err = socket_error();
        return finish(false, errno_reason(err != 0 ? err : ECONNRESET));
      }
      if (!(events & EPOLLOUT)) return;
      connected_ = true;
      phase_ = Phase::Sending;
    }
    if (phase_ == Phase::Sending) {
      while (sent_ < request_.size()) {
        const ssize_t n =
            ::send(fd_, request_.data() + sent_, request_.size() - sent_, MSG_NOSIGNAL);
        if (n < 0) {
          if (errno == EAGAIN || errno == EINTR) return;
          return finish(false, errno_reason(errno));
        }
        sent_ += static_cast<size_t>(n);
      }
      phase_ = Phase::Receiving;
    }
    receive();
  }

 private:
  enum class Phase : uint8_t { Connecting, Sending, Receiving };
  static constexpr size_t kInitialBuffer = 4096;
  static constexpr size_t kMaxBuffer = kMaxHttpHeaders + kMaxHttpBody + size_t{16} * 1024;
  static constexpr size_t kKeepBuffer = size_t{16} * 1024;

  void receive() {
    bool eof = false;
    for (;;) {
      if (len_ == buf_.size()) {
        if (buf_.size() >= kMaxBuffer) {
          eof = true;  // as much as the parser will ever look at
          break;
        }
        buf_.resize(std::max(kInitialBuffer, std::min(buf_.size() * 2, kMaxBuffer)));
      }
      const ssize_t n = ::recv(fd_, buf_.data() + len_, buf_.size() - len_, 0);
      if (n > 0) {
        len_ += static_cast<size_t>(n);
        continue;
      }
      if (n == 0) {
        eof = true;
        break;
      }
      if (errno == EAGAIN) break;
      if (errno == EINTR) continue;
      if (len_ == 0) return finish(false, errno_reason(errno));
      eof = true;  // a reset after a response: judge what arrived
      break;
    }
    HttpReply reply;
    const HttpParse p = parse_http_reply(std::string_view(buf_.data(), len_), eof,
                                         !check_.body_contains.empty(), reply, scratch_);
    switch (p) {
      case HttpParse::NeedMore:
        if (!eof) return;
        return finish(false, len_ == 0 ? "connection closed before response"
                                       : "connection closed mid-response");
      case HttpParse::Malformed:
      case HttpParse::TooLarge:
        return finish(false, std::string(http_parse_name(p)));
      case HttpParse::Complete: {
        std::string verdict = judge_http(check_, reply);
        const bool ok = verdict.empty();  // before the move below
        return finish(ok, std::move(verdict));
      }
    }
  }

  void on_finish() override {
    // Keep a small buffer for the next probe; give back what an odd large reply took.
    if (buf_.size() > kKeepBuffer) std::vector<char>().swap(buf_);
    if (scratch_.capacity() > kKeepBuffer) std::string().swap(scratch_);
  }

  const CheckConfig check_;
  const std::string request_;
  Phase phase_ = Phase::Connecting;
  size_t sent_ = 0;
  std::vector<char> buf_;
  size_t len_ = 0;
  std::string scratch_;
};

// udp: send the payload, any reply containing `expect` passes. dns: send a query, judge the
// reply (id, question, rcode, answer).
class DatagramProber final : public SocketProber {
 public:
  DatagramProber(const Target& t, uint32_t slot, ProbeEnv& env, uint64_t seed)
      : SocketProber(t, slot, env, SOCK_DGRAM),
        check_(t.check),
        dns_(t.check.type == CheckType::Dns),
        rng_(seed) {
    if (!dns_) {
      message_.assign(check_.payload.begin(), check_.payload.end());
      return;
    }
    message_.resize(dns::kHeaderSize + dns::kMaxName + 4);
    size_t len = 0;
    const auto e = dns::encode_query(0, check_.query, check_.qtype, false, message_, len);
    if (e != dns::DnsEncode::Ok) {
      setup_error_ = fmt::format("bad query name '{}': {}", check_.query, dns::dns_encode_name(e));
    }
    message_.resize(len);
    qname_ = dns::canonical_name(check_.query);
    if (!check_.expect_answer.empty()) {
      expect_answer_ = IpAddress::parse(check_.expect_answer);
      if (!expect_answer_) {
        setup_error_ = fmt::format("expect_answer '{}' is not an address", check_.expect_answer);
      }
    }
  }

  void start() override {
    if (!setup_error_.empty()) return finish(false, setup_error_);
    if (dns_) {
      id_ = static_cast<uint16_t>(rng_.next());
      message_[0] = static_cast<uint8_t>(id_ >> 8);
      message_[1] = static_cast<uint8_t>(id_);
    }
    if (!open_and_connect(EPOLLIN)) return;
    if (::send(fd_, message_.data(), message_.size(), MSG_NOSIGNAL) < 0) {
      return finish(false, errno_reason(errno));
    }
  }

  void on_io(uint32_t) override {
    std::vector<uint8_t>& buf = env_.scratch;
    for (;;) {
      const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
      if (n < 0) {
        if (errno == EAGAIN) return;
        if (errno == EINTR) continue;
        // ICMP port unreachable on a connected socket: ECONNREFUSED.
        return finish(false, errno_reason(errno));
      }
      const std::span<const uint8_t> reply(buf.data(), static_cast<size_t>(n));
      if (!dns_) {
        const std::string_view text(reinterpret_cast<const char*>(reply.data()), reply.size());
        if (check_.expect.empty() || text.find(check_.expect) != std::string_view::npos) {
          return finish(true, {});
        }
        return finish(false, fmt::format("reply lacks '{}'", check_.expect));
      }
      if (judge_dns(reply)) return;  // else: not our reply, keep waiting
    }
  }

 private:
  // True when the probe ended (finish called); false to ignore the datagram.
  bool judge_dns(std::span<const uint8_t> msg) {
    dns::Reply r;
    const dns::DnsDecode d = dns::decode_reply(msg, r);
    if (d == dns::DnsDecode::Ok && r.id != id_) return false;  // stray or stale
    if (d != dns::DnsDecode::Ok) {
      finish(false, fmt::format("malformed reply: {}", dns::dns_decode_name(d)));
      return true;
    }
    if (r.qdcount < 1 || r.qname != qname_ || r.qtype != check_.qtype) {
      finish(false, "reply does not match the query");
      return true;
    }
    if (r.rcode != check_.expect_rcode) {
      finish(false, "rcode " + dns::rcode_name(r.rcode));
      return true;
    }
    if (expect_answer_ &&
        std::find(r.addresses.begin(), r.addresses.end(), *expect_answer_) == r.addresses.end()) {
      finish(false, r.addresses.empty()
                        ? std::string("wrong answer (no A/AAAA records)")
                        : fmt::format("wrong answer (got {})", r.addresses.front()));
      return true;
    }
    finish(true, {});
    return true;
  }

  const CheckConfig check_;
  const bool dns_;
  Rng rng_;
  std::vector<uint8_t> message_;
  std::string qname_;
  std::optional<IpAddress> expect_answer_;
  std::string setup_error_;
  uint16_t id_ = 0;
};

}  // namespace

std::unique_ptr<Prober> make_prober(const Target& target, uint32_t slot, ProbeEnv& env,
                                    uint64_t seed) {
  switch (target.check.type) {
    case CheckType::Tcp:
      return std::make_unique<TcpProber>(target, slot, env);
    case CheckType::Http:
      return std::make_unique<HttpProber>(target, slot, env);
    case CheckType::Https:
      return make_https_prober(target, slot, env);
    case CheckType::Udp:
    case CheckType::Dns:
      return std::make_unique<DatagramProber>(target, slot, env, seed);
  }
  return std::make_unique<TcpProber>(target, slot, env);
}

}  // namespace steer::control::health
