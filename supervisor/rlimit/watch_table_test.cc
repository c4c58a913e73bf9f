#include "supervisor/rlimit/watch_table.h"

#include <algorithm>
#include <random>

#include "gtest/gtest.h"

namespace vigil::rlimit {
namespace {

rle_watch W(pid_t pid, uint32_t resource, int64_t level, int64_t hysteresis = 0) {
  rle_watch w{};
  w.pid = pid;
  w.resource = resource;
  w.level = level;
  w.hysteresis = hysteresis;
  return w;
}

struct Seen {
  ConnectionId connection;
  uint32_t type;
  pid_t pid;
  int32_t direction;
  int64_t level;
  bool operator==(const Seen&) const = default;
};

std::vector<Seen> Summary(const std::vector<Notice>& notices) {
  std::vector<Seen> out;
  for (const Notice& n : notices) {
    out.push_back({n.connection, n.event.type, n.event.pid, n.event.direction, n.event.level});
  }
  return out;
}

TEST(WatchTableTest, OneEventPerCrossingPerDirection) {
  WatchTable table(100);
  ASSERT_TRUE(table.Add(1, W(10, RLE_RES_NOFILE, 5)).ok());
  EXPECT_TRUE(table.Update(10, RLE_RES_NOFILE, 3, 0).empty());
  auto up = table.Update(10, RLE_RES_NOFILE, 5, 0);
  EXPECT_EQ(Summary(up), (std::vector<Seen>{{1, RLE_EV_CROSSING, 10, RLE_DIR_UP, 5}}));
  EXPECT_EQ(up[0].event.value, 5);
  EXPECT_TRUE(table.Update(10, RLE_RES_NOFILE, 9, 0).empty());
  EXPECT_EQ(Summary(table.Update(10, RLE_RES_NOFILE, 4, 0)),
            (std::vector<Seen>{{1, RLE_EV_CROSSING, 10, RLE_DIR_DOWN, 5}}));
  EXPECT_TRUE(table.Update(10, RLE_RES_NOFILE, 1, 0).empty());
}

TEST(WatchTableTest, HysteresisDelaysTheDownwardCrossing) {
  WatchTable table(100);
  ASSERT_TRUE(table.Add(1, W(10, RLE_RES_RSS, 100, 10)).ok());
  EXPECT_EQ(table.Update(10, RLE_RES_RSS, 100, 0).size(), 1u);
  EXPECT_TRUE(table.Update(10, RLE_RES_RSS, 90, 0).empty());
  EXPECT_EQ(table.Update(10, RLE_RES_RSS, 89, 0).size(), 1u);
}

TEST(WatchTableTest, ManyWatchersManyProcessesEachGetTheirOwn) {
  WatchTable table(100);
  for (ConnectionId c : {1, 2, 3}) {
    for (pid_t p : {10, 20}) ASSERT_TRUE(table.Add(c, W(p, RLE_RES_TASKS, 2 * c)).ok());
  }
  // pid 10 to 4 tasks: connections 1 (level 2) and 2 (level 4), not 3 (6).
  EXPECT_EQ(Summary(table.Update(10, RLE_RES_TASKS, 4, 0)),
            (std::vector<Seen>{{1, RLE_EV_CROSSING, 10, RLE_DIR_UP, 2},
                               {2, RLE_EV_CROSSING, 10, RLE_DIR_UP, 4}}));
  EXPECT_TRUE(table.Update(20, RLE_RES_NOFILE, 100, 0).empty());  // not watched
  // Down past every level: descending order.
  EXPECT_EQ(Summary(table.Update(10, RLE_RES_TASKS, 1, 0)),
            (std::vector<Seen>{{2, RLE_EV_CROSSING, 10, RLE_DIR_DOWN, 4},
                               {1, RLE_EV_CROSSING, 10, RLE_DIR_DOWN, 2}}));
}

TEST(WatchTableTest, ExitEndsEveryWatchWithOneExitPerConnection) {
  WatchTable table(100);
  ASSERT_TRUE(table.Add(1, W(10, RLE_RES_NOFILE, 5)).ok());
  ASSERT_TRUE(table.Add(1, W(10, RLE_RES_RSS, 5)).ok());
  ASSERT_TRUE(table.Add(2, W(10, RLE_RES_NOFILE, 5)).ok());
  ASSERT_TRUE(table.Add(2, W(20, RLE_RES_NOFILE, 5)).ok());
  auto exits = Summary(table.RemoveProcess(10, 0));
  ASSERT_EQ(exits.size(), 2u);
  for (const Seen& s : exits) EXPECT_EQ(s.type, RLE_EV_EXIT);
  EXPECT_FALSE(table.HasProcess(10));
  EXPECT_EQ(table.WatchCount(1), 0u);
  EXPECT_EQ(table.WatchCount(2), 1u);
  // The same watch can be added again (a new process under the pid).
  EXPECT_TRUE(table.Add(1, W(10, RLE_RES_NOFILE, 5)).ok());
}

TEST(WatchTableTest, ClosingConnectionDropsOnlyItsWatches) {
  WatchTable table(100);
  ASSERT_TRUE(table.Add(1, W(10, RLE_RES_NOFILE, 5)).ok());
  ASSERT_TRUE(table.Add(1, W(20, RLE_RES_NOFILE, 5)).ok());
  ASSERT_TRUE(table.Add(2, W(20, RLE_RES_NOFILE, 7)).ok());
  std::vector<pid_t> touched = table.RemoveConnection(1);
  std::sort(touched.begin(), touched.end());
  EXPECT_EQ(touched, (std::vector<pid_t>{10, 20}));
  EXPECT_FALSE(table.HasProcess(10));
  EXPECT_TRUE(table.HasProcess(20));
  EXPECT_EQ(table.Levels(20, RLE_RES_NOFILE), (std::vector<int64_t>{7}));
  EXPECT_EQ(Summary(table.Update(20, RLE_RES_NOFILE, 7, 0)),
            (std::vector<Seen>{{2, RLE_EV_CROSSING, 20, RLE_DIR_UP, 7}}));
}

TEST(WatchTableTest, RefusesBadAndDuplicateWatchesAndEnforcesTheCap) {
  WatchTable table(2);
  EXPECT_EQ(table.Add(1, W(10, RLE_RES_NOFILE, -3)).message(), "levels must be > 0, got -3");
  EXPECT_EQ(table.Add(1, W(10, RLE_RES_NOFILE, 0)).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(table.Add(1, W(10, RLE_RES_NOFILE, 5, 5)).code(),
            absl::StatusCode::kInvalidArgument);
  rle_watch flagged = W(10, RLE_RES_NOFILE, 5);
  flagged.flags = 1;
  EXPECT_EQ(table.Add(1, flagged).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(table.Add(1, W(10, RLE_RES_NOFILE, 5)).ok());
  EXPECT_EQ(table.Add(1, W(10, RLE_RES_NOFILE, 5)).code(), absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(table.Add(1, W(10, RLE_RES_NOFILE, 6)).ok());
  absl::Status capped = table.Add(1, W(10, RLE_RES_NOFILE, 7));
  EXPECT_EQ(capped.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(capped.message(),
            "this connection has reached its cap of 2 watches "
            "(rlimit_events.max_watches in vigil.yaml); remove some first");
  EXPECT_TRUE(table.Add(2, W(10, RLE_RES_NOFILE, 7)).ok());  // per connection
  bool last = true;
  EXPECT_EQ(table.Remove(1, W(10, RLE_RES_NOFILE, 99), &last).code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(table.Remove(1, W(10, RLE_RES_NOFILE, 5), &last).ok());
  EXPECT_FALSE(last);
  EXPECT_TRUE(table.Add(1, W(10, RLE_RES_NOFILE, 7)).ok());
}

TEST(WatchTableTest, LowestLevelBelowAndAnyAbove) {
  WatchTable table(10);
  ASSERT_TRUE(table.Add(1, W(10, RLE_RES_CPU, 300)).ok());
  ASSERT_TRUE(table.Add(2, W(10, RLE_RES_CPU, 100)).ok());
  EXPECT_EQ(table.LowestLevelBelow(10, RLE_RES_CPU), 100);
  table.Update(10, RLE_RES_CPU, 150, 0);
  EXPECT_EQ(table.LowestLevelBelow(10, RLE_RES_CPU), 300);
  EXPECT_TRUE(table.AnyAbove(10, RLE_RES_CPU));
  table.Update(10, RLE_RES_CPU, 400, 0);
  EXPECT_EQ(table.LowestLevelBelow(10, RLE_RES_CPU), std::nullopt);
  EXPECT_FALSE(table.AnyAbove(10, RLE_RES_MAZE));
}

TEST(WatchTableTest, CrossingPointsAreEachLevelAndLevelMinusHysteresis) {
  WatchTable table(100);
  ASSERT_TRUE(table.Add(1, W(10, RLE_RES_NOFILE, 20, 5)).ok());
  ASSERT_TRUE(table.Add(2, W(10, RLE_RES_NOFILE, 20)).ok());
  ASSERT_TRUE(table.Add(2, W(10, RLE_RES_NOFILE, 15)).ok());
  ASSERT_TRUE(table.Add(2, W(10, RLE_RES_RSS, 99)).ok());
  EXPECT_EQ(table.CrossingPoints(10, RLE_RES_NOFILE), (std::vector<int64_t>{15, 20}));
  ASSERT_TRUE(table.Add(3, W(10, RLE_RES_NOFILE, 30, 29)).ok());
  EXPECT_EQ(table.CrossingPoints(10, RLE_RES_NOFILE), (std::vector<int64_t>{1, 15, 20, 30}));
  EXPECT_TRUE(table.CrossingPoints(11, RLE_RES_NOFILE).empty());
}

// What the kernel module does: it reports a value only when the change from
// the previous value passes one of the points (the RFC's rule: a point in
// (old, new] going up, in (new, old] going down). Fed only those values, the
// watches must send exactly what they send when fed every value.
TEST(WatchTableTest, ValuesAtCrossingPointsAloneGiveEveryNotice) {
  std::vector<rle_watch> watches = {W(10, RLE_RES_NOFILE, 12), W(10, RLE_RES_NOFILE, 20, 6),
                                    W(10, RLE_RES_NOFILE, 13, 12), W(10, RLE_RES_NOFILE, 40, 1)};
  WatchTable every(100), exact(100);
  for (size_t i = 0; i < watches.size(); ++i) {
    ASSERT_TRUE(every.Add(i + 1, watches[i]).ok());
    ASSERT_TRUE(exact.Add(i + 1, watches[i]).ok());
  }
  const std::vector<int64_t> points = exact.CrossingPoints(10, RLE_RES_NOFILE);
  auto passes = [&](int64_t from, int64_t to) {
    for (int64_t p : points) {
      if ((from < p && p <= to) || (to < p && p <= from)) return true;
    }
    return false;
  };
  std::mt19937 random(7);
  std::uniform_int_distribution<int> step(-4, 4);
  int64_t value = 3, sent = 0;
  std::vector<Seen> from_every, from_exact;
  every.Update(10, RLE_RES_NOFILE, value, 0);
  exact.Update(10, RLE_RES_NOFILE, value, 0);
  for (int i = 0; i < 20000; ++i) {
    int64_t next = std::clamp<int64_t>(value + step(random), 0, 50);
    for (const Seen& s : Summary(every.Update(10, RLE_RES_NOFILE, next, 0))) {
      from_every.push_back(s);
    }
    if (passes(value, next)) {
      ++sent;
      for (const Seen& s : Summary(exact.Update(10, RLE_RES_NOFILE, next, 0))) {
        from_exact.push_back(s);
      }
    }
    value = next;
  }
  EXPECT_GT(from_every.size(), 1000u);
  EXPECT_LT(sent, 20000);
  EXPECT_EQ(from_exact, from_every);
}

}  // namespace
}  // namespace vigil::rlimit
