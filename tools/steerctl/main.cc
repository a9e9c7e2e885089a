// steerctl: the operator's command-line tool.
//
// Each subcommand is one add_*_command() function that declares its options on a CLI11
// subcommand and returns how to run it; main() parses, then runs the one that was given.
// Adding a subcommand means writing one more add_*_command() and listing it in main().
//
// Exit codes: 0 success, 1 runtime error (e.g. a file cannot be read), 2 usage error (bad
// flags, bad input). Every error is one line on stderr that starts with "steerctl: ".
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

// GCC 12 reports a false -Wnull-dereference inside CLI11 2.1's string splitting (inlined
// std::string code); the warning is about the library, not about this file.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <CLI/CLI.hpp>
#pragma GCC diagnostic pop
#include <fmt/format.h>

#include "hashing/maglev.h"
#include "tools/steerctl/client.h"
#include "tools/steerctl/dataplane_view.h"
#include "tools/steerctl/plan.h"

namespace steer::tools {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;

// strerror's text for `err`, without strerror's shared buffer.
std::string errno_text(int err) { return std::generic_category().message(err); }

int error(int exit_code, std::string_view message) {
  fmt::print(stderr, "steerctl: {}\n", message);
  return exit_code;
}

// Writes the whole of `text` to stdout; a failed write (e.g. a closed pipe) is a runtime error.
int emit(const std::string& text) {
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0) {
    return error(kExitRuntime, fmt::format("cannot write output: {}", errno_text(errno)));
  }
  return kExitOk;
}

// Reads a whole file ("-" is standard input). Error: the file cannot be opened or read.
Result<std::string> read_file(const std::string& path, std::string_view what = "pool file") {
  const bool is_stdin = path == "-";
  std::FILE* f = is_stdin ? stdin : std::fopen(path.c_str(), "rb");
  if (!f) return fail(fmt::format("cannot read {} '{}': {}", what, path, errno_text(errno)));
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  const bool failed = std::ferror(f) != 0;
  const int err = errno;
  if (!is_stdin) std::fclose(f);
  if (failed) return fail(fmt::format("cannot read {} '{}': {}", what, path, errno_text(err)));
  return text;
}

struct Command {
  CLI::App* app;
  std::function<int()> run;
};

// ---- steerctl plan ------------------------------------------------------------------------

struct PlanOptions {
  std::string pool_file;
  std::vector<std::string> backends;
  uint32_t table_size = hashing::MaglevTable::kDefaultSize;
  bool json = false;
  // One list per change flag, and the flag's option to find its occurrences in parse order.
  struct ChangeFlag {
    ChangeKind kind;
    CLI::Option* option = nullptr;
    std::vector<std::string> values;
  };
  std::vector<ChangeFlag> change_flags;
};

int run_plan(const CLI::App& cmd, PlanOptions& opts) {
  Pool before;
  if (!opts.pool_file.empty()) {
    auto text = read_file(opts.pool_file);
    if (!text) return error(kExitRuntime, text.error().message);
    auto parsed = parse_pool(*text, opts.pool_file == "-" ? "<stdin>" : opts.pool_file);
    if (!parsed) return error(kExitUsage, parsed.error().message);
    before = std::move(*parsed);
  }
  for (const std::string& spec : opts.backends) {
    auto entry = parse_backend_spec(spec);
    if (!entry) {
      return error(kExitUsage, fmt::format("--backend {}: {}", spec, entry.error().message));
    }
    if (auto added = add_backend(before, *entry); !added) {
      return error(kExitUsage, fmt::format("--backend: {}", added.error().message));
    }
  }
  if (opts.pool_file.empty() && opts.backends.empty()) {
    return error(kExitUsage, "no pool given: use --pool FILE and/or --backend ADDRESS[=WEIGHT]");
  }
  if (auto ok = check_table_size(opts.table_size); !ok) {
    return error(kExitUsage, fmt::format("--table-size: {}", ok.error().message));
  }

  // CLI11 keeps each flag's values apart; parse_order() says how they interleaved on the
  // command line, so the changes apply in the order the operator wrote them.
  std::vector<Change> changes;
  std::vector<size_t> next(opts.change_flags.size(), 0);
  for (const CLI::Option* opt : cmd.parse_order()) {
    for (size_t i = 0; i < opts.change_flags.size(); ++i) {
      PlanOptions::ChangeFlag& flag = opts.change_flags[i];
      if (flag.option != opt || next[i] >= flag.values.size()) continue;
      auto change = parse_change(flag.kind, flag.values[next[i]++]);
      if (!change) return error(kExitUsage, change.error().message);
      changes.push_back(*change);
    }
  }
  auto after = apply_changes(before, changes);
  if (!after) return error(kExitUsage, after.error().message);

  // The table size is checked above, so what is left to fail is input that does not fit the
  // table (more backends than slots): a usage error too.
  auto report = plan(before, *after, opts.table_size);
  if (!report) return error(kExitUsage, report.error().message);
  return emit(opts.json ? format_plan_json(*report) : format_plan_table(*report));
}

Command add_plan_command(CLI::App& root) {
  CLI::App* cmd = root.add_subcommand(
      "plan", "Show what a change to a VIP's backend pool does to new-flow hashing, offline");
  auto opts = std::make_shared<PlanOptions>();
  cmd->add_option("--pool", opts->pool_file,
                  "Pool file: one backend per line, 'ADDRESS [WEIGHT]', '#' comments; '-' reads "
                  "standard input")
      ->type_name("FILE");
  cmd->add_option("--backend", opts->backends,
                  "A backend of the current pool, with the pool file or instead of it "
                  "(repeatable; weight default 1)")
      ->type_name("ADDRESS[=WEIGHT]")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);

  opts->change_flags = {
      {ChangeKind::Add, nullptr, {}},     {ChangeKind::Remove, nullptr, {}},
      {ChangeKind::Weight, nullptr, {}},  {ChangeKind::Drain, nullptr, {}},
      {ChangeKind::Undrain, nullptr, {}},
  };
  const auto change_option = [&](size_t i, std::string_view type, std::string_view help) {
    PlanOptions::ChangeFlag& flag = opts->change_flags[i];
    flag.option =
        cmd->add_option(std::string(change_flag(flag.kind)), flag.values, std::string(help))
            ->type_name(std::string(type))
            ->expected(1)
            ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
            ->group("Changes (repeatable, applied in the order given)");
  };
  change_option(0, "ADDRESS[=WEIGHT]", "Add a backend (weight default 1)");
  change_option(1, "ADDRESS", "Remove a backend: connections still on it are cut");
  change_option(2, "ADDRESS=WEIGHT", "Set a backend's weight (0 drains it)");
  change_option(3, "ADDRESS",
                "Drain a backend: weight 0 for new flows; its existing flows stay on it through "
                "the flow table");
  change_option(4, "ADDRESS=WEIGHT", "Give a drained backend a weight again");

  cmd->add_option("--table-size", opts->table_size, "Maglev table size, a prime")
      ->type_name("M")
      ->default_val(hashing::MaglevTable::kDefaultSize);
  cmd->add_flag("--json", opts->json, "Print one JSON object instead of the table");
  cmd->footer(
      "Prints each backend's weight, Maglev slots and share of new-flow hash space before and\n"
      "after the changes, then:\n"
      "  moved    the share of hash space whose owner changes (new flows that land elsewhere)\n"
      "  optimal  the least any scheme must move: the hash space whose owner's target share\n"
      "           (weight / total weight) shrank, summed over backends\n"
      "Existing flows keep their backend through each LB's flow table, so a drained backend\n"
      "keeps its connections. Nothing is changed anywhere: the command only computes.\n"
      "Addresses are IPv4 or IPv6; weights are integers 0..65535.\n"
      "Exit status: 0 ok, 1 runtime error (e.g. unreadable file), 2 usage error.\n"
      "Example: steerctl plan --pool examples/pool.txt --drain 192.0.2.13 --add 192.0.2.30=2\n");

  return Command{cmd, [cmd, opts] { return run_plan(*cmd, *opts); }};
}

// ---- dataplane -------------------------------------------------------------------------------

struct DataplaneOptions {
  std::string socket;
  bool json = false;
  int timeout_ms = 5000;
  std::string file;  // apply
  std::vector<std::string> flow;
};

// Sends one request to the dataplane API socket and prints the reply: the JSON as is with
// --json, else `view`'s table. 8xxx replies exit 1, 9xxx (a request the daemon refused to
// parse) exit 2.
int dataplane_request(const DataplaneOptions& o, const std::string& request,
                      Result<std::string> (*view)(std::string_view)) {
  auto client = SocketClient::connect(o.socket, std::chrono::milliseconds(o.timeout_ms));
  if (!client) return error(kExitRuntime, client.error().message);
  auto reply = client->request(request);
  if (!reply) return error(kExitRuntime, reply.error().message);
  if (!reply->ok()) {
    return error(reply->code() >= 9000 ? kExitUsage : kExitRuntime, reply->message());
  }
  const std::string doc = reply->text_of(reply::kJson);
  if (o.json) return emit(doc + "\n");
  auto text = view(doc);
  if (!text) return error(kExitRuntime, text.error().message);
  return emit(*text);
}

Command add_dataplane_command(CLI::App& root) {
  auto opts = std::make_shared<DataplaneOptions>();
  CLI::App* cmd = root.add_subcommand(
      "dataplane", "Talk to steer-dataplane's API socket directly (apply, state, stats, ...)");
  const char* env = std::getenv("STEER_DATAPLANE_SOCKET");
  opts->socket = env ? env : "/run/steer/dataplane.sock";
  cmd->add_option("-s,--socket", opts->socket,
                  "API socket (default $STEER_DATAPLANE_SOCKET or /run/steer/dataplane.sock)");
  cmd->add_flag("--json", opts->json, "print the daemon's JSON instead of a table");
  cmd->add_option("--timeout", opts->timeout_ms, "milliseconds to wait for a reply")
      ->check(CLI::Range(1, 600000));
  cmd->require_subcommand(1);
  CLI::App* apply = cmd->add_subcommand("apply", "Replace the desired state with a JSON file");
  apply->add_option("file", opts->file, "state document (JSON, see docs/dataplane.md); - = stdin")
      ->required();
  CLI::App* state = cmd->add_subcommand("state", "Show the applied state");
  CLI::App* stats = cmd->add_subcommand("stats", "Show counters");
  CLI::App* status =
      cmd->add_subcommand("status", "Show liveness (per-lcore heartbeat, generation)");
  CLI::App* flow = cmd->add_subcommand("flow", "Which backend a flow gets, and why");
  flow->add_option("tuple", opts->flow,
                   "PROTO SRC SPORT DST DPORT (e.g. tcp 198.18.0.1 40000 192.0.2.10 80)")
      ->expected(5)
      ->required();
  auto run = [opts, apply, state, stats, status, flow]() -> int {
    const DataplaneOptions& o = *opts;
    if (apply->parsed()) {
      auto t = read_file(o.file, "state file");
      if (!t) return error(kExitRuntime, t.error().message);
      std::string text = std::move(*t);
      // The request is one line: JSON allows its newlines to be spaces.
      for (char& c : text) {
        if (c == '\n' || c == '\r') c = ' ';
      }
      return dataplane_request(o, "apply " + text, format_dataplane_apply);
    }
    if (state->parsed()) return dataplane_request(o, "state", format_dataplane_state);
    if (stats->parsed()) return dataplane_request(o, "stats", format_dataplane_stats);
    if (status->parsed()) return dataplane_request(o, "status", format_dataplane_status);
    if (flow->parsed()) {
      return dataplane_request(
          o,
          fmt::format("flow {} {} {} {} {}", o.flow[0], o.flow[1], o.flow[2], o.flow[3], o.flow[4]),
          format_dataplane_flow);
    }
    return error(kExitUsage, "no dataplane command given");
  };
  return Command{cmd, run};
}

// ---- entry point --------------------------------------------------------------------------

// One line for a CLI11 parse error, with a pointer to the help of the command that was given.
int usage_error(const std::vector<Command>& commands, const CLI::ParseError& e, int argc,
                char** argv) {
  bool any_parsed = false;
  for (const Command& c : commands) any_parsed = any_parsed || c.app->parsed();
  if (!any_parsed && argc > 1 && argv[1][0] != '-') {
    return error(kExitUsage, fmt::format("unknown command '{}' (see 'steerctl --help')", argv[1]));
  }
  std::string message = e.what();
  for (char& c : message) {
    if (c == '\n') c = ' ';
  }
  std::string help = "steerctl --help";
  for (const Command& c : commands) {
    if (c.app->parsed()) help = fmt::format("steerctl {} --help", c.app->get_name());
  }
  return error(kExitUsage, fmt::format("{} (see '{}')", message, help));
}

int run(int argc, char** argv) {
  CLI::App root(
      "steerctl: operator tool for the steer L4 load balancer. Run 'steerctl COMMAND --help' "
      "for the options of a command.",
      "steerctl");
  root.require_subcommand(1);
  root.footer(
      "Exit status: 0 ok, 1 runtime error, 2 usage error; errors are one line on stderr.\n");
  std::vector<Command> commands;
  commands.push_back(add_plan_command(root));
  commands.push_back(add_dataplane_command(root));

  try {
    root.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
      return root.exit(e);  // --help: prints the help of the command given, exits 0
    }
    return usage_error(commands, e, argc, argv);
  }
  for (const Command& c : commands) {
    if (c.app->parsed()) return c.run();
  }
  return error(kExitUsage, "no command given (see 'steerctl --help')");
}

}  // namespace
}  // namespace steer::tools

int main(int argc, char** argv) {
  try {
    return steer::tools::run(argc, argv);
  } catch (const std::exception& e) {
    // Nothing above throws by design; this keeps even a bug to one line and exit 1.
    std::fprintf(stderr, "steerctl: internal error: %s\n", e.what());
    return 1;
  }
}
