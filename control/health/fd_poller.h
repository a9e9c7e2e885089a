// DOC: FdPoller, a second epoll set that the checker's asio::io_context watches as one
// descriptor, so a probe on a raw non-blocking socket costs only its own syscalls.
//
// Why not asio sockets for every probe: per TCP-connect probe asio adds an ioctl(FIONBIO),
// an epoll_ctl(MOD) for EPOLLOUT, a descriptor_state from a locked pool and a handler
// allocation on top of socket/connect/epoll_ctl(ADD)/close. With its own epoll set the probe
// is socket, connect, one epoll_ctl(ADD), setsockopt(SO_LINGER), close; completions arrive in
// batches (one epoll_wait for up to kBatch sockets, one asio wake-up for the batch).
//
// A registration is a handle (slot index + generation): remove() before close() makes any
// event of that fd already fetched in the current batch a no-op, so a client may be retired
// from inside another client's callback. Threading: the io_context's thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <asio.hpp>
#include <sys/epoll.h>

namespace steer::control::health {

class FdPoller {
 public:
  class Client {
   public:
    // `events`: the EPOLL* bits epoll reported for the client's fd.
    virtual void on_io(uint32_t events) = 0;

   protected:
    ~Client() = default;
  };

  static constexpr int kBatch = 256;

  // Creates the epoll set. Should epoll_create1 fail (no descriptor left), the poller still
  // exists and every add() fails with that errno, so each probe reports it as its reason.
  explicit FdPoller(asio::io_context& io);
  ~FdPoller();
  FdPoller(const FdPoller&) = delete;
  FdPoller& operator=(const FdPoller&) = delete;

  // Watches `fd` for `events` (edge-triggered: the client reads/writes until EAGAIN). Returns
  // the handle, or 0 with errno set when epoll_ctl fails.
  uint64_t add(int fd, uint32_t events, Client* client);
  // Stops delivering events for `handle` (0 is ignored). Call before closing the fd.
  void remove(uint64_t handle);

  size_t registered() const { return regs_.size() - free_.size(); }

  // Delivers the events ready now (the checker calls it before judging timeouts).
  void poll() { drain(); }

 private:
  struct Reg {
    Client* client = nullptr;
    uint32_t gen = 0;
  };

  void arm();
  void drain();

  asio::posix::stream_descriptor sd_;
  int epfd_;
  int create_errno_ = 0;
  bool waiting_ = false;
  std::vector<Reg> regs_;
  std::vector<uint32_t> free_;
  // Handlers still queued in the io_context when the poller is destroyed see false here.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace steer::control::health
