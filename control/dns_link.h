// DOC: the DNS link — the subscriber that keeps steer's authoritative responder (dns/) fed
// from the one health signal. On each published ServiceHealth (and each BGP decision, and
// each change of the nets file or MMDB) it builds a new answer table (dns/build.h) and
// publishes it to the responder threads by pointer swap: a health verdict reaches the next
// answer in well under 10 ms (bench/dns measures it).
//
// A service's PoP may be handed out when:
//   the local PoP    its VIPs are healthy (ServiceHealth) and the dataplane is alive, and BGP
//                    announces their addresses (withdrawn: not handed out; draining: only when
//                    no other PoP is up), when [bgp] is configured
//   a remote PoP     steerd's probes of it are all up (ServiceHealth::dns)
// It owns the responder's life cycle (started when [dns] appears, restarted when its sockets
// or threads change, stopped when [dns] goes), the geo map (rebuilt when the PoPs or the geo
// files change), the operators' DNS overrides (control/dns_overrides.h), zone transfers
// (each table gets its zones' fallback views and serials, dns/xfr.h; a new serial is sent as
// NOTIFY to the zone's targets, control/dns_notify.h), and registers
// `show dns`, `dns query`, `dns pop|service disable|enable`. Control thread only; the
// responder's threads only read the published tables.
#pragma once

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <asio.hpp>

#include "common/command_table.h"
#include "common/publish.h"
#include "control/bgp_link.h"
#include "control/dns_notify.h"
#include "control/dns_overrides.h"
#include "control/events.h"
#include "control/module.h"
#include "dns/build.h"
#include "dns/geo.h"
#include "dns/responder.h"
#include "dns/table.h"
#include "dns/xfr.h"

namespace steer::control {

// The upper bounds (seconds) of steer_dns_health_to_answer_seconds' buckets.
inline constexpr std::array<double, 8> kPropagationBounds = {0.0001, 0.00025, 0.0005, 0.001,
                                                             0.0025, 0.005,   0.01,   0.1};

class DnsLink final : public Module {
 public:
  DnsLink(asio::io_context& io, CommandTable& commands, Events& events, BgpLink& bgp);
  ~DnsLink() override;

  void on_health(const ServiceHealthPtr& now) override;
  void status(nlohmann::json& doc) const override;
  void metrics(MetricsWriter& out) const override;
  void stop() override;

  // The table the responder answers from now (nullptr without [dns]).
  std::shared_ptr<const dns::Table> table() const { return tables_.load(); }
  const dns::Responder* responder() const { return responder_.get(); }

 private:
  // A new table over the current catalog (a health change, a BGP decision, an override).
  void rebuild();
  // A new catalog (configuration, geo, identity), then a table over it.
  void rebuild_catalog();
  // NOTIFY the targets of each zone whose serial `now` changed from `before` (or every zone's
  // after a reload).
  void notify(const dns::Table* before, const dns::Table& now);
  void reconfigure(const Config& config);
  dns::BuildInputs build_inputs();
  void watch_files();
  dns::PopState pop_state(const dns::ServiceConfig& s, const dns::ServicePopConfig& p) const;
  void register_commands(CommandTable& t);
  std::string show(const CommandRequest& req) const;
  std::string query(const CommandRequest& req) const;
  // dns pop|service disable|enable ...
  std::string set_override(const CommandRequest& req, bool pop_command, bool disable);

  Events& events_;
  BgpLink& bgp_;
  ServiceHealthPtr health_;
  std::shared_ptr<const Config> config_;     // the configuration the tables are built from
  dns::ResponderOptions responder_options_;  // what the running responder was started with
  std::shared_ptr<const dns::Geo> geo_;
  std::string geo_error_;
  std::shared_ptr<const dns::Catalog> catalog_;
  PublishCell<dns::Table> tables_;
  std::unique_ptr<dns::Responder> responder_;
  std::string responder_error_;
  std::string nsid_;
  uint64_t generation_ = 0;
  uint64_t rebuilds_ = 0;
  std::chrono::nanoseconds last_build_{0};          // the last table (health) build
  std::chrono::nanoseconds last_catalog_build_{0};  // the last catalog build
  // From a published health to the answer table built from it being live, per health
  // (steer_dns_health_to_answer_seconds): counts per kPropagationBounds bucket, and the sum.
  std::array<uint64_t, 9> propagation_{};
  double propagation_sum_ = 0;
  asio::steady_timer file_timer_;
  std::string files_stamp_;                // the geo files' sizes and times when the map was built
  std::optional<DnsOverrides> overrides_;  // loaded with the first [dns]
  std::shared_ptr<dns::XfrLog> xfr_log_ = std::make_shared<dns::XfrLog>();
  DnsNotifier notifier_;
  bool notify_all_ = false;  // a reload: NOTIFY every zone's targets with the next table
  bool stopped_ = false;
};

}  // namespace steer::control
