// steer-dataplane: the DPDK primary process. See docs/dataplane.md.
//
//   steer-dataplane [EAL options] -- -c CONFIG.toml
//   steer-dataplane --check -c CONFIG.toml      (validate the configuration and exit)
#include <csignal>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

// GCC 12 reports a false -Wnull-dereference inside CLI11 2.1's string splitting (inlined
// std::string code), as in tools/steerctl/main.cc; the warning is about the library.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <CLI/CLI.hpp>
#pragma GCC diagnostic pop
#include <fmt/format.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_ring.h>

#include "common/file.h"
#include "common/state_doc.h"
#include "dataplane/api_server.h"
#include "dataplane/config.h"
#include "dataplane/neighbour.h"
#include "dataplane/ports.h"
#include "dataplane/runtime.h"
#include "dataplane/xdp/xsk_program.h"

namespace steer::dataplane {
namespace {

Runtime* g_signal_runtime = nullptr;

void on_signal(int) {
  if (g_signal_runtime != nullptr) g_signal_runtime->stop.store(true, std::memory_order_relaxed);
}

[[noreturn]] void die(const std::string& message) {
  fmt::print(stderr, "steer-dataplane: {}\n", message);
  std::exit(1);
}

std::string bpf_dir(const DataplaneConfig& c) {
  return c.bpf_dir.empty() ? xdp::default_bpf_dir() : c.bpf_dir;
}

// The gateway's MAC from the kernel, asking the kernel to resolve it while waiting.
std::optional<std::array<uint8_t, 6>> resolve_gateway(const IpAddress& gw, uint32_t wait_ms) {
  for (uint32_t waited = 0;; waited += 50) {
    auto mac = kernel_neighbour(gw);
    if (mac && *mac) return **mac;
    if (waited >= wait_ms) return std::nullopt;
    poke_neighbour(gw);
    usleep(50'000);
  }
}

int run(int argc, char** argv) {
  // DPDK convention: EAL options, then "--", then ours.
  int split = argc;
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--") {
      split = i;
      break;
    }
  }
  std::vector<std::string> ours;
  ours.push_back(argv[0]);
  for (int i = split + 1; i < argc; ++i) ours.push_back(argv[i]);
  bool check_only = false;
  if (split == argc) {
    // No "--": accept "--check -c FILE" alone (no EAL needed to validate).
    ours.clear();
    ours.push_back(argv[0]);
    for (int i = 1; i < argc; ++i) ours.push_back(argv[i]);
  }

  CLI::App app{"steer-dataplane: DPDK poll-mode L4 load-balancer dataplane"};
  std::string config_path;
  app.add_option("-c,--config", config_path, "configuration file (TOML)")->required();
  app.add_flag("--check", check_only, "validate the configuration and exit");
  std::vector<const char*> ours_argv;
  for (auto& s : ours) ours_argv.push_back(s.c_str());
  try {
    app.parse(static_cast<int>(ours_argv.size()), ours_argv.data());
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }

  auto loaded = load_dataplane_config(config_path);
  if (!loaded) die(loaded.error().message);
  if (check_only) {
    fmt::print("{}: ok\n", config_path);
    return 0;
  }
  if (split == argc) die("EAL options and \"--\" expected before the steer options");

  Runtime rt;
  rt.config = std::move(*loaded);
  const std::string bpf = bpf_dir(rt.config);

  // A kill -9 leaves steer's XDP program attached, and net_af_xdp then refuses the
  // interface: remove it before the EAL probes the port.
  for (const PortConfig& p : rt.config.ports) {
    const std::string iface = p.af_xdp_iface();
    if (iface.empty()) continue;
    auto detached = xdp::detach_stale_xdp(iface);
    if (!detached) die(fmt::format("{}: {}", iface, detached.error().message));
    if (*detached)
      fmt::print(stderr, "steer-dataplane: removed a stale XDP program from {}\n", iface);
  }

  std::vector<std::string> eal_args;
  for (int i = 0; i < split; ++i) eal_args.push_back(argv[i]);
  for (std::string& a : port_eal_args(rt.config, bpf)) eal_args.push_back(std::move(a));
  std::vector<char*> eal_argv;
  for (auto& s : eal_args) eal_argv.push_back(s.data());
  if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0) {
    die(fmt::format("EAL initialisation failed: {}", rte_strerror(rte_errno)));
  }
  rt.tsc_hz = rte_get_tsc_hz();
  rt.start_tsc = rte_rdtsc();

  if (auto r = create_workers(rt); !r) die(r.error().message);
  if (auto r = setup_ports(rt); !r) die(r.error().message);

  // Egress: our MAC, the next hop's, the outer sources.
  const EgressConfig& ec = rt.config.egress;
  rt.egress.src_mac = ec.source_mac ? *ec.source_mac : rt.ports.front().mac;
  rt.egress.vlan = ec.vlan;
  rt.egress.mtu = ec.mtu;
  if (ec.source_v4) rt.egress.source_v4 = *ec.source_v4;
  rt.egress.source_v4_hash_bits = ec.source_v4_hash_bits;
  if (ec.source_v6) rt.egress.source_v6 = *ec.source_v6;
  rt.egress.source_v6_hash_bits = ec.source_v6_hash_bits;
  if (ec.gateway_mac) {
    rt.egress.dst_mac = *ec.gateway_mac;
    rt.gateway_resolved = true;
  } else if (auto mac = resolve_gateway(*ec.gateway, 2000)) {
    rt.egress.dst_mac = *mac;
    rt.gateway_resolved = true;
  } else {
    fmt::print(stderr,
               "steer-dataplane: gateway {} has no neighbour entry yet; encapsulated frames go "
               "nowhere until it resolves (retrying every second)\n",
               *ec.gateway);
  }

  StateSpec initial;
  initial.egress = rt.egress;
  auto snap = Snapshot::build(initial, nullptr, 0);
  if (!snap) die(snap.error().message);
  if (auto r = rt.publisher.init(static_cast<uint32_t>(rt.workers.size()), *snap, initial); !r) {
    die(r.error().message);
  }

  // AF_XDP ports: steer's XDP program is attached now; keep its VIP map equal to the VIPs.
  std::vector<std::pair<std::string, xdp::VipMap>> vip_maps;
  for (const PortInfo& p : rt.ports) {
    if (p.af_xdp_iface.empty()) continue;
    auto m = xdp::VipMap::open(p.af_xdp_iface);
    if (!m) die(fmt::format("{}: {}", p.af_xdp_iface, m.error().message));
    vip_maps.emplace_back(p.af_xdp_iface, std::move(*m));
  }
  ApiHooks hooks;
  hooks.after_publish = [&vip_maps](const Snapshot& s) -> Result<void> {
    std::vector<IpAddress> addresses;
    for (const SnapshotVip& v : s.vips()) addresses.push_back(v.address);
    std::sort(addresses.begin(), addresses.end());
    addresses.erase(std::unique(addresses.begin(), addresses.end()), addresses.end());
    for (auto& [iface, m] : vip_maps) {
      if (auto r = m.sync(addresses); !r) {
        return fail(fmt::format("XDP VIP map on {}: {}", iface, r.error().message));
      }
    }
    return {};
  };
  hooks.refresh_egress = [&rt]() -> std::optional<EgressSpec> {
    const EgressConfig& e = rt.config.egress;
    if (e.gateway_mac || !e.gateway) return std::nullopt;
    auto mac = kernel_neighbour(*e.gateway);
    if (!mac || !*mac) {
      poke_neighbour(*e.gateway);
      return std::nullopt;
    }
    if (rt.gateway_resolved && **mac == rt.egress.dst_mac) return std::nullopt;
    rt.gateway_resolved = true;
    EgressSpec next = rt.egress;
    next.dst_mac = **mac;
    fmt::print(stderr, "steer-dataplane: gateway {} is at {}\n", *e.gateway, format_mac(**mac));
    return next;
  };
  if (!vip_maps.empty()) {
    hooks.xdp_status = [&vip_maps]() {
      std::map<std::string, doc::XdpStatus> out;
      for (auto& [iface, m] : vip_maps) {
        auto s = m.stats();
        if (!s) continue;
        out[iface] = doc::XdpStatus{.prog_id = m.prog_id(),
                                    .redirected = s->redirected,
                                    .no_socket = s->no_socket,
                                    .passed = s->passed,
                                    .malformed = s->malformed};
      }
      return out;
    };
  }

  ApiServer server(rt, hooks);
  if (auto r = server.listen(); !r) die(r.error().message);
  // Fail-static across restarts: forward on the last applied state before any controller
  // speaks to us.
  // No file yet (a first start) is not worth a line in the log.
  if (!rt.config.state_file.empty() && ::access(rt.config.state_file.c_str(), F_OK) == 0) {
    const Result<std::string> text = read_file(rt.config.state_file);
    const Result<ApiServer::Applied> g =
        text ? server.apply_document(*text) : tl::unexpected(text.error());
    if (!g) {
      fmt::print(stderr, "steer-dataplane: saved state {} not applied: {}\n", rt.config.state_file,
                 g.error().message);
    } else {
      fmt::print(stderr, "steer-dataplane: applied the saved state {} (generation {})\n",
                 rt.config.state_file, g->generation);
    }
  }

  g_signal_runtime = &rt;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  if (auto r = launch_workers(rt); !r) die(r.error().message);
  fmt::print(stderr, "steer-dataplane: {} worker lcore(s), {} port(s), API on {}\n",
             rt.workers.size(), rt.ports.size(), rt.config.api_socket);
  for (const PortInfo& p : rt.ports) {
    fmt::print(stderr, "steer-dataplane: port {} {} mac {} queues {}\n", p.id, p.name,
               format_mac(p.mac), p.queues);
  }

  server.run();

  fmt::print(stderr, "steer-dataplane: stopping\n");
  stop_workers(rt);
  vip_maps.clear();
  close_ports(rt);
  rte_eal_cleanup();
  return 0;
}

}  // namespace
}  // namespace steer::dataplane

int main(int argc, char** argv) { return steer::dataplane::run(argc, argv); }
