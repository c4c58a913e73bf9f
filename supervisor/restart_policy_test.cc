#include "supervisor/restart_policy.h"

#include "gtest/gtest.h"

namespace vigil {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(RestartTrackerTest, StartLimitAllowsBurstWithinIntervalThenRefuses) {
  RestartTracker tracker({}, {.burst = 3, .interval = milliseconds(10000)});
  auto t0 = RestartTracker::Clock::time_point();
  EXPECT_TRUE(tracker.AllowStart(t0));
  EXPECT_TRUE(tracker.AllowStart(t0 + seconds(1)));
  EXPECT_TRUE(tracker.AllowStart(t0 + seconds(2)));
  EXPECT_FALSE(tracker.AllowStart(t0 + seconds(3)));
  // The first start leaves the window at t0+10s.
  EXPECT_TRUE(tracker.AllowStart(t0 + seconds(10)));
  EXPECT_FALSE(tracker.AllowStart(t0 + seconds(10)));
}

TEST(RestartTrackerTest, ResetClearsStartHistory) {
  RestartTracker tracker({}, {.burst = 1, .interval = milliseconds(10000)});
  auto t0 = RestartTracker::Clock::time_point();
  EXPECT_TRUE(tracker.AllowStart(t0));
  EXPECT_FALSE(tracker.AllowStart(t0));
  tracker.Reset();
  EXPECT_TRUE(tracker.AllowStart(t0));
}

TEST(RestartTrackerTest, BackoffGrowsByFactorUpToMax) {
  RestartTracker tracker(
      {.initial = milliseconds(100), .max = milliseconds(1000), .factor = 2.0},
      {});
  EXPECT_EQ(tracker.NextDelay(milliseconds(5)), milliseconds(100));
  EXPECT_EQ(tracker.NextDelay(milliseconds(5)), milliseconds(200));
  EXPECT_EQ(tracker.NextDelay(milliseconds(5)), milliseconds(400));
  EXPECT_EQ(tracker.NextDelay(milliseconds(5)), milliseconds(800));
  EXPECT_EQ(tracker.NextDelay(milliseconds(5)), milliseconds(1000));
  EXPECT_EQ(tracker.NextDelay(milliseconds(5)), milliseconds(1000));
}

TEST(RestartTrackerTest, LongRunResetsBackoff) {
  RestartTracker tracker(
      {.initial = milliseconds(100), .max = milliseconds(1000), .factor = 3.0},
      {});
  EXPECT_EQ(tracker.NextDelay(milliseconds(5)), milliseconds(100));
  EXPECT_EQ(tracker.NextDelay(milliseconds(5)), milliseconds(300));
  EXPECT_EQ(tracker.NextDelay(milliseconds(1000)), milliseconds(100));
}

TEST(ShouldRestartTest, FollowsPolicy) {
  using config::RestartPolicy;
  EXPECT_TRUE(ShouldRestart(RestartPolicy::kAlways, true));
  EXPECT_TRUE(ShouldRestart(RestartPolicy::kAlways, false));
  EXPECT_FALSE(ShouldRestart(RestartPolicy::kOnFailure, true));
  EXPECT_TRUE(ShouldRestart(RestartPolicy::kOnFailure, false));
  EXPECT_FALSE(ShouldRestart(RestartPolicy::kNever, false));
}

}  // namespace
}  // namespace vigil
