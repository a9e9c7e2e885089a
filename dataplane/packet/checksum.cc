#include "dataplane/packet/checksum.h"

#include <bit>
#include <cstring>

namespace steer::dataplane {
namespace {

uint64_t load64(const uint8_t* p) noexcept {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
uint32_t load32(const uint8_t* p) noexcept {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
uint16_t load16(const uint8_t* p) noexcept {
  uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Converts between a big-endian partial sum and the native-order sum of the same bytes: on a
// little-endian machine they are byte swaps of each other, because one's-complement addition
// commutes with swapping the bytes of every word (RFC 1071 section 2(B)).
uint16_t swap_if_little(uint16_t v) noexcept {
  if constexpr (std::endian::native == std::endian::little) {
    return static_cast<uint16_t>(v << 8 | v >> 8);
  }
  return v;
}

// Folds a 64-bit accumulation of 32-bit words to 16 bits. 2^16 - 1 divides 2^32 - 1 and
// 2^64 - 1, so folding halves preserves the one's-complement value.
uint16_t fold64(uint64_t acc) noexcept {
  acc = (acc & 0xffffffff) + (acc >> 32);  // <= 2^33
  acc = (acc & 0xffffffff) + (acc >> 32);  // <= 2^32
  return checksum_fold(static_cast<uint32_t>(acc) + static_cast<uint32_t>(acc >> 32));
}

// Native-order sum of `len` bytes. Each 8-byte word is added as two 32-bit halves into
// 64-bit accumulators, so no carry is ever lost (2^32 words before overflow, far beyond any
// packet); two accumulators per 16-byte step let the adds run in parallel.
uint64_t sum_native(const uint8_t* p, size_t len) noexcept {
  uint64_t a = 0;
  uint64_t b = 0;
  while (len >= 32) {
    const uint64_t w0 = load64(p);
    const uint64_t w1 = load64(p + 8);
    const uint64_t w2 = load64(p + 16);
    const uint64_t w3 = load64(p + 24);
    a += (w0 & 0xffffffff) + (w0 >> 32) + (w2 & 0xffffffff) + (w2 >> 32);
    b += (w1 & 0xffffffff) + (w1 >> 32) + (w3 & 0xffffffff) + (w3 >> 32);
    p += 32;
    len -= 32;
  }
  if (len >= 16) {
    const uint64_t w0 = load64(p);
    const uint64_t w1 = load64(p + 8);
    a += (w0 & 0xffffffff) + (w0 >> 32);
    b += (w1 & 0xffffffff) + (w1 >> 32);
    p += 16;
    len -= 16;
  }
  if (len >= 8) {
    const uint64_t w = load64(p);
    a += (w & 0xffffffff) + (w >> 32);
    p += 8;
    len -= 8;
  }
  if (len >= 4) {
    b += load32(p);
    p += 4;
    len -= 4;
  }
  if (len >= 2) {
    a += load16(p);
    p += 2;
    len -= 2;
  }
  if (len != 0) {
    // The odd byte is the high byte of a zero-padded big-endian word; every chunk above
    // started at an even offset, so in memory order it is the word's first byte.
    b += std::endian::native == std::endian::little ? uint64_t{*p} : uint64_t{*p} << 8;
  }
  return a + b;
}

}  // namespace

uint32_t checksum_partial(const void* data, size_t len, uint32_t sum) noexcept {
  const uint64_t acc =
      sum_native(static_cast<const uint8_t*>(data), len) + swap_if_little(checksum_fold(sum));
  return swap_if_little(fold64(acc));
}

uint16_t checksum(const void* data, size_t len) noexcept {
  return checksum_finish(checksum_partial(data, len));
}

uint16_t ipv4_header_checksum(const uint8_t* ip, size_t header_len) noexcept {
  uint64_t acc;
  if (header_len == 20) {
    acc =
        uint64_t{load32(ip)} + load32(ip + 4) + load32(ip + 8) + load32(ip + 12) + load32(ip + 16);
  } else {
    acc = sum_native(ip, header_len);
  }
  return static_cast<uint16_t>(~swap_if_little(fold64(acc)));
}

uint32_t pseudo_header_sum_v4(const uint8_t* src4, const uint8_t* dst4, uint8_t proto,
                              uint32_t l4_len) noexcept {
  const uint64_t acc = uint64_t{load32(src4)} + load32(dst4);
  return checksum_fold(swap_if_little(fold64(acc)) + proto + (l4_len >> 16) + (l4_len & 0xffff));
}

uint32_t pseudo_header_sum_v6(const uint8_t* src16, const uint8_t* dst16, uint8_t next_header,
                              uint32_t l4_len) noexcept {
  const uint64_t s0 = load64(src16);
  const uint64_t s1 = load64(src16 + 8);
  const uint64_t d0 = load64(dst16);
  const uint64_t d1 = load64(dst16 + 8);
  const uint64_t acc = (s0 & 0xffffffff) + (s0 >> 32) + (s1 & 0xffffffff) + (s1 >> 32) +
                       (d0 & 0xffffffff) + (d0 >> 32) + (d1 & 0xffffffff) + (d1 >> 32);
  return checksum_fold(swap_if_little(fold64(acc)) + next_header + (l4_len >> 16) +
                       (l4_len & 0xffff));
}

uint16_t l4_checksum_v4(const uint8_t* ip4, uint8_t proto, const uint8_t* l4,
                        uint32_t l4_len) noexcept {
  const uint32_t pseudo = pseudo_header_sum_v4(ip4 + 12, ip4 + 16, proto, l4_len);
  return checksum_finish(checksum_partial(l4, l4_len, pseudo));
}

uint16_t l4_checksum_v6(const uint8_t* ip6, uint8_t proto, const uint8_t* l4,
                        uint32_t l4_len) noexcept {
  const uint32_t pseudo = pseudo_header_sum_v6(ip6 + 8, ip6 + 24, proto, l4_len);
  return checksum_finish(checksum_partial(l4, l4_len, pseudo));
}

}  // namespace steer::dataplane
