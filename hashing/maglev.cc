#include "hashing/maglev.h"

#include <xxhash.h>

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

namespace steer::hashing {

namespace {

// Per-backend population state, kept to 12 bytes so N = 1000 backends sit in L1.
// `pos` is the backend's next preferred slot p(next[i]) itself, advanced by adding skip and
// subtracting M: the same sequence as the paper's (offset + j·skip) mod M without a division.
struct Cursor {
  uint32_t pos;
  uint32_t skip;
  uint32_t index;  // into the caller's span
};

// Claims the backend's next preferred free slot. There is always one while the table is not
// full: with M prime the walk visits every slot once before it could repeat.
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
inline void claim(Cursor& c, uint64_t* taken, uint32_t* entries, uint32_t m) noexcept {
  uint32_t pos = c.pos;
  while (taken[pos >> 6] >> (pos & 63) & 1) {
    pos += c.skip;
    pos = pos >= m ? pos - m : pos;
  }
  taken[pos >> 6] |= uint64_t(1) << (pos & 63);
  entries[pos] = c.index;
  pos += c.skip;
  c.pos = pos >= m ? pos - m : pos;
}

// Equal weights: every backend claims a slot every round (the paper's loop).
void populate_equal(std::vector<Cursor>& cursors, uint32_t* entries, uint32_t m) {
  std::vector<uint64_t> bits((m + 63) / 64, 0);
  uint64_t* taken = bits.data();
  uint32_t filled = 0;
  for (;;) {
    for (Cursor& c : cursors) {
      claim(c, taken, entries, m);
      if (++filled == m) return;
    }
  }
}

// Integer weights: a backend adds its weight to its credit each round and claims a slot when
// the credit reaches the largest weight (see the rule in maglev.h).
void populate_weighted(std::vector<Cursor>& cursors, std::span<const uint32_t> weights,
                       uint32_t max_weight, uint32_t* entries, uint32_t m) {
  // credit < max_weight between rounds, so credit + weight < 2^33: 64 bits never overflow.
  std::vector<uint64_t> credit(cursors.size(), 0);
  std::vector<uint64_t> bits((m + 63) / 64, 0);
  uint64_t* taken = bits.data();
  uint32_t filled = 0;
  for (;;) {
    for (size_t i = 0; i < cursors.size(); ++i) {
      credit[i] += weights[i];
      if (credit[i] < max_weight) continue;
      credit[i] -= max_weight;
      claim(cursors[i], taken, entries, m);
      if (++filled == m) return;
    }
  }
}

}  // namespace

bool is_prime(uint32_t n) noexcept {
  if (n < 2) return false;
  if (n % 2 == 0) return n == 2;
  if (n % 3 == 0) return n == 3;
  for (uint64_t d = 5; d * d <= n; d += 6) {
    if (n % d == 0 || n % (d + 2) == 0) return false;
  }
  return true;
}

std::optional<uint32_t> next_prime(uint32_t n) noexcept {
  for (uint64_t c = std::max<uint32_t>(n, 2); c <= UINT32_MAX; ++c) {
    if (is_prime(uint32_t(c))) return uint32_t(c);
  }
  return std::nullopt;
}

MaglevPermutation maglev_permutation(const IpAddress& address, uint32_t size) noexcept {
  const uint64_t m = std::max<uint32_t>(size, 2);
  MaglevPermutation p;
  p.offset = uint32_t(XXH64(address.data(), 16, kMaglevOffsetSeed) % m);
  p.skip = uint32_t(XXH64(address.data(), 16, kMaglevSkipSeed) % (m - 1) + 1);
  return p;
}

std::optional<std::string> maglev_size_warning(uint32_t size, size_t backend_count) {
  const uint64_t wanted = uint64_t(backend_count) * 100;
  if (uint64_t(size) >= wanted) return std::nullopt;
  std::string advice;
  if (wanted <= MaglevTable::kMaxSize) {
    if (auto p = next_prime(uint32_t(wanted))) advice = fmt::format("; use a prime >= {}", *p);
  } else {
    advice = fmt::format("; the largest size is {}", MaglevTable::kMaxSize);
  }
  return fmt::format(
      "Maglev table size {} is below 100 x {} backends: slot shares may deviate from the "
      "weights by more than about 1 %{}",
      size, backend_count, advice);
}

Result<MaglevTable> MaglevTable::build(std::span<const MaglevBackend> backends, uint32_t size) {
  if (size < 2 || size > kMaxSize) {
    return fail(fmt::format("Maglev table size {} is out of range [2, {}]", size, kMaxSize));
  }
  if (!is_prime(size)) {
    auto p = next_prime(size);
    return fail(fmt::format("Maglev table size {} is not prime (the next prime is {})", size,
                            p ? *p : 0));
  }
  if (backends.size() > size) {
    return fail(fmt::format("{} backends do not fit in a Maglev table of {} slots",
                            backends.size(), size));
  }

  // Address order, not the caller's order, decides who takes turns first: that is what makes
  // the table independent of the order of the configuration.
  std::vector<uint32_t> order(backends.size());
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return backends[a].address < backends[b].address;
  });
  for (size_t i = 1; i < order.size(); ++i) {
    if (backends[order[i - 1]].address == backends[order[i]].address) {
      return fail(fmt::format("duplicate Maglev backend address {}",
                              backends[order[i]].address.to_string()));
    }
  }

  std::vector<Cursor> cursors;
  std::vector<uint32_t> weights;
  cursors.reserve(order.size());
  weights.reserve(order.size());
  uint32_t max_weight = 0;
  uint32_t min_weight = UINT32_MAX;
  for (uint32_t i : order) {
    const uint32_t w = backends[i].weight;
    if (w == 0) continue;
    const MaglevPermutation p = maglev_permutation(backends[i].address, size);
    cursors.push_back(Cursor{p.offset, p.skip, i});
    weights.push_back(w);
    max_weight = std::max(max_weight, w);
    min_weight = std::min(min_weight, w);
  }

  MaglevTable table;
  table.entries_.assign(size, kNoBackend);
  if (cursors.empty()) return table;
  table.empty_ = false;
  if (min_weight == max_weight) {
    populate_equal(cursors, table.entries_.data(), size);
  } else {
    populate_weighted(cursors, weights, max_weight, table.entries_.data(), size);
  }
  return table;
}

}  // namespace steer::hashing
