#include "control/health/schedule.h"

#include <algorithm>
#include <bit>

namespace steer::control::health {

std::chrono::microseconds jittered_period(uint32_t interval_ms, double jitter, Rng& rng) {
  const double j = std::clamp(jitter, 0.0, 0.5);
  const double base_us = static_cast<double>(interval_ms) * 1000.0;
  const double u = (rng.unit() * 2.0 - 1.0) * j;
  const auto us = static_cast<int64_t>(base_us * (1.0 + u));
  return std::chrono::microseconds(std::max<int64_t>(us, 1000));
}

std::chrono::microseconds first_phase(uint32_t interval_ms, Rng& rng) {
  return std::chrono::microseconds(
      static_cast<int64_t>(rng.unit() * static_cast<double>(interval_ms) * 1000.0));
}

// Values below 2^kSubBits have a bucket each; above, a value with its top bit at position p
// falls in group (p - kSubBits + 1), sub-bucket given by the kSubBits bits below the top bit.
size_t LagHistogram::index(uint64_t v) {
  if (v < (uint64_t{1} << kSubBits)) return static_cast<size_t>(v);
  const int p = 63 - std::countl_zero(v);
  const int shift = p - kSubBits;
  const uint64_t sub = (v >> shift) & ((uint64_t{1} << kSubBits) - 1);
  return (static_cast<size_t>(shift + 1) << kSubBits) + static_cast<size_t>(sub);
}

uint64_t LagHistogram::upper_bound(size_t i) {
  const size_t group = i >> kSubBits;
  const uint64_t sub = i & ((size_t{1} << kSubBits) - 1);
  if (group == 0) return sub;
  const int shift = static_cast<int>(group) - 1;
  return (((uint64_t{1} << kSubBits) | sub) << shift) + ((uint64_t{1} << shift) - 1);
}

void LagHistogram::add(const LagHistogram& other) {
  for (size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  total_ += other.total_;
}

double LagHistogram::percentile(double q) const {
  if (total_ == 0) return 0;
  const auto rank = static_cast<uint64_t>(std::clamp(q, 0.0, 1.0) * static_cast<double>(total_));
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    // Both conditions first hold at a non-empty bucket.
    if (seen > rank || seen == total_) return static_cast<double>(upper_bound(i));
  }
  return static_cast<double>(upper_bound(kBuckets - 1));
}

}  // namespace steer::control::health
