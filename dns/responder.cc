#include "dns/responder.h"

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <optional>
#include <unordered_map>

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/vip_key.h"
#include "dns/xfr.h"

namespace steer::dns {

namespace {

constexpr unsigned kBatch = 32;
constexpr size_t kUdpBuffer = 4096;
constexpr size_t kTcpPendingLimit =
    size_t{256} * 1024;  // unsent answers before a client is not read
constexpr uint64_t kStopTag = ~uint64_t{0};

static_assert(sizeof(Counters) % sizeof(uint64_t) == 0, "Counters is a block of uint64_t");
constexpr size_t kCounterWords = sizeof(Counters) / sizeof(uint64_t);

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

socklen_t to_sockaddr(const IpAddress& a, uint16_t port, sockaddr_storage& ss) {
  std::memset(&ss, 0, sizeof ss);
  if (a.is_v4()) {
    auto* s = reinterpret_cast<sockaddr_in*>(&ss);
    s->sin_family = AF_INET;
    s->sin_port = htons(port);
    std::memcpy(&s->sin_addr, a.v4_data(), 4);
    return sizeof(sockaddr_in);
  }
  auto* s = reinterpret_cast<sockaddr_in6*>(&ss);
  s->sin6_family = AF_INET6;
  s->sin6_port = htons(port);
  std::memcpy(&s->sin6_addr, a.data(), 16);
  return sizeof(sockaddr_in6);
}

IpAddress from_sockaddr(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET) {
    const auto* s = reinterpret_cast<const sockaddr_in*>(&ss);
    return IpAddress::from_v4(reinterpret_cast<const uint8_t*>(&s->sin_addr));
  }
  const auto* s = reinterpret_cast<const sockaddr_in6*>(&ss);
  return IpAddress::from_v6(reinterpret_cast<const uint8_t*>(&s->sin6_addr));
}

uint16_t bound_port(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  return ntohs(ss.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                       : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}

Result<int> open_socket(const ListenAddress& l, uint16_t port, int type, bool reuseport) {
  sockaddr_storage ss{};
  const socklen_t len = to_sockaddr(l.address, port, ss);
  const int fd = ::socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const std::string where = fmt::format("{}:{}/{}", address_for_port(l.address), port,
                                        type == SOCK_DGRAM ? "udp" : "tcp");
  if (fd < 0) return fail(fmt::format("dns: socket for {}: {}", where, std::strerror(errno)));
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (reuseport) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (ss.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (type == SOCK_DGRAM) {
    // The address a query came to, so that the answer leaves from it (a wildcard or anycast
    // listener on a host with several addresses).
    if (ss.ss_family == AF_INET) {
      setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
    } else {
      setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
    }
    const int buf = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    // The kernel's receive time of each datagram: the answer latency histogram.
    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    const int e = errno;
    ::close(fd);
    return fail(fmt::format("dns: cannot bind {}: {}", where, std::strerror(e)));
  }
  if (type == SOCK_STREAM && ::listen(fd, 1024) != 0) {
    const int e = errno;
    ::close(fd);
    return fail(fmt::format("dns: cannot listen on {}: {}", where, std::strerror(e)));
  }
  return fd;
}

// xorshift64*: the TTL jitter's randomness, one per thread.
uint32_t next_random(uint64_t& s) {
  s ^= s >> 12;
  s ^= s << 25;
  s ^= s >> 27;
  return static_cast<uint32_t>((s * 0x2545F4914F6CDD1DULL) >> 32);
}

struct Conn {
  int fd = -1;
  IpAddress peer;
  std::vector<uint8_t> in;
  std::vector<uint8_t> out;
  size_t out_sent = 0;
  int64_t last_ms = 0;
  bool want_write = false;
  // A zone transfer being written (dns/xfr.h): the connection is not read meanwhile, and the
  // queries behind it wait (answers stay in order).
  std::unique_ptr<Transfer> xfer;
};

// A transfer writes while less than this is unsent (a message is at most 64 KiB), so one
// connection's transfer takes its turn with the others' queries and stays under
// kTcpPendingLimit.
constexpr size_t kXfrPending = size_t{64} * 1024;

}  // namespace

struct Responder::Worker {
  int epoll = -1;
  int stop_fd = -1;
  std::vector<int> udp;  // one per listen address
  std::thread thread;
  Counters local;
  std::array<std::atomic<uint64_t>, kCounterWords> shared{};
  std::atomic<uint64_t> generation{0};
  uint64_t rng = 0;
  std::unique_ptr<Rrl> rrl;  // null when rate limiting is off
  std::unordered_map<int, Conn> conns;
  std::array<std::array<uint8_t, kUdpBuffer>, kBatch> in{}, out{};
  std::vector<uint8_t> tcp_out = std::vector<uint8_t>(kMaxMessage);

  void publish() {
    uint64_t words[kCounterWords];
    std::memcpy(words, &local, sizeof local);
    for (size_t i = 0; i < kCounterWords; ++i) shared[i].store(words[i], std::memory_order_relaxed);
  }
};

Result<std::unique_ptr<Responder>> Responder::start(const ResponderOptions& options,
                                                    const PublishCell<Table>& tables, Log log) {
  std::unique_ptr<Responder> r(new Responder(tables, std::move(log)));
  r->opt_ = options;
  const uint16_t threads = std::max<uint16_t>(1, options.threads);
  for (uint16_t i = 0; i < threads; ++i) {
    auto w = std::make_unique<Worker>();
    w->rng = 0x9e3779b97f4a7c15ULL * (i + 1) ^ static_cast<uint64_t>(now_ms());
    if (options.rrl.enabled) {
      // The hash seed from the thread's random state: not guessable from outside.
      const uint64_t seed = uint64_t{next_random(w->rng)} << 32 | next_random(w->rng);
      w->rrl = std::make_unique<Rrl>(options.rrl, Rrl::kDefaultSlots, seed);
    }
    r->workers_.push_back(std::move(w));
  }
  auto cleanup = [&r] {
    for (auto& w : r->workers_) {
      for (int fd : w->udp) ::close(fd);
      w->udp.clear();
    }
    for (int fd : r->tcp_listeners_) ::close(fd);
    r->tcp_listeners_.clear();
  };
  for (const ListenAddress& l : options.listen) {
    uint16_t port = l.port;
    for (auto& w : r->workers_) {
      auto fd = open_socket(l, port, SOCK_DGRAM, true);
      if (!fd) {
        cleanup();
        return tl::unexpected(fd.error());
      }
      if (port == 0) port = bound_port(*fd);  // the other threads share the kernel's choice
      w->udp.push_back(*fd);
    }
    auto tcp = open_socket(l, port, SOCK_STREAM, false);
    if (!tcp) {
      cleanup();
      return tl::unexpected(tcp.error());
    }
    r->tcp_listeners_.push_back(*tcp);
    r->ports_.push_back(port);
  }
  for (size_t i = 0; i < r->workers_.size(); ++i) {
    Worker& w = *r->workers_[i];
    w.epoll = ::epoll_create1(EPOLL_CLOEXEC);
    w.stop_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kStopTag;
    epoll_ctl(w.epoll, EPOLL_CTL_ADD, w.stop_fd, &ev);
    for (int fd : w.udp) {
      ev.events = EPOLLIN;
      ev.data.u64 = static_cast<uint64_t>(fd);
      epoll_ctl(w.epoll, EPOLL_CTL_ADD, fd, &ev);
    }
    for (int fd : r->tcp_listeners_) {
      // One thread wakes per connection.
      ev.events = EPOLLIN | EPOLLEXCLUSIVE;
      ev.data.u64 = static_cast<uint64_t>(fd) | (uint64_t{1} << 32);
      epoll_ctl(w.epoll, EPOLL_CTL_ADD, fd, &ev);
    }
  }
  for (auto& w : r->workers_) {
    Worker* wp = w.get();
    Responder* rp = r.get();
    w->thread = std::thread([rp, wp] { rp->run(*wp); });
  }
  return r;
}

Responder::Responder(const PublishCell<Table>& tables, Log log)
    : tables_(tables), log_(std::move(log)) {}

Responder::~Responder() { stop(); }

void Responder::stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& w : workers_) {
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(w->stop_fd, &one, sizeof one);
  }
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
    for (auto& [fd, c] : w->conns) ::close(fd);
    w->conns.clear();
    for (int fd : w->udp) ::close(fd);
    ::close(w->stop_fd);
    ::close(w->epoll);
  }
  for (int fd : tcp_listeners_) ::close(fd);
  tcp_listeners_.clear();
}

Counters Responder::counters() const {
  Counters sum;
  uint64_t total[kCounterWords] = {};
  for (const auto& w : workers_) {
    for (size_t i = 0; i < kCounterWords; ++i) {
      total[i] += w->shared[i].load(std::memory_order_relaxed);
    }
  }
  std::memcpy(&sum, total, sizeof sum);
  return sum;
}

std::vector<uint64_t> Responder::generations() const {
  std::vector<uint64_t> out;
  for (const auto& w : workers_) out.push_back(w->generation.load(std::memory_order_relaxed));
  return out;
}

namespace {

// One batch of datagrams from `fd`: read, answer, rate-limit (when `rrl`), send. Returns how
// many were read.
unsigned udp_batch(int fd, const Table& table, Responder::Log&,
                   std::array<std::array<uint8_t, kUdpBuffer>, kBatch>& in,
                   std::array<std::array<uint8_t, kUdpBuffer>, kBatch>& out, Counters& counters,
                   uint64_t& rng, Rrl* rrl) {
  mmsghdr msgs[kBatch]{};
  iovec iov[kBatch];
  sockaddr_storage from[kBatch];
  alignas(cmsghdr) uint8_t control[kBatch][128];  // PKTINFO and TIMESTAMPNS
  for (unsigned i = 0; i < kBatch; ++i) {
    iov[i] = {in[i].data(), in[i].size()};
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &from[i];
    msgs[i].msg_hdr.msg_namelen = sizeof from[i];
    msgs[i].msg_hdr.msg_control = control[i];
    msgs[i].msg_hdr.msg_controllen = sizeof control[i];
  }
  const int got = ::recvmmsg(fd, msgs, kBatch, MSG_DONTWAIT, nullptr);
  if (got <= 0) return 0;
  // One clock read per batch: RRL's resolution is a millisecond, a batch takes microseconds.
  const int64_t now = rrl != nullptr ? now_ms() : 0;
  mmsghdr replies[kBatch]{};
  iovec riov[kBatch];
  int64_t received_ns[kBatch];
  unsigned n = 0;
  for (int i = 0; i < got; ++i) {
    if ((msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0) {
      ++counters.queries;
      ++counters.dropped;  // larger than any query we answer
      continue;
    }
    Client client{from_sockaddr(from[i]), false};
    const std::span<const uint8_t> query(in[i].data(), msgs[i].msg_len);
    std::optional<size_t> signed_size;
    if (is_transfer_peer(table, client.address)) {  // a secondary may sign its SOA query
      signed_size =
          answer_signed(table, query, client, {out[i].data(), out[i].size()}, next_random(rng),
                        counters, static_cast<uint64_t>(unix_ms_now() / 1000));
    }
    size_t size = signed_size ? *signed_size
                              : answer(table, query, client, {out[i].data(), out[i].size()},
                                       next_random(rng), counters);
    if (size != 0 && rrl != nullptr) {
      size = rrl->apply(client.address, {out[i].data(), out[i].size()}, size, now, counters);
    }
    if (size == 0) continue;
    riov[n] = {out[i].data(), size};
    mmsghdr& r = replies[n];
    r.msg_hdr.msg_iov = &riov[n];
    r.msg_hdr.msg_iovlen = 1;
    r.msg_hdr.msg_name = &from[i];
    r.msg_hdr.msg_namelen = msgs[i].msg_hdr.msg_namelen;
    // Answer from the address the query came to: keep only the PKTINFO control message.
    r.msg_hdr.msg_control = nullptr;
    r.msg_hdr.msg_controllen = 0;
    received_ns[n] = 0;
    for (cmsghdr* cm = CMSG_FIRSTHDR(&msgs[i].msg_hdr); cm != nullptr;
         cm = CMSG_NXTHDR(&msgs[i].msg_hdr, cm)) {
      if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
        auto* pi = reinterpret_cast<in_pktinfo*>(CMSG_DATA(cm));
        pi->ipi_spec_dst = pi->ipi_addr;
        pi->ipi_ifindex = 0;
        r.msg_hdr.msg_control = cm;
        r.msg_hdr.msg_controllen = CMSG_SPACE(sizeof(in_pktinfo));
      } else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
        auto* pi = reinterpret_cast<in6_pktinfo*>(CMSG_DATA(cm));
        pi->ipi6_ifindex = 0;
        r.msg_hdr.msg_control = cm;
        r.msg_hdr.msg_controllen = CMSG_SPACE(sizeof(in6_pktinfo));
      } else if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
        timespec ts{};
        std::memcpy(&ts, CMSG_DATA(cm), sizeof ts);
        received_ns[n] = int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
      }
    }
    ++n;
  }
  if (n != 0) {
    // One clock read per batch: every answer of the batch leaves with the sendmmsg below.
    timespec now_ts{};
    clock_gettime(CLOCK_REALTIME, &now_ts);
    const int64_t now_ns = int64_t{now_ts.tv_sec} * 1000000000 + now_ts.tv_nsec;
    for (unsigned i = 0; i < n; ++i) {
      if (received_ns[i] == 0) continue;
      const int64_t ns = std::max<int64_t>(0, now_ns - received_ns[i]);
      size_t slot = 0;
      while (slot < kLatencyBoundsNs.size() && ns > kLatencyBoundsNs[slot]) ++slot;
      ++counters.udp_latency[slot];
      counters.udp_latency_sum_ns += static_cast<uint64_t>(ns);
    }
  }
  for (unsigned sent = 0; sent < n;) {
    const int k = ::sendmmsg(fd, replies + sent, n - sent, MSG_DONTWAIT);
    if (k <= 0) break;  // a full socket buffer: the client retries
    sent += static_cast<unsigned>(k);
  }
  return static_cast<unsigned>(got);
}

}  // namespace

void Responder::run(Worker& w) {
  PublishCell<Table>::Reader reader(tables_);
  epoll_event events[64];
  int64_t next_sweep = now_ms() + 1000;
  auto close_conn = [&](int fd) {
    ::close(fd);
    w.conns.erase(fd);
    tcp_open_.fetch_sub(1, std::memory_order_relaxed);
  };
  auto update_events = [&](Conn& c) {
    epoll_event ev{};
    const bool reading = c.out.size() - c.out_sent < kTcpPendingLimit && !c.xfer;
    ev.events = (reading ? EPOLLIN : 0u) | (c.want_write ? EPOLLOUT : 0u) | EPOLLRDHUP;
    ev.data.u64 = static_cast<uint64_t>(c.fd) | (uint64_t{2} << 32);
    epoll_ctl(w.epoll, EPOLL_CTL_MOD, c.fd, &ev);
  };
  auto flush = [&](Conn& c) -> bool {
    while (c.out_sent < c.out.size()) {
      const ssize_t k = ::send(c.fd, c.out.data() + c.out_sent, c.out.size() - c.out_sent,
                               MSG_NOSIGNAL | MSG_DONTWAIT);
      if (k < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        return false;
      }
      c.out_sent += static_cast<size_t>(k);
    }
    if (c.out_sent == c.out.size()) {
      c.out.clear();
      c.out_sent = 0;
    }
    const bool want = !c.out.empty() || c.xfer != nullptr;  // a transfer writes on EPOLLOUT
    if (want != c.want_write) {
      c.want_write = want;
      update_events(c);
    }
    return true;
  };
  // Answers the complete messages in c.in, in order (RFC 7766 6.2.1.1: pipelined). A zone
  // transfer writes up to kXfrPending at a time and holds the messages behind it until it is
  // done (the next EPOLLOUT continues it). True: the stream is garbage, nothing more can be
  // trusted.
  auto serve = [&](Conn& c, const Table& table, int64_t now) -> bool {
    size_t at = 0;
    bool bad = false;
    while (true) {
      if (c.xfer) {
        while (c.xfer && c.out.size() - c.out_sent < kXfrPending) {
          if (!c.xfer->next(c.out)) c.xfer.reset();
        }
        c.last_ms = now;
        if (c.xfer) break;
      }
      if (c.in.size() - at < 2) break;
      const size_t len = static_cast<size_t>(c.in[at] << 8 | c.in[at + 1]);
      if (c.in.size() - at - 2 < len) break;
      const std::span<const uint8_t> msg(c.in.data() + at + 2, len);
      at += 2 + len;
      c.last_ms = now;
      if (is_transfer_request(msg)) {
        const int64_t unix_ms = unix_ms_now();
        c.xfer = start_transfer(table, msg, c.peer, static_cast<uint64_t>(unix_ms / 1000), unix_ms);
        if (c.xfer) continue;  // else answered as any query: REFUSED
      }
      Client client{c.peer, true};
      const std::span<uint8_t> out(w.tcp_out.data() + 2, w.tcp_out.size() - 2);
      std::optional<size_t> signed_size;
      if (is_transfer_peer(table, c.peer)) {
        signed_size = answer_signed(table, msg, client, out, next_random(w.rng), w.local,
                                    static_cast<uint64_t>(unix_ms_now() / 1000));
      }
      const size_t size =
          signed_size ? *signed_size : answer(table, msg, client, out, next_random(w.rng), w.local);
      if (size == 0) {
        bad = true;  // unanswerable garbage on a stream
        break;
      }
      c.out.push_back(static_cast<uint8_t>(size >> 8));
      c.out.push_back(static_cast<uint8_t>(size));
      c.out.insert(c.out.end(), w.tcp_out.data() + 2, w.tcp_out.data() + 2 + size);
    }
    c.in.erase(c.in.begin(), c.in.begin() + static_cast<ptrdiff_t>(at));
    return bad;
  };
  // Set when the last round read datagrams but no full batch: with coalescing on, the next
  // round first waits opt_.coalesce_us, then looks without blocking; a look that finds nothing
  // ends the burst and the thread blocks again. A full batch means a backlog: no waiting then.
  bool linger = false;
  const timespec window{0, static_cast<long>(opt_.coalesce_us) * 1000};
  while (true) {
    int timeout = static_cast<int>(std::max<int64_t>(0, next_sweep - now_ms()));
    if (linger) {
      ::nanosleep(&window, nullptr);
      timeout = 0;
    }
    const int n = ::epoll_wait(w.epoll, events, 64, timeout);
    if (n < 0 && errno != EINTR) break;
    if (n == 0 && linger) {
      linger = false;
      continue;
    }
    const int64_t now = now_ms();
    unsigned udp_read = 0;
    bool udp_full = false;
    const std::shared_ptr<const Table>& table_ptr = reader.get();
    if (!table_ptr) continue;  // nothing published yet
    const Table& table = *table_ptr;
    w.generation.store(table.generation, std::memory_order_relaxed);
    bool stop = false;
    for (int i = 0; i < n; ++i) {
      const uint64_t tag = events[i].data.u64;
      if (tag == kStopTag) {
        stop = true;
        continue;
      }
      const int fd = static_cast<int>(tag & 0xffffffff);
      const uint64_t kind = tag >> 32;
      if (kind == 0) {  // UDP: drain in batches, bounded so TCP and stop get their turn
        unsigned got = kBatch;
        for (int round = 0; round < 16 && got == kBatch; ++round) {
          got = udp_batch(fd, table, log_, w.in, w.out, w.local, w.rng, w.rrl.get());
          udp_read += got;
          w.local.udp_reads += got != 0 ? 1 : 0;
        }
        udp_full = udp_full || got == kBatch;
      } else if (kind == 1) {  // a TCP listener
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        const int c =
            ::accept4(fd, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0) continue;
        if (tcp_open_.fetch_add(1, std::memory_order_relaxed) >= opt_.tcp_connections) {
          tcp_open_.fetch_sub(1, std::memory_order_relaxed);
          ::close(c);  // over the limit: the client tries again or another server
          continue;
        }
        Conn& conn = w.conns[c];
        conn.fd = c;
        conn.peer = from_sockaddr(ss);
        conn.last_ms = now;
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLRDHUP;
        ev.data.u64 = static_cast<uint64_t>(c) | (uint64_t{2} << 32);
        epoll_ctl(w.epoll, EPOLL_CTL_ADD, c, &ev);
      } else {  // a TCP connection
        auto it = w.conns.find(fd);
        if (it == w.conns.end()) continue;
        Conn& c = it->second;
        if ((events[i].events & EPOLLOUT) != 0) {
          if (!flush(c)) {
            close_conn(fd);
            continue;
          }
          if (c.xfer) {  // a transfer goes on, then the queries behind it
            const bool bad = serve(c, table, now);
            if (!flush(c) || (bad && c.out.empty())) {
              close_conn(fd);
              continue;
            }
          }
        }
        if ((events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) == 0) continue;
        bool closed = false;
        uint8_t buf[16384];
        while (!c.xfer && c.out.size() - c.out_sent < kTcpPendingLimit) {
          const ssize_t k = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
          if (k == 0) {
            closed = true;
            break;
          }
          if (k < 0) {
            closed = errno != EAGAIN && errno != EWOULDBLOCK;
            break;
          }
          c.in.insert(c.in.end(), buf, buf + k);
          if (serve(c, table, now)) {
            closed = true;
            break;
          }
        }
        if (!flush(c) || (closed && c.out.empty() && !c.xfer)) {
          close_conn(fd);
        } else if (closed) {
          ::shutdown(fd, SHUT_RD);
        }
      }
    }
    w.publish();
    if (stop) break;
    linger = opt_.coalesce_us != 0 && udp_read != 0 && !udp_full;
    if (now_ms() >= next_sweep) {
      // The idle timeout (RFC 7766 6.2.3): connections with no complete query for a while.
      const int64_t limit = now_ms() - static_cast<int64_t>(opt_.tcp_idle_ms);
      std::vector<int> idle;
      for (const auto& [fd, c] : w.conns) {
        if (c.last_ms < limit) idle.push_back(fd);
      }
      for (int fd : idle) close_conn(fd);
      next_sweep = now_ms() + std::min<int64_t>(1000, std::max<int64_t>(50, opt_.tcp_idle_ms / 4));
    }
  }
}

}  // namespace steer::dns
