// steerd: steer's control process. See docs/configuration.md and docs/cli-protocol.md.
//
//   steerd -c /etc/steer/steerd.toml           run (foreground; logs on stderr)
//   steerd --check -c /etc/steer/steerd.toml   validate the file, print every error, exit
#include <chrono>
#include <filesystem>

#include <asio.hpp>
#include <fmt/chrono.h>
#include <fmt/format.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <CLI/CLI.hpp>
#pragma GCC diagnostic pop

#include "control/daemon.h"
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
  asio::io_context io(1);
  const std::string cli_socket = config->cli_socket;
  const uint32_t cli_mode = config->cli_mode;
  const std::string cli_group = config->cli_group;
  const std::string metrics = config->metrics_listen;
  Daemon daemon(io, std::move(*config), std::filesystem::absolute(config_path).string(),
                std::move(*overrides), log_line);
  CliServer cli(io, daemon);
  if (auto r = cli.listen(cli_socket, cli_mode, cli_group); !r) {
    log_line(r.error().message);
    return 1;
  }
  MetricsServer metrics_server(io, [&daemon] { return daemon.metrics_text(); });
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
      auto d = daemon.reload("SIGHUP");
      if (!d) log_line("reload rejected, nothing changed:\n" + d.error().message);
      signals.async_wait(on_signal);
      return;
    }
    log_line(fmt::format("signal {}: stopping", sig));
    daemon.stop();
    cli.close();
    metrics_server.close();
    io.stop();
  };
  signals.async_wait(on_signal);
  daemon.start();
  log_line(
      fmt::format("CLI on {}, metrics on {}", cli_socket, metrics.empty() ? "(off)" : metrics));
  io.run();
  return 0;
}

}  // namespace
}  // namespace steer::control

int main(int argc, char** argv) { return steer::control::run(argc, argv); }
