// TelemetryIntake's rate limit on a ManualClock: a burst per address, refilled over time, and a
// bounded number of addresses remembered.
#include "ithaca/api/telemetry.hpp"

#include <gtest/gtest.h>

namespace ithaca::api {
namespace {

net::HttpRequest report(const std::string& address) {
  net::HttpRequest r;
  r.method = "POST";
  r.path = "/telemetry";
  r.remote_address = address;
  r.headers.emplace_back("content-type", "application/json");
  r.body = R"({"events": [{"event": "session_connecting", "sdk_platform": "python",
                           "sdk_version": "1.3.0"}]})";
  return r;
}

TEST(TelemetryIntake, EachAddressGetsABurstThenTheRate) {
  metrics::Registry registry;
  ManualClock clock;
  TelemetryIntake intake(registry, clock, {.rate_per_second = 0.5, .burst = 3});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(intake.handle(report("10.0.0.1")).status, 202) << i;
  auto limited = intake.handle(report("10.0.0.1"));
  EXPECT_EQ(limited.status, 429);
  bool retry_after_2 = false;
  for (const auto& [k, v] : limited.headers) retry_after_2 |= k == "Retry-After" && v == "2";
  EXPECT_TRUE(retry_after_2);
  EXPECT_EQ(intake.handle(report("10.0.0.2")).status, 202);  // another address: its own budget
  clock.advance(std::chrono::milliseconds(1900));
  EXPECT_EQ(intake.handle(report("10.0.0.1")).status, 429);
  clock.advance(std::chrono::milliseconds(150));
  EXPECT_EQ(intake.handle(report("10.0.0.1")).status, 202);
  EXPECT_EQ(intake.handle(report("10.0.0.1")).status, 429);
  EXPECT_NE(registry.render().find("ithaca_telemetry_rejected_total{reason=\"rate_limited\"} 3\n"),
            std::string::npos);
}

TEST(TelemetryIntake, AddressesAreBoundedAndForgottenOnceTheirBucketIsFull) {
  metrics::Registry registry;
  ManualClock clock;
  TelemetryIntake intake(registry, clock, {.rate_per_second = 1, .burst = 2, .max_addresses = 2});
  EXPECT_EQ(intake.handle(report("a")).status, 202);
  EXPECT_EQ(intake.handle(report("b")).status, 202);
  EXPECT_EQ(intake.handle(report("c")).status, 429);  // no room while a and b are remembered
  clock.advance(std::chrono::seconds(1));             // their buckets are full again
  EXPECT_EQ(intake.handle(report("c")).status, 202);
  EXPECT_EQ(intake.handle(report("d")).status, 202);
}

}  // namespace
}  // namespace ithaca::api
