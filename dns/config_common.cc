// The [dns] parser's small readers (config_internal.h).
#include <algorithm>
#include <charconv>

#include "dns/config_internal.h"

namespace steer::dns::parse {

// 1..max_len of a-z, 0-9, '_' and '-' (PoP, region and service names: metric labels, nets
// file targets, and a service's name is its default host label).
bool is_simple_name(std::string_view s, size_t max_len) {
  if (s.empty() || s.size() > max_len) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

bool is_printable_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

std::string wire_key(const Name& n) {
  return {reinterpret_cast<const char*>(n.bytes.data()), n.size};
}

std::string line_of(const toml::node& n) { return position(n.source()); }

std::vector<std::string_view> views(const std::vector<std::string>& names) {
  return {names.begin(), names.end()};
}

// "ADDR:PORT" (IPv4) or "[V6ADDR]:PORT", port 1..65535.
bool parse_listen(std::string_view text, ListenAddress& out) {
  std::string_view host, port;
  bool v6 = false;
  if (text.starts_with('[')) {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || text.substr(close + 1, 1) != ":") return false;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    v6 = true;
  } else {
    const size_t colon = text.find(':');
    if (colon == std::string_view::npos || text.find(':', colon + 1) != std::string_view::npos) {
      return false;
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  auto a = IpAddress::parse(host);
  if (!a || a->is_v4() == v6) return false;
  uint32_t p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || p == 0 ||
      p > 65535) {
    return false;
  }
  out = ListenAddress{*a, static_cast<uint16_t>(p)};
  return true;
}

// t[key] as a table, or nullptr when absent or reported as something else.
const toml::table* sub_table(const toml::table& t, std::string_view key, std::string_view path,
                             Sink& sink) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return nullptr;
  if (!n->is_table()) {
    sink.at(*n, fmt::format("'{}' must be a table ([{}])", path, path));
    return nullptr;
  }
  return n->as_table();
}

// t[key] as an array of tables, or nullptr when absent or reported as something else.
const toml::array* tables_of(const toml::table& t, std::string_view key, std::string_view path,
                             Sink& sink) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return nullptr;
  const toml::array* a = n->as_array();
  if (a == nullptr || !a->is_array_of_tables()) {
    sink.at(*n, fmt::format("'{}' must be an array of tables", path),
            fmt::format("write each as a [[{}]] table", path));
    return nullptr;
  }
  return a;
}

// The strings of s[key], which must be a non-empty array of strings (of `what`). Entries
// that are strings land in `out` even when others were reported, for their own checks. True
// when the key is present and nothing was reported.
bool string_list(const Section& s, std::string_view key, std::string_view what,
                 std::vector<Entry>& out, std::string_view hint) {
  out.clear();
  const toml::node* n = s.get(key);
  if (n == nullptr) return false;
  const toml::array* a = n->as_array();
  if (a == nullptr) {
    s.type_error(*n, key, fmt::format("an array of {}", what), hint);
    return false;
  }
  if (a->empty()) {
    s.error(*n, fmt::format("'{}' must list at least one of {}", s.name(key), what), hint);
    return false;
  }
  bool ok = true;
  for (const toml::node& e : *a) {
    if (!e.is_string()) {
      s.error(e, fmt::format("'{}' entries must be strings ({})", s.name(key), what));
      ok = false;
      continue;
    }
    out.push_back({e.as_string()->get(), &e});
  }
  return ok;
}

// s[key] as addresses, each at most once. True when present and nothing was reported.
bool address_list(const Section& s, std::string_view key, std::vector<IpAddress>& out) {
  std::vector<Entry> entries;
  bool ok = string_list(s, key, "IPv4 or IPv6 addresses", entries,
                        "for example [\"198.51.100.10\", \"2001:db8::10\"]");
  out.clear();
  std::map<IpAddress, const toml::node*> seen;
  for (const Entry& e : entries) {
    auto a = IpAddress::parse(e.text);
    if (!a) {
      s.error(*e.node, fmt::format("'{}' entries must be IPv4 or IPv6 addresses (got \"{}\")",
                                   s.name(key), printable(e.text)));
      ok = false;
      continue;
    }
    if (auto [it, fresh] = seen.emplace(*a, e.node); !fresh) {
      s.error(*e.node, fmt::format("{} appears twice in '{}'", *a, s.name(key)),
              fmt::format("first at {}", line_of(*it->second)));
      ok = false;
      continue;
    }
    out.push_back(*a);
  }
  return ok;
}

// "did you mean 'x'?", the defined names, or how to define one.
std::string unknown_hint(std::string_view word, const std::vector<std::string_view>& known,
                         std::string_view what, std::string_view how) {
  if (known.empty()) return std::string(how);
  return config::suggestion(word, known, fmt::format("defined {}", what));
}

}  // namespace steer::dns::parse
