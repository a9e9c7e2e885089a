// DOC: steer-dataplane's own configuration (TOML): the API socket, the ports it polls, the
// flow-table size and the egress settings (next hop, outer sources, MTU). The VIPs and
// backends are not here: they arrive over the API socket (state_json.h).
//
// Example (docs/dataplane.md has every key):
//   [api]
//   socket = "/run/steer/dataplane.sock"
//   [dataplane]
//   flow_table_size = 1048576
//   [[port]]
//   vdev = "net_af_xdp0,iface=lb0"
//   [egress]
//   gateway = "10.0.1.1"
//   source_v4 = "10.0.1.2"
// Parsed once at start-up on the main thread; errors carry file:line:column.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/ip_address.h"
#include "common/result.h"

namespace steer::dataplane {

struct PortConfig {
  // Exactly one of these names the device.
  std::string vdev;     // a virtual device steer creates: "net_af_xdp0,iface=lb0"
  std::string pci;      // a PCI device: "0000:01:00.0"
  std::string name;     // an ethdev already created by the EAL command line (--vdev)
  uint32_t queues = 0;  // RX/TX queue pairs; 0 = one per worker lcore (capped by device)
  uint16_t rx_descriptors = 1024;
  uint16_t tx_descriptors = 1024;
  // Receive MTU (L3 bytes); 0 = the device's default (1500 on most NICs). Above what one
  // mbuf holds (2048 bytes of frame), RX scatter and multi-segment TX are switched on, and
  // the port fails to start on a device that offers neither (ports.cc).
  uint16_t mtu = 0;

  // The ethdev name steer probes/looks up ("net_af_xdp0" of "net_af_xdp0,iface=lb0").
  std::string device_name() const;
  // For net_af_xdp vdevs: the kernel interface (iface=...), else empty.
  std::string af_xdp_iface() const;
};

struct EgressConfig {
  uint16_t mtu = 1500;
  std::optional<IpAddress> gateway;                   // next hop: MAC from the neighbour table
  std::optional<std::array<uint8_t, 6>> gateway_mac;  // or given
  std::optional<std::array<uint8_t, 6>> source_mac;   // default: the port's MAC
  uint16_t vlan = 0;
  std::optional<IpAddress> source_v4;
  uint8_t source_v4_hash_bits = 0;
  std::optional<IpAddress> source_v6;
  uint8_t source_v6_hash_bits = 0;
};

struct DataplaneConfig {
  std::string api_socket = "/run/steer/dataplane.sock";
  uint32_t api_socket_mode = 0660;
  std::string api_socket_group;         // empty: the process's group
  uint32_t flow_table_size = 1u << 20;  // entries per worker lcore (power of two)
  uint32_t flow_timeout_tcp_s = 300;
  uint32_t flow_timeout_udp_s = 30;
  uint32_t flow_timeout_other_s = 30;
  uint32_t mbufs = 16383;      // per NUMA socket
  uint32_t idle_sleep_us = 0;  // >0: sleep after an empty poll round (labs, shared cores)
  uint32_t stuck_ms = 1000;    // a worker without a heartbeat for this long is reported stuck
  std::string bpf_dir;         // where steer_xsk.bpf.o lives; empty = built-in default
  // The last applied state is written here (atomically) and applied again at start-up, so a
  // restarted dataplane forwards before its controller reconnects. Empty: not kept.
  std::string state_file;
  std::vector<PortConfig> ports;
  EgressConfig egress;
};

Result<DataplaneConfig> parse_dataplane_config(std::string_view toml_text,
                                               std::string_view source_name);
// The file at `path` through parse_dataplane_config. Error: "cannot read PATH: <reason>"
// (common/file.h) or the parser's.
Result<DataplaneConfig> load_dataplane_config(const std::string& path);

Result<std::array<uint8_t, 6>> parse_mac(std::string_view text);
std::string format_mac(const std::array<uint8_t, 6>& mac);

}  // namespace steer::dataplane
