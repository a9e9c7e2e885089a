// DOC: BIRD's control-socket replies and commands, as values (no I/O).
//
// steer drives BIRD 2 through its control socket (bird -s SOCK; docs in BIRD's
// doc/reply_codes). common/framing.h's ReplyReader splits the byte stream into replies; this
// module turns a Reply into typed results and builds the few commands steer sends:
//
//   check_reply            8xxx -> BirdErrorKind::Runtime, 9xxx -> Syntax (code + BIRD's text)
//   parse_show_protocols   `show protocols`      -> one BirdProtocol per 1002 row
//   parse_toggle           `enable|disable "P"`  -> Changed (0011/0009) or Already (0010/0008)
//   parse_show_status      `show status`         -> version, router id, times
//   parse_configure        `configure [check]`   -> Reconfigured, InProgress, ..., CheckOk
//   command_set_enabled    builds `enable "P"` / `disable "P"`, or Rejected
//   validate_command       what any command must satisfy before it is written to the socket
//
// Facts about the socket these rely on (BIRD 2.0.12, measured; see tests/unit/bgp/fixtures):
//   - keywords are never abbreviated on the socket (`sh pro` is 9001), so commands are built
//     with full lower-case keywords;
//   - a protocol name is sent quoted: `disable "up"` works even for a protocol named like a
//     keyword. A quoted name is a pattern (BIRD's patmatch: '*', '?', '\'), so names are
//     limited to the characters a BIRD symbol can hold ([A-Za-z0-9_.:-], at most 64), which
//     contain no pattern character. A quoted name that matches no protocol is
//     `8003 No protocols match` (Runtime); an unquoted unknown name would be 9001 (Syntax);
//   - BIRD reads commands into a 1024-byte socket buffer (cli_init_unix, rbsize = 1024): a
//     line that fills it makes BIRD close the connection. 1022 bytes plus '\n' is the longest
//     command that works (measured: 1023 closes the connection every time).
//
// Pure functions, safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <tl/expected.hpp>

#include "common/framing.h"

namespace steer::bgp {

// The longest command line (without its '\n') BIRD's control socket accepts.
inline constexpr size_t kMaxCommandBytes = 1022;
// The longest BIRD symbol, hence protocol name (SYM_MAX_LEN in BIRD's conf/conf.h).
inline constexpr size_t kMaxProtocolNameBytes = 64;

enum class BirdErrorKind : uint8_t {
  NotConnected,  // no session with BIRD (or it ended before the request was sent)
  Timeout,       // no complete reply within the request timeout (the connection is dropped)
  Io,            // the connection failed or closed while the request was in flight
  Protocol,      // a reply that is not what the command produces (framing or content)
  Runtime,       // BIRD answered 8xxx (e.g. 8003 No protocols match, 8002 config error)
  Syntax,        // BIRD answered 9xxx (e.g. 9001 unknown protocol name, unquoted)
  Rejected,      // refused before sending (bad protocol name, command too long, newline)
};
std::string_view bird_error_kind_name(BirdErrorKind kind);

struct BirdError {
  BirdErrorKind kind = BirdErrorKind::Io;
  int code = 0;         // BIRD's reply code for Runtime/Syntax (and Protocol when known)
  std::string message;  // BIRD's text for 8xxx/9xxx; otherwise ours
};

template <class T>
using BirdResult = tl::expected<T, BirdError>;

// The reply itself when its final code is a success (0xxx); Runtime for 8xxx and Syntax for
// 9xxx with BIRD's code and text; Protocol for an empty reply or another final code.
BirdResult<Reply> check_reply(Reply r);

// One row of `show protocols`.
// A protocol's state column: "up", "down" (disabled or stopped), "start", "stop", "flush".
enum class ProtocolState : uint8_t { Up, Down, Start, Stop, Flush, Other };
ProtocolState parse_protocol_state(std::string_view text);

struct BirdProtocol {
  std::string name, proto, table, state, since, info;  // the columns, as BIRD wrote them
  ProtocolState parsed_state = ProtocolState::Other;   // `state`, read once by the parser
  bool up() const { return parsed_state == ProtocolState::Up; }
  // Not disabled: any state but down (a static protocol that is enabled is up; start and
  // flush are on their way).
  bool enabled() const { return parsed_state != ProtocolState::Down; }
};

// Rows (code 1002, including the space-continued ones) after the 2002 header. Since may
// contain a space (timeformat "iso long"): it ends at the first run of two spaces. Errors:
// those of check_reply; Protocol when the header is missing or a row is malformed.
BirdResult<std::vector<BirdProtocol>> parse_show_protocols(const Reply& reply);

enum class Toggle : uint8_t { Changed, Already };

// The reply to command_set_enabled(name, enable): exactly one line "name: enabled" (0011) or
// "name: already enabled" (0010) (0009/0008 "disabled" when !enable), then 0000. Errors: those
// of check_reply (8003 when no protocol has that name); Protocol for anything else.
BirdResult<Toggle> parse_toggle(const Reply& reply, std::string_view name, bool enable);

struct BirdStatus {
  std::string version;                                         // "2.0.12" (from "1000-BIRD 2.0.12")
  std::string router_id;                                       // "192.0.2.1"
  std::string server_time, last_reboot, last_reconfiguration;  // as BIRD formats them
  std::string message;  // final line: "Daemon is up and running", "Shutdown in progress", ...
};

// Errors: those of check_reply; Protocol when the version or router id line is missing.
BirdResult<BirdStatus> parse_show_status(const Reply& reply);

enum class ConfigureOutcome : uint8_t {
  Reconfigured,  // 0003
  InProgress,    // 0004 (protocols still shutting down), or 0005 (queued behind one)
  Confirmed,     // 0018 (configure confirm)
  NothingToDo,   // 0019
  CheckOk,       // 0020 (configure check)
};
std::string_view configure_outcome_name(ConfigureOutcome outcome);

// The reply to `configure`, `configure check`, `configure confirm`, ... Errors: those of
// check_reply — a configuration error is 8002 (Runtime) whose message is BIRD's
// "FILE:LINE:COLUMN text"; 8007 "Access denied" after `restrict`; Protocol for another code.
BirdResult<ConfigureOutcome> parse_configure(const Reply& reply);

// Any command before it is written: not empty, no control character except tab (a newline
// would be a second command), at most kMaxCommandBytes. Rejected otherwise.
BirdResult<void> validate_command(std::string_view command);

// `enable "NAME"` or `disable "NAME"`. Rejected when NAME is empty, longer than
// kMaxProtocolNameBytes, or holds a character outside [A-Za-z0-9_.:-] (a quote, a control
// character, a pattern character...): no BIRD protocol can have such a name.
BirdResult<std::string> command_set_enabled(std::string_view protocol, bool enable);

}  // namespace steer::bgp

// "syntax error 9001: syntax error, unexpected ..." / "timeout: no reply within 2000 ms".
template <>
struct fmt::formatter<steer::bgp::BirdError> : fmt::formatter<std::string_view> {
  template <class FormatContext>
  auto format(const steer::bgp::BirdError& e, FormatContext& ctx) const {
    const std::string text =
        e.code != 0
            ? fmt::format("{} {}: {}", steer::bgp::bird_error_kind_name(e.kind), e.code, e.message)
            : fmt::format("{}: {}", steer::bgp::bird_error_kind_name(e.kind), e.message);
    return fmt::formatter<std::string_view>::format(text, ctx);
  }
};
