#include "dns/xfr.h"

#include <algorithm>
#include <cstring>

namespace steer::dns {

namespace {

constexpr size_t kSerialFromEnd = 20;  // SOA RDATA: ... SERIAL REFRESH RETRY EXPIRE MINIMUM

void set32(uint8_t* p, uint32_t x) {
  p[0] = static_cast<uint8_t>(x >> 24);
  p[1] = static_cast<uint8_t>(x >> 16);
  p[2] = static_cast<uint8_t>(x >> 8);
  p[3] = static_cast<uint8_t>(x);
}

uint32_t get32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

// RFC 1982: a is greater than b.
bool serial_gt(uint32_t a, uint32_t b) { return a != b && static_cast<int32_t>(a - b) > 0; }

void add_record(ZoneView& v, std::span<const uint8_t> owner, std::span<const uint8_t> tail) {
  v.records.insert(v.records.end(), owner.begin(), owner.end());
  v.records.insert(v.records.end(), tail.begin(), tail.end());
  v.ends.push_back(static_cast<uint32_t>(v.records.size()));
}

// A service's A or AAAA records in the fallback view (the rules of answer.cc's
// service_answer, without the client's order and the answer count).
void service_records(const Table& t, const Service& s, std::span<const uint8_t> owner,
                     uint16_t family, ZoneView& v) {
  bool any_up = false;
  for (size_t i = 0; i < s.pops.size(); ++i) any_up = any_up || t.flag(s, i).healthy;
  const size_t stride = family == type::kA ? 16 : 28;  // c0 0c + 10 + RDATA
  const size_t rdata = family == type::kA ? 4 : 16;
  std::vector<std::span<const uint8_t>> addresses;
  auto take = [&](const PopAnswers& pa) {
    const std::vector<uint8_t>& recs = family == type::kA ? pa.a : pa.aaaa;
    for (size_t at = 0; at + stride <= recs.size(); at += stride) {
      const std::span<const uint8_t> a(recs.data() + at + stride - rdata, rdata);
      const bool seen = std::any_of(addresses.begin(), addresses.end(), [&](const auto& b) {
        return std::equal(a.begin(), a.end(), b.begin(), b.end());
      });
      if (!seen) addresses.push_back(a);
    }
  };
  auto pass = [&](auto&& eligible) {
    for (size_t i = 0; i < s.pops.size(); ++i) {
      if (eligible(t.flag(s, i))) take(s.pops[i]);
    }
  };
  pass([](const PopFlags& f) { return f.healthy && !f.draining; });
  if (addresses.empty()) pass([](const PopFlags& f) { return f.healthy && f.draining; });
  if (addresses.empty() && !any_up) {
    if (s.when_all_down == WhenAllDown::All) {
      pass([](const PopFlags& f) { return !f.disabled; });
    } else {
      take(s.fallback);
    }
  }
  std::vector<uint8_t> tail;
  for (const auto& a : addresses) {
    tail.clear();
    append16(tail, family);
    append16(tail, klass::kIn);
    append32(tail, s.ttl);
    append16(tail, static_cast<uint16_t>(rdata));
    tail.insert(tail.end(), a.begin(), a.end());
    add_record(v, owner, tail);
  }
}

}  // namespace

const char* xfr_result_name(XfrResult r) {
  switch (r) {
    case XfrResult::Ok:
      return "ok";
    case XfrResult::Refused:
      return "refused";
    case XfrResult::BadKey:
      return "badkey";
    case XfrResult::BadSig:
      return "badsig";
    case XfrResult::BadTime:
      return "badtime";
    case XfrResult::Aborted:
      return "aborted";
  }
  return "?";
}

bool ZoneView::same_content(const ZoneView& o) const {
  // The SOA as configured: everything but the serial this module put there, and the
  // configured serial kept aside.
  if (!(apex == o.apex) || configured_serial != o.configured_serial || soa.size() != o.soa.size() ||
      records != o.records || ends != o.ends) {
    return false;
  }
  const size_t at = soa.size() - kSerialFromEnd;
  return std::equal(soa.begin(), soa.begin() + static_cast<ptrdiff_t>(at), o.soa.begin()) &&
         std::equal(soa.begin() + static_cast<ptrdiff_t>(at + 4), soa.end(),
                    o.soa.begin() + static_cast<ptrdiff_t>(at + 4));
}

void XfrLog::add(XfrRecord r) {
  counts_[static_cast<size_t>(r.result)].fetch_add(1, std::memory_order_relaxed);
  const std::lock_guard lock(mu_);
  std::erase_if(last_, [&](const XfrRecord& o) { return o.zone == r.zone && o.peer == r.peer; });
  last_.push_back(std::move(r));
  // Entries come from `transfer` prefixes only, but a prefix can hold many addresses.
  if (last_.size() > 256) last_.erase(last_.begin());
}

void XfrLog::tally(XfrResult r) {
  counts_[static_cast<size_t>(r)].fetch_add(1, std::memory_order_relaxed);
}

std::vector<XfrRecord> XfrLog::last() const {
  const std::lock_guard lock(mu_);
  return last_;
}

std::shared_ptr<ZoneView> fallback_view(const Table& table, size_t zone, uint32_t serial) {
  const Catalog& k = *table.catalog;
  const Zone& z = k.zones[zone];
  auto v = std::make_shared<ZoneView>();
  v->apex = z.apex;
  // Names in a stable order, so that the same data makes the same view whatever the hash
  // map's order.
  std::vector<const std::pair<const std::string, Node>*> nodes;
  nodes.reserve(z.nodes.size());
  for (const auto& n : z.nodes) nodes.push_back(&n);
  std::sort(nodes.begin(), nodes.end(),
            [](const auto* a, const auto* b) { return a->first < b->first; });
  const std::string apex(reinterpret_cast<const char*>(z.apex.bytes.data()), z.apex.size);
  for (const auto* entry : nodes) {
    const std::span<const uint8_t> owner(reinterpret_cast<const uint8_t*>(entry->first.data()),
                                         entry->first.size());
    const Node& node = entry->second;
    for (const RRset& rr : node.rrsets) {
      size_t at = 0;
      for (uint16_t size : rr.tail_sizes) {
        const std::span<const uint8_t> tail(rr.records.data() + at, size);
        at += size;
        if (rr.type == type::kSoa && entry->first == apex) {
          v->soa.assign(owner.begin(), owner.end());
          v->soa.insert(v->soa.end(), tail.begin(), tail.end());
          continue;
        }
        add_record(*v, owner, tail);
      }
    }
    if (node.service >= 0) {
      const Service& s = k.services[static_cast<size_t>(node.service)];
      service_records(table, s, owner, type::kA, *v);
      service_records(table, s, owner, type::kAaaa, *v);
    }
  }
  if (v->soa.size() >= kSerialFromEnd) {
    v->configured_serial = get32(v->soa.data() + v->soa.size() - kSerialFromEnd);
    v->serial = serial;
    set32(v->soa.data() + v->soa.size() - kSerialFromEnd, serial);
  }
  return v;
}

uint32_t next_serial(uint32_t previous, uint32_t now_unix, uint32_t configured) {
  uint32_t s = previous + 1;
  if (serial_gt(now_unix, s)) s = now_unix;
  if (serial_gt(configured, s)) s = configured;
  return s;
}

std::vector<tsig::Key> tsig_keys(const DnsConfig& config) {
  std::vector<tsig::Key> keys;
  for (const TsigKeyConfig& k : config.tsig) {
    keys.push_back(
        tsig::Key{k.name, tsig::parse_algorithm(k.algorithm).value_or(tsig::Algorithm::HmacSha256),
                  k.secret});
  }
  return keys;
}

std::shared_ptr<const Table> with_transfers(const std::shared_ptr<const Table>& table,
                                            const DnsConfig& config, const Transfers* previous,
                                            std::shared_ptr<XfrLog> log, uint32_t now_unix) {
  auto out = std::make_shared<Table>(*table);
  auto tr = std::make_shared<Transfers>();
  tr->keys = tsig_keys(config);
  tr->log = std::move(log);
  const Catalog& k = *table->catalog;
  for (size_t zi = 0; zi < k.zones.size(); ++zi) {
    Transfers::Zone tz;
    bool followed = false;  // some secondary transfers it, or is told of it
    uint32_t configured = 0;
    for (const ZoneConfig& zc : config.zones) {
      if (!(zc.apex == k.zones[zi].apex)) continue;
      tz.allowed = zc.transfer;
      followed = !zc.transfer.empty() || !zc.notify.empty();
      configured = zc.soa.serial;
    }
    if (!followed) {
      // Nobody follows the zone: its configured serial, and no view to keep up to date.
      out->serials.push_back(configured);
      tr->zones.push_back(std::move(tz));
      continue;
    }
    std::shared_ptr<ZoneView> view = fallback_view(*table, zi, 0);
    const ZoneView* before = nullptr;
    if (previous != nullptr) {
      for (const Transfers::Zone& p : previous->zones) {
        if (p.view && p.view->apex == view->apex) before = p.view.get();
      }
    }
    uint32_t serial = view->configured_serial;
    if (before == nullptr) {
      if (serial_gt(now_unix, serial)) serial = now_unix;
    } else {
      // same_content ignores the serial field: compare before setting ours.
      set32(view->soa.data() + view->soa.size() - kSerialFromEnd, before->serial);
      // The configured serial counts when the operator changed it (a value far behind would
      // read as ahead in RFC 1982 arithmetic).
      const uint32_t raised = view->configured_serial != before->configured_serial
                                  ? view->configured_serial
                                  : before->serial + 1;
      serial = view->same_content(*before) ? before->serial
                                           : next_serial(before->serial, now_unix, raised);
    }
    view->serial = serial;
    set32(view->soa.data() + view->soa.size() - kSerialFromEnd, serial);
    out->serials.push_back(serial);
    tz.view = std::move(view);
    tr->zones.push_back(std::move(tz));
  }
  out->transfers = std::move(tr);
  return out;
}

// ---- serving ---------------------------------------------------------------------------------

bool is_transfer_request(std::span<const uint8_t> m) {
  if (m.size() < kHeaderSize + 5) return false;
  if ((m[2] & 0x80) != 0 || ((m[2] >> 3) & 0x0f) != 0 || read16(&m[4]) != 1) return false;
  size_t pos = kHeaderSize;
  while (pos < m.size() && m[pos] != 0) {
    if ((m[pos] & 0xc0) != 0 || m[pos] > kMaxLabel || pos - kHeaderSize + 1 + m[pos] >= kMaxName) {
      return false;
    }
    pos += 1 + m[pos];
  }
  if (pos + 5 > m.size()) return false;
  const uint16_t qtype = read16(&m[pos + 1]);
  return qtype == type::kAxfr || qtype == type::kIxfr;
}

namespace {

// A one-message answer to a transfer request: the question, `rcode`, and a TSIG record when
// `signing` has a key or reports a TSIG error.
std::vector<uint8_t> error_message(std::span<const uint8_t> question, uint16_t id, uint16_t flags,
                                   uint16_t rcode, const tsig::Signing* signing) {
  std::vector<uint8_t> m(kHeaderSize + question.size() + 512);
  m[0] = static_cast<uint8_t>(id >> 8);
  m[1] = static_cast<uint8_t>(id);
  const uint16_t f = static_cast<uint16_t>(0x8000 | (flags & 0x0110) | (rcode & 0x0f));
  m[2] = static_cast<uint8_t>(f >> 8);
  m[3] = static_cast<uint8_t>(f);
  m[5] = question.empty() ? 0 : 1;
  std::copy(question.begin(), question.end(), m.begin() + kHeaderSize);
  size_t size = kHeaderSize + question.size();
  if (signing != nullptr) {
    std::vector<uint8_t> mac;
    const size_t signed_size = tsig::sign(m, size, *signing, mac);
    if (signed_size != 0) size = signed_size;
  }
  m.resize(size);
  return m;
}

}  // namespace

Transfer::~Transfer() {
  if (!finished_) {
    record_.result = XfrResult::Aborted;
    finish();
  }
}

void Transfer::finish() {
  if (finished_) return;
  finished_ = true;
  if (transfers_ && transfers_->log) transfers_->log->add(record_);
}

std::unique_ptr<Transfer> start_transfer(const Table& table, std::span<const uint8_t> msg,
                                         const IpAddress& peer, uint64_t now_unix,
                                         int64_t now_unix_ms) {
  // The header and question only: an IXFR request carries the secondary's SOA in its
  // authority section (RFC 1995 3), which parse_query() takes for a malformed query.
  Query q;
  if (!is_transfer_request(msg)) return nullptr;
  q.id = read16(&msg[0]);
  q.flags = read16(&msg[2]);
  q.question_offset = kHeaderSize;
  size_t pos = kHeaderSize;
  while (msg[pos] != 0) {
    const size_t len = msg[pos];
    if (q.qname.size + 1 + len >= kMaxName) return nullptr;
    q.qname.bytes[q.qname.size++] = static_cast<uint8_t>(len);
    for (size_t i = 1; i <= len; ++i) {
      const uint8_t c = msg[pos + i];
      q.qname.bytes[q.qname.size++] = c >= 'A' && c <= 'Z' ? static_cast<uint8_t>(c + 32) : c;
    }
    pos += 1 + len;
  }
  q.qname.bytes[q.qname.size++] = 0;
  q.qtype = read16(&msg[pos + 1]);
  q.qclass = read16(&msg[pos + 3]);
  q.question_size = pos + 5 - kHeaderSize;
  if (q.qclass != klass::kIn) return nullptr;
  if (!table.transfers) return nullptr;
  const Catalog& k = *table.catalog;
  size_t zi = 0;
  while (zi < k.zones.size() && !(k.zones[zi].apex == q.qname)) ++zi;
  if (zi >= k.zones.size() || zi >= table.transfers->zones.size()) return nullptr;
  const Transfers& tr = *table.transfers;
  const Transfers::Zone& tz = tr.zones[zi];
  const bool listed = std::any_of(tz.allowed.begin(), tz.allowed.end(),
                                  [&](const TransferFrom& f) { return f.from.contains(peer); });
  if (!listed) {
    if (tr.log) tr.log->tally(XfrResult::Refused);
    return nullptr;  // REFUSED by answer(), as for anybody
  }
  if (!tz.view) return nullptr;
  std::unique_ptr<Transfer> t(new Transfer());
  t->transfers_ = table.transfers;
  t->view_ = tz.view;
  t->question_.assign(msg.begin() + static_cast<ptrdiff_t>(q.question_offset),
                      msg.begin() + static_cast<ptrdiff_t>(q.question_offset + q.question_size));
  t->id_ = q.id;
  t->flags_ = q.flags;
  t->time_ = now_unix;
  t->record_.zone = k.zones[zi].apex.text();
  t->record_.peer = peer;
  t->record_.unix_ms = now_unix_ms;
  t->record_.serial = tz.view->serial;
  t->record_.ixfr = q.qtype == type::kIxfr;

  tsig::Record rec;
  const tsig::Found found = tsig::find(msg, rec);
  if (found == tsig::Found::Malformed) return nullptr;  // FORMERR by answer()
  auto refuse = [&](XfrResult why, uint16_t rcode, const tsig::Signing* s) {
    t->record_.result = why;
    t->error_ = error_message(t->question_, t->id_, t->flags_, rcode, s);
    return std::move(t);
  };
  if (found == tsig::Found::None) {
    const bool open = std::any_of(tz.allowed.begin(), tz.allowed.end(), [&](const TransferFrom& f) {
      return f.from.contains(peer) && f.key.size == 0;
    });
    if (!open) return refuse(XfrResult::Refused, rcode::kRefused, nullptr);
    return t;
  }
  t->record_.key = rec.key.text();
  const tsig::Key* key = nullptr;
  const tsig::Verdict v = tsig::verify(msg, rec, tr.keys, now_unix, {}, &key);
  tsig::Signing s;
  s.original_id = q.id;
  s.time = rec.time_signed;
  s.key_name = rec.key;
  s.algorithm = rec.algorithm;
  switch (v) {
    case tsig::Verdict::BadKey:
      s.error = tsig::kBadKey;
      s.unsigned_error = true;
      return refuse(XfrResult::BadKey, tsig::kNotAuth, &s);
    case tsig::Verdict::BadSig:
      s.error = tsig::kBadSig;
      s.unsigned_error = true;
      return refuse(XfrResult::BadSig, tsig::kNotAuth, &s);
    case tsig::Verdict::BadTime: {
      // Signed, with our time in Other Data (RFC 8945 5.2.3).
      uint8_t now[6];
      for (int i = 0; i < 6; ++i) now[i] = static_cast<uint8_t>(now_unix >> (40 - 8 * i));
      s.key = key;
      s.prior_mac = rec.mac;
      s.error = tsig::kBadTime;
      s.other = now;
      return refuse(XfrResult::BadTime, tsig::kNotAuth, &s);
    }
    case tsig::Verdict::Ok:
      break;
  }
  const bool allowed =
      std::any_of(tz.allowed.begin(), tz.allowed.end(), [&](const TransferFrom& f) {
        return f.from.contains(peer) && (f.key.size == 0 || f.key == key->name);
      });
  s.key = key;
  s.prior_mac = rec.mac;
  s.time = now_unix;
  if (!allowed) return refuse(XfrResult::Refused, rcode::kRefused, &s);
  t->key_ = key;
  t->mac_.assign(rec.mac.begin(), rec.mac.end());
  return t;
}

bool Transfer::next(std::vector<uint8_t>& out) {
  if (done_) {
    finish();
    return false;
  }
  if (!error_.empty()) {
    append16(out, static_cast<uint16_t>(error_.size()));
    out.insert(out.end(), error_.begin(), error_.end());
    done_ = true;
    return true;
  }
  const ZoneView& v = *view_;
  const size_t reserve = key_ != nullptr ? tsig::record_size(*key_) : 0;
  const size_t cap = kMaxMessage - reserve;
  const size_t start = out.size();
  append16(out, 0);  // the length, set below
  const size_t header = out.size();
  out.resize(header + kHeaderSize, 0);
  uint8_t* h = out.data() + header;
  h[0] = static_cast<uint8_t>(id_ >> 8);
  h[1] = static_cast<uint8_t>(id_);
  const uint16_t f = static_cast<uint16_t>(0x8400 | (flags_ & 0x0110));  // QR AA, RD CD copied
  h[2] = static_cast<uint8_t>(f >> 8);
  h[3] = static_cast<uint8_t>(f);
  h[5] = 1;
  out.insert(out.end(), question_.begin(), question_.end());
  uint16_t count = 0;
  auto fits = [&](size_t n) { return out.size() - header + n <= cap && count < 0xffff; };
  if (!soa_done_) {
    out.insert(out.end(), v.soa.begin(), v.soa.end());
    ++count;
    soa_done_ = true;
  }
  while (next_record_ < v.ends.size()) {
    const size_t from = next_record_ == 0 ? 0 : v.ends[next_record_ - 1];
    const size_t size = v.ends[next_record_] - from;
    if (!fits(size)) break;
    out.insert(out.end(), v.records.begin() + static_cast<ptrdiff_t>(from),
               v.records.begin() + static_cast<ptrdiff_t>(from + size));
    ++count;
    ++next_record_;
  }
  if (next_record_ == v.ends.size() && fits(v.soa.size())) {
    out.insert(out.end(), v.soa.begin(), v.soa.end());
    ++count;
    done_ = true;
  }
  h = out.data() + header;
  h[6] = static_cast<uint8_t>(count >> 8);
  h[7] = static_cast<uint8_t>(count);
  size_t size = out.size() - header;
  if (key_ != nullptr) {
    out.resize(header + size + reserve);
    tsig::Signing s;
    s.key = key_;
    s.prior_mac = mac_;
    s.timers_only = record_.messages != 0;
    s.time = time_;
    s.original_id = id_;
    std::vector<uint8_t> mac;
    size = tsig::sign({out.data() + header, size + reserve}, size, s, mac);
    mac_ = std::move(mac);
    out.resize(header + size);
  }
  out[start] = static_cast<uint8_t>(size >> 8);
  out[start + 1] = static_cast<uint8_t>(size);
  ++record_.messages;
  record_.records += count;
  return true;
}

bool is_transfer_peer(const Table& table, const IpAddress& peer) {
  if (!table.transfers) return false;
  for (const Transfers::Zone& z : table.transfers->zones) {
    for (const TransferFrom& f : z.allowed) {
      if (f.from.contains(peer)) return true;
    }
  }
  return false;
}

std::optional<size_t> answer_signed(const Table& table, std::span<const uint8_t> msg,
                                    const Client& client, std::span<uint8_t> out, uint32_t random,
                                    Counters& counters, uint64_t now_unix) {
  tsig::Record rec;
  if (!table.transfers || tsig::find(msg, rec) != tsig::Found::Ok) return std::nullopt;
  const Transfers& tr = *table.transfers;
  const tsig::Key* key = nullptr;
  const tsig::Verdict v = tsig::verify(msg, rec, tr.keys, now_unix, {}, &key);
  tsig::Signing s;
  s.original_id = rec.original_id;
  s.time = now_unix;
  if (v == tsig::Verdict::Ok) {
    // Room for the TSIG record: the answer is made smaller by as much.
    const size_t room = tsig::record_size(*key);
    if (out.size() <= room + kHeaderSize) return std::nullopt;
    size_t size = answer(table, msg, client, out.first(out.size() - room), random, counters);
    if (size == 0) return size_t{0};
    s.key = key;
    s.prior_mac = rec.mac;
    std::vector<uint8_t> mac;
    const size_t signed_size = tsig::sign(out, size, s, mac);
    return signed_size != 0 ? signed_size : size;
  }
  Query q;
  if (parse_query(msg, q) == Parse::Drop) return size_t{0};
  const std::span<const uint8_t> question =
      msg.subspan(q.question_offset, std::min(q.question_size, msg.size() - q.question_offset));
  s.key_name = rec.key;
  s.algorithm = rec.algorithm;
  s.time = rec.time_signed;
  uint8_t now[6];
  if (v == tsig::Verdict::BadTime) {
    for (int i = 0; i < 6; ++i) now[i] = static_cast<uint8_t>(now_unix >> (40 - 8 * i));
    s.key = key;
    s.prior_mac = rec.mac;
    s.error = tsig::kBadTime;
    s.other = now;
  } else {
    s.error = v == tsig::Verdict::BadKey ? tsig::kBadKey : tsig::kBadSig;
    s.unsigned_error = true;
  }
  const std::vector<uint8_t> m = error_message(question, q.id, q.flags, tsig::kNotAuth, &s);
  if (m.size() > out.size()) return size_t{0};
  std::copy(m.begin(), m.end(), out.begin());
  ++counters.queries;
  return m.size();
}

}  // namespace steer::dns
