// libFuzzer target for the whole query -> answer path (dns/answer.h) over fixed tables built
// once: a zone with every record type steer serves, CNAME chains (one longer than the 8 steps
// followed, a loop, one ending in NXDOMAIN, one leaving our zones, one into another zone), a
// delegation with glue, empty non-terminals, large RRsets (truncation), services whose PoPs
// are healthy, draining, down or disabled (fail open, static fallback, pending TTL, jitter), a
// nets file for the client's location, CHAOS identity and NSID. A second table has no
// identity, no NSID, no geo and a 512-byte UDP cap.
//
// Input: byte 0 picks UDP or TCP (bit 0), an IPv4 or IPv6 client (bit 1), the table (bit 2)
// and whether to ask for an explanation too (bit 3); bytes 1-16 the client's address (IPv4:
// the first 4); bytes 17-20 the random word; the rest is the query.
// Invariants: nothing for a non-query, else an answer that fits the buffer and the client's
// size (UDP: min(max(EDNS size, 512), the table's cap), 512 without EDNS; TCP: 65535), that
// decode_message() reads, with the query's ID and opcode, QR set and the question as it came;
// a truncated answer carries no records; an OPT only when the query had one; the same bytes
// with or without an explanation. Then response-rate limiting (dns/rrl.h) on UDP answers: its
// key and account never fail, and the truncated form of the answer still decodes.
// Seed corpus: tests/fuzz/corpus/dns_answer_fuzz/ (tests/fuzz/make_dns_corpus.py writes it).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "dns/answer.h"
#include "dns/build.h"
#include "dns/decode.h"
#include "dns/rrl.h"
#include "testing/dns/geo_fixtures.h"

namespace {

using namespace steer;
using namespace steer::dns;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

Name name(const char* text) {
  Name n;
  check(parse_name_text(text, n));
  return n;
}

IpAddress ip(const char* s) { return *IpAddress::parse(s); }

RecordConfig rec(const char* owner, uint16_t type, const std::string& data,
                 const char* origin = "lb.example.com.") {
  RecordConfig r;
  r.name = name(owner);
  r.type = type;
  r.ttl = 300;
  auto rd = rdata_from_text(type, data, name(origin));
  check(rd.has_value());
  r.rdata = *rd;
  r.text = data;
  return r;
}

ZoneConfig zone(const char* apex, const char* ns) {
  ZoneConfig z;
  z.apex = name(apex);
  z.ttl = 3600;
  z.soa.mname = name(ns);
  z.soa.rname = name("hostmaster.example.com.");
  z.soa.serial = 2024010101;
  z.soa.minimum = 60;
  z.ns = {name(ns)};
  return z;
}

DnsConfig fuzz_config() {
  DnsConfig c;
  ZoneConfig z = zone("lb.example.com.", "ns1.lb.example.com.");
  z.ns.push_back(name("ns2.lb.example.com."));
  z.records = {
      rec("ns1.lb.example.com.", type::kA, "192.0.2.53"),
      rec("ns1.lb.example.com.", type::kAaaa, "2001:db8::53"),
      rec("ns2.lb.example.com.", type::kAaaa, "2001:db8::54"),
      rec("lb.example.com.", type::kMx, "10 mail.lb.example.com."),
      rec("lb.example.com.", type::kMx, "20 mx.example.net."),
      rec("mail.lb.example.com.", type::kA, "192.0.2.25"),
      rec("lb.example.com.", type::kTxt, "\"v=spf1 -all\""),
      rec("lb.example.com.", type::kCaa, "0 issue \"ca.example.net\""),
      rec("_sip._udp.lb.example.com.", type::kSrv, "0 5 5060 sip.lb.example.com."),
      rec("sip.lb.example.com.", type::kA, "192.0.2.60"),
      rec("sip.lb.example.com.", type::kAaaa, "2001:db8::60"),
      rec("ptr.lb.example.com.", type::kPtr, "host.example.net."),
      rec("www.lb.example.com.", type::kCname, "web.lb.example.com."),
      rec("old.lb.example.com.", type::kCname, "gone.lb.example.com."),
      rec("out.lb.example.com.", type::kCname, "www.example.net."),
      rec("cross.lb.example.com.", type::kCname, "www.other.example."),
      rec("loop1.lb.example.com.", type::kCname, "loop2.lb.example.com."),
      rec("loop2.lb.example.com.", type::kCname, "loop1.lb.example.com."),
      rec("deep.a.b.lb.example.com.", type::kA, "192.0.2.99"),
      rec("sub.lb.example.com.", type::kNs, "ns.sub.lb.example.com."),
      rec("sub.lb.example.com.", type::kNs, "ns.example.net."),
      rec("ns.sub.lb.example.com.", type::kA, "192.0.2.77"),
      rec("ns.sub.lb.example.com.", type::kAaaa, "2001:db8::77"),
  };
  // A chain longer than the 8 steps followed: c0 -> c1 -> ... -> c10 (an A).
  for (int i = 0; i < 10; ++i) {
    z.records.push_back(rec(("c" + std::to_string(i) + ".lb.example.com.").c_str(), type::kCname,
                            "c" + std::to_string(i + 1) + ".lb.example.com."));
  }
  z.records.push_back(rec("c10.lb.example.com.", type::kA, "192.0.2.10"));
  // Large RRsets: truncated over UDP, whole over TCP.
  for (int i = 0; i < 60; ++i) {
    z.records.push_back(rec("many.lb.example.com.", type::kA, "198.18.0." + std::to_string(i + 1)));
    z.records.push_back(
        rec("many.lb.example.com.", type::kAaaa, "2001:db8:ff::" + std::to_string(i + 1)));
  }
  for (int i = 0; i < 8; ++i) {
    z.records.push_back(rec("big.lb.example.com.", type::kTxt, std::string(250, 'a' + i)));
  }
  z.records.push_back(rec("bigmx.lb.example.com.", type::kMx, "10 many.lb.example.com."));
  c.zones.push_back(z);

  ZoneConfig other = zone("other.example.", "ns1.other.example.");
  other.records = {rec("www.other.example.", type::kA, "203.0.113.80", "other.example."),
                   rec("ns1.other.example.", type::kA, "203.0.113.53", "other.example.")};
  c.zones.push_back(other);
  // A zone inside the first one, served here too.
  ZoneConfig inner = zone("inner.lb.example.com.", "ns1.lb.example.com.");
  inner.records = {rec("x.inner.lb.example.com.", type::kTxt, "inner", "inner.lb.example.com.")};
  c.zones.push_back(inner);

  c.pops = {{"fra", "eu-central", 50.11, 8.68},
            {"ams", "eu-central", 52.37, 4.90},
            {"nyc", "us-east", 40.71, -74.01}};
  auto service = [&](const char* n, std::vector<ServicePopConfig> pops) {
    ServiceConfig s;
    s.name = n;
    s.owner = name((std::string(n) + ".lb.example.com.").c_str());
    s.zone = name("lb.example.com.");
    s.ttl = 60;
    s.pending_ttl = 10;
    s.ttl_jitter = 0.25;
    s.answers = 2;
    s.pops = std::move(pops);
    return s;
  };
  auto remote = [](const char* pop, std::vector<IpAddress> a) {
    return ServicePopConfig{.pop = pop, .addresses = std::move(a)};
  };
  const ServicePopConfig local{.pop = "fra", .vips = {"web"}};
  c.services.push_back(service(
      "web", {local, remote("ams", {ip("198.51.100.10"), ip("2001:db8:2::10")}),
              remote("nyc", {ip("203.0.113.10"), ip("203.0.113.11"), ip("2001:db8:3::10")})}));
  ServiceConfig down = service(
      "down", {remote("ams", {ip("198.51.100.20")}), remote("nyc", {ip("2001:db8:3::20")})});
  down.when_all_down = WhenAllDown::Static;
  down.static_addresses = {ip("192.0.2.200"), ip("2001:db8::200")};
  c.services.push_back(down);
  c.services.push_back(
      service("open", {remote("ams", {ip("198.51.100.30")}), remote("nyc", {ip("203.0.113.30")})}));
  ServiceConfig wide = service("wide", {remote("ams", {ip("198.51.100.40")})});
  wide.answers = 8;
  for (int i = 0; i < 40; ++i) {
    wide.pops[0].addresses.push_back(ip(("198.51.101." + std::to_string(i + 1)).c_str()));
  }
  c.services.push_back(wide);
  return c;
}

// The health of each (service, PoP).
PopState state_of(const ServiceConfig& s, const ServicePopConfig& p) {
  if (s.name == "web") {
    if (p.pop == "fra") return {.healthy = true};
    if (p.pop == "ams") return {.healthy = true, .draining = true, .pending = true};
    return {};  // nyc: down
  }
  if (s.name == "open" && p.pop == "ams") return {.disabled = true};
  if (s.name == "wide") return {.healthy = true};
  return {};  // down everywhere
}

struct Tables {
  DnsConfig config = fuzz_config();
  DnsConfig small = fuzz_config();
  std::shared_ptr<const Table> full, bare;
  std::unique_ptr<Rrl> rrl;
  int64_t now_ms = 0;

  Tables() {
    small.udp_size = 512;
    GeoConfig g;
    for (const PopConfig& p : config.pops)
      g.pops.push_back({p.name, p.region, p.latitude, p.longitude});
    steer::testing::TempDir dir;
    check(dir.ok());
    g.nets_path = dir.write("nets",
                            "10.0.0.0/8 ams\n"
                            "10.1.0.0/16 nyc\n"
                            "192.0.2.0/24 eu-central\n"
                            "2001:db8::/32 nyc\n"
                            "2001:db8:1::/48 fra\n");
    auto geo = Geo::build(g);
    if (!geo) std::fprintf(stderr, "geo: %s\n", geo.error().message.c_str());
    check(geo.has_value());
    BuildInputs in;
    in.config = &config;
    in.local_pop = "fra";
    in.geo = *geo;
    in.vip_address = [](const std::string& vip) -> std::optional<IpAddress> {
      if (vip == "web") return ip("192.0.2.10");
      return std::nullopt;
    };
    in.state = state_of;
    in.nsid = "fra.fuzz";
    in.identity = "fra.fuzz";
    in.generation = 1;
    full = build_table(in);
    in.config = &small;
    in.geo.reset();
    in.nsid.clear();
    in.identity.clear();
    bare = build_table(in);
    RrlConfig r;
    r.enabled = true;
    r.responses_per_second = 2;
    r.window_s = 2;
    r.slip = 2;
    rrl = std::make_unique<Rrl>(r, 64, 7);
  }
};

uint16_t rd16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Tables tables;
  // Exactly the sizes the responder gives (answer.h): ASan sees a write past them.
  static std::vector<uint8_t> udp_out(4096), tcp_out(kMaxMessage), again(kMaxMessage);
  if (size < 21) return 0;
  const bool tcp = (data[0] & 1) != 0;
  const bool v6 = (data[0] & 2) != 0;
  const Table& table = (data[0] & 4) != 0 ? *tables.bare : *tables.full;
  const bool explain = (data[0] & 8) != 0;
  const IpAddress address = v6 ? IpAddress::from_v6(data + 1) : IpAddress::from_v4(data + 1);
  uint32_t random;
  std::memcpy(&random, data + 17, 4);
  const std::span<const uint8_t> query(data + 21, size - 21);

  std::vector<uint8_t>& out = tcp ? tcp_out : udp_out;
  Counters counters;
  const Client client{address, tcp};
  const size_t n = answer(table, query, client, out, random, counters);
  check(n <= out.size());
  check(counters.queries == 1);

  Query q;
  const Parse p = parse_query(query, q);
  if (p == Parse::Drop) {
    check(n == 0);
    check(counters.dropped == 1);
    return 0;
  }
  check(n >= kHeaderSize);
  // The size rule.
  size_t limit = kMaxMessage;
  if (!tcp) {
    const size_t cap = std::max<size_t>(table.catalog->udp_cap, kMinUdpSize);
    limit = q.has_opt ? std::min(std::max<size_t>(q.udp_size, kMinUdpSize), cap) : kMinUdpSize;
  }
  check(n <= limit);

  const std::span<const uint8_t> response(out.data(), n);
  auto d = decode_message(response);
  check(d.has_value());
  check(d->id == q.id);
  check(d->qr);
  check(d->opcode == q.opcode);
  check(d->rd == q.rd && d->cd == q.cd);
  check(!d->ra && !d->ad);
  // The question as it came (0x20 case kept), or none when it could not be read.
  if (q.question_size > 0) {
    check(rd16(out.data() + 4) == 1);
    check(n >= kHeaderSize + q.question_size);
    check(std::memcmp(out.data() + kHeaderSize, query.data() + kHeaderSize, q.question_size) == 0);
  } else {
    check(rd16(out.data() + 4) == 0);
  }
  if (p != Parse::Ok) check((d->rcode & 0x0f) == rcode::kFormErr);
  if (d->tc) check(d->answer.empty() && d->authority.empty());
  if (d->has_opt) {
    check(q.has_opt);
    check(d->edns_version == 0);
    check(d->udp_size == std::max<size_t>(table.catalog->udp_cap, kMinUdpSize));
  }
  if (!d->nsid.empty()) check(q.nsid && !table.catalog->nsid.empty());
  if (d->has_ecs)
    check(q.has_ecs && d->ecs_family == q.ecs.family && d->ecs_source == q.ecs.source);
  check(d->additional.size() + (d->has_opt ? 1u : 0u) == rd16(out.data() + 10));

  // The explanation changes nothing on the wire.
  if (explain) {
    Explanation why;
    Counters c2;
    std::vector<uint8_t>& buf = tcp ? again : udp_out;
    if (!tcp) {
      // Keep the first answer: compare against a copy.
      const std::vector<uint8_t> first(response.begin(), response.end());
      const size_t m = answer(table, query, client, buf, random, c2, &why);
      check(m == n && std::memcmp(buf.data(), first.data(), n) == 0);
    } else {
      const size_t m = answer(table, query, client, {buf.data(), buf.size()}, random, c2, &why);
      check(m == n && std::memcmp(buf.data(), out.data(), n) == 0);
    }
  }

  if (!tcp) {
    // Response-rate limiting on what the responder would send.
    (void)Rrl::classify(response);
    std::vector<uint8_t> copy(response.begin(), response.end());
    const size_t t = Rrl::truncate(copy);
    check(t != 0 && t <= n);
    auto td = decode_message({copy.data(), t});
    check(td.has_value());
    check(td->id == d->id && td->tc && td->qr && td->qname == d->qname);
    check(td->answer.empty() && td->authority.empty() && td->additional.empty());
    check(td->has_opt == d->has_opt);
    std::vector<uint8_t> sent(response.begin(), response.end());
    tables.now_ms += 50;
    const size_t s = tables.rrl->apply(address, sent, n, tables.now_ms, counters);
    check(s == n || s == 0 || s == t);
  }
  return 0;
}
