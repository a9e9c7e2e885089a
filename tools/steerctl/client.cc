#include "tools/steerctl/client.h"

#include <cerrno>
#include <cstring>
#include <system_error>

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace steer::tools {

namespace {
std::string errno_text(int err) { return std::generic_category().message(err); }
}  // namespace

Result<SocketClient> SocketClient::connect(const std::string& path,
                                           std::chrono::milliseconds timeout) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return fail(fmt::format("{}: path too long", path));
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(fmt::format("socket: {}", errno_text(errno)));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int err = errno;
    close(fd);
    if (err == ENOENT || err == ECONNREFUSED) {
      return fail(
          fmt::format("cannot connect to {}: {} (is the daemon running?)", path, errno_text(err)));
    }
    return fail(fmt::format("cannot connect to {}: {}", path, errno_text(err)));
  }
  SocketClient c(fd, path, timeout);
  auto g = c.read_reply();
  if (!g) return tl::unexpected(g.error());
  c.greeting_ = std::move(*g);
  return c;
}

SocketClient::SocketClient(SocketClient&& o) noexcept
    : fd_(o.fd_),
      path_(std::move(o.path_)),
      timeout_(o.timeout_),
      reader_(std::move(o.reader_)),
      greeting_(std::move(o.greeting_)) {
  o.fd_ = -1;
}

SocketClient::~SocketClient() {
  if (fd_ >= 0) close(fd_);
}

Result<Reply> SocketClient::request(std::string_view line) {
  std::string out(line);
  out.push_back('\n');
  size_t sent = 0;
  while (sent < out.size()) {
    const ssize_t w = send(fd_, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return fail(fmt::format("{}: send: {}", path_, errno_text(errno)));
    }
    sent += static_cast<size_t>(w);
  }
  return read_reply();
}

Result<Reply> SocketClient::read_reply() {
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  char buf[65536];
  while (true) {
    if (auto r = reader_.next()) return std::move(*r);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return fail(fmt::format("{}: no reply within {} ms", path_, timeout_.count()));
    pollfd p{fd_, POLLIN, 0};
    const int n = poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    const ssize_t r = read(fd_, buf, sizeof(buf));
    if (r < 0) {
      if (errno == EINTR) continue;
      return fail(fmt::format("{}: read: {}", path_, errno_text(errno)));
    }
    if (r == 0) return fail(fmt::format("{}: the daemon closed the connection", path_));
    if (auto fed = reader_.feed(std::string_view(buf, static_cast<size_t>(r))); !fed) {
      return fail(fmt::format("{}: {}", path_, fed.error().message));
    }
  }
}

}  // namespace steer::tools
