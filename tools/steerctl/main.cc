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
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

// GCC 12 reports a false -Wnull-dereference inside CLI11 2.1's string splitting (inlined
// std::string code); the warning is about the library, not about this file.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <CLI/CLI.hpp>
#pragma GCC diagnostic pop
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "common/backend_state.h"
#include "common/file.h"
#include "common/vip_key.h"
#include "hashing/maglev.h"
#include "tools/steerctl/client.h"
#include "tools/steerctl/dataplane_view.h"
#include "tools/steerctl/dns_view.h"
#include "tools/steerctl/plan.h"
#include "tools/steerctl/steerd_view.h"

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

// Reads a whole file ("-" is standard input). Error: "cannot read pool file 'PATH': <reason>"
// (`what` names the file's role).
Result<std::string> read_input(const std::string& path, std::string_view what = "pool file") {
  const std::string name = fmt::format("{} '{}'", what, path);
  return path == "-" ? read_fd(STDIN_FILENO, name) : read_file(path, name);
}

struct Command {
  CLI::App* app;
  std::function<int()> run;
};

// ---- steerctl plan ------------------------------------------------------------------------

struct PlanOptions {
  std::string pool_file;
  std::string vip;     // live pool of this VIP from steerd
  std::string socket;  // steerd's CLI socket
  bool table_size_given = false;
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

// The backends of `show backends VIP` as a plan pool: each backend with the weight its
// effective state gives it in the Maglev table (table_weight(): drained 0, down left out).
Result<std::vector<PoolEntry>> live_pool(const std::string& text) {
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.contains("backends")) return fail("steerd sent invalid JSON");
  std::vector<PoolEntry> out;
  for (const auto& b : doc["backends"]) {
    const std::string effective = b.value("effective", "");
    // steer::BackendState (common/backend_state.h), not the plan's row state of plan.h.
    const std::optional<steer::BackendState> state = parse_backend_state(effective);
    if (!state) return fail(fmt::format("steerd sent an unknown backend state '{}'", effective));
    const std::optional<uint32_t> weight = table_weight(*state, b.value("weight", 1u));
    if (!weight) continue;
    auto a = IpAddress::parse(b.value("address", ""));
    if (!a) return fail("steerd sent a bad address");
    out.push_back(PoolEntry{*a, *weight});
  }
  return out;
}

int run_plan(const CLI::App& cmd, PlanOptions& opts) {
  Pool before;
  if (!opts.pool_file.empty()) {
    auto text = read_input(opts.pool_file);
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
  if (!opts.vip.empty()) {
    // The live pool: what steerd has in the dataplane now (effective weights; drained
    // backends weight 0; backends out of service are not in the table).
    auto client = SocketClient::connect(opts.socket, std::chrono::seconds(5));
    if (!client) return error(kExitRuntime, client.error().message);
    auto reply = client->request("show backends " + opts.vip);
    if (!reply) return error(kExitRuntime, reply.error().message);
    if (!reply->ok()) return error(kExitRuntime, reply->message());
    auto live = live_pool(reply->text_of(reply::kJson));
    if (!live) return error(kExitRuntime, live.error().message);
    for (const PoolEntry& e : *live) {
      if (auto added = add_backend(before, e); !added) {
        return error(kExitUsage, fmt::format("--vip: {}", added.error().message));
      }
    }
    // The VIP's own table size, unless --table-size asked for another.
    if (!opts.table_size_given) {
      auto vips = client->request("show vips " + opts.vip);
      if (!vips) return error(kExitRuntime, vips.error().message);
      if (!vips->ok()) return error(kExitRuntime, vips->message());
      auto doc = nlohmann::json::parse(vips->text_of(reply::kJson), nullptr, false);
      if (!doc.is_discarded() && doc.contains("vips") && !doc["vips"].empty()) {
        opts.table_size = doc["vips"][0].value("table_size", opts.table_size);
      }
    }
  }
  if (opts.pool_file.empty() && opts.backends.empty() && opts.vip.empty()) {
    return error(kExitUsage,
                 "no pool given: use --vip VIP (live, from steerd), --pool FILE and/or --backend "
                 "ADDRESS[=WEIGHT]");
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

  CLI::Option* table_size =
      cmd->add_option("--table-size", opts->table_size, "Maglev table size, a prime")
          ->type_name("M")
          ->default_val(hashing::MaglevTable::kDefaultSize);
  cmd->add_flag("--json", opts->json, "Print one JSON object instead of the table");
  cmd->add_option("--vip", opts->vip,
                  "Start from the live pool of this VIP (name or address), asked of steerd; its "
                  "table size unless --table-size")
      ->type_name("VIP");
  const char* env = std::getenv("STEERD_SOCKET");
  opts->socket = env ? env : "/run/steer/steerd.sock";
  cmd->add_option("-s,--socket", opts->socket,
                  "steerd's CLI socket, for --vip (default $STEERD_SOCKET or "
                  "/run/steer/steerd.sock)");
  cmd->callback([opts, table_size] { opts->table_size_given = table_size->count() > 0; });
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

// Sends one request to a steer socket (steerd's or the dataplane's) and prints the reply: the
// JSON as is with --json, else `view`'s table. Exit: 0 ok, 1 runtime error (cannot connect, no
// reply, 8xxx), 2 a request the daemon could not parse (9xxx). An error is one line on stderr,
// except a rejected configuration: one line per error in the file.
int socket_request(const std::string& socket, int timeout_ms, bool json, const std::string& request,
                   Result<std::string> (*view)(std::string_view)) {
  auto client = SocketClient::connect(socket, std::chrono::milliseconds(timeout_ms));
  if (!client) return error(kExitRuntime, client.error().message);
  auto reply = client->request(request);
  if (!reply) return error(kExitRuntime, reply.error().message);
  if (!reply->ok()) {
    for (size_t i = 0; i + 1 < reply->lines.size(); ++i) {
      fmt::print(stderr, "steerctl: {}\n", reply->lines[i].text);
    }
    return error(reply->code() >= 9000 ? kExitUsage : kExitRuntime, reply->message());
  }
  const std::string doc = reply->text_of(reply::kJson);
  if (json) return emit(doc + "\n");
  auto text = view(doc);
  if (!text) return error(kExitRuntime, text.error().message);
  return emit(*text);
}

int dataplane_request(const DataplaneOptions& o, const std::string& request,
                      Result<std::string> (*view)(std::string_view)) {
  return socket_request(o.socket, o.timeout_ms, o.json, request, view);
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
  cmd->fallthrough();  // --socket/--json also after the nested command
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
      auto t = read_input(o.file, "state file");
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

// ---- steerd: show, backend, configure ----------------------------------------------------

struct SteerdOptions {
  std::string socket;
  bool json = false;
  int timeout_ms = 5000;
};

void add_steerd_options(CLI::App* cmd, SteerdOptions& o) {
  const char* env = std::getenv("STEERD_SOCKET");
  o.socket = env ? env : "/run/steer/steerd.sock";
  cmd->add_option("-s,--socket", o.socket,
                  "steerd's CLI socket (default $STEERD_SOCKET or /run/steer/steerd.sock)");
  cmd->add_flag("--json", o.json, "print the daemon's JSON instead of a table");
  cmd->add_option("--timeout", o.timeout_ms, "milliseconds to wait for a reply")
      ->check(CLI::Range(1, 600000));
}

int steerd_request(const SteerdOptions& o, const std::string& request,
                   Result<std::string> (*view)(std::string_view)) {
  return socket_request(o.socket, o.timeout_ms, o.json, request, view);
}

Command add_show_command(CLI::App& root) {
  auto o = std::make_shared<SteerdOptions>();
  auto arg = std::make_shared<std::string>();
  auto flow = std::make_shared<std::vector<std::string>>();
  auto watch = std::make_shared<bool>(false);
  CLI::App* cmd = root.add_subcommand("show", "Show steerd's state (status, vips, backends, ...)");
  add_steerd_options(cmd, *o);
  cmd->require_subcommand(1);
  cmd->fallthrough();  // --socket/--json also after the nested command
  CLI::App* status = cmd->add_subcommand("status", "Versions, uptime, dataplane liveness, probes");
  CLI::App* vips = cmd->add_subcommand("vips", "VIPs with their health and traffic");
  vips->add_option("vip", *arg, "only this VIP (name or address)");
  CLI::App* backends =
      cmd->add_subcommand("backends", "Backends: weight, health, admin state, traffic, and why");
  backends->add_option("vip", *arg, "only this VIP (name or address)");
  CLI::App* health = cmd->add_subcommand("health", "Health-check history with reasons");
  health->add_option("backend", *arg, "only this backend address");
  CLI::App* stats = cmd->add_subcommand("stats", "The dataplane's counters and drops by reason");
  stats->add_flag("--watch", *watch, "print again every second until interrupted");
  CLI::App* events =
      cmd->add_subcommand("events", "Recent events: health changes, overrides, reloads");
  CLI::App* fl = cmd->add_subcommand("flow", "Which backend a flow gets, and why");
  fl->add_option("tuple", *flow, "PROTO SRC SPORT DST DPORT")->expected(5)->required();
  CLI::App* bgp = cmd->add_subcommand(
      "bgp", "BGP: each VIP address announced, draining or withdrawn, since when and why");
  bgp->add_option("vip", *arg, "only this VIP (name or address), with its history of decisions");
  auto run = [=]() -> int {
    const std::string a = arg->empty() ? "" : " " + *arg;
    if (status->parsed()) return steerd_request(*o, "show status", format_status);
    if (vips->parsed()) return steerd_request(*o, "show vips" + a, format_vips);
    if (backends->parsed()) return steerd_request(*o, "show backends" + a, format_backends);
    if (health->parsed()) return steerd_request(*o, "show health" + a, format_health);
    if (events->parsed()) return steerd_request(*o, "show events", format_events);
    if (bgp->parsed()) {
      if (arg->empty()) {
        return steerd_request(*o, "show bgp",
                              [](std::string_view t) { return format_bgp(t, false); });
      }
      return steerd_request(*o, "show bgp" + a,
                            [](std::string_view t) { return format_bgp(t, true); });
    }
    if (stats->parsed()) {
      for (int i = 0;; ++i) {
        if (*watch && i > 0) {
          std::this_thread::sleep_for(std::chrono::seconds(1));
          if (!o->json) std::fputs("\x1b[H\x1b[2J", stdout);
        }
        const int rc = steerd_request(*o, "show stats", format_dataplane_stats);
        if (rc != 0 || !*watch) return rc;
      }
    }
    if (fl->parsed()) {
      const auto& t = *flow;
      return steerd_request(*o,
                            fmt::format("show flow {} {} {} {} {}", t[0], t[1], t[2], t[3], t[4]),
                            format_dataplane_flow);
    }
    return error(kExitUsage, "no show command given");
  };
  return Command{cmd, run};
}

Command add_backend_command(CLI::App& root) {
  auto o = std::make_shared<SteerdOptions>();
  auto action = std::make_shared<std::string>();
  auto address = std::make_shared<std::string>();
  auto value = std::make_shared<std::vector<std::string>>();
  CLI::App* cmd = root.add_subcommand(
      "backend", "Operator overrides: drain, undrain, disable, enable, force-up, auto, weight");
  add_steerd_options(cmd, *o);
  cmd->add_option("action", *action,
                  "drain | undrain | disable | enable | force-up | auto | weight")
      ->required();
  cmd->add_option("address", *address, "backend address")->required();
  cmd->add_option("args", *value, "weight: WEIGHT|default, then optionally the VIP; others: [VIP]");
  cmd->footer(
      "Overrides persist across reloads and restarts and show beside the observed health.\n"
      "drain: weight 0, established flows stay. disable: out of the dataplane, flows move.\n"
      "force-up: in service whatever the checks say. undrain/enable/auto: follow health again.\n"
      "Without a VIP the override applies to the backend on every VIP.\n");
  // steerd checks the words (action, address, weight, VIP) and says what is wrong (9xxx: exit 2).
  auto run = [=]() -> int {
    std::string req = fmt::format("backend {} {}", *action, *address);
    for (const auto& v : *value) req += " " + v;
    return steerd_request(*o, req, format_done);
  };
  return Command{cmd, run};
}

Command add_bgp_command(CLI::App& root) {
  auto o = std::make_shared<SteerdOptions>();
  auto action = std::make_shared<std::string>();
  auto target = std::make_shared<std::string>();
  CLI::App* cmd = root.add_subcommand(
      "bgp", "BGP overrides: announce, withdraw, drain, undrain, auto; valve release; snippet");
  add_steerd_options(cmd, *o);
  cmd->add_option("action", *action,
                  "announce | withdraw | drain | undrain | auto | valve | snippet")
      ->required();
  cmd->add_option("vip", *target, "VIP name or address (valve: 'release')");
  cmd->footer(
      "A VIP's address is announced as one route for every VIP at that address.\n"
      "announce: announced whatever health says (not over a dead dataplane). withdraw: withdrawn\n"
      "now. drain: announced with a lower preference ([bgp] drain_prepend, drain_communities)\n"
      "for drain_ms, then withdrawn. undrain/auto: follow health again.\n"
      "Overrides persist across restarts; 'steerctl show bgp VIP' shows them with who and when.\n"
      "valve release: let withdrawals the safety valve holds go through for one window.\n"
      "snippet: print the BIRD configuration steer's routes need (docs/bgp.md).\n");
  // steerd checks the words and says what is wrong (9xxx: exit 2).
  auto run = [=]() -> int {
    const std::string req = target->empty() ? fmt::format("bgp {}", *action)
                                            : fmt::format("bgp {} {}", *action, *target);
    return steerd_request(*o, req, *action == "snippet" ? format_bgp_snippet : format_bgp_done);
  };
  return Command{cmd, run};
}

Command add_configure_command(CLI::App& root) {
  auto o = std::make_shared<SteerdOptions>();
  auto check = std::make_shared<std::vector<std::string>>();
  CLI::App* cmd = root.add_subcommand(
      "configure", "Reload steerd's configuration file (or 'configure check': validate only)");
  add_steerd_options(cmd, *o);
  cmd->add_option("check", *check, "check: validate and show what would change")->expected(0, 1);
  // steerd checks the word after `configure` (9xxx: exit 2).
  auto run = [=]() -> int {
    return steerd_request(*o, check->empty() ? "configure" : "configure " + (*check)[0],
                          format_configure);
  };
  return Command{cmd, run};
}

// ---- steerd: dns ----------------------------------------------------------------------------

Command add_dns_command(CLI::App& root) {
  auto o = std::make_shared<SteerdOptions>();
  auto name = std::make_shared<std::string>();
  auto qtype = std::make_shared<std::string>("A");
  auto client = std::make_shared<std::string>();
  auto ecs = std::make_shared<std::string>();
  auto words = std::make_shared<std::vector<std::string>>();
  CLI::App* cmd = root.add_subcommand(
      "dns", "The DNS responder: show, query (which answer a client gets and why), overrides");
  add_steerd_options(cmd, *o);
  cmd->require_subcommand(1);
  cmd->fallthrough();
  CLI::App* show = cmd->add_subcommand("show", "Zones, services, each PoP's state and why");
  CLI::App* query = cmd->add_subcommand("query", "The answer a resolver at --client gets, and why");
  query->add_option("name", *name, "the name asked, e.g. web.lb.example.com")->required();
  query->add_option("type", *qtype, "the record type (default A)");
  query->add_option("--client", *client, "the resolver's address")->required();
  query->add_option("--ecs", *ecs, "an EDNS Client Subnet prefix it sends, e.g. 198.51.100.0/24");
  CLI::App* pop = cmd->add_subcommand("pop", "Take a PoP out of DNS answers, or put it back");
  pop->add_option("words", *words, "disable|enable POP")->expected(2)->required();
  CLI::App* service =
      cmd->add_subcommand("service", "Take a service out of DNS answers, or put it back");
  service->add_option("words", *words, "disable|enable SERVICE [POP]")->expected(2, 3)->required();
  cmd->footer(
      "DNS overrides take a PoP or a service out of DNS answers only: BGP keeps announcing and\n"
      "the dataplane keeps forwarding (established users stay; new resolvers go elsewhere).\n"
      "They persist across reloads and restarts, with who set them and when.\n");
  // steerd checks the words (9xxx: exit 2).
  auto run = [=]() -> int {
    if (show->parsed()) return steerd_request(*o, "show dns", format_dns_show);
    if (query->parsed()) {
      std::string req = fmt::format("dns query {} {} {}", *name, *qtype, *client);
      if (!ecs->empty()) req += " " + *ecs;
      return steerd_request(*o, req, format_dns_query);
    }
    std::string req = pop->parsed() ? "dns pop" : "dns service";
    for (const std::string& w : *words) req += " " + w;
    return steerd_request(*o, req, format_dns_done);
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
  commands.push_back(add_show_command(root));
  commands.push_back(add_backend_command(root));
  commands.push_back(add_bgp_command(root));
  commands.push_back(add_dns_command(root));
  commands.push_back(add_configure_command(root));

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
