// parse_config: TOML -> Config, collecting every error instead of stopping at the first.
//
// Each reader reports into one Sink and carries on with the default value, so a file with a
// bad port and an unknown key further down reports both. Cross-references (check names,
// duplicates, min_healthy against the backend count) run afterwards on what parsed; anything
// whose own value was already bad is skipped there so one mistake gives one error.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <exception>
#include <map>
#include <optional>
#include <sstream>
#include <vector>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "control/config/config.h"
#include "control/config/internal.h"
#include "hashing/maglev.h"

namespace steer::control {

namespace {

using Known = std::initializer_list<std::string_view>;

// --- errors -------------------------------------------------------------------------------

// Messages quote the file's own text (keys, values): control characters are escaped so each
// error stays one line, and a huge value is cut short.
std::string printable(std::string_view text) {
  constexpr size_t kMax = 512;
  std::string out;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += ch;
    }
    if (out.size() >= kMax) {
      out += "...";
      break;
    }
  }
  return out;
}

class Sink {
 public:
  explicit Sink(std::string_view source) : source_(source) {}

  void at(const toml::source_region& r, std::string_view message, std::string_view hint = {}) {
    const uint32_t line = r.begin.line;
    const uint32_t column = r.begin.column;
    std::string where =
        line == 0 ? printable(source_) : fmt::format("{}:{}:{}", printable(source_), line, column);
    items_.push_back({line, column, {std::move(where), printable(message), printable(hint)}});
  }
  void at(const toml::node& n, std::string_view message, std::string_view hint = {}) {
    at(n.source(), message, hint);
  }
  void at(const toml::key& k, std::string_view message, std::string_view hint = {}) {
    at(k.source(), message, hint);
  }

  bool empty() const { return items_.empty(); }

  // Ordered by position; errors without one first; ties keep the order they were found in.
  std::vector<ConfigError> take() {
    std::stable_sort(items_.begin(), items_.end(), [](const Item& a, const Item& b) {
      return std::tie(a.line, a.column) < std::tie(b.line, b.column);
    });
    std::vector<ConfigError> out;
    out.reserve(items_.size());
    for (Item& i : items_) out.push_back(std::move(i.error));
    return out;
  }

 private:
  struct Item {
    uint32_t line, column;
    ConfigError error;
  };
  std::string_view source_;
  std::vector<Item> items_;
};

std::string position(const toml::source_region& r) {
  return fmt::format("line {}:{}", r.begin.line, r.begin.column);
}

// Optimal string alignment distance (Levenshtein plus adjacent transpositions), so "nmae"
// is one edit from "name".
size_t edit_distance(std::string_view a, std::string_view b) {
  const size_t n = a.size(), m = b.size();
  std::vector<std::vector<size_t>> d(n + 1, std::vector<size_t>(m + 1));
  for (size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= m; ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[n][m];
}

// The closest of `known` to `word` when it is plausibly a typo of it.
std::optional<std::string_view> closest(std::string_view word,
                                        const std::vector<std::string_view>& known) {
  if (word.size() > 64) return std::nullopt;  // not a typo; keep the work bounded
  std::optional<std::string_view> best;
  size_t best_distance = SIZE_MAX;
  for (std::string_view k : known) {
    const size_t dist = edit_distance(word, k);
    if (dist < best_distance) {
      best_distance = dist;
      best = k;
    }
  }
  if (!best) return std::nullopt;
  // Up to half the shorter word (at least one edit), and never the whole word ("c" is not a
  // typo of "a").
  const size_t limit = std::max<size_t>(1, std::min(word.size(), best->size()) / 2);
  if (best_distance > limit || best_distance >= word.size()) return std::nullopt;
  return best;
}

std::string join(const std::vector<std::string_view>& items) {
  std::string out;
  for (std::string_view s : items) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

// "did you mean 'x'?" when one is close, else the whole list.
std::string suggestion(std::string_view word, const std::vector<std::string_view>& known,
                       std::string_view what) {
  if (auto c = closest(word, known)) return fmt::format("did you mean '{}'?", *c);
  if (known.empty()) return {};
  return fmt::format("{}: {}", what, join(known));
}

// --- one table's keys ---------------------------------------------------------------------

// Reads typed values out of one TOML table, reporting errors as '<path>.<key>'.
class Section {
 public:
  Section(const toml::table& t, std::string path, Sink& sink)
      : t_(t), path_(std::move(path)), sink_(sink) {}

  const toml::table& table() const { return t_; }
  const toml::node* get(std::string_view key) const { return t_.get(key); }
  std::string name(std::string_view key) const {
    return path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
  }

  // Reports every key not in `known` (with the closest known one as the hint).
  void only(Known known, std::string_view what = "key") {
    const std::vector<std::string_view> list(known);
    for (auto&& [k, v] : t_) {
      if (std::find(list.begin(), list.end(), k.str()) != list.end()) continue;
      if (auto c = closest(k.str(), list)) misspelt_.push_back(*c);
      sink_.at(k, fmt::format("unknown {} '{}'", what, name(k.str())),
               suggestion(k.str(), list, fmt::format("known {}s", what)));
    }
  }

  // Reports a missing required key at the table's header, unless an unknown key already
  // reported looks like a misspelling of it (one mistake, one error).
  void missing(std::string_view key, std::string_view message, std::string_view hint = {}) const {
    if (get(key)) return;
    if (std::find(misspelt_.begin(), misspelt_.end(), key) != misspelt_.end()) return;
    sink_.at(t_, message, hint);
  }

  // Each returns true when the key is present and its value valid (then `out` is set).
  bool string(std::string_view key, std::string& out, bool non_empty = false) const {
    const toml::node* n = get(key);
    if (!n) return false;
    if (!n->is_string()) {
      type_error(*n, key, non_empty ? "a non-empty string" : "a string");
      return false;
    }
    const std::string& s = n->as_string()->get();
    if (non_empty && s.empty()) {
      type_error(*n, key, "a non-empty string");
      return false;
    }
    out = s;
    return true;
  }

  template <class T>
  bool integer(std::string_view key, int64_t min, int64_t max, T& out,
               std::string_view hint = {}) const {
    const toml::node* n = get(key);
    if (!n) return false;
    const std::string expected = fmt::format("an integer {}..{}", min, max);
    if (!n->is_integer()) {
      type_error(*n, key, expected, hint);
      return false;
    }
    const int64_t v = n->as_integer()->get();
    if (v < min || v > max) {
      sink_.at(*n, fmt::format("'{}' must be {} (got {})", name(key), expected, v), hint);
      return false;
    }
    out = static_cast<T>(v);
    return true;
  }

  bool boolean(std::string_view key, bool& out) const {
    const toml::node* n = get(key);
    if (!n) return false;
    if (!n->is_boolean()) {
      type_error(*n, key, "true or false");
      return false;
    }
    out = n->as_boolean()->get();
    return true;
  }

  // A float or an integer within [min, max].
  bool number(std::string_view key, double min, double max, double& out,
              std::string_view hint = {}) const {
    const toml::node* n = get(key);
    if (!n) return false;
    const std::string expected = fmt::format("a number {}..{}", min, max);
    double v = 0;
    if (n->is_floating_point()) {
      v = n->as_floating_point()->get();
    } else if (n->is_integer()) {
      v = static_cast<double>(n->as_integer()->get());
    } else {
      type_error(*n, key, expected, hint);
      return false;
    }
    if (!(v >= min && v <= max)) {  // also rejects NaN
      sink_.at(*n, fmt::format("'{}' must be {} (got {})", name(key), expected, v), hint);
      return false;
    }
    out = v;
    return true;
  }

  // A string that must be one of `values`.
  bool one_of(std::string_view key, Known values, std::string& out) const {
    const toml::node* n = get(key);
    if (!n) return false;
    const std::vector<std::string_view> list(values);
    const std::string expected = fmt::format("one of {}", join(list));
    if (!n->is_string()) {
      type_error(*n, key, fmt::format("a string, {}", expected));
      return false;
    }
    const std::string& s = n->as_string()->get();
    if (std::find(list.begin(), list.end(), s) == list.end()) {
      std::string hint;
      if (auto c = closest(s, list)) hint = fmt::format("did you mean \"{}\"?", *c);
      sink_.at(*n, fmt::format("'{}' must be {} (got \"{}\")", name(key), expected, s), hint);
      return false;
    }
    out = s;
    return true;
  }

  bool address(std::string_view key, IpAddress& out) const {
    std::string s;
    if (!string(key, s)) return false;
    auto a = IpAddress::parse(s);
    if (!a) {
      sink_.at(*get(key),
               fmt::format("'{}' must be an IPv4 or IPv6 address (got \"{}\")", name(key), s));
      return false;
    }
    out = *a;
    return true;
  }

  // An octal file mode string, "0660".
  bool mode(std::string_view key, uint32_t& out) const {
    const toml::node* n = get(key);
    if (!n) return false;
    constexpr std::string_view kExpected = "an octal mode string like \"0660\"";
    if (!n->is_string()) {
      type_error(*n, key, kExpected,
                 n->is_integer() ? "quote it: a TOML integer like 660 is decimal, not octal" : "");
      return false;
    }
    const std::string& s = n->as_string()->get();
    uint32_t m = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), m, 8);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size() || m > 0777) {
      sink_.at(*n, fmt::format("'{}' must be {} (got \"{}\")", name(key), kExpected, s));
      return false;
    }
    out = m;
    return true;
  }

  void type_error(const toml::node& n, std::string_view key, std::string_view expected,
                  std::string_view hint = {}) const {
    sink_.at(n, fmt::format("'{}' must be {}", name(key), expected), hint);
  }
  void error(const toml::node& n, std::string_view message, std::string_view hint = {}) const {
    sink_.at(n, message, hint);
  }

 private:
  const toml::table& t_;
  std::string path_;
  Sink& sink_;
  std::vector<std::string_view> misspelt_;  // known keys that unknown keys resemble
};

// --- value rules ----------------------------------------------------------------------------

bool is_vip_name(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

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

// A name from `names` or a decimal number in [min, max], given as a string or an integer.
struct NamedNumber {
  std::string_view name;
  uint16_t value;
};

bool named_number(const Section& sec, std::string_view key,
                  std::initializer_list<NamedNumber> names, int64_t min, int64_t max,
                  uint16_t& out) {
  const toml::node* n = sec.get(key);
  if (!n) return false;
  std::vector<std::string_view> list;
  for (const NamedNumber& nn : names) list.push_back(nn.name);
  const std::string expected = fmt::format("one of {} or a number {}..{}", join(list), min, max);
  if (n->is_integer()) {
    return sec.integer(key, min, max, out);
  }
  if (!n->is_string()) {
    sec.type_error(*n, key, expected);
    return false;
  }
  std::string s = n->as_string()->get();
  std::string upper = s;
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c; });
  for (const NamedNumber& nn : names) {
    if (upper == nn.name) {
      out = nn.value;
      return true;
    }
  }
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (!s.empty() && ec == std::errc() && p == s.data() + s.size() && v >= min && v <= max) {
    out = static_cast<uint16_t>(v);
    return true;
  }
  std::string hint;
  if (auto c = closest(upper, list)) hint = fmt::format("did you mean \"{}\"?", *c);
  sec.error(*n, fmt::format("'{}' must be {} (got \"{}\")", sec.name(key), expected, s), hint);
  return false;
}

// --- process settings ---------------------------------------------------------------------

const toml::table* section_table(const toml::table& root, std::string_view key, Sink& sink) {
  const toml::node* n = root.get(key);
  if (!n) return nullptr;
  if (!n->is_table()) {
    sink.at(*n, fmt::format("'{}' must be a table ([{}])", key, key));
    return nullptr;
  }
  return n->as_table();
}

void parse_settings(const toml::table& root, Config& c, Sink& sink) {
  if (const toml::table* t = section_table(root, "pop", sink)) {
    Section s(*t, "pop", sink);
    s.only({"name", "region"});
    s.string("name", c.pop_name);
    s.string("region", c.pop_region);
  }
  if (const toml::table* t = section_table(root, "dataplane", sink)) {
    Section s(*t, "dataplane", sink);
    s.only({"socket", "push_interval_ms", "status_interval_ms", "stuck_after_ms"});
    s.string("socket", c.dataplane_socket, true);
    s.integer("push_interval_ms", 1, 60000, c.push_interval_ms);
    const bool status_ok = s.integer("status_interval_ms", 1, 60000, c.status_interval_ms);
    const bool stuck_ok = s.integer("stuck_after_ms", 1, 3600000, c.stuck_after_ms);
    if ((status_ok || stuck_ok) && c.stuck_after_ms <= c.status_interval_ms) {
      s.error(*s.get(stuck_ok ? "stuck_after_ms" : "status_interval_ms"),
              fmt::format("'dataplane.stuck_after_ms' ({}) must be greater than "
                          "status_interval_ms ({})",
                          c.stuck_after_ms, c.status_interval_ms),
              "the dataplane would look stuck between two status polls");
    }
  }
  if (const toml::table* t = section_table(root, "cli", sink)) {
    Section s(*t, "cli", sink);
    s.only({"socket", "group", "mode"});
    s.string("socket", c.cli_socket, true);
    s.string("group", c.cli_group);
    s.mode("mode", c.cli_mode);
  }
  if (const toml::table* t = section_table(root, "metrics", sink)) {
    Section s(*t, "metrics", sink);
    s.only({"listen"});
    std::string listen;
    if (s.string("listen", listen)) {
      IpAddress a;
      bool has_port = false;
      uint16_t port = 0;
      if (listen.empty() || (internal::split_address_port(listen, a, has_port, port) && has_port &&
                             port != 0 && (a.is_v4() || listen.starts_with('[')))) {
        c.metrics_listen = listen;
      } else {
        s.error(*s.get("listen"),
                fmt::format("'metrics.listen' must be \"ADDR:PORT\" or \"[V6ADDR]:PORT\" with a "
                            "port 1..65535, or \"\" to turn metrics off (got \"{}\")",
                            listen),
                "for example \"127.0.0.1:9610\" or \"[::1]:9610\"");
      }
    }
  }
  if (const toml::table* t = section_table(root, "state", sink)) {
    Section s(*t, "state", sink);
    s.only({"dir"});
    s.string("dir", c.state_dir, true);
  }
  if (const toml::table* t = section_table(root, "warmup", sink)) {
    Section s(*t, "warmup", sink);
    s.only({"max_ms"});
    s.integer("max_ms", 0, 600000, c.warmup_max_ms);
  }
  if (const toml::table* t = section_table(root, "dns", sink)) {
    std::ostringstream os;
    os << *t;
    c.dns_toml = os.str();
  }
}

// --- [bgp] --------------------------------------------------------------------------------

// A BGP standard community "ASN:VALUE" (both 0..65535), as BIRD writes (ASN,VALUE).
bool is_community(std::string_view s) {
  const size_t colon = s.find(':');
  if (colon == std::string_view::npos) return false;
  auto part = [](std::string_view p) {
    uint32_t v = 0;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
    return !p.empty() && ec == std::errc() && end == p.data() + p.size() && v <= 65535;
  };
  return part(s.substr(0, colon)) && part(s.substr(colon + 1));
}

void parse_communities(const Section& s, std::string_view key, std::vector<std::string>& out) {
  const toml::node* n = s.get(key);
  if (!n) return;
  const toml::array* a = n->as_array();
  if (a == nullptr) {
    s.type_error(*n, key, "an array of \"ASN:VALUE\" strings", "for example [\"65001:666\"]");
    return;
  }
  out.clear();
  for (const toml::node& e : *a) {
    if (!e.is_string() || !is_community(e.as_string()->get())) {
      s.error(e,
              fmt::format("'{}' entries must be BGP communities \"ASN:VALUE\" with both parts "
                          "0..65535",
                          s.name(key)),
              "for example \"65001:666\"");
      continue;
    }
    out.push_back(e.as_string()->get());
  }
}

// Part of a BIRD protocol name steer builds: 1..max_len of a-z, 0-9 and '_', starting with a
// letter (a BIRD symbol, lower case so it never collides with a keyword's spelling).
bool is_bird_name(std::string_view s, size_t max_len) {
  if (s.empty() || s.size() > max_len || !(s[0] >= 'a' && s[0] <= 'z')) return false;
  return std::all_of(s.begin(), s.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
  });
}

void parse_bgp(const toml::table& root, Config& c, Sink& sink) {
  const toml::table* t = section_table(root, "bgp", sink);
  if (t == nullptr) return;
  BgpConfig& b = c.bgp;
  b.enabled = true;
  Section s(*t, "bgp", sink);
  s.only({"socket", "snippet", "protocol_prefix", "local_as", "announce", "announce_hold_ms",
          "min_interval_ms", "reconcile_ms", "request_timeout_ms", "drain_ms", "drain_prepend",
          "drain_communities", "communities", "valve_share", "valve_window_ms", "group"});
  s.missing("socket", "[bgp] needs 'socket', the path of BIRD's control socket",
            "for example socket = \"/run/bird/bird.ctl\"");
  s.string("socket", b.socket, true);
  s.string("snippet", b.snippet);
  std::string prefix;
  if (s.string("protocol_prefix", prefix)) {
    if (is_bird_name(prefix, 32)) {
      b.protocol_prefix = prefix;
    } else {
      s.error(*s.get("protocol_prefix"),
              fmt::format("'bgp.protocol_prefix' must be 1..32 of a-z, 0-9 and '_', starting "
                          "with a letter (got \"{}\")",
                          printable(prefix)),
              "BIRD protocol names are symbols; steer adds the VIP address to this prefix");
    }
  }
  s.integer("local_as", 1, 4294967295LL, b.local_as);
  std::string announce;
  if (s.one_of("announce", {"all", "any"}, announce)) b.announce_all = announce == "all";
  s.integer("announce_hold_ms", 0, 3600000, b.announce_hold_ms);
  s.integer("min_interval_ms", 0, 3600000, b.min_interval_ms);
  s.integer("reconcile_ms", 50, 600000, b.reconcile_ms);
  s.integer("request_timeout_ms", 10, 600000, b.request_timeout_ms);
  s.integer("drain_ms", 0, 86400000, b.drain_ms);
  s.integer("drain_prepend", 0, 10, b.drain_prepend);
  parse_communities(s, "drain_communities", b.drain_communities);
  parse_communities(s, "communities", b.communities);
  s.number("valve_share", 0.0, 1.0, b.valve_share,
           "the share of VIP addresses health may withdraw within valve_window_ms; 1 = no valve");
  s.integer("valve_window_ms", 1000, 86400000, b.valve_window_ms);
  if (b.drain_prepend > 0 && b.local_as == 0 && !s.get("local_as")) {
    s.missing("local_as",
              fmt::format("[bgp] needs 'local_as' to prepend it {} time(s) while draining",
                          b.drain_prepend),
              "set local_as to the LB's AS number, or drain_prepend = 0 to drain with "
              "communities only");
  }
}

// --- checks -------------------------------------------------------------------------------

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
  named_number(
      s, "qtype",
      {{"A", 1}, {"NS", 2}, {"CNAME", 5}, {"SOA", 6}, {"MX", 15}, {"TXT", 16}, {"AAAA", 28}}, 1,
      65535, ch.qtype);
  uint16_t rcode = ch.expect_rcode;
  if (named_number(s, "expect_rcode",
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

void parse_checks(const toml::table& root, Config& c, Sink& sink) {
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

// --- VIPs ---------------------------------------------------------------------------------

// Where a VIP's values came from, for the cross-checks; null where absent.
struct BackendSite {
  const toml::table* table = nullptr;
  const toml::node* address = nullptr;  // set only when the address parsed
  const toml::node* check = nullptr;    // its own check key
};

struct VipSite {
  const toml::table* table = nullptr;
  const toml::node* name = nullptr;  // set only when the name is valid
  bool key_ok = false;               // address, protocol and port all valid
  const toml::node* check = nullptr;
  const toml::node* min_healthy = nullptr;  // set only when a valid count was given
  const toml::node* table_size = nullptr;
  bool table_size_ok = true;
  std::vector<BackendSite> backends;
};

void parse_min_healthy(const Section& s, MinHealthy& out, VipSite& site) {
  const toml::node* n = s.get("min_healthy");
  if (!n) return;
  constexpr std::string_view kExpected =
      "a count of backends (an integer) or a percentage string like \"50%\"";
  if (n->is_integer()) {
    if (s.integer("min_healthy", 0, 65535, out.count)) site.min_healthy = n;
    return;
  }
  if (!n->is_string()) {
    s.type_error(*n, "min_healthy", kExpected);
    return;
  }
  const std::string& text = n->as_string()->get();
  double percent = 0;
  bool ok = text.size() >= 2 && text.back() == '%';
  if (ok) {
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size() - 1, percent);
    ok = ec == std::errc() && p == text.data() + text.size() - 1;
  }
  if (!ok) {
    s.error(*n,
            fmt::format("'{}' must be {} (got \"{}\")", s.name("min_healthy"), kExpected, text));
    return;
  }
  if (!(percent > 0 && percent <= 100)) {
    s.error(*n,
            fmt::format("'{}' must be a percentage in (0, 100]% (got \"{}\")",
                        s.name("min_healthy"), text),
            "use a count, e.g. min_healthy = 0, for no minimum");
    return;
  }
  out.is_fraction = true;
  out.fraction = percent / 100;
}

BackendConfig parse_backend(const toml::table& t, Sink& sink, BackendSite& site) {
  BackendConfig b;
  Section s(t, "vip.backend", sink);
  site.table = &t;
  s.only({"address", "weight", "check"});
  if (s.address("address", b.address)) site.address = s.get("address");
  s.missing("address", "backend needs an address", "address = \"10.0.0.1\"");
  s.integer("weight", 0, 65535, b.weight, "0 sends it no new flows");
  if (s.get("check")) {
    if (s.string("check", b.check)) site.check = s.get("check");
  }
  return b;
}

VipConfig parse_vip(const toml::table& t, Sink& sink, VipSite& site) {
  VipConfig v;
  Section s(t, "vip", sink);
  site.table = &t;
  s.only({"name", "address", "protocol", "port", "table_size", "encap", "gue_port", "hash", "echo",
          "min_healthy", "check", "backend"});
  if (s.string("name", v.name)) {
    if (is_vip_name(v.name)) {
      site.name = s.get("name");
    } else {
      s.error(
          *s.get("name"),
          fmt::format("VIP name \"{}\" must be 1..64 characters of a-z, 0-9, '_' and '-'", v.name),
          "names appear in metrics labels and BGP protocol names");
    }
  }
  s.missing("name", "VIP needs a name", "name = \"web\"");
  bool key_ok = s.address("address", v.address);
  s.missing("address", "VIP needs an address", "address = \"192.0.2.10\"");
  if (s.get("protocol")) {
    std::string proto;
    if (s.one_of("protocol", {"tcp", "udp"}, proto)) {
      v.proto = proto == "udp" ? 17 : 6;
    } else {
      key_ok = false;
    }
  }
  if (!s.integer("port", 0, 65535, v.port, "0 serves every port")) key_ok = false;
  s.missing("port", "VIP needs a port", "port = 0 serves every port");
  site.key_ok = key_ok;

  if (const toml::node* n = s.get("table_size")) {
    site.table_size = n;
    site.table_size_ok =
        s.integer("table_size", 2, hashing::MaglevTable::kMaxSize, v.table_size,
                  fmt::format("a prime; the default is {}", hashing::MaglevTable::kDefaultSize));
    if (site.table_size_ok && !hashing::is_prime(v.table_size)) {
      const auto next = hashing::next_prime(v.table_size);
      s.error(*n, fmt::format("'vip.table_size' must be prime (got {})", v.table_size),
              next ? fmt::format("the next prime is {}", *next) : std::string());
      site.table_size_ok = false;
    }
  }
  s.one_of("encap", {"ipip", "gue"}, v.encap);
  s.integer("gue_port", 1, 65535, v.gue_port, "the UDP port the backends decapsulate GUE on");
  s.one_of("hash", {"5-tuple", "3-tuple", "source"}, v.hash);
  s.boolean("echo", v.echo);
  parse_min_healthy(s, v.min_healthy, site);
  if (s.string("check", v.check)) site.check = s.get("check");

  if (const toml::node* n = s.get("backend")) {
    const toml::array* a = n->as_array();
    if (!a || !a->is_array_of_tables()) {
      s.error(*n, "'vip.backend' must be an array of tables ([[vip.backend]])");
    } else {
      for (const toml::node& bn : *a) {
        site.backends.emplace_back();
        v.backends.push_back(parse_backend(*bn.as_table(), sink, site.backends.back()));
      }
    }
  }
  return v;
}

std::string vip_key_text(const VipConfig& v) {
  const std::string_view proto = v.proto == 17 ? "udp" : "tcp";
  if (v.address.is_v4()) return fmt::format("{}:{}/{}", v.address, v.port, proto);
  return fmt::format("[{}]:{}/{}", v.address, v.port, proto);
}

// Checks a reference to a check name; true when it names a defined check.
bool known_check(const Config& c, const std::string& name, const toml::node& at, Sink& sink) {
  if (c.checks.contains(name)) return true;
  std::vector<std::string_view> defined;
  for (const auto& [k, v] : c.checks) defined.push_back(k);
  std::string hint;
  if (defined.empty()) {
    hint = "no checks are defined: add a [check.NAME] table";
  } else if (auto best = closest(name, defined)) {
    hint = fmt::format("did you mean '{}'? defined: {}", *best, join(defined));
  } else {
    hint = fmt::format("defined: {}", join(defined));
  }
  sink.at(at, fmt::format("unknown check '{}'", name), hint);
  return false;
}

void cross_check_vips(Config& c, std::vector<VipSite>& sites, Sink& sink) {
  std::map<std::string, const VipSite*> by_name;
  std::map<std::tuple<IpAddress, uint8_t, uint16_t>, size_t> by_key;  // -> index
  for (size_t i = 0; i < c.vips.size(); ++i) {
    VipConfig& v = c.vips[i];
    VipSite& site = sites[i];
    if (site.name) {
      auto [it, fresh] = by_name.emplace(v.name, &site);
      if (!fresh) {
        sink.at(*site.name, fmt::format("duplicate VIP name '{}'", v.name),
                fmt::format("first defined at {}", position(it->second->name->source())));
      }
    }
    if (site.key_ok) {
      auto [it, fresh] = by_key.emplace(std::tuple(v.address, v.proto, v.port), i);
      if (!fresh) {
        sink.at(*site.table->get("address"),
                fmt::format("VIP '{}' has the same address, protocol and port ({}) as VIP '{}'",
                            v.name, vip_key_text(v), c.vips[it->second].name),
                fmt::format("that one is at {}; VIPs differ in address, protocol or port",
                            position(sites[it->second].table->source())));
      }
    }
    // The VIP's own check: reported once here, not once per backend inheriting it.
    bool vip_check_ok =
        v.check.empty() || !site.check || known_check(c, v.check, *site.check, sink);
    bool vip_check_used = v.backends.empty();
    std::map<IpAddress, const BackendSite*> seen;
    for (size_t j = 0; j < v.backends.size(); ++j) {
      BackendConfig& b = v.backends[j];
      const BackendSite& bs = site.backends[j];
      if (bs.address) {
        auto [it, fresh] = seen.emplace(b.address, &bs);
        if (!fresh) {
          sink.at(*bs.address,
                  fmt::format("backend {} appears twice in VIP '{}'", b.address, v.name),
                  fmt::format("first at {}; raise its weight instead",
                              position(it->second->address->source())));
        }
      }
      if (bs.check) {
        if (!b.check.empty() && known_check(c, b.check, *bs.check, sink) && site.key_ok &&
            v.port == 0 && c.checks.at(b.check).port == 0) {
          sink.at(*bs.check,
                  fmt::format("check '{}' has port 0 (the VIP's port) but VIP '{}' serves all "
                              "ports",
                              b.check, v.name),
                  fmt::format("set port in [check.{}]", b.check));
        }
      } else {
        b.check = v.check;  // inherit
        vip_check_used = true;
      }
    }
    if (site.check && !v.check.empty() && vip_check_ok && vip_check_used && site.key_ok &&
        v.port == 0 && c.checks.at(v.check).port == 0) {
      sink.at(*site.check,
              fmt::format("check '{}' has port 0 (the VIP's port) but VIP '{}' serves all ports",
                          v.check, v.name),
              fmt::format("set port in [check.{}]", v.check));
    }
    if (site.min_healthy && v.min_healthy.count > v.backends.size()) {
      sink.at(*site.min_healthy,
              fmt::format("min_healthy is {} but VIP '{}' has {} backend{}", v.min_healthy.count,
                          v.name, v.backends.size(), v.backends.size() == 1 ? "" : "s"),
              "lower it, or give a percentage like \"50%\"");
    }
    if (site.table_size_ok && v.table_size < v.backends.size()) {
      sink.at(site.table_size ? static_cast<const toml::node&>(*site.table_size)
                              : static_cast<const toml::node&>(*site.table),
              fmt::format("table_size {} is smaller than the {} backends of VIP '{}'", v.table_size,
                          v.backends.size(), v.name),
              "use a prime at least 100 times the backend count");
    }
  }
}

void parse_vips(const toml::table& root, Config& c, Sink& sink) {
  const toml::node* n = root.get("vip");
  if (!n) return;
  const toml::array* a = n->as_array();
  if (!a || !a->is_array_of_tables()) {
    sink.at(*n, "'vip' must be an array of tables", "write each VIP as a [[vip]] table");
    return;
  }
  std::vector<VipSite> sites;
  sites.reserve(a->size());
  for (const toml::node& vn : *a) {
    sites.emplace_back();
    c.vips.push_back(parse_vip(*vn.as_table(), sink, sites.back()));
  }
  cross_check_vips(c, sites, sink);
}

// [[bgp.group]], after the VIPs (a group names them).
void parse_bgp_groups(const toml::table& root, Config& c, Sink& sink) {
  const toml::table* bgp = root.get("bgp") ? root.get("bgp")->as_table() : nullptr;
  const toml::node* n = bgp ? bgp->get("group") : nullptr;
  if (n == nullptr) return;
  const toml::array* a = n->as_array();
  if (a == nullptr || !a->is_array_of_tables()) {
    sink.at(*n, "'bgp.group' must be an array of tables", "write each group as a [[bgp.group]]");
    return;
  }
  std::vector<std::string_view> vip_names;
  for (const VipConfig& v : c.vips) vip_names.push_back(v.name);
  std::map<std::string, const toml::node*> seen;
  for (const toml::node& gn : *a) {
    const toml::table& t = *gn.as_table();
    Section s(t, "bgp.group", sink);
    s.only({"name", "prefix", "vips", "announce"});
    s.missing("name", "a [[bgp.group]] needs a 'name'", "for example name = \"edge_v4\"");
    s.missing("prefix", "a [[bgp.group]] needs a 'prefix'",
              "for example prefix = \"192.0.2.0/24\"");
    BgpGroupConfig g;
    g.announce_all = c.bgp.announce_all;
    bool ok = true;
    if (s.string("name", g.name)) {
      if (!is_bird_name(g.name, 24)) {
        s.error(*s.get("name"),
                fmt::format("'bgp.group.name' must be 1..24 of a-z, 0-9 and '_', starting with a "
                            "letter (got \"{}\")",
                            printable(g.name)));
        ok = false;
      } else if (auto [it, fresh] = seen.emplace(g.name, s.get("name")); !fresh) {
        s.error(*s.get("name"), fmt::format("duplicate group name '{}'", g.name),
                fmt::format("first defined at {}", position(it->second->source())));
        ok = false;
      }
    } else {
      ok = false;
    }
    std::string prefix;
    if (s.string("prefix", prefix)) {
      if (auto p = IpPrefix::parse(prefix)) {
        g.prefix = *p;
      } else {
        s.error(*s.get("prefix"),
                fmt::format("'bgp.group.prefix' must be an IPv4 or IPv6 prefix ADDR/LEN with no "
                            "host bits set (got \"{}\")",
                            printable(prefix)),
                "for example \"192.0.2.0/24\" or \"2001:db8::/48\"");
        ok = false;
      }
    } else {
      ok = false;
    }
    std::string announce;
    if (s.one_of("announce", {"all", "any"}, announce)) g.announce_all = announce == "all";
    if (const toml::node* vn = s.get("vips")) {
      const toml::array* va = vn->as_array();
      if (va == nullptr) {
        s.type_error(*vn, "vips", "an array of VIP names");
        ok = false;
      } else {
        for (const toml::node& e : *va) {
          const VipConfig* v = e.is_string() ? c.find_vip(e.as_string()->get()) : nullptr;
          if (v == nullptr || v->name != e.as_string()->get()) {
            s.error(e,
                    fmt::format("'bgp.group.vips' entries must be names of VIPs (got {})",
                                e.is_string() ? "\"" + printable(e.as_string()->get()) + "\""
                                              : std::string("a non-string")),
                    e.is_string() ? suggestion(e.as_string()->get(), vip_names, "VIPs") : "");
            ok = false;
            continue;
          }
          if (ok && !g.prefix.contains(v->address)) {
            s.error(e, fmt::format("VIP '{}' ({}) is not inside the group's prefix {}", v->name,
                                   v->address, g.prefix));
            ok = false;
            continue;
          }
          g.vips.push_back(v->name);
        }
      }
    } else if (ok) {
      for (const VipConfig& v : c.vips) {
        if (g.prefix.contains(v.address)) g.vips.push_back(v.name);
      }
    }
    if (ok && g.vips.empty()) {
      s.error(t, fmt::format("group '{}' has no VIP: none is inside {}", g.name, g.prefix),
              "list the VIPs with vips = [...] or widen the prefix");
      ok = false;
    }
    if (ok) c.bgp.groups.push_back(std::move(g));
  }
}

Config parse_root(const toml::table& root, Sink& sink) {
  Config c;
  Section top(root, "", sink);
  top.only({"pop", "dataplane", "cli", "metrics", "state", "warmup", "check", "vip", "bgp", "dns"},
           "section");
  parse_settings(root, c, sink);
  parse_bgp(root, c, sink);
  parse_checks(root, c, sink);
  parse_vips(root, c, sink);
  parse_bgp_groups(root, c, sink);
  return c;
}

}  // namespace

tl::expected<Config, std::vector<ConfigError>> parse_config(std::string_view text,
                                                            std::string_view source) {
  Sink sink(source);
  try {
    toml::table root = toml::parse(text, source);
    Config c = parse_root(root, sink);
    if (sink.empty()) return c;
  } catch (const toml::parse_error& e) {
    sink.at(e.source(), std::string(e.description()), "TOML syntax; see https://toml.io");
  } catch (const std::exception& e) {
    sink.at(toml::source_region{}, fmt::format("cannot read the configuration: {}", e.what()));
  }
  return tl::unexpected(sink.take());
}

}  // namespace steer::control
