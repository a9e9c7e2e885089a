// probe_bench: the health checker at scale. N backends (consecutive addresses from --base,
// all local: 127.1.0.1... on the host's loopback, or 10.200.0.1... inside the netns that
// tools/probe-bench builds), each probed by TCP connect every --interval-ms (jitter 10 %),
// against one in-process listener on 0.0.0.0:PORT that accepts and closes. After a warm-up,
// one measured window reports:
//   probes/s         probes completed per second (expected: N / interval)
//   user, sys µs     the checker thread's CPU (getrusage RUSAGE_THREAD) per probe
//   lag p50/p99/max  how late probes started against their schedule
//   failures         probes that failed (must be 0), and how many targets ended Up
// and, with --floor, the kernel floor: the same syscalls (socket, connect, epoll_ctl,
// epoll_wait, setsockopt SO_LINGER, close) in a bare loop, one connect at a time. On
// loopback the TCP handshake of *both* ends (and the RST) runs in softirq context on the
// connecting thread, so it is charged to the prober's sys time; the floor shows that share.
// Exit status: 0 measured with no failure, 1 failures, a rate below 95 % of the expected
// one (the thread cannot keep up), or a set-up error.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <arpa/inet.h>
#include <fmt/format.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control/health/checker.h"

namespace {

using namespace steer;
using namespace steer::control::health;
using Seconds = std::chrono::duration<double>;

double thread_cpu_us(bool user) {
  rusage ru{};
  getrusage(RUSAGE_THREAD, &ru);
  const timeval& tv = user ? ru.ru_utime : ru.ru_stime;
  return static_cast<double>(tv.tv_sec) * 1e6 + static_cast<double>(tv.tv_usec);
}

// A private network namespace with lo up (127.0.0.0/8 is then all local): for runs outside
// tools/probe-bench, so nothing listens on the host. Needs root.
void enter_private_netns() {
  if (unshare(CLONE_NEWNET) != 0) {
    throw std::runtime_error("unshare(CLONE_NEWNET): " + std::system_category().message(errno));
  }
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ifreq ifr{};
  std::strcpy(ifr.ifr_name, "lo");
  const bool ok = fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 &&
                  (ifr.ifr_flags |= IFF_UP, ioctl(fd, SIOCSIFFLAGS, &ifr) == 0);
  if (fd >= 0) close(fd);
  if (!ok) throw std::runtime_error("cannot bring lo up in the private netns");
}

long peak_rss_kib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

double process_cpu_us() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

void pin(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0) {
    throw std::runtime_error(fmt::format("cannot pin to CPU {}", cpu));
  }
}

// Accepts and closes on 0.0.0.0:port (SO_REUSEPORT: one socket per thread).
class Listener {
 public:
  Listener(uint16_t port, int threads, int cpu) : cpu_(cpu) {
    for (int i = 0; i < threads; ++i) {
      const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      const int one = 1;
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
      sockaddr_in sin{};
      sin.sin_family = AF_INET;
      sin.sin_port = htons(port);
      if (bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin) != 0 || listen(fd, 65535) != 0) {
        throw std::runtime_error(
            fmt::format("listener on port {}: {}", port, std::system_category().message(errno)));
      }
      if (port == 0) {
        socklen_t len = sizeof sin;
        getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len);
        port = ntohs(sin.sin_port);
      }
      fds_.push_back(fd);
    }
    port_ = port;
    for (int fd : fds_) {
      threads_.emplace_back([this, fd] {
        pthread_setname_np(pthread_self(), "bench-listener");  // apart in perf/top
        pin(cpu_);
        for (;;) {
          const int c = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
          if (c >= 0) {
            close(c);
            accepted_.fetch_add(1, std::memory_order_relaxed);
          } else if (errno != EINTR && errno != ECONNABORTED) {
            return;  // shut down
          }
        }
      });
    }
  }
  ~Listener() {
    for (int fd : fds_) shutdown(fd, SHUT_RDWR);  // wakes accept() with EINVAL
    for (auto& t : threads_) t.join();
    for (int fd : fds_) close(fd);
  }
  uint16_t port() const { return port_; }
  uint64_t accepted() const { return accepted_.load(); }

 private:
  uint16_t port_ = 0;
  int cpu_;
  std::vector<int> fds_;
  std::vector<std::thread> threads_;
  std::atomic<uint64_t> accepted_{0};
};

// The kernel floor: `count` sequential TCP-connect probes with the prober's syscalls.
struct Floor {
  double user_us = 0, sys_us = 0;
  int failures = 0;
};
Floor measure_floor(uint32_t base, uint32_t backends, uint16_t port, int count) {
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  Floor f;
  const double u0 = thread_cpu_us(true), s0 = thread_cpu_us(false);
  for (int i = 0; i < count; ++i) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    sin.sin_addr.s_addr = htonl(base + static_cast<uint32_t>(i) % backends);
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    (void)connect(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin);  // EINPROGRESS
    epoll_event ev{};
    ev.events = EPOLLOUT | EPOLLET;
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    epoll_event out{};
    if (epoll_wait(ep, &out, 1, 1000) != 1 || (out.events & (EPOLLERR | EPOLLHUP))) ++f.failures;
    const linger lg{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
  }
  f.user_us = (thread_cpu_us(true) - u0) / count;
  f.sys_us = (thread_cpu_us(false) - s0) / count;
  close(ep);
  return f;
}

}  // namespace

namespace {

int run(int argc, char** argv) {
  CLI::App app{"probe_bench: the health checker's TCP-connect probes at scale"};
  uint32_t backends = 1000, interval_ms = 100;
  double seconds = 5, warmup_s = 0;
  std::string base_text = "127.1.0.1";
  uint16_t port = 0;
  int listener_threads = 1;
  bool floor = false, header = true, private_netns = false;
  int checker_cpu = -1, listener_cpu = -1;
  app.add_option("--backends", backends, "number of backends (consecutive addresses)");
  app.add_option("--interval-ms", interval_ms, "probe interval");
  app.add_option("--seconds", seconds, "measured window");
  app.add_option("--warmup", warmup_s, "seconds before the window (default: 1 interval + 1 s)");
  app.add_option("--base", base_text, "first backend address (IPv4, must be local)");
  app.add_option("--port", port, "listener port (0: any free port)");
  app.add_option("--listener-threads", listener_threads, "accepting threads");
  app.add_option("--checker-cpu", checker_cpu, "pin the checker thread to this CPU");
  app.add_option("--listener-cpu", listener_cpu, "pin the listener thread(s) to this CPU");
  app.add_flag("--unshare", private_netns,
               "run in a private network namespace of its own (127.1.0.1... then local)");
  app.add_flag("--floor", floor, "also measure the bare-syscall floor per connect");
  app.add_flag("!--no-header", header, "print only the table row");
  CLI11_PARSE(app, argc, argv);

  in_addr a{};
  if (inet_pton(AF_INET, base_text.c_str(), &a) != 1 || backends == 0 || interval_ms < 50) {
    fmt::print(stderr, "probe_bench: bad --base, --backends or --interval-ms (>= 50)\n");
    return 1;
  }
  const uint32_t base = ntohl(a.s_addr);
  if (private_netns) {
    if (geteuid() != 0) {
      fmt::print(stderr, "probe_bench: --unshare needs root; skipped\n");
      return 77;  // meson: skipped
    }
    enter_private_netns();  // before any thread starts
  }
  if (warmup_s <= 0) warmup_s = interval_ms / 1000.0 + 1.0;

  try {
    Listener listener(port, listener_threads, listener_cpu);
    pin(checker_cpu);

    Floor fl;
    if (floor) fl = measure_floor(base, backends, listener.port(), 20000);

    asio::io_context io(1);
    uint64_t changes = 0;
    control::health::Checker checker(
        io, [&](const std::string&, State, State, const ProbeResult&) { ++changes; }, 42);
    std::vector<Target> targets;
    targets.reserve(backends);
    control::CheckConfig c;
    c.name = "bench";
    c.type = control::CheckType::Tcp;
    c.interval_ms = interval_ms;
    c.timeout_ms = std::min<uint32_t>(interval_ms / 2, 500);
    c.rise = 2;
    c.fall = 3;
    c.jitter = 0.1;
    for (uint32_t i = 0; i < backends; ++i) {
      targets.push_back(
          Target{fmt::format("b{}", i), IpAddress::from_v4_host(base + i), listener.port(), c});
    }
    checker.set_targets(std::move(targets));

    io.run_for(std::chrono::duration_cast<std::chrono::nanoseconds>(Seconds(warmup_s)));
    const auto s0 = checker.stats();
    checker.reset_lag_window(std::chrono::duration_cast<Clock::duration>(Seconds(seconds + 60)));
    const double u0 = thread_cpu_us(true), k0 = thread_cpu_us(false), p0 = process_cpu_us();
    const uint64_t acc0 = listener.accepted();
    const auto t0 = Clock::now();
    io.run_for(std::chrono::duration_cast<std::chrono::nanoseconds>(Seconds(seconds)));
    const double wall = Seconds(Clock::now() - t0).count();
    const double u1 = thread_cpu_us(true), k1 = thread_cpu_us(false), p1 = process_cpu_us();
    const auto s1 = checker.stats();
    const uint64_t acc1 = listener.accepted();

    size_t up = 0;
    for (const auto& k : checker.keys()) up += checker.status(k)->state == State::Up;
    const double done = static_cast<double>(s1.probes_done - s0.probes_done);
    const uint64_t failures = s1.failures - s0.failures;
    const double user = (u1 - u0) / done, sys = (k1 - k0) / done;
    const double other = ((p1 - p0) - (u1 - u0) - (k1 - k0)) / done;

    if (header) {
      fmt::print(
          "| backends | interval | probes/s (expected) | checker CPU µs/probe: user + sys "
          "= total | thread busy | lag p50 / p99 / max ms | failures | up | listener µs/conn |"
          "{}\n|---|---|---|---|---|---|---|---|---|{}\n",
          floor ? " floor µs/connect (user + sys) |" : "", floor ? "---|" : "");
    }
    fmt::print(
        "| {} | {} ms | {:.0f} ({:.0f}) | {:.2f} + {:.2f} = {:.2f} | {:.0f} % | {:.2f} / "
        "{:.2f} / {:.2f} | {} | {}/{} | {:.2f} |",
        backends, interval_ms, done / wall, backends * 1000.0 / interval_ms, user, sys, user + sys,
        100.0 * ((u1 - u0) + (k1 - k0)) / (wall * 1e6), s1.lag_p50_us / 1000, s1.lag_p99_us / 1000,
        s1.lag_max_us / 1000, failures, up, backends, other);
    if (floor) {
      fmt::print(" {:.2f} + {:.2f} = {:.2f}{} |", fl.user_us, fl.sys_us, fl.user_us + fl.sys_us,
                 fl.failures ? fmt::format(" ({} failed)", fl.failures) : "");
    }
    fmt::print("\n");
    fmt::print(
        stderr,
        "probe_bench: window {:.2f} s, {} probes done, {} started, {} in flight, {} "
        "timeouts, {} lag samples, {} state changes, listener accepted {}, peak RSS {} MiB\n",
        wall, s1.probes_done - s0.probes_done, s1.probes_started - s0.probes_started, s1.in_flight,
        s1.timeouts - s0.timeouts, s1.lag_samples, changes, acc1 - acc0, peak_rss_kib() / 1024);
    const double expected = backends * 1000.0 / interval_ms;
    if (done / wall < 0.95 * expected) {
      fmt::print(stderr, "probe_bench: saturated: {:.0f} probes/s of {:.0f} expected\n",
                 done / wall, expected);
      return 1;
    }
    return failures == 0 && up == backends ? 0 : 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "probe_bench: {}\n", e.what());
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    fmt::print(stderr, "probe_bench: {}\n", e.what());
    return 1;
  }
}
