#include "control/dataplane_link.h"

#include <nlohmann/json.hpp>

#include "common/metrics_text.h"

namespace steer::control {

using nlohmann::json;

doc::DesiredState desired_state(const ServiceHealth& health) {
  doc::DesiredState d;
  for (const VipHealth& vv : health.vips) {
    const VipConfig& v = *vv.config;
    doc::Vip vip;
    vip.key = v.key();
    vip.encap = v.encap;
    vip.gue_port = v.gue_port;
    vip.table_size = v.table_size;
    vip.hash = v.hash;
    vip.echo = v.echo;
    for (const BackendHealth& b : vv.backends) {
      if (b.state == BackendState::Down) continue;
      vip.backends.push_back(doc::Backend{
          b.address, b.state == BackendState::Up ? b.weight : b.config_weight, b.state});
    }
    d.vips.push_back(std::move(vip));
  }
  return d;
}

void DataplaneLink::on_health(const ServiceHealthPtr& now) {
  if (config_ != now->config) {
    const Config& c = *now->config;
    client_.set_intervals(std::chrono::milliseconds(c.push_interval_ms),
                          std::chrono::milliseconds(c.status_interval_ms),
                          std::chrono::milliseconds(c.stuck_after_ms));
    config_ = now->config;
  }
  client_.set_desired(doc::to_json(desired_state(*now)));
  client_.enable_push(now->warm);
}

void DataplaneLink::status(json& doc) const {
  const auto since = std::chrono::duration<double>(SteadyClock::now() - client_.health_since());
  json dp = {{"socket", client_.socket()},
             {"health", dataplane_health_name(client_.health())},
             {"reason", client_.health_reason()},
             {"since_s", since.count()},
             {"connected", client_.connected()},
             {"pushed_generation", client_.pushed_generation()},
             {"pushes", client_.pushes()},
             {"push_failures", client_.push_failures()},
             {"last_push_error", client_.last_push_error()}};
  json pushes = json::array();
  for (const auto& p : client_.recent_pushes()) {
    pushes.push_back({{"generation", p.generation}, {"acked_unix_us", p.acked_unix_us}});
  }
  dp["recent_pushes"] = std::move(pushes);
  json st =
      json::parse(client_.status_text().empty() ? "{}" : client_.status_text(), nullptr, false);
  if (!st.is_discarded()) dp["status"] = std::move(st);
  doc["dataplane"] = std::move(dp);
}

void DataplaneLink::metrics(MetricsWriter& m) const {
  m.family("steer_dataplane_health", "gauge", "1 for the dataplane's current health state");
  for (DataplaneHealth h : {DataplaneHealth::Unknown, DataplaneHealth::Alive,
                            DataplaneHealth::Stuck, DataplaneHealth::Down}) {
    m.sample("steer_dataplane_health", {{"state", dataplane_health_name(h)}},
             client_.health() == h);
  }
  m.family("steer_dataplane_pushes_total", "counter", "desired states pushed to the dataplane");
  m.sample("steer_dataplane_pushes_total", {}, client_.pushes());
  m.family("steer_dataplane_generation", "gauge", "generation of the last state pushed");
  m.sample("steer_dataplane_generation", {}, client_.pushed_generation());
  const doc::Status& st = client_.status();
  if (!st.workers.empty()) {
    m.family("steer_dataplane_worker_alive", "gauge",
             "1 when the worker lcore's heartbeat is fresh");
    for (const doc::WorkerStatus& w : st.workers) {
      m.sample("steer_dataplane_worker_alive", {{"lcore", std::to_string(w.lcore)}}, w.alive);
    }
    m.family("steer_dataplane_worker_generation", "gauge", "state generation the worker uses");
    for (const doc::WorkerStatus& w : st.workers) {
      m.sample("steer_dataplane_worker_generation", {{"lcore", std::to_string(w.lcore)}},
               w.generation);
    }
  }
  const doc::Stats& stats = client_.stats().stats();
  if (!stats.drops.empty()) {
    m.family("steer_drops_total", "counter", "packets the dataplane dropped, by reason");
    for (const auto& [reason, count] : stats.drops) {
      m.sample("steer_drops_total", {{"reason", reason}}, count);
    }
  }
  if (!stats.lcores.empty()) {
    m.family("steer_flow_table_entries", "gauge", "flows held in the worker's flow table");
    for (const doc::LcoreStats& l : stats.lcores) {
      m.sample("steer_flow_table_entries", {{"lcore", std::to_string(l.lcore)}}, l.flows);
    }
    m.family("steer_flow_table_capacity", "gauge", "flows the worker's flow table can hold");
    for (const doc::LcoreStats& l : stats.lcores) {
      m.sample("steer_flow_table_capacity", {{"lcore", std::to_string(l.lcore)}}, l.flow_capacity);
    }
  }
}

}  // namespace steer::control
