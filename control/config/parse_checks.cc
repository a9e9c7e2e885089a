// [check.NAME]: health checks, referenced by name from VIPs and backends.
#include <algorithm>
#include <charconv>
#include <iterator>
#include <optional>

#include <fmt/format.h>

#include "control/config/config.h"
#include "control/config/internal.h"

namespace steer::control {

using config::Section;
using config::Sink;

namespace {

bool is_check_name(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

// Printable ASCII without spaces: safe to put in an HTTP request line or Host header.
bool is_http_token(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c > ' ' && c < 0x7f; });
}

// A DNS name in text form: labels of 1..63 bytes, 253 bytes at most, an optional final dot.
bool is_dns_name(std::string_view s) {
  if (s.ends_with('.')) s.remove_suffix(1);
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (start <= s.size()) {
    size_t dot = s.find('.', start);
    if (dot == std::string_view::npos) dot = s.size();
    const size_t len = dot - start;
    if (len == 0 || len > 63) return false;
    for (size_t i = start; i < dot; ++i) {
      const unsigned char c = static_cast<unsigned char>(s[i]);
      if (c <= ' ' || c >= 0x7f) return false;
    }
    start = dot + 1;
  }
  return true;
}

std::optional<std::string> decode_hex(std::string_view s) {
  if (s.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(s.size() / 2);
  for (size_t i = 0; i < s.size(); i += 2) {
    uint8_t byte = 0;
    auto [p, ec] = std::from_chars(s.data() + i, s.data() + i + 2, byte, 16);
    if (ec != std::errc() || p != s.data() + i + 2) return std::nullopt;
    out.push_back(static_cast<char>(byte));
  }
  return out;
}

constexpr std::string_view kHttpKeys[] = {"path", "host", "expect_status", "body_contains"};
constexpr std::string_view kUdpKeys[] = {"payload", "payload_hex", "expect"};
constexpr std::string_view kDnsKeys[] = {"query", "qtype", "expect_rcode", "expect_answer"};

template <size_t N>
bool contains(const std::string_view (&list)[N], std::string_view key) {
  return std::find(std::begin(list), std::end(list), key) != std::end(list);
}

CheckConfig parse_check(const std::string& check_name, const toml::table& t, Sink& sink) {
  CheckConfig ch;
  ch.name = check_name;
  Section s(t, "check." + check_name, sink);
  s.only({"type",       "port",    "interval_ms",      "timeout_ms",
          "rise",       "fall",    "fast_interval_ms", "jitter",
          "path",       "host",    "expect_status",    "body_contains",
          "tls_verify", "payload", "payload_hex",      "expect",
          "query",      "qtype",   "expect_rcode",     "expect_answer"});

  std::string type;
  bool type_ok = true;
  if (s.get("type")) {
    type_ok = s.one_of("type", {"tcp", "http", "https", "udp", "dns"}, type);
  }
  if (type == "http") ch.type = CheckType::Http;
  if (type == "https") ch.type = CheckType::Https;
  if (type == "udp") ch.type = CheckType::Udp;
  if (type == "dns") ch.type = CheckType::Dns;

  s.integer("port", 0, 65535, ch.port, "0 probes the VIP's port");
  const bool interval_ok =
      s.integer("interval_ms", 50, 3600000, ch.interval_ms, "probes are at least 50 ms apart");
  const bool timeout_ok = s.integer("timeout_ms", 1, 3600000, ch.timeout_ms);
  if ((interval_ok || timeout_ok) && ch.timeout_ms >= ch.interval_ms) {
    s.error(*s.get(timeout_ok ? "timeout_ms" : "interval_ms"),
            fmt::format("'{}' ({}) must be less than interval_ms ({})", s.name("timeout_ms"),
                        ch.timeout_ms, ch.interval_ms),
            "a probe must finish before the next one starts: lower timeout_ms");
  }
  s.integer("rise", 1, 1000, ch.rise);
  s.integer("fall", 1, 1000, ch.fall);
  if (const toml::node* n = s.get("fast_interval_ms")) {
    if (s.integer("fast_interval_ms", 0, 3600000, ch.fast_interval_ms)) {
      if (ch.fast_interval_ms != 0 && ch.fast_interval_ms < 50) {
        s.error(*n,
                fmt::format("'{}' must be 0 or at least 50 (got {})", s.name("fast_interval_ms"),
                            ch.fast_interval_ms),
                "0 uses interval_ms / 4, at least 50");
        ch.fast_interval_ms = 0;
      } else if (ch.fast_interval_ms > ch.interval_ms) {
        s.error(*n,
                fmt::format("'{}' ({}) must not exceed interval_ms ({})",
                            s.name("fast_interval_ms"), ch.fast_interval_ms, ch.interval_ms),
                "it is the faster re-check period while a state change is pending");
      }
    }
  }
  s.number("jitter", 0, 0.5, ch.jitter, "a fraction of interval_ms, 0..0.5");

  // http, https
  if (s.string("path", ch.path)) {
    if (!ch.path.starts_with('/') || !is_http_token(ch.path)) {
      s.error(*s.get("path"),
              fmt::format("'{}' must start with '/' and contain no spaces or control "
                          "characters (got \"{}\")",
                          s.name("path"), ch.path),
              "escape spaces as %20");
    }
  }
  if (s.string("host", ch.host) && !is_http_token(ch.host)) {
    s.error(*s.get("host"),
            fmt::format("'{}' must contain no spaces or control characters", s.name("host")));
  }
  if (const toml::node* n = s.get("expect_status")) {
    auto status_ok = [&](const toml::node& v) -> std::optional<uint16_t> {
      if (v.is_integer() && v.as_integer()->get() >= 100 && v.as_integer()->get() <= 599) {
        return static_cast<uint16_t>(v.as_integer()->get());
      }
      if (v.is_integer()) {
        s.error(v, fmt::format("'{}' values must be HTTP status codes 100..599 (got {})",
                               s.name("expect_status"), v.as_integer()->get()));
      } else {
        s.error(v, fmt::format("'{}' values must be integers 100..599", s.name("expect_status")));
      }
      return std::nullopt;
    };
    std::vector<uint16_t> codes;
    if (const toml::array* a = n->as_array()) {
      for (const toml::node& v : *a) {
        if (auto code = status_ok(v)) codes.push_back(*code);
      }
      if (a->empty()) {
        s.error(*n, fmt::format("'{}' must list at least one status", s.name("expect_status")),
                "expect_status = [200]");
      }
    } else if (n->is_integer()) {
      if (auto code = status_ok(*n)) codes.push_back(*code);
    } else {
      s.type_error(*n, "expect_status", "an array of status codes like [200, 204]");
    }
    if (!codes.empty()) ch.expect_status = std::move(codes);
  }
  s.string("body_contains", ch.body_contains);
  s.boolean("tls_verify", ch.tls_verify);

  // udp
  s.string("payload", ch.payload);
  std::string hex;
  if (s.string("payload_hex", hex)) {
    if (s.get("payload")) {
      s.error(*s.get("payload_hex"),
              fmt::format("'{}' and payload are both set", s.name("payload_hex")),
              "keep one: payload is text, payload_hex is bytes");
    } else if (auto bytes = decode_hex(hex)) {
      ch.payload = std::move(*bytes);
    } else {
      s.error(*s.get("payload_hex"),
              fmt::format("'{}' must be hex digits, two per byte (got \"{}\")",
                          s.name("payload_hex"), hex),
              "for example \"00ff10\"");
    }
  }
  s.string("expect", ch.expect);

  // dns
  if (s.string("query", ch.query) && !is_dns_name(ch.query)) {
    s.error(*s.get("query"),
            fmt::format("'{}' must be a DNS name (labels of 1..63 characters, 253 in all; got "
                        "\"{}\")",
                        s.name("query"), ch.query),
            "for example \"health.example.com.\"");
  }
  s.named_number(
      "qtype",
      {{"A", 1}, {"NS", 2}, {"CNAME", 5}, {"SOA", 6}, {"MX", 15}, {"TXT", 16}, {"AAAA", 28}}, 1,
      65535, ch.qtype);
  uint16_t rcode = ch.expect_rcode;
  if (s.named_number("expect_rcode",
                     {{"NOERROR", 0}, {"SERVFAIL", 2}, {"NXDOMAIN", 3}, {"REFUSED", 5}}, 0, 15,
                     rcode)) {
    ch.expect_rcode = static_cast<uint8_t>(rcode);
  }
  if (s.string("expect_answer", ch.expect_answer) && !ch.expect_answer.empty() &&
      !IpAddress::parse(ch.expect_answer)) {
    s.error(*s.get("expect_answer"),
            fmt::format("'{}' must be an IPv4 or IPv6 address, or \"\" for any answer (got "
                        "\"{}\")",
                        s.name("expect_answer"), ch.expect_answer));
  }

  if (!type_ok) return ch;  // which keys belong to the type is unknown: no more to say
  // Keys of another check type are mistakes (a tcp check never reads `path`).
  const std::string_view tname = check_type_name(ch.type);
  for (auto&& [k, v] : t) {
    const std::string_view key = k.str();
    std::string_view used_by;
    if (contains(kHttpKeys, key) && ch.type != CheckType::Http && ch.type != CheckType::Https) {
      used_by = "http and https checks";
    } else if (key == "tls_verify" && ch.type != CheckType::Https) {
      used_by = "https checks";
    } else if (contains(kUdpKeys, key) && ch.type != CheckType::Udp) {
      used_by = "udp checks";
    } else if (contains(kDnsKeys, key) && ch.type != CheckType::Dns) {
      used_by = "dns checks";
    }
    if (!used_by.empty()) {
      sink.at(k, fmt::format("'{}' does not apply to a {} check", s.name(key), tname),
              fmt::format("it is used by {}; check the type", used_by));
    }
  }
  if (ch.type == CheckType::Dns) {
    s.missing("query", fmt::format("dns check '{}' needs a query", check_name),
              "query = \"health.example.com.\"");
  }
  return ch;
}

}  // namespace

void internal::parse_checks(const toml::table& root, Config& c, Sink& sink) {
  const toml::node* n = root.get("check");
  if (!n) return;
  const toml::table* t = n->as_table();
  if (!t) {
    sink.at(*n, "'check' must hold named tables ([check.NAME])");
    return;
  }
  for (auto&& [k, v] : *t) {
    const std::string name(k.str());
    if (!is_check_name(name)) {
      sink.at(k, fmt::format("check name \"{}\" must be 1..64 letters, digits, '_' or '-'", name));
    }
    const toml::table* ct = v.as_table();
    if (!ct) {
      sink.at(v, fmt::format("'check.{}' must be a table ([check.{}])", name, name));
      // Still defined, so references to it do not add a second error.
      c.checks.emplace(name, CheckConfig{.name = name});
      continue;
    }
    c.checks.emplace(name, parse_check(name, *ct, sink));
  }
}

}  // namespace steer::control
