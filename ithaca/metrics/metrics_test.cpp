#include "ithaca/metrics/metrics.hpp"

#include <gtest/gtest.h>

namespace ithaca::metrics {
namespace {

TEST(Metrics, RendersPrometheusText) {
  Registry r;
  r.counter("ithaca_mints_total", "Mints.").inc(3);
  auto& rej = r.counter_family("ithaca_rejections_total", "Rejections.", "reason");
  rej.with("CONCURRENT_LIMIT_REACHED").inc();
  rej.with("a\"b").inc(2);
  r.gauge("ithaca_live", "Live.", "state", [] {
    return std::vector<std::pair<std::string, double>>{{"connected", 2}};
  });
  auto& h = r.histogram_family("ithaca_latency_seconds", "Latency.", "route", {0.001, 0.01});
  h.with("mint").observe(0.0005);
  h.with("mint").observe(0.005);
  h.with("mint").observe(5);

  const std::string text = r.render();
  EXPECT_NE(text.find("# TYPE ithaca_mints_total counter\nithaca_mints_total 3\n"),
            std::string::npos);
  EXPECT_NE(text.find("ithaca_rejections_total{reason=\"CONCURRENT_LIMIT_REACHED\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("ithaca_rejections_total{reason=\"a\\\"b\"} 2"), std::string::npos);
  EXPECT_NE(text.find("ithaca_live{state=\"connected\"} 2"), std::string::npos);
  EXPECT_NE(text.find("ithaca_latency_seconds_bucket{route=\"mint\",le=\"0.001\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("ithaca_latency_seconds_bucket{route=\"mint\",le=\"0.01\"} 2"),
            std::string::npos);
  EXPECT_NE(text.find("ithaca_latency_seconds_bucket{route=\"mint\",le=\"+Inf\"} 3"),
            std::string::npos);
  EXPECT_NE(text.find("ithaca_latency_seconds_count{route=\"mint\"} 3"), std::string::npos);
}

TEST(Metrics, RendersCountersReadAtScrapeTimeWithSeveralLabels) {
  Registry r;
  r.counter_reader("ithaca_client_errors_total", "Errors.", {"sdk", "error_type"}, [] {
    return std::vector<std::pair<std::vector<std::string>, double>>{{{"python", "auth"}, 2},
                                                                    {{"py\"x", "other"}, 1}};
  });
  const std::string text = r.render();
  EXPECT_NE(text.find("# TYPE ithaca_client_errors_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("ithaca_client_errors_total{sdk=\"python\",error_type=\"auth\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("ithaca_client_errors_total{sdk=\"py\\\"x\",error_type=\"other\"} 1\n"),
            std::string::npos);
}

}  // namespace
}  // namespace ithaca::metrics
