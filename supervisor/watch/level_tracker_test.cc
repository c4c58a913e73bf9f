#include "supervisor/watch/level_tracker.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vigil::watch {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

Crossing Up(int64_t level) { return {level, Direction::kUp}; }
Crossing Down(int64_t level) { return {level, Direction::kDown}; }

LevelTracker MakeTracker(std::vector<int64_t> levels, int64_t hysteresis) {
  absl::StatusOr<LevelTracker> tracker =
      LevelTracker::Create(std::move(levels), hysteresis);
  EXPECT_TRUE(tracker.ok()) << tracker.status();
  return *std::move(tracker);
}

TEST(LevelTrackerTest, FiresUpAndDownExactlyOnceEach) {
  LevelTracker tracker = MakeTracker({100}, 0);
  EXPECT_THAT(tracker.Update(50), IsEmpty());
  EXPECT_THAT(tracker.Update(100), ElementsAre(Up(100)));
  EXPECT_THAT(tracker.Update(150), IsEmpty());
  EXPECT_THAT(tracker.Update(100), IsEmpty());
  EXPECT_THAT(tracker.Update(99), ElementsAre(Down(100)));
  EXPECT_THAT(tracker.Update(10), IsEmpty());
  EXPECT_THAT(tracker.Update(200), ElementsAre(Up(100)));
}

TEST(LevelTrackerTest, DownwardCrossingWaitsForHysteresis) {
  LevelTracker tracker = MakeTracker({100}, 10);
  EXPECT_THAT(tracker.Update(100), ElementsAre(Up(100)));
  EXPECT_THAT(tracker.Update(95), IsEmpty());
  EXPECT_THAT(tracker.Update(90), IsEmpty());  // 90 is not < 100 - 10
  EXPECT_TRUE(tracker.IsAbove(100));
  EXPECT_THAT(tracker.Update(89), ElementsAre(Down(100)));
  EXPECT_FALSE(tracker.IsAbove(100));
}

TEST(LevelTrackerTest, UpwardCrossingIgnoresHysteresis) {
  LevelTracker tracker = MakeTracker({100}, 10);
  EXPECT_THAT(tracker.Update(99), IsEmpty());
  EXPECT_THAT(tracker.Update(100), ElementsAre(Up(100)));
}

TEST(LevelTrackerTest, OscillationInsideTheBandFiresNothing) {
  LevelTracker tracker = MakeTracker({1000}, 50);
  EXPECT_THAT(tracker.Update(1001), ElementsAre(Up(1000)));
  for (int i = 0; i < 100; ++i) {
    EXPECT_THAT(tracker.Update(i % 2 ? 999 : 1000), IsEmpty());
    EXPECT_THAT(tracker.Update(960), IsEmpty());
  }
  EXPECT_THAT(tracker.Update(949), ElementsAre(Down(1000)));
  for (int i = 0; i < 100; ++i) {
    EXPECT_THAT(tracker.Update(990 - i % 3), IsEmpty());
  }
}

TEST(LevelTrackerTest, JumpOverSeveralLevelsFiresEachInOrder) {
  LevelTracker tracker = MakeTracker({300, 100, 200, 400}, 5);
  EXPECT_THAT(tracker.Update(350), ElementsAre(Up(100), Up(200), Up(300)));
  EXPECT_THAT(tracker.Update(1000), ElementsAre(Up(400)));
  EXPECT_THAT(tracker.Update(0),
              ElementsAre(Down(400), Down(300), Down(200), Down(100)));
}

TEST(LevelTrackerTest, JumpDownRespectsEachLevelsBand) {
  LevelTracker tracker = MakeTracker({100, 200}, 20);
  EXPECT_THAT(tracker.Update(250), ElementsAre(Up(100), Up(200)));
  // 90 is below 200 - 20 but inside 100's band [80, 100).
  EXPECT_THAT(tracker.Update(90), ElementsAre(Down(200)));
  EXPECT_TRUE(tracker.IsAbove(100));
  EXPECT_THAT(tracker.Update(79), ElementsAre(Down(100)));
}

TEST(LevelTrackerTest, FirstReadingAboveALevelReportsTheCrossing) {
  LevelTracker tracker = MakeTracker({10, 20}, 0);
  EXPECT_THAT(tracker.Update(15), ElementsAre(Up(10)));
}

TEST(LevelTrackerTest, DuplicateLevelsFireOnce) {
  LevelTracker tracker = MakeTracker({10, 10}, 0);
  EXPECT_THAT(tracker.Update(10), ElementsAre(Up(10)));
}

TEST(LevelTrackerTest, RejectsLevelsThatCouldNeverFire) {
  EXPECT_EQ(LevelTracker::Create({10}, -1).status().message(),
            "hysteresis must be >= 0, got -1");
  EXPECT_EQ(LevelTracker::Create({0}, 0).status().message(),
            "levels must be > 0, got 0");
  EXPECT_EQ(LevelTracker::Create({100, 10}, 10).status().message(),
            "hysteresis 10 must be below every level, but level 10 could then "
            "never be crossed downward");
}

}  // namespace
}  // namespace vigil::watch
