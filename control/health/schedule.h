// DOC: the arithmetic of the probe schedule, kept apart from any clock or socket so it can be
// tested as plain functions: the jitter RNG, the jittered period, and the start-lag
// histogram the checker reports percentiles from.
//
// Jitter: each period is interval × (1 + u), u uniform in [-jitter, +jitter], drawn anew for
// every probe, so targets that happen to start together drift apart instead of probing in
// lock-step; the first probe of a target starts at a uniform random phase in [0, interval).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>

namespace steer::control::health {

// splitmix64: tiny, fast, fully determined by its seed (tests pass a fixed one).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1).
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t state_;
};

// interval × (1 + u) with u uniform in [-jitter, +jitter] (jitter clamped to [0, 0.5]), in
// microseconds, at least 1 ms.
std::chrono::microseconds jittered_period(uint32_t interval_ms, double jitter, Rng& rng);

// Uniform in [0, interval): where a new target's first probe falls.
std::chrono::microseconds first_phase(uint32_t interval_ms, Rng& rng);

// Log-linear histogram of microsecond values (64 sub-buckets per power of two: a reported
// percentile is within 1.6 % of the true value). Fixed size, no allocation; record() is a
// few instructions.
class LagHistogram {
 public:
  void record(uint64_t us) {
    ++counts_[index(us)];
    ++total_;
  }
  void clear() {
    counts_.fill(0);
    total_ = 0;
  }
  uint64_t total() const { return total_; }
  void add(const LagHistogram& other);
  // The value at fraction q (0..1) of the recorded values (the bucket's upper bound), 0 when
  // empty.
  double percentile(double q) const;

 private:
  static constexpr int kSubBits = 6;
  static constexpr size_t kBuckets = (64 - kSubBits + 1) << kSubBits;
  static size_t index(uint64_t v);
  static uint64_t upper_bound(size_t index);

  std::array<uint32_t, kBuckets> counts_{};
  uint64_t total_ = 0;
};

}  // namespace steer::control::health
