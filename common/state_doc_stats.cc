// The stats and status documents: writers and lenient readers (state_doc.h). Each struct's
// counters are listed once, in a table of (key, member) that both the writer and the reader
// walk, so the two cannot drift apart.
#include <cmath>
#include <limits>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/state_doc.h"

namespace steer::doc {

using nlohmann::json;

namespace {

template <class S>
using U64Field = std::pair<const char*, uint64_t S::*>;

constexpr U64Field<PacketCounters> kPacketCounterFields[] = {
    {"rx", &PacketCounters::rx},
    {"forwarded", &PacketCounters::forwarded},
    {"replied", &PacketCounters::replied},
    {"passed", &PacketCounters::passed},
    {"dropped", &PacketCounters::dropped},
    {"new_flows", &PacketCounters::new_flows},
    {"rechosen", &PacketCounters::rechosen},
    {"fragments", &PacketCounters::fragments},
    {"icmp_errors_forwarded", &PacketCounters::icmp_errors_forwarded},
    {"echo_replies", &PacketCounters::echo_replies},
    {"too_big_replies", &PacketCounters::too_big_replies},
    {"too_big_no_df", &PacketCounters::too_big_no_df},
    {"tx_dropped", &PacketCounters::tx_dropped},
    {"multi_segment", &PacketCounters::multi_segment},
};

constexpr U64Field<LcoreStats> kLcoreFields[] = {
    {"flows", &LcoreStats::flows},
    {"flow_capacity", &LcoreStats::flow_capacity},
    {"flow_hits", &LcoreStats::flow_hits},
    {"flow_misses", &LcoreStats::flow_misses},
    {"flow_inserts", &LcoreStats::flow_inserts},
    {"flow_evictions", &LcoreStats::flow_evictions},
    {"flow_expirations", &LcoreStats::flow_expirations},
    {"generation", &LcoreStats::generation},
    {"busy_cycles", &LcoreStats::busy_cycles},
    {"iterations", &LcoreStats::iterations},
};

constexpr U64Field<VipStats> kVipFields[] = {
    {"backends", &VipStats::backend_count},
    {"packets", &VipStats::packets},
    {"bytes", &VipStats::bytes},
    {"new_flows", &VipStats::new_flows},
};

constexpr U64Field<BackendStats> kBackendFields[] = {
    {"slots", &BackendStats::slots},
    {"packets", &BackendStats::packets},
    {"bytes", &BackendStats::bytes},
};

constexpr U64Field<PortStats> kPortFields[] = {
    {"ipackets", &PortStats::ipackets}, {"opackets", &PortStats::opackets},
    {"ibytes", &PortStats::ibytes},     {"obytes", &PortStats::obytes},
    {"imissed", &PortStats::imissed},   {"ierrors", &PortStats::ierrors},
    {"oerrors", &PortStats::oerrors},   {"rx_nombuf", &PortStats::rx_nombuf},
};

constexpr U64Field<XdpStatus> kXdpFields[] = {
    {"redirected", &XdpStatus::redirected},
    {"no_socket", &XdpStatus::no_socket},
    {"passed", &XdpStatus::passed},
    {"malformed", &XdpStatus::malformed},
};

template <class S, size_t N>
void write_fields(json& j, const S& s, const U64Field<S> (&fields)[N]) {
  for (const auto& [key, member] : fields) j[key] = s.*member;
}

// Reads the known keys of one JSON object, leniently: an absent key leaves its field as it
// is, an unknown key is ignored, a key of the wrong type is the error (the first one is kept;
// later reads do nothing once there is one).
class Reader {
 public:
  Reader(const json& object, std::string where) : object_(object), where_(std::move(where)) {}

  template <class T>
  void uint(const char* key, T& out) {
    const json* v = find(key);
    if (v == nullptr) return;
    if (!v->is_number_unsigned()) return fail_at(key, "expected an unsigned integer");
    const uint64_t x = v->get<uint64_t>();
    if constexpr (sizeof(T) < sizeof(uint64_t)) {
      if (x > std::numeric_limits<T>::max()) {
        return fail_at(key, fmt::format("{} is larger than {}", x, std::numeric_limits<T>::max()));
      }
    }
    out = static_cast<T>(x);
  }
  template <class S, size_t N>
  void fields(S& s, const U64Field<S> (&table)[N]) {
    for (const auto& [key, member] : table) uint(key, s.*member);
  }
  void integer(const char* key, int64_t& out) {
    const json* v = find(key);
    if (v == nullptr) return;
    if (!v->is_number_integer()) return fail_at(key, "expected an integer");
    if (v->is_number_unsigned() &&
        v->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return fail_at(key, "expected an integer");
    }
    out = v->get<int64_t>();
  }
  void number(const char* key, double& out) {
    const json* v = find(key);
    if (v == nullptr) return;
    // Not finite: a number too large for a double, which no writer could write back.
    if (!v->is_number() || !std::isfinite(v->get<double>())) {
      return fail_at(key, "expected a number");
    }
    out = v->get<double>();
  }
  void boolean(const char* key, bool& out) {
    const json* v = find(key);
    if (v == nullptr) return;
    if (!v->is_boolean()) return fail_at(key, "expected true or false");
    out = v->get<bool>();
  }
  void string(const char* key, std::string& out) {
    const json* v = find(key);
    if (v == nullptr) return;
    if (!v->is_string()) return fail_at(key, "expected a string");
    out = v->get<std::string>();
  }
  // The array or object at `key`; nullptr when absent or on a type error (then error()).
  const json* array(const char* key) { return typed(key, &json::is_array, "expected an array"); }
  const json* object(const char* key) { return typed(key, &json::is_object, "expected an object"); }
  // A label the entry is matched by: required, and must parse.
  template <class T, class Parse>
  void required(const char* key, T& out, Parse parse, std::string_view what) {
    if (error_) return;
    const json* v = find(key);
    if (v == nullptr) return fail_at(key, "missing");
    if (!v->is_string()) return fail_at(key, "expected a string");
    auto parsed = parse(v->get_ref<const std::string&>());
    if (!parsed) return fail_at(key, fmt::format("'{}' is not {}", v->get<std::string>(), what));
    out = *parsed;
  }

  std::string at(std::string_view key) const {
    return where_.empty() ? std::string(key) : fmt::format("{}.{}", where_, key);
  }
  const std::optional<Error>& error() const { return error_; }
  void fail_at(std::string_view key, std::string_view what) {
    if (!error_) error_ = Error{fmt::format("{}: {}", at(key), what)};
  }
  // An error found inside a nested list (its message names its own place).
  void fail_with(Error e) {
    if (!error_) error_ = std::move(e);
  }

 private:
  const json* find(const char* key) const {
    if (error_) return nullptr;
    auto it = object_.find(key);
    return it == object_.end() ? nullptr : &*it;
  }
  const json* typed(const char* key, bool (json::*is)() const noexcept, std::string_view what) {
    const json* v = find(key);
    if (v == nullptr) return nullptr;
    if (!((*v).*is)()) {
      fail_at(key, what);
      return nullptr;
    }
    return v;
  }

  const json& object_;
  std::string where_;
  std::optional<Error> error_;
};

// Parses each element of `array` (at `where`, e.g. "lcores") with read(reader, out), where
// the reader is over that element: every element must be an object. Returns the first error.
template <class T, class Read>
Result<std::vector<T>> read_list(const json* array, const std::string& where, Read read) {
  std::vector<T> out;
  if (array == nullptr) return out;
  for (size_t i = 0; i < array->size(); ++i) {
    const std::string place = fmt::format("{}[{}]", where, i);
    const json& e = (*array)[i];
    if (!e.is_object()) return fail(fmt::format("{}: expected an object", place));
    Reader r(e, place);
    T t;
    read(r, t);
    if (r.error()) return tl::unexpected(*r.error());
    out.push_back(std::move(t));
  }
  return out;
}

std::optional<VipKey> parse_vip_label(const std::string& text) { return VipKey::parse(text); }
std::optional<IpAddress> parse_address(const std::string& text) { return IpAddress::parse(text); }

Result<json> parse_object(std::string_view document, std::string_view what) {
  json doc = json::parse(document, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return fail(fmt::format("{}: not valid JSON", what));
  if (!doc.is_object()) return fail(fmt::format("{}: expected a JSON object", what));
  return doc;
}

}  // namespace

// ---- stats ------------------------------------------------------------------------------------

std::string to_json(const Stats& stats) {
  json doc;
  doc["generation"] = stats.generation;
  json totals;
  write_fields(totals, stats.totals, kPacketCounterFields);
  doc["totals"] = std::move(totals);
  json drops = json::object();
  for (const auto& [reason, n] : stats.drops) drops[reason] = n;
  doc["drops"] = std::move(drops);
  json lcores = json::array();
  for (const LcoreStats& l : stats.lcores) {
    json j;
    write_fields(j, l.counters, kPacketCounterFields);
    write_fields(j, l, kLcoreFields);
    j["lcore"] = l.lcore;
    json queues = json::array();
    for (const LcoreQueue& q : l.queues) queues.push_back({{"port", q.port}, {"queue", q.queue}});
    j["queues"] = std::move(queues);
    lcores.push_back(std::move(j));
  }
  doc["lcores"] = std::move(lcores);
  doc["tsc_hz"] = stats.tsc_hz;
  json vips = json::array();
  for (const VipStats& v : stats.vips) {
    json j = {{"vip", v.key.to_string()},
              {"address", v.key.address.to_string()},
              {"proto", l4_proto_name(v.key.proto)},
              {"port", v.key.port}};
    write_fields(j, v, kVipFields);
    vips.push_back(std::move(j));
  }
  doc["vips"] = std::move(vips);
  json backends = json::array();
  for (const BackendStats& b : stats.backends) {
    json j = {{"vip", b.vip.to_string()}, {"address", b.address.to_string()}, {"weight", b.weight}};
    write_fields(j, b, kBackendFields);
    backends.push_back(std::move(j));
  }
  doc["backends"] = std::move(backends);
  json ports = json::array();
  for (const PortStats& p : stats.ports) {
    json j = {{"port", p.port}, {"name", p.name}};
    write_fields(j, p, kPortFields);
    ports.push_back(std::move(j));
  }
  doc["ports"] = std::move(ports);
  return doc.dump();
}

Result<Stats> parse_stats(std::string_view document) {
  auto doc = parse_object(document, "stats");
  if (!doc) return tl::unexpected(doc.error());
  Stats out;
  Reader r(*doc, "");
  r.uint("generation", out.generation);
  r.uint("tsc_hz", out.tsc_hz);
  if (const json* t = r.object("totals")) {
    Reader rt(*t, "totals");
    rt.fields(out.totals, kPacketCounterFields);
    if (rt.error()) return tl::unexpected(*rt.error());
  }
  if (const json* d = r.object("drops")) {
    Reader rd(*d, "drops");
    for (auto it = d->begin(); it != d->end(); ++it) {
      uint64_t n = 0;
      rd.uint(it.key().c_str(), n);
      out.drops[it.key()] = n;
    }
    if (rd.error()) return tl::unexpected(*rd.error());
  }
  const json* lcores = r.array("lcores");
  const json* vips = r.array("vips");
  const json* backends = r.array("backends");
  const json* ports = r.array("ports");
  if (r.error()) return tl::unexpected(*r.error());

  auto l = read_list<LcoreStats>(lcores, "lcores", [](Reader& e, LcoreStats& s) {
    e.uint("lcore", s.lcore);
    e.fields(s.counters, kPacketCounterFields);
    e.fields(s, kLcoreFields);
    auto q =
        read_list<LcoreQueue>(e.array("queues"), e.at("queues"), [](Reader& qe, LcoreQueue& lq) {
          qe.uint("port", lq.port);
          qe.uint("queue", lq.queue);
        });
    if (!q) return e.fail_with(q.error());
    s.queues = std::move(*q);
  });
  if (!l) return tl::unexpected(l.error());
  out.lcores = std::move(*l);

  auto v = read_list<VipStats>(vips, "vips", [](Reader& e, VipStats& s) {
    e.required("vip", s.key, parse_vip_label, "a VIP label (ADDR:PORT/PROTO)");
    e.fields(s, kVipFields);
  });
  if (!v) return tl::unexpected(v.error());
  out.vips = std::move(*v);

  auto b = read_list<BackendStats>(backends, "backends", [](Reader& e, BackendStats& s) {
    e.required("vip", s.vip, parse_vip_label, "a VIP label (ADDR:PORT/PROTO)");
    e.required("address", s.address, parse_address, "an IPv4 or IPv6 address");
    e.uint("weight", s.weight);
    e.fields(s, kBackendFields);
  });
  if (!b) return tl::unexpected(b.error());
  out.backends = std::move(*b);

  auto p = read_list<PortStats>(ports, "ports", [](Reader& e, PortStats& s) {
    e.uint("port", s.port);
    e.string("name", s.name);
    e.fields(s, kPortFields);
  });
  if (!p) return tl::unexpected(p.error());
  out.ports = std::move(*p);
  return out;
}

StatsIndex::StatsIndex(Stats stats) : stats_(std::move(stats)) {
  for (size_t i = 0; i < stats_.vips.size(); ++i) vips_.emplace(stats_.vips[i].key, i);
  for (size_t i = 0; i < stats_.backends.size(); ++i) {
    const BackendStats& b = stats_.backends[i];
    backends_.emplace(std::make_pair(b.vip, b.address), i);
  }
}

const VipStats* StatsIndex::vip(const VipKey& key) const {
  auto it = vips_.find(key);
  return it == vips_.end() ? nullptr : &stats_.vips[it->second];
}

const BackendStats* StatsIndex::backend(const VipKey& vip, const IpAddress& address) const {
  auto it = backends_.find(std::make_pair(vip, address));
  return it == backends_.end() ? nullptr : &stats_.backends[it->second];
}

// ---- status -----------------------------------------------------------------------------------

std::string to_json(const Status& status) {
  json doc;
  doc["version"] = status.version;
  doc["pid"] = status.pid;
  doc["uptime_s"] = status.uptime_s;
  doc["generation"] = status.generation;
  json workers = json::array();
  for (const WorkerStatus& w : status.workers) {
    workers.push_back({{"lcore", w.lcore},
                       {"alive", w.alive},
                       {"heartbeat_age_ms", w.heartbeat_age_ms},
                       {"iterations", w.iterations},
                       {"generation", w.generation}});
  }
  doc["workers"] = std::move(workers);
  doc["alive"] = status.alive;
  doc["switched"] = status.switched;
  json ports = json::array();
  for (const PortStatus& p : status.ports) {
    ports.push_back({{"port", p.port},
                     {"name", p.name},
                     {"mac", p.mac},
                     {"queues", p.queues},
                     {"link_up", p.link_up},
                     {"af_xdp_iface", p.af_xdp_iface}});
  }
  doc["ports"] = std::move(ports);
  const EgressStatus& e = status.egress;
  doc["egress"] = {{"src_mac", e.src_mac},
                   {"dst_mac", e.dst_mac},
                   {"gateway", e.gateway},
                   {"gateway_resolved", e.gateway_resolved},
                   {"mtu", e.mtu}};
  if (status.xdp) {
    json xdp = json::object();
    for (const auto& [iface, x] : *status.xdp) {
      json j = {{"prog_id", x.prog_id}};
      write_fields(j, x, kXdpFields);
      xdp[iface] = std::move(j);
    }
    doc["xdp"] = std::move(xdp);
  }
  return doc.dump();
}

Result<Status> parse_status(std::string_view document) {
  auto doc = parse_object(document, "status");
  if (!doc) return tl::unexpected(doc.error());
  Status out;
  Reader r(*doc, "");
  r.string("version", out.version);
  r.integer("pid", out.pid);
  r.number("uptime_s", out.uptime_s);
  r.uint("generation", out.generation);
  r.boolean("alive", out.alive);
  r.boolean("switched", out.switched);
  const json* workers = r.array("workers");
  const json* ports = r.array("ports");
  const json* egress = r.object("egress");
  const json* xdp = r.object("xdp");
  if (r.error()) return tl::unexpected(*r.error());

  auto w = read_list<WorkerStatus>(workers, "workers", [](Reader& e, WorkerStatus& s) {
    e.uint("lcore", s.lcore);
    e.boolean("alive", s.alive);
    e.number("heartbeat_age_ms", s.heartbeat_age_ms);
    e.uint("iterations", s.iterations);
    e.uint("generation", s.generation);
  });
  if (!w) return tl::unexpected(w.error());
  out.workers = std::move(*w);

  auto p = read_list<PortStatus>(ports, "ports", [](Reader& e, PortStatus& s) {
    e.uint("port", s.port);
    e.string("name", s.name);
    e.string("mac", s.mac);
    e.uint("queues", s.queues);
    e.boolean("link_up", s.link_up);
    e.string("af_xdp_iface", s.af_xdp_iface);
  });
  if (!p) return tl::unexpected(p.error());
  out.ports = std::move(*p);

  if (egress != nullptr) {
    Reader e(*egress, "egress");
    EgressStatus& s = out.egress;
    e.string("src_mac", s.src_mac);
    e.string("dst_mac", s.dst_mac);
    e.string("gateway", s.gateway);
    e.boolean("gateway_resolved", s.gateway_resolved);
    e.uint("mtu", s.mtu);
    if (e.error()) return tl::unexpected(*e.error());
  }
  if (xdp != nullptr) {
    out.xdp.emplace();
    for (auto it = xdp->begin(); it != xdp->end(); ++it) {
      const std::string place = fmt::format("xdp.{}", it.key());
      if (!it->is_object()) return fail(fmt::format("{}: expected an object", place));
      Reader e(*it, place);
      XdpStatus x;
      e.uint("prog_id", x.prog_id);
      e.fields(x, kXdpFields);
      if (e.error()) return tl::unexpected(*e.error());
      (*out.xdp)[it.key()] = x;
    }
  }
  return out;
}

}  // namespace steer::doc
