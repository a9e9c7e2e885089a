#include "control/bgp_link.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "common/framing.h"

namespace steer::control {

using nlohmann::json;

namespace {

constexpr std::string_view kNoBgp =
    "BGP is off: steerd's configuration has no [bgp] table (docs/bgp.md)";

std::string ok_json(const json& doc, std::string_view text = "ok") {
  return reply_json(doc.dump(), text);
}

}  // namespace

BgpLink::BgpLink(asio::io_context& io, CommandTable& commands, Events& events,
                 bgp::Announcer::BirdFactory bird)
    : io_(io), events_(events), bird_(std::move(bird)) {
  register_commands(commands);
}

BgpLink::~BgpLink() { stop(); }

void BgpLink::stop() {
  stopped_ = true;
  if (announcer_) announcer_->stop();
}

void BgpLink::on_health(const ServiceHealthPtr& now) {
  if (stopped_) return;
  const Config& c = *now->config;
  const bool config_changed = !health_ || health_->config != now->config;
  health_ = now;
  if (!c.bgp) {
    if (announcer_) {
      events_.add(
          "bgp: [bgp] removed: steerd stops driving BIRD (BIRD keeps its routes as they are)");
      announcer_.reset();  // stops it: no callback of it runs afterwards
    }
    return;
  }
  if (!announcer_) {
    const std::string overrides =
        (std::filesystem::path(c.state_dir) / "bgp-overrides.json").string();
    announcer_ = std::make_unique<bgp::Announcer>(io_, *c.bgp, overrides, events_.sink(), bird_);
    announcer_->on_decision = [this](const bgp::RouteDecision&) {
      if (decision_hook_)
        asio::post(io_, [this] {
          if (decision_hook_ && !stopped_) decision_hook_();
        });
    };
    announcer_->start();
  } else if (config_changed && announcer_->config() != *c.bgp) {
    announcer_->set_config(*c.bgp);
  }
  announcer_->update(
      now->routes, now->settled, now->dataplane == DataplaneHealth::Alive,
      fmt::format("{}: {}", dataplane_health_name(now->dataplane), now->dataplane_why));
}

std::vector<bgp::RouteDecision> BgpLink::decisions() const {
  return announcer_ ? announcer_->decisions() : std::vector<bgp::RouteDecision>{};
}

void BgpLink::status(json& doc) const {
  if (!announcer_) {
    doc["bgp"] = nullptr;
    return;
  }
  const auto routes = announcer_->decisions();
  const size_t announced = std::count_if(routes.begin(), routes.end(), [](const auto& d) {
    return d.state != bgp::RouteState::Withdrawn;
  });
  doc["bgp"] = {{"bird_connected", announcer_->bird_connected()},
                {"addresses", routes.size()},
                {"announced", announced},
                {"valve_holding", announcer_->valve_holding()}};
}

void BgpLink::metrics(MetricsWriter& out) const {
  if (announcer_) announcer_->metrics(out);
}

// The announce units an operator's word names: a [[bgp.group]] by name, or a VIP (its name,
// "ADDR:PORT/proto", or its address) — its address's unit, plus, with `with_groups`, every
// group that contains the VIP.
std::vector<std::string> BgpLink::units_named(std::string_view arg, bool with_groups) const {
  const Config& c = *health_->config;
  for (const bgp::GroupConfig& g : c.bgp->groups) {
    if (g.name == arg) return {announcer_->group_unit(g.name)};
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
  std::vector<std::string> out{announcer_->address_unit(*address)};
  if (!with_groups) return out;
  for (const bgp::GroupConfig& g : c.bgp->groups) {
    for (const std::string& name : g.vips) {
      const VipConfig* v = c.find_vip(name);
      if (v != nullptr && v->address == *address) {
        out.push_back(announcer_->group_unit(g.name));
        break;
      }
    }
  }
  return out;
}

std::string BgpLink::show(const CommandRequest& req) const {
  if (!announcer_) return reply_error(reply::kNotReady, kNoBgp);
  std::vector<std::string> only;
  if (!req.args.empty()) {
    only = units_named(req.args[0], true);
    if (only.empty()) {
      return reply_error(reply::kNotFound, fmt::format("no VIP or BGP group '{}'", req.args[0]));
    }
  }
  return ok_json(announcer_->show(only));
}

std::string BgpLink::set_admin(const CommandRequest& req, bgp::Admin admin) {
  if (!announcer_) return reply_error(reply::kNotReady, kNoBgp);
  auto units = units_named(req.args[0], false);
  if (units.empty()) {
    return reply_error(reply::kNotFound, fmt::format("no VIP or BGP group '{}'", req.args[0]));
  }
  auto r = announcer_->set_admin(units.front(), admin, req.peer);
  if (!r) return reply_error(reply::kRuntimeError, r.error().message);
  return ok_json(json{{"unit", units.front()},
                      {"override", admin == bgp::Admin::Auto ? "auto" : bgp::admin_name(admin)},
                      {"result", *r}},
                 "done");
}

void BgpLink::register_commands(CommandTable& t) {
  auto now = [](auto fn) {
    return [fn](const CommandRequest& req, const Respond& respond) { respond(fn(req)); };
  };
  t.add({"show bgp", "[VIP|GROUP]",
         "each route announced, draining or withdrawn, since when and why (with a name: its "
         "history)",
         0, 1, "", now([this](const CommandRequest& r) { return show(r); })});
  struct Action {
    const char* word;
    bgp::Admin admin;
    const char* help;
  };
  for (const Action& a :
       {Action{"announce", bgp::Admin::Announce, "announce whatever health says"},
        Action{"withdraw", bgp::Admin::Withdraw, "withdraw now"},
        Action{"drain", bgp::Admin::Drain, "announce with a lower preference, then withdraw"},
        Action{"undrain", bgp::Admin::Auto, "follow health again"},
        Action{"auto", bgp::Admin::Auto, "clear the BGP override: follow health"}}) {
    t.add({fmt::format("bgp {}", a.word), "VIP|GROUP", a.help, 1, 1, "change BGP announcements",
           now([this, admin = a.admin](const CommandRequest& r) { return set_admin(r, admin); })});
  }
  t.add({"bgp valve release", "", "let withdrawals held by the safety valve through for a window",
         0, 0, "change BGP announcements", now([this](const CommandRequest& r) {
           if (!announcer_) return reply_error(reply::kNotReady, kNoBgp);
           return ok_json(json{{"valve", announcer_->release_valve(r.peer)}}, "done");
         })});
  t.add({"bgp snippet", "", "the BIRD stanzas for steer's protocols", 0, 0, "",
         now([this](const CommandRequest&) {
           if (!announcer_) return reply_error(reply::kNotReady, kNoBgp);
           return ok_json(json{{"snippet", announcer_->snippet_text()}});
         })});
}

}  // namespace steer::control
