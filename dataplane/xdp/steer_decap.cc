// steer-decap: attaches steer's decapsulation program to a backend's interface.
//
//   steer-decap attach --dev IF [--mode xdp|xdp-generic|tc] [--gue-port N] [--allow PREFIX]...
//                      [--dst ADDR]... | [--any-dst]
//   steer-decap detach --dev IF
//   steer-decap status --dev IF [--json]
//
// The work is done by dataplane/xdp/decap_program.h; this file is options and output only.
// Exit codes: 0 success, 1 runtime error, 2 usage error. Every error is one line on stderr
// that starts with "steer-decap: ".
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

// GCC 12 reports a false -Wnull-dereference inside CLI11 2.1's string splitting (inlined
// std::string code); the warning is about the library, not about this file.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <CLI/CLI.hpp>
#pragma GCC diagnostic pop
#include <fmt/format.h>

#include "dataplane/xdp/bpf_util.h"
#include "dataplane/xdp/decap_program.h"

namespace steer::dataplane::xdp {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;

int error(int exit_code, std::string_view message) {
  fmt::print(stderr, "steer-decap: {}\n", message);
  return exit_code;
}

int emit(const std::string& text) {
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0) {
    return error(kExitRuntime, "cannot write output");
  }
  return kExitOk;
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string status_json(const std::string& dev, const DecapStatus& s) {
  std::string out = fmt::format("{{\"device\":{},\"attached\":{}", json_string(dev), s.attached);
  if (s.attached) {
    std::vector<std::string> dsts;
    for (const IpAddress& a : s.destinations) dsts.push_back(json_string(a.to_string()));
    std::vector<std::string> allow;
    for (const IpPrefix& p : s.allow) allow.push_back(json_string(p.to_string()));
    std::vector<std::string> counters;
    for (size_t i = 0; i < s.counters.size(); ++i) {
      counters.push_back(fmt::format("{}:{}", json_string(decap_counter_name(i)), s.counters[i]));
    }
    out += fmt::format(
        ",\"mode\":{},\"prog_id\":{},\"gue_port\":{},\"any_destination\":{},"
        "\"destinations\":[{}],\"allow\":[{}],\"tc_redirect_fallback\":{},\"counters\":{{{}}}",
        json_string(decap_mode_name(s.mode)), s.prog_id, s.gue_port, s.any_destination,
        fmt::join(dsts, ","), fmt::join(allow, ","), s.tc_redirect_fallback,
        fmt::join(counters, ","));
  }
  return out + "}\n";
}

std::string status_text(const std::string& dev, const DecapStatus& s) {
  if (!s.attached) return fmt::format("{}: no steer_decap program attached\n", dev);
  std::string out = fmt::format("{}: steer_decap attached, mode {}, program {}\n", dev,
                                decap_mode_name(s.mode), s.prog_id);
  out += fmt::format("  gue port     {}\n", s.gue_port);
  if (s.any_destination) {
    out += "  destinations any\n";
  } else {
    out += fmt::format("  destinations {}\n", fmt::join(s.destinations, " "));
  }
  if (s.allow.empty()) {
    out += "  sources      any\n";
  } else {
    std::vector<std::string> allow;
    for (const IpPrefix& p : s.allow) allow.push_back(p.to_string());
    out += fmt::format("  sources      {}\n", fmt::join(allow, " "));
  }
  if (s.tc_redirect_fallback) out += "  tc fallback  re-inject cross-family packets\n";
  out += "  counters\n";
  for (size_t i = 0; i < s.counters.size(); ++i) {
    out += fmt::format("    {:<14} {}\n", decap_counter_name(i), s.counters[i]);
  }
  return out;
}

struct Command {
  CLI::App* app;
  std::function<int()> run;
};

struct AttachArgs {
  std::string dev;
  std::string mode = "xdp";
  uint16_t gue_port = 6080;
  std::vector<std::string> allow;
  std::vector<std::string> dst;
  bool any_dst = false;
  bool tc_redirect = false;
  std::string object;
  bool json = false;
  bool verbose = false;
};

int run_attach(const AttachArgs& a) {
  DecapOptions opts;
  auto mode = parse_decap_mode(a.mode);
  if (!mode)
    return error(kExitUsage, fmt::format("unknown mode '{}' (xdp, xdp-generic, tc)", a.mode));
  opts.mode = *mode;
  if (a.gue_port == 0) return error(kExitUsage, "--gue-port must be 1..65535");
  opts.gue_port = a.gue_port;
  for (const std::string& text : a.allow) {
    auto p = IpPrefix::parse(text);
    if (!p) return error(kExitUsage, fmt::format("--allow '{}' is not an address prefix", text));
    opts.allow.push_back(*p);
  }
  for (const std::string& text : a.dst) {
    auto addr = IpAddress::parse(text);
    if (!addr) return error(kExitUsage, fmt::format("--dst '{}' is not an IP address", text));
    opts.destinations.push_back(*addr);
  }
  opts.any_destination = a.any_dst;
  opts.tc_redirect_fallback = a.tc_redirect;
  opts.object_path = a.object;
  set_libbpf_verbose(a.verbose);
  auto status = attach_decap(a.dev, opts);
  if (!status) return error(kExitRuntime, status.error().message);
  return emit(a.json ? status_json(a.dev, *status) : status_text(a.dev, *status));
}

Command add_attach_command(CLI::App& root) {
  auto args = std::make_shared<AttachArgs>();
  CLI::App* cmd = root.add_subcommand(
      "attach", "Attach the decapsulation program (replaces a steer_decap program already there)");
  cmd->add_option("--dev", args->dev, "Interface that receives the encapsulated packets")
      ->required();
  cmd->add_option("--mode", args->mode, "xdp (native), xdp-generic or tc (clsact ingress)")
      ->capture_default_str();
  cmd->add_option("--gue-port", args->gue_port, "UDP destination port of GUE packets")
      ->capture_default_str();
  cmd->add_option("--allow", args->allow,
                  "Outer source prefix allowed to tunnel in (repeatable); when given, "
                  "encapsulated packets from other sources are dropped")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  auto* dst = cmd->add_option("--dst", args->dst,
                              "Outer destination to decapsulate (repeatable); default: the "
                              "addresses of --dev at attach time")
                  ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_flag("--any-dst", args->any_dst, "Decapsulate whatever the outer destination")
      ->excludes(dst);
  cmd->add_flag("--tc-redirect-fallback", args->tc_redirect,
                "tc mode: re-inject cross-family packets (the path kernels before 6.3 take)");
  cmd->add_option("--object", args->object,
                  "Compiled steer_decap.bpf.o (default: $STEER_BPF_DIR "
                  "or the build directory)");
  cmd->add_flag("--json", args->json, "Print the resulting status as JSON");
  cmd->add_flag("-v,--verbose", args->verbose, "Show libbpf's messages (verifier log)");
  return Command{cmd, [args] { return run_attach(*args); }};
}

Command add_detach_command(CLI::App& root) {
  auto dev = std::make_shared<std::string>();
  CLI::App* cmd = root.add_subcommand("detach", "Detach every steer_decap program (none: ok)");
  cmd->add_option("--dev", *dev, "Interface")->required();
  return Command{cmd, [dev] {
                   set_libbpf_verbose(false);
                   auto r = detach_decap(*dev);
                   if (!r) return error(kExitRuntime, r.error().message);
                   return emit(*r ? fmt::format("{}: steer_decap detached\n", *dev)
                                  : fmt::format("{}: no steer_decap program was attached\n", *dev));
                 }};
}

Command add_status_command(CLI::App& root) {
  struct Args {
    std::string dev;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = root.add_subcommand("status", "Show the attached program and its counters");
  cmd->add_option("--dev", args->dev, "Interface")->required();
  cmd->add_flag("--json", args->json, "Print one JSON object");
  return Command{
      cmd, [args] {
        set_libbpf_verbose(false);
        auto s = decap_status(args->dev);
        if (!s) return error(kExitRuntime, s.error().message);
        return emit(args->json ? status_json(args->dev, *s) : status_text(args->dev, *s));
      }};
}

int usage_error(const std::vector<Command>& commands, const CLI::ParseError& e, int argc,
                char** argv) {
  bool any_parsed = false;
  for (const Command& c : commands) any_parsed = any_parsed || c.app->parsed();
  if (!any_parsed && argc > 1 && argv[1][0] != '-') {
    return error(kExitUsage,
                 fmt::format("unknown command '{}' (see 'steer-decap --help')", argv[1]));
  }
  std::string message = e.what();
  for (char& c : message) {
    if (c == '\n') c = ' ';
  }
  std::string help = "steer-decap --help";
  for (const Command& c : commands) {
    if (c.app->parsed()) help = fmt::format("steer-decap {} --help", c.app->get_name());
  }
  return error(kExitUsage, fmt::format("{} (see '{}')", message, help));
}

int run(int argc, char** argv) {
  CLI::App root(
      "steer-decap: removes steer's IPIP/6in4/IP6IP6/4in6/GUE encapsulation on a backend "
      "without the ipip/fou kernel modules, with an XDP or tc BPF program.",
      "steer-decap");
  root.require_subcommand(1);
  root.footer(
      "Exit status: 0 ok, 1 runtime error, 2 usage error; errors are one line on stderr.\n"
      "See docs/decap.md.");
  std::vector<Command> commands;
  commands.push_back(add_attach_command(root));
  commands.push_back(add_detach_command(root));
  commands.push_back(add_status_command(root));
  try {
    root.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return root.exit(e);
    return usage_error(commands, e, argc, argv);
  }
  for (const Command& c : commands) {
    if (c.app->parsed()) return c.run();
  }
  return error(kExitUsage, "no command given (see 'steer-decap --help')");
}

}  // namespace
}  // namespace steer::dataplane::xdp

int main(int argc, char** argv) {
  try {
    return steer::dataplane::xdp::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "steer-decap: internal error: %s\n", e.what());
    return 1;
  }
}
