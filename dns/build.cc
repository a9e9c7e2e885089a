#include "dns/build.h"

#include <algorithm>
#include <map>

namespace steer::dns {

namespace {

// TYPE CLASS TTL RDLENGTH RDATA.
std::vector<uint8_t> tail(uint16_t type, uint32_t ttl, const std::vector<uint8_t>& rdata) {
  std::vector<uint8_t> t;
  t.reserve(10 + rdata.size());
  append16(t, type);
  append16(t, klass::kIn);
  append32(t, ttl);
  append16(t, static_cast<uint16_t>(rdata.size()));
  t.insert(t.end(), rdata.begin(), rdata.end());
  return t;
}

void add_record(RRset& rr, const std::vector<uint8_t>& rdata) {
  const std::vector<uint8_t> t = tail(rr.type, rr.ttl, rdata);
  rr.records.insert(rr.records.end(), t.begin(), t.end());
  rr.tail_sizes.push_back(static_cast<uint16_t>(t.size()));
  rr.direct.push_back(0xc0);
  rr.direct.push_back(0x0c);
  rr.direct.insert(rr.direct.end(), t.begin(), t.end());
  rr.rdatas.push_back(rdata);
  ++rr.count;
}

std::string key(const Name& n) {
  return std::string(reinterpret_cast<const char*>(n.bytes.data()), n.size);
}

Node& node_at(Zone& z, const Name& n) { return z.nodes[key(n)]; }

RRset& rrset_at(Node& node, uint16_t type, uint32_t ttl) {
  for (RRset& r : node.rrsets) {
    if (r.type == type) return r;
  }
  node.rrsets.push_back(RRset{.type = type, .ttl = ttl});
  return node.rrsets.back();
}

// The parent of `n` (one label less); false at the root.
bool parent(const Name& n, Name& out) {
  if (n.size <= 1) return false;
  const size_t skip = 1u + n.bytes[0];
  const size_t size = n.size - skip;
  // Forward copy to the front: safe when `out` is `n`.
  std::copy(n.bytes.begin() + static_cast<ptrdiff_t>(skip),
            n.bytes.begin() + static_cast<ptrdiff_t>(n.size), out.bytes.begin());
  out.size = static_cast<uint8_t>(size);
  return true;
}

Zone build_zone(const ZoneConfig& zc, const std::vector<ServiceConfig>& services,
                const std::vector<size_t>& service_index) {
  Zone z;
  z.apex = zc.apex;
  const uint32_t soa_ttl = zc.ttl;
  // The SOA and the apex NS set.
  Node& apex = node_at(z, zc.apex);
  add_record(rrset_at(apex, type::kSoa, soa_ttl), soa_rdata(zc.soa));
  RRset& ns = rrset_at(apex, type::kNs, zc.ttl);
  for (const Name& n : zc.ns)
    add_record(ns, std::vector<uint8_t>(n.bytes.begin(), n.bytes.begin() + n.size));
  // RFC 2308 3: the negative TTL is the smaller of the SOA's TTL and its MINIMUM.
  z.negative_ttl = std::min(soa_ttl, zc.soa.minimum);
  z.soa_tail = tail(type::kSoa, z.negative_ttl, soa_rdata(zc.soa));
  for (const RecordConfig& r : zc.records) {
    Node& node = node_at(z, r.name);
    add_record(rrset_at(node, r.type, r.ttl), r.rdata);
    if (r.type == type::kNs && !(r.name == zc.apex)) node.cut = true;
  }
  for (size_t i = 0; i < services.size(); ++i) {
    if (services[i].zone == zc.apex)
      node_at(z, services[i].owner).service = static_cast<int32_t>(service_index[i]);
  }
  // Empty non-terminals: every name between a node and the apex exists (RFC 8020: below an
  // existing name there is no NXDOMAIN to give for it).
  std::vector<Name> names;
  for (const auto& [k, node] : z.nodes) {
    Name n;
    n.size = static_cast<uint8_t>(k.size());
    std::copy(k.begin(), k.end(), n.bytes.begin());
    names.push_back(n);
  }
  for (const Name& n : names) {
    Name p = n;
    while (!(p == zc.apex) && parent(p, p) && p.within(zc.apex)) node_at(z, p);
  }
  // RRsets in type order: ANY's one RRset and show output are stable.
  for (auto& [k, node] : z.nodes) {
    std::sort(node.rrsets.begin(), node.rrsets.end(),
              [](const RRset& a, const RRset& b) { return a.type < b.type; });
  }
  return z;
}

// c0 0c TYPE CLASS TTL(0, patched per answer) RDLENGTH RDATA, per address of the family.
void address_records(const std::vector<IpAddress>& addresses, PopAnswers& pa) {
  for (const IpAddress& a : addresses) {
    std::vector<uint8_t>& out = a.is_v4() ? pa.a : pa.aaaa;
    out.push_back(0xc0);
    out.push_back(0x0c);
    append16(out, a.is_v4() ? type::kA : type::kAaaa);
    append16(out, klass::kIn);
    append32(out, 0);
    append16(out, a.is_v4() ? 4 : 16);
    if (a.is_v4()) {
      out.insert(out.end(), a.v4_data(), a.v4_data() + 4);
      ++pa.a_count;
    } else {
      out.insert(out.end(), a.data(), a.data() + 16);
      ++pa.aaaa_count;
    }
  }
}

}  // namespace

std::shared_ptr<const Catalog> build_catalog(const BuildInputs& in) {
  auto t = std::make_shared<Catalog>();
  const DnsConfig& c = *in.config;
  t->geo = in.geo;
  t->udp_cap = c.udp_size;
  t->nsid.assign(in.nsid.begin(), in.nsid.end());
  t->chaos_id = in.identity;
  std::map<std::string, uint16_t> pop_index;
  for (const PopConfig& p : c.pops) {
    pop_index[p.name] = static_cast<uint16_t>(t->pops.size());
    t->pops.push_back(PopInfo{p.name, p.region});
  }
  std::vector<size_t> service_index;
  for (const ServiceConfig& sc : c.services) {
    service_index.push_back(t->services.size());
    Service s;
    s.name = sc.name;
    s.owner = sc.owner;
    s.ttl = sc.ttl;
    s.pending_ttl = sc.pending_ttl;
    s.ttl_jitter = sc.ttl_jitter;
    s.answers = sc.answers;
    s.when_all_down = sc.when_all_down;
    s.by_pop.assign(t->pops.size(), -1);
    address_records(sc.static_addresses, s.fallback);
    for (size_t ci = 0; ci < sc.pops.size(); ++ci) {
      const ServicePopConfig& sp = sc.pops[ci];
      auto it = pop_index.find(sp.pop);
      if (it == pop_index.end()) continue;
      PopAnswers pa;
      pa.pop = it->second;
      pa.config_index = static_cast<uint16_t>(ci);
      std::vector<IpAddress> addresses = sp.addresses;
      if (sp.pop == in.local_pop) {
        for (const std::string& vip : sp.vips) {
          if (auto a = in.vip_address ? in.vip_address(vip) : std::nullopt) {
            if (std::find(addresses.begin(), addresses.end(), *a) == addresses.end()) {
              addresses.push_back(*a);
            }
          }
        }
      }
      address_records(addresses, pa);
      s.by_pop[pa.pop] = static_cast<int16_t>(s.pops.size());
      s.pops.push_back(std::move(pa));
    }
    s.first_flag = static_cast<uint32_t>(t->flag_count);
    t->flag_count += s.pops.size();
    t->services.push_back(std::move(s));
  }
  for (const ZoneConfig& zc : c.zones)
    t->zones.push_back(build_zone(zc, c.services, service_index));
  return t;
}

std::shared_ptr<const Table> build_table(std::shared_ptr<const Catalog> catalog,
                                         const BuildInputs& in) {
  auto t = std::make_shared<Table>();
  t->generation = in.generation;
  t->flags.resize(catalog->flag_count);
  t->pending.resize(catalog->services.size());
  const DnsConfig& c = *in.config;
  // The catalog's services are the configuration's, in order, with the PoPs it could place.
  for (size_t i = 0; i < catalog->services.size() && i < c.services.size(); ++i) {
    const Service& s = catalog->services[i];
    const ServiceConfig& sc = c.services[i];
    for (size_t k = 0; k < s.pops.size(); ++k) {
      const ServicePopConfig& sp = sc.pops[s.pops[k].config_index];
      const PopState st = in.state ? in.state(sc, sp) : PopState{};
      PopFlags& f = t->flags[s.first_flag + k];
      f.healthy = st.healthy && !st.disabled;
      f.draining = st.draining;
      f.disabled = st.disabled;
      t->pending[i] = t->pending[i] || st.pending;
    }
  }
  t->catalog = std::move(catalog);
  return t;
}

std::shared_ptr<const Table> build_table(const BuildInputs& in) {
  return build_table(build_catalog(in), in);
}

}  // namespace steer::dns
