#include "tools/steerctl/dataplane_view.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace steer::tools {

using nlohmann::json;

namespace {

Result<json> parse(std::string_view text) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return fail("the daemon sent invalid JSON");
  return doc;
}

std::string str(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "-";
  return v.dump();
}

uint64_t num(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}

// Runs f and turns a JSON type error (an unexpected document) into an Error.
template <class F>
Result<std::string> guarded(std::string_view text, F&& f) {
  auto doc = parse(text);
  if (!doc) return tl::unexpected(doc.error());
  try {
    return f(*doc);
  } catch (const json::exception& e) {
    return fail(fmt::format("unexpected reply from the daemon: {}", e.what()));
  }
}

}  // namespace

Result<std::string> format_dataplane_stats(std::string_view text) {
  return guarded(text, [](const json& d) {
    std::string out;
    const json& t = d.at("totals");
    out += fmt::format("generation {}\n\n", num(d, "generation"));
    out += fmt::format("{:>14} {:>14} {:>12} {:>12} {:>12} {:>12} {:>12}\n", "rx", "forwarded",
                       "replied", "passed", "dropped", "new flows", "tx dropped");
    out += fmt::format("{:>14} {:>14} {:>12} {:>12} {:>12} {:>12} {:>12}\n", num(t, "rx"),
                       num(t, "forwarded"), num(t, "replied"), num(t, "passed"), num(t, "dropped"),
                       num(t, "new_flows"), num(t, "tx_dropped"));
    bool any_drop = false;
    for (auto it = d.at("drops").begin(); it != d.at("drops").end(); ++it) {
      if (it->get<uint64_t>() == 0) continue;
      if (!any_drop) out += "\nDROPS BY REASON\n";
      any_drop = true;
      out += fmt::format("  {:<28} {:>12}\n", it.key(), it->get<uint64_t>());
    }
    out += fmt::format("\n{:<28} {:>14} {:>16} {:>12}\n", "VIP", "packets", "bytes", "new flows");
    for (const json& v : d.at("vips")) {
      out += fmt::format("{:<28} {:>14} {:>16} {:>12}\n", str(v.at("vip")), num(v, "packets"),
                         num(v, "bytes"), num(v, "new_flows"));
    }
    out += fmt::format("\n{:<28} {:<26} {:>6} {:>7} {:>14} {:>16}\n", "VIP", "BACKEND", "weight",
                       "slots", "packets", "bytes");
    for (const json& b : d.at("backends")) {
      out += fmt::format("{:<28} {:<26} {:>6} {:>7} {:>14} {:>16}\n", str(b.at("vip")),
                         str(b.at("address")), num(b, "weight"), num(b, "slots"), num(b, "packets"),
                         num(b, "bytes"));
    }
    out += fmt::format("\n{:<6} {:>14} {:>14} {:>10} {:>10} {:>10} {:>10}\n", "LCORE", "rx",
                       "forwarded", "flows", "capacity", "evictions", "generation");
    for (const json& l : d.at("lcores")) {
      out += fmt::format("{:<6} {:>14} {:>14} {:>10} {:>10} {:>10} {:>10}\n", num(l, "lcore"),
                         num(l, "rx"), num(l, "forwarded"), num(l, "flows"),
                         num(l, "flow_capacity"), num(l, "flow_evictions"), num(l, "generation"));
    }
    out += fmt::format("\n{:<6} {:<16} {:>14} {:>14} {:>10} {:>10}\n", "PORT", "NAME", "ipackets",
                       "opackets", "imissed", "oerrors");
    for (const json& p : d.at("ports")) {
      out += fmt::format("{:<6} {:<16} {:>14} {:>14} {:>10} {:>10}\n", num(p, "port"),
                         str(p.at("name")), num(p, "ipackets"), num(p, "opackets"),
                         num(p, "imissed"), num(p, "oerrors"));
    }
    return out;
  });
}

Result<std::string> format_dataplane_status(std::string_view text) {
  return guarded(text, [](const json& d) {
    std::string out;
    out += fmt::format("steer-dataplane {} pid {}, up {:.1f} s, generation {}\n",
                       str(d.at("version")), d.at("pid").get<int64_t>(),
                       d.at("uptime_s").get<double>(), num(d, "generation"));
    out +=
        fmt::format("workers: {}, {}\n", d.at("alive").get<bool>() ? "all alive" : "NOT ALL ALIVE",
                    d.at("switched").get<bool>() ? "all on the current generation"
                                                 : "some on an older generation");
    out += fmt::format("\n{:<6} {:<6} {:>14} {:>16} {:>10}\n", "LCORE", "ALIVE", "heartbeat ms",
                       "iterations", "generation");
    for (const json& w : d.at("workers")) {
      out += fmt::format("{:<6} {:<6} {:>14.1f} {:>16} {:>10}\n", num(w, "lcore"),
                         w.at("alive").get<bool>() ? "yes" : "NO",
                         w.at("heartbeat_age_ms").get<double>(), num(w, "iterations"),
                         num(w, "generation"));
    }
    out += fmt::format("\n{:<6} {:<16} {:<18} {:>6} {:<5} {}\n", "PORT", "NAME", "MAC", "queues",
                       "LINK", "AF_XDP");
    for (const json& p : d.at("ports")) {
      out += fmt::format("{:<6} {:<16} {:<18} {:>6} {:<5} {}\n", num(p, "port"), str(p.at("name")),
                         str(p.at("mac")), num(p, "queues"),
                         p.at("link_up").get<bool>() ? "up" : "down", str(p.at("af_xdp_iface")));
    }
    const json& e = d.at("egress");
    out += fmt::format("\negress: {} -> {} (gateway {}{}), MTU {}\n", str(e.at("src_mac")),
                       str(e.at("dst_mac")), str(e.at("gateway")),
                       e.at("gateway_resolved").get<bool>() ? "" : ", NOT RESOLVED", num(e, "mtu"));
    return out;
  });
}

Result<std::string> format_dataplane_flow(std::string_view text) {
  return guarded(text, [](const json& d) {
    std::string out;
    out += fmt::format("backend: {}\nwhy:     {}\n", str(d.at("backend")), str(d.at("reason")));
    if (d.contains("vip") && !d.at("vip").is_null()) {
      const json& m = d.at("maglev");
      out += fmt::format("vip:     {} (hash {})\nflow hash {}; Maglev slot {} of {} -> {}\n",
                         str(d.at("vip")), str(d.at("hash_mode")), str(d.at("flow_hash")),
                         num(m, "slot"), num(m, "table_size"), str(m.at("backend")));
      for (const json& e : d.at("established")) {
        if (!e.at("answered").get<bool>()) {
          out += fmt::format("lcore {}: did not answer\n", num(e, "lcore"));
        } else {
          out += fmt::format("lcore {}: established on {}, last packet {} ms ago\n",
                             num(e, "lcore"), str(e.at("backend")), num(e, "age_ms"));
        }
      }
    }
    return out;
  });
}

Result<std::string> format_dataplane_state(std::string_view text) {
  return guarded(text, [](const json& d) {
    std::string out = fmt::format("generation {}\n", num(d, "generation"));
    for (const json& v : d.at("vips")) {
      out += fmt::format("\n{} {} port {} ({}, {}, table {})\n", str(v.at("proto")),
                         str(v.at("address")), num(v, "port"), str(v.at("encap")),
                         str(v.at("hash")), num(v, "table_size"));
      for (const json& b : v.at("backends")) {
        out += fmt::format("  {:<40} weight {:>5}  {}\n", str(b.at("address")), num(b, "weight"),
                           str(b.at("state")));
      }
    }
    return out;
  });
}

Result<std::string> format_dataplane_apply(std::string_view text) {
  return guarded(text, [](const json& d) {
    std::string out =
        fmt::format("applied generation {}{}\n", num(d, "generation"),
                    d.at("switched").get<bool>() ? ", every worker switched"
                                                 : "; some workers have not switched yet");
    for (const json& w : d.at("warnings")) out += fmt::format("warning: {}\n", str(w));
    return out;
  });
}

}  // namespace steer::tools
