// DOC: the BGP link — the subscriber that drives BIRD from the published ServiceHealth. It
// owns the bgp::Announcer while the configuration has a [bgp] table (made on the first value
// that has one, reconfigured when [bgp] changes, dropped when it goes: BIRD then keeps its
// routes as they are), hands it each value's routes (RouteHealth) with whether the value is
// settled and the dataplane alive, and registers the BGP commands: show bgp, bgp
// announce|withdraw|drain|undrain|auto, bgp valve release, bgp snippet. Its part of `show
// status` and /metrics come from the announcer's typed decisions. Control thread only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <asio.hpp>

#include "bgp/announcer.h"
#include "common/command_table.h"
#include "control/events.h"
#include "control/module.h"

namespace steer::control {

class BgpLink final : public Module {
 public:
  // `bird`: how the announcer makes its BIRD client (default: a real one on [bgp] socket).
  BgpLink(asio::io_context& io, CommandTable& commands, Events& events,
          bgp::Announcer::BirdFactory bird = {});
  ~BgpLink() override;

  void on_health(const ServiceHealthPtr& now) override;
  void status(nlohmann::json& doc) const override;
  void metrics(MetricsWriter& out) const override;
  void stop() override;

  // Null while the configuration has no [bgp].
  const bgp::Announcer* announcer() const { return announcer_.get(); }
  // Every route's decision (empty without [bgp]).
  std::vector<bgp::RouteDecision> decisions() const;
  // Called after each decided change of a route (after hold-downs and drains too, not only
  // on a new ServiceHealth): the DNS link follows the BGP decision.
  void on_decision(std::function<void()> hook) { decision_hook_ = std::move(hook); }

 private:
  void register_commands(CommandTable& t);
  // The announce units an operator's word names (see bgp_link.cc); empty when none.
  std::vector<std::string> units_named(std::string_view arg, bool with_groups) const;
  std::string show(const CommandRequest& req) const;
  std::string set_admin(const CommandRequest& req, bgp::Admin admin);

  asio::io_context& io_;
  Events& events_;
  bgp::Announcer::BirdFactory bird_;
  std::unique_ptr<bgp::Announcer> announcer_;
  ServiceHealthPtr health_;
  std::function<void()> decision_hook_;
  bool stopped_ = false;
};

}  // namespace steer::control
