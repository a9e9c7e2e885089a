// steerd: steer's control process. See docs/configuration.md and docs/cli-protocol.md.
//
//   steerd -c /etc/steer/steerd.toml           run (foreground; logs on stderr)
//   steerd --check -c /etc/steer/steerd.toml   validate the file, print every error, exit
//
// This file is the wiring: it builds the collaborators (checker, dataplane client, event
// history, command table), the controller and its modules (dataplane link, BGP link, DNS link), the
// CLI and metrics servers, and runs the control thread's io_context.
#include <chrono>
#include <csignal>
#include <filesystem>

#include <asio.hpp>
#include <fmt/chrono.h>
#include <fmt/format.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <CLI/CLI.hpp>
#pragma GCC diagnostic pop

#include "common/command_table.h"
#include "common/version.h"
#include "control/bgp_link.h"
#include "control/commands.h"
#include "control/controller.h"
#include "control/dataplane_link.h"
#include "control/dns_link.h"
#include "control/health/checker.h"
#include "control/metrics.h"
#include "control/servers.h"

namespace steer::control {
namespace {

void log_line(std::string_view text) {
  const auto now = std::chrono::system_clock::now();
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  fmt::print(stderr, "{:%Y-%m-%dT%H:%M:%S}.{:03d} steerd: {}\n",
             std::chrono::floor<std::chrono::seconds>(now), ms, text);
}

int run(int argc, char** argv) {
  CLI::App app{"steerd: steer's control process"};
  std::string config_path;
  bool check_only = false;
  app.add_option("-c,--config", config_path, "configuration file (TOML)")->required();
  app.add_flag("--check", check_only, "validate the configuration, print every error, and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  // Every socket write goes through Asio (MSG_NOSIGNAL); a closed peer must never kill the
  // controller through a write that does not.
  std::signal(SIGPIPE, SIG_IGN);
  auto config = load_config(config_path);
  if (!config) {
    fmt::print(stderr, "{}", format_errors(config.error()));
    fmt::print(stderr, "steerd: {}: {} error(s)\n", config_path, config.error().size());
    return 1;
  }
  if (check_only) {
    fmt::print("{}: ok ({} VIPs, {} checks)\n", config_path, config->vips.size(),
               config->checks.size());
    return 0;
  }
  auto overrides =
      Overrides::load((std::filesystem::path(config->state_dir) / "overrides.json").string());
  if (!overrides) {
    log_line(overrides.error().message);
    return 1;
  }
  const std::string path = std::filesystem::absolute(config_path).string();
  const std::string cli_socket = config->cli_socket;
  const uint32_t cli_mode = config->cli_mode;
  const std::string cli_group = config->cli_group;
  const std::string metrics = config->metrics_listen;

  asio::io_context io(1);
  Events events(log_line);
  health::Checker checker(io);
  DataplaneClient dataplane(
      io,
      DataplaneLinkOptions{
          .socket = config->dataplane_socket,
          .push_interval = std::chrono::milliseconds(config->push_interval_ms),
          .status_interval = std::chrono::milliseconds(config->status_interval_ms),
          .stuck_after = std::chrono::milliseconds(config->stuck_after_ms),
      },
      log_line);
  CommandTable commands(cli_group.empty() ? std::string("root")
                                          : fmt::format("root or group '{}'", cli_group));
  Controller controller(
      Controller::Deps{io, checker, dataplane, events, [path] { return load_config(path); }},
      std::move(*config), std::move(*overrides));
  DataplaneLink dataplane_link(dataplane);
  BgpLink bgp_link(io, commands, events);
  DnsLink dns_link(io, commands, events, bgp_link);
  // In this order on every health change. DNS before BGP: the announcer writes its BIRD snippet
  // (fsync) before it talks to BIRD, and DNS need not wait for that. It is safe: DNS reads the
  // BGP decisions as they were, and a new health never hands out more than both allow (a
  // failure takes the PoP out by health alone; a recovery waits for BGP's announce, whose
  // decision rebuilds the DNS table again).
  controller.add_module(dataplane_link);
  controller.add_module(dns_link);
  controller.add_module(bgp_link);
  register_controller_commands(commands, controller, path);

  CliServer cli(io, commands, fmt::format("steerd {}", kVersion));
  if (auto r = cli.listen(cli_socket, cli_mode, cli_group); !r) {
    log_line(r.error().message);
    return 1;
  }
  MetricsServer metrics_server(io, [&controller] { return metrics_text(controller); });
  if (!metrics.empty()) {
    if (auto r = metrics_server.listen(metrics); !r) {
      log_line(r.error().message);
      cli.close();
      return 1;
    }
  }
  asio::signal_set signals(io, SIGTERM, SIGINT, SIGHUP);
  std::function<void(const asio::error_code&, int)> on_signal = [&](const asio::error_code& ec,
                                                                    int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      auto d = controller.reload("SIGHUP");
      if (!d) log_line("reload rejected, nothing changed:\n" + d.error().message);
      signals.async_wait(on_signal);
      return;
    }
    log_line(fmt::format("signal {}: stopping", sig));
    controller.stop();
    cli.close();
    metrics_server.close();
    io.stop();
  };
  signals.async_wait(on_signal);
  controller.start();
  log_line(
      fmt::format("CLI on {}, metrics on {}", cli_socket, metrics.empty() ? "(off)" : metrics));
  io.run();
  return 0;
}

}  // namespace
}  // namespace steer::control

int main(int argc, char** argv) { return steer::control::run(argc, argv); }
