// DOC: MetricsWriter — the Prometheus text exposition (format 0.0.4) that steerd serves on
// /metrics, written by every module for its own metrics: the controller, the dataplane
// link, the BGP announcer (and the DNS responder) each append their families to one writer.
//
//   MetricsWriter m;
//   m.family("steer_vip_healthy", "gauge", "1 when the VIP has at least min_healthy backends up");
//   m.sample("steer_vip_healthy", {{"vip", "web"}}, 1);
//   std::string text = m.take();
//
// Label values are escaped (backslash, double quote, newline); names and help text are the
// caller's constants. A family's samples follow its family() line. Not thread-safe; a value.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace steer {

class MetricsWriter {
 public:
  using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

  // "# HELP name help" and "# TYPE name type" (type: counter, gauge).
  MetricsWriter& family(std::string_view name, std::string_view type, std::string_view help);
  MetricsWriter& sample(std::string_view name, Labels labels, uint64_t value);
  MetricsWriter& sample(std::string_view name, Labels labels, int64_t value);
  MetricsWriter& sample(std::string_view name, Labels labels, int value) {
    return sample(name, labels, static_cast<int64_t>(value));
  }
  MetricsWriter& sample(std::string_view name, Labels labels, bool value) {
    return sample(name, labels, static_cast<uint64_t>(value ? 1 : 0));
  }
  // Printed with 6 decimals ("0.000123").
  MetricsWriter& sample(std::string_view name, Labels labels, double value);

  // A histogram family: "_bucket" samples with cumulative counts for each upper bound in
  // `bounds` (seconds, ascending) and "+Inf", then "_sum" and "_count". `counts` holds one
  // count per bound and a last one for values above every bound (not cumulative).
  MetricsWriter& histogram(std::string_view name, std::string_view help,
                           std::span<const double> bounds, std::span<const uint64_t> counts,
                           double sum);

  // The exposition so far; the writer is empty afterwards.
  std::string take() { return std::move(out_); }
  const std::string& text() const { return out_; }

  // A label value escaped for the exposition.
  static std::string escape(std::string_view value);

 private:
  void start(std::string_view name, Labels labels);
  std::string out_;
};

}  // namespace steer
