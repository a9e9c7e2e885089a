#include "tools/steerctl/dataplane_view.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/state_doc.h"
#include "tools/steerctl/json_view.h"

namespace steer::tools {

using nlohmann::json;

namespace {

uint64_t num(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}

}  // namespace

Result<std::string> format_dataplane_stats(std::string_view text) {
  auto parsed = doc::parse_stats(text);
  if (!parsed)
    return fail(fmt::format("unexpected reply from the daemon: {}", parsed.error().message));
  const doc::Stats& d = *parsed;
  std::string out;
  const doc::PacketCounters& t = d.totals;
  out += fmt::format("generation {}\n\n", d.generation);
  out += fmt::format("{:>14} {:>14} {:>12} {:>12} {:>12} {:>12} {:>12}\n", "rx", "forwarded",
                     "replied", "passed", "dropped", "new flows", "tx dropped");
  out += fmt::format("{:>14} {:>14} {:>12} {:>12} {:>12} {:>12} {:>12}\n", t.rx, t.forwarded,
                     t.replied, t.passed, t.dropped, t.new_flows, t.tx_dropped);
  bool any_drop = false;
  for (const auto& [reason, n] : d.drops) {
    if (n == 0) continue;
    if (!any_drop) out += "\nDROPS BY REASON\n";
    any_drop = true;
    out += fmt::format("  {:<28} {:>12}\n", reason, n);
  }
  out += fmt::format("\n{:<28} {:>14} {:>16} {:>12}\n", "VIP", "packets", "bytes", "new flows");
  for (const doc::VipStats& v : d.vips) {
    out += fmt::format("{:<28} {:>14} {:>16} {:>12}\n", v.key, v.packets, v.bytes, v.new_flows);
  }
  out += fmt::format("\n{:<28} {:<26} {:>6} {:>7} {:>14} {:>16}\n", "VIP", "BACKEND", "weight",
                     "slots", "packets", "bytes");
  for (const doc::BackendStats& b : d.backends) {
    out += fmt::format("{:<28} {:<26} {:>6} {:>7} {:>14} {:>16}\n", b.vip, b.address, b.weight,
                       b.slots, b.packets, b.bytes);
  }
  out += fmt::format("\n{:<6} {:>14} {:>14} {:>10} {:>10} {:>10} {:>10}\n", "LCORE", "rx",
                     "forwarded", "flows", "capacity", "evictions", "generation");
  for (const doc::LcoreStats& l : d.lcores) {
    out +=
        fmt::format("{:<6} {:>14} {:>14} {:>10} {:>10} {:>10} {:>10}\n", l.lcore, l.counters.rx,
                    l.counters.forwarded, l.flows, l.flow_capacity, l.flow_evictions, l.generation);
  }
  out += fmt::format("\n{:<6} {:<16} {:>14} {:>14} {:>10} {:>10}\n", "PORT", "NAME", "ipackets",
                     "opackets", "imissed", "oerrors");
  for (const doc::PortStats& p : d.ports) {
    out += fmt::format("{:<6} {:<16} {:>14} {:>14} {:>10} {:>10}\n", p.port, p.name, p.ipackets,
                       p.opackets, p.imissed, p.oerrors);
  }
  return out;
}

Result<std::string> format_dataplane_status(std::string_view text) {
  auto parsed = doc::parse_status(text);
  if (!parsed)
    return fail(fmt::format("unexpected reply from the daemon: {}", parsed.error().message));
  const doc::Status& d = *parsed;
  std::string out;
  out += fmt::format("steer-dataplane {} pid {}, up {:.1f} s, generation {}\n", d.version, d.pid,
                     d.uptime_s, d.generation);
  out += fmt::format("workers: {}, {}\n", d.alive ? "all alive" : "NOT ALL ALIVE",
                     d.switched ? "all on the current generation" : "some on an older generation");
  out += fmt::format("\n{:<6} {:<6} {:>14} {:>16} {:>10}\n", "LCORE", "ALIVE", "heartbeat ms",
                     "iterations", "generation");
  for (const doc::WorkerStatus& w : d.workers) {
    out += fmt::format("{:<6} {:<6} {:>14.1f} {:>16} {:>10}\n", w.lcore, w.alive ? "yes" : "NO",
                       w.heartbeat_age_ms, w.iterations, w.generation);
  }
  out += fmt::format("\n{:<6} {:<16} {:<18} {:>6} {:<5} {}\n", "PORT", "NAME", "MAC", "queues",
                     "LINK", "AF_XDP");
  for (const doc::PortStatus& p : d.ports) {
    out += fmt::format("{:<6} {:<16} {:<18} {:>6} {:<5} {}\n", p.port, p.name, p.mac, p.queues,
                       p.link_up ? "up" : "down", p.af_xdp_iface);
  }
  const doc::EgressStatus& e = d.egress;
  out += fmt::format("\negress: {} -> {} (gateway {}{}), MTU {}\n", e.src_mac, e.dst_mac, e.gateway,
                     e.gateway_resolved ? "" : ", NOT RESOLVED", e.mtu);
  return out;
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
  auto parsed = doc::parse_desired_state(text);
  if (!parsed)
    return fail(fmt::format("unexpected reply from the daemon: {}", parsed.error().message));
  const doc::DesiredState& d = *parsed;
  std::string out = fmt::format("generation {}\n", d.generation.value_or(0));
  for (const doc::Vip& v : d.vips) {
    out += fmt::format("\n{} {} port {} ({}, {}, table {})\n", v.key.proto, v.key.address,
                       v.key.port, v.encap, v.hash, v.table_size);
    for (const doc::Backend& b : v.backends) {
      out += fmt::format("  {:<40} weight {:>5}  {}\n", b.address, b.weight, b.state);
    }
  }
  return out;
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
