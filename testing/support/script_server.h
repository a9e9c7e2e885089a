// DOC: test helper — ScriptServer, a scripted stand-in for a line-protocol Unix socket (BIRD's
// control socket for the BGP tests, steer-dataplane's API socket for the controller's): a
// Unix socket served by one thread with plain blocking POSIX calls (poll with a stop
// eventfd). Each accepted connection runs the script with the connection's index (0, 1, ...);
// the connection closes when the script returns. Everything is released by the destructor.
#pragma once

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace steer::test {

class ScriptServer {
 public:
  class Conn {
   public:
    Conn(int fd, int stop_fd, ScriptServer& server) : fd_(fd), stop_fd_(stop_fd), server_(server) {}

    // Writes all of `bytes`; false when the client is gone or the server stops.
    bool send(std::string_view bytes) {
      while (!bytes.empty()) {
        const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n <= 0) return false;
        bytes.remove_prefix(static_cast<size_t>(n));
      }
      return true;
    }
    // Sends `bytes` in pieces of `chunk` bytes with a short pause between them.
    bool send_slowly(std::string_view bytes, size_t chunk) {
      for (size_t i = 0; i < bytes.size(); i += chunk) {
        if (!send(bytes.substr(i, chunk))) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      return true;
    }
    // The next request line (without '\n'), recorded in commands(); nullopt on EOF, stop or
    // when nothing complete arrives within `limit`.
    std::optional<std::string> read_line(
        std::chrono::milliseconds limit = std::chrono::seconds(10)) {
      const auto end = std::chrono::steady_clock::now() + limit;
      while (true) {
        const size_t nl = buffer_.find('\n');
        if (nl != std::string::npos) {
          std::string line = buffer_.substr(0, nl);
          buffer_.erase(0, nl + 1);
          server_.record(line);
          return line;
        }
        if (!wait_readable(end)) return std::nullopt;
        char buf[4096];
        const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n <= 0) return std::nullopt;
        buffer_.append(buf, static_cast<size_t>(n));
      }
    }
    // True when no byte arrives (and the client does not close) for `quiet`.
    bool quiet_for(std::chrono::milliseconds quiet) {
      if (!buffer_.empty()) return false;
      return !wait_readable(std::chrono::steady_clock::now() + quiet);
    }
    // Waits until the client closes the connection (true) or `limit` passes (false).
    bool wait_closed(std::chrono::milliseconds limit) {
      const auto end = std::chrono::steady_clock::now() + limit;
      while (wait_readable(end)) {
        char buf[4096];
        const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n <= 0) return true;
      }
      return false;
    }

   private:
    bool wait_readable(std::chrono::steady_clock::time_point end) {
      while (true) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            end - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd p[2] = {{fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
        const int r = ::poll(p, 2, static_cast<int>(left.count()));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0 || (p[1].revents & POLLIN) != 0) return false;
        return true;
      }
    }

    int fd_;
    int stop_fd_;
    ScriptServer& server_;
    std::string buffer_;
  };

  using Script = std::function<void(Conn&, int index)>;

  ScriptServer(std::string path, Script script)
      : path_(std::move(path)), script_(std::move(script)) {
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (listen_fd_ < 0 || path_.size() >= sizeof a.sun_path) throw std::runtime_error("socket");
    std::memcpy(a.sun_path, path_.c_str(), path_.size() + 1);
    ::unlink(path_.c_str());
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(listen_fd_, 8) != 0) {
      throw std::runtime_error(std::string("bind/listen: ") +
                               std::strerror(errno));  // NOLINT(concurrency-mt-unsafe)
    }
    stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
    thread_ = std::thread([this] { serve(); });
  }
  ~ScriptServer() { stop(); }
  ScriptServer(const ScriptServer&) = delete;
  ScriptServer& operator=(const ScriptServer&) = delete;

  // Stops serving and removes the socket file (the client then sees connection refused).
  void stop() {
    if (!thread_.joinable()) return;
    const uint64_t one = 1;
    (void)!::write(stop_fd_, &one, sizeof one);
    thread_.join();
    ::close(listen_fd_);
    ::close(stop_fd_);
    ::unlink(path_.c_str());
  }

  int accepts() const { return accepts_.load(); }
  std::vector<std::string> commands() {
    std::lock_guard<std::mutex> lock(mu_);
    return commands_;
  }
  void record(const std::string& line) {
    std::lock_guard<std::mutex> lock(mu_);
    commands_.push_back(line);
  }

 private:
  void serve() {
    int index = 0;
    while (true) {
      pollfd p[2] = {{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
      if (::poll(p, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if ((p[1].revents & POLLIN) != 0) return;
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      ++accepts_;
      Conn c(fd, stop_fd_, *this);
      script_(c, index++);
      ::close(fd);
    }
  }

  std::string path_;
  Script script_;
  int listen_fd_ = -1;
  int stop_fd_ = -1;
  std::thread thread_;
  std::atomic<int> accepts_{0};
  std::mutex mu_;
  std::vector<std::string> commands_;
};

}  // namespace steer::test
