// DOC: the dataplane link — the subscriber that turns each published ServiceHealth into the
// dataplane's desired state (common/state_doc.h) and hands it to the DataplaneClient, which
// coalesces pushes. While the value says warm = false nothing is pushed (a restarted steerd
// adopts the running dataplane); every backend whose state is down is left out, drained ones
// go with their configured weight and "drain". It also owns the dataplane's part of
// `show status` and of /metrics. Control thread only.
#pragma once

#include <chrono>

#include "common/state_doc.h"
#include "control/dataplane_client.h"
#include "control/module.h"

namespace steer::control {

// The desired-state document for a service health.
doc::DesiredState desired_state(const ServiceHealth& health);

class DataplaneLink final : public Module {
 public:
  explicit DataplaneLink(DataplaneClient& client) : client_(client) {}

  void on_health(const ServiceHealthPtr& now) override;
  void status(nlohmann::json& doc) const override;
  void metrics(MetricsWriter& out) const override;
  void stop() override {}

 private:
  DataplaneClient& client_;
  std::shared_ptr<const Config> config_;  // the configuration of the last value
};

}  // namespace steer::control
