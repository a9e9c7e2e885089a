#include "control/metrics.h"

#include "common/metrics_text.h"

namespace steer::control {

namespace {

void vip_metrics(const ServiceHealth& h, const doc::StatsIndex& stats, MetricsWriter& m) {
  m.family("steer_vip_healthy", "gauge", "1 when the VIP has at least min_healthy backends up");
  for (const VipHealth& vv : h.vips) {
    m.sample("steer_vip_healthy", {{"vip", vv.config->name}}, vv.healthy);
  }
  struct Counter {
    const char* name;
    const char* help;
    uint64_t doc::VipStats::*field;
  };
  for (const Counter& c :
       {Counter{"steer_vip_packets_total", "client packets to the VIP", &doc::VipStats::packets},
        Counter{"steer_vip_bytes_total", "client IP bytes to the VIP", &doc::VipStats::bytes},
        Counter{"steer_vip_new_flows_total", "flows the VIP's Maglev table placed",
                &doc::VipStats::new_flows}}) {
    m.family(c.name, "counter", c.help);
    for (const VipHealth& vv : h.vips) {
      if (const doc::VipStats* s = stats.vip(vv.config->key())) {
        m.sample(c.name, {{"vip", vv.config->name}}, s->*c.field);
      }
    }
  }
}

void backend_metrics(const ServiceHealth& h, const doc::StatsIndex& stats, MetricsWriter& m) {
  // Each family is one group of samples (the exposition format wants them together).
  auto each = [&](const char* name, const char* type, const char* help, auto&& value) {
    m.family(name, type, help);
    for (const VipHealth& vv : h.vips) {
      for (const BackendHealth& b : vv.backends) {
        const std::string address = b.address.to_string();
        value(name, MetricsWriter::Labels{{"vip", vv.config->name}, {"backend", address}}, vv, b);
      }
    }
  };
  each("steer_backend_up", "gauge", "1 when the backend is in service (effective state up)",
       [&](const char* n, auto labels, const VipHealth&, const BackendHealth& b) {
         m.sample(n, labels, b.state == BackendState::Up);
       });
  each("steer_backend_health", "gauge", "health check: 1 up, 0 down, -1 not yet decided",
       [&](const char* n, auto labels, const VipHealth&, const BackendHealth& b) {
         m.sample(n, labels,
                  b.health == health::State::Up     ? 1
                  : b.health == health::State::Down ? 0
                                                    : -1);
       });
  each("steer_backend_weight", "gauge", "effective weight in the dataplane",
       [&](const char* n, auto labels, const VipHealth&, const BackendHealth& b) {
         m.sample(n, labels, static_cast<uint64_t>(b.weight));
       });
  each("steer_backend_packets_total", "counter", "client packets sent to the backend",
       [&](const char* n, auto labels, const VipHealth& vv, const BackendHealth& b) {
         if (const doc::BackendStats* s = stats.backend(vv.config->key(), b.address)) {
           m.sample(n, labels, s->packets);
         }
       });
  each("steer_backend_bytes_total", "counter", "client IP bytes sent to the backend",
       [&](const char* n, auto labels, const VipHealth& vv, const BackendHealth& b) {
         if (const doc::BackendStats* s = stats.backend(vv.config->key(), b.address)) {
           m.sample(n, labels, s->bytes);
         }
       });
}

void probe_metrics(const health::TargetChecker& checker, MetricsWriter& m) {
  m.family("steer_probe_latency_seconds", "gauge", "latency of the target's last probe");
  for (const std::string& key : checker.keys()) {
    const health::TargetStatus* s = checker.status(key);
    if (s == nullptr || s->history.empty()) continue;
    m.sample("steer_probe_latency_seconds", {{"target", key}},
             static_cast<double>(s->history.back().latency.count()) / 1e6);
  }
  const health::CheckerStats hs = checker.stats();
  m.family("steer_probes_total", "counter", "health probes completed");
  m.sample("steer_probes_total", {}, hs.probes_done);
  m.family("steer_probe_start_lag_p99_seconds", "gauge", "p99 of how late probes start");
  m.sample("steer_probe_start_lag_p99_seconds", {}, hs.lag_p99_us / 1e6);
}

}  // namespace

std::string metrics_text(const Controller& c) {
  MetricsWriter m;
  m.family("steer_up", "gauge", "1 while steerd runs");
  m.sample("steer_up", {}, uint64_t{1});
  const doc::StatsIndex& stats = c.dataplane().stats();
  vip_metrics(*c.health(), stats, m);
  backend_metrics(*c.health(), stats, m);
  probe_metrics(c.checker(), m);
  for (const Module* module : c.modules()) module->metrics(m);
  return m.take();
}

}  // namespace steer::control
