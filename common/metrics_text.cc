#include "common/metrics_text.h"

#include <fmt/format.h>

namespace steer {

std::string MetricsWriter::escape(std::string_view value) {
  std::string r;
  r.reserve(value.size());
  for (char c : value) {
    if (c == '\n') {
      r += "\\n";
      continue;
    }
    if (c == '\\' || c == '"') r.push_back('\\');
    r.push_back(c);
  }
  return r;
}

MetricsWriter& MetricsWriter::family(std::string_view name, std::string_view type,
                                     std::string_view help) {
  out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  return *this;
}

void MetricsWriter::start(std::string_view name, Labels labels) {
  out_ += name;
  if (labels.size() == 0) {
    out_ += ' ';
    return;
  }
  out_ += '{';
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out_ += ',';
    first = false;
    out_ += k;
    out_ += "=\"";
    out_ += escape(v);
    out_ += '"';
  }
  out_ += "} ";
}

MetricsWriter& MetricsWriter::sample(std::string_view name, Labels labels, uint64_t value) {
  start(name, labels);
  out_ += fmt::format("{}\n", value);
  return *this;
}

MetricsWriter& MetricsWriter::sample(std::string_view name, Labels labels, int64_t value) {
  start(name, labels);
  out_ += fmt::format("{}\n", value);
  return *this;
}

MetricsWriter& MetricsWriter::sample(std::string_view name, Labels labels, double value) {
  start(name, labels);
  out_ += fmt::format("{:.6f}\n", value);
  return *this;
}

MetricsWriter& MetricsWriter::histogram(std::string_view name, std::string_view help,
                                        std::span<const double> bounds,
                                        std::span<const uint64_t> counts, double sum) {
  family(name, "histogram", help);
  const std::string bucket = fmt::format("{}_bucket", name);
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds.size(); ++i) {
    total += i < counts.size() ? counts[i] : 0;
    const std::string le = i < bounds.size() ? fmt::format("{}", bounds[i]) : "+Inf";
    sample(bucket, {{"le", le}}, total);
  }
  sample(fmt::format("{}_sum", name), {}, sum);
  sample(fmt::format("{}_count", name), {}, total);
  return *this;
}

}  // namespace steer
