// DOC: response-rate limiting (RRL) — the answer to reflection attacks on an authoritative
// server: an attacker sends queries with the victim's address as the source and the server's
// answers flood the victim. Off by default ([dns.rrl] enabled); UDP only (a TCP client has
// proved its address: never limited). Modelled on BIND's RRL and Knot DNS's `rrl` module.
//
// Accounts: each UDP answer draws on the account of (client prefix, answer class):
//   the client prefix   the source address cut to ipv4_prefix (/24) or ipv6_prefix (/56), so
//                       one spoofed victim network is one account whatever its host bits
//   the answer class    what makes answers "identical" to an attacker wanting volume:
//     Answer            NOERROR with records: the question name (lower-cased: 0x20-proof) and
//                       type
//     Empty             NOERROR without records (NODATA, a referral): the owner of the first
//                       authority record (the zone's SOA, the delegation's NS), else the name
//     NxDomain          the owner of the SOA (the zone): random names under one zone share it
//     Error             any other rcode (REFUSED, FORMERR, NOTIMP, SERVFAIL, BADVERS): one
//                       account per prefix, whatever the name
// An account is a token bucket in the manner of BIND: it earns `responses_per_second` credits
// a second, at most one second's worth (the burst); every answer debits one, down to
// -window_s x rate at most. An answer is limited while the balance after its debit is below
// zero. So a client under the rate never notices; a flood keeps its account at the floor, and
// once the flood stops the account is positive again after `window_s` seconds.
// Limited answers are dropped, except every `slip`-th one of an account (slip 0: none), which
// goes out truncated — header and question, TC set, no records, a bare OPT when the answer had
// one — so a real client behind the spoofed prefix retries over TCP and gets its answer.
//
// The table: per thread, fixed, allocated at construction (kDefaultSlots = 65,536 accounts of
// 32 bytes: 2 MiB per responder thread), open-addressed by a seeded 64-bit hash of the key
// (the seed is random per thread so a remote party cannot aim keys at one neighbourhood); a
// key lives in one of the kProbe (8) slots from its hash. An account idle for window_s + 1
// seconds has refilled to the burst, so it is the same as no account: its slot is free. When
// all 8 slots of a new key's neighbourhood hold live accounts, the least recently used one is
// replaced (counted: Counters::rrl_evicted). A flood touches its account on every answer, so
// it is never the one replaced; what is lost is the memory of accounts that were quiet —
// clients that were near or under the rate. Limiting degrades only when more keys than slots
// are live within window_s, and then towards answering (fail open), never towards dropping.
//
// Threads: each responder thread owns one Rrl and nothing is shared. The kernel spreads
// datagrams over SO_REUSEPORT sockets by a hash of the flow (addresses and ports), so one
// client address and port always reach the same thread; a flood from one spoofed source with
// varying source ports is spread over the threads and each enforces the rate on its share: a
// client prefix may receive up to threads x responses_per_second. That is correct enough for
// RRL's purpose (the amplification is bounded; operators set the rate with it in mind).
//
// Cost (bench/rrl_bench.cc, this machine, gcc -O2): see the figure above Rrl::apply.
// No allocation, lock, exception or syscall after construction; the time is an argument.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/ip_address.h"
#include "dns/answer.h"
#include "dns/config.h"

namespace steer::dns {

enum class RrlVerdict : uint8_t {
  Send,  // under the rate: send the answer as it is
  Drop,  // over it: send nothing
  Slip,  // over it, the slip-th: send it truncated
};

enum class ResponseClass : uint8_t { Answer, Empty, NxDomain, Error };

class Rrl {
 public:
  static constexpr size_t kDefaultSlots = size_t{1} << 16;
  static constexpr size_t kProbe = 8;

  // `slots` is rounded up to a power of two (at least kProbe); `seed` keys the hash. The
  // configuration is taken as dns/config.cc validates it; a rate of 0 limits nothing.
  explicit Rrl(const RrlConfig& config, size_t slots = kDefaultSlots, uint64_t seed = 0);

  // The whole step for one UDP answer of `size` bytes in `response` (a buffer of at least
  // `size` bytes, as answer() wrote it) to `client` at `now_ms` (a monotonic clock): its
  // account is debited and the size to send is returned — `size` (Send), 0 (Drop), or the
  // size of the truncated answer written over `response` (Slip). Counts rrl_dropped,
  // rrl_slipped and rrl_evicted. The responder thread that owns this Rrl only.
  size_t apply(const IpAddress& client, std::span<uint8_t> response, size_t size, int64_t now_ms,
               Counters& counters) noexcept;

  // The parts of apply(), for tests and benchmarks.
  // The account key of an answer: a seeded hash of (prefix, class, name, type). Never 0.
  uint64_t key(const IpAddress& client, std::span<const uint8_t> response) const noexcept;
  // Debits the account of `key` and says what to do. `evicted` is set when a live account
  // had to be replaced to make room.
  RrlVerdict account(uint64_t key, int64_t now_ms, bool& evicted) noexcept;

  // The class of an answer as key() sees it (Error for anything unreadable).
  static ResponseClass classify(std::span<const uint8_t> response) noexcept;
  // Rewrites `response` (a whole answer) as its truncated form: the header with TC set and
  // no records, the question, a bare OPT (our UDP size, the extended rcode) when the answer
  // had one. Returns the new size (never larger); 0 when the answer is unreadable.
  static size_t truncate(std::span<uint8_t> response) noexcept;

  // The client's prefix as a key part: the address with its host bits cleared.
  IpAddress prefix_of(const IpAddress& client) const noexcept;

  size_t slots() const { return table_.size(); }
  // Live accounts now (idle for less than window_s + 1 seconds); walks the table (tests).
  size_t live(int64_t now_ms) const;

 private:
  // One account; two per cache line.
  struct Slot {
    uint64_t key = 0;      // 0: never used
    int64_t balance = 0;   // in thousandths of an answer
    int64_t last_ms = 0;   // when it was last debited
    uint32_t limited = 0;  // answers limited so far (for the slip)
    uint32_t unused = 0;
  };
  static_assert(sizeof(Slot) == 32);

  int64_t rate_;      // thousandths of an answer earned per millisecond (= answers per second)
  int64_t burst_;     // the most an account holds: one second's worth
  int64_t floor_;     // the least: -window_s seconds' worth
  int64_t stale_ms_;  // idle this long: refilled to the burst, the same as no account
  uint32_t slip_;
  uint8_t v4_prefix_, v6_prefix_;
  uint64_t seed_;
  size_t mask_;
  std::vector<Slot> table_;
};

}  // namespace steer::dns
