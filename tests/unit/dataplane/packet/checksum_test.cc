#include "dataplane/packet/checksum.h"

#include <cstdint>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "testing/support/packet_builder.h"

namespace steer::dataplane {
namespace {

using steer::testing::Bytes;
using steer::testing::from_hex;
using steer::testing::PacketBuilder;

// Naive RFC 1071 reference: big-endian 16-bit words, odd byte padded, fold at the end.
uint32_t naive_sum(const uint8_t* p, size_t n, uint32_t acc = 0) {
  uint64_t s = acc;
  for (size_t i = 0; i + 1 < n; i += 2) s += uint32_t{p[i]} << 8 | p[i + 1];
  if (n % 2 != 0) s += uint32_t{p[n - 1]} << 8;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<uint32_t>(s);
}

uint16_t load16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
void store16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

Bytes random_bytes(std::mt19937& rng, size_t n) {
  Bytes b(n);
  for (auto& c : b) c = static_cast<uint8_t>(rng());
  return b;
}

// The worked example of RFC 1071 section 3: sum ddf2, checksum 220d.
TEST(Checksum, MatchesRfc1071Example) {
  const Bytes b = from_hex("0001f203f4f5f6f7");
  EXPECT_EQ(checksum_partial(b.data(), b.size()), 0xddf2u);
  EXPECT_EQ(checksum(b.data(), b.size()), 0x220d);
}

// A well-known IPv4 header (192.168.0.1 -> 192.168.0.199, UDP) checksums to b861.
TEST(Checksum, Ipv4HeaderMatchesKnownVector) {
  Bytes h = from_hex("450000730000400040110000c0a80001c0a800c7");
  EXPECT_EQ(ipv4_header_checksum(h.data(), h.size()), 0xb861);
  store16(h.data() + 10, 0xb861);
  EXPECT_EQ(ipv4_header_checksum(h.data(), h.size()), 0);
}

// An odd trailing byte counts as the high byte of a zero-padded word.
TEST(Checksum, OddTrailingByteIsHighByte) {
  const uint8_t one[1] = {0xab};
  EXPECT_EQ(checksum_partial(one, 1), 0xab00u);
  const Bytes b = from_hex("0102030405");
  EXPECT_EQ(checksum_partial(b.data(), b.size()), 0x0102u + 0x0304u + 0x0500u);
}

TEST(Checksum, EmptyBufferAddsNothing) {
  EXPECT_EQ(checksum_partial(nullptr, 0), 0u);
  EXPECT_EQ(checksum_partial(nullptr, 0, 0x1234), 0x1234u);
  EXPECT_EQ(checksum(nullptr, 0), 0xffff);
}

// Every length 0..300 at every start alignment 0..7 agrees with the naive reference.
TEST(Checksum, RandomBuffersMatchNaiveReferenceAtAnyLengthAndAlignment) {
  std::mt19937 rng(1071);
  for (size_t len = 0; len <= 300; ++len) {
    for (size_t align = 0; align < 8; ++align) {
      const Bytes b = random_bytes(rng, len + align);
      const uint8_t* p = b.data() + align;
      ASSERT_EQ(checksum_partial(p, len), naive_sum(p, len)) << "len " << len << " align " << align;
      ASSERT_EQ(checksum(p, len), static_cast<uint16_t>(~naive_sum(p, len)));
    }
  }
}

// A carried-in partial sum is added like one more word, whatever its value.
TEST(Checksum, InitialSumIsAddedLikeAWord) {
  std::mt19937 rng(7);
  for (int i = 0; i < 1000; ++i) {
    const Bytes b = random_bytes(rng, rng() % 100);
    const uint32_t init = rng() & 0xffff;
    ASSERT_EQ(checksum_partial(b.data(), b.size(), init), naive_sum(b.data(), b.size(), init));
  }
}

// Summing in even-length pieces and chaining the partial sums equals one pass.
TEST(Checksum, EvenPiecesChain) {
  std::mt19937 rng(3);
  const Bytes b = random_bytes(rng, 1001);
  for (size_t cut = 0; cut <= b.size(); cut += 2) {
    const uint32_t first = checksum_partial(b.data(), cut);
    ASSERT_EQ(checksum_partial(b.data() + cut, b.size() - cut, first),
              checksum_partial(b.data(), b.size()))
        << "cut " << cut;
  }
}

// No carry is lost on a 64 KiB buffer of 0xff (the worst case for the accumulators).
TEST(Checksum, AllOnesJumboBufferDoesNotOverflow) {
  const Bytes b(65536 + 7, 0xff);
  for (size_t len : {size_t{65536}, size_t{65537}, size_t{65543}}) {
    EXPECT_EQ(checksum_partial(b.data(), len), naive_sum(b.data(), len)) << len;
  }
  EXPECT_EQ(checksum_partial(b.data(), 65536), 0xffffu);
}

// IPv4 headers with options take the general path and agree with the reference.
TEST(Checksum, Ipv4HeaderWithOptionsMatchesReference) {
  std::mt19937 rng(20);
  for (size_t len = 20; len <= 60; len += 4) {
    Bytes h = random_bytes(rng, len);
    store16(h.data() + 10, 0);
    EXPECT_EQ(ipv4_header_checksum(h.data(), len), static_cast<uint16_t>(~naive_sum(h.data(), len)))
        << len;
  }
}

TEST(Checksum, PseudoHeadersMatchReference) {
  std::mt19937 rng(768);
  for (int i = 0; i < 200; ++i) {
    const Bytes a = random_bytes(rng, 32);
    const uint32_t len = rng() % 70000;
    const uint8_t proto = static_cast<uint8_t>(rng());
    Bytes v4 = Bytes(a.begin(), a.begin() + 8);
    v4.insert(v4.end(), {0, proto, static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len)});
    if (len <= 0xffff) {
      ASSERT_EQ(pseudo_header_sum_v4(a.data(), a.data() + 4, proto, len),
                naive_sum(v4.data(), v4.size()));
    }
    Bytes v6 = a;
    v6.insert(v6.end(),
              {static_cast<uint8_t>(len >> 24), static_cast<uint8_t>(len >> 16),
               static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len), 0, 0, 0, proto});
    ASSERT_EQ(pseudo_header_sum_v6(a.data(), a.data() + 16, proto, len),
              naive_sum(v6.data(), v6.size()));
  }
}

// Packets built by PacketBuilder (whose checksum code is separate) verify as 0 with ours.
TEST(Checksum, PacketBuilderPacketsVerify) {
  struct Case {
    const char* name;
    Bytes frame;
    bool v6;
    uint8_t proto;
    size_t l4_offset;
  };
  const Case cases[] = {
      {"tcp4",
       PacketBuilder().eth().ipv4("198.51.100.7", "192.0.2.10").tcp(40000, 80).payload(101).build(),
       false, 6, 34},
      {"udp4",
       PacketBuilder()
           .eth()
           .ipv4("198.51.100.7", "192.0.2.10")
           .udp(5353, 53)
           .payload(33, 0xf0)
           .build(),
       false, 17, 34},
      {"tcp6",
       PacketBuilder()
           .eth()
           .ipv6("2001:db8:c::7", "2001:db8:f::10")
           .tcp(40000, 443)
           .payload(999)
           .build(),
       true, 6, 54},
      {"udp6",
       PacketBuilder()
           .eth()
           .ipv6("2001:db8:c::7", "2001:db8:f::10")
           .udp(4000, 53)
           .payload(7)
           .build(),
       true, 17, 54},
      {"icmp6",
       PacketBuilder()
           .eth()
           .ipv6("2001:db8:c::7", "2001:db8:f::10")
           .icmpv6(128, 0, 0x00010002)
           .payload(57)
           .build(),
       true, 58, 54},
  };
  for (const Case& c : cases) {
    const uint8_t* ip = c.frame.data() + 14;
    const uint8_t* l4 = c.frame.data() + c.l4_offset;
    const uint32_t l4_len = static_cast<uint32_t>(c.frame.size() - c.l4_offset);
    if (c.v6) {
      EXPECT_EQ(l4_checksum_v6(ip, c.proto, l4, l4_len), 0) << c.name;
    } else {
      EXPECT_EQ(ipv4_header_checksum(ip, 20), 0) << c.name;
      EXPECT_EQ(l4_checksum_v4(ip, c.proto, l4, l4_len), 0) << c.name;
    }
  }
  // ICMPv4 has no pseudo-header: the plain checksum over the message verifies.
  const Bytes echo = PacketBuilder()
                         .eth()
                         .ipv4("198.51.100.7", "192.0.2.10")
                         .icmp(8, 0, 0x12340001)
                         .payload(31)
                         .build();
  EXPECT_EQ(checksum(echo.data() + 34, echo.size() - 34), 0);
  // An IPv4 header with options.
  steer::testing::Ipv4Options o;
  o.options = {1, 1, 1, 0};  // NOP, NOP, NOP, end of list
  const Bytes opt = PacketBuilder().eth().ipv4("198.51.100.7", "192.0.2.10", o).udp(1, 2).build();
  EXPECT_EQ(ipv4_header_checksum(opt.data() + 14, 24), 0);
}

// Computing over a segment with its checksum zeroed gives the value PacketBuilder wrote.
TEST(Checksum, L4ChecksumReproducesPacketBuilderValue) {
  Bytes f =
      PacketBuilder().eth().ipv4("198.51.100.7", "192.0.2.10").tcp(40000, 80).payload(51).build();
  const uint16_t built = load16(f.data() + 34 + 16);
  store16(f.data() + 34 + 16, 0);
  EXPECT_EQ(l4_checksum_v4(f.data() + 14, 6, f.data() + 34, uint32_t(f.size() - 34)), built);

  Bytes g = PacketBuilder()
                .eth()
                .ipv6("2001:db8:c::7", "2001:db8:f::10")
                .udp(4000, 53)
                .payload(11)
                .build();
  const uint16_t built6 = load16(g.data() + 54 + 6);
  store16(g.data() + 54 + 6, 0);
  EXPECT_EQ(l4_checksum_v6(g.data() + 14, 17, g.data() + 54, uint32_t(g.size() - 54)), built6);
}

// The worked example of RFC 1624 section 4: 0x5555 -> 0x3285 under HC 0xdd2f gives 0x0000.
TEST(ChecksumUpdate, MatchesRfc1624Example) {
  EXPECT_EQ(checksum_update16(0xdd2f, 0x5555, 0x3285), 0x0000);
}

// Changing one 16-bit word and updating incrementally equals recomputing from scratch.
TEST(ChecksumUpdate, Update16EqualsRecompute) {
  std::mt19937 rng(1624);
  for (int i = 0; i < 5000; ++i) {
    Bytes h = random_bytes(rng, 20);
    store16(h.data() + 10, 0);
    const uint16_t before = ipv4_header_checksum(h.data(), 20);
    store16(h.data() + 10, before);
    const size_t word = 2 * (rng() % 10);
    if (word == 10) continue;
    const uint16_t old_value = load16(h.data() + word);
    const uint16_t new_value = static_cast<uint16_t>(rng());
    store16(h.data() + word, new_value);
    const uint16_t updated = checksum_update16(before, old_value, new_value);
    store16(h.data() + 10, 0);
    ASSERT_EQ(updated, ipv4_header_checksum(h.data(), 20)) << i;
  }
}

// Changing an aligned 32-bit field (an address) updates like two 16-bit words.
TEST(ChecksumUpdate, Update32EqualsRecompute) {
  std::mt19937 rng(32);
  for (int i = 0; i < 5000; ++i) {
    Bytes h = random_bytes(rng, 20);
    store16(h.data() + 10, 0);
    const uint16_t before = ipv4_header_checksum(h.data(), 20);
    const size_t at = rng() % 2 == 0 ? 12 : 16;
    const uint32_t old_value = uint32_t{load16(h.data() + at)} << 16 | load16(h.data() + at + 2);
    const uint32_t new_value = static_cast<uint32_t>(rng());
    store16(h.data() + at, static_cast<uint16_t>(new_value >> 16));
    store16(h.data() + at + 2, static_cast<uint16_t>(new_value));
    ASSERT_EQ(checksum_update32(before, old_value, new_value), ipv4_header_checksum(h.data(), 20))
        << i;
  }
}

// The router's TTL decrement: 64 -> 63 in the TTL/protocol word of a known header.
TEST(ChecksumUpdate, TtlDecrementOnKnownHeader) {
  Bytes h = from_hex("450000730000400040110000c0a80001c0a800c7");
  EXPECT_EQ(checksum_update16(0xb861, 0x4011, 0x3f11), 0xb961);
  h[8] = 0x3f;
  EXPECT_EQ(ipv4_header_checksum(h.data(), 20), 0xb961);
}

}  // namespace
}  // namespace steer::dataplane
