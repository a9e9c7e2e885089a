#include "dns/answer.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace steer::dns {

namespace {

using Section = Writer::Section;

constexpr int kMaxChain = 8;  // CNAME steps followed inside our zones

// How a record's owner is written: a compression pointer into the question name, or the
// name's wire bytes.
struct Owner {
  uint16_t pointer = 0;           // != 0: 0xc000 | pointer
  std::span<const uint8_t> wire;  // else these bytes
  static Owner at(size_t offset) { return Owner{static_cast<uint16_t>(offset), {}}; }
  static Owner name(const Name& n) { return Owner{0, n.wire()}; }
};

struct Ctx {
  const Table& t;
  const Catalog& k;
  const Query& q;
  std::span<const uint8_t> msg;
  Writer& w;
  const Client& client;
  uint32_t random;
  Counters& n;
  Explanation* why;
  uint16_t rcode = rcode::kNoError;
  bool aa = true;
  uint8_t scope = 0;  // ECS SCOPE of the answer
  bool truncated = false;
};

void note(Ctx& c, std::string text) {
  if (c.why != nullptr) c.why->outcome = std::move(text);
}

// Writes one RRset; false (and nothing written) when it does not fit.
bool put_rrset(Ctx& c, Section s, const RRset& rr, Owner owner) {
  if (owner.pointer == kHeaderSize && owner.wire.empty()) return c.w.raw(s, rr.direct, rr.count);
  const Writer::Mark m = c.w.mark();
  size_t at = 0;
  for (uint16_t size : rr.tail_sizes) {
    bool ok;
    if (owner.wire.empty()) {
      const uint8_t ptr[2] = {static_cast<uint8_t>(0xc0 | owner.pointer >> 8),
                              static_cast<uint8_t>(owner.pointer)};
      ok = c.w.raw(s, ptr, 0);
    } else {
      ok = c.w.raw(s, owner.wire, 0);
    }
    ok = ok && c.w.raw(s, {rr.records.data() + at, size}, 1);
    if (!ok) {
      c.w.rewind(m);
      return false;
    }
    at += size;
  }
  return true;
}

// The SOA record just written gets the zone's serial of this table (Table::serials, kept by
// dns/xfr.h) over the configured one: its RDATA ends SERIAL REFRESH RETRY EXPIRE MINIMUM.
void patch_serial(Ctx& c, const Zone& z) {
  const auto zone = static_cast<size_t>(&z - c.k.zones.data());
  if (zone < c.t.serials.size() && c.w.size() >= 20) c.w.set32(c.w.size() - 20, c.t.serials[zone]);
}

// The zone's SOA in the authority section (negative answers); its owner compressed against
// the question name when the zone is the question's.
void put_soa(Ctx& c, const Zone& z, bool question_zone) {
  const Writer::Mark m = c.w.mark();
  bool ok;
  if (question_zone) {
    const size_t offset = kHeaderSize + c.q.qname.size - z.apex.size;
    const uint8_t ptr[2] = {static_cast<uint8_t>(0xc0 | offset >> 8), static_cast<uint8_t>(offset)};
    ok = c.w.raw(Section::Authority, ptr, 0);
  } else {
    ok = c.w.raw(Section::Authority, z.apex.wire(), 0);
  }
  ok = ok && c.w.raw(Section::Authority, z.soa_tail, 1);
  if (!ok) {
    c.w.rewind(m);  // a negative answer without its SOA still says it all
    return;
  }
  patch_serial(c, z);
}

// Where a written RRset's RDATAs start in the message (for compression pointers to the names
// in them); offsets past 0x3fff cannot be pointed at and are 0.
struct RdataOffsets {
  std::array<uint16_t, 64> at{};
  size_t count = 0;
};

// put_rrset, noting where each record's RDATA starts.
bool put_rrset_noting(Ctx& c, Section s, const RRset& rr, Owner owner, RdataOffsets& out) {
  const size_t start = c.w.size();
  if (!put_rrset(c, s, rr, owner)) return false;
  const size_t owner_size = owner.wire.empty() ? 2 : owner.wire.size();
  size_t pos = start;
  out.count = 0;
  for (uint16_t size : rr.tail_sizes) {
    const size_t rdata = pos + owner_size + 10;
    if (out.count < out.at.size()) {
      out.at[out.count++] = rdata < 0x4000 ? static_cast<uint16_t>(rdata) : 0;
    }
    pos += owner_size + size;
  }
  return true;
}

// A/AAAA of a name found in our zones, in the additional section (glue, MX/NS/SRV targets),
// the owner a pointer to where the name stands in an RDATA when it can be. False when a
// record did not fit.
bool put_additional_addresses(Ctx& c, const Name& target, uint16_t pointer) {
  const Zone* z = c.k.zone_of(target);
  if (z == nullptr) return true;
  const Node* node = z->find(target.wire());
  if (node == nullptr) return true;
  const Owner owner = pointer != 0 ? Owner::at(pointer) : Owner::name(target);
  for (uint16_t ty : {type::kA, type::kAaaa}) {
    if (const RRset* rr = node->find(ty)) {
      if (!put_rrset(c, Section::Additional, *rr, owner)) return false;
    }
  }
  return true;
}

// The name inside an NS / MX / SRV RDATA (uncompressed, as the table stores it).
bool rdata_target(uint16_t ty, const std::vector<uint8_t>& rdata, Name& out) {
  const size_t skip = ty == type::kMx ? 2 : ty == type::kSrv ? 6 : 0;
  if (rdata.size() <= skip || rdata.size() - skip > kMaxName) return false;
  out.size = static_cast<uint8_t>(rdata.size() - skip);
  std::copy(rdata.begin() + static_cast<ptrdiff_t>(skip), rdata.end(), out.bytes.begin());
  return true;
}

// The additional records of an NS / MX / SRV RRset just written (`at`: where). With `cut`
// (a referral), the glue of in-domain name servers — targets at or below the delegation — is
// required (RFC 9471 3): when it does not fit, the answer is truncated.
void additional_for(Ctx& c, const RRset& rr, const RdataOffsets& at, const Name* cut = nullptr) {
  if (rr.type != type::kNs && rr.type != type::kMx && rr.type != type::kSrv) return;
  const size_t skip = rr.type == type::kMx ? 2 : rr.type == type::kSrv ? 6 : 0;
  for (size_t i = 0; i < rr.rdatas.size(); ++i) {
    Name target;
    if (!rdata_target(rr.type, rr.rdatas[i], target)) continue;
    uint16_t pointer = 0;
    if (i < at.count && at.at[i] != 0 && at.at[i] + skip < 0x4000) {
      pointer = static_cast<uint16_t>(at.at[i] + skip);
    }
    if (!put_additional_addresses(c, target, pointer)) {
      if (cut != nullptr && target.within(*cut)) c.truncated = true;
      return;
    }
  }
}

// Copies up to `want` records of `pa` (A or AAAA) with the TTL patched; returns how many.
uint16_t put_pop_records(Ctx& c, const PopAnswers& pa, uint16_t family_type, uint16_t want,
                         uint32_t ttl, Owner owner) {
  const std::vector<uint8_t>& recs = family_type == type::kA ? pa.a : pa.aaaa;
  const uint16_t count = family_type == type::kA ? pa.a_count : pa.aaaa_count;
  if (count == 0) return 0;
  const size_t stride = recs.size() / count;  // 16 (A) or 28 (AAAA), owner 0xc00c included
  uint16_t written = 0;
  for (uint16_t i = 0; i < count && written < want; ++i) {
    uint8_t rec[2 + 10 + 16];
    std::memcpy(rec, recs.data() + i * stride, stride);
    rec[6] = static_cast<uint8_t>(ttl >> 24);
    rec[7] = static_cast<uint8_t>(ttl >> 16);
    rec[8] = static_cast<uint8_t>(ttl >> 8);
    rec[9] = static_cast<uint8_t>(ttl);
    bool ok;
    if (owner.pointer == kHeaderSize && owner.wire.empty()) {
      ok = c.w.raw(Section::Answer, {rec, stride}, 1);
    } else {
      const Writer::Mark m = c.w.mark();
      ok = c.w.raw(Section::Answer, owner.wire, 0) &&
           c.w.raw(Section::Answer, {rec + 2, stride - 2}, 1);
      if (!ok) c.w.rewind(m);
    }
    if (!ok) {
      c.truncated = true;
      return written;
    }
    ++written;
  }
  return written;
}

uint32_t service_ttl(const Ctx& c, const Service& s, size_t index) {
  const uint32_t base = c.t.pending[index] != 0 ? std::min(s.pending_ttl, s.ttl) : s.ttl;
  if (s.ttl_jitter <= 0 || base == 0) return base;
  const auto span = static_cast<uint32_t>(static_cast<double>(base) * s.ttl_jitter);
  return span == 0 ? base : base - c.random % (span + 1);
}

// A or AAAA for a service name (see the DOC block of answer.h).
void service_answer(Ctx& c, size_t index, uint16_t family_type, Owner owner, const Zone& z,
                    bool question_zone) {
  const Service& s = c.k.services[index];
  ++c.n.service_answers;
  // Where the client is: the ECS prefix when it gives one, else the resolver's address.
  IpAddress where = c.client.address;
  uint8_t prefix = where.is_v4() ? 32 : 128;
  if (c.q.has_ecs && c.q.ecs.source > 0) {
    where = c.q.ecs.address;
    prefix = c.q.ecs.source;
  }
  Location loc;
  if (c.k.geo) {
    if (c.why != nullptr) {
      c.why->location = c.k.geo->explain(where, prefix);
      loc = c.why->location.location;
    } else {
      loc = c.k.geo->locate(where, prefix);
    }
  }
  const uint32_t ttl = service_ttl(c, s, index);
  uint16_t left = s.answers;
  bool failed_open = false;
  bool any_family = false, any_up = false;
  int head = -1;   // the Catalog::pops index of the first PoP handed out
  int first = -1;  // the index in s.pops of the client's first choice, whatever its health
  for (size_t i = 0; i < s.pops.size(); ++i) {
    const PopAnswers& pa = s.pops[i];
    any_family = any_family || (family_type == type::kA ? pa.a_count : pa.aaaa_count) > 0;
    any_up = any_up || c.t.flag(s, i).healthy;
  }
  auto pass = [&](auto&& eligible) {
    auto consider = [&](size_t i) {
      if (first < 0) first = static_cast<int>(i);
      if (left == 0 || !eligible(c.t.flag(s, i))) return;
      const uint16_t put = put_pop_records(c, s.pops[i], family_type, left, ttl, owner);
      if (put != 0 && left == s.answers) head = s.pops[i].pop;
      left = static_cast<uint16_t>(left - put);
    };
    if (!loc.order.empty()) {
      for (uint16_t pop : loc.order) {
        if (pop < s.by_pop.size() && s.by_pop[pop] >= 0)
          consider(static_cast<size_t>(s.by_pop[pop]));
      }
    } else {
      for (size_t i = 0; i < s.pops.size(); ++i) consider(i);
    }
  };
  pass([](const PopFlags& f) { return f.healthy && !f.draining; });
  if (left == s.answers) pass([](const PopFlags& f) { return f.healthy && f.draining; });
  // Fail open or the static answer only when every PoP is down: a healthy PoP without an
  // address of this family makes the answer NODATA, not a down PoP's or the static address.
  if (left == s.answers && !any_up) {
    if (s.when_all_down == WhenAllDown::All) {
      pass([](const PopFlags& f) { return !f.disabled; });
      if (left != s.answers) {
        ++c.n.fail_open;
        failed_open = true;
      }
    } else {
      left = static_cast<uint16_t>(left -
                                   put_pop_records(c, s.fallback, family_type, left, ttl, owner));
      ++c.n.static_fallback;
    }
  }
  if (head >= 0) ++c.n.by_pop[std::min<size_t>(static_cast<size_t>(head), Counters::kPopSlots - 1)];
  // Displaced: another PoP heads the answer because the first choice may not be handed out
  // first (not a first choice that merely has no address of this family).
  if (head >= 0 && first >= 0) {
    const PopAnswers& fa = s.pops[static_cast<size_t>(first)];
    const PopFlags& ff = c.t.flag(s, static_cast<size_t>(first));
    if (head != fa.pop && !(ff.healthy && !ff.draining)) {
      ++c.n.displaced[std::min<size_t>(fa.pop, Counters::kPopSlots - 1)];
    }
  }
  if (c.why != nullptr) {
    for (uint16_t pop : loc.order) {
      if (pop >= s.by_pop.size() || s.by_pop[pop] < 0) continue;
      const PopAnswers& pa = s.pops[static_cast<size_t>(s.by_pop[pop])];
      const PopFlags& f = c.t.flag(s, static_cast<size_t>(s.by_pop[pop]));
      c.why->pops.push_back(fmt::format(
          "{}: {}{}, {} address(es) of this family", c.k.pops[pop].name,
          f.disabled  ? "disabled by an operator"
          : f.healthy ? "healthy"
                      : "down",
          f.draining ? " (draining)" : "", family_type == type::kA ? pa.a_count : pa.aaaa_count));
    }
    c.why->outcome =
        fmt::format("service {}: {} address(es), TTL {}{}", s.name, s.answers - left, ttl,
                    failed_open ? " (no PoP is up: every PoP, failing open)" : "");
  }
  if (left == s.answers && !c.truncated) {
    // Nothing of this family anywhere (or nothing to hand out): NODATA.
    put_soa(c, z, question_zone);
    if (c.why != nullptr && !any_family) c.why->outcome = fmt::format("service {}: NODATA", s.name);
    return;
  }
  // The answer depends on where the client is: say for how wide a prefix (RFC 7871 7.2.1);
  // a SOURCE of 0 asked for an answer that does not depend on its clients: SCOPE 0.
  c.scope = c.q.has_ecs && c.q.ecs.source == 0 ? 0 : loc.scope;
}

void answer_at(Ctx& c, const Zone& z, const Node& node, const Name& name, Owner owner, int depth);

// Label start offsets of a name, outermost label last.
int label_offsets(const Name& n, std::array<uint8_t, 128>& out) {
  int k = 0;
  for (size_t pos = 0; pos < n.size && n.bytes[pos] != 0; pos += 1 + n.bytes[pos]) {
    out[static_cast<size_t>(k++)] = static_cast<uint8_t>(pos);
  }
  return k;
}

// Follows a CNAME's target inside our zones.
void chase(Ctx& c, const RRset& cname, int depth) {
  Name target;
  if (cname.rdatas.empty() || !rdata_target(type::kCname, cname.rdatas[0], target)) return;
  if (depth >= kMaxChain) return;
  const Zone* z = c.k.zone_of(target);
  if (z == nullptr) return;  // outside our zones: the resolver follows it
  // A target at or below a delegation is the child's (glue is not our data): a referral, as
  // for the name itself (RFC 1034 4.3.2 step 3b), and the resolver follows it there.
  std::array<uint8_t, 128> offs{};
  for (int i = label_offsets(target, offs) - z->apex.labels() - 1; i >= 0; --i) {
    const size_t o = offs[static_cast<size_t>(i)];
    const Node* cut = z->find({target.bytes.data() + o, target.size - o});
    if (cut == nullptr || !cut->cut || (i == 0 && c.q.qtype == type::kDs)) continue;
    const RRset* ns = cut->find(type::kNs);
    const Owner owner{0, {target.bytes.data() + o, target.size - o}};
    Name cut_name;
    cut_name.size = static_cast<uint8_t>(target.size - o);
    std::copy(target.bytes.begin() + static_cast<ptrdiff_t>(o),
              target.bytes.begin() + static_cast<ptrdiff_t>(target.size), cut_name.bytes.begin());
    RdataOffsets at;
    if (ns != nullptr) {
      if (put_rrset_noting(c, Section::Authority, *ns, owner, at)) {
        additional_for(c, *ns, at, &cut_name);
      } else {
        c.truncated = true;  // a referral without its NS set says nothing
      }
    }
    return;
  }
  const Node* node = z->find(target.wire());
  if (node == nullptr) {
    c.rcode = rcode::kNxDomain;  // RFC 6604: the rcode of the last name in the chain
    put_soa(c, *z, false);
    return;
  }
  answer_at(c, *z, *node, target, Owner::name(target), depth + 1);
}

void answer_at(Ctx& c, const Zone& z, const Node& node, const Name& name, Owner owner, int depth) {
  const bool question_zone = depth == 0;
  const uint16_t qtype = c.q.qtype;
  if (node.service >= 0 && (qtype == type::kA || qtype == type::kAaaa)) {
    service_answer(c, static_cast<size_t>(node.service), qtype, owner, z, question_zone);
    return;
  }
  // ANY matches the CNAME itself (RFC 1034 4.3.2 step 3a): it is answered, not followed.
  if (const RRset* cname = node.find(type::kCname);
      cname != nullptr && qtype != type::kCname && qtype != type::kAny) {
    if (!put_rrset(c, Section::Answer, *cname, owner)) {
      c.truncated = true;
      return;
    }
    note(c, fmt::format("CNAME at {}", name.text()));
    chase(c, *cname, depth);
    return;
  }
  const RRset* rr = nullptr;
  if (qtype == type::kAny) {
    // RFC 8482: one RRset is enough; a service name answers with its IPv4 addresses.
    if (node.service >= 0) {
      service_answer(c, static_cast<size_t>(node.service), type::kA, owner, z, question_zone);
      return;
    }
    if (!node.rrsets.empty()) rr = &node.rrsets.front();
  } else {
    rr = node.find(qtype);
  }
  if (rr == nullptr) {
    note(c, fmt::format("NODATA at {}", name.text()));
    put_soa(c, z, question_zone);
    return;
  }
  RdataOffsets at;
  if (!put_rrset_noting(c, Section::Answer, *rr, owner, at)) {
    c.truncated = true;
    return;
  }
  if (rr->type == type::kSoa) patch_serial(c, z);
  note(c, fmt::format("{} {} record(s) at {}", rr->count, type_name(rr->type), name.text()));
  additional_for(c, *rr, at);
}

void answer_in(Ctx& c) {
  const Query& q = c.q;
  const Zone* z = c.k.zone_of(q.qname);
  if (z == nullptr) {
    c.rcode = rcode::kRefused;
    c.aa = false;
    note(c, "REFUSED: not in any of our zones");
    return;
  }
  if (c.why != nullptr) c.why->zone = z->apex.text();
  if (q.qtype == type::kAxfr || q.qtype == type::kIxfr) {
    c.rcode = rcode::kRefused;
    c.aa = false;
    note(c, "REFUSED: no zone transfers");
    return;
  }
  // A delegation between the apex and the name (the closest to the apex wins).
  std::array<uint8_t, 128> offs{};
  const int labels = label_offsets(q.qname, offs);
  const int apex_labels = z->apex.labels();
  for (int i = labels - apex_labels - 1; i >= 0; --i) {
    const size_t o = offs[static_cast<size_t>(i)];
    const std::span<const uint8_t> suffix(q.qname.bytes.data() + o, q.qname.size - o);
    const Node* node = z->find(suffix);
    if (node == nullptr || !node->cut) continue;
    if (i == 0 && q.qtype == type::kDs) break;  // the parent answers for DS at a cut
    const RRset* ns = node->find(type::kNs);
    c.aa = false;
    Name cut_name;
    cut_name.size = static_cast<uint8_t>(q.qname.size - o);
    std::copy(suffix.begin(), suffix.end(), cut_name.bytes.begin());
    RdataOffsets at;
    if (ns != nullptr) {
      if (put_rrset_noting(c, Section::Authority, *ns, Owner::at(kHeaderSize + o), at)) {
        additional_for(c, *ns, at, &cut_name);
      } else {
        c.truncated = true;  // a referral without its NS set says nothing
      }
    }
    note(c, "referral");
    return;
  }
  const Node* node = z->find(q.qname.wire());
  if (node == nullptr) {
    // RFC 4592: the wildcard at the closest encloser (the longest existing ancestor,
    // empty non-terminals included) answers for the name, with the name as the owner.
    for (int i = 1; i <= labels - apex_labels; ++i) {
      const size_t o = offs[static_cast<size_t>(i)];
      const std::span<const uint8_t> encloser(q.qname.bytes.data() + o, q.qname.size - o);
      if (z->find(encloser) == nullptr) continue;
      std::array<uint8_t, kMaxName + 2> wild{};
      if (encloser.size() + 2 > kMaxName) break;
      wild[0] = 1;
      wild[1] = '*';
      std::copy(encloser.begin(), encloser.end(), wild.begin() + 2);
      const Node* w = z->find({wild.data(), encloser.size() + 2});
      if (w == nullptr) break;  // the closest encloser has no wildcard: the name does not exist
      note(c, "wildcard");
      answer_at(c, *z, *w, q.qname, Owner::at(kHeaderSize), 0);
      return;
    }
    c.rcode = rcode::kNxDomain;
    note(c, "NXDOMAIN");
    put_soa(c, *z, true);
    return;
  }
  answer_at(c, *z, *node, q.qname, Owner::at(kHeaderSize), 0);
}

bool is_name(const Name& n, const char* text) {
  Name want;
  return parse_name_text(text, want) && want == n;
}

void answer_chaos(Ctx& c) {
  const Query& q = c.q;
  c.aa = false;
  const bool identity = is_name(q.qname, "id.server.") || is_name(q.qname, "hostname.bind.");
  if (!identity || c.k.chaos_id.empty() || (q.qtype != type::kTxt && q.qtype != type::kAny)) {
    c.rcode = rcode::kRefused;
    note(c, "REFUSED: CHAOS");
    return;
  }
  uint8_t rdata[256];
  const size_t len = std::min<size_t>(c.k.chaos_id.size(), 255);
  rdata[0] = static_cast<uint8_t>(len);
  std::copy_n(c.k.chaos_id.data(), len, rdata + 1);  // a length-prefixed string
  if (!c.w.record(Section::Answer, {}, kHeaderSize, type::kTxt, klass::kCh, 0, {rdata, len + 1})) {
    c.truncated = true;
  }
  note(c, "CHAOS identity");
}

// The OPT options of our answer: NSID when asked, ECS echoed with its scope.
size_t build_options(const Ctx& c, uint8_t* out, size_t cap, bool with_ecs) {
  size_t n = 0;
  if (c.q.nsid && !c.k.nsid.empty() && cap >= 4 + c.k.nsid.size()) {
    out[n++] = 0;
    out[n++] = edns::kNsid;
    out[n++] = static_cast<uint8_t>(c.k.nsid.size() >> 8);
    out[n++] = static_cast<uint8_t>(c.k.nsid.size());
    std::memcpy(out + n, c.k.nsid.data(), c.k.nsid.size());
    n += c.k.nsid.size();
  }
  if (with_ecs && c.q.has_ecs) {
    const ClientSubnet& e = c.q.ecs;
    const size_t bytes = (e.source + 7u) / 8u;
    if (cap - n < 8 + bytes) return n;
    out[n++] = 0;
    out[n++] = edns::kClientSubnet;
    out[n++] = 0;
    out[n++] = static_cast<uint8_t>(4 + bytes);
    out[n++] = static_cast<uint8_t>(e.family >> 8);
    out[n++] = static_cast<uint8_t>(e.family);
    out[n++] = e.source;
    out[n++] = c.scope;
    const uint8_t* a = e.family == 1 ? e.address.v4_data() : e.address.data();
    std::memcpy(out + n, a, bytes);
    n += bytes;
  }
  return n;
}

size_t bucket_rcode(uint16_t r) { return r < 23 ? r : 23; }

}  // namespace

size_t qtype_bucket(uint16_t qtype) {
  switch (qtype) {
    case type::kA:
      return 0;
    case type::kAaaa:
      return 1;
    case type::kNs:
      return 2;
    case type::kSoa:
      return 3;
    case type::kCname:
      return 4;
    case type::kTxt:
      return 5;
    case type::kAny:
      return 6;
  }
  return 7;
}

size_t answer(const Table& table, std::span<const uint8_t> msg, const Client& client,
              std::span<uint8_t> out, uint32_t random, Counters& n, Explanation* why) {
  ++n.queries;
  ++(client.tcp ? n.tcp : n.udp);
  Query q;
  const Parse parsed = parse_query(msg, q);
  if (parsed == Parse::Drop) {
    ++n.dropped;
    return 0;
  }
  // How much the client can take.
  size_t cap = kMinUdpSize;
  if (client.tcp) {
    cap = kMaxMessage;
  } else if (q.has_opt) {
    cap = std::clamp<size_t>(q.udp_size, kMinUdpSize,
                             std::max<size_t>(table.catalog->udp_cap, kMinUdpSize));
  }
  cap = std::min(cap, out.size());
  Writer w(out, cap);
  const std::span<const uint8_t> question =
      q.question_size > 0 ? msg.subspan(kHeaderSize, q.question_size) : std::span<const uint8_t>{};
  Ctx c{table, *table.catalog, q, msg, w, client, random, n, why};

  uint16_t rc = rcode::kNoError;
  bool with_opt = q.has_opt;
  if (parsed != Parse::Ok) {
    rc = rcode::kFormErr;
    c.aa = false;
    with_opt = q.has_opt && parsed == Parse::BadEcs;  // the OPT itself was readable
    note(c, fmt::format("FORMERR: {}", parse_name(parsed)));
    if (!w.start(q, question, rc, false)) return 0;
  } else {
    if (q.has_ecs) ++n.ecs;
    ++n.by_qtype[qtype_bucket(q.qtype)];
    if (!w.start(q, question, 0, false)) return 0;
    // Room for our OPT at the end.
    uint8_t options[512];
    const size_t opt_room = with_opt ? 11 + build_options(c, options, sizeof options, true) : 0;
    w.set_capacity(cap > opt_room ? cap - opt_room : 0);
    const Writer::Mark after_question = w.mark();
    if (q.opcode != 0) {
      c.rcode = rcode::kNotImp;
      c.aa = false;
      note(c, "NOTIMP: opcode");
    } else if (q.has_opt && q.edns_version > 0) {
      c.rcode = rcode::kBadVers;
      c.aa = false;
      note(c, "BADVERS");
    } else if (q.qclass == klass::kCh) {
      answer_chaos(c);
    } else if (q.qclass == klass::kIn || q.qclass == klass::kAny) {
      answer_in(c);
    } else {
      c.rcode = rcode::kRefused;
      c.aa = false;
      note(c, "REFUSED: class");
    }
    if (c.truncated) {
      // The answer does not fit: the question alone, TC, and the client retries over TCP.
      w.rewind(after_question);
      w.set_tc();
      ++n.truncated;
      c.scope = 0;
    }
    rc = c.rcode;
    w.set_aa(c.aa);
    w.set_rcode_low(rc);
    w.set_capacity(cap);
  }
  if (with_opt) {
    uint8_t options[512];
    const size_t size = build_options(c, options, sizeof options, parsed == Parse::Ok);
    const uint16_t ours =
        static_cast<uint16_t>(std::max<size_t>(table.catalog->udp_cap, kMinUdpSize));
    if (!w.opt(ours, rc, {options, size})) {
      // Not even the OPT fits (a client size below what we wrote): drop the records.
      w.set_tc();
    }
  }
  ++n.by_rcode[bucket_rcode(rc)];
  if (why != nullptr) why->scope = c.scope;
  return w.size();
}

}  // namespace steer::dns
