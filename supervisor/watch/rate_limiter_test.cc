#include "supervisor/watch/rate_limiter.h"

#include "gtest/gtest.h"

namespace vigil::watch {
namespace {

using std::chrono::seconds;
using TimePoint = std::chrono::steady_clock::time_point;

// A clock the test moves by hand.
struct FakeClock {
  TimePoint now{seconds(1000)};
  SteadyClock AsFunction() {
    return [this] { return now; };
  }
};

RateLimiter MakeLimiter(int max, seconds interval, FakeClock& clock) {
  absl::StatusOr<RateLimiter> limiter =
      RateLimiter::Create(max, interval, clock.AsFunction());
  EXPECT_TRUE(limiter.ok()) << limiter.status();
  return *std::move(limiter);
}

TEST(RateLimiterTest, OncePerIntervalSuppressesAndCountsTheRest) {
  FakeClock clock;
  RateLimiter limiter = MakeLimiter(1, seconds(60), clock);
  EXPECT_TRUE(limiter.Admit().admitted);
  for (int i = 0; i < 3; ++i) {
    clock.now += seconds(10);
    EXPECT_FALSE(limiter.Admit().admitted);
  }
  EXPECT_EQ(limiter.suppressed(), 3u);
  clock.now += seconds(29);  // 59 s after the admitted event
  EXPECT_FALSE(limiter.Admit().admitted);
  clock.now += seconds(1);
  Admission next = limiter.Admit();
  EXPECT_TRUE(next.admitted);
  EXPECT_EQ(next.suppressed_before, 4u);
  EXPECT_EQ(SuppressedNote(next.suppressed_before), " (4 suppressed)");
  EXPECT_EQ(limiter.suppressed(), 0u);
}

TEST(RateLimiterTest, NeverMoreThanNInAnyInterval) {
  // Events every second for 10 minutes against "3 per 60 s": every window
  // of 60 s must hold at most 3 admitted events, and the limiter must not
  // be stricter than that either (3 admitted per 60 s overall).
  FakeClock clock;
  RateLimiter limiter = MakeLimiter(3, seconds(60), clock);
  std::vector<TimePoint> admitted;
  for (int i = 0; i < 600; ++i) {
    if (limiter.Admit().admitted) admitted.push_back(clock.now);
    clock.now += seconds(1);
  }
  for (size_t i = 3; i < admitted.size(); ++i) {
    EXPECT_GE(admitted[i] - admitted[i - 3], seconds(60)) << i;
  }
  EXPECT_EQ(admitted.size(), 30u);
}

TEST(RateLimiterTest, BurstAcrossWhatWouldBeAFixedWindowBoundary) {
  FakeClock clock;
  RateLimiter limiter = MakeLimiter(1, seconds(60), clock);
  clock.now += seconds(59);
  EXPECT_TRUE(limiter.Admit().admitted);
  clock.now += seconds(2);  // a fixed window would have reset here
  EXPECT_FALSE(limiter.Admit().admitted);
}

TEST(RateLimiterTest, SuppressedNoteIsEmptyWhenNothingWasSuppressed) {
  FakeClock clock;
  RateLimiter limiter = MakeLimiter(2, seconds(1), clock);
  Admission first = limiter.Admit();
  EXPECT_TRUE(first.admitted);
  EXPECT_EQ(SuppressedNote(first.suppressed_before), "");
}

TEST(RateLimiterTest, RejectsLimitsThatAdmitNothing) {
  EXPECT_EQ(RateLimiter::Create(0, seconds(1)).status().message(),
            "a rate limit must allow at least 1 event, got 0");
  EXPECT_EQ(RateLimiter::Create(1, seconds(0)).status().message(),
            "a rate limit's interval must be longer than 0");
}

}  // namespace
}  // namespace vigil::watch
