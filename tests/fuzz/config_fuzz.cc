// libFuzzer target for parse_config(): any byte string is a steerd configuration file. It must
// never crash, throw (an escaping exception aborts the run) or hang, and what it returns must
// keep the promises of control/config/config.h. Seed corpus: tests/fuzz/corpus/config_fuzz/.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string_view>

#include "control/config/config.h"
#include "control/config/diff.h"
#include "hashing/maglev.h"

namespace {

using steer::control::Config;
using steer::control::ConfigError;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

// What a returned Config guarantees: references resolve, tables are prime, no duplicates.
void check_config(const Config& c) {
  std::set<std::string> names;
  for (const auto& v : c.vips) {
    check(!v.name.empty() && names.insert(v.name).second);
    check(steer::hashing::is_prime(v.table_size));
    check(v.table_size >= v.backends.size());
    check(v.proto == steer::L4Proto::Tcp || v.proto == steer::L4Proto::Udp);
    check(v.gue_port != 0);
    check(v.check.empty() || c.checks.contains(v.check));
    std::set<steer::IpAddress> addresses;
    for (const auto& b : v.backends) {
      check(addresses.insert(b.address).second);
      check(b.weight <= 65535);
      check(b.check.empty() || c.checks.contains(b.check));
      if (!b.check.empty() && v.port == 0) check(c.checks.at(b.check).port != 0);
    }
    if (!v.min_healthy.is_fraction) {
      check(v.backends.empty() || v.min_healthy.count <= v.backends.size());
    } else {
      check(v.min_healthy.fraction > 0 && v.min_healthy.fraction <= 1);
      check(v.min_healthy.required(v.backends.size()) >= 1);
    }
  }
  for (const auto& [name, ch] : c.checks) {
    check(ch.name == name);
    check(ch.interval_ms >= 50 && ch.timeout_ms < ch.interval_ms);
    check(ch.jitter >= 0 && ch.jitter <= 0.5);
    check(ch.effective_fast_interval_ms() >= 50);
    check(!ch.expect_status.empty());
  }
  check(c.cli_mode <= 0777);
  // A config compared with itself has no differences.
  check(steer::control::diff_configs(c, c).empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto result = steer::control::parse_config(text, "fuzz.toml");
  if (result) {
    check_config(*result);
  } else {
    check(!result.error().empty());
    for (const ConfigError& e : result.error()) {
      check(e.where.starts_with("fuzz.toml"));
      check(!e.message.empty());
    }
    // One line per error: text quoted from the input never adds a line break.
    const std::string lines = steer::control::format_errors(result.error());
    check(static_cast<size_t>(std::count(lines.begin(), lines.end(), '\n')) ==
          result.error().size());
  }
  return 0;
}
