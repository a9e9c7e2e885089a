// MetricsWriter (common/metrics_text.h): the Prometheus text exposition as scrapers parse it.
#include "common/metrics_text.h"

#include <gtest/gtest.h>

namespace steer {
namespace {

TEST(MetricsWriter, FamiliesThenSamplesWithEscapedLabels) {
  MetricsWriter m;
  m.family("steer_vip_healthy", "gauge", "1 when healthy");
  m.sample("steer_vip_healthy", {{"vip", "web"}}, true);
  m.sample("steer_vip_healthy", {{"vip", "a\"b\\c\nd"}, {"x", "y"}}, false);
  m.family("steer_up", "gauge", "1 while steerd runs");
  m.sample("steer_up", {}, uint64_t{1});
  m.sample("steer_lag_seconds", {}, 0.000123);
  m.sample("steer_health", {{"t", "k"}}, -1);
  EXPECT_EQ(m.take(),
            "# HELP steer_vip_healthy 1 when healthy\n"
            "# TYPE steer_vip_healthy gauge\n"
            "steer_vip_healthy{vip=\"web\"} 1\n"
            "steer_vip_healthy{vip=\"a\\\"b\\\\c\\nd\",x=\"y\"} 0\n"
            "# HELP steer_up 1 while steerd runs\n"
            "# TYPE steer_up gauge\n"
            "steer_up 1\n"
            "steer_lag_seconds 0.000123\n"
            "steer_health{t=\"k\"} -1\n");
  EXPECT_EQ(m.text(), "");
}

TEST(MetricsWriter, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  MetricsWriter m;
  const double bounds[] = {0.0001, 0.001, 0.5};
  const uint64_t counts[] = {3, 0, 2, 1};  // the last: above 0.5
  m.histogram("steer_x_seconds", "how long", bounds, counts, 1.25);
  EXPECT_EQ(m.take(),
            "# HELP steer_x_seconds how long\n"
            "# TYPE steer_x_seconds histogram\n"
            "steer_x_seconds_bucket{le=\"0.0001\"} 3\n"
            "steer_x_seconds_bucket{le=\"0.001\"} 3\n"
            "steer_x_seconds_bucket{le=\"0.5\"} 5\n"
            "steer_x_seconds_bucket{le=\"+Inf\"} 6\n"
            "steer_x_seconds_sum 1.250000\n"
            "steer_x_seconds_count 6\n");
}

}  // namespace
}  // namespace steer
