// DOC: steerd's /metrics: the controller's own families (steerd up, VIPs and backends with
// their traffic, probes), then every module's (control/module.h: the dataplane link, the
// BGP link, ...), in the Prometheus text exposition (common/metrics_text.h). Control thread.
#pragma once

#include <string>

#include "control/controller.h"

namespace steer::control {

std::string metrics_text(const Controller& controller);

}  // namespace steer::control
