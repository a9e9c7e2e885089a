#include "dns/tsig.h"

#include <algorithm>
#include <cstring>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace steer::dns::tsig {

namespace {

void put48(std::vector<uint8_t>& v, uint64_t x) {
  for (int shift = 40; shift >= 0; shift -= 8) v.push_back(static_cast<uint8_t>(x >> shift));
}

// Reads a name at `pos` (pointers followed, at most 64 of them), lower-cased; `pos` moves past
// the name as written. False when malformed.
bool read_name(std::span<const uint8_t> m, size_t& pos, Name& out) {
  size_t at = pos;
  bool jumped = false;
  size_t size = 0;
  for (int hops = 0; hops < 64;) {
    if (at >= m.size()) return false;
    const uint8_t len = m[at];
    if ((len & 0xc0) == 0xc0) {
      if (at + 1 >= m.size()) return false;
      if (!jumped) pos = at + 2;
      jumped = true;
      at = static_cast<size_t>((len & 0x3f) << 8 | m[at + 1]);
      ++hops;
      continue;
    }
    if (len > kMaxLabel || at + 1 + len > m.size() || size + 1 + len > kMaxName) return false;
    out.bytes[size++] = len;
    for (size_t i = 0; i < len; ++i) {
      const uint8_t c = m[at + 1 + i];
      out.bytes[size++] = c >= 'A' && c <= 'Z' ? static_cast<uint8_t>(c + 32) : c;
    }
    at += 1 + len;
    if (len == 0) {
      if (!jumped) pos = at;
      out.size = static_cast<uint8_t>(size);
      return true;
    }
  }
  return false;
}

const EVP_MD* digest(Algorithm a) {
  switch (a) {
    case Algorithm::HmacSha384:
      return EVP_sha384();
    case Algorithm::HmacSha512:
      return EVP_sha512();
    case Algorithm::HmacSha256:
      break;
  }
  return EVP_sha256();
}

std::vector<uint8_t> hmac(const Key& key, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  HMAC(digest(key.algorithm), key.secret.data(), static_cast<int>(key.secret.size()), data.data(),
       data.size(), out.data(), &len);
  out.resize(len);
  return out;
}

// The TSIG variables (RFC 8945 4.3.3), or the timers alone.
void variables(std::vector<uint8_t>& d, const Name& key, const Name& algorithm, uint64_t time,
               uint16_t fudge, uint16_t error, std::span<const uint8_t> other, bool timers_only) {
  if (!timers_only) {
    d.insert(d.end(), key.bytes.begin(), key.bytes.begin() + key.size);
    append16(d, klass::kAny);
    append16(d, 0);
    append16(d, 0);  // TTL 0 (32 bits)
    d.insert(d.end(), algorithm.bytes.begin(), algorithm.bytes.begin() + algorithm.size);
  }
  put48(d, time);
  append16(d, fudge);
  if (timers_only) return;
  append16(d, error);
  append16(d, static_cast<uint16_t>(other.size()));
  d.insert(d.end(), other.begin(), other.end());
}

void prior(std::vector<uint8_t>& d, std::span<const uint8_t> mac) {
  append16(d, static_cast<uint16_t>(mac.size()));
  d.insert(d.end(), mac.begin(), mac.end());
}

}  // namespace

std::optional<Algorithm> parse_algorithm(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  if (lower.ends_with('.')) lower.pop_back();
  if (lower == "hmac-sha256") return Algorithm::HmacSha256;
  if (lower == "hmac-sha384") return Algorithm::HmacSha384;
  if (lower == "hmac-sha512") return Algorithm::HmacSha512;
  return std::nullopt;
}

std::string_view algorithm_text(Algorithm a) {
  switch (a) {
    case Algorithm::HmacSha384:
      return "hmac-sha384";
    case Algorithm::HmacSha512:
      return "hmac-sha512";
    case Algorithm::HmacSha256:
      break;
  }
  return "hmac-sha256";
}

Name algorithm_name(Algorithm a) {
  Name n;
  parse_name_text(algorithm_text(a), n);
  return n;
}

size_t mac_size(Algorithm a) {
  switch (a) {
    case Algorithm::HmacSha384:
      return 48;
    case Algorithm::HmacSha512:
      return 64;
    case Algorithm::HmacSha256:
      break;
  }
  return 32;
}

size_t record_size(const Key& key) {
  const Name alg = algorithm_name(key.algorithm);
  // owner, TYPE CLASS TTL RDLENGTH, algorithm, time 6, fudge 2, MAC size 2, MAC, id 2,
  // error 2, other len 2, other (6 at most: BADTIME).
  return key.name.size + 10 + alg.size + 6 + 2 + 2 + mac_size(key.algorithm) + 2 + 2 + 2 + 6;
}

Found find(std::span<const uint8_t> m, Record& out) {
  if (m.size() < kHeaderSize) return Found::Malformed;
  const uint32_t qd = read16(&m[4]), an = read16(&m[6]), ns = read16(&m[8]), ar = read16(&m[10]);
  if (ar == 0) return Found::None;
  size_t pos = kHeaderSize;
  Name scratch;
  for (uint32_t i = 0; i < qd; ++i) {
    if (!read_name(m, pos, scratch) || pos + 4 > m.size()) return Found::Malformed;
    pos += 4;
  }
  const uint32_t records = an + ns + ar;
  for (uint32_t i = 0; i < records; ++i) {
    const size_t start = pos;
    Name owner;
    if (!read_name(m, pos, owner) || pos + 10 > m.size()) return Found::Malformed;
    const uint16_t type = read16(&m[pos]);
    const size_t rdlength = read16(&m[pos + 8]);
    const size_t rdata = pos + 10;
    if (rdata + rdlength > m.size()) return Found::Malformed;
    pos = rdata + rdlength;
    if (type != kType) continue;
    if (i != records - 1) return Found::Malformed;  // RFC 8945 5.2: TSIG is the last record
    size_t at = rdata;
    Record r;
    r.offset = start;
    r.key = owner;
    if (!read_name(m, at, r.algorithm) || at + 10 > pos) return Found::Malformed;
    r.time_signed = 0;
    for (int k = 0; k < 6; ++k) r.time_signed = r.time_signed << 8 | m[at + static_cast<size_t>(k)];
    r.fudge = read16(&m[at + 6]);
    const size_t mac_len = read16(&m[at + 8]);
    at += 10;
    if (at + mac_len + 6 > pos) return Found::Malformed;
    r.mac = m.subspan(at, mac_len);
    at += mac_len;
    r.original_id = read16(&m[at]);
    r.error = read16(&m[at + 2]);
    const size_t other_len = read16(&m[at + 4]);
    at += 6;
    if (at + other_len != pos) return Found::Malformed;
    r.other = m.subspan(at, other_len);
    out = r;
    return Found::Ok;
  }
  return pos == m.size() ? Found::None : Found::Malformed;
}

Verdict verify(std::span<const uint8_t> m, const Record& rec, std::span<const Key> keys,
               uint64_t now_unix, std::span<const uint8_t> prior_mac, const Key** key_out) {
  const Key* key = nullptr;
  for (const Key& k : keys) {
    if (k.name == rec.key && algorithm_name(k.algorithm) == rec.algorithm) key = &k;
  }
  if (key == nullptr) return Verdict::BadKey;
  if (rec.mac.size() != mac_size(key->algorithm)) return Verdict::BadSig;
  // The message as it was before signing: without the TSIG record, ARCOUNT one less, the
  // original ID.
  std::vector<uint8_t> d;
  d.reserve(rec.offset + 512);
  if (!prior_mac.empty()) prior(d, prior_mac);
  const size_t head = d.size();
  d.insert(d.end(), m.begin(), m.begin() + static_cast<ptrdiff_t>(rec.offset));
  d[head] = static_cast<uint8_t>(rec.original_id >> 8);
  d[head + 1] = static_cast<uint8_t>(rec.original_id);
  const uint16_t ar = static_cast<uint16_t>(read16(&d[head + 10]) - 1);
  d[head + 10] = static_cast<uint8_t>(ar >> 8);
  d[head + 11] = static_cast<uint8_t>(ar);
  variables(d, rec.key, rec.algorithm, rec.time_signed, rec.fudge, rec.error, rec.other, false);
  const std::vector<uint8_t> want = hmac(*key, d);
  if (want.size() != rec.mac.size() ||
      CRYPTO_memcmp(want.data(), rec.mac.data(), want.size()) != 0) {
    return Verdict::BadSig;
  }
  *key_out = key;
  const uint64_t lo = rec.time_signed > rec.fudge ? rec.time_signed - rec.fudge : 0;
  if (now_unix < lo || now_unix > rec.time_signed + rec.fudge) return Verdict::BadTime;
  return Verdict::Ok;
}

size_t sign(std::span<uint8_t> buf, size_t size, const Signing& s, std::vector<uint8_t>& mac_out) {
  const Name key_name = s.key != nullptr ? s.key->name : s.key_name;
  const Name alg = s.key != nullptr ? algorithm_name(s.key->algorithm) : s.algorithm;
  mac_out.clear();
  if (!s.unsigned_error && s.key != nullptr) {
    const Key& key = *s.key;
    std::vector<uint8_t> d;
    d.reserve(size + 512);
    if (!s.prior_mac.empty()) prior(d, s.prior_mac);
    d.insert(d.end(), buf.begin(), buf.begin() + static_cast<ptrdiff_t>(size));
    variables(d, key.name, alg, s.time, kFudge, s.error, s.other, s.timers_only);
    mac_out = hmac(key, d);
  }
  std::vector<uint8_t> rr;
  rr.insert(rr.end(), key_name.bytes.begin(), key_name.bytes.begin() + key_name.size);
  append16(rr, kType);
  append16(rr, klass::kAny);
  append16(rr, 0);
  append16(rr, 0);
  const size_t rdlength_at = rr.size();
  append16(rr, 0);
  rr.insert(rr.end(), alg.bytes.begin(), alg.bytes.begin() + alg.size);
  put48(rr, s.time);
  append16(rr, kFudge);
  append16(rr, static_cast<uint16_t>(mac_out.size()));
  rr.insert(rr.end(), mac_out.begin(), mac_out.end());
  append16(rr, s.original_id);
  append16(rr, s.error);
  append16(rr, static_cast<uint16_t>(s.other.size()));
  rr.insert(rr.end(), s.other.begin(), s.other.end());
  const size_t rdlength = rr.size() - rdlength_at - 2;
  rr[rdlength_at] = static_cast<uint8_t>(rdlength >> 8);
  rr[rdlength_at + 1] = static_cast<uint8_t>(rdlength);
  if (buf.size() - size < rr.size() || size < kHeaderSize) return 0;
  std::memcpy(buf.data() + size, rr.data(), rr.size());
  const uint16_t ar = static_cast<uint16_t>(read16(&buf[10]) + 1);
  buf[10] = static_cast<uint8_t>(ar >> 8);
  buf[11] = static_cast<uint8_t>(ar);
  return size + rr.size();
}

}  // namespace steer::dns::tsig
