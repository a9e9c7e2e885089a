// libFuzzer target for what steerd runs on every byte BIRD's control socket sends
// (bgp/bird_reply.h): ReplyReader in arbitrary chunks, then every parser on every complete
// reply, plus the command builder on arbitrary names. Nothing may crash or hang, and the
// invariants below hold: a parsed protocol row has a name and a state without spaces, an
// error result carries the reply's code for 8xxx/9xxx, and a built command is one valid line.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "bgp/bird_reply.h"

namespace {

using steer::bgp::BirdErrorKind;

void check_error_kind(const steer::Reply& r, BirdErrorKind kind) {
  const int code = r.code();
  if (code >= 9000 && kind != BirdErrorKind::Syntax) std::abort();
  if (code >= 8000 && code < 9000 && kind != BirdErrorKind::Runtime) std::abort();
}

void parse_all(const steer::Reply& r) {
  if (r.lines.empty() || !r.lines.back().last) std::abort();
  auto checked = steer::bgp::check_reply(r);
  if (!checked) check_error_kind(r, checked.error().kind);

  if (auto rows = steer::bgp::parse_show_protocols(r)) {
    if (!checked) std::abort();
    for (const auto& p : *rows) {
      if (p.name.empty() || p.state.empty() || p.since.empty()) std::abort();
      if (p.name.find(' ') != std::string::npos || p.state.find(' ') != std::string::npos) {
        std::abort();
      }
      (void)p.up();
    }
  } else {
    check_error_kind(r, rows.error().kind);
  }
  // The name is taken from the first line so the toggle parser can also succeed.
  std::string_view first = r.lines.front().text;
  const std::string name(first.substr(0, first.find(':')));
  for (const bool enable : {false, true}) {
    if (auto t = steer::bgp::parse_toggle(r, name, enable); t && !checked) std::abort();
  }
  if (auto s = steer::bgp::parse_show_status(r); s && s->router_id.empty()) std::abort();
  if (auto c = steer::bgp::parse_configure(r)) {
    (void)steer::bgp::configure_outcome_name(*c);
  } else {
    (void)fmt::format("{}", c.error());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first byte chooses the chunk size, so split points vary.
  const size_t chunk = 1 + data[0] % 64;
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

  steer::ReplyReader reader;
  for (size_t i = 0; i < input.size(); i += chunk) {
    if (!reader.feed(input.substr(i, chunk))) break;
    while (auto reply = reader.next()) parse_all(*reply);
  }

  // Any bytes as a protocol name: either rejected, or exactly one valid command line.
  const std::string_view name = input.substr(0, 80);
  for (const bool enable : {false, true}) {
    auto cmd = steer::bgp::command_set_enabled(name, enable);
    if (!cmd) {
      if (cmd.error().kind != BirdErrorKind::Rejected) std::abort();
      continue;
    }
    if (!steer::bgp::validate_command(*cmd)) std::abort();
    if (cmd->find('\n') != std::string::npos || cmd->size() > steer::bgp::kMaxCommandBytes) {
      std::abort();
    }
    const std::string_view prefix = enable ? "enable \"" : "disable \"";
    if (cmd->substr(0, prefix.size()) != prefix || cmd->back() != '"') std::abort();
    if (cmd->size() != prefix.size() + name.size() + 1) std::abort();
  }
  return 0;
}
