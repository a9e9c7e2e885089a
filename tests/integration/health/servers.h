// Real servers for the health-checker tests, each on its own thread with plain blocking
// sockets (poll with a stop eventfd): TCP (accept-and-close, accept-and-hold, a full
// backlog), HTTP, HTTPS (OpenSSL with a self-signed certificate made in memory), UDP and a
// tiny DNS responder. Everything they create is released by their destructors.
#pragma once

#include <atomic>
#include <cctype>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/ip_address.h"

namespace steer::test {

inline socklen_t make_addr(const std::string& ip, uint16_t port, sockaddr_storage& ss) {
  std::memset(&ss, 0, sizeof ss);
  if (ip.find(':') == std::string::npos) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    inet_pton(AF_INET, ip.c_str(), &a->sin_addr);
    return sizeof(sockaddr_in);
  }
  auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
  a->sin6_family = AF_INET6;
  a->sin6_port = htons(port);
  inet_pton(AF_INET6, ip.c_str(), &a->sin6_addr);
  return sizeof(sockaddr_in6);
}

inline uint16_t local_port(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  return ntohs(ss.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                       : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}

inline int must(int rc, const char* what) {
  if (rc < 0) throw std::runtime_error(std::string(what) + ": " + std::strerror(errno));
  return rc;
}

// A socket bound to ip:port (0 = any port); SOCK_STREAM ones listen with `backlog`.
inline int bound_socket(const std::string& ip, uint16_t port, int type, int backlog = 128) {
  sockaddr_storage ss;
  const socklen_t len = make_addr(ip, port, ss);
  const int fd = must(socket(ss.ss_family, type | SOCK_CLOEXEC, 0), "socket");
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  must(bind(fd, reinterpret_cast<sockaddr*>(&ss), len), "bind");
  if (type == SOCK_STREAM) must(listen(fd, backlog), "listen");
  return fd;
}

// One thread serving one socket until stop() (or destruction).
class ServerThread {
 public:
  ~ServerThread() { stop(); }
  uint16_t port() const { return port_; }
  // Closes the socket (a TCP port then refuses, a UDP port answers port unreachable).
  void stop() {
    if (!thread_.joinable()) return;
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(stop_fd_, &one, sizeof one);
    thread_.join();
    for (int fd : held_) close(fd);
    held_.clear();
    close(fd_);
    close(stop_fd_);
  }

 protected:
  // `serve` runs on the server thread whenever fd_ is readable.
  void run(int fd, std::function<void(int)> serve) {
    fd_ = fd;
    port_ = local_port(fd);
    stop_fd_ = must(eventfd(0, EFD_CLOEXEC), "eventfd");
    thread_ = std::thread([this, serve = std::move(serve)] {
      for (;;) {
        pollfd p[2] = {{fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
        if (poll(p, 2, -1) < 0) continue;
        if (p[1].revents) return;
        if (p[0].revents) serve(fd_);
      }
    });
  }
  void hold(int fd) {
    std::lock_guard lock(mu_);
    held_.push_back(fd);
  }

  std::mutex mu_;

 private:
  int fd_ = -1, stop_fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::vector<int> held_;
};

// Reads one HTTP request head (up to the blank line), 1 s at most.
inline std::string read_request(int fd, const std::function<ssize_t(char*, size_t)>& rd) {
  std::string req;
  char buf[2048];
  while (req.find("\r\n\r\n") == std::string::npos && req.size() < 65536) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 1000) <= 0) break;
    const ssize_t n = rd(buf, sizeof buf);
    if (n <= 0) break;
    req.append(buf, static_cast<size_t>(n));
  }
  return req;
}

// TCP: accepts and closes at once (a plain "port open" backend).
class TcpAcceptServer : public ServerThread {
 public:
  explicit TcpAcceptServer(const std::string& ip = "127.0.0.1", uint16_t port = 0) {
    run(bound_socket(ip, port, SOCK_STREAM), [this](int lfd) {
      const int c = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0) close(c);
      ++accepted;
    });
  }
  std::atomic<int> accepted{0};
};

// TCP: a listener whose accept queue is full and never drained, so new SYNs are dropped
// (no SYN-ACK, no RST): connects hang until the prober's timeout.
class TcpBlackhole {
 public:
  TcpBlackhole() {
    fd_ = bound_socket("127.0.0.1", 0, SOCK_STREAM, 0);
    port_ = local_port(fd_);
    sockaddr_storage ss;
    const socklen_t len = make_addr("127.0.0.1", port_, ss);
    // Fill the queue (backlog 0 holds one connection; a second to be sure).
    for (int i = 0; i < 2; ++i) {
      const int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      connect(c, reinterpret_cast<sockaddr*>(&ss), len);
      fillers_.push_back(c);
    }
    usleep(50'000);
  }
  ~TcpBlackhole() {
    for (int c : fillers_) close(c);
    close(fd_);
  }
  uint16_t port() const { return port_; }

 private:
  int fd_;
  uint16_t port_;
  std::vector<int> fillers_;
};

// HTTP/1.1: answers every request with `response` (raw bytes), or holds the connection
// open without a word when `response` is empty. Records the requests.
class HttpServer : public ServerThread {
 public:
  explicit HttpServer(std::string response, const std::string& ip = "127.0.0.1")
      : response_(std::move(response)) {
    run(bound_socket(ip, 0, SOCK_STREAM), [this](int lfd) {
      const int c = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      if (response_.empty()) return hold(c);  // hang: never answer
      const std::string req = read_request(c, [c](char* b, size_t n) { return read(c, b, n); });
      {
        std::lock_guard lock(mu_);
        requests_.push_back(req);
      }
      [[maybe_unused]] ssize_t n = send(c, response_.data(), response_.size(), MSG_NOSIGNAL);
      close(c);
    });
  }
  std::vector<std::string> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  std::string response_;
  std::vector<std::string> requests_;
};

inline std::string http_response(int status, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(status) +
         " X\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
         body;
}

// A self-signed certificate for `name` (P-256 key, subjectAltName DNS:name, valid for a
// day), made in memory with OpenSSL: no files, no openssl tool needed.
class SelfSignedCert {
 public:
  explicit SelfSignedCert(const std::string& name) {
    key_ = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    cert_ = X509_new();
    if (key_ == nullptr || cert_ == nullptr) throw std::runtime_error("OpenSSL key/cert alloc");
    X509_set_version(cert_, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert_), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert_), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert_), 86400);
    X509_set_pubkey(cert_, key_);
    X509_NAME* subject = X509_get_subject_name(cert_);
    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
    X509_set_issuer_name(cert_, subject);
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, cert_, cert_, nullptr, nullptr, 0);
    const std::string san = "DNS:" + name;
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, san.c_str());
    if (ext == nullptr || X509_add_ext(cert_, ext, -1) != 1 ||
        X509_sign(cert_, key_, EVP_sha256()) == 0) {
      throw std::runtime_error("cannot build the test certificate");
    }
    X509_EXTENSION_free(ext);
  }
  ~SelfSignedCert() {
    X509_free(cert_);
    EVP_PKEY_free(key_);
  }
  SelfSignedCert(const SelfSignedCert&) = delete;
  SelfSignedCert& operator=(const SelfSignedCert&) = delete;
  X509* cert() const { return cert_; }
  EVP_PKEY* key() const { return key_; }

 private:
  EVP_PKEY* key_ = nullptr;
  X509* cert_ = nullptr;
};

// HTTPS: TLS with the given certificate, then like HttpServer. Records the SNI names.
class HttpsServer : public ServerThread {
 public:
  HttpsServer(const SelfSignedCert& cert, std::string response) : response_(std::move(response)) {
    // SSL_write goes through write(2): a probe that timed out and closed first would kill
    // the test process with SIGPIPE (seen under load). Real backends ignore it as well.
    std::signal(SIGPIPE, SIG_IGN);
    ctx_ = SSL_CTX_new(TLS_server_method());
    if (SSL_CTX_use_certificate(ctx_, cert.cert()) != 1 ||
        SSL_CTX_use_PrivateKey(ctx_, cert.key()) != 1) {
      throw std::runtime_error("cannot load the test certificate");
    }
    run(bound_socket("127.0.0.1", 0, SOCK_STREAM), [this](int lfd) {
      const int c = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      timeval tv{1, 0};
      setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      SSL* ssl = SSL_new(ctx_);
      SSL_set_fd(ssl, c);
      if (SSL_accept(ssl) == 1) {
        const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
        {
          std::lock_guard lock(mu_);
          sni_.push_back(sni != nullptr ? sni : "");
        }
        read_request(c, [ssl](char* b, size_t n) {
          return static_cast<ssize_t>(SSL_read(ssl, b, static_cast<int>(n)));
        });
        SSL_write(ssl, response_.data(), static_cast<int>(response_.size()));
        SSL_shutdown(ssl);
      } else {
        ++handshake_failures;
      }
      SSL_free(ssl);
      close(c);
    });
  }
  ~HttpsServer() {
    stop();
    SSL_CTX_free(ctx_);
  }
  std::vector<std::string> sni() {
    std::lock_guard lock(mu_);
    return sni_;
  }
  std::atomic<int> handshake_failures{0};

 private:
  SSL_CTX* ctx_;
  std::string response_;
  std::vector<std::string> sni_;
};

// UDP: answers each datagram with reply(datagram), or not at all when it gives nullopt.
class UdpServer : public ServerThread {
 public:
  using Reply = std::function<std::optional<std::string>(const std::string&)>;
  explicit UdpServer(Reply reply) : reply_(std::move(reply)) {
    run(bound_socket("127.0.0.1", 0, SOCK_DGRAM), [this](int fd) {
      char buf[2048];
      sockaddr_storage from{};
      socklen_t len = sizeof from;
      const ssize_t n = recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 0) return;
      if (auto r = reply_(std::string(buf, static_cast<size_t>(n)))) {
        sendto(fd, r->data(), r->size(), 0, reinterpret_cast<sockaddr*>(&from), len);
      }
    });
  }

 private:
  Reply reply_;
};

// DNS: a tiny authoritative responder. Names in `a_records` ("svc.test.") get their A
// records; anything else is NXDOMAIN. Built by hand, independent of dns_wire.
inline std::optional<std::string> dns_answer(const std::map<std::string, std::string>& a_records,
                                             const std::string& q) {
  if (q.size() < 12) return std::nullopt;
  std::string name;
  size_t pos = 12;
  while (pos < q.size() && q[pos] != 0) {
    const size_t len = static_cast<uint8_t>(q[pos]);
    if (pos + 1 + len > q.size()) return std::nullopt;
    for (size_t i = 0; i < len; ++i) name += static_cast<char>(std::tolower(q[pos + 1 + i]));
    name += '.';
    pos += 1 + len;
  }
  if (pos + 5 > q.size()) return std::nullopt;
  const size_t question_end = pos + 5;
  std::string r = q.substr(0, question_end);
  r[2] = static_cast<char>(0x84);  // QR, AA
  const auto it = a_records.find(name);
  r[3] = it == a_records.end() ? 3 : 0;  // NXDOMAIN / NOERROR
  r[4] = 0, r[5] = 1;
  r[6] = 0, r[7] = it == a_records.end() ? 0 : 1;
  r[8] = r[9] = r[10] = r[11] = 0;
  if (it != a_records.end()) {
    in_addr a{};
    inet_pton(AF_INET, it->second.c_str(), &a);
    const char rr[] = {char(0xc0), 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4};
    r.append(rr, sizeof rr);
    r.append(reinterpret_cast<const char*>(&a), 4);
  }
  return r;
}

}  // namespace steer::test
