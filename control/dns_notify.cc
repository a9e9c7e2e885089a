#include "control/dns_notify.h"

#include <algorithm>

#include "common/clock.h"
#include "common/vip_key.h"
#include "dns/notify.h"

namespace steer::control {

namespace {

constexpr int kTries = 5;
constexpr auto kTick = std::chrono::milliseconds(200);

asio::ip::address to_asio(const IpAddress& a) {
  if (a.is_v4()) {
    asio::ip::address_v4::bytes_type b;
    std::copy(a.v4_data(), a.v4_data() + 4, b.begin());
    return asio::ip::address_v4(b);
  }
  asio::ip::address_v6::bytes_type b;
  std::copy(a.data(), a.data() + 16, b.begin());
  return asio::ip::address_v6(b);
}

}  // namespace

struct DnsNotifier::Target {
  dns::Name apex;
  dns::NotifyTarget to;
  const dns::tsig::Key* key = nullptr;  // into keys_
  uint32_t serial = 0;
  uint16_t id = 0;
  std::vector<uint8_t> mac;  // the last NOTIFY's (to verify its response)
  int tries = 0;
  std::string state = "pending";  // pending, acknowledged, failed, error
  std::string error;
  int64_t sent_unix_ms = 0;
  int64_t acked_unix_ms = 0;
  std::chrono::steady_clock::time_point due;
};

DnsNotifier::DnsNotifier(asio::io_context& io) : io_(io), timer_(io) {}

DnsNotifier::~DnsNotifier() { stop(); }

void DnsNotifier::stop() {
  stopped_ = true;
  timer_.cancel();
  asio::error_code ec;
  if (v4_) v4_->close(ec);
  if (v6_) v6_->close(ec);
}

void DnsNotifier::configure(const std::vector<dns::ListenAddress>& listen,
                            std::vector<dns::tsig::Key> keys) {
  if (listen != listen_) {
    asio::error_code ec;
    if (v4_) v4_->close(ec);
    if (v6_) v6_->close(ec);
    v4_.reset();
    v6_.reset();
    listen_ = listen;
  }
  // Targets point into keys_: re-resolve them by name.
  std::vector<dns::Name> names;
  for (const auto& t : targets_) names.push_back(t->key != nullptr ? t->key->name : dns::Name{});
  keys_ = std::move(keys);
  for (size_t i = 0; i < targets_.size(); ++i) {
    targets_[i]->key = nullptr;
    for (const dns::tsig::Key& k : keys_) {
      if (names[i].size != 0 && k.name == names[i]) targets_[i]->key = &k;
    }
  }
}

asio::ip::udp::socket* DnsNotifier::socket_for(const IpAddress& to) {
  const bool v6 = !to.is_v4();
  std::unique_ptr<asio::ip::udp::socket>& s = v6 ? v6_ : v4_;
  if (s) return s.get();
  auto sock = std::make_unique<asio::ip::udp::socket>(io_);
  asio::error_code ec;
  sock->open(v6 ? asio::ip::udp::v6() : asio::ip::udp::v4(), ec);
  if (ec) return nullptr;
  IpAddress from;
  bool bind_to = false;
  for (const dns::ListenAddress& l : listen_) {
    if (l.address.is_v4() != !v6 || l.address == IpAddress()) continue;
    if (!v6 && l.address == IpAddress::from_v4_host(0)) continue;
    from = l.address;
    bind_to = true;
    break;
  }
  sock->bind(
      asio::ip::udp::endpoint(bind_to ? to_asio(from)
                                      : (v6 ? asio::ip::address(asio::ip::address_v6::any())
                                            : asio::ip::address(asio::ip::address_v4::any())),
                              0),
      ec);
  if (ec) return nullptr;
  s = std::move(sock);
  receive(*s, v6);
  return s.get();
}

void DnsNotifier::notify(const dns::Name& apex, uint32_t serial,
                         const std::vector<dns::NotifyTarget>& targets) {
  if (stopped_) return;
  std::erase_if(targets_, [&](const std::unique_ptr<Target>& t) {
    return t->apex == apex && std::find(targets.begin(), targets.end(), t->to) == targets.end();
  });
  for (const dns::NotifyTarget& to : targets) {
    auto it = std::find_if(targets_.begin(), targets_.end(),
                           [&](const auto& t) { return t->apex == apex && t->to == to; });
    if (it == targets_.end()) {
      targets_.push_back(std::make_unique<Target>());
      it = targets_.end() - 1;
    }
    Target& t = **it;
    t.apex = apex;
    t.to = to;
    t.key = nullptr;
    for (const dns::tsig::Key& k : keys_) {
      if (to.key.size != 0 && k.name == to.key) t.key = &k;
    }
    t.serial = serial;
    t.tries = 0;
    t.state = "pending";
    t.error.clear();
    send(t);
  }
  if (!ticking_) tick();
}

void DnsNotifier::send(Target& t) {
  t.id = next_id_++;
  if (next_id_ == 0) next_id_ = 1;
  const auto now_ms = unix_ms_now();
  const std::vector<uint8_t> m =
      dns::make_notify(t.apex, t.id, t.key, static_cast<uint64_t>(now_ms / 1000), t.mac);
  ++t.tries;
  t.sent_unix_ms = now_ms;
  // 1, 2, 4, 8 s between tries.
  t.due = std::chrono::steady_clock::now() + std::chrono::seconds(1 << (t.tries - 1));
  ++sent_;
  asio::ip::udp::socket* s = socket_for(t.to.address);
  if (s == nullptr) {
    t.error = "no socket to send from";
    return;
  }
  asio::error_code ec;
  s->send_to(asio::buffer(m), asio::ip::udp::endpoint(to_asio(t.to.address), t.to.port), 0, ec);
  if (ec) t.error = ec.message();
}

void DnsNotifier::tick() {
  const auto now = std::chrono::steady_clock::now();
  bool waiting = false;
  for (auto& tp : targets_) {
    Target& t = *tp;
    if (t.state != "pending") continue;
    if (now >= t.due) {
      if (t.tries >= kTries) {
        t.state = "failed";
        if (t.error.empty()) t.error = "no response";
        ++failed_;
        continue;
      }
      send(t);
    }
    waiting = true;
  }
  ticking_ = waiting;
  if (!waiting || stopped_) return;
  timer_.expires_after(kTick);
  timer_.async_wait([this](const asio::error_code& ec) {
    if (ec || stopped_) {
      ticking_ = false;
      return;
    }
    tick();
  });
}

void DnsNotifier::receive(asio::ip::udp::socket& s, bool v6) {
  s.async_receive_from(
      asio::buffer(rx_[v6]), rx_from_[v6], [this, &s, v6](const asio::error_code& ec, size_t n) {
        if (ec == asio::error::operation_aborted || stopped_) return;
        if (!ec) {
          const auto from = rx_from_[v6].address();
          IpAddress peer;
          if (from.is_v4()) {
            peer = IpAddress::from_v4(from.to_v4().to_bytes().data());
          } else {
            peer = IpAddress::from_v6(from.to_v6().to_bytes().data());
          }
          for (auto& tp : targets_) {
            Target& t = *tp;
            if (t.state != "pending" || !(t.to.address == peer) ||
                t.to.port != rx_from_[v6].port()) {
              continue;
            }
            uint16_t rcode = 0;
            const auto r =
                dns::check_notify_reply({rx_[v6].data(), n}, t.id, t.apex, t.key, t.mac,
                                        static_cast<uint64_t>(unix_ms_now() / 1000), rcode);
            if (r == dns::NotifyReply::Ack) {
              t.state = "acknowledged";
              t.acked_unix_ms = unix_ms_now();
              t.error.clear();
              ++acknowledged_;
            } else if (r == dns::NotifyReply::Error) {
              t.state = "error";
              t.error =
                  fmt::format("answered {}", rcode < 16 ? dns::rcode_name(rcode)
                                                        : fmt::format("TSIG error {}", rcode));
              ++failed_;
            } else if (r == dns::NotifyReply::BadSig) {
              t.error = "a response that does not verify (ignored)";
            }
          }
        }
        if (v6 ? (v6_ && v6_.get() == &s) : (v4_ && v4_.get() == &s)) receive(s, v6);
      });
}

nlohmann::json DnsNotifier::status(const dns::Name& apex) const {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& tp : targets_) {
    const Target& t = *tp;
    if (!(t.apex == apex)) continue;
    a.push_back({{"to", fmt::format("{}:{}", address_for_port(t.to.address), t.to.port)},
                 {"key", t.to.key.size != 0 ? t.to.key.text() : ""},
                 {"serial", t.serial},
                 {"state", t.state},
                 {"tries", t.tries},
                 {"sent_unix_ms", t.sent_unix_ms},
                 {"acknowledged_unix_ms", t.acked_unix_ms},
                 {"error", t.error}});
  }
  return a;
}

}  // namespace steer::control
