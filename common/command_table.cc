#include "common/command_table.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/framing.h"

namespace steer {

CommandTable::CommandTable(std::string who_may_change)
    : who_may_change_(std::move(who_may_change)) {
  add({"help", "", "this list", 0, 0, "",
       [this](const CommandRequest&, const Respond& respond) { respond(help()); }});
}

void CommandTable::add(Command command) {
  for (Command& c : commands_) {
    if (c.path == command.path) {
      c = std::move(command);
      return;
    }
  }
  commands_.push_back(std::move(command));
}

const Command* CommandTable::match(const std::vector<std::string_view>& words, size_t& used) const {
  const Command* best = nullptr;
  used = 0;
  for (const Command& c : commands_) {
    const auto path = split_words(c.path);
    if (path.size() > words.size() || path.size() <= used) continue;
    if (std::equal(path.begin(), path.end(), words.begin())) {
      best = &c;
      used = path.size();
    }
  }
  return best;
}

void CommandTable::dispatch(std::string_view line, const Peer& peer, const Respond& respond) const {
  const std::vector<std::string_view> words = split_words(line);
  if (words.empty()) return respond(reply_error(reply::kUnknownCommand, "empty request"));
  size_t used = 0;
  const Command* c = match(words, used);
  if (c == nullptr) {
    // How far the words follow some command's path, and the words that may come next there.
    size_t depth = 0;
    std::vector<std::string> next;
    for (const Command& k : commands_) {
      const auto path = split_words(k.path);
      size_t d = 0;
      while (d < path.size() && d < words.size() && path[d] == words[d]) ++d;
      if (d == 0 || d < depth || d >= path.size()) continue;
      if (d > depth) {
        depth = d;
        next.clear();
      }
      const std::string w(path[d]);
      if (std::find(next.begin(), next.end(), w) == next.end()) next.push_back(w);
    }
    if (depth == 0) {
      return respond(reply_error(reply::kUnknownCommand,
                                 fmt::format("unknown command '{}' (try 'help')", words[0])));
    }
    const std::string known = fmt::format(
        "{}", fmt::join(words.begin(), words.begin() + static_cast<ptrdiff_t>(depth), " "));
    if (words.size() == depth) {
      return respond(reply_error(reply::kBadArgument,
                                 fmt::format("usage: {} {} ...", known, fmt::join(next, "|"))));
    }
    return respond(reply_error(
        reply::kUnknownCommand,
        fmt::format("unknown '{} {}' ({})", known, words[depth], fmt::join(next, ", "))));
  }
  const std::vector<std::string_view> args(words.begin() + static_cast<ptrdiff_t>(used),
                                           words.end());
  if (args.size() < c->min_args || args.size() > c->max_args) {
    // The usage of this command and of the longer ones it begins ("configure | configure
    // check"), and the word that did not fit.
    std::vector<std::string> usages;
    for (const Command& k : commands_) {
      if (k.path != c->path && !k.path.starts_with(c->path + " ")) continue;
      usages.push_back(k.args.empty() ? k.path : k.path + " " + k.args);
    }
    const std::string usage = fmt::format("usage: {}", fmt::join(usages, " | "));
    if (args.size() > c->max_args) {
      return respond(
          reply_error(reply::kBadArgument,
                      fmt::format("{}: unexpected '{}' ({})", c->path, args[c->max_args], usage)));
    }
    return respond(reply_error(reply::kBadArgument, usage));
  }
  if (!c->changes.empty() && !peer.may_change) return respond(denied(peer, c->changes));
  c->handler(CommandRequest{peer, args}, respond);
}

std::string CommandTable::denied(const Peer& peer, std::string_view what) const {
  return reply_error(reply::kPermissionDenied,
                     fmt::format("permission denied: uid {} may read but not {} ({} may)", peer.uid,
                                 what, who_may_change_));
}

std::string CommandTable::help() const {
  ReplyWriter w;
  for (const Command& c : commands_) {
    std::string usage = c.args.empty() ? c.path : c.path + " " + c.args;
    w.line(reply::kHelp, fmt::format("{:<44} {}", usage, c.help));
  }
  return w.finish(reply::kOk, "ok");
}

}  // namespace steer
