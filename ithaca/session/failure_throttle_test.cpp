#include "ithaca/session/failure_throttle.hpp"

#include <gtest/gtest.h>

namespace ithaca::session {
namespace {

using std::chrono::seconds;

TEST(FailureThrottle, RefusesASourcePastTheLimitUntilItsWindowEnds) {
  ManualClock clock(from_unix_seconds(1'800'000'000));
  FailureThrottle t(clock, 3, seconds(60));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(t.blocked_for("1.2.3.4"), 0);
    EXPECT_EQ(t.record_failure("1.2.3.4").now_blocked, i == 2);
  }
  EXPECT_EQ(t.blocked_for("1.2.3.4"), 60);
  EXPECT_EQ(t.blocked_for("5.6.7.8"), 0);  // per source
  clock.advance(seconds(45));
  EXPECT_EQ(t.blocked_for("1.2.3.4"), 15);
  clock.advance(seconds(15));
  EXPECT_EQ(t.blocked_for("1.2.3.4"), 0);
  // A new window starts from zero.
  EXPECT_FALSE(t.record_failure("1.2.3.4").now_blocked);
  EXPECT_EQ(t.blocked_for("1.2.3.4"), 0);
}

TEST(FailureThrottle, WarnsOncePerSourcePerMinuteWithTheCount) {
  ManualClock clock(from_unix_seconds(1'800'000'000));
  FailureThrottle t(clock, 0, seconds(60));  // no refusals, warnings still sampled
  auto first = t.record_failure("a");
  EXPECT_TRUE(first.warn);
  EXPECT_EQ(first.unlogged, 1);
  int warned = 0;
  for (int i = 0; i < 999; ++i) warned += t.record_failure("a").warn;
  EXPECT_EQ(warned, 0);
  EXPECT_TRUE(t.record_failure("b").warn);
  EXPECT_EQ(t.blocked_for("a"), 0);
  clock.advance(seconds(60));
  auto later = t.record_failure("a");
  EXPECT_TRUE(later.warn);
  EXPECT_EQ(later.unlogged, 1000);
}

}  // namespace
}  // namespace ithaca::session
