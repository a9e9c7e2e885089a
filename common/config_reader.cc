#include "common/config_reader.h"

#include <algorithm>
#include <charconv>
#include <cstdint>

namespace steer::config {

std::string format_errors(const std::vector<ConfigError>& errors) {
  std::string out;
  for (const ConfigError& e : errors) {
    out += fmt::format("{}: {}", e.where, e.message);
    if (!e.hint.empty()) out += fmt::format(" (hint: {})", e.hint);
    out += '\n';
  }
  return out;
}

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

void Sink::at(const toml::source_region& r, std::string_view message, std::string_view hint) {
  const uint32_t line = r.begin.line;
  const uint32_t column = r.begin.column;
  std::string where =
      line == 0 ? printable(source_) : fmt::format("{}:{}:{}", printable(source_), line, column);
  items_.push_back({line, column, {std::move(where), printable(message), printable(hint)}});
}

std::vector<ConfigError> Sink::take() {
  std::stable_sort(items_.begin(), items_.end(), [](const Item& a, const Item& b) {
    return std::tie(a.line, a.column) < std::tie(b.line, b.column);
  });
  std::vector<ConfigError> out;
  out.reserve(items_.size());
  for (Item& i : items_) out.push_back(std::move(i.error));
  items_.clear();
  return out;
}

std::string position(const toml::source_region& r) {
  return fmt::format("line {}:{}", r.begin.line, r.begin.column);
}

namespace {

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

}  // namespace

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

std::string suggestion(std::string_view word, const std::vector<std::string_view>& known,
                       std::string_view what) {
  if (auto c = closest(word, known)) return fmt::format("did you mean '{}'?", *c);
  if (known.empty()) return {};
  return fmt::format("{}: {}", what, join(known));
}

const toml::table* section_table(const toml::table& root, std::string_view key, Sink& sink) {
  const toml::node* n = root.get(key);
  if (!n) return nullptr;
  if (!n->is_table()) {
    sink.at(*n, fmt::format("'{}' must be a table ([{}])", key, key));
    return nullptr;
  }
  return n->as_table();
}

// --- Section ------------------------------------------------------------------------------

std::string Section::name(std::string_view key) const {
  return path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
}

void Section::only(Known known, std::string_view what) {
  const std::vector<std::string_view> list(known);
  for (auto&& [k, v] : t_) {
    if (std::find(list.begin(), list.end(), k.str()) != list.end()) continue;
    if (auto c = closest(k.str(), list)) misspelt_.push_back(*c);
    sink_.at(k, fmt::format("unknown {} '{}'", what, name(k.str())),
             suggestion(k.str(), list, fmt::format("known {}s", what)));
  }
}

void Section::missing(std::string_view key, std::string_view message, std::string_view hint) const {
  if (get(key)) return;
  if (std::find(misspelt_.begin(), misspelt_.end(), key) != misspelt_.end()) return;
  sink_.at(t_, message, hint);
}

bool Section::string(std::string_view key, std::string& out, bool non_empty) const {
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

bool Section::integer_value(std::string_view key, int64_t min, int64_t max, int64_t& out,
                            std::string_view hint) const {
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
  out = v;
  return true;
}

bool Section::boolean(std::string_view key, bool& out) const {
  const toml::node* n = get(key);
  if (!n) return false;
  if (!n->is_boolean()) {
    type_error(*n, key, "true or false");
    return false;
  }
  out = n->as_boolean()->get();
  return true;
}

bool Section::number(std::string_view key, double min, double max, double& out,
                     std::string_view hint) const {
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

bool Section::one_of(std::string_view key, Known values, std::string& out) const {
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

bool Section::address(std::string_view key, IpAddress& out) const {
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

bool Section::mode(std::string_view key, uint32_t& out) const {
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

bool Section::named_number(std::string_view key, std::initializer_list<NamedNumber> names,
                           int64_t min, int64_t max, uint16_t& out) const {
  const toml::node* n = get(key);
  if (!n) return false;
  std::vector<std::string_view> list;
  for (const NamedNumber& nn : names) list.push_back(nn.name);
  const std::string expected = fmt::format("one of {} or a number {}..{}", join(list), min, max);
  if (n->is_integer()) return integer(key, min, max, out);
  if (!n->is_string()) {
    type_error(*n, key, expected);
    return false;
  }
  const std::string s = n->as_string()->get();
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
  error(*n, fmt::format("'{}' must be {} (got \"{}\")", name(key), expected, s), hint);
  return false;
}

void Section::type_error(const toml::node& n, std::string_view key, std::string_view expected,
                         std::string_view hint) const {
  sink_.at(n, fmt::format("'{}' must be {}", name(key), expected), hint);
}

}  // namespace steer::config
