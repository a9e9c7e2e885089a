#include "bgp/bird_reply.h"

#include <optional>
#include <utility>

namespace steer::bgp {

namespace {

tl::unexpected<BirdError> error(BirdErrorKind kind, int code, std::string message) {
  return tl::unexpected<BirdError>(BirdError{kind, code, std::move(message)});
}

tl::unexpected<BirdError> protocol_error(const Reply& r, std::string_view what) {
  // Quote the reply's last line so an operator sees what BIRD actually said.
  const std::string last = r.lines.empty() ? std::string("(empty reply)")
                                           : fmt::format("{:04d} {}", r.code(), r.message());
  return error(BirdErrorKind::Protocol, r.code() < 0 ? 0 : r.code(),
               fmt::format("{} (BIRD said: '{}')", what, last.substr(0, 200)));
}

// check_reply without copying the reply.
std::optional<BirdError> reply_error(const Reply& r) {
  if (r.lines.empty()) return BirdError{BirdErrorKind::Protocol, 0, "empty reply"};
  const int code = r.code();
  if (code >= 9000) return BirdError{BirdErrorKind::Syntax, code, r.message()};
  if (code >= 8000) return BirdError{BirdErrorKind::Runtime, code, r.message()};
  if (code >= 1000) {
    // A final line is 0xxx, 8xxx or 9xxx; a final 1xxx-7xxx means we lost the framing.
    return BirdError{BirdErrorKind::Protocol, code,
                     fmt::format("reply ends with code {:04d}, not a final code", code)};
  }
  return std::nullopt;
}

std::string_view trim(std::string_view s) {
  const size_t b = s.find_first_not_of(' ');
  if (b == std::string_view::npos) return {};
  const size_t e = s.find_last_not_of(' ');
  return s.substr(b, e - b + 1);
}

// Takes the next space-separated word off the front of `s`.
std::string_view take_word(std::string_view& s) {
  const size_t b = s.find_first_not_of(' ');
  if (b == std::string_view::npos) {
    s = {};
    return {};
  }
  s.remove_prefix(b);
  const size_t e = s.find(' ');
  const std::string_view word = s.substr(0, e);
  s = e == std::string_view::npos ? std::string_view() : s.substr(e);
  return word;
}

bool starts_with(std::string_view s, std::string_view prefix, std::string_view* rest) {
  if (s.substr(0, prefix.size()) != prefix) return false;
  *rest = s.substr(prefix.size());
  return true;
}

bool name_char_ok(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == ':' || c == '-';
}

}  // namespace

std::string_view bird_error_kind_name(BirdErrorKind kind) {
  switch (kind) {
    case BirdErrorKind::NotConnected:
      return "not connected";
    case BirdErrorKind::Timeout:
      return "timeout";
    case BirdErrorKind::Io:
      return "i/o error";
    case BirdErrorKind::Protocol:
      return "protocol error";
    case BirdErrorKind::Runtime:
      return "runtime error";
    case BirdErrorKind::Syntax:
      return "syntax error";
    case BirdErrorKind::Rejected:
      return "rejected";
  }
  return "unknown";
}

std::string_view configure_outcome_name(ConfigureOutcome outcome) {
  switch (outcome) {
    case ConfigureOutcome::Reconfigured:
      return "reconfigured";
    case ConfigureOutcome::InProgress:
      return "in progress";
    case ConfigureOutcome::Confirmed:
      return "confirmed";
    case ConfigureOutcome::NothingToDo:
      return "nothing to do";
    case ConfigureOutcome::CheckOk:
      return "check ok";
  }
  return "unknown";
}

BirdResult<Reply> check_reply(Reply r) {
  if (auto e = reply_error(r)) return tl::unexpected<BirdError>(std::move(*e));
  return r;
}

ProtocolState parse_protocol_state(std::string_view text) {
  static constexpr std::pair<std::string_view, ProtocolState> kStates[] = {
      {"up", ProtocolState::Up},       {"down", ProtocolState::Down},
      {"start", ProtocolState::Start}, {"stop", ProtocolState::Stop},
      {"flush", ProtocolState::Flush},
  };
  for (const auto& [name, state] : kStates) {
    if (text == name) return state;
  }
  return ProtocolState::Other;
}

BirdResult<std::vector<BirdProtocol>> parse_show_protocols(const Reply& reply) {
  if (auto e = reply_error(reply)) return tl::unexpected<BirdError>(std::move(*e));
  std::vector<BirdProtocol> out;
  bool header = false;
  for (const ReplyLine& line : reply.lines) {
    if (line.code == 2002) {
      header = true;
      continue;
    }
    if (line.code != 1002) continue;  // the final 0000, or detail lines we do not ask for
    if (!header) return protocol_error(reply, "show protocols: row before the 2002 header");
    // "%-10s %-10s %-10s %-6s %-12s  %s" (nest/proto.c): four words, then Since (which may
    // hold one space, never two), then two or more spaces and Info (free text).
    std::string_view rest = line.text;
    BirdProtocol p;
    p.name = take_word(rest);
    p.proto = take_word(rest);
    p.table = take_word(rest);
    p.state = take_word(rest);
    p.parsed_state = parse_protocol_state(p.state);
    rest = trim(rest);
    const size_t gap = rest.find("  ");
    p.since = rest.substr(0, gap);
    if (gap != std::string_view::npos) p.info = trim(rest.substr(gap));
    if (p.state.empty() || p.since.empty()) {
      return protocol_error(reply, fmt::format("show protocols: malformed row '{}'",
                                               std::string_view(line.text).substr(0, 200)));
    }
    out.push_back(std::move(p));
  }
  if (!header) return protocol_error(reply, "show protocols: no 2002 header");
  return out;
}

BirdResult<Toggle> parse_toggle(const Reply& reply, std::string_view name, bool enable) {
  if (auto e = reply_error(reply)) return tl::unexpected<BirdError>(std::move(*e));
  const char* verb = enable ? "enable" : "disable";
  if (reply.lines.size() != 2 || reply.code() != 0) {
    return protocol_error(reply, fmt::format("{} \"{}\": expected one status line", verb, name));
  }
  const ReplyLine& l = reply.lines[0];
  const int changed_code = enable ? 11 : 9;
  const int already_code = enable ? 10 : 8;
  const std::string_view word = enable ? "enabled" : "disabled";
  std::string_view rest;
  if (!starts_with(l.text, name, &rest) || !starts_with(rest, ": ", &rest)) {
    return protocol_error(reply, fmt::format("{} \"{}\": reply names another protocol: '{:04d} {}'",
                                             verb, name, l.code, l.text));
  }
  if (l.code == changed_code && rest == word) return Toggle::Changed;
  std::string_view tail;
  if (l.code == already_code && starts_with(rest, "already ", &tail) && tail == word) {
    return Toggle::Already;
  }
  return protocol_error(
      reply, fmt::format("{} \"{}\": unexpected status '{:04d} {}'", verb, name, l.code, l.text));
}

BirdResult<BirdStatus> parse_show_status(const Reply& reply) {
  if (auto e = reply_error(reply)) return tl::unexpected<BirdError>(std::move(*e));
  BirdStatus s;
  bool have_version = false;
  for (size_t i = 0; i + 1 < reply.lines.size(); ++i) {
    const ReplyLine& l = reply.lines[i];
    std::string_view v;
    if (l.code == 1000 && starts_with(l.text, "BIRD ", &v)) {
      s.version = trim(v);
      have_version = true;
    } else if (l.code == 1011) {
      if (starts_with(l.text, "Router ID is ", &v)) {
        s.router_id = trim(v);
      } else if (starts_with(l.text, "Current server time is ", &v)) {
        s.server_time = trim(v);
      } else if (starts_with(l.text, "Last reboot on ", &v)) {
        s.last_reboot = trim(v);
      } else if (starts_with(l.text, "Last reconfiguration on ", &v)) {
        s.last_reconfiguration = trim(v);
      }
    }
  }
  if (!have_version) return protocol_error(reply, "show status: no version line (1000)");
  if (s.router_id.empty()) return protocol_error(reply, "show status: no router id line (1011)");
  s.message = reply.message();
  return s;
}

BirdResult<ConfigureOutcome> parse_configure(const Reply& reply) {
  if (auto e = reply_error(reply)) return tl::unexpected<BirdError>(std::move(*e));
  switch (reply.code()) {
    case 3:
      return ConfigureOutcome::Reconfigured;
    case 4:  // protocols are still shutting down; the new configuration is active
    case 5:  // another reconfiguration is in progress; this one is queued after it
      return ConfigureOutcome::InProgress;
    case 18:
      return ConfigureOutcome::Confirmed;
    case 19:
      return ConfigureOutcome::NothingToDo;
    case 20:
      return ConfigureOutcome::CheckOk;
    default:
      break;
  }
  return protocol_error(reply, "configure: unexpected outcome");
}

BirdResult<void> validate_command(std::string_view command) {
  if (command.empty()) return error(BirdErrorKind::Rejected, 0, "empty command");
  for (const char c : command) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) {
      return error(BirdErrorKind::Rejected, 0,
                   fmt::format("command contains control character 0x{:02x}", u));
    }
  }
  if (command.size() > kMaxCommandBytes) {
    return error(
        BirdErrorKind::Rejected, 0,
        fmt::format("command is {} bytes; BIRD's control socket accepts at most {} (it closes "
                    "the connection on longer lines)",
                    command.size(), kMaxCommandBytes));
  }
  return {};
}

BirdResult<std::string> command_set_enabled(std::string_view protocol, bool enable) {
  if (protocol.empty()) return error(BirdErrorKind::Rejected, 0, "empty protocol name");
  if (protocol.size() > kMaxProtocolNameBytes) {
    return error(BirdErrorKind::Rejected, 0,
                 fmt::format("protocol name '{}' is {} bytes; BIRD names have at most {}", protocol,
                             protocol.size(), kMaxProtocolNameBytes));
  }
  for (const char c : protocol) {
    if (name_char_ok(c)) continue;
    const auto u = static_cast<unsigned char>(c);
    const std::string shown =
        (u < 0x20 || u >= 0x7f) ? fmt::format("byte 0x{:02x}", u) : fmt::format("'{}'", c);
    return error(
        BirdErrorKind::Rejected, 0,
        fmt::format("protocol name '{}' contains {}; BIRD protocol names hold only "
                    "letters, digits and _ . : -",
                    (u < 0x20 || u >= 0x7f) ? std::string_view("(unprintable)") : protocol, shown));
  }
  std::string command = fmt::format("{} \"{}\"", enable ? "enable" : "disable", protocol);
  if (auto ok = validate_command(command); !ok) return tl::unexpected<BirdError>(ok.error());
  return command;
}

}  // namespace steer::bgp
