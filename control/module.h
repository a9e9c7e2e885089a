// DOC: Module — what steerd's controller knows of a part that consumes the service health:
// the dataplane link, the BGP link (and the DNS responder). The controller publishes each
// new ServiceHealth to every module registered before start(), in registration order; a
// module contributes its part of `show status` and of /metrics, and registers its own CLI
// commands in the CommandTable when it is built. Control thread only.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "control/service_health.h"

namespace steer {
class MetricsWriter;
}

namespace steer::control {

class Module {
 public:
  virtual ~Module() = default;
  // A new published value. The first one comes from Controller::start(); every later input
  // change (a verdict, an override, a reload, the dataplane's health) brings another. The
  // value's config is the running configuration: a reload reaches modules this way.
  virtual void on_health(const ServiceHealthPtr& now) = 0;
  // This module's keys of the `show status` document.
  virtual void status(nlohmann::json& doc) const = 0;
  // This module's metric families.
  virtual void metrics(MetricsWriter& out) const = 0;
  // steerd is stopping: let go of sockets and timers; no callback may follow.
  virtual void stop() = 0;
};

}  // namespace steer::control
