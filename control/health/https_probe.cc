// The https prober: asio::ssl over an asio TCP socket. One Session per probe holds the
// stream and is kept alive by its pending handlers; abort() detaches the prober from it and
// closes the socket, so the handlers that still run see no owner and stop.
// A standard header first: Asio's config.hpp picks aligned_alloc only when libstdc++'s
// configuration is already seen, and every TU must pick the same (its aligned_delete is
// inline; a mismatch is malloc/delete across TUs).
#include <memory>
#include <string>

#include <asio/ssl.hpp>
#include <fmt/format.h>
#include <openssl/ssl.h>

#include "control/health/probe.h"
#include "control/health/probe_internal.h"

namespace steer::control::health {

std::shared_ptr<asio::ssl::context> TlsContexts::get(bool verify, std::string& error) {
  std::shared_ptr<asio::ssl::context>& slot = verify ? verify_ : no_verify_;
  if (slot) return slot;
  try {
    auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3);
    if (verify) {
      ctx->set_default_verify_paths();
      ctx->set_verify_mode(asio::ssl::verify_peer);
    } else {
      ctx->set_verify_mode(asio::ssl::verify_none);
    }
    slot = std::move(ctx);
  } catch (const std::exception& e) {
    error = e.what();
    return nullptr;
  }
  return slot;
}

namespace {

bool is_ip_literal(const std::string& host) { return IpAddress::parse(host).has_value(); }

class HttpsProber;

struct Session : std::enable_shared_from_this<Session> {
  Session(asio::io_context& io, std::shared_ptr<asio::ssl::context> c, HttpsProber* o)
      : ctx(std::move(c)), stream(io, *ctx), owner(o) {}

  std::shared_ptr<asio::ssl::context> ctx;  // outlives the stream
  asio::ssl::stream<asio::ip::tcp::socket> stream;
  HttpsProber* owner;  // nullptr once the probe is over or aborted
  std::vector<char> buf;
  size_t len = 0;
  bool connected = false;
};

class HttpsProber final : public Prober {
 public:
  HttpsProber(const Target& t, uint32_t slot, ProbeEnv& env)
      : env_(env),
        slot_(slot),
        check_(t.check),
        request_(build_http_request(t, true)),
        endpoint_(t.address.is_v4() ? asio::ip::address(asio::ip::address_v4(t.address.v4_host()))
                                    : asio::ip::address(asio::ip::address_v6(t.address.bytes())),
                  t.port),
        // SNI carries names only (RFC 6066): none when the host is an address.
        sni_(check_.host.empty() || is_ip_literal(check_.host) ? std::string() : check_.host),
        verify_host_(check_.host.empty() ? t.address.to_string() : check_.host) {}

  ~HttpsProber() override { abort(); }

  void start() override {
    if (!ctx_) {
      std::string error;
      ctx_ = env_.tls.get(check_.tls_verify, error);
      if (!ctx_) return done(false, "TLS context: " + error);
    }
    session_ = std::make_shared<Session>(env_.io, ctx_, this);
    auto s = session_;
    if (!sni_.empty()) {
      SSL_ctrl(s->stream.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               const_cast<char*>(sni_.c_str()));
    }
    if (check_.tls_verify) {
      s->stream.set_verify_callback(asio::ssl::host_name_verification(verify_host_));
    }
    s->stream.lowest_layer().async_connect(endpoint_, [s](const asio::error_code& ec) {
      if (s->owner != nullptr) s->owner->on_connect(s, ec);
    });
  }

  void abort() override {
    if (!session_) return;
    session_->owner = nullptr;
    close(*session_);
    session_.reset();
  }

 private:
  static void close(Session& s) {
    asio::error_code ec;
    auto& sock = s.stream.lowest_layer();
    if (s.connected) sock.set_option(asio::socket_base::linger(true, 0), ec);  // RST: probe.h
    sock.close(ec);
  }

  void on_connect(const std::shared_ptr<Session>& s, const asio::error_code& ec) {
    if (ec) return done(false, errno_reason(ec.value()));
    s->connected = true;
    s->stream.async_handshake(asio::ssl::stream_base::client, [s](const asio::error_code& e) {
      if (s->owner != nullptr) s->owner->on_handshake(s, e);
    });
  }

  void on_handshake(const std::shared_ptr<Session>& s, const asio::error_code& ec) {
    if (ec) return done(false, "TLS handshake failed: " + tls_error(ec));
    asio::async_write(s->stream, asio::buffer(request_), [s](const asio::error_code& e, size_t) {
      if (s->owner != nullptr) s->owner->on_written(s, e);
    });
  }

  void on_written(const std::shared_ptr<Session>& s, const asio::error_code& ec) {
    if (ec) return done(false, "TLS write failed: " + tls_error(ec));
    s->buf.resize(4096);
    read_more(s);
  }

  void read_more(const std::shared_ptr<Session>& s) {
    if (s->len == s->buf.size()) {
      if (s->buf.size() >= kMaxBuffer) return judge(s, true);
      s->buf.resize(std::min(s->buf.size() * 2, kMaxBuffer));
    }
    s->stream.async_read_some(asio::buffer(s->buf.data() + s->len, s->buf.size() - s->len),
                              [s](const asio::error_code& e, size_t n) {
                                if (s->owner != nullptr) s->owner->on_read(s, e, n);
                              });
  }

  void on_read(const std::shared_ptr<Session>& s, const asio::error_code& ec, size_t n) {
    s->len += n;
    // A server that closes without close_notify ends the stream as "truncated": that is EOF
    // for a Connection: close response.
    const bool eof = ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
    if (ec && !eof && s->len == 0) return done(false, "TLS read failed: " + tls_error(ec));
    judge(s, eof || static_cast<bool>(ec));
  }

  void judge(const std::shared_ptr<Session>& s, bool eof) {
    HttpReply reply;
    const HttpParse p = parse_http_reply(std::string_view(s->buf.data(), s->len), eof,
                                         !check_.body_contains.empty(), reply, scratch_);
    switch (p) {
      case HttpParse::NeedMore:
        if (!eof) return read_more(s);
        return done(false, s->len == 0 ? "connection closed before response"
                                       : "connection closed mid-response");
      case HttpParse::Malformed:
      case HttpParse::TooLarge:
        return done(false, std::string(http_parse_name(p)));
      case HttpParse::Complete: {
        std::string verdict = judge_http(check_, reply);
        const bool ok = verdict.empty();  // before the move below
        return done(ok, std::move(verdict));
      }
    }
  }

  static std::string tls_error(const asio::error_code& ec) {
    // OpenSSL's reason string ("certificate verify failed") without asio's " (SSL routines)".
    std::string m = ec.message();
    if (auto paren = m.find(" ("); paren != std::string::npos) m.resize(paren);
    return m;
  }

  // Ends the probe; the caller returns right after (the sink may retire this prober).
  void done(bool ok, std::string reason) {
    abort();
    if (scratch_.capacity() > size_t{16} * 1024) std::string().swap(scratch_);
    env_.sink.probe_done(slot_, ok, std::move(reason));
  }

  static constexpr size_t kMaxBuffer = kMaxHttpHeaders + kMaxHttpBody + size_t{16} * 1024;

  ProbeEnv& env_;
  const uint32_t slot_;
  const CheckConfig check_;
  const std::string request_;
  const asio::ip::tcp::endpoint endpoint_;
  const std::string sni_;
  const std::string verify_host_;
  std::shared_ptr<asio::ssl::context> ctx_;
  std::shared_ptr<Session> session_;
  std::string scratch_;
};

}  // namespace

std::unique_ptr<Prober> make_https_prober(const Target& target, uint32_t slot, ProbeEnv& env) {
  return std::make_unique<HttpsProber>(target, slot, env);
}

}  // namespace steer::control::health
