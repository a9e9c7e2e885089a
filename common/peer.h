// DOC: Peer — who sent a request on one of steer's control sockets (SO_PEERCRED of the
// connection), and how events and persisted overrides name them. A plain value.
#pragma once

#include <cstdint>
#include <string>

#include <fmt/format.h>

namespace steer {

struct Peer {
  uint32_t uid = 0;
  uint32_t gid = 0;
  int32_t pid = 0;
  bool may_change = false;  // root, or a member of the socket's group
  std::string user;         // the uid's name, when known

  // "uid 0 (root)" / "uid 1000": how logs and events name the peer.
  std::string text() const {
    return user.empty() ? fmt::format("uid {}", uid) : fmt::format("uid {} ({})", uid, user);
  }
};

}  // namespace steer
