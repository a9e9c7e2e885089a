// DOC: steerd's two listening sockets, on the control thread's io_context:
//   CliServer     — the Unix socket steerctl talks to (common/framing.h protocol). The file's
//                   mode and group limit who may connect; SO_PEERCRED tells who did, and only
//                   root or members of the CLI group may change anything.
//   MetricsServer — Prometheus text exposition over HTTP/1.1 (GET /metrics), loopback by
//                   default.
#pragma once

#include <functional>
#include <string>

#include <asio.hpp>

#include "common/command_table.h"
#include "common/result.h"

namespace steer::control {

class CliServer {
 public:
  // Requests go to `commands`; the greeting names the server ("steerd 0.1.0").
  CliServer(asio::io_context& io, const CommandTable& commands, std::string name);
  // Binds (replacing a stale socket file; refusing when a live steerd answers on it), sets the
  // mode and group, starts accepting.
  Result<void> listen(const std::string& path, uint32_t mode, const std::string& group);
  void close();

 private:
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> serve(asio::local::stream_protocol::socket sock);
  asio::io_context& io_;
  const CommandTable& commands_;
  std::string name_;
  asio::local::stream_protocol::acceptor acceptor_;
  std::string path_;
  uint32_t group_gid_ = static_cast<uint32_t>(-1);
};

class MetricsServer {
 public:
  MetricsServer(asio::io_context& io, std::function<std::string()> text);
  // "ADDR:PORT" or "[V6]:PORT".
  Result<void> listen(const std::string& address);
  uint16_t port() const;
  void close();

 private:
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> serve(asio::ip::tcp::socket sock);
  asio::io_context& io_;
  std::function<std::string()> text_;
  asio::ip::tcp::acceptor acceptor_;
};

}  // namespace steer::control
