// DOC: the shared machinery for reading steer's TOML configuration files, so that every
// section — steerd's own, [bgp] (bgp/config.h), [dns] — is read by the module that owns it
// and reports mistakes the same way: "file:line:column: message (hint: ...)", every error of
// the file at once, "did you mean 'x'?" for a near miss.
//
//   Sink     collects ConfigErrors with their positions; take() returns them by position.
//   Section  reads typed values out of one TOML table, reporting errors as '<path>.<key>' and
//            going on with the default, so one pass reports every mistake of a file.
//
// A reader reports into the Sink and carries on; a value that was bad is left at its default
// and the caller skips cross-checks that depend on it (one mistake, one error). Messages quote
// the file's text through printable(): control characters escaped, long values cut.
// Pure code on values; any thread; nothing here throws (toml++ is used with exceptions only
// inside parse functions that catch them).
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "common/ip_address.h"

namespace steer::config {

struct ConfigError {
  std::string where;  // "file:line:column" (just "file" when the error has no position)
  std::string message;
  std::string hint;  // may be empty
};

// One line per error: "where: message (hint: ...)", each ending in '\n'.
std::string format_errors(const std::vector<ConfigError>& errors);

// `text` with control characters escaped (\x0a) and cut at 512 bytes ("...").
std::string printable(std::string_view text);
// "line L:C" of a region, for "first defined at ..." hints.
std::string position(const toml::source_region& r);
// The closest of `known` to `word` when it is plausibly a typo of it (optimal string
// alignment distance within half the shorter word).
std::optional<std::string_view> closest(std::string_view word,
                                        const std::vector<std::string_view>& known);
std::string join(const std::vector<std::string_view>& items);
// "did you mean 'x'?" when one is close, else "<what>: a, b, c" (or "" when none is known).
std::string suggestion(std::string_view word, const std::vector<std::string_view>& known,
                       std::string_view what);

class Sink {
 public:
  explicit Sink(std::string_view source) : source_(source) {}

  void at(const toml::source_region& r, std::string_view message, std::string_view hint = {});
  void at(const toml::node& n, std::string_view message, std::string_view hint = {}) {
    at(n.source(), message, hint);
  }
  void at(const toml::key& k, std::string_view message, std::string_view hint = {}) {
    at(k.source(), message, hint);
  }

  bool empty() const { return items_.empty(); }
  // Ordered by position; errors without one first; ties keep the order they were found in.
  std::vector<ConfigError> take();

 private:
  struct Item {
    uint32_t line, column;
    ConfigError error;
  };
  std::string_view source_;
  std::vector<Item> items_;
};

// root[key] as a table, or nullptr when absent; "'key' must be a table ([key])" when it is
// something else.
const toml::table* section_table(const toml::table& root, std::string_view key, Sink& sink);

using Known = std::initializer_list<std::string_view>;

// Reads typed values out of one TOML table, reporting errors as '<path>.<key>'.
class Section {
 public:
  Section(const toml::table& t, std::string path, Sink& sink)
      : t_(t), path_(std::move(path)), sink_(sink) {}

  const toml::table& table() const { return t_; }
  const toml::node* get(std::string_view key) const { return t_.get(key); }
  // "<path>.<key>" (just the key at the root).
  std::string name(std::string_view key) const;

  // Reports every key not in `known` (with the closest known one as the hint).
  void only(Known known, std::string_view what = "key");
  // Reports a missing required key at the table's header, unless an unknown key already
  // reported looks like a misspelling of it (one mistake, one error).
  void missing(std::string_view key, std::string_view message, std::string_view hint = {}) const;

  // Each returns true when the key is present and its value valid (then `out` is set).
  bool string(std::string_view key, std::string& out, bool non_empty = false) const;
  template <class T>
  bool integer(std::string_view key, int64_t min, int64_t max, T& out,
               std::string_view hint = {}) const {
    int64_t v = 0;
    if (!integer_value(key, min, max, v, hint)) return false;
    out = static_cast<T>(v);
    return true;
  }
  // An integer number of milliseconds into a std::chrono duration.
  template <class Duration>
  bool millis(std::string_view key, int64_t min, int64_t max, Duration& out,
              std::string_view hint = {}) const {
    int64_t v = 0;
    if (!integer_value(key, min, max, v, hint)) return false;
    out = std::chrono::duration_cast<Duration>(std::chrono::milliseconds(v));
    return true;
  }
  bool boolean(std::string_view key, bool& out) const;
  // A float or an integer within [min, max].
  bool number(std::string_view key, double min, double max, double& out,
              std::string_view hint = {}) const;
  // A string that must be one of `values`.
  bool one_of(std::string_view key, Known values, std::string& out) const;
  bool address(std::string_view key, IpAddress& out) const;
  // An octal file mode string, "0660".
  bool mode(std::string_view key, uint32_t& out) const;
  // A name from `names` (any case) or a decimal number in [min, max], as a string or integer.
  struct NamedNumber {
    std::string_view name;
    uint16_t value;
  };
  bool named_number(std::string_view key, std::initializer_list<NamedNumber> names, int64_t min,
                    int64_t max, uint16_t& out) const;

  void type_error(const toml::node& n, std::string_view key, std::string_view expected,
                  std::string_view hint = {}) const;
  void error(const toml::node& n, std::string_view message, std::string_view hint = {}) const {
    sink_.at(n, message, hint);
  }

 private:
  bool integer_value(std::string_view key, int64_t min, int64_t max, int64_t& out,
                     std::string_view hint) const;

  const toml::table& t_;
  std::string path_;
  Sink& sink_;
  std::vector<std::string_view> misspelt_;  // known keys that unknown keys resemble
};

}  // namespace steer::config
