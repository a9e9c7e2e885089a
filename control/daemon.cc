#include "control/daemon.h"

#include <charconv>
#include <filesystem>
#include <set>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "common/clock.h"
#include "common/framing.h"
#include "common/vip_label.h"

namespace steer::control {

using nlohmann::json;

namespace {

constexpr size_t kEvents = 200;
constexpr const char* kVersion = "0.1.0";

std::string ok_json(const json& doc, std::string_view text = "ok") {
  return reply_json(doc.dump(), text);
}
constexpr int kPermissionDenied = 8003;
constexpr int kNotFound = 8004;
constexpr int kConfigInvalid = 8005;

std::string vip_label(const VipConfig& v) { return steer::vip_label(v.address, v.port, v.proto); }

// The dataplane's stats JSON, indexed: per VIP label and per (VIP label, backend address).
struct StatsIndex {
  json doc;
  std::map<std::string, json> vips;
  std::map<std::pair<std::string, std::string>, json> backends;
  explicit StatsIndex(const std::string& text) {
    doc = json::parse(text.empty() ? "{}" : text, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) doc = json::object();
    if (doc.contains("vips")) {
      for (const json& v : doc["vips"]) vips[v.value("vip", "")] = v;
    }
    if (doc.contains("backends")) {
      for (const json& b : doc["backends"]) {
        backends[{b.value("vip", ""), b.value("address", "")}] = b;
      }
    }
  }
};

uint64_t u64(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}

}  // namespace

Daemon::Daemon(asio::io_context& io, Config config, std::string config_path, Overrides overrides,
               Log log)
    : io_(io),
      config_(std::move(config)),
      config_path_(std::move(config_path)),
      overrides_(std::move(overrides)),
      log_(std::move(log)),
      warmup_timer_(io) {}

void Daemon::start() {
  started_ = SteadyClock::now();
  checker_ = std::make_unique<health::Checker>(
      io_, [this](const std::string& key, health::State before, health::State now,
                  const health::ProbeResult& last) {
        ++health_changes_;
        event(fmt::format("{} {} -> {}{}", key, health::state_name(before), health::state_name(now),
                          last.ok ? "" : ": " + last.reason));
        recompute();
        if (!warm_ && checker_->all_settled()) {
          set_warm("warm-up over: every backend has a health verdict; pushing to the dataplane");
        }
      });
  DataplaneLinkOptions opt;
  opt.socket = config_.dataplane_socket;
  opt.push_interval = std::chrono::milliseconds(config_.push_interval_ms);
  opt.status_interval = std::chrono::milliseconds(config_.status_interval_ms);
  opt.stuck_after = std::chrono::milliseconds(config_.stuck_after_ms);
  dataplane_ = std::make_unique<DataplaneClient>(io_, opt, log_);
  dataplane_->on_health = [this](DataplaneHealth, DataplaneHealth now, const std::string& why) {
    event(fmt::format("dataplane {}: {}", dataplane_health_name(now), why));
    bgp_update();
  };
  if (config_.bgp.enabled) start_announcer();
  apply_targets();
  recompute();
  dataplane_->start();
  // Warm-up: hold pushes until every target has a verdict, at most warmup_max_ms.
  if (checker_->all_settled()) {
    set_warm("");
  } else {
    warmup_timer_.expires_after(std::chrono::milliseconds(config_.warmup_max_ms));
    warmup_timer_.async_wait([this](const asio::error_code& ec) {
      if (ec || warm_) return;
      set_warm("warm-up over after max_ms: some backends have no verdict yet (treated as down)");
    });
  }
  event(fmt::format("steerd {} started: {} VIPs, {} health targets", kVersion, config_.vips.size(),
                    checker_->keys().size()));
}

void Daemon::set_warm(std::string why) {
  warm_ = true;
  warmup_timer_.cancel();
  if (!why.empty()) event(std::move(why));
  dataplane_->enable_push(true);
  bgp_update();
}

void Daemon::start_announcer() {
  announcer_ = std::make_unique<bgp::Announcer>(
      io_, bgp_options(), [this](std::string_view text) { event(std::string(text)); });
  announcer_->start();
}

bgp::AnnouncerOptions Daemon::bgp_options() const {
  const BgpConfig& b = config_.bgp;
  bgp::AnnouncerOptions o;
  o.socket = b.socket;
  o.snippet = b.snippet;
  o.protocol_prefix = b.protocol_prefix;
  o.attributes.local_as = b.local_as;
  o.attributes.drain_prepend = b.drain_prepend;
  o.attributes.drain_communities = b.drain_communities;
  o.attributes.communities = b.communities;
  o.policy.announce_hold = std::chrono::milliseconds(b.announce_hold_ms);
  o.policy.min_interval = std::chrono::milliseconds(b.min_interval_ms);
  o.policy.drain = std::chrono::milliseconds(b.drain_ms);
  o.policy.valve_share = b.valve_share;
  o.policy.valve_window = std::chrono::milliseconds(b.valve_window_ms);
  o.reconcile = std::chrono::milliseconds(b.reconcile_ms);
  o.request_timeout = std::chrono::milliseconds(b.request_timeout_ms);
  o.overrides_path = (std::filesystem::path(config_.state_dir) / "bgp-overrides.json").string();
  return o;
}

// One unit per VIP address (healthy when all, or any, per [bgp] announce, of its VIPs are)
// and one per [[bgp.group]] (the same over the group's VIPs).
void Daemon::bgp_update() {
  if (!announcer_ || !dataplane_) return;
  auto combine = [](bgp::UnitHealth& u, const VipView& vv, bool all) {
    const bool first = u.vips.empty();
    u.vips.push_back(vv.config->name);
    u.healthy = first ? vv.healthy : (all ? u.healthy && vv.healthy : u.healthy || vv.healthy);
    u.health += fmt::format("{}{} {}/{} up (needs {})", first ? "" : "; ", vv.config->name, vv.up,
                            vv.backends.size(), vv.required);
  };
  std::map<IpAddress, bgp::UnitHealth> addresses;
  for (const VipView& vv : views_) {
    bgp::UnitHealth& u = addresses[vv.config->address];
    u.route = IpPrefix::host(vv.config->address);
    combine(u, vv, config_.bgp.announce_all);
  }
  std::vector<bgp::UnitHealth> list;
  for (auto& [address, u] : addresses) list.push_back(std::move(u));
  for (const BgpGroupConfig& g : config_.bgp.groups) {
    bgp::UnitHealth u;
    u.route = g.prefix;
    u.group = g.name;
    for (const std::string& name : g.vips) {
      for (const VipView& vv : views_) {
        if (vv.config->name == name) combine(u, vv, g.announce_all);
      }
    }
    list.push_back(std::move(u));
  }
  for (bgp::UnitHealth& u : list) {
    u.health = fmt::format("{}: {}", u.healthy ? "healthy" : "unhealthy", u.health);
  }
  const DataplaneHealth h = dataplane_->health();
  // BGP waits for the dataplane's first verdict too: a steerd restart must not withdraw
  // everything because it has not heard from the dataplane yet.
  const bool warm = warm_ && h != DataplaneHealth::Unknown;
  announcer_->update(std::move(list), warm, h == DataplaneHealth::Alive,
                     fmt::format("{}: {}", dataplane_health_name(h), dataplane_->health_reason()));
}

void Daemon::stop() {
  if (announcer_) announcer_->stop();
  warmup_timer_.cancel();
  if (checker_) checker_->set_targets({});
  if (dataplane_) dataplane_->stop();
}

void Daemon::event(std::string text) {
  log_(text);
  events_.push_back(Event{unix_us_now(), std::move(text)});
  while (events_.size() > kEvents) events_.pop_front();
}

health::State Daemon::health_of(const std::string& key) const {
  const health::TargetStatus* s = checker_ ? checker_->status(key) : nullptr;
  return s ? s->state : health::State::Unknown;
}

void Daemon::apply_targets() {
  std::map<std::string, health::Target> targets;
  for (const VipConfig& v : config_.vips) {
    for (const BackendConfig& b : v.backends) {
      const std::string key = target_key(config_, v, b);
      if (key.empty() || targets.count(key)) continue;
      targets[key] =
          health::Target{key, b.address, target_port(config_, v, b), config_.checks.at(b.check)};
    }
  }
  std::vector<health::Target> list;
  for (auto& [k, t] : targets) list.push_back(std::move(t));
  checker_->set_targets(std::move(list));
}

void Daemon::recompute() {
  views_ = compute_views(
      config_, [this](const std::string& key) { return health_of(key); }, overrides_);
  dataplane_->set_desired(desired_state_json(views_));
  bgp_update();
}

Result<ConfigDiff> Daemon::reload(const std::string& who) {
  auto next = load_config(config_path_);
  if (!next) {
    event(fmt::format("reload by {} rejected: {} error(s)", who, next.error().size()));
    std::string text = format_errors(next.error());
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return fail(std::move(text));
  }
  ConfigDiff d = diff_configs(config_, *next);
  ++reloads_;
  if (d.empty()) {
    event(fmt::format("reload by {}: no change", who));
    return d;
  }
  config_ = std::move(*next);
  if (config_.bgp.enabled && !announcer_) {
    start_announcer();
  } else if (!config_.bgp.enabled && announcer_) {
    event("bgp: [bgp] removed: steerd stops driving BIRD (BIRD keeps its routes as they are)");
    announcer_.reset();  // stops it: no callback of it runs afterwards
  } else if (announcer_) {
    announcer_->set_options(bgp_options());
  }
  apply_targets();
  recompute();
  event(fmt::format("reload by {}: {}", who, d.summary()));
  return d;
}

void Daemon::handle(std::string_view line, const Peer& peer,
                    std::function<void(std::string)> reply) {
  const Request req = split_request(line);
  const auto args = split_words(req.rest);
  if (req.command.empty()) {
    reply(reply_error(reply::kUnknownCommand, "empty request"));
    return;
  }
  if (req.command == "show") {
    if (args.empty()) {
      reply(reply_error(reply::kBadArgument,
                        "usage: show status|vips|backends|health|stats|flow|events ..."));
      return;
    }
    const std::string_view what = args[0];
    const std::string_view arg = args.size() > 1 ? args[1] : std::string_view();
    if (args.size() > 2 && what != "flow") {
      reply(reply_error(reply::kBadArgument, fmt::format("show {}: too many arguments", what)));
      return;
    }
    if (what == "status") return reply(cmd_show_status());
    if (what == "vips") return reply(cmd_show_vips(arg));
    if (what == "backends") return reply(cmd_show_backends(arg));
    if (what == "health") return reply(cmd_show_health(arg));
    if (what == "stats") return reply(cmd_show_stats());
    if (what == "bgp") return reply(cmd_show_bgp(arg));
    if (what == "events") {
      json ev = json::array();
      for (const Event& e : events_) {
        ev.push_back(
            {{"at_unix_ms", e.at_unix_us / 1000}, {"at_unix_us", e.at_unix_us}, {"text", e.text}});
      }
      return reply(ok_json(json{{"events", ev}}));
    }
    if (what == "flow") {
      if (args.size() != 6) {
        return reply(reply_error(reply::kBadArgument,
                                 "usage: show flow <tcp|udp> <src> <sport> <dst> <dport>"));
      }
      std::string q = "flow";
      for (size_t i = 1; i < args.size(); ++i) q += " " + std::string(args[i]);
      dataplane_->request(q, [reply](Result<Reply> r) {
        if (!r) return reply(reply_error(reply::kRuntimeError, r.error().message));
        if (!r->ok()) return reply(reply_error(r->code(), r->message()));
        reply(reply_json(r->text_of(reply::kJson)));
      });
      return;
    }
    return reply(reply_error(reply::kUnknownCommand,
                             fmt::format("unknown 'show {}' (status, vips, backends, health, "
                                         "stats, flow, events, bgp)",
                                         what)));
  }
  if (req.command == "backend") return reply(cmd_backend(args, peer));
  if (req.command == "bgp") return reply(cmd_bgp(args, peer));
  if (req.command == "configure") return reply(cmd_configure(args, peer));
  if (req.command == "help") {
    return reply(ReplyWriter()
                     .line(1001,
                           "show status | vips [VIP] | backends [VIP] | health [BACKEND] | "
                           "stats | events | flow PROTO SRC SPORT DST DPORT")
                     .line(1001,
                           "backend drain|undrain|disable|enable|force-up|auto ADDRESS "
                           "[VIP]")
                     .line(1001, "backend weight ADDRESS WEIGHT|default [VIP]")
                     .line(1001, "configure [check]")
                     .line(1001, "show bgp [VIP] | bgp snippet")
                     .line(1001, "bgp announce|withdraw|drain|undrain|auto VIP | bgp valve release")
                     .finish(reply::kOk, "ok"));
  }
  reply(reply_error(reply::kUnknownCommand,
                    fmt::format("unknown command '{}' (try 'help')", req.command)));
}

std::string Daemon::cmd_show_status() const {
  json doc;
  doc["version"] = kVersion;
  doc["pid"] = getpid();
  doc["pop"] = {{"name", config_.pop_name}, {"region", config_.pop_region}};
  doc["config"] = config_path_;
  doc["uptime_s"] = std::chrono::duration<double>(SteadyClock::now() - started_).count();
  doc["warm"] = warm_;
  const auto since = std::chrono::duration<double>(SteadyClock::now() - dataplane_->health_since());
  json dp = {{"socket", config_.dataplane_socket},
             {"health", dataplane_health_name(dataplane_->health())},
             {"reason", dataplane_->health_reason()},
             {"since_s", since.count()},
             {"connected", dataplane_->connected()},
             {"pushed_generation", dataplane_->pushed_generation()},
             {"pushes", dataplane_->pushes()},
             {"push_failures", dataplane_->push_failures()},
             {"last_push_error", dataplane_->last_push_error()}};
  json pushes = json::array();
  for (const auto& p : dataplane_->recent_pushes()) {
    pushes.push_back({{"generation", p.generation}, {"acked_unix_us", p.acked_unix_us}});
  }
  dp["recent_pushes"] = std::move(pushes);
  json st = json::parse(dataplane_->last_status().empty() ? "{}" : dataplane_->last_status(),
                        nullptr, false);
  if (!st.is_discarded()) dp["status"] = st;
  doc["dataplane"] = std::move(dp);
  const health::Checker::Stats hs = checker_->stats();
  doc["probes"] = {{"targets", checker_->keys().size()},
                   {"started", hs.probes_started},
                   {"done", hs.probes_done},
                   {"in_flight", hs.in_flight},
                   {"lag_p50_us", hs.lag_p50_us},
                   {"lag_p99_us", hs.lag_p99_us}};
  uint32_t healthy = 0;
  for (const VipView& v : views_) healthy += v.healthy;
  doc["vips"] = {{"configured", views_.size()}, {"healthy", healthy}};
  if (announcer_) {
    const json b = announcer_->show({});
    size_t announced = 0;
    for (const json& u : b["units"]) announced += u["state"] != "withdrawn";
    doc["bgp"] = {{"bird_connected", b["bird"]["connected"]},
                  {"addresses", b["units"].size()},
                  {"announced", announced},
                  {"valve_holding", b["valve"]["holding"]}};
  } else {
    doc["bgp"] = nullptr;
  }
  doc["health_changes"] = health_changes_;
  doc["reloads"] = reloads_;
  return ok_json(doc);
}

std::string Daemon::cmd_show_vips(std::string_view vip) const {
  const VipConfig* only = nullptr;
  if (!vip.empty()) {
    only = config_.find_vip(vip);
    if (only == nullptr) return reply_error(kNotFound, fmt::format("no VIP '{}'", vip));
  }
  StatsIndex stats(dataplane_->last_stats());
  json vips = json::array();
  for (const VipView& vv : views_) {
    if (only != nullptr && vv.config != only) continue;
    const VipConfig& v = *vv.config;
    const std::string label = vip_label(v);
    json j = {{"name", v.name},
              {"vip", label},
              {"address", v.address.to_string()},
              {"proto", v.proto == 17 ? "udp" : "tcp"},
              {"port", v.port},
              {"encap", v.encap},
              {"hash", v.hash},
              {"table_size", v.table_size},
              {"backends", v.backends.size()},
              {"up", vv.up},
              {"required", vv.required},
              {"healthy", vv.healthy}};
    if (auto it = stats.vips.find(label); it != stats.vips.end()) {
      j["packets"] = u64(it->second, "packets");
      j["bytes"] = u64(it->second, "bytes");
      j["new_flows"] = u64(it->second, "new_flows");
    }
    vips.push_back(std::move(j));
  }
  return ok_json(json{{"vips", vips}});
}

std::string Daemon::cmd_show_backends(std::string_view vip) const {
  const VipConfig* only = nullptr;
  if (!vip.empty()) {
    only = config_.find_vip(vip);
    if (only == nullptr) return reply_error(kNotFound, fmt::format("no VIP '{}'", vip));
  }
  StatsIndex now(dataplane_->last_stats());
  StatsIndex before(dataplane_->previous_stats());
  const double dt =
      std::chrono::duration<double>(dataplane_->last_stats_at() - dataplane_->previous_stats_at())
          .count();
  json out = json::array();
  for (const VipView& vv : views_) {
    if (only != nullptr && vv.config != only) continue;
    const std::string label = vip_label(*vv.config);
    for (const BackendView& b : vv.backends) {
      json j = {{"vip", vv.config->name},
                {"vip_address", label},
                {"address", b.address.to_string()},
                {"config_weight", b.config_weight},
                {"weight", b.weight},
                {"health", health::state_name(b.health)},
                {"check", b.check},
                {"effective", b.effective},
                {"why", b.why}};
      if (b.override_ != nullptr) {
        const Override& o = *b.override_;
        j["admin"] = {{"state", admin_state_name(o.admin)},
                      {"weight", o.weight ? json(*o.weight) : json(nullptr)},
                      {"scope", o.vip},
                      {"uid", o.uid},
                      {"user", o.user},
                      {"since_unix_ms", o.since_unix_ms}};
      } else {
        j["admin"] = nullptr;
      }
      const auto key = std::make_pair(label, b.address.to_string());
      if (auto it = now.backends.find(key); it != now.backends.end()) {
        j["packets"] = u64(it->second, "packets");
        j["bytes"] = u64(it->second, "bytes");
        j["slots"] = u64(it->second, "slots");
        if (auto p = before.backends.find(key); p != before.backends.end() && dt > 0) {
          j["pps"] =
              static_cast<double>(u64(it->second, "packets") - u64(p->second, "packets")) / dt;
          j["bps"] =
              8.0 * static_cast<double>(u64(it->second, "bytes") - u64(p->second, "bytes")) / dt;
        }
      }
      out.push_back(std::move(j));
    }
  }
  return ok_json(json{{"backends", out}});
}

std::string Daemon::cmd_show_health(std::string_view backend) const {
  std::optional<IpAddress> only;
  if (!backend.empty()) {
    only = IpAddress::parse(backend);
    if (!only)
      return reply_error(reply::kBadArgument, fmt::format("'{}' is not an IP address", backend));
  }
  json out = json::array();
  std::set<std::string> seen;
  for (const VipConfig& v : config_.vips) {
    for (const BackendConfig& b : v.backends) {
      if (only && b.address != *only) continue;
      const std::string key = target_key(config_, v, b);
      if (key.empty() || !seen.insert(key).second) continue;
      const health::TargetStatus* s = checker_->status(key);
      if (s == nullptr) continue;
      json hist = json::array();
      for (const health::ProbeResult& r : s->history) {
        hist.push_back({{"at_unix_ms", unix_ms_of(r.at)},
                        {"ok", r.ok},
                        {"latency_us", r.latency.count()},
                        {"reason", r.reason}});
      }
      out.push_back(
          {{"target", key},
           {"address", b.address.to_string()},
           {"check", b.check},
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
  }
  if (only && out.empty()) {
    return reply_error(kNotFound, fmt::format("no health-checked backend {}", backend));
  }
  return ok_json(json{{"targets", out}});
}

std::string Daemon::cmd_show_stats() const {
  json st = json::parse(dataplane_->last_stats().empty() ? "null" : dataplane_->last_stats(),
                        nullptr, false);
  if (st.is_discarded() || st.is_null()) {
    return reply_error(reply::kNotReady,
                       "no dataplane statistics yet (" + dataplane_->health_reason() + ")");
  }
  return ok_json(st);
}

std::string Daemon::cmd_backend(const std::vector<std::string_view>& args, const Peer& peer) {
  if (args.size() < 2) {
    return reply_error(reply::kBadArgument,
                       "usage: backend drain|undrain|disable|enable|force-up|auto ADDRESS [VIP] | "
                       "backend weight ADDRESS WEIGHT|default [VIP]");
  }
  const std::string_view action = args[0];
  auto address = IpAddress::parse(args[1]);
  if (!address) {
    return reply_error(reply::kBadArgument, fmt::format("'{}' is not an IP address", args[1]));
  }
  size_t next = 2;
  std::optional<uint32_t> weight;
  bool weight_default = false;
  if (action == "weight") {
    if (args.size() < 3)
      return reply_error(reply::kBadArgument, "usage: backend weight ADDRESS WEIGHT|default [VIP]");
    if (args[2] == "default") {
      weight_default = true;
    } else {
      uint32_t w = 0;
      auto [p, ec] = std::from_chars(args[2].data(), args[2].data() + args[2].size(), w);
      if (ec != std::errc() || p != args[2].data() + args[2].size() || w > 65535) {
        return reply_error(reply::kBadArgument,
                           fmt::format("'{}' is not a weight 0..65535", args[2]));
      }
      weight = w;
    }
    next = 3;
  }
  std::string scope = "*";
  if (args.size() > next) {
    const VipConfig* v = config_.find_vip(args[next]);
    if (v == nullptr) return reply_error(kNotFound, fmt::format("no VIP '{}'", args[next]));
    scope = v->name;
    ++next;
  }
  if (args.size() > next) return reply_error(reply::kBadArgument, "too many arguments");
  bool known = false;
  for (const VipConfig& v : config_.vips) {
    if (scope != "*" && v.name != scope) continue;
    for (const BackendConfig& b : v.backends) known = known || b.address == *address;
  }
  if (!known) {
    return reply_error(kNotFound, fmt::format("{} is not a backend of {}", *address,
                                              scope == "*" ? "any VIP" : scope));
  }
  if (!peer.may_change) return denied(peer, "change backends");
  Override o;
  if (const Override* cur = overrides_.find(scope, *address); cur && cur->vip == scope) o = *cur;
  o.vip = scope;
  o.address = *address;
  o.uid = peer.uid;
  o.user = peer.user;
  o.since_unix_ms = unix_ms_now();
  if (action == "drain") {
    o.admin = AdminState::Drain;
  } else if (action == "disable") {
    o.admin = AdminState::Disable;
  } else if (action == "force-up") {
    o.admin = AdminState::ForceUp;
  } else if (action == "undrain" || action == "enable" || action == "auto") {
    o.admin = AdminState::None;
  } else if (action == "weight") {
    if (weight_default)
      o.weight.reset();
    else
      o.weight = weight;
  } else {
    return reply_error(reply::kBadArgument,
                       fmt::format("unknown backend action '{}' (drain, undrain, disable, enable, "
                                   "force-up, auto, weight)",
                                   action));
  }
  if (auto r = overrides_.set(o); !r) return reply_error(reply::kRuntimeError, r.error().message);
  event(fmt::format("uid {}{}: backend {} {}{} on {}", peer.uid,
                    peer.user.empty() ? "" : " (" + peer.user + ")", action, *address,
                    action == "weight" ? (weight ? fmt::format(" {}", *weight) : " default") : "",
                    scope == "*" ? "every VIP" : scope));
  recompute();
  json doc = {{"address", address->to_string()},
              {"scope", scope},
              {"admin", admin_state_name(o.admin)},
              {"weight", o.weight ? json(*o.weight) : json(nullptr)}};
  return ok_json(doc, "done");
}

namespace {

// The announce units an operator's word names: a [[bgp.group]] by name, or a VIP (its name,
// "ADDR:PORT/proto", or its address) — its address's unit, plus, with `with_groups`, every
// group that contains the VIP. Empty when the word names nothing.
std::vector<std::string> bgp_units(const Config& c, const bgp::Announcer& a, std::string_view arg,
                                   bool with_groups) {
  for (const BgpGroupConfig& g : c.bgp.groups) {
    if (g.name == arg) return {a.group_unit(g.name)};
  }
  std::optional<IpAddress> address;
  if (const VipConfig* v = c.find_vip(arg)) {
    address = v->address;
  } else if (auto ip = IpAddress::parse(arg)) {
    if (std::any_of(c.vips.begin(), c.vips.end(),
                    [&](const VipConfig& x) { return x.address == *ip; })) {
      address = ip;
    }
  }
  if (!address) return {};
  std::vector<std::string> out{a.address_unit(*address)};
  if (!with_groups) return out;
  for (const BgpGroupConfig& g : c.bgp.groups) {
    for (const std::string& name : g.vips) {
      const VipConfig* v = c.find_vip(name);
      if (v != nullptr && v->address == *address) {
        out.push_back(a.group_unit(g.name));
        break;
      }
    }
  }
  return out;
}

constexpr std::string_view kNoBgp =
    "BGP is off: steerd's configuration has no [bgp] table (docs/bgp.md)";
}  // namespace

std::string Daemon::cmd_show_bgp(std::string_view vip) const {
  if (!announcer_) return reply_error(reply::kNotReady, kNoBgp);
  std::vector<std::string> only;
  if (!vip.empty()) {
    only = bgp_units(config_, *announcer_, vip, true);
    if (only.empty()) return reply_error(kNotFound, fmt::format("no VIP or BGP group '{}'", vip));
  }
  return ok_json(announcer_->show(only));
}

std::string Daemon::cmd_bgp(const std::vector<std::string_view>& args, const Peer& peer) {
  constexpr std::string_view kUsage =
      "usage: bgp announce|withdraw|drain|undrain|auto VIP | bgp valve release | bgp snippet";
  if (args.empty()) return reply_error(reply::kBadArgument, kUsage);
  if (!announcer_) return reply_error(reply::kNotReady, kNoBgp);
  const std::string_view action = args[0];
  if (action == "snippet") {
    if (args.size() != 1) return reply_error(reply::kBadArgument, kUsage);
    return ok_json(json{{"snippet", announcer_->snippet_text()}});
  }
  const bool valve = action == "valve";
  std::optional<bgp::Admin> admin;
  if (action == "announce") admin = bgp::Admin::Announce;
  if (action == "withdraw") admin = bgp::Admin::Withdraw;
  if (action == "drain") admin = bgp::Admin::Drain;
  if (action == "undrain" || action == "auto") admin = bgp::Admin::Auto;
  if (!valve && !admin) {
    return reply_error(reply::kBadArgument,
                       fmt::format("unknown bgp action '{}' ({})", action, kUsage.substr(7)));
  }
  if (args.size() != 2 || (valve && args[1] != "release")) {
    return reply_error(reply::kBadArgument, kUsage);
  }
  std::string unit;
  if (!valve) {
    auto units = bgp_units(config_, *announcer_, args[1], false);
    if (units.empty()) {
      return reply_error(kNotFound, fmt::format("no VIP or BGP group '{}'", args[1]));
    }
    unit = units.front();
  }
  if (!peer.may_change) return denied(peer, "change BGP announcements");
  const bgp::Operator by{peer.uid, peer.user};
  if (valve) return ok_json(json{{"valve", announcer_->release_valve(by)}}, "done");
  auto r = announcer_->set_admin(unit, *admin, by);
  if (!r) return reply_error(reply::kRuntimeError, r.error().message);
  return ok_json(json{{"unit", unit},
                      {"override", admin == bgp::Admin::Auto ? "auto" : bgp::admin_name(*admin)},
                      {"result", *r}},
                 "done");
}

std::string Daemon::denied(const Peer& peer, std::string_view what) const {
  return reply_error(
      kPermissionDenied,
      fmt::format("permission denied: uid {} may read but not {} ({} may)", peer.uid, what,
                  config_.cli_group.empty()
                      ? std::string("root")
                      : fmt::format("root or group '{}'", config_.cli_group)));
}

std::string Daemon::cmd_configure(const std::vector<std::string_view>& args, const Peer& peer) {
  const bool check_only = !args.empty() && args[0] == "check";
  if (args.size() > 1 || (!args.empty() && !check_only)) {
    return reply_error(reply::kBadArgument, "usage: configure [check]");
  }
  if (check_only) {
    auto next = load_config(config_path_);
    if (!next) {
      std::string text = format_errors(next.error());
      while (!text.empty() && text.back() == '\n') text.pop_back();
      return reply_error(kConfigInvalid, text);
    }
    ConfigDiff d = diff_configs(config_, *next);
    return ok_json(json{{"valid", true}, {"changes", d.summary()}}, "valid");
  }
  if (!peer.may_change) return denied(peer, "reload the configuration");
  auto d = reload(peer.user.empty() ? fmt::format("uid {}", peer.uid) : peer.user);
  if (!d) return reply_error(kConfigInvalid, d.error().message);
  return ok_json(json{{"changes", d->summary()}, {"restart_needed", d->restart_needed}},
                 d->empty() ? "no change" : "reconfigured");
}

std::string Daemon::metrics_text() const {
  std::string out;
  auto esc = [](std::string_view s) {
    std::string r;
    for (char c : s) {
      if (c == '\\' || c == '"') r.push_back('\\');
      if (c == '\n') {
        r += "\\n";
        continue;
      }
      r.push_back(c);
    }
    return r;
  };
  auto head = [&](std::string_view name, std::string_view type, std::string_view help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  head("steer_up", "gauge", "1 while steerd runs");
  out += "steer_up 1\n";
  head("steer_dataplane_health", "gauge", "1 for the dataplane's current health state");
  for (DataplaneHealth h : {DataplaneHealth::Unknown, DataplaneHealth::Alive,
                            DataplaneHealth::Stuck, DataplaneHealth::Down}) {
    out += fmt::format("steer_dataplane_health{{state=\"{}\"}} {}\n", dataplane_health_name(h),
                       dataplane_->health() == h ? 1 : 0);
  }
  head("steer_dataplane_pushes_total", "counter", "desired states pushed to the dataplane");
  out += fmt::format("steer_dataplane_pushes_total {}\n", dataplane_->pushes());
  head("steer_dataplane_generation", "gauge", "generation of the last state pushed");
  out += fmt::format("steer_dataplane_generation {}\n", dataplane_->pushed_generation());
  json st = json::parse(dataplane_->last_status().empty() ? "{}" : dataplane_->last_status(),
                        nullptr, false);
  if (!st.is_discarded() && st.contains("workers")) {
    head("steer_dataplane_worker_alive", "gauge", "1 when the worker lcore's heartbeat is fresh");
    for (const json& w : st["workers"]) {
      out += fmt::format("steer_dataplane_worker_alive{{lcore=\"{}\"}} {}\n", u64(w, "lcore"),
                         w.value("alive", false) ? 1 : 0);
    }
    head("steer_dataplane_worker_generation", "gauge", "state generation the worker uses");
    for (const json& w : st["workers"]) {
      out += fmt::format("steer_dataplane_worker_generation{{lcore=\"{}\"}} {}\n", u64(w, "lcore"),
                         u64(w, "generation"));
    }
  }
  StatsIndex stats(dataplane_->last_stats());
  head("steer_vip_healthy", "gauge", "1 when the VIP has at least min_healthy backends up");
  for (const VipView& vv : views_) {
    out += fmt::format("steer_vip_healthy{{vip=\"{}\"}} {}\n", esc(vv.config->name),
                       vv.healthy ? 1 : 0);
  }
  head("steer_vip_packets_total", "counter", "client packets to the VIP");
  head("steer_vip_bytes_total", "counter", "client IP bytes to the VIP");
  head("steer_vip_new_flows_total", "counter", "flows the VIP's Maglev table placed");
  for (const VipView& vv : views_) {
    auto it = stats.vips.find(vip_label(*vv.config));
    if (it == stats.vips.end()) continue;
    const std::string l = fmt::format("vip=\"{}\"", esc(vv.config->name));
    out += fmt::format("steer_vip_packets_total{{{}}} {}\n", l, u64(it->second, "packets"));
    out += fmt::format("steer_vip_bytes_total{{{}}} {}\n", l, u64(it->second, "bytes"));
    out += fmt::format("steer_vip_new_flows_total{{{}}} {}\n", l, u64(it->second, "new_flows"));
  }
  head("steer_backend_up", "gauge", "1 when the backend is in service (effective state up)");
  head("steer_backend_health", "gauge", "health check: 1 up, 0 down, -1 not yet decided");
  head("steer_backend_weight", "gauge", "effective weight in the dataplane");
  head("steer_backend_packets_total", "counter", "client packets sent to the backend");
  head("steer_backend_bytes_total", "counter", "client IP bytes sent to the backend");
  for (const VipView& vv : views_) {
    const std::string label = vip_label(*vv.config);
    for (const BackendView& b : vv.backends) {
      const std::string l =
          fmt::format("vip=\"{}\",backend=\"{}\"", esc(vv.config->name), b.address.to_string());
      out += fmt::format("steer_backend_up{{{}}} {}\n", l, b.effective == "up" ? 1 : 0);
      out += fmt::format("steer_backend_health{{{}}} {}\n", l,
                         b.health == health::State::Up     ? 1
                         : b.health == health::State::Down ? 0
                                                           : -1);
      out += fmt::format("steer_backend_weight{{{}}} {}\n", l, b.weight);
      auto it = stats.backends.find({label, b.address.to_string()});
      if (it == stats.backends.end()) continue;
      out += fmt::format("steer_backend_packets_total{{{}}} {}\n", l, u64(it->second, "packets"));
      out += fmt::format("steer_backend_bytes_total{{{}}} {}\n", l, u64(it->second, "bytes"));
    }
  }
  head("steer_probe_latency_seconds", "gauge", "latency of the target's last probe");
  for (const std::string& key : checker_->keys()) {
    const health::TargetStatus* s = checker_->status(key);
    if (s == nullptr || s->history.empty()) continue;
    out += fmt::format("steer_probe_latency_seconds{{target=\"{}\"}} {:.6f}\n", esc(key),
                       static_cast<double>(s->history.back().latency.count()) / 1e6);
  }
  const health::Checker::Stats hs = checker_->stats();
  head("steer_probes_total", "counter", "health probes completed");
  out += fmt::format("steer_probes_total {}\n", hs.probes_done);
  head("steer_probe_start_lag_p99_seconds", "gauge", "p99 of how late probes start");
  out += fmt::format("steer_probe_start_lag_p99_seconds {:.6f}\n", hs.lag_p99_us / 1e6);
  if (stats.doc.contains("drops")) {
    head("steer_drops_total", "counter", "packets the dataplane dropped, by reason");
    for (auto it = stats.doc["drops"].begin(); it != stats.doc["drops"].end(); ++it) {
      out += fmt::format("steer_drops_total{{reason=\"{}\"}} {}\n", it.key(), it->get<uint64_t>());
    }
  }
  if (stats.doc.contains("lcores")) {
    head("steer_flow_table_entries", "gauge", "flows held in the worker's flow table");
    head("steer_flow_table_capacity", "gauge", "flows the worker's flow table can hold");
    for (const json& l : stats.doc["lcores"]) {
      out += fmt::format("steer_flow_table_entries{{lcore=\"{}\"}} {}\n", u64(l, "lcore"),
                         u64(l, "flows"));
      out += fmt::format("steer_flow_table_capacity{{lcore=\"{}\"}} {}\n", u64(l, "lcore"),
                         u64(l, "flow_capacity"));
    }
  }
  if (announcer_) out += announcer_->metrics();
  return out;
}

}  // namespace steer::control
