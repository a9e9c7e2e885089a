#include "control/commands.h"

#include <charconv>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "common/clock.h"
#include "common/framing.h"
#include "common/version.h"

namespace steer::control {

using nlohmann::json;

namespace {

std::string ok_json(const json& doc, std::string_view text = "ok") {
  return reply_json(doc.dump(), text);
}

// The VIP an argument names, or the 8004 reply.
const VipHealth* find_vip(const ServiceHealth& h, std::string_view arg, std::string& error) {
  const VipConfig* v = h.config->find_vip(arg);
  if (v == nullptr) {
    error = reply_error(reply::kNotFound, fmt::format("no VIP '{}'", arg));
    return nullptr;
  }
  return h.vip(v->name);
}

std::string show_status(const Controller& c, const std::string& config_path) {
  const ServiceHealth& h = *c.health();
  json doc;
  doc["version"] = kVersion;
  doc["pid"] = getpid();
  doc["pop"] = {{"name", h.pop.name}, {"region", h.pop.region}};
  doc["config"] = config_path;
  doc["uptime_s"] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - c.started()).count();
  doc["warm"] = h.warm;
  doc["generation"] = h.generation;
  const health::CheckerStats hs = c.checker().stats();
  doc["probes"] = {{"targets", c.checker().keys().size()},
                   {"started", hs.probes_started},
                   {"done", hs.probes_done},
                   {"in_flight", hs.in_flight},
                   {"lag_p50_us", hs.lag_p50_us},
                   {"lag_p99_us", hs.lag_p99_us}};
  doc["vips"] = {{"configured", h.pop.vips}, {"healthy", h.pop.vips_healthy}};
  doc["health_changes"] = c.health_changes();
  doc["reloads"] = c.reloads();
  for (const Module* m : c.modules()) m->status(doc);
  return ok_json(doc);
}

std::string show_vips(const Controller& c, const CommandRequest& req) {
  const ServiceHealth& h = *c.health();
  const VipHealth* only = nullptr;
  if (!req.args.empty()) {
    std::string error;
    if ((only = find_vip(h, req.args[0], error)) == nullptr) return error;
  }
  const doc::StatsIndex& stats = c.dataplane().stats();
  json vips = json::array();
  for (const VipHealth& vv : h.vips) {
    if (only != nullptr && &vv != only) continue;
    const VipConfig& v = *vv.config;
    json j = {{"name", v.name},
              {"vip", v.key().to_string()},
              {"address", v.address.to_string()},
              {"proto", l4_proto_name(v.proto)},
              {"port", v.port},
              {"encap", v.encap},
              {"hash", v.hash},
              {"table_size", v.table_size},
              {"backends", v.backends.size()},
              {"up", vv.up},
              {"required", vv.required},
              {"healthy", vv.healthy}};
    if (const doc::VipStats* s = stats.vip(v.key())) {
      j["packets"] = s->packets;
      j["bytes"] = s->bytes;
      j["new_flows"] = s->new_flows;
    }
    vips.push_back(std::move(j));
  }
  return ok_json(json{{"vips", vips}});
}

json override_json(const std::optional<Override>& o) {
  if (!o) return nullptr;
  return {{"state", admin_state_name(o->admin)},
          {"weight", o->weight ? json(*o->weight) : json(nullptr)},
          {"scope", o->vip},
          {"uid", o->uid},
          {"user", o->user},
          {"since_unix_ms", o->since_unix_ms}};
}

std::string show_backends(const Controller& c, const CommandRequest& req) {
  const ServiceHealth& h = *c.health();
  const VipHealth* only = nullptr;
  if (!req.args.empty()) {
    std::string error;
    if ((only = find_vip(h, req.args[0], error)) == nullptr) return error;
  }
  const DataplaneClient& dp = c.dataplane();
  const double dt = std::chrono::duration<double>(dp.stats_at() - dp.previous_stats_at()).count();
  json out = json::array();
  for (const VipHealth& vv : h.vips) {
    if (only != nullptr && &vv != only) continue;
    const VipKey key = vv.config->key();
    for (const BackendHealth& b : vv.backends) {
      json j = {{"vip", vv.config->name},
                {"vip_address", key.to_string()},
                {"address", b.address.to_string()},
                {"config_weight", b.config_weight},
                {"weight", b.weight},
                {"health", health::state_name(b.health)},
                {"check", b.check},
                {"effective", backend_state_name(b.state)},
                {"why", b.why},
                {"admin", override_json(b.override_)}};
      if (const doc::BackendStats* now = dp.stats().backend(key, b.address)) {
        j["packets"] = now->packets;
        j["bytes"] = now->bytes;
        j["slots"] = now->slots;
        const doc::BackendStats* before = dp.previous_stats().backend(key, b.address);
        if (before != nullptr && dt > 0) {
          j["pps"] = static_cast<double>(now->packets - before->packets) / dt;
          j["bps"] = 8.0 * static_cast<double>(now->bytes - before->bytes) / dt;
        }
      }
      out.push_back(std::move(j));
    }
  }
  return ok_json(json{{"backends", out}});
}

std::string show_health(const Controller& c, const CommandRequest& req) {
  std::optional<IpAddress> only;
  if (!req.args.empty()) {
    only = IpAddress::parse(req.args[0]);
    if (!only) {
      return reply_error(reply::kBadArgument,
                         fmt::format("'{}' is not an IP address", req.args[0]));
    }
  }
  const Config& config = *c.health()->config;
  // What each target is for: a backend's check, a remote DNS PoP's probe, or steerd's probe
  // of its own DNS address.
  std::map<std::string, std::pair<IpAddress, std::string>> targets;
  for (const VipConfig& v : config.vips) {
    for (const BackendConfig& b : v.backends) {
      const std::string key = target_key(config, v, b);
      if (!key.empty()) targets.try_emplace(key, b.address, b.check);
    }
  }
  for (const health::Target& t : health_targets(config)) {
    targets.try_emplace(t.key, t.address, t.check.name);
  }
  json out = json::array();
  for (const auto& [key, what] : targets) {
    const auto& [address, check] = what;
    if (only && address != *only) continue;
    const health::TargetStatus* s = c.checker().status(key);
    if (s == nullptr) continue;
    json hist = json::array();
    for (const health::ProbeResult& r : s->history) {
      hist.push_back({{"at_unix_ms", unix_ms_of(r.at)},
                      {"ok", r.ok},
                      {"latency_us", r.latency.count()},
                      {"reason", r.reason}});
    }
    out.push_back({{"target", key},
                   {"address", address.to_string()},
                   {"check", check},
                   {"state", health::state_name(s->state)},
                   {"since_unix_ms", unix_ms_of(s->since)},
                   {"pending", s->pending},
                   {"probes", s->probes},
                   {"failures", s->failures},
                   {"last_failure", s->last_failure},
                   {"last_failure_unix_ms",
                    s->last_failure.empty() ? json(nullptr) : json(unix_ms_of(s->last_failure_at))},
                   {"history", hist}});
  }
  if (only && out.empty()) {
    return reply_error(reply::kNotFound, fmt::format("no health-checked backend {}", req.args[0]));
  }
  return ok_json(json{{"targets", out}});
}

std::string show_stats(const Controller& c) {
  const DataplaneClient& dp = c.dataplane();
  if (dp.stats_text().empty()) {
    return reply_error(reply::kNotReady,
                       "no dataplane statistics yet (" + dp.health_reason() + ")");
  }
  return reply_json(dp.stats_text());
}

std::string show_events(const Controller& c) {
  json ev = json::array();
  for (const Events::Event& e : c.events().list()) {
    ev.push_back(
        {{"at_unix_ms", e.at_unix_us / 1000}, {"at_unix_us", e.at_unix_us}, {"text", e.text}});
  }
  return ok_json(json{{"events", ev}});
}

void show_flow(Controller& c, const CommandRequest& req, const Respond& respond) {
  std::string q = "flow";
  for (std::string_view a : req.args) q += " " + std::string(a);
  c.dataplane().request(q, [respond](Result<Reply> r) {
    if (!r) return respond(reply_error(reply::kRuntimeError, r.error().message));
    if (!r->ok()) return respond(reply_error(r->code(), r->message()));
    respond(reply_json(r->text_of(reply::kJson)));
  });
}

// backend ACTION ADDRESS [VIP] (`admin` is what ACTION sets) / backend weight ADDRESS
// WEIGHT|default [VIP] (`admin` nullopt).
std::string backend(Controller& c, std::string_view action, std::optional<AdminState> admin,
                    const CommandRequest& req) {
  const auto& args = req.args;
  auto address = IpAddress::parse(args[0]);
  if (!address) {
    return reply_error(reply::kBadArgument, fmt::format("'{}' is not an IP address", args[0]));
  }
  size_t next = 1;
  std::optional<uint32_t> weight;
  if (!admin) {
    if (args[1] != "default") {
      uint32_t w = 0;
      auto [p, ec] = std::from_chars(args[1].data(), args[1].data() + args[1].size(), w);
      if (ec != std::errc() || p != args[1].data() + args[1].size() || w > 65535) {
        return reply_error(reply::kBadArgument,
                           fmt::format("'{}' is not a weight 0..65535", args[1]));
      }
      weight = w;
    }
    next = 2;
  }
  const Config& config = c.config();
  std::string scope = "*";
  if (args.size() > next) {
    const VipConfig* v = config.find_vip(args[next]);
    if (v == nullptr) return reply_error(reply::kNotFound, fmt::format("no VIP '{}'", args[next]));
    scope = v->name;
  }
  bool known = false;
  for (const VipConfig& v : config.vips) {
    if (scope != "*" && v.name != scope) continue;
    for (const BackendConfig& b : v.backends) known = known || b.address == *address;
  }
  if (!known) {
    return reply_error(reply::kNotFound, fmt::format("{} is not a backend of {}", *address,
                                                     scope == "*" ? "any VIP" : scope));
  }
  Override o;
  if (const Override* cur = c.overrides().find(scope, *address); cur && cur->vip == scope) o = *cur;
  o.vip = scope;
  o.address = *address;
  o.uid = req.peer.uid;
  o.user = req.peer.user;
  o.since_unix_ms = unix_ms_now();
  if (admin) {
    o.admin = *admin;
  } else {
    o.weight = weight;
  }
  const std::string what =
      admin ? fmt::format("{} {}", action, *address)
            : fmt::format("weight {} {}", *address, weight ? std::to_string(*weight) : "default");
  if (auto r = c.set_override(o, req.peer, what); !r) {
    return reply_error(reply::kRuntimeError, r.error().message);
  }
  json doc = {{"address", address->to_string()},
              {"scope", scope},
              {"admin", admin_state_name(o.admin)},
              {"weight", o.weight ? json(*o.weight) : json(nullptr)}};
  return ok_json(doc, "done");
}

std::string configure(Controller& c, const Peer& peer) {
  auto d = c.reload(peer.user.empty() ? fmt::format("uid {}", peer.uid) : peer.user);
  if (!d) return reply_error(reply::kConfigInvalid, d.error().message);
  return ok_json(json{{"changes", d->summary()}, {"restart_needed", d->restart_needed}},
                 d->empty() ? "no change" : "reconfigured");
}

std::string configure_check(const Controller& c) {
  auto d = c.check();
  if (!d) {
    std::string text = format_errors(d.error());
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return reply_error(reply::kConfigInvalid, text);
  }
  return ok_json(json{{"valid", true}, {"changes", d->summary()}}, "valid");
}

}  // namespace

void register_controller_commands(CommandTable& t, Controller& c, std::string config_path) {
  // Handlers answering at once, as a one-liner.
  auto now = [](auto fn) {
    return [fn](const CommandRequest& req, const Respond& respond) { respond(fn(req)); };
  };
  t.add({"show status", "", "versions, uptime, warm-up, dataplane liveness, probes, BGP", 0, 0, "",
         now([&c, path = std::move(config_path)](const CommandRequest&) {
           return show_status(c, path);
         })});
  t.add({"show vips", "[VIP]", "VIPs with their health and traffic", 0, 1, "",
         now([&c](const CommandRequest& r) { return show_vips(c, r); })});
  t.add({"show backends", "[VIP]", "backends: weight, health, override, traffic, and why", 0, 1, "",
         now([&c](const CommandRequest& r) { return show_backends(c, r); })});
  t.add({"show health", "[ADDRESS]", "health-check history with reasons", 0, 1, "",
         now([&c](const CommandRequest& r) { return show_health(c, r); })});
  t.add({"show stats", "", "the dataplane's counters and drops by reason", 0, 0, "",
         now([&c](const CommandRequest&) { return show_stats(c); })});
  t.add({"show events", "", "recent events: health, overrides, reloads, dataplane, BGP", 0, 0, "",
         now([&c](const CommandRequest&) { return show_events(c); })});
  t.add({"show flow", "PROTO SRC SPORT DST DPORT", "which backend a flow gets, and why", 5, 5, "",
         [&c](const CommandRequest& r, const Respond& respond) { show_flow(c, r, respond); }});
  struct Action {
    const char* word;
    AdminState admin;
    const char* help;
  };
  for (const Action& a :
       {Action{"drain", AdminState::Drain, "weight 0: established flows stay, no new ones"},
        Action{"undrain", AdminState::None, "follow health again"},
        Action{"disable", AdminState::Disable, "out of the dataplane: its flows move"},
        Action{"enable", AdminState::None, "follow health again"},
        Action{"force-up", AdminState::ForceUp, "in service whatever the checks say"},
        Action{"auto", AdminState::None, "clear the admin override: follow health"}}) {
    t.add({fmt::format("backend {}", a.word), "ADDRESS [VIP]", a.help, 1, 2, "change backends",
           now([&c, a](const CommandRequest& r) { return backend(c, a.word, a.admin, r); })});
  }
  t.add({"backend weight", "ADDRESS WEIGHT|default [VIP]", "set or clear a weight override", 2, 3,
         "change backends",
         now([&c](const CommandRequest& r) { return backend(c, "weight", std::nullopt, r); })});
  t.add({"configure", "", "reload the configuration file: validate, diff, apply what changed", 0, 0,
         "reload the configuration",
         now([&c](const CommandRequest& r) { return configure(c, r.peer); })});
  t.add({"configure check", "", "validate the file and list what a reload would change", 0, 0, "",
         now([&c](const CommandRequest&) { return configure_check(c); })});
}

}  // namespace steer::control
