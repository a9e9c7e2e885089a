// A stateful stand-in for BIRD 2.0.12's control socket, for the announcer's and the
// controller's tests: it holds steer's static protocols the way BIRD does and answers
// `show status`, `show protocols`, `enable "P"`, `disable "P"` and `configure` in BIRD's own
// reply format (the transcripts in fixtures/ show it), over a real Unix socket
// (testing/support/script_server.h), so the real BirdClient and Announcer run against it.
//
// Like BIRD: at start and on `configure` it reads steer's snippet file — every protocol in it
// exists with `disabled yes|no` as the file says, and protocols no longer in it are gone; a
// protocol disabled over the socket is re-enabled by `configure` unless the file disables it.
// restart() is a BIRD restart (connections dropped, the file read again). toggle() is an
// operator's `birdc disable`. It also has a device protocol and one established BGP session.
#pragma once

#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "testing/support/script_server.h"

namespace steer::bgp::test {

class BirdModel {
 public:
  BirdModel(std::string socket, std::string snippet)
      : socket_(std::move(socket)), snippet_(std::move(snippet)) {
    load();
    start();
  }
  ~BirdModel() { server_.reset(); }
  BirdModel(const BirdModel&) = delete;
  BirdModel& operator=(const BirdModel&) = delete;

  // A BIRD restart: the connection drops, the file is read again.
  void restart() {
    server_.reset();
    {
      std::lock_guard<std::mutex> lock(mu_);
      load_locked();
      ++reconfigurations_;
    }
    start();
  }
  // `birdc configure` by an operator: the file is read again.
  void reconfigure() {
    std::lock_guard<std::mutex> lock(mu_);
    load_locked();
    ++reconfigurations_;
  }

  // nullopt: BIRD has no such protocol.
  std::optional<bool> enabled(const std::string& protocol) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = protocols_.find(protocol);
    if (it == protocols_.end()) return std::nullopt;
    return it->second;
  }
  // `birdc enable|disable` by hand.
  void toggle(const std::string& protocol, bool on) {
    std::lock_guard<std::mutex> lock(mu_);
    protocols_[protocol] = on;
  }
  int configures() const {
    std::lock_guard<std::mutex> lock(mu_);
    return configures_;
  }
  // Every enable/disable that changed a protocol, in order ("enable P" / "disable P").
  std::vector<std::string> toggles() const {
    std::lock_guard<std::mutex> lock(mu_);
    return toggles_;
  }
  std::vector<std::string> commands() const { return server_->commands(); }

 private:
  void start() {
    server_ = std::make_unique<steer::test::ScriptServer>(
        socket_, [this](steer::test::ScriptServer::Conn& c, int) { serve(c); });
  }

  // Reads the snippet as BIRD reads its configuration (called with the lock held or before
  // the server runs).
  void load_locked() {
    std::map<std::string, bool> next;
    std::ifstream in(snippet_);
    std::string line, current;
    while (std::getline(in, line)) {
      if (line.starts_with("protocol static ")) {
        std::istringstream words(line.substr(16));
        words >> current;
      } else if (!current.empty() && line.find("disabled yes;") != std::string::npos) {
        next[current] = false;
      } else if (!current.empty() && line.find("disabled no;") != std::string::npos) {
        next[current] = true;
      } else if (line == "}") {
        if (!current.empty() && !next.contains(current)) next[current] = true;
        current.clear();
      }
    }
    protocols_ = std::move(next);
  }
  void load() {
    std::lock_guard<std::mutex> lock(mu_);
    load_locked();
  }

  std::string status_reply() const {
    return fmt::format(
        "1000-BIRD 2.0.12\n1011-Router ID is 10.83.71.1\n Hostname is vm\n"
        " Current server time is 2026-11-26 00:04:05.363\n"
        " Last reboot on 2026-11-26 00:04:01.129\n"
        " Last reconfiguration on 2026-11-26 00:04:{:02d}.129\n"
        "0013 Daemon is up and running\n",
        reconfigurations_ % 60);
  }

  std::string protocols_reply() const {
    auto row = [](bool first, std::string_view name, std::string_view proto, std::string_view table,
                  std::string_view state, std::string_view info) {
      return fmt::format("{}{:<10} {:<10} {:<10} {:<6} {:<12}  {}\n", first ? "1002-" : " ", name,
                         proto, table, state, "00:04:01.129", info);
    };
    std::string out = "2002-Name       Proto      Table      State  Since         Info\n";
    out += row(true, "device1", "Device", "---", "up", "");
    for (const auto& [name, up] : protocols_) {
      out += row(false, name, "Static", "master4", up ? "up" : "down", "");
    }
    out += row(false, "peer1", "BGP", "---", "up", "Established   ");
    return out + "0000 \n";
  }

  std::string toggle_reply(const std::string& name, bool enable) {
    auto it = protocols_.find(name);
    if (it == protocols_.end()) return "8003 No protocols match\n";
    if (it->second == enable) {
      return fmt::format("{}-{}: already {}\n0000 \n", enable ? "0010" : "0008", name,
                         enable ? "enabled" : "disabled");
    }
    it->second = enable;
    toggles_.push_back(fmt::format("{} {}", enable ? "enable" : "disable", name));
    return fmt::format("{}-{}: {}\n0000 \n", enable ? "0011" : "0009", name,
                       enable ? "enabled" : "disabled");
  }

  void serve(steer::test::ScriptServer::Conn& c) {
    if (!c.send("0001 BIRD 2.0.12 ready.\n")) return;
    while (auto line = c.read_line(std::chrono::seconds(30))) {
      std::string reply;
      {
        std::lock_guard<std::mutex> lock(mu_);
        auto quoted = [&](std::string_view verb) -> std::optional<std::string> {
          const std::string prefix = fmt::format("{} \"", verb);
          if (!line->starts_with(prefix) || !line->ends_with('"')) return std::nullopt;
          return line->substr(prefix.size(), line->size() - prefix.size() - 1);
        };
        if (*line == "show status") {
          reply = status_reply();
        } else if (*line == "show protocols") {
          reply = protocols_reply();
        } else if (*line == "configure") {
          load_locked();
          ++configures_;
          ++reconfigurations_;
          reply = "0002-Reading configuration from /etc/bird/bird.conf\n0003 Reconfigured\n";
        } else if (auto p = quoted("enable")) {
          reply = toggle_reply(*p, true);
        } else if (auto q = quoted("disable")) {
          reply = toggle_reply(*q, false);
        } else {
          reply = "9001 syntax error, unexpected CF_SYM_UNDEFINED\n";
        }
      }
      if (!c.send(reply)) return;
    }
  }

  std::string socket_, snippet_;
  mutable std::mutex mu_;
  std::map<std::string, bool> protocols_;
  int configures_ = 0;
  int reconfigurations_ = 1;
  std::vector<std::string> toggles_;
  std::unique_ptr<steer::test::ScriptServer> server_;
};

}  // namespace steer::bgp::test
