#include "tools/steerctl/steerd_view.h"

#include <chrono>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/state_doc.h"
#include "tools/steerctl/json_view.h"

namespace steer::tools {

using nlohmann::json;

namespace {

std::string when(int64_t unix_ms) {
  if (unix_ms <= 0) return "-";
  const auto t = std::chrono::system_clock::time_point(std::chrono::milliseconds(unix_ms));
  return fmt::format("{:%Y-%m-%d %H:%M:%S}", std::chrono::floor<std::chrono::seconds>(t));
}

std::string rate(double v, const char* unit) {
  if (v >= 1e9) return fmt::format("{:.1f}G{}", v / 1e9, unit);
  if (v >= 1e6) return fmt::format("{:.1f}M{}", v / 1e6, unit);
  if (v >= 1e3) return fmt::format("{:.1f}k{}", v / 1e3, unit);
  return fmt::format("{:.0f}{}", v, unit);
}

}  // namespace

Result<std::string> format_status(std::string_view text) {
  return guarded(text, [](const json& d) -> Result<std::string> {
    std::string out;
    out += fmt::format("steerd {} pid {}, up {:.1f} s, PoP {} ({}), config {}\n",
                       str(d.at("version")), d.at("pid").get<int64_t>(),
                       d.at("uptime_s").get<double>(), str(d.at("pop").at("name")),
                       str(d.at("pop").at("region")), str(d.at("config")));
    out += fmt::format("warm-up: {}\n",
                       d.at("warm").get<bool>() ? "over" : "IN PROGRESS (no pushes yet)");
    const json& dp = d.at("dataplane");
    out +=
        fmt::format("dataplane: {} for {:.1f} s — {} ({}); generation {}, {} pushes, {} failed\n",
                    str(dp.at("health")), dp.at("since_s").get<double>(), str(dp.at("reason")),
                    str(dp.at("socket")), dp.at("pushed_generation").get<uint64_t>(),
                    dp.at("pushes").get<uint64_t>(), dp.at("push_failures").get<uint64_t>());
    if (dp.contains("status")) {
      // The dataplane's own `status` document, as steerd last read it ({} before the first).
      auto st = doc::parse_status(dp.at("status").dump());
      if (!st)
        return fail(
            fmt::format("unexpected reply from the daemon: dataplane.{}", st.error().message));
      if (!st->version.empty()) {
        out += fmt::format("  steer-dataplane {} pid {}, up {:.1f} s, generation {}\n", st->version,
                           st->pid < 0 ? 0 : st->pid, st->uptime_s, st->generation);
      }
      for (const doc::WorkerStatus& w : st->workers) {
        out += fmt::format("  lcore {:<3} {:<5} generation {:<6} heartbeat {:.1f} ms ago\n",
                           w.lcore, w.alive ? "alive" : "STUCK", w.generation, w.heartbeat_age_ms);
      }
    }
    const json& p = d.at("probes");
    out += fmt::format(
        "probes: {} targets, {} done, {} in flight, start lag p50 {:.0f} µs p99 {:.0f} µs\n",
        p.at("targets").get<uint64_t>(), p.at("done").get<uint64_t>(),
        p.at("in_flight").get<uint64_t>(), p.at("lag_p50_us").get<double>(),
        p.at("lag_p99_us").get<double>());
    out += fmt::format("VIPs: {} configured, {} healthy\n",
                       d.at("vips").at("configured").get<uint64_t>(),
                       d.at("vips").at("healthy").get<uint64_t>());
    if (d.contains("bgp") && !d.at("bgp").is_null()) {
      const json& b = d.at("bgp");
      out += fmt::format("BGP: BIRD {}; {} of {} VIP addresses announced{}\n",
                         b.at("bird_connected").get<bool>() ? "connected" : "NOT CONNECTED",
                         b.at("announced").get<uint64_t>(), b.at("addresses").get<uint64_t>(),
                         b.at("valve_holding").get<bool>() ? "; SAFETY VALVE HOLDING" : "");
    } else {
      out += "BGP: off (no [bgp] in the configuration)\n";
    }
    if (d.contains("dns") && !d.at("dns").is_null()) {
      const json& n = d.at("dns");
      std::string listen;
      for (const json& l : n.at("listen")) listen += (listen.empty() ? "" : ", ") + str(l);
      out += fmt::format("DNS: {} on {}; table generation {}, {} queries{}\n",
                         n.at("answering").get<bool>() ? "answering" : "NOT ANSWERING",
                         listen.empty() ? "-" : listen, n.at("generation").get<uint64_t>(),
                         n.at("queries").get<uint64_t>(),
                         str(n.at("error")).empty() || n.at("error").get<std::string>().empty()
                             ? ""
                             : " — " + str(n.at("error")));
    } else {
      out += "DNS: off (no [dns] in the configuration)\n";
    }
    return out;
  });
}

Result<std::string> format_vips(std::string_view text) {
  return guarded(text, [](const json& d) {
    std::string out =
        fmt::format("{:<14} {:<28} {:<6} {:>8} {:>9} {:<8} {:>12} {:>10}\n", "NAME", "VIP", "ENCAP",
                    "BACKENDS", "UP/NEED", "HEALTHY", "packets", "new flows");
    for (const json& v : d.at("vips")) {
      out += fmt::format(
          "{:<14} {:<28} {:<6} {:>8} {:>9} {:<8} {:>12} {:>10}\n", str(v.at("name")),
          str(v.at("vip")), str(v.at("encap")), v.at("backends").get<uint64_t>(),
          fmt::format("{}/{}", v.at("up").get<uint64_t>(), v.at("required").get<uint64_t>()),
          v.at("healthy").get<bool>() ? "yes" : "NO",
          v.contains("packets") ? std::to_string(v.at("packets").get<uint64_t>()) : "-",
          v.contains("new_flows") ? std::to_string(v.at("new_flows").get<uint64_t>()) : "-");
    }
    return out;
  });
}

Result<std::string> format_backends(std::string_view text) {
  return guarded(text, [](const json& d) {
    std::string out =
        fmt::format("{:<12} {:<26} {:>6} {:<8} {:<9} {:<7} {:>9} {:>9}  {}\n", "VIP", "BACKEND",
                    "WEIGHT", "HEALTH", "ADMIN", "STATE", "pps", "bps", "WHY");
    for (const json& b : d.at("backends")) {
      std::string admin = "-";
      if (!b.at("admin").is_null()) {
        const json& a = b.at("admin");
        admin = str(a.at("state"));
        if (!a.at("weight").is_null()) admin += fmt::format(" w{}", a.at("weight").get<uint64_t>());
      }
      out += fmt::format("{:<12} {:<26} {:>6} {:<8} {:<9} {:<7} {:>9} {:>9}  {}\n",
                         str(b.at("vip")), str(b.at("address")),
                         fmt::format("{}/{}", b.at("weight").get<uint64_t>(),
                                     b.at("config_weight").get<uint64_t>()),
                         str(b.at("health")), admin, str(b.at("effective")),
                         b.contains("pps") ? rate(b.at("pps").get<double>(), "") : "-",
                         b.contains("bps") ? rate(b.at("bps").get<double>(), "") : "-",
                         str(b.at("why")));
    }
    return out;
  });
}

Result<std::string> format_health(std::string_view text) {
  return guarded(text, [](const json& d) {
    std::string out;
    for (const json& t : d.at("targets")) {
      out += fmt::format("{}  {}{} since {}; {} probes, {} failed", str(t.at("target")),
                         str(t.at("state")), t.at("pending").get<bool>() ? " (change pending)" : "",
                         when(t.at("since_unix_ms").get<int64_t>()), t.at("probes").get<uint64_t>(),
                         t.at("failures").get<uint64_t>());
      if (!str(t.at("last_failure")).empty() && !t.at("last_failure_unix_ms").is_null()) {
        out +=
            fmt::format("; last failure {}: {}", when(t.at("last_failure_unix_ms").get<int64_t>()),
                        str(t.at("last_failure")));
      }
      out += "\n";
      for (const json& r : t.at("history")) {
        out += fmt::format(
            "    {}  {:<4} {:>8.2f} ms  {}\n", when(r.at("at_unix_ms").get<int64_t>()),
            r.at("ok").get<bool>() ? "ok" : "FAIL",
            static_cast<double>(r.at("latency_us").get<int64_t>()) / 1000.0, str(r.at("reason")));
      }
    }
    return out;
  });
}

Result<std::string> format_events(std::string_view text) {
  return guarded(text, [](const json& d) {
    std::string out;
    for (const json& e : d.at("events")) {
      out += fmt::format("{}  {}\n", when(e.at("at_unix_ms").get<int64_t>()), str(e.at("text")));
    }
    return out;
  });
}

Result<std::string> format_done(std::string_view text) {
  return guarded(text, [](const json& d) {
    return fmt::format(
        "{}: admin {}{} on {}\n", str(d.at("address")), str(d.at("admin")),
        d.at("weight").is_null() ? "" : fmt::format(", weight {}", d.at("weight").get<uint64_t>()),
        str(d.at("scope")) == "*" ? "every VIP" : str(d.at("scope")));
  });
}

Result<std::string> format_configure(std::string_view text) {
  return guarded(text, [](const json& d) {
    std::string out = str(d.at("changes"));
    if (out.empty() || out == "-") out = "no change";
    if (!out.ends_with("\n")) out += "\n";
    if (d.contains("restart_needed") && !d.at("restart_needed").empty()) {
      out += "these take effect only after a restart: " + d.at("restart_needed").dump() + "\n";
    }
    return out;
  });
}

Result<std::string> format_bgp(std::string_view text, bool history) {
  return guarded(text, [history](const json& d) {
    std::string out;
    const json& b = d.at("bird");
    out += fmt::format("BIRD {}: {}", str(b.at("socket")),
                       b.at("connected").get<bool>()
                           ? fmt::format("connected ({})", str(b.at("greeting")))
                           : fmt::format("NOT CONNECTED ({})", str(b.at("last_error"))));
    for (const json& s : b.at("sessions")) {
      out += fmt::format("; session {} {} {}", str(s.at("name")), str(s.at("state")),
                         str(s.at("info")));
    }
    out += "\n";
    if (!str(d.at("snippet")).empty()) {
      out += fmt::format("snippet {}{}\n", str(d.at("snippet")),
                         str(d.at("snippet_error")).empty()
                             ? ""
                             : " — CANNOT WRITE: " + str(d.at("snippet_error")));
    }
    const json& v = d.at("valve");
    out += fmt::format(
        "warm-up {}; dataplane {}; safety valve: {} of {} withdrawals by health used "
        "in {:.0f} s{}{}\n",
        d.at("warm").get<bool>() ? "over" : "IN PROGRESS", str(d.at("dataplane")),
        v.at("used").get<uint64_t>(), v.at("limit").get<uint64_t>(),
        static_cast<double>(v.at("window_ms").get<int64_t>()) / 1000.0,
        v.at("holding").get<bool>() ? ", HOLDING A WITHDRAWAL" : "",
        v.at("released_until_unix_ms").is_null()
            ? ""
            : ", released until " + when(v.at("released_until_unix_ms").get<int64_t>()));
    out += fmt::format("{:<22} {:<10} {:<19} {:<9} {:<9} {}\n", "PREFIX", "STATE", "SINCE", "BIRD",
                       "OVERRIDE", "WHY");
    for (const json& u : d.at("units")) {
      std::string bird;
      for (const json& p : u.at("protocols")) {
        bird += (bird.empty() ? "" : "/") + str(p.at("bird"));
      }
      std::string ov = "-";
      if (!u.at("override").is_null()) ov = str(u.at("override").at("admin"));
      const std::string pending = str(u.at("pending"));
      const std::string group = u.contains("group") && !u.at("group").is_null()
                                    ? "group " + str(u.at("group")) + ": "
                                    : "";
      out += fmt::format(
          "{:<22} {:<10} {:<19} {:<9} {:<9} {}{}\n", str(u.at("prefix")), str(u.at("state")),
          u.at("since_unix_ms").is_null() ? "-" : when(u.at("since_unix_ms").get<int64_t>()), bird,
          ov, group + str(u.at("why")),
          pending.empty() ? "" : "\n" + std::string(64, ' ') + "pending: " + pending);
      if (!u.at("override").is_null()) {
        const json& o = u.at("override");
        out += fmt::format("{:>64}override {} by uid {}{} since {}\n", "", str(o.at("admin")),
                           o.at("uid").get<uint64_t>(),
                           str(o.at("user")).empty() ? "" : " (" + str(o.at("user")) + ")",
                           when(o.at("since_unix_ms").get<int64_t>()));
      }
      if (!history) continue;
      for (const json& h : u.at("history")) {
        const int64_t at = h.at("at_unix_us").get<int64_t>();
        const int64_t ok = h.at("confirmed_unix_us").get<int64_t>();
        out += fmt::format("    {}.{:03d}  {:<10} {}{}\n", when(at / 1000), (at / 1000) % 1000,
                           str(h.at("state")), str(h.at("why")),
                           ok > 0 ? fmt::format(" (BIRD confirmed in {:.2f} ms)",
                                                static_cast<double>(ok - at) / 1000.0)
                                  : "");
      }
    }
    out += fmt::format(
        "BIRD column: the address's protocol / its drain twin. {} decisions, {} "
        "drift corrections.\n",
        d.at("decisions").get<uint64_t>(), d.at("drift_corrections").get<uint64_t>());
    return out;
  });
}

Result<std::string> format_bgp_done(std::string_view text) {
  return guarded(text, [](const json& d) {
    if (d.contains("valve")) return str(d.at("valve")) + "\n";
    return fmt::format("{} (override: {})\n", str(d.at("result")), str(d.at("override")));
  });
}

Result<std::string> format_bgp_snippet(std::string_view text) {
  return guarded(text, [](const json& d) { return str(d.at("snippet")); });
}

}  // namespace steer::tools
