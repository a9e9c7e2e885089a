#include "dataplane/neighbour.h"

#include <cerrno>
#include <cstring>
#include <vector>

#include <arpa/inet.h>
#include <fmt/format.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

// The rtnetlink walking macros (NLMSG_NEXT, RTA_NEXT, ...) are C casts.
#pragma GCC diagnostic ignored "-Wold-style-cast"

namespace steer::dataplane {

namespace {

// NLMSG_OK, without comparing the header's unsigned length with the signed count NLMSG_NEXT
// keeps (clang warns about that inside the macro).
bool message_ok(const nlmsghdr* nh, int len) {
  return len >= static_cast<int>(sizeof(nlmsghdr)) && nh->nlmsg_len >= sizeof(nlmsghdr) &&
         nh->nlmsg_len <= static_cast<unsigned>(len);
}

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

}  // namespace

Result<std::optional<std::array<uint8_t, 6>>> kernel_neighbour(const IpAddress& address) {
  Fd s{socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)};
  if (s.fd < 0) return fail(fmt::format("netlink socket: {}", std::strerror(errno)));
  const int family = address.is_v4() ? AF_INET : AF_INET6;
  struct {
    nlmsghdr nh;
    ndmsg nd;
  } req{};
  req.nh.nlmsg_len = sizeof(req);
  req.nh.nlmsg_type = RTM_GETNEIGH;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.nh.nlmsg_seq = 1;
  req.nd.ndm_family = static_cast<uint8_t>(family);
  if (send(s.fd, &req, sizeof(req), 0) < 0) {
    return fail(fmt::format("netlink send: {}", std::strerror(errno)));
  }
  const uint8_t* want = address.is_v4() ? address.data() + 12 : address.data();
  const size_t want_len = address.is_v4() ? 4 : 16;
  std::optional<std::array<uint8_t, 6>> found;
  std::vector<char> buf(1 << 16);
  while (true) {
    const ssize_t n = recv(s.fd, buf.data(), buf.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(fmt::format("netlink recv: {}", std::strerror(errno)));
    }
    int len = static_cast<int>(n);
    for (auto* nh = reinterpret_cast<nlmsghdr*>(buf.data()); message_ok(nh, len);
         nh = NLMSG_NEXT(nh, len)) {
      if (nh->nlmsg_type == NLMSG_DONE) return found;
      if (nh->nlmsg_type == NLMSG_ERROR) return fail("netlink: neighbour dump failed");
      if (nh->nlmsg_type != RTM_NEWNEIGH) continue;
      auto* nd = static_cast<ndmsg*>(NLMSG_DATA(nh));
      if (nd->ndm_family != family) continue;
      if (!(nd->ndm_state & (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT))) {
        continue;
      }
      int alen = static_cast<int>(NLMSG_PAYLOAD(nh, sizeof(ndmsg)));
      const uint8_t* dst = nullptr;
      const uint8_t* lladdr = nullptr;
      size_t dst_len = 0, ll_len = 0;
      for (auto* a =
               reinterpret_cast<rtattr*>(reinterpret_cast<char*>(nd) + NLMSG_ALIGN(sizeof(ndmsg)));
           RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
        if (a->rta_type == NDA_DST) {
          dst = static_cast<const uint8_t*>(RTA_DATA(a));
          dst_len = RTA_PAYLOAD(a);
        } else if (a->rta_type == NDA_LLADDR) {
          lladdr = static_cast<const uint8_t*>(RTA_DATA(a));
          ll_len = RTA_PAYLOAD(a);
        }
      }
      if (dst && lladdr && dst_len == want_len && ll_len == 6 &&
          std::memcmp(dst, want, want_len) == 0) {
        std::array<uint8_t, 6> mac{};
        std::memcpy(mac.data(), lladdr, 6);
        found = mac;
      }
    }
  }
}

void poke_neighbour(const IpAddress& address) {
  const int family = address.is_v4() ? AF_INET : AF_INET6;
  Fd s{socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
  if (s.fd < 0) return;
  if (address.is_v4()) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(9);
    std::memcpy(&a.sin_addr, address.data() + 12, 4);
    (void)sendto(s.fd, "", 0, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  } else {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(9);
    std::memcpy(&a.sin6_addr, address.data(), 16);
    (void)sendto(s.fd, "", 0, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  }
}

}  // namespace steer::dataplane
