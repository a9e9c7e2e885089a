#include "control/health/fd_poller.h"

#include <cerrno>

#include <unistd.h>

namespace steer::control::health {

FdPoller::FdPoller(asio::io_context& io) : sd_(io), epfd_(::epoll_create1(EPOLL_CLOEXEC)) {
  if (epfd_ < 0) {
    create_errno_ = errno;
    return;
  }
  asio::error_code ec;
  sd_.assign(epfd_, ec);  // registers epfd_ with the io_context's reactor
  if (ec) {
    create_errno_ = ec.value();
    ::close(epfd_);
    epfd_ = -1;
  }
  regs_.reserve(1024);
}

FdPoller::~FdPoller() {
  *alive_ = false;
  asio::error_code ec;
  sd_.close(ec);  // closes epfd_; a queued wait handler sees *alive == false
}

uint64_t FdPoller::add(int fd, uint32_t events, Client* client) {
  if (epfd_ < 0) {
    errno = create_errno_;
    return 0;
  }
  uint32_t idx;
  if (!free_.empty()) {
    idx = free_.back();
    free_.pop_back();
  } else {
    idx = static_cast<uint32_t>(regs_.size());
    regs_.emplace_back();
  }
  Reg& r = regs_[idx];
  r.client = client;
  const uint64_t handle = (uint64_t{r.gen} << 32) | (uint64_t{idx} + 1);
  epoll_event ev{};
  ev.events = events | EPOLLET;
  ev.data.u64 = handle;
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    const int err = errno;
    remove(handle);
    errno = err;
    return 0;
  }
  if (!waiting_) arm();
  return handle;
}

void FdPoller::remove(uint64_t handle) {
  if (handle == 0) return;
  const uint32_t idx = static_cast<uint32_t>(handle & 0xffffffffu) - 1;
  Reg& r = regs_[idx];
  if (r.client == nullptr || r.gen != static_cast<uint32_t>(handle >> 32)) return;
  r.client = nullptr;
  ++r.gen;
  free_.push_back(idx);
}

void FdPoller::arm() {
  waiting_ = true;
  sd_.async_wait(asio::posix::stream_descriptor::wait_read,
                 [this, alive = alive_](const asio::error_code& ec) {
                   if (!*alive) return;
                   waiting_ = false;
                   if (ec) return;
                   drain();
                 });
}

void FdPoller::drain() {
  epoll_event events[kBatch];
  // A few batches per wake-up at most, so timers and other handlers are not starved; epoll
  // reports the set readable again when the wait is re-armed if events are left.
  for (int round = 0; round < 4; ++round) {
    const int n = ::epoll_wait(epfd_, events, kBatch, 0);
    for (int i = 0; i < n; ++i) {
      const uint64_t handle = events[i].data.u64;
      const uint32_t idx = static_cast<uint32_t>(handle & 0xffffffffu) - 1;
      if (idx >= regs_.size()) continue;
      Reg& r = regs_[idx];
      if (r.client == nullptr || r.gen != static_cast<uint32_t>(handle >> 32)) continue;
      // The client may remove itself (or others) and add new registrations: regs_ may grow,
      // so `r` is not used after this call.
      r.client->on_io(events[i].events);
    }
    if (n < kBatch) break;
  }
  if (!waiting_ && registered() > 0) arm();
}

}  // namespace steer::control::health
