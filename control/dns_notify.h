// DOC: the NOTIFY sender — tells each zone's `notify` targets (secondaries) of a new serial
// (RFC 1996), over UDP from steerd's control thread (never a responder thread). A NOTIFY is
// retried until a matching response arrives (same id, opcode NOTIFY, our question; verified
// when TSIG-signed): 5 tries, 1, 2, 4 and 8 s apart; then the target is marked failed and its
// secondary's SOA refresh timer is what brings it up to date. A newer serial replaces a NOTIFY
// still being retried. The NOTIFYs leave from the first explicitly bound listen address of
// their family (the address a secondary knows its primary by), else the kernel's choice.
//
// Control thread only (asio on steerd's io_context): no locks.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <asio.hpp>
#include <nlohmann/json.hpp>

#include "dns/config.h"
#include "dns/tsig.h"

namespace steer::control {

class DnsNotifier {
 public:
  explicit DnsNotifier(asio::io_context& io);
  ~DnsNotifier();
  DnsNotifier(const DnsNotifier&) = delete;
  DnsNotifier& operator=(const DnsNotifier&) = delete;

  // Where NOTIFYs leave from ([dns] listen) and the keys they are signed with.
  void configure(const std::vector<dns::ListenAddress>& listen, std::vector<dns::tsig::Key> keys);
  // `apex` is at `serial` now: NOTIFY each of `targets` (and forget targets of the zone no
  // longer listed).
  void notify(const dns::Name& apex, uint32_t serial,
              const std::vector<dns::NotifyTarget>& targets);
  void stop();

  // Per target of `apex`: to, key, serial, state (pending / acknowledged / failed / error),
  // tries, last sent and acknowledged times (unix ms), the last error.
  nlohmann::json status(const dns::Name& apex) const;

  uint64_t sent() const { return sent_; }
  uint64_t acknowledged() const { return acknowledged_; }
  uint64_t failed() const { return failed_; }

 private:
  struct Target;
  void send(Target& t);
  void tick();
  void receive(asio::ip::udp::socket& s, bool v6);
  asio::ip::udp::socket* socket_for(const IpAddress& to);

  asio::io_context& io_;
  asio::steady_timer timer_;
  std::unique_ptr<asio::ip::udp::socket> v4_, v6_;
  std::vector<dns::ListenAddress> listen_;
  std::vector<dns::tsig::Key> keys_;
  std::vector<std::unique_ptr<Target>> targets_;
  std::array<std::array<uint8_t, 4096>, 2> rx_{};  // per family: both may be read at once
  std::array<asio::ip::udp::endpoint, 2> rx_from_;
  uint16_t next_id_ = 1;
  uint64_t sent_ = 0, acknowledged_ = 0, failed_ = 0;
  bool ticking_ = false;
  bool stopped_ = false;
};

}  // namespace steer::control
