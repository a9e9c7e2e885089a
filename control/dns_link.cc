#include "control/dns_link.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include <fmt/format.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/framing.h"
#include "common/metrics_text.h"
#include "dns/answer.h"
#include "dns/build.h"
#include "dns/decode.h"

namespace steer::control {

using nlohmann::json;

namespace {

constexpr auto kFileCheck = std::chrono::seconds(2);

std::string ok_json(const json& doc) { return reply_json(doc.dump()); }

// The geo files' identity (size and time), to notice a replaced nets file or database.
std::string files_stamp(const dns::DnsConfig& c) {
  std::string out;
  for (const std::string& path : {c.nets, c.mmdb}) {
    if (path.empty()) continue;
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    const auto time = std::filesystem::last_write_time(path, ec);
    out += fmt::format("{}:{}:{};", path, ec ? 0 : size, time.time_since_epoch().count());
  }
  return out;
}

dns::GeoConfig geo_config(const Config& c) {
  dns::GeoConfig g;
  for (const dns::PopConfig& p : c.dns->pops) {
    if (p.name == c.pop_name) g.local_pop = static_cast<uint16_t>(g.pops.size());
    g.pops.push_back(dns::GeoPop{p.name, p.region, p.latitude, p.longitude});
  }
  g.region_preferences = c.dns->regions;
  g.nets_path = c.dns->nets;
  g.mmdb_path = c.dns->mmdb;
  return g;
}

bool geo_changed(const Config& a, const Config& b) {
  return a.pop_name != b.pop_name || a.dns->pops != b.dns->pops ||
         a.dns->regions != b.dns->regions || a.dns->nets != b.dns->nets ||
         a.dns->mmdb != b.dns->mmdb;
}

std::string hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "steer";
  return buf;
}

}  // namespace

DnsLink::DnsLink(asio::io_context& io, CommandTable& commands, Events& events, BgpLink& bgp)
    : events_(events), bgp_(bgp), file_timer_(io), notifier_(io) {
  register_commands(commands);
  bgp_.on_decision([this] {
    if (health_ && config_ && !stopped_) rebuild();
  });
}

DnsLink::~DnsLink() { stop(); }

void DnsLink::stop() {
  stopped_ = true;
  file_timer_.cancel();
  notifier_.stop();
  if (responder_) responder_->stop();
}

void DnsLink::on_health(const ServiceHealthPtr& now) {
  if (stopped_) return;
  health_ = now;
  const Config& c = *now->config;
  if (!c.dns) {
    if (responder_) {
      events_.add("dns: [dns] removed: the responder stops answering");
      responder_->stop();
      responder_.reset();
    }
    config_.reset();
    tables_.publish(nullptr);
    return;
  }
  if (config_ != now->config) reconfigure(c);
  rebuild();
  if (now->computed_at != std::chrono::steady_clock::time_point{}) {
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - now->computed_at).count();
    size_t slot = 0;
    while (slot < kPropagationBounds.size() && s > kPropagationBounds[slot]) ++slot;
    ++propagation_[slot];
    propagation_sum_ += s;
  }
}

void DnsLink::reconfigure(const Config& c) {
  const bool first = !config_ || !config_->dns;
  if (!overrides_) {
    auto o =
        DnsOverrides::load((std::filesystem::path(c.state_dir) / "dns-overrides.json").string());
    if (o) {
      overrides_ = std::move(*o);
    } else {
      events_.add(
          fmt::format("dns: the overrides file is ignored ({}); DNS overrides set now "
                      "are not persisted until it is mended",
                      o.error().message));
      overrides_ = DnsOverrides{};  // no path: in memory only, the bad file is left as it is
    }
  }
  if (first || geo_changed(*config_, c)) {
    auto geo = dns::Geo::build(geo_config(c));
    if (geo) {
      geo_ = std::move(*geo);
      geo_error_.clear();
    } else {
      geo_error_ = geo.error().message;
      events_.add(
          fmt::format("dns: geo map not built ({}); answering in the default order", geo_error_));
      geo_.reset();
    }
    files_stamp_ = files_stamp(*c.dns);
  }
  nsid_ = c.dns->nsid.empty()
              ? fmt::format("{}.{}", c.pop_name.empty() ? "steer" : c.pop_name, hostname())
              : c.dns->nsid;
  config_ = health_->config;
  notifier_.configure(c.dns->listen, dns::tsig_keys(*c.dns));
  notify_all_ = true;  // targets may have changed: tell them the serial they should have
  // The table before the threads, so that they answer from the first datagram on.
  rebuild_catalog();
  const dns::ResponderOptions want{c.dns->listen,          c.dns->threads, c.dns->tcp_idle_ms,
                                   c.dns->tcp_connections, c.dns->rrl,     c.dns->coalesce_us};
  // The limiters live in the threads (their tables are made at start): a change of [dns.rrl]
  // restarts the responder, like a change of its sockets or threads.
  const bool same = responder_ && want.listen == responder_options_.listen &&
                    want.threads == responder_options_.threads &&
                    want.tcp_idle_ms == responder_options_.tcp_idle_ms &&
                    want.tcp_connections == responder_options_.tcp_connections &&
                    want.rrl == responder_options_.rrl &&
                    want.coalesce_us == responder_options_.coalesce_us;
  if (!same) {
    if (responder_) responder_->stop();
    responder_.reset();
    auto r = dns::Responder::start(want, tables_, events_.sink());
    if (r) {
      responder_ = std::move(*r);
      responder_options_ = want;
      responder_error_.clear();
      std::string where;
      for (size_t i = 0; i < want.listen.size(); ++i) {
        where += fmt::format("{}{}:{}", i ? ", " : "", address_for_port(want.listen[i].address),
                             responder_->ports()[i]);
      }
      events_.add(fmt::format(
          "dns: answering on {} (udp and tcp, {} thread(s)){}", where, want.threads,
          want.rrl.enabled ? fmt::format("; udp rate-limited to {}/s per answer per /{} or /{}",
                                         want.rrl.responses_per_second, want.rrl.ipv4_prefix,
                                         want.rrl.ipv6_prefix)
                           : ""));
    } else {
      responder_error_ = r.error().message;
      events_.add(fmt::format("dns: the responder cannot start: {}", responder_error_));
    }
  }
  if (first) watch_files();
}

void DnsLink::watch_files() {
  file_timer_.expires_after(kFileCheck);
  file_timer_.async_wait([this](const asio::error_code& ec) {
    if (ec || stopped_ || !config_ || !config_->dns) return;
    const std::string stamp = files_stamp(*config_->dns);
    if (stamp != files_stamp_) {
      files_stamp_ = stamp;
      auto geo = dns::Geo::build(geo_config(*config_));
      if (geo) {
        geo_ = std::move(*geo);
        geo_error_.clear();
        events_.add(fmt::format("dns: geo files changed: map rebuilt ({} nets entries{})",
                                geo_->nets_entries(), geo_->has_mmdb() ? ", MMDB" : ""));
        rebuild_catalog();
      } else {
        geo_error_ = geo.error().message;
        events_.add(
            fmt::format("dns: geo files changed but cannot be read ({}): the previous "
                        "map stays",
                        geo_error_));
      }
    }
    watch_files();
  });
}

dns::PopState DnsLink::pop_state(const dns::ServiceConfig& s,
                                 const dns::ServicePopConfig& p) const {
  dns::PopState st;
  for (const DnsServiceHealth& sh : health_->dns) {
    if (sh.service != s.name) continue;
    for (const DnsPopHealth& ph : sh.pops) {
      if (ph.pop != p.pop) continue;
      st.healthy = ph.healthy;
      st.pending = ph.pending;
    }
  }
  st.disabled = overrides_ && overrides_->find(p.pop, s.name) != nullptr;
  return st;
}

dns::BuildInputs DnsLink::build_inputs() {
  dns::BuildInputs in;
  in.config = &*config_->dns;
  in.local_pop = config_->pop_name;
  in.geo = geo_;
  in.nsid = nsid_;
  in.identity = config_->dns->identity.empty() ? nsid_ : config_->dns->identity;
  return in;
}

void DnsLink::rebuild_catalog() {
  if (!config_ || !config_->dns) return;
  std::map<std::string, IpAddress> vips;
  for (const VipConfig& v : config_->vips) vips.emplace(v.name, v.address);
  dns::BuildInputs in = build_inputs();
  in.vip_address = [&vips](const std::string& name) -> std::optional<IpAddress> {
    auto it = vips.find(name);
    if (it == vips.end()) return std::nullopt;
    return it->second;
  };
  const auto t0 = std::chrono::steady_clock::now();
  catalog_ = dns::build_catalog(in);
  last_catalog_build_ = std::chrono::steady_clock::now() - t0;
  rebuild();
}

void DnsLink::rebuild() {
  if (!config_ || !config_->dns || !catalog_) return;
  const Config& c = *config_;
  // The BGP decision of each local VIP address: withdrawn is not handed out, draining only
  // as a last resort, a pending change shortens the TTL.
  std::map<IpAddress, bgp::RouteDecision> routes;
  for (bgp::RouteDecision& d : bgp_.decisions()) {
    if (d.health.group.empty()) routes.emplace(d.health.route.address, std::move(d));
  }
  std::map<std::string, IpAddress> vips;
  for (const VipConfig& v : c.vips) vips.emplace(v.name, v.address);
  dns::BuildInputs in = build_inputs();
  in.state = [&](const dns::ServiceConfig& s, const dns::ServicePopConfig& p) {
    dns::PopState st = pop_state(s, p);
    if (p.pop != c.pop_name || routes.empty()) return st;
    for (const std::string& name : p.vips) {
      auto v = vips.find(name);
      if (v == vips.end()) continue;
      auto r = routes.find(v->second);
      if (r == routes.end()) continue;
      if (r->second.state == bgp::RouteState::Withdrawn) st.healthy = false;
      if (r->second.state == bgp::RouteState::Draining) st.draining = true;
      if (!r->second.pending.empty()) st.pending = true;
    }
    return st;
  };
  in.generation = ++generation_;
  const auto t0 = std::chrono::steady_clock::now();
  auto table = dns::build_table(catalog_, in);
  last_build_ = std::chrono::steady_clock::now() - t0;
  // The zones' fallback views and serials for transfers, from this table (dns/xfr.h).
  const std::shared_ptr<const dns::Table> before = tables_.load();
  table = dns::with_transfers(table, *c.dns, before ? before->transfers.get() : nullptr, xfr_log_,
                              static_cast<uint32_t>(unix_ms_now() / 1000));
  tables_.publish(table);
  ++rebuilds_;
  notify(before.get(), *table);
}

void DnsLink::notify(const dns::Table* before, const dns::Table& now) {
  const std::vector<dns::ZoneConfig>& zones = config_->dns->zones;
  const dns::Catalog& k = *now.catalog;
  for (size_t i = 0; i < k.zones.size() && i < now.serials.size() && i < zones.size(); ++i) {
    std::optional<uint32_t> was;
    for (size_t j = 0;
         before != nullptr && j < before->catalog->zones.size() && j < before->serials.size();
         ++j) {
      if (before->catalog->zones[j].apex == k.zones[i].apex) was = before->serials[j];
    }
    if (was == now.serials[i] && !notify_all_) continue;
    if (was && was != now.serials[i]) {
      events_.add(fmt::format(
          "dns: zone {} serial {} -> {}{}", k.zones[i].apex.text(), *was, now.serials[i],
          zones[i].notify.empty()
              ? ""
              : fmt::format(" (NOTIFY to {} server(s))", zones[i].notify.size())));
    }
    notifier_.notify(k.zones[i].apex, now.serials[i], zones[i].notify);
  }
  notify_all_ = false;
}

void DnsLink::status(json& doc) const {
  if (!config_ || !config_->dns) {
    doc["dns"] = nullptr;
    return;
  }
  json listen = json::array();
  for (size_t i = 0; i < responder_options_.listen.size() && responder_; ++i) {
    listen.push_back(fmt::format("{}:{}", address_for_port(responder_options_.listen[i].address),
                                 responder_->ports()[i]));
  }
  const dns::Counters n = responder_ ? responder_->counters() : dns::Counters{};
  doc["dns"] = {{"listen", listen},
                {"answering", responder_ != nullptr},
                {"error", responder_error_},
                {"generation", generation_},
                {"queries", n.queries},
                {"tcp_open", responder_ ? responder_->tcp_open() : 0u},
                {"udp_queries", n.udp},
                {"udp_reads", n.udp_reads},
                {"coalesce_us", responder_options_.coalesce_us}};
}

void DnsLink::metrics(MetricsWriter& m) const {
  if (!config_ || !config_->dns) return;
  const dns::Counters n = responder_ ? responder_->counters() : dns::Counters{};
  m.family("steer_dns_queries_total", "counter", "queries answered, by response code");
  for (size_t r = 0; r < n.by_rcode.size(); ++r) {
    if (n.by_rcode[r] == 0 && r != 0) continue;
    const std::string name = r == 23 ? "other" : dns::rcode_name(static_cast<uint16_t>(r));
    m.sample("steer_dns_queries_total", {{"rcode", name}}, n.by_rcode[r]);
  }
  m.family("steer_dns_queries_by_type_total", "counter", "queries, by query type");
  for (size_t t = 0; t < n.by_qtype.size(); ++t) {
    m.sample("steer_dns_queries_by_type_total", {{"qtype", dns::kQtypeBuckets[t]}}, n.by_qtype[t]);
  }
  m.family("steer_dns_queries_by_transport_total", "counter", "queries, by transport");
  m.sample("steer_dns_queries_by_transport_total", {{"transport", "udp"}}, n.udp);
  m.sample("steer_dns_queries_by_transport_total", {{"transport", "tcp"}}, n.tcp);
  m.family("steer_dns_ecs_queries_total", "counter", "queries with an EDNS Client Subnet option");
  m.sample("steer_dns_ecs_queries_total", {}, n.ecs);
  m.family("steer_dns_truncated_total", "counter",
           "answers sent truncated (TC): too large for UDP");
  m.sample("steer_dns_truncated_total", {}, n.truncated);
  m.family("steer_dns_udp_reads_total", "counter",
           "UDP socket reads that found queries: queries over UDP / reads = queries per wake-up "
           "(raised by [dns] coalesce_us)");
  m.sample("steer_dns_udp_reads_total", {}, n.udp_reads);
  m.family("steer_dns_dropped_total", "counter", "messages not answered (no header, or responses)");
  m.sample("steer_dns_dropped_total", {}, n.dropped);
  m.family("steer_dns_rrl_dropped_total", "counter",
           "UDP answers not sent by response-rate limiting ([dns.rrl]): a client prefix asked "
           "for the same answer over the rate (a reflection attack, or a very busy resolver)");
  m.sample("steer_dns_rrl_dropped_total", {}, n.rrl_dropped);
  m.family("steer_dns_rrl_slipped_total", "counter",
           "UDP answers over the rate sent truncated instead (every slip-th), so that a real "
           "client retries over TCP");
  m.sample("steer_dns_rrl_slipped_total", {}, n.rrl_slipped);
  m.family("steer_dns_rrl_evicted_total", "counter",
           "rate-limit accounts replaced before they went idle: more client prefixes x answers "
           "are live than a thread's table holds (65,536), and limiting is weakened");
  m.sample("steer_dns_rrl_evicted_total", {}, n.rrl_evicted);
  m.family("steer_dns_answers_by_pop_total", "counter",
           "service answers, by the PoP heading them (the client's best PoP handed out)");
  const auto& pops = config_->dns->pops;
  for (size_t i = 0; i < pops.size() && i < dns::Counters::kPopSlots; ++i) {
    const bool last = i == dns::Counters::kPopSlots - 1 && pops.size() > dns::Counters::kPopSlots;
    m.sample("steer_dns_answers_by_pop_total", {{"pop", last ? "other" : pops[i].name}},
             n.by_pop[i]);
  }
  m.family("steer_dns_answers_displaced_total", "counter",
           "service answers headed by another PoP because the client's first choice by location "
           "was down, draining or disabled, by that first choice: after a PoP fails, its clients' "
           "resolvers coming back as their caches expire (the visible part of the resolver tail)");
  for (size_t i = 0; i < pops.size() && i < dns::Counters::kPopSlots; ++i) {
    const bool last = i == dns::Counters::kPopSlots - 1 && pops.size() > dns::Counters::kPopSlots;
    m.sample("steer_dns_answers_displaced_total", {{"pop", last ? "other" : pops[i].name}},
             n.displaced[i]);
  }
  m.family("steer_dns_fail_open_total", "counter",
           "service answers given while no PoP was up (every PoP handed out)");
  m.sample("steer_dns_fail_open_total", {}, n.fail_open);
  m.histogram("steer_dns_answer_latency_seconds",
              "UDP answers, by the time from the kernel's receipt of the query to the send call "
              "(socket queueing and [dns] coalesce_us included; the network's share is not)",
              dns::kLatencyBounds, n.udp_latency, static_cast<double>(n.udp_latency_sum_ns) / 1e9);
  m.histogram("steer_dns_health_to_answer_seconds",
              "health changes (verdicts, overrides, BGP decisions, reloads), by the time from "
              "steerd publishing the new health to the answer table built from it being live",
              kPropagationBounds, propagation_, propagation_sum_);
  if (const std::shared_ptr<const dns::Table> t = tables_.load()) {
    m.family("steer_dns_pop_healthy", "gauge",
             "1 while this PoP hands out that PoP for the service (its probes, overrides and, "
             "for the local PoP, the BGP decision): compare across PoPs for agreement");
    for (size_t i = 0; i < t->catalog->services.size(); ++i) {
      const dns::Service& s = t->catalog->services[i];
      for (size_t k = 0; k < s.pops.size(); ++k) {
        m.sample("steer_dns_pop_healthy",
                 {{"service", s.name}, {"pop", t->catalog->pops[s.pops[k].pop].name}},
                 t->flag(s, k).healthy);
      }
    }
  }
  m.family("steer_dns_table_generation", "gauge", "generation of the answer table in use");
  m.sample("steer_dns_table_generation", {}, generation_);
  m.family("steer_dns_table_build_seconds", "gauge", "time the last answer-table build took");
  m.sample("steer_dns_table_build_seconds", {}, std::chrono::duration<double>(last_build_).count());
  m.family("steer_dns_transfers_total", "counter",
           "zone transfer requests from addresses a zone's 'transfer' lists (refused: also "
           "from any other address), by result; badkey, badsig, badtime: TSIG failures "
           "(a secondary with the wrong key or clock)");
  for (size_t r = 0; r < dns::kXfrResults; ++r) {
    const auto result = static_cast<dns::XfrResult>(r);
    m.sample("steer_dns_transfers_total", {{"result", dns::xfr_result_name(result)}},
             xfr_log_->count(result));
  }
  m.family("steer_dns_notify_sent_total", "counter", "NOTIFY messages sent, retries included");
  m.sample("steer_dns_notify_sent_total", {}, notifier_.sent());
  m.family("steer_dns_notify_acknowledged_total", "counter",
           "NOTIFYs a secondary answered NOERROR");
  m.sample("steer_dns_notify_acknowledged_total", {}, notifier_.acknowledged());
  m.family("steer_dns_notify_failed_total", "counter",
           "NOTIFYs given up on (no response after every try) or answered with an error: the "
           "secondary learns of the serial from its SOA refresh timer only");
  m.sample("steer_dns_notify_failed_total", {}, notifier_.failed());
  m.family("steer_dns_zone_serial", "gauge", "the SOA serial each zone is served with");
  if (const auto t = tables_.load()) {
    for (size_t zi = 0; zi < t->serials.size() && zi < t->catalog->zones.size(); ++zi) {
      m.sample("steer_dns_zone_serial", {{"zone", t->catalog->zones[zi].apex.text()}},
               uint64_t{t->serials[zi]});
    }
  }
  m.family("steer_dns_tcp_connections", "gauge", "TCP connections open");
  m.sample("steer_dns_tcp_connections", {},
           static_cast<uint64_t>(responder_ ? responder_->tcp_open() : 0));
}

std::string DnsLink::show(const CommandRequest&) const {
  if (!config_ || !config_->dns) {
    return reply_error(reply::kNotReady, "DNS is off: steerd's configuration has no [dns] table");
  }
  const std::shared_ptr<const dns::Table> t = tables_.load();
  json zones = json::array();
  const std::vector<dns::XfrRecord> transfers = xfr_log_->last();
  for (size_t zi = 0; zi < config_->dns->zones.size(); ++zi) {
    const dns::ZoneConfig& z = config_->dns->zones[zi];
    json allowed = json::array();
    for (const dns::TransferFrom& f : z.transfer) {
      allowed.push_back(
          {{"from", f.from.to_string()}, {"key", f.key.size != 0 ? f.key.text() : ""}});
    }
    json done = json::array();
    for (const dns::XfrRecord& r : transfers) {
      if (r.zone != z.apex.text()) continue;
      done.push_back({{"peer", r.peer.to_string()},
                      {"key", r.key},
                      {"unix_ms", r.unix_ms},
                      {"serial", r.serial},
                      {"result", dns::xfr_result_name(r.result)},
                      {"ixfr", r.ixfr},
                      {"messages", r.messages},
                      {"records", r.records}});
    }
    zones.push_back({{"name", z.apex.text()},
                     {"records", z.records.size() + 1 + z.ns.size()},
                     {"serial", t && zi < t->serials.size() ? t->serials[zi] : z.soa.serial},
                     {"transfer", allowed},
                     {"notify", notifier_.status(z.apex)},
                     {"transfers", done}});
  }
  json services = json::array();
  for (size_t i = 0; t && i < t->catalog->services.size(); ++i) {
    const dns::Service& s = t->catalog->services[i];
    const std::vector<dns::PopInfo>& all_pops = t->catalog->pops;
    json pops = json::array();
    for (size_t k = 0; k < s.pops.size(); ++k) {
      const dns::PopAnswers& pa = s.pops[k];
      const dns::PopFlags& f = t->flag(s, k);
      std::string why;
      for (const DnsServiceHealth& sh : health_->dns) {
        for (const DnsPopHealth& ph : sh.pops) {
          if (sh.service == s.name && ph.pop == all_pops[pa.pop].name) why = ph.why;
        }
      }
      const DnsOverride* o = overrides_ ? overrides_->find(all_pops[pa.pop].name, s.name) : nullptr;
      json ov = nullptr;
      if (o != nullptr) {
        ov = {{"pop", o->pop},
              {"service", o->service},
              {"uid", o->uid},
              {"user", o->user},
              {"since_unix_ms", o->since_unix_ms}};
      }
      pops.push_back({{"pop", all_pops[pa.pop].name},
                      {"region", all_pops[pa.pop].region},
                      {"override", ov},
                      {"local", all_pops[pa.pop].name == config_->pop_name},
                      {"healthy", f.healthy},
                      {"draining", f.draining},
                      {"addresses", pa.a_count + pa.aaaa_count},
                      {"why", why}});
    }
    services.push_back(
        {{"name", s.name},
         {"owner", s.owner.text()},
         {"ttl", s.ttl},
         {"pending", t->pending[i] != 0},
         {"pending_ttl", s.pending_ttl},
         {"answers", s.answers},
         {"when_all_down", s.when_all_down == dns::WhenAllDown::All ? "all" : "static"},
         {"pops", pops}});
  }
  // Service answers per PoP (the responder's counters): heading them, and displaced from
  // their first choice.
  const dns::Counters n = responder_ ? responder_->counters() : dns::Counters{};
  json answers = json::array();
  const auto& config_pops = config_->dns->pops;
  for (size_t i = 0; i < config_pops.size() && i < dns::Counters::kPopSlots; ++i) {
    const bool last =
        i == dns::Counters::kPopSlots - 1 && config_pops.size() > dns::Counters::kPopSlots;
    answers.push_back({{"pop", last ? "other" : config_pops[i].name},
                       {"headed", n.by_pop[i]},
                       {"displaced", n.displaced[i]}});
  }
  json doc = {
      {"listen", nullptr},
      {"nsid", nsid_},
      {"generation", generation_},
      {"rebuilds", rebuilds_},
      {"last_build_us", std::chrono::duration_cast<std::chrono::microseconds>(last_build_).count()},
      {"geo",
       {{"nets", config_->dns->nets},
        {"nets_entries", geo_ ? geo_->nets_entries() : 0},
        {"mmdb", config_->dns->mmdb},
        {"mmdb_open", geo_ && geo_->has_mmdb()},
        {"error", geo_error_}}},
      {"responder_error", responder_error_},
      {"overrides",
       [this] {
         json a = json::array();
         if (!overrides_) return a;
         for (const DnsOverride& o : overrides_->all()) {
           a.push_back({{"pop", o.pop},
                        {"service", o.service},
                        {"uid", o.uid},
                        {"user", o.user},
                        {"since_unix_ms", o.since_unix_ms}});
         }
         return a;
       }()},
      {"zones", zones},
      {"services", services},
      {"answers_by_pop", answers}};
  status(doc);
  return ok_json(doc);
}

// dns query NAME TYPE CLIENT [ECS]: the answer `CLIENT` gets (as a resolver at that address,
// optionally passing ECS), decoded, with the explanation.
std::string DnsLink::query(const CommandRequest& req) const {
  const std::shared_ptr<const dns::Table> t = tables_.load();
  if (!t)
    return reply_error(reply::kNotReady, "DNS is off: steerd's configuration has no [dns] table");
  uint16_t qtype = 0;
  if (!dns::parse_type(req.args[1], qtype)) {
    return reply_error(reply::kBadArgument, fmt::format("'{}' is not a record type", req.args[1]));
  }
  auto client = IpAddress::parse(req.args[2]);
  if (!client) {
    return reply_error(reply::kBadArgument, fmt::format("'{}' is not an IP address", req.args[2]));
  }
  dns::QuerySpec spec;
  spec.name = std::string(req.args[0]);
  spec.type = qtype;
  spec.id = 0x5eed;
  spec.nsid = true;
  if (req.args.size() > 3) spec.ecs = std::string(req.args[3]);
  auto q = dns::make_query(spec);
  if (!q) return reply_error(reply::kBadArgument, q.error().message);
  std::vector<uint8_t> out(dns::kMaxMessage);
  dns::Counters scratch;
  dns::Explanation why;
  const size_t n = dns::answer(*t, *q, dns::Client{*client, true}, out, 0, scratch, &why);
  auto d = dns::decode_message({out.data(), n});
  if (!d)
    return reply_error(reply::kRuntimeError, "cannot decode our own answer: " + d.error().message);
  auto records = [](const std::vector<dns::DecodedRecord>& rs) {
    json a = json::array();
    for (const dns::DecodedRecord& r : rs) {
      a.push_back(
          {{"name", r.owner}, {"type", dns::type_name(r.type)}, {"ttl", r.ttl}, {"data", r.data}});
    }
    return a;
  };
  json pops = json::array();
  for (const std::string& p : why.pops) pops.push_back(p);
  return ok_json({{"rcode", dns::rcode_name(d->rcode)},
                  {"aa", d->aa},
                  {"tc", d->tc},
                  {"answer", records(d->answer)},
                  {"authority", records(d->authority)},
                  {"additional", records(d->additional)},
                  {"ecs_scope", d->has_ecs ? json(d->ecs_scope) : json(nullptr)},
                  {"zone", why.zone},
                  {"outcome", why.outcome},
                  {"location",
                   {{"source", dns::location_source_name(why.location.location.source)},
                    {"matched", why.location.matched},
                    {"scope", why.location.location.scope}}},
                  {"pops", pops},
                  {"generation", t->generation}});
}

std::string DnsLink::set_override(const CommandRequest& req, bool pop_command, bool disable) {
  if (!config_ || !config_->dns || !overrides_) {
    return reply_error(reply::kNotReady, "DNS is off: steerd's configuration has no [dns] table");
  }
  const dns::DnsConfig& c = *config_->dns;
  auto is_pop = [&](std::string_view name) {
    return std::any_of(c.pops.begin(), c.pops.end(), [&](const auto& p) { return p.name == name; });
  };
  std::string pop = "*", service = "*";
  if (pop_command) {
    pop = std::string(req.args[0]);
    if (!is_pop(pop)) return reply_error(reply::kNotFound, fmt::format("no [[dns.pop]] '{}'", pop));
  } else {
    service = std::string(req.args[0]);
    if (std::none_of(c.services.begin(), c.services.end(),
                     [&](const auto& s) { return s.name == service; })) {
      return reply_error(reply::kNotFound, fmt::format("no [[dns.service]] '{}'", service));
    }
    if (req.args.size() > 1) {
      pop = std::string(req.args[1]);
      if (!is_pop(pop))
        return reply_error(reply::kNotFound, fmt::format("no [[dns.pop]] '{}'", pop));
    }
  }
  const std::string what = pop_command  ? fmt::format("pop {} (every service)", pop)
                           : pop == "*" ? fmt::format("service {} (every PoP)", service)
                                        : fmt::format("service {} at {}", service, pop);
  if (disable) {
    if (auto r = overrides_->disable(pop, service, req.peer, unix_ms_now()); !r) {
      return reply_error(reply::kRuntimeError, r.error().message);
    }
  } else {
    auto r = overrides_->enable(pop, service);
    if (!r) return reply_error(reply::kRuntimeError, r.error().message);
    if (!*r) return reply_error(reply::kNotFound, fmt::format("no DNS override of {}", what));
  }
  events_.add(fmt::format("{}: dns {} {}: {}", req.peer.text(), disable ? "disable" : "enable",
                          what,
                          disable ? "out of DNS answers (BGP and the dataplane unchanged)"
                                  : "back in DNS answers when healthy"));
  rebuild();
  return reply_json(json{{"pop", pop}, {"service", service}, {"disabled", disable}}.dump(), "done");
}

void DnsLink::register_commands(CommandTable& t) {
  t.add({"show dns", "", "zones, services, each PoP's state and why; the responder", 0, 0, "",
         [this](const CommandRequest& r, const Respond& respond) { respond(show(r)); }});
  t.add({"dns query", "NAME TYPE CLIENT [ECS]",
         "the answer a resolver at CLIENT gets (with an ECS prefix), and why", 3, 4, "",
         [this](const CommandRequest& r, const Respond& respond) { respond(query(r)); }});
  for (const bool disable : {true, false}) {
    const char* verb = disable ? "disable" : "enable";
    t.add({fmt::format("dns pop {}", verb), "POP",
           disable ? "take a PoP out of DNS answers (BGP and the dataplane unchanged)"
                   : "put a PoP back in DNS answers",
           1, 1, "change DNS answers",
           [this, disable](const CommandRequest& r, const Respond& respond) {
             respond(set_override(r, true, disable));
           }});
    t.add({fmt::format("dns service {}", verb), "SERVICE [POP]",
           disable ? "take a service (at one PoP, or everywhere) out of DNS answers"
                   : "put a service back in DNS answers",
           1, 2, "change DNS answers",
           [this, disable](const CommandRequest& r, const Respond& respond) {
             respond(set_override(r, false, disable));
           }});
  }
}

}  // namespace steer::control
