// DOC: port set-up for steer-dataplane: probe the configured devices, give each as many RX/TX
// queue pairs as there are worker lcores (capped by the device; RSS spreads flows over them
// when there is more than one), start them, and assign each worker its (port, queue) pairs.
// Main thread, at start-up and shut-down only.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "dataplane/runtime.h"

namespace steer::dataplane {

// EAL arguments steer adds for the configured ports (--vdev for each vdev port, with
// xdp_prog= for net_af_xdp; -a for PCI ports). Called before rte_eal_init.
std::vector<std::string> port_eal_args(const DataplaneConfig& config, const std::string& bpf_dir);

// Configures and starts every port; fills rt.ports and the workers' queue lists.
// rt.workers must already exist.
Result<void> setup_ports(Runtime& rt);

// Stops and closes every port (for net_af_xdp this detaches steer's XDP program).
void close_ports(Runtime& rt);

}  // namespace steer::dataplane
