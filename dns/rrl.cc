#include "dns/rrl.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include <xxhash.h>

namespace steer::dns {

namespace {

constexpr int64_t kUnit = 1000;  // an answer, in the balance's thousandths

inline uint16_t rd16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

inline uint8_t lower(uint8_t b) { return b >= 'A' && b <= 'Z' ? static_cast<uint8_t>(b + 32) : b; }

// Our own answers are well formed; these readers are bounds-checked all the same (the fuzzer
// feeds them whatever answer() makes of arbitrary queries).

// Past the name at `pos` (labels up to the root, or up to a pointer).
bool skip_name(std::span<const uint8_t> m, size_t& pos) {
  while (pos < m.size()) {
    const uint8_t len = m[pos];
    if (len == 0) {
      ++pos;
      return true;
    }
    if ((len & 0xc0) == 0xc0) {
      if (m.size() - pos < 2) return false;
      pos += 2;
      return true;
    }
    if ((len & 0xc0) != 0) return false;
    pos += 1u + len;
  }
  return false;
}

// Past one record (owner, type, class, TTL, RDATA); its type in `type`.
bool skip_record(std::span<const uint8_t> m, size_t& pos, uint16_t& type) {
  if (!skip_name(m, pos) || m.size() - pos < 10) return false;
  type = rd16(&m[pos]);
  const size_t rdlen = rd16(&m[pos + 8]);
  pos += 10;
  if (m.size() - pos < rdlen) return false;
  pos += rdlen;
  return true;
}

// The name at `pos`, lower-cased, as uncompressed wire bytes into `out` (kMaxName bytes);
// pointers are followed backwards only. Returns its size, 0 when it is unreadable.
size_t copy_name(std::span<const uint8_t> m, size_t pos, uint8_t* out) {
  size_t n = 0;
  while (pos < m.size()) {
    const uint8_t len = m[pos];
    if (len == 0) {
      out[n++] = 0;
      return n;
    }
    if ((len & 0xc0) == 0xc0) {
      if (m.size() - pos < 2) return 0;
      const size_t to = static_cast<size_t>((len & 0x3f) << 8 | m[pos + 1]);
      if (to >= pos) return 0;  // backwards only: no loops
      pos = to;
      continue;
    }
    if ((len & 0xc0) != 0 || m.size() - pos < 1u + len || n + 1u + len + 1u > kMaxName) return 0;
    out[n++] = len;
    for (size_t i = 0; i < len; ++i) out[n++] = lower(m[pos + 1 + i]);
    pos += 1u + len;
  }
  return 0;
}

}  // namespace

// dns/config.cc allows rates up to 1,000,000 and windows up to 3,600 s; the clamps only keep
// the arithmetic below in range for any value (1e7 x 86,401,000 < 2^63).
Rrl::Rrl(const RrlConfig& config, size_t slots, uint64_t seed)
    : rate_(std::min<int64_t>(config.responses_per_second, 10'000'000)),
      burst_(rate_ * kUnit),
      floor_(-std::clamp<int64_t>(config.window_s, 1, 86'400) * rate_ * kUnit),
      stale_ms_((std::clamp<int64_t>(config.window_s, 1, 86'400) + 1) * 1000),
      slip_(config.slip),
      v4_prefix_(std::min<uint8_t>(config.ipv4_prefix, 32)),
      v6_prefix_(std::min<uint8_t>(config.ipv6_prefix, 128)),
      seed_(seed),
      mask_(std::bit_ceil(std::max(slots, kProbe)) - 1),
      table_(mask_ + 1) {}

IpAddress Rrl::prefix_of(const IpAddress& client) const noexcept {
  IpAddress::Bytes b = client.bytes();
  const unsigned keep = client.is_v4() ? 96u + v4_prefix_ : v6_prefix_;
  for (unsigned i = 0; i < 16; ++i) {
    const unsigned first = i * 8;  // the first bit of byte i
    if (first >= keep) {
      b[i] = 0;
    } else if (keep - first < 8) {
      b[i] = static_cast<uint8_t>(b[i] & (0xff << (8 - (keep - first))));
    }
  }
  return IpAddress::from_bytes(b);
}

ResponseClass Rrl::classify(std::span<const uint8_t> m) noexcept {
  if (m.size() < kHeaderSize) return ResponseClass::Error;
  const uint8_t rc = m[3] & 0x0f;
  const bool tc = (m[2] & 0x02) != 0;
  if (rc == rcode::kNxDomain) return ResponseClass::NxDomain;
  if (rc != rcode::kNoError) return ResponseClass::Error;
  // Truncated by answer(): what it would have answered, so its question.
  if (rd16(&m[6]) > 0 || tc) return ResponseClass::Answer;
  // NODATA carries the zone's SOA, a referral the delegation's NS; with nothing in authority
  // it is BADVERS (its rcode's upper bits are in the OPT; the header's are 0).
  if (rd16(&m[8]) > 0) return ResponseClass::Empty;
  return ResponseClass::Error;
}

uint64_t Rrl::key(const IpAddress& client, std::span<const uint8_t> m) const noexcept {
  // class, type, prefix, name: at most 1 + 2 + 16 + 255 bytes.
  uint8_t buf[1 + 2 + 16 + kMaxName];
  const ResponseClass cls = classify(m);
  buf[0] = static_cast<uint8_t>(cls);
  buf[1] = buf[2] = 0;
  std::memcpy(buf + 3, prefix_of(client).data(), 16);
  size_t n = 3 + 16;
  if (cls != ResponseClass::Error && rd16(&m[4]) == 1) {
    size_t pos = kHeaderSize;
    if (skip_name(m, pos) && m.size() - pos >= 4) {
      size_t name = 0;
      if (cls == ResponseClass::Answer) {
        buf[1] = m[pos];
        buf[2] = m[pos + 1];
      } else {
        // The first authority record's owner: the zone (SOA) or the delegation (NS).
        pos += 4;
        uint16_t skipped;
        bool ok = true;
        for (uint16_t i = 0, an = rd16(&m[6]); i < an && ok; ++i) ok = skip_record(m, pos, skipped);
        if (ok && rd16(&m[8]) > 0) name = copy_name(m, pos, buf + n);
      }
      // The question name: for answers, and for negative ones whose SOA did not fit.
      if (name == 0) name = copy_name(m, kHeaderSize, buf + n);
      n += name;
    }
  }
  const uint64_t k = XXH3_64bits_withSeed(buf, n, seed_);
  return k == 0 ? 1 : k;
}

RrlVerdict Rrl::account(uint64_t key, int64_t now_ms, bool& evicted) noexcept {
  evicted = false;
  Slot* found = nullptr;
  Slot* free_slot = nullptr;
  Slot* oldest = nullptr;
  for (size_t i = 0; i < kProbe; ++i) {
    Slot& s = table_[(key + i) & mask_];
    if (s.key == key) {
      found = &s;
      break;
    }
    if (s.key == 0 || now_ms - s.last_ms >= stale_ms_) {
      if (free_slot == nullptr) free_slot = &s;
    } else if (oldest == nullptr || s.last_ms < oldest->last_ms) {
      oldest = &s;
    }
  }
  if (found == nullptr) {
    found = free_slot;
    if (found == nullptr) {
      found = oldest;  // every slot live: the least recently used one goes
      evicted = true;
    }
    *found = Slot{key, burst_, now_ms, 0, 0};
  } else if (const int64_t elapsed = now_ms - found->last_ms; elapsed > 0) {
    // At most stale_ms_ counts: the balance is at the burst by then from any value.
    found->balance = std::min(burst_, found->balance + rate_ * std::min(elapsed, stale_ms_));
    found->last_ms = now_ms;
  }
  found->balance = std::max(floor_, found->balance - kUnit);
  if (found->balance >= 0) return RrlVerdict::Send;
  ++found->limited;
  return slip_ != 0 && found->limited % slip_ == 0 ? RrlVerdict::Slip : RrlVerdict::Drop;
}

size_t Rrl::truncate(std::span<uint8_t> m) noexcept {
  if (m.size() < kHeaderSize) return 0;
  size_t pos = kHeaderSize;
  for (uint16_t i = 0, qd = rd16(&m[4]); i < qd; ++i) {
    if (!skip_name(m, pos) || m.size() - pos < 4) return 0;
    pos += 4;
  }
  const size_t question_end = pos;
  // Our OPT (answer() writes it last): its UDP size and extended rcode stay.
  const uint8_t* opt = nullptr;
  const unsigned records = rd16(&m[6]) + rd16(&m[8]) + rd16(&m[10]);
  for (unsigned i = 0; i < records; ++i) {
    const size_t at = pos;
    uint16_t type = 0;
    if (!skip_record(m, pos, type)) break;
    if (type == type::kOpt && m[at] == 0) opt = &m[at + 1];
  }
  m[2] = static_cast<uint8_t>(m[2] | 0x02);  // TC
  std::memset(&m[6], 0, 6);                  // no answer, authority or additional records
  if (opt == nullptr) return question_end;
  // The OPT lies after the question and is at least 11 bytes: this never overtakes it.
  uint8_t bare[11] = {0, 0, type::kOpt, opt[2], opt[3], opt[4], opt[5], opt[6], opt[7], 0, 0};
  std::memmove(&m[question_end], bare, sizeof bare);
  m[11] = 1;
  return question_end + sizeof bare;
}

// Measured cost: see bench/rrl_bench.cc (figures in the DOC block's "Cost" line).
size_t Rrl::apply(const IpAddress& client, std::span<uint8_t> response, size_t size, int64_t now_ms,
                  Counters& counters) noexcept {
  if (rate_ == 0 || size > response.size()) return size;
  const std::span<uint8_t> m = response.first(size);
  bool evicted = false;
  const RrlVerdict v = account(key(client, m), now_ms, evicted);
  if (evicted) ++counters.rrl_evicted;
  if (v == RrlVerdict::Send) return size;
  if (v == RrlVerdict::Slip) {
    if (const size_t t = truncate(m); t != 0) {
      ++counters.rrl_slipped;
      return t;
    }
  }
  ++counters.rrl_dropped;
  return 0;
}

size_t Rrl::live(int64_t now_ms) const {
  return static_cast<size_t>(std::count_if(table_.begin(), table_.end(), [&](const Slot& s) {
    return s.key != 0 && now_ms - s.last_ms < stale_ms_;
  }));
}

}  // namespace steer::dns
