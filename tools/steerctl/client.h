// DOC: a client for steer's line-protocol sockets (common/framing.h): connect to a Unix
// socket, read the greeting, send one request, read its reply. Used by steerctl for the
// dataplane API socket (and steerd's CLI socket). Blocking, with a timeout on every wait.
#pragma once

#include <chrono>
#include <string>

#include "common/framing.h"
#include "common/result.h"

namespace steer::tools {

class SocketClient {
 public:
  // Connects and reads the greeting. Errors name the path and what failed (no such socket,
  // permission denied, nobody listening, no greeting in time).
  static Result<SocketClient> connect(const std::string& path, std::chrono::milliseconds timeout);
  SocketClient(SocketClient&& o) noexcept;
  SocketClient& operator=(SocketClient&&) = delete;
  ~SocketClient();

  // Sends `line` (a '\n' is added) and waits for the complete reply.
  Result<Reply> request(std::string_view line);
  const Reply& greeting() const { return greeting_; }

 private:
  SocketClient(int fd, std::string path, std::chrono::milliseconds timeout)
      : fd_(fd), path_(std::move(path)), timeout_(timeout) {}
  Result<Reply> read_reply();

  int fd_ = -1;
  std::string path_;
  std::chrono::milliseconds timeout_;
  ReplyReader reader_;
  Reply greeting_;
};

}  // namespace steer::tools
