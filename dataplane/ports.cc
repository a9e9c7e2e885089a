#include "dataplane/ports.h"

#include <fmt/format.h>

#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

namespace steer::dataplane {

std::vector<std::string> port_eal_args(const DataplaneConfig& config, const std::string& bpf_dir) {
  std::vector<std::string> args;
  for (const PortConfig& p : config.ports) {
    if (!p.vdev.empty()) {
      std::string devargs = p.vdev;
      if (!p.af_xdp_iface().empty() && devargs.find("xdp_prog=") == std::string::npos) {
        devargs += ",xdp_prog=" + bpf_dir + "/steer_xsk.bpf.o";
      }
      args.push_back("--vdev");
      args.push_back(devargs);
    } else if (!p.pci.empty()) {
      args.push_back("-a");
      args.push_back(p.pci);
    }
  }
  return args;
}

namespace {

// Receive MTU `mtu` on a port, checked against the device's limits. A frame that can exceed
// one mbuf's data room (2048 bytes: 1500-byte packets with a VLAN tag fit with room to spare)
// arrives as a chain of mbufs, which most NICs do only with RX scatter on, and the worker
// forwards such a frame with its chain kept (worker.cc, process_multi_segment), which needs
// multi-segment TX: both are switched on where the device offers them. A device that offers
// neither but takes frames this long (max_rx_pktlen; software devices such as net_pcap
// chain on their own) is used as it is; one whose frames are shorter fails here.
Result<void> configure_mtu(const std::string& name, uint16_t mtu, const rte_eth_dev_info& info,
                           rte_eth_conf& conf) {
  if (mtu < info.min_mtu || mtu > info.max_mtu) {
    return fail(fmt::format("port {}: mtu {} is outside the device's {}..{}", name, mtu,
                            info.min_mtu, info.max_mtu));
  }
  const uint32_t max_frame = uint32_t{mtu} + RTE_ETHER_HDR_LEN + RTE_VLAN_HLEN;
  if (max_frame > info.max_rx_pktlen) {
    return fail(fmt::format("port {}: mtu {} needs {}-byte frames, the device takes {} at most",
                            name, mtu, max_frame, info.max_rx_pktlen));
  }
  conf.rxmode.mtu = mtu;
  if (max_frame <= RTE_MBUF_DEFAULT_DATAROOM) return {};
  conf.rxmode.offloads |= info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER;
  conf.txmode.offloads |= info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
  fmt::print(stderr,
             "steer-dataplane: port {}: mtu {}, frames of up to {} bytes in {}-byte mbufs: "
             "RX scatter {}, multi-segment TX {}\n",
             name, mtu, max_frame, RTE_MBUF_DEFAULT_DATAROOM,
             (conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_SCATTER)
                 ? "on"
                 : "not offered (the device chains itself)",
             (conf.txmode.offloads & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) ? "on" : "not offered");
  return {};
}

}  // namespace

Result<void> setup_ports(Runtime& rt) {
  const uint32_t workers = static_cast<uint32_t>(rt.workers.size());
  for (const PortConfig& pc : rt.config.ports) {
    const std::string name = pc.device_name();
    uint16_t port_id = 0;
    if (rte_eth_dev_get_port_by_name(name.c_str(), &port_id) != 0) {
      return fail(
          fmt::format("port {}: no such ethdev (check the vdev/pci/name in the config)", name));
    }
    rte_eth_dev_info info{};
    if (int rc = rte_eth_dev_info_get(port_id, &info); rc != 0) {
      return fail(fmt::format("port {}: rte_eth_dev_info_get: {}", name, rte_strerror(-rc)));
    }
    uint32_t queues = pc.queues ? pc.queues : workers;
    queues = std::min({queues, workers, static_cast<uint32_t>(info.max_rx_queues),
                       static_cast<uint32_t>(info.max_tx_queues)});
    if (queues == 0) return fail(fmt::format("port {}: device has no queues", name));

    const int socket = rte_eth_dev_socket_id(port_id);
    const std::string pool_name = fmt::format("steer_mb_{}", port_id);
    // Enough for every RX/TX ring, each worker's in-flight burst and the per-lcore caches.
    const uint32_t need =
        queues * (pc.rx_descriptors + pc.tx_descriptors) + workers * (kRxBurst + 512) + 1024;
    const uint32_t mbufs = std::max(rt.config.mbufs, need);
    rte_mempool* pool =
        rte_pktmbuf_pool_create(pool_name.c_str(), mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                socket < 0 ? static_cast<int>(SOCKET_ID_ANY) : socket);
    if (pool == nullptr) {
      return fail(
          fmt::format("port {}: cannot create a pool of {} mbufs: {} (more memory: -m, or "
                      "a smaller [dataplane] mbufs / descriptor counts)",
                      name, mbufs, rte_strerror(rte_errno)));
    }

    rte_eth_conf conf{};
    if (pc.mtu != 0) {
      if (auto r = configure_mtu(name, pc.mtu, info, conf); !r) return r;
    }
    if (queues > 1) {
      conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
      conf.rx_adv_conf.rss_conf.rss_key = nullptr;
      conf.rx_adv_conf.rss_conf.rss_hf =
          (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP) & info.flow_type_rss_offloads;
    }
    if (int rc = rte_eth_dev_configure(port_id, queues, queues, &conf); rc != 0) {
      return fail(fmt::format("port {}: rte_eth_dev_configure({} queues): {}", name, queues,
                              rte_strerror(-rc)));
    }
    uint16_t rxd = pc.rx_descriptors, txd = pc.tx_descriptors;
    rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &rxd, &txd);
    // At most the device's queue count, a uint16_t.
    const auto port_queues = static_cast<uint16_t>(queues);
    for (uint16_t q = 0; q < port_queues; ++q) {
      if (int rc = rte_eth_rx_queue_setup(port_id, q, rxd, socket, nullptr, pool); rc != 0) {
        return fail(fmt::format("port {}: RX queue {}: {}", name, q, rte_strerror(-rc)));
      }
      if (int rc = rte_eth_tx_queue_setup(port_id, q, txd, socket, nullptr); rc != 0) {
        return fail(fmt::format("port {}: TX queue {}: {}", name, q, rte_strerror(-rc)));
      }
    }
    if (int rc = rte_eth_dev_start(port_id); rc != 0) {
      return fail(fmt::format("port {}: start: {}", name, rte_strerror(-rc)));
    }
    PortInfo pi;
    pi.id = port_id;
    pi.name = name;
    pi.queues = port_queues;
    pi.af_xdp_iface = pc.af_xdp_iface();
    rte_ether_addr mac{};
    rte_eth_macaddr_get(port_id, &mac);
    std::copy(std::begin(mac.addr_bytes), std::end(mac.addr_bytes), pi.mac.begin());
    rt.ports.push_back(pi);
    for (uint16_t q = 0; q < port_queues; ++q) {
      rt.workers[q % workers]->queues.push_back(RxQueue{port_id, q});
    }
  }
  return {};
}

void close_ports(Runtime& rt) {
  for (const PortInfo& p : rt.ports) {
    rte_eth_dev_stop(p.id);
    rte_eth_dev_close(p.id);
  }
  rt.ports.clear();
}

}  // namespace steer::dataplane
