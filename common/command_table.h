// DOC: CommandTable — the commands of a steer control socket as data, the way BIRD's CF_CLI
// declares command, arguments and help in one place. Each module registers its own
// commands at start-up (steerd: the controller, the BGP link, later the DNS responder); the
// table dispatches request lines, checks argument counts and permissions, and generates
// `help`. docs/cli-protocol.md's command list is checked against it by a test.
//
// A command's path is one or more words ("show vips", "bgp valve release"); a request
// matches the registered path that is the longest prefix of its words, and the words after
// it are the arguments. Dispatch, in order:
//   no path matches, first word unknown      9000 unknown command 'X' (try 'help')
//   no path matches, a known group ("show")  9001 usage: show status|vips|... (only the group
//                                            word given), else 9000 unknown 'show X' (...)
//   too few or too many arguments            9001 usage: PATH ARGS
//   a changing command from a reader         8003 permission denied: uid N may read but not ...
//   otherwise                                the handler (which may answer later)
// Reply codes live in common/framing.h (namespace reply). Single-threaded: the thread that
// owns the table registers and dispatches (steerd's control thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/peer.h"

namespace steer {

// The complete reply text (framing included); may be called later, on the owner's thread.
using Respond = std::function<void(std::string)>;

struct CommandRequest {
  const Peer& peer;
  std::vector<std::string_view> args;  // the words after the command's path
};

struct Command {
  std::string path;  // "show vips"
  std::string args;  // "[VIP]": for help and usage errors
  std::string help;  // one line
  size_t min_args = 0;
  size_t max_args = 0;
  // Empty for a command that only reads. Otherwise what it does, in the words of the
  // permission error: "change backends" -> "uid 1000 may read but not change backends".
  std::string changes;
  std::function<void(const CommandRequest&, Respond)> handler;
};

class CommandTable {
 public:
  // `who_may_change` completes the permission error: "root or group 'steer'". The table
  // starts with its own command, `help`.
  explicit CommandTable(std::string who_may_change = "root");
  CommandTable(const CommandTable&) = delete;
  CommandTable& operator=(const CommandTable&) = delete;

  // Registers a command. Paths are unique (a second registration of a path replaces it).
  void add(Command command);
  void set_who_may_change(std::string who) { who_may_change_ = std::move(who); }

  // Dispatches one request line (see the DOC block).
  void dispatch(std::string_view line, const Peer& peer, const Respond& respond) const;

  // The `help` reply: one 1001 line per command ("PATH ARGS  HELP"), in registration order.
  std::string help() const;
  // The 8003 reply for `peer`, who may read but not `what`.
  std::string denied(const Peer& peer, std::string_view what) const;

  const std::vector<Command>& commands() const { return commands_; }

 private:
  const Command* match(const std::vector<std::string_view>& words, size_t& used) const;
  std::vector<Command> commands_;
  std::string who_may_change_;
};

}  // namespace steer
