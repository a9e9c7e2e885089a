#include "control/servers.h"

#include <charconv>
#include <filesystem>

#include <fmt/format.h>
#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/framing.h"

namespace steer::control {

using asio::use_awaitable;
using asio::local::stream_protocol;

CliServer::CliServer(asio::io_context& io, const CommandTable& commands, std::string name)
    : io_(io), commands_(commands), name_(std::move(name)), acceptor_(io) {}

Result<void> CliServer::listen(const std::string& path, uint32_t mode, const std::string& group) {
  path_ = path;
  std::error_code fec;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, fec);
  if (std::filesystem::exists(path, fec)) {
    stream_protocol::socket probe(io_);
    asio::error_code ec;
    probe.connect(stream_protocol::endpoint(path), ec);
    if (!ec) return fail(fmt::format("{}: another steerd is serving it", path));
    ::unlink(path.c_str());
  }
  if (!group.empty()) {
    const struct group* g = getgrnam(group.c_str());
    if (g == nullptr) return fail(fmt::format("CLI group '{}' does not exist", group));
    group_gid_ = g->gr_gid;
  }
  asio::error_code ec;
  const mode_t old = umask(0177);
  acceptor_.open(stream_protocol(), ec);
  if (!ec) acceptor_.bind(stream_protocol::endpoint(path), ec);
  umask(old);
  if (ec) return fail(fmt::format("cannot bind {}: {}", path, ec.message()));
  if (group_gid_ != static_cast<uint32_t>(-1) &&
      chown(path.c_str(), static_cast<uid_t>(-1), group_gid_) != 0) {
    return fail(fmt::format("chown {}: {}", path, std::strerror(errno)));
  }
  if (chmod(path.c_str(), mode) != 0)
    return fail(fmt::format("chmod {}: {}", path, std::strerror(errno)));
  acceptor_.listen(64, ec);
  if (ec) return fail(fmt::format("listen {}: {}", path, ec.message()));
  asio::co_spawn(io_, accept_loop(), asio::detached);
  return {};
}

void CliServer::close() {
  asio::error_code ec;
  if (acceptor_.is_open()) {
    acceptor_.close(ec);
    ::unlink(path_.c_str());
  }
}

asio::awaitable<void> CliServer::accept_loop() {
  while (acceptor_.is_open()) {
    asio::error_code ec;
    stream_protocol::socket sock =
        co_await acceptor_.async_accept(asio::redirect_error(use_awaitable, ec));
    if (ec) {
      if (!acceptor_.is_open()) co_return;
      continue;
    }
    asio::co_spawn(io_, serve(std::move(sock)), asio::detached);
  }
}

namespace {

Peer peer_of(int fd, uint32_t group_gid) {
  Peer p;
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return p;  // may_change false
  p.uid = cred.uid;
  p.gid = cred.gid;
  p.pid = cred.pid;
  char buf[4096];
  passwd pw{};
  passwd* found = nullptr;
  if (getpwuid_r(cred.uid, &pw, buf, sizeof(buf), &found) == 0 && found != nullptr) {
    p.user = found->pw_name;
  }
  p.may_change = cred.uid == 0;
  if (!p.may_change && group_gid != static_cast<uint32_t>(-1)) {
    p.may_change = cred.gid == group_gid;
    if (!p.may_change && found != nullptr) {
      gid_t groups[256];
      int n = 256;
      if (getgrouplist(found->pw_name, found->pw_gid, groups, &n) >= 0) {
        for (int i = 0; i < n; ++i) p.may_change = p.may_change || groups[i] == group_gid;
      }
    }
  }
  return p;
}

}  // namespace

asio::awaitable<void> CliServer::serve(stream_protocol::socket sock) {
  const Peer peer = peer_of(sock.native_handle(), group_gid_);
  asio::error_code ec;
  const std::string greeting =
      format_reply_line(reply::kGreeting, fmt::format("{} ready.", name_), true);
  co_await asio::async_write(sock, asio::buffer(greeting), asio::redirect_error(use_awaitable, ec));
  RequestReader in;
  char buf[16384];
  while (!ec) {
    const size_t n =
        co_await sock.async_read_some(asio::buffer(buf), asio::redirect_error(use_awaitable, ec));
    if (ec) break;
    if (auto fed = in.feed(std::string_view(buf, n)); !fed) {
      const std::string r = reply_error(reply::kBadArgument, fed.error().message);
      co_await asio::async_write(sock, asio::buffer(r), asio::redirect_error(use_awaitable, ec));
      break;
    }
    while (auto line = in.next()) {
      // The reply may come later (a question the dataplane answers): wait for it here, so
      // replies keep the order of requests.
      asio::steady_timer done(io_, asio::steady_timer::time_point::max());
      std::string out;
      bool ready = false;
      commands_.dispatch(*line, peer, [&](std::string r) {
        out = std::move(r);
        ready = true;
        done.cancel();
      });
      if (!ready) co_await done.async_wait(asio::redirect_error(use_awaitable, ec));
      ec.clear();
      co_await asio::async_write(sock, asio::buffer(out), asio::redirect_error(use_awaitable, ec));
      if (ec) break;
    }
  }
}

MetricsServer::MetricsServer(asio::io_context& io, std::function<std::string()> text)
    : io_(io), text_(std::move(text)), acceptor_(io) {}

Result<void> MetricsServer::listen(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return fail(fmt::format("metrics listen '{}': no port", address));
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  const std::string_view port_text = std::string_view(address).substr(colon + 1);
  int port = -1;
  const auto [end, perr] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (perr != std::errc() || end != port_text.data() + port_text.size()) port = -1;
  asio::error_code ec;
  const asio::ip::address ip = asio::ip::make_address(host, ec);
  if (ec || port < 0 || port > 65535)
    return fail(fmt::format("metrics listen '{}': bad address", address));
  asio::ip::tcp::endpoint ep(ip, static_cast<uint16_t>(port));
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(64, ec);
  if (ec) return fail(fmt::format("metrics listen {}: {}", address, ec.message()));
  asio::co_spawn(io_, accept_loop(), asio::detached);
  return {};
}

uint16_t MetricsServer::port() const {
  asio::error_code ec;
  return acceptor_.local_endpoint(ec).port();
}

void MetricsServer::close() {
  asio::error_code ec;
  acceptor_.close(ec);
}

asio::awaitable<void> MetricsServer::accept_loop() {
  while (acceptor_.is_open()) {
    asio::error_code ec;
    asio::ip::tcp::socket sock =
        co_await acceptor_.async_accept(asio::redirect_error(use_awaitable, ec));
    if (ec) {
      if (!acceptor_.is_open()) co_return;
      continue;
    }
    asio::co_spawn(io_, serve(std::move(sock)), asio::detached);
  }
}

asio::awaitable<void> MetricsServer::serve(asio::ip::tcp::socket sock) {
  std::string req;
  char buf[4096];
  asio::error_code ec;
  while (req.find("\r\n\r\n") == std::string::npos && req.size() < 16384) {
    const size_t n =
        co_await sock.async_read_some(asio::buffer(buf), asio::redirect_error(use_awaitable, ec));
    if (ec) co_return;
    req.append(buf, n);
  }
  std::string body, status = "200 OK", type = "text/plain; version=0.0.4; charset=utf-8";
  if (req.starts_with("GET /metrics ") || req.starts_with("GET /metrics?")) {
    body = text_();
  } else if (req.starts_with("GET / ")) {
    type = "text/plain; charset=utf-8";
    body = "steerd: metrics at /metrics\n";
  } else {
    status = "404 Not Found";
    type = "text/plain; charset=utf-8";
    body = "not found\n";
  }
  const std::string out = fmt::format(
      "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
      status, type, body.size(), body);
  co_await asio::async_write(sock, asio::buffer(out), asio::redirect_error(use_awaitable, ec));
  sock.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
}

}  // namespace steer::control
