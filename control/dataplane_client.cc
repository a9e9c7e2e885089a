#include "control/dataplane_client.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/clock.h"

namespace steer::control {

using asio::use_awaitable;
using asio::local::stream_protocol;
using nlohmann::json;

DataplaneClient::DataplaneClient(asio::io_context& io, DataplaneLinkOptions options, Log log)
    : io_(io), opt_(std::move(options)), log_(std::move(log)), wake_(io), push_timer_(io) {}

void DataplaneClient::start() {
  asio::co_spawn(io_, session(), asio::detached);
  asio::co_spawn(io_, ticker(), asio::detached);
}

void DataplaneClient::stop() {
  stopped_ = true;
  wake_.cancel();
  push_timer_.cancel();
  if (sock_ != nullptr) {
    asio::error_code ec;
    sock_->close(ec);
  }
}

void DataplaneClient::set_intervals(std::chrono::milliseconds push,
                                    std::chrono::milliseconds status,
                                    std::chrono::milliseconds stuck_after) {
  opt_.push_interval = push;
  opt_.status_interval = status;
  opt_.stuck_after = stuck_after;
}

void DataplaneClient::request(std::string line, Done done) {
  if (!connected_) {
    done(fail(fmt::format("the dataplane is not connected ({})", health_reason_)));
    return;
  }
  queue_.push_back(Pending{std::move(line), std::move(done)});
  wake_.cancel();
}

void DataplaneClient::set_desired(std::string document) {
  if (document == desired_) return;
  desired_ = std::move(document);
  desired_dirty_ = true;
  maybe_push();
}

void DataplaneClient::enable_push(bool on) {
  push_enabled_ = on;
  maybe_push();
}

void DataplaneClient::maybe_push() {
  if (!push_enabled_ || !desired_dirty_ || push_in_flight_ || !connected_ || desired_.empty()) {
    return;
  }
  const auto now = SteadyClock::now();
  const auto next = last_push_at_ + opt_.push_interval;
  if (now < next) {
    // Coalesce: whatever changes until then goes out in one push.
    push_timer_.expires_at(next);
    push_timer_.async_wait([this](const asio::error_code& ec) {
      if (!ec) maybe_push();
    });
    return;
  }
  push_in_flight_ = true;
  desired_dirty_ = false;
  last_push_at_ = now;
  request("apply " + desired_, [this](Result<Reply> r) {
    push_in_flight_ = false;
    if (r && r->ok()) {
      json doc = json::parse(r->text_of(reply::kJson), nullptr, false);
      if (!doc.is_discarded()) pushed_generation_ = doc.value("generation", uint64_t{0});
      ++pushes_;
      pushed_at_ = SteadyClock::now();
      recent_pushes_.push_back(PushRecord{pushed_generation_, unix_us_now()});
      while (recent_pushes_.size() > 32) recent_pushes_.pop_front();
      adopted_.reset();
      last_push_error_.clear();
    } else {
      ++push_failures_;
      last_push_error_ = r ? r->message() : r.error().message;
      log_(fmt::format("push to the dataplane failed: {}", last_push_error_));
      desired_dirty_ = true;  // try again after the interval
    }
    maybe_push();
  });
}

void DataplaneClient::set_health(DataplaneHealth h, std::string why) {
  if (stopped_ || (h == health_ && why == health_reason_)) return;
  const DataplaneHealth before = health_;
  health_reason_ = std::move(why);
  if (h != health_) {
    health_ = h;
    health_since_ = SteadyClock::now();
    if (on_health) {
      on_health(before, h, health_reason_);
    } else {
      log_(fmt::format("dataplane {}: {}", dataplane_health_name(h), health_reason_));
    }
  }
}

void DataplaneClient::on_status(const Reply& r) {
  status_text_ = r.text_of(reply::kJson);
  auto parsed = doc::parse_status(status_text_);
  if (!parsed) {
    set_health(DataplaneHealth::Stuck, "status reply unreadable: " + parsed.error().message);
    return;
  }
  status_ = std::move(*parsed);
  const int64_t pid = status_.pid;
  if (dataplane_pid_ >= 0 && pid != dataplane_pid_) {
    log_(fmt::format("dataplane restarted (pid {} -> {}): pushing the state again", dataplane_pid_,
                     pid));
    if (!just_connected_) {  // (after a reconnect the push is already on its way)
      desired_dirty_ = true;
      pushed_generation_ = 0;
      maybe_push();
    }
  }
  just_connected_ = false;
  dataplane_pid_ = pid;
  const bool alive = status_.alive;
  const bool switched = status_.switched;
  const uint64_t generation = status_.generation;
  if (!alive) {
    set_health(DataplaneHealth::Stuck, "a worker lcore stopped making progress (heartbeat)");
  } else if (pushed_generation_ > 0 && (generation < pushed_generation_ || !switched) &&
             SteadyClock::now() - pushed_at_ > opt_.stuck_after) {
    set_health(DataplaneHealth::Stuck, fmt::format("workers not on generation {} after {} ms",
                                                   pushed_generation_, opt_.stuck_after.count()));
  } else {
    set_health(DataplaneHealth::Alive, "workers alive");
  }
}

asio::awaitable<Result<Reply>> DataplaneClient::exchange(stream_protocol::socket& sock,
                                                         ReplyReader& reader,
                                                         const std::string* line) {
  asio::error_code ec;
  asio::steady_timer deadline(io_);
  bool timed_out = false;
  deadline.expires_after(opt_.request_timeout);
  deadline.async_wait([&](const asio::error_code& e) {
    if (!e) {
      timed_out = true;
      asio::error_code ignore;
      sock.cancel(ignore);
    }
  });
  if (line != nullptr) {
    std::string out = *line + "\n";
    co_await asio::async_write(sock, asio::buffer(out), asio::redirect_error(use_awaitable, ec));
    if (ec) {
      deadline.cancel();
      co_return fail(timed_out ? std::string("timeout") : ec.message());
    }
  }
  char buf[65536];
  while (true) {
    if (auto r = reader.next()) {
      deadline.cancel();
      co_return std::move(*r);
    }
    const size_t n =
        co_await sock.async_read_some(asio::buffer(buf), asio::redirect_error(use_awaitable, ec));
    if (ec) {
      deadline.cancel();
      co_return fail(timed_out ? fmt::format("no reply within {} ms", opt_.request_timeout.count())
                               : ec.message());
    }
    if (auto fed = reader.feed(std::string_view(buf, n)); !fed) {
      deadline.cancel();
      co_return tl::unexpected(fed.error());
    }
  }
}

asio::awaitable<void> DataplaneClient::session() {
  auto backoff = std::chrono::milliseconds(100);
  while (!stopped_) {
    stream_protocol::socket sock(io_);
    asio::error_code ec;
    co_await sock.async_connect(stream_protocol::endpoint(opt_.socket),
                                asio::redirect_error(use_awaitable, ec));
    ReplyReader reader;
    Result<Reply> greeting = fail("not connected");
    if (!ec) greeting = co_await exchange(sock, reader, nullptr);
    if (ec || !greeting || greeting->code() != reply::kGreeting) {
      set_health(DataplaneHealth::Down,
                 fmt::format("cannot connect to {}: {}", opt_.socket,
                             ec ? ec.message()
                                : (greeting ? "unexpected greeting" : greeting.error().message)));
      asio::steady_timer t(io_);
      t.expires_after(backoff);
      co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
      backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
      continue;
    }
    backoff = std::chrono::milliseconds(100);
    log_(fmt::format("connected to the dataplane: {}", greeting->message()));
    // Adopt: what is the dataplane forwarding now?
    const std::string state_req = "state";
    auto state = co_await exchange(sock, reader, &state_req);
    if (state && state->ok()) adopted_ = state->text_of(reply::kJson);
    connected_ = true;
    sock_ = &sock;
    // The push below covers a restarted dataplane: its new pid, seen in the next status, is
    // logged but not pushed to a second time.
    just_connected_ = true;
    desired_dirty_ = desired_dirty_ || !desired_.empty();
    maybe_push();
    // While idle the socket is watched too: the dataplane sends nothing unasked, so the
    // socket turning readable means it closed (a killed dataplane), seen at once rather than
    // at the next status poll.
    auto readable = std::make_shared<bool>(false);
    while (!stopped_) {
      if (queue_.empty()) {
        *readable = false;
        sock.async_wait(stream_protocol::socket::wait_read,
                        [this, readable](const asio::error_code& e) {
                          if (e) return;
                          *readable = true;
                          wake_.cancel();
                        });
        wake_.expires_at(SteadyClock::time_point::max());
        co_await wake_.async_wait(asio::redirect_error(use_awaitable, ec));
        if (*readable) {
          char byte = 0;
          asio::error_code read_ec;
          const size_t n = sock.read_some(asio::buffer(&byte, 1), read_ec);
          set_health(DataplaneHealth::Down, read_ec || n == 0
                                                ? "dataplane API: connection closed"
                                                : "dataplane API: unexpected data while idle");
          break;
        }
        asio::error_code ignore;
        sock.cancel(ignore);  // the watch; a request is next
        continue;
      }
      Pending p = std::move(queue_.front());
      queue_.pop_front();
      auto r = co_await exchange(sock, reader, &p.line);
      const bool broken = !r;
      const std::string why = broken ? r.error().message : std::string();
      p.done(std::move(r));
      if (broken) {
        set_health(DataplaneHealth::Down, "dataplane API: " + why);
        break;
      }
    }
    connected_ = false;
    sock_ = nullptr;
    push_in_flight_ = false;
    while (!queue_.empty()) {
      Pending p = std::move(queue_.front());
      queue_.pop_front();
      p.done(fail("the dataplane connection was lost"));
    }
  }
}

asio::awaitable<void> DataplaneClient::ticker() {
  asio::steady_timer t(io_);
  auto next_stats = SteadyClock::now();
  while (!stopped_) {
    t.expires_after(opt_.status_interval);
    asio::error_code ec;
    co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
    if (!connected_) continue;
    if (!status_in_flight_) {
      status_in_flight_ = true;
      request("status", [this](Result<Reply> r) {
        status_in_flight_ = false;
        if (r && r->ok()) on_status(*r);
      });
    }
    if (SteadyClock::now() >= next_stats && !stats_in_flight_) {
      next_stats = SteadyClock::now() + std::chrono::seconds(1);
      stats_in_flight_ = true;
      request("stats", [this](Result<Reply> r) {
        stats_in_flight_ = false;
        if (!r || !r->ok()) return;
        std::string text = r->text_of(reply::kJson);
        auto parsed = doc::parse_stats(text);
        if (!parsed) {
          log_(fmt::format("dataplane stats unreadable: {}", parsed.error().message));
          return;
        }
        previous_stats_ = std::move(stats_);
        previous_stats_at_ = stats_at_;
        stats_ = doc::StatsIndex(std::move(*parsed));
        stats_text_ = std::move(text);
        stats_at_ = SteadyClock::now();
      });
    }
  }
}

}  // namespace steer::control
