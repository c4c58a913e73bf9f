#include "supervisor/watch/flat_keyed.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vigil::watch {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Verbatim shapes of the kernel's files (6.x).
constexpr char kMemoryEventsBefore[] =
    "low 0\nhigh 12\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n";
constexpr char kMemoryEventsAfter[] =
    "low 0\nhigh 15\nmax 2\noom 1\noom_kill 1\noom_group_kill 0\n";

FlatKeyed Parse(absl::string_view text) {
  absl::StatusOr<FlatKeyed> parsed = ParseFlatKeyed(text, "memory.events");
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return parsed.ok() ? *parsed : FlatKeyed{};
}

TEST(FlatKeyedTest, ParsesEntriesInFileOrder) {
  EXPECT_THAT(Parse(kMemoryEventsBefore),
              ElementsAre(FlatKeyedEntry{"low", 0}, FlatKeyedEntry{"high", 12},
                          FlatKeyedEntry{"max", 0}, FlatKeyedEntry{"oom", 0},
                          FlatKeyedEntry{"oom_kill", 0},
                          FlatKeyedEntry{"oom_group_kill", 0}));
  EXPECT_EQ(FindKey(Parse("populated 1\nfrozen 0\n"), "populated"), 1);
  EXPECT_EQ(FindKey(Parse("max 7\n"), "oom"), std::nullopt);
}

TEST(FlatKeyedTest, MalformedLinesNameTheFileAndLine) {
  EXPECT_EQ(ParseFlatKeyed("max 1\nhigh\n", "pids.events").status().message(),
            "pids.events line 2: expected \"key number\", got \"high\"");
  EXPECT_EQ(ParseFlatKeyed("max one\n", "pids.events").status().message(),
            "pids.events line 1: expected \"key number\", got \"max one\"");
}

TEST(CounterDeltaTest, FirstReadingIsTheBaseline) {
  CounterDelta delta;
  EXPECT_THAT(delta.Update(Parse(kMemoryEventsBefore)), IsEmpty());
  EXPECT_THAT(delta.Update(Parse(kMemoryEventsBefore)), IsEmpty());
}

TEST(CounterDeltaTest, YieldsIncrementsPerKeyInFileOrder) {
  CounterDelta delta;
  delta.Update(Parse(kMemoryEventsBefore));
  EXPECT_THAT(delta.Update(Parse(kMemoryEventsAfter)),
              ElementsAre(CounterIncrement{"high", 3, 15},
                          CounterIncrement{"max", 2, 2},
                          CounterIncrement{"oom", 1, 1},
                          CounterIncrement{"oom_kill", 1, 1}));
  EXPECT_THAT(delta.Update(Parse(kMemoryEventsAfter)), IsEmpty());
}

TEST(CounterDeltaTest, PidsEventsMax) {
  CounterDelta delta;
  delta.Update(Parse("max 0\n"));
  EXPECT_THAT(delta.Update(Parse("max 4\n")),
              ElementsAre(CounterIncrement{"max", 4, 4}));
}

TEST(CounterDeltaTest, NewKeyAfterBaselineCountsFromZero) {
  CounterDelta delta;
  delta.Update(Parse("max 0\n"));
  EXPECT_THAT(delta.Update(Parse("max 0\nmax.imposed 2\n")),
              ElementsAre(CounterIncrement{"max.imposed", 2, 2}));
}

TEST(CounterDeltaTest, CounterGoingBackwardsIsARecreatedCgroup) {
  CounterDelta delta;
  delta.Update(Parse("max 9\n"));
  EXPECT_THAT(delta.Update(Parse("max 2\n")),
              ElementsAre(CounterIncrement{"max", 2, 2}));
}

}  // namespace
}  // namespace vigil::watch
