#include "bgp/bird_client.h"

#include <algorithm>
#include <array>
#include <deque>
#include <optional>
#include <utility>

#include <fmt/format.h>

namespace steer::bgp {

using asio::use_awaitable;
using asio::local::stream_protocol;
using SteadyClock = std::chrono::steady_clock;
using Done = std::function<void(BirdResult<Reply>)>;

namespace {

struct Pending {
  std::string command;
  Done done;
};

// One connection, shared by the session coroutine (connect, greeting, writes) and the read
// loop; whichever notices a failure first closes it, the other sees `closed`.
struct Conn {
  explicit Conn(asio::io_context& io) : sock(io), deadline(io) {}
  stream_protocol::socket sock;
  asio::steady_timer deadline;  // greeting, then the request in flight
  ReplyReader reader;
  bool closed = false;
  bool greeted = false;    // the greeting arrived (its deadline may still be queued)
  bool timed_out = false;  // the greeting deadline fired
  std::string why;         // why it was closed
};

BirdError make_error(BirdErrorKind kind, std::string message) {
  return BirdError{kind, 0, std::move(message)};
}

}  // namespace

// Everything the coroutines touch lives here, owned jointly by the client and the coroutines:
// the client may be destroyed while they still have completions queued (after stop()).
struct BirdClient::State : std::enable_shared_from_this<BirdClient::State> {
  State(asio::io_context& io_context, BirdClientOptions options, Log log_fn, BirdClient* client)
      : io(io_context),
        opt(std::move(options)),
        log(std::move(log_fn)),
        owner(client),
        wake(io_context),
        retry(io_context) {}

  asio::io_context& io;
  BirdClientOptions opt;
  Log log;
  BirdClient* owner;         // null once the client is destroyed
  asio::steady_timer wake;   // the session waits here for a request or a completed reply
  asio::steady_timer retry;  // backoff between connection attempts
  bool started = false;
  bool stopped = false;
  bool connected = false;
  std::string greeting;
  std::string last_error;
  uint64_t connects = 0;
  uint64_t requests = 0;
  std::deque<Pending> queue;
  std::optional<Pending> in_flight;
  uint64_t in_flight_seq = 0;
  std::shared_ptr<Conn> conn;

  void say(std::string_view line) const {
    if (log) log(line);
  }

  // Answers `done` with an error from the io_context, unless the client stops first.
  void post_error(Done done, BirdError e) {
    asio::post(io, [s = shared_from_this(), done = std::move(done), e = std::move(e)]() mutable {
      if (!s->stopped) done(tl::unexpected<BirdError>(std::move(e)));
    });
  }

  // Ends the connection; the request in flight (if any) fails with `kind`.
  void close(Conn& c, BirdErrorKind kind, std::string why) {
    if (c.closed) return;
    c.closed = true;
    c.why = std::move(why);
    connected = false;
    asio::error_code ignored;
    c.deadline.cancel();
    c.sock.close(ignored);
    wake.cancel();
    if (in_flight) {
      Pending p = std::move(*in_flight);
      in_flight.reset();
      if (!stopped) p.done(tl::unexpected<BirdError>(make_error(kind, c.why)));
    }
  }

  // Hands complete replies to the request in flight, then notices to on_notice. False when
  // the connection or the client ended meanwhile.
  bool deliver(Conn& c) {
    while (auto r = c.reader.next()) {
      if (!in_flight) {
        close(c, BirdErrorKind::Protocol,
              fmt::format("reply without a request: '{:04d} {}'", r->code(),
                          r->message().substr(0, 200)));
        return false;
      }
      Pending p = std::move(*in_flight);
      in_flight.reset();
      c.deadline.cancel();
      wake.cancel();
      p.done(std::move(*r));
      if (stopped || c.closed) return false;
    }
    std::vector<std::string> notices;
    notices.swap(c.reader.notices());
    for (const std::string& n : notices) {
      if (stopped) return false;
      if (owner != nullptr && owner->on_notice) {
        auto cb = owner->on_notice;
        cb(n);
      }
    }
    return !stopped && !c.closed;
  }

  // Fails every queued (never written) request after a session ended.
  void fail_queue(const std::string& why) {
    std::deque<Pending> waiting;
    waiting.swap(queue);
    for (Pending& p : waiting) {
      if (stopped) return;
      p.done(tl::unexpected<BirdError>(make_error(
          BirdErrorKind::NotConnected,
          fmt::format("the connection to BIRD ended before the request was sent ({})", why))));
    }
  }

  static asio::awaitable<BirdResult<std::string>> greet(std::shared_ptr<State> s,
                                                        std::shared_ptr<Conn> c);
  static asio::awaitable<void> read_loop(std::shared_ptr<State> s, std::shared_ptr<Conn> c);
  static asio::awaitable<void> run(std::shared_ptr<State> s);
};

// Connects and reads the greeting, both within request_timeout (a connect to a socket whose
// backlog is full would otherwise wait forever).
asio::awaitable<BirdResult<std::string>> BirdClient::State::greet(std::shared_ptr<State> s,
                                                                  std::shared_ptr<Conn> c) {
  using R = BirdResult<std::string>;
  c->deadline.expires_after(s->opt.request_timeout);
  c->deadline.async_wait([c](const asio::error_code& e) {
    if (e || c->closed || c->greeted) return;
    c->timed_out = true;
    asio::error_code ignored;
    c->sock.close(ignored);
  });
  asio::error_code ec;
  co_await c->sock.async_connect(stream_protocol::endpoint(s->opt.socket),
                                 asio::redirect_error(use_awaitable, ec));
  if (ec) {
    c->deadline.cancel();
    co_return R(tl::unexpect,
                make_error(c->timed_out ? BirdErrorKind::Timeout : BirdErrorKind::NotConnected,
                           c->timed_out ? std::string("connect timed out") : ec.message()));
  }
  std::array<char, 4096> buf;
  while (true) {
    if (auto r = c->reader.next()) {
      c->deadline.cancel();
      c->greeted = true;
      if (r->code() != reply::kGreeting) {
        co_return R(tl::unexpect, make_error(BirdErrorKind::Protocol,
                                             fmt::format("unexpected greeting '{:04d} {}'",
                                                         r->code(), r->message().substr(0, 200))));
      }
      co_return r->message();
    }
    const size_t n = co_await c->sock.async_read_some(asio::buffer(buf),
                                                      asio::redirect_error(use_awaitable, ec));
    if (ec) {
      c->deadline.cancel();
      if (c->timed_out) {
        co_return R(tl::unexpect, make_error(BirdErrorKind::Timeout,
                                             fmt::format("no greeting within {} ms",
                                                         s->opt.request_timeout.count())));
      }
      co_return R(tl::unexpect,
                  make_error(BirdErrorKind::Io, ec == asio::error::eof
                                                    ? std::string("closed before the greeting")
                                                    : ec.message()));
    }
    if (auto fed = c->reader.feed(std::string_view(buf.data(), n)); !fed) {
      c->deadline.cancel();
      co_return R(tl::unexpect,
                  make_error(BirdErrorKind::Protocol, "greeting: " + fed.error().message));
    }
  }
}

asio::awaitable<void> BirdClient::State::read_loop(std::shared_ptr<State> s,
                                                   std::shared_ptr<Conn> c) {
  std::array<char, 8192> buf;
  while (!c->closed && !s->stopped) {
    if (!s->deliver(*c)) break;  // replies that came in with the greeting
    asio::error_code ec;
    const size_t n = co_await c->sock.async_read_some(asio::buffer(buf),
                                                      asio::redirect_error(use_awaitable, ec));
    if (c->closed || s->stopped) break;
    if (ec) {
      s->close(*c, BirdErrorKind::Io,
               ec == asio::error::eof ? std::string("BIRD closed the connection") : ec.message());
      break;
    }
    auto fed = c->reader.feed(std::string_view(buf.data(), n));
    // Whatever completed before a malformed line is still delivered.
    if (!s->deliver(*c)) break;
    if (!fed) {
      s->close(*c, BirdErrorKind::Protocol, fed.error().message);
      break;
    }
  }
}

asio::awaitable<void> BirdClient::State::run(std::shared_ptr<State> s) {
  auto backoff = s->opt.backoff_min;
  asio::error_code ec;
  while (!s->stopped) {
    auto c = std::make_shared<Conn>(s->io);
    s->conn = c;
    auto greeting = co_await greet(s, c);
    if (s->stopped) break;
    if (!greeting) {
      c->closed = true;
      asio::error_code ignored;
      c->sock.close(ignored);
      s->conn.reset();
      std::string why =
          fmt::format("cannot connect to BIRD at {}: {}", s->opt.socket, greeting.error().message);
      if (why != s->last_error) s->say(why);  // once per kind of failure, not per attempt
      s->last_error = std::move(why);
      s->retry.expires_after(backoff);
      co_await s->retry.async_wait(asio::redirect_error(use_awaitable, ec));
      backoff = std::min(backoff * 2, s->opt.backoff_max);
      continue;
    }

    backoff = s->opt.backoff_min;
    s->connected = true;
    s->greeting = std::move(*greeting);
    s->last_error.clear();
    ++s->connects;
    s->say(fmt::format("connected to BIRD at {}: {}", s->opt.socket, s->greeting));
    if (s->owner != nullptr && s->owner->on_connect) {
      auto cb = s->owner->on_connect;
      cb();
    }
    if (s->stopped) break;
    asio::co_spawn(s->io, read_loop(s, c), asio::detached);

    // Writes the queue, one request at a time; the read loop completes them.
    while (!s->stopped && !c->closed) {
      if (!s->in_flight && !s->queue.empty()) {
        s->in_flight = std::move(s->queue.front());
        s->queue.pop_front();
        ++s->requests;
        const uint64_t seq = ++s->in_flight_seq;
        c->deadline.expires_after(s->opt.request_timeout);
        c->deadline.async_wait([s, c, seq](const asio::error_code& e) {
          if (e || c->closed || !s->in_flight || s->in_flight_seq != seq) return;
          // Drop the connection: a late reply would be taken for the next request's.
          s->close(*c, BirdErrorKind::Timeout,
                   fmt::format("no reply within {} ms", s->opt.request_timeout.count()));
        });
        const std::string out = s->in_flight->command + "\n";
        co_await asio::async_write(c->sock, asio::buffer(out),
                                   asio::redirect_error(use_awaitable, ec));
        if (ec && !c->closed) s->close(*c, BirdErrorKind::Io, "write: " + ec.message());
        continue;
      }
      s->wake.expires_at(SteadyClock::time_point::max());
      co_await s->wake.async_wait(asio::redirect_error(use_awaitable, ec));
    }
    s->conn.reset();
    if (s->stopped) break;

    s->connected = false;
    s->last_error = c->why;
    s->say(fmt::format("lost the connection to BIRD at {}: {}", s->opt.socket, c->why));
    s->fail_queue(c->why);
    if (!s->stopped && s->owner != nullptr && s->owner->on_disconnect) {
      auto cb = s->owner->on_disconnect;
      cb(c->why);
    }
    if (s->stopped) break;
    s->retry.expires_after(backoff);
    co_await s->retry.async_wait(asio::redirect_error(use_awaitable, ec));
    backoff = std::min(backoff * 2, s->opt.backoff_max);
  }
}

BirdClient::BirdClient(asio::io_context& io, BirdClientOptions options, Log log)
    : state_(std::make_shared<State>(io, std::move(options), std::move(log), this)) {}

BirdClient::~BirdClient() {
  state_->owner = nullptr;
  stop();
}

void BirdClient::start() {
  if (state_->started || state_->stopped) return;
  state_->started = true;
  asio::co_spawn(state_->io, State::run(state_), asio::detached);
}

void BirdClient::stop() {
  State& s = *state_;
  if (s.stopped) return;
  s.stopped = true;
  s.connected = false;
  s.queue.clear();
  s.in_flight.reset();
  s.wake.cancel();
  s.retry.cancel();
  if (s.conn) {
    s.conn->closed = true;
    s.conn->why = "stopped";
    asio::error_code ignored;
    s.conn->deadline.cancel();
    s.conn->sock.close(ignored);
    s.conn.reset();
  }
}

void BirdClient::request(std::string command, std::function<void(BirdResult<Reply>)> done) {
  State& s = *state_;
  if (auto valid = validate_command(command); !valid) {
    s.post_error(std::move(done), std::move(valid.error()));
    return;
  }
  if (s.stopped || !s.connected) {
    s.post_error(
        std::move(done),
        make_error(BirdErrorKind::NotConnected,
                   s.last_error.empty() ? fmt::format("not connected to BIRD at {}", s.opt.socket)
                                        : s.last_error));
    return;
  }
  s.queue.push_back(Pending{std::move(command), std::move(done)});
  s.wake.cancel();
}

void BirdClient::show_protocols(std::function<void(BirdResult<std::vector<BirdProtocol>>)> done) {
  request("show protocols", [done = std::move(done)](BirdResult<Reply> r) {
    if (!r) return done(tl::unexpected<BirdError>(std::move(r.error())));
    done(parse_show_protocols(*r));
  });
}

void BirdClient::set_enabled(std::string protocol, bool enable,
                             std::function<void(BirdResult<Toggle>)> done) {
  auto command = command_set_enabled(protocol, enable);
  if (!command) {
    state_->post_error(
        [done](BirdResult<Reply> r) { done(tl::unexpected<BirdError>(std::move(r.error()))); },
        std::move(command.error()));
    return;
  }
  request(std::move(*command),
          [done = std::move(done), protocol = std::move(protocol), enable](BirdResult<Reply> r) {
            if (!r) return done(tl::unexpected<BirdError>(std::move(r.error())));
            done(parse_toggle(*r, protocol, enable));
          });
}

void BirdClient::show_status(std::function<void(BirdResult<BirdStatus>)> done) {
  request("show status", [done = std::move(done)](BirdResult<Reply> r) {
    if (!r) return done(tl::unexpected<BirdError>(std::move(r.error())));
    done(parse_show_status(*r));
  });
}

void BirdClient::configure(std::function<void(BirdResult<ConfigureOutcome>)> done) {
  request("configure", [done = std::move(done)](BirdResult<Reply> r) {
    if (!r) return done(tl::unexpected<BirdError>(std::move(r.error())));
    done(parse_configure(*r));
  });
}

bool BirdClient::connected() const { return state_->connected; }
const std::string& BirdClient::greeting() const { return state_->greeting; }
const std::string& BirdClient::last_error() const { return state_->last_error; }
uint64_t BirdClient::connects() const { return state_->connects; }
uint64_t BirdClient::requests() const { return state_->requests; }

}  // namespace steer::bgp
