#include "dataplane/api_server.h"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>
#include <grp.h>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>

#include "common/file.h"
#include "common/framing.h"
#include "common/state_doc.h"
#include "common/version.h"
#include "dataplane/packet/explain.h"
#include "dataplane/state_json.h"

namespace steer::dataplane {

using nlohmann::json;

namespace {

std::string json_reply(const json& doc, std::string_view final_text = "ok") {
  return reply_json(doc.dump(), final_text);
}

doc::PacketCounters packet_counters(const PipelineCounters& c) {
  doc::PacketCounters d;
  d.rx = c.rx;
  d.forwarded = c.forwarded;
  d.replied = c.replied();
  d.passed = c.passed;
  d.dropped = c.dropped();
  d.new_flows = c.new_flows;
  d.rechosen = c.rechosen;
  d.fragments = c.fragments;
  d.icmp_errors_forwarded = c.icmp_errors_forwarded;
  d.echo_replies = c.echo_replies;
  d.too_big_replies = c.too_big_replies;
  d.too_big_no_df = c.too_big_no_df;
  return d;
}

void add_counters(PipelineCounters& sum, const PipelineCounters& c) {
  sum.rx += c.rx;
  sum.forwarded += c.forwarded;
  sum.passed += c.passed;
  sum.new_flows += c.new_flows;
  sum.rechosen += c.rechosen;
  sum.fragments += c.fragments;
  sum.icmp_errors_forwarded += c.icmp_errors_forwarded;
  sum.echo_replies += c.echo_replies;
  sum.too_big_replies += c.too_big_replies;
  sum.too_big_no_df += c.too_big_no_df;
  for (size_t i = 0; i < kDropReasonCount; ++i) sum.drops[i] += c.drops[i];
}

}  // namespace

struct ApiServer::Client {
  int fd = -1;
  RequestReader in;
  std::string out;
  bool closing = false;
};

ApiServer::ApiServer(Runtime& rt, ApiHooks hooks) : rt_(rt), hooks_(std::move(hooks)) {
  if (!hooks_.log) {
    hooks_.log = [](std::string_view line) { fmt::print(stderr, "steer-dataplane: {}\n", line); };
  }
  generation_ = rt_.publisher.snapshot()->generation();
}

ApiServer::~ApiServer() {
  if (listen_fd_ >= 0) {
    close(listen_fd_);
    unlink(path_.c_str());
  }
  // Queries a worker never answered: workers are stopped by now.
  for (FlowQuery* q : abandoned_) delete q;
}

Result<void> ApiServer::listen() {
  path_ = rt_.config.api_socket;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path_.size() >= sizeof(addr.sun_path)) {
    return fail(fmt::format("api socket path too long: {}", path_));
  }
  std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
  std::error_code ec;
  const auto parent = std::filesystem::path(path_).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);

  // A socket file left by a crashed run answers no connect: remove it. One that answers
  // belongs to a running steer-dataplane: refuse to start a second one on it.
  if (std::filesystem::exists(path_, ec)) {
    const int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const bool alive =
        probe >= 0 && connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    if (probe >= 0) close(probe);
    if (alive) return fail(fmt::format("{}: another steer-dataplane is serving it", path_));
    unlink(path_.c_str());
  }
  listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listen_fd_ < 0) return fail(fmt::format("socket: {}", std::strerror(errno)));
  const mode_t old_umask = umask(0177);
  const int rc = bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  umask(old_umask);
  if (rc != 0) return fail(fmt::format("bind {}: {}", path_, std::strerror(errno)));
  if (!rt_.config.api_socket_group.empty()) {
    const group* g = getgrnam(rt_.config.api_socket_group.c_str());
    if (g == nullptr)
      return fail(fmt::format("api socket group '{}' does not exist", rt_.config.api_socket_group));
    if (chown(path_.c_str(), static_cast<uid_t>(-1), g->gr_gid) != 0) {
      return fail(fmt::format("chown {}: {}", path_, std::strerror(errno)));
    }
  }
  if (chmod(path_.c_str(), rt_.config.api_socket_mode) != 0) {
    return fail(fmt::format("chmod {}: {}", path_, std::strerror(errno)));
  }
  if (::listen(listen_fd_, 16) != 0) return fail(fmt::format("listen: {}", std::strerror(errno)));
  return {};
}

void ApiServer::run() {
  std::vector<std::unique_ptr<Client>> clients;
  std::vector<pollfd> fds;
  const std::string greeting =
      format_reply_line(reply::kGreeting, fmt::format("steer-dataplane {} ready.", kVersion), true);
  while (!rt_.stop.load(std::memory_order_relaxed)) {
    fds.clear();
    fds.push_back(pollfd{listen_fd_, POLLIN, 0});
    for (auto& c : clients) {
      fds.push_back(
          pollfd{c->fd, static_cast<short>(c->out.empty() ? POLLIN : POLLIN | POLLOUT), 0});
    }
    const int n = poll(fds.data(), fds.size(), 100);
    periodic();
    if (n < 0) {
      if (errno == EINTR) continue;
      hooks_.log(fmt::format("poll: {}", std::strerror(errno)));
      return;
    }
    if (fds[0].revents & POLLIN) {
      while (true) {
        const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) break;
        auto c = std::make_unique<Client>();
        c->fd = fd;
        c->out = greeting;
        clients.push_back(std::move(c));
      }
    }
    for (size_t i = 1; i < fds.size(); ++i) {
      Client& c = *clients[i - 1];
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
        char buf[65536];
        while (true) {
          const ssize_t r = read(c.fd, buf, sizeof(buf));
          if (r > 0) {
            if (auto fed = c.in.feed(std::string_view(buf, static_cast<size_t>(r))); !fed) {
              c.out += reply_error(reply::kBadArgument, fed.error().message);
              c.closing = true;
              break;
            }
            while (auto line = c.in.next()) c.out += handle(*line);
            continue;
          }
          if (r == 0 || (errno != EAGAIN && errno != EINTR)) c.closing = true;
          break;
        }
      }
      while (!c.out.empty()) {
        const ssize_t w = send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
        if (w > 0) {
          c.out.erase(0, static_cast<size_t>(w));
          continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EINTR)) break;
        c.out.clear();
        c.closing = true;
        break;
      }
    }
    std::erase_if(clients, [](const std::unique_ptr<Client>& c) {
      if (c->closing && c->out.empty()) {
        close(c->fd);
        return true;
      }
      return false;
    });
  }
  for (auto& c : clients) close(c->fd);
}

std::string ApiServer::handle(std::string_view line) {
  const Request req = split_request(line);
  if (req.command.empty()) return reply_error(reply::kUnknownCommand, "empty request");
  if (req.command == "apply") return apply(req.rest);
  if (req.command == "state") return state();
  if (req.command == "stats") return stats();
  if (req.command == "status") return status();
  if (req.command == "flow") return flow(req.rest);
  if (req.command == "help") {
    return ReplyWriter()
        .line(reply::kHelp, "apply <json>  replace the desired state (VIPs and backends)")
        .line(reply::kHelp, "state         the applied state")
        .line(reply::kHelp,
              "stats         counters: totals, drops by reason, lcores, VIPs, backends, ports")
        .line(reply::kHelp, "status        liveness: per-lcore heartbeat and generation")
        .line(reply::kHelp, "flow <tcp|udp> <src> <sport> <dst> <dport>  which backend, and why")
        .finish(reply::kOk, "ok");
  }
  return reply_error(reply::kUnknownCommand,
                     fmt::format("unknown command '{}' (try 'help')", req.command));
}

Result<ApiServer::Applied> ApiServer::apply_document(std::string_view document) {
  auto parsed = parse_state_json(document);
  if (!parsed) return tl::unexpected(parsed.error());
  StateSpec spec = std::move(*parsed);
  spec.egress = rt_.egress;
  auto built = Snapshot::build(spec, rt_.publisher.snapshot().get(), generation_ + 1);
  if (!built) return tl::unexpected(built.error());
  ++generation_;
  const std::shared_ptr<const Snapshot> snap = *built;
  rt_.publisher.publish(snap, std::move(spec));
  Applied a{generation_, snap->warnings()};
  if (hooks_.after_publish) {
    if (auto r = hooks_.after_publish(*snap); !r) {
      a.warnings.push_back(r.error().message);
      hooks_.log(r.error().message);
    }
  }
  save_state();
  hooks_.log(fmt::format("applied generation {} ({} VIPs)", generation_, snap->vips().size()));
  return a;
}

void ApiServer::save_state() {
  const std::string& path = rt_.config.state_file;
  if (path.empty()) return;
  // Atomic and durable, so a crash never leaves half a file for the next start.
  if (auto r = write_file_atomic(path, state_to_json(rt_.publisher.spec(), generation_)); !r) {
    hooks_.log(fmt::format("cannot save the state: {}", r.error().message));
  }
}

std::string ApiServer::apply(std::string_view document) {
  auto applied = apply_document(document);
  if (!applied) return reply_error(reply::kInvalidState, applied.error().message);
  // Every worker past a quiescent point means every worker now reads the new snapshot.
  const bool switched = rt_.publisher.wait_switched(1000);
  json doc;
  doc["generation"] = applied->generation;
  doc["switched"] = switched;
  doc["warnings"] = applied->warnings;
  return json_reply(doc, "applied");
}

std::string ApiServer::state() {
  return ReplyWriter()
      .json(state_to_json(rt_.publisher.spec(), generation_))
      .finish(reply::kOk, "ok");
}

std::string ApiServer::stats() {
  const Snapshot& snap = *rt_.publisher.snapshot();
  doc::Stats doc;
  doc.generation = generation_;
  doc.tsc_hz = rt_.tsc_hz;
  PipelineCounters total;
  uint64_t tx_dropped = 0, multi_segment = 0;
  for (const auto& wp : rt_.workers) {
    const Worker& w = *wp;
    const PipelineCounters& c = w.ctx.counters();
    add_counters(total, c);
    tx_dropped += w.tx_dropped;
    multi_segment += w.multi_segment;
    doc::LcoreStats& l = doc.lcores.emplace_back();
    l.lcore = w.lcore;
    l.counters = packet_counters(c);
    l.counters.tx_dropped = w.tx_dropped;
    l.counters.multi_segment = w.multi_segment;
    for (const RxQueue& q : w.queues) l.queues.push_back(doc::LcoreQueue{q.port, q.queue});
    const FlowTableCounters& fc = w.ctx.flows().counters();
    l.flows = w.flows.load(std::memory_order_relaxed);
    l.flow_capacity = w.ctx.flows().capacity();
    l.flow_hits = fc.hits;
    l.flow_misses = fc.misses;
    l.flow_inserts = fc.inserts;
    l.flow_evictions = fc.evictions;
    l.flow_expirations = fc.expirations;
    l.generation = w.generation.load(std::memory_order_relaxed);
    l.busy_cycles = w.busy_tsc.load(std::memory_order_relaxed);
    l.iterations = w.iterations.load(std::memory_order_relaxed);
  }
  doc.totals = packet_counters(total);
  doc.totals.tx_dropped = tx_dropped;
  doc.totals.multi_segment = multi_segment;
  for (size_t i = 0; i < kDropReasonCount; ++i) {
    doc.drops[std::string(kDropReasonNames[i])] = total.drops[i];
  }

  std::vector<uint32_t> slot_counts(snap.backend_slots().size(), 0);
  for (const SnapshotVip& v : snap.vips()) {
    doc::VipStats& vs = doc.vips.emplace_back();
    vs.key = v.key();
    vs.backend_count = v.backends.size();
    for (const auto& w : rt_.workers) {
      const VipCounters& c = w->ctx.vip_counters(v.id);
      vs.packets += c.packets;
      vs.bytes += c.bytes;
      vs.new_flows += c.new_flows;
    }
    // Slots per backend in one pass over the table (by handle index).
    for (uint32_t handle : v.backends) slot_counts[handle & 0xffff] = 0;
    for (uint32_t s : v.slots) {
      if (s != kNoBackendHandle && (s & 0xffff) < slot_counts.size()) ++slot_counts[s & 0xffff];
    }
    for (uint32_t handle : v.backends) {
      const SnapshotBackend* b = snap.backend(handle);
      if (b == nullptr) continue;
      doc::BackendStats& bs = doc.backends.emplace_back();
      bs.vip = vs.key;
      bs.address = b->target.backend;
      bs.weight = b->weight;
      bs.slots = slot_counts[handle & 0xffff];
      for (const auto& w : rt_.workers) {
        const BackendCounters& c = w->ctx.backend_counters(handle & 0xffff);
        bs.packets += c.packets;
        bs.bytes += c.bytes;
      }
    }
  }

  for (const PortInfo& p : rt_.ports) {
    rte_eth_stats s{};
    rte_eth_stats_get(p.id, &s);
    doc.ports.push_back(doc::PortStats{.port = p.id,
                                       .name = p.name,
                                       .ipackets = s.ipackets,
                                       .opackets = s.opackets,
                                       .ibytes = s.ibytes,
                                       .obytes = s.obytes,
                                       .imissed = s.imissed,
                                       .ierrors = s.ierrors,
                                       .oerrors = s.oerrors,
                                       .rx_nombuf = s.rx_nombuf});
  }
  return reply_json(doc::to_json(doc), "ok");
}

std::string ApiServer::status() {
  const uint64_t now = rte_rdtsc();
  doc::Status doc;
  doc.version = kVersion;
  doc.pid = getpid();
  doc.uptime_s = static_cast<double>(now - rt_.start_tsc) / static_cast<double>(rt_.tsc_hz);
  doc.generation = generation_;
  doc.alive = true;
  doc.switched = true;
  for (const auto& wp : rt_.workers) {
    const Worker& w = *wp;
    const uint64_t hb = w.heartbeat_tsc.load(std::memory_order_relaxed);
    doc::WorkerStatus& ws = doc.workers.emplace_back();
    ws.lcore = w.lcore;
    ws.heartbeat_age_ms = hb == 0 ? -1.0
                                  : static_cast<double>(now > hb ? now - hb : 0) * 1000.0 /
                                        static_cast<double>(rt_.tsc_hz);
    ws.alive = hb != 0 && ws.heartbeat_age_ms < rt_.config.stuck_ms;
    ws.iterations = w.iterations.load(std::memory_order_relaxed);
    ws.generation = w.generation.load(std::memory_order_relaxed);
    doc.alive = doc.alive && ws.alive;
    doc.switched = doc.switched && ws.generation == generation_;
  }
  for (const PortInfo& p : rt_.ports) {
    rte_eth_link link{};
    rte_eth_link_get_nowait(p.id, &link);
    doc.ports.push_back(doc::PortStatus{.port = p.id,
                                        .name = p.name,
                                        .mac = format_mac(p.mac),
                                        .queues = p.queues,
                                        .link_up = link.link_status == RTE_ETH_LINK_UP,
                                        .af_xdp_iface = p.af_xdp_iface});
  }
  doc.egress.src_mac = format_mac(rt_.egress.src_mac);
  doc.egress.dst_mac = format_mac(rt_.egress.dst_mac);
  doc.egress.gateway = rt_.config.egress.gateway ? rt_.config.egress.gateway->to_string() : "";
  doc.egress.gateway_resolved = rt_.gateway_resolved;
  doc.egress.mtu = rt_.egress.mtu;
  if (hooks_.xdp_status) doc.xdp = hooks_.xdp_status();
  return reply_json(doc::to_json(doc), "ok");
}

std::string ApiServer::flow(std::string_view args) {
  const auto words = split_words(args);
  if (words.size() != 5) {
    return reply_error(reply::kBadArgument, "usage: flow <tcp|udp> <src> <sport> <dst> <dport>");
  }
  auto key = make_flow_key(words[0], words[1], words[2], words[3], words[4]);
  if (!key) return reply_error(reply::kBadArgument, key.error().message);
  const std::shared_ptr<const Snapshot> snap = rt_.publisher.snapshot();
  const FlowExplanation e = explain_new_flow(*snap, *key);
  json doc;
  doc["generation"] = generation_;
  doc["flow_hash"] = fmt::format("{:#018x}", e.flow_hash);
  if (!e.vip_found) {
    doc["vip"] = nullptr;
    doc["backend"] = nullptr;
    doc["reason"] = e.reason;
    return json_reply(doc);
  }
  const SnapshotVip& v = snap->vip(e.vip);
  doc["vip"] = v.key().to_string();
  doc["hash_mode"] = hash_mode_name(v.hash_mode);
  const SnapshotBackend* maglev = snap->backend(e.handle);
  doc["maglev"] = {{"slot", e.slot},
                   {"table_size", v.table_size},
                   {"backend", maglev ? json(maglev->target.backend.to_string()) : json(nullptr)}};

  // Ask each worker about its own flow table (the flow lives on the lcore whose queue RSS
  // gave it).
  json established = json::array();
  std::string chosen = maglev ? maglev->target.backend.to_string() : std::string();
  std::string reason = e.reason;
  std::vector<std::pair<const Worker*, FlowQuery*>> asked;
  for (const auto& w : rt_.workers) {
    auto* q = new FlowQuery;
    q->key = *key;
    q->hash = e.flow_hash;
    if (rte_ring_sp_enqueue(w->queries, q) != 0) {
      delete q;
      continue;
    }
    asked.emplace_back(w.get(), q);
  }
  const uint64_t deadline = rte_rdtsc() + rt_.tsc_hz / 5;  // 200 ms
  for (auto& [w, q] : asked) {
    while (!q->answered.load(std::memory_order_acquire) && rte_rdtsc() < deadline) usleep(20);
    if (!q->answered.load(std::memory_order_acquire)) {
      abandoned_.push_back(q);  // freed once answered (or at exit)
      established.push_back({{"lcore", w->lcore}, {"answered", false}});
      continue;
    }
    if (q->found) {
      const SnapshotBackend* b = snap->backend(q->handle);
      established.push_back({{"lcore", w->lcore},
                             {"answered", true},
                             {"backend", b ? json(b->target.backend.to_string()) : json(nullptr)},
                             {"age_ms", q->age_ms}});
      if (b != nullptr) {
        chosen = b->target.backend.to_string();
        reason = fmt::format("established flow on lcore {} (last packet {} ms ago) stays on {}",
                             w->lcore, q->age_ms, chosen);
      } else {
        reason = fmt::format(
            "established flow on lcore {} whose backend left the set: its next "
            "packet chooses again; {}",
            w->lcore, e.reason);
      }
    }
    delete q;
  }
  doc["established"] = std::move(established);
  doc["backend"] = chosen.empty() ? json(nullptr) : json(chosen);
  doc["reason"] = reason;
  return json_reply(doc);
}

void ApiServer::republish_egress(const EgressSpec& egress) {
  rt_.egress = egress;
  StateSpec spec = rt_.publisher.spec();
  spec.egress = egress;
  auto built = Snapshot::build(spec, rt_.publisher.snapshot().get(), generation_ + 1);
  if (!built) {
    hooks_.log(fmt::format("egress change not applied: {}", built.error().message));
    return;
  }
  ++generation_;
  rt_.publisher.publish(*built, std::move(spec));
  if (hooks_.after_publish) (void)hooks_.after_publish(**built);
}

void ApiServer::periodic() {
  rt_.publisher.reclaim();
  std::erase_if(abandoned_, [](FlowQuery* q) {
    if (!q->answered.load(std::memory_order_acquire)) return false;
    delete q;
    return true;
  });
  const uint64_t now = rte_rdtsc();
  if (now - last_periodic_tsc_ < rt_.tsc_hz) return;
  last_periodic_tsc_ = now;
  if (hooks_.refresh_egress) {
    if (auto e = hooks_.refresh_egress()) republish_egress(*e);
  }
}

}  // namespace steer::dataplane
