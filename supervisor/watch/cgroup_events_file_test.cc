#include "supervisor/watch/cgroup_events_file.h"

#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "gtest/gtest.h"
#include "supervisor/watch/test_cgroup.h"

namespace vigil::watch {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr int kWakeTimeoutMs = 10000;

// The poll bits the fd reports within `timeout_ms` (0 if none).
short PollPri(int fd, int timeout_ms) {
  pollfd pfd{fd, CgroupEventsFile::kPollEvents, 0};
  return poll(&pfd, 1, timeout_ms) == 1 ? pfd.revents : 0;
}

std::unique_ptr<TestCgroup> MakeCgroup(const char* purpose) {
  absl::StatusOr<std::unique_ptr<TestCgroup>> cgroup =
      TestCgroup::Create(purpose);
  if (!cgroup.ok()) return nullptr;
  return *std::move(cgroup);
}

#define SKIP_WITHOUT_CGROUP2(cgroup) \
  if (!(cgroup)) GTEST_SKIP() << "needs a writable cgroup v2 hierarchy"

#define SKIP_WITHOUT_FILE(cgroup, name, controller)                       \
  if (!(cgroup)->HasFile(name))                                           \
  GTEST_SKIP() << "needs the cgroup v2 " controller                       \
                  " controller (hybrid host): " << (cgroup)->File(name) \
               << " does not exist"

int64_t Populated(const CgroupEventsFile& file) {
  absl::StatusOr<FlatKeyed> keys = file.Read();
  EXPECT_TRUE(keys.ok()) << keys.status();
  return keys.ok() ? FindKey(*keys, "populated").value_or(-1) : -1;
}

void SleepForever() {
  for (;;) pause();
}

TEST(CgroupEventsFileTest, PopulatedZeroOneZeroWakesPoll) {
  std::unique_ptr<TestCgroup> cgroup = MakeCgroup("populated");
  SKIP_WITHOUT_CGROUP2(cgroup);
  absl::StatusOr<CgroupEventsFile> events =
      CgroupEventsFile::Open(cgroup->File("cgroup.events"));
  ASSERT_TRUE(events.ok()) << events.status();
  EXPECT_EQ(Populated(*events), 0);
  EXPECT_EQ(PollPri(events->fd(), 0), 0) << "ready without any change";

  ASSERT_TRUE(cgroup->Spawn(SleepForever).ok());
  EXPECT_EQ(PollPri(events->fd(), kWakeTimeoutMs), POLLPRI | POLLERR);
  EXPECT_EQ(Populated(*events), 1);
  EXPECT_EQ(PollPri(events->fd(), 0), 0) << "Read() did not re-arm";

  cgroup->KillAll();
  EXPECT_EQ(PollPri(events->fd(), kWakeTimeoutMs), POLLPRI | POLLERR);
  EXPECT_EQ(Populated(*events), 0);
}

TEST(CgroupEventsFileTest, RemovedCgroupStaysReadyAndReadSaysWhy) {
  std::unique_ptr<TestCgroup> cgroup = MakeCgroup("removed");
  SKIP_WITHOUT_CGROUP2(cgroup);
  absl::StatusOr<CgroupEventsFile> events =
      CgroupEventsFile::Open(cgroup->File("cgroup.events"));
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(Populated(*events), 0);
  const std::string path = events->path();
  cgroup.reset();

  EXPECT_NE(PollPri(events->fd(), kWakeTimeoutMs) & POLLERR, 0);
  absl::StatusOr<FlatKeyed> keys = events->Read();
  EXPECT_EQ(keys.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(keys.status().message(),
            "read " + path + ": the cgroup was removed; close this watch");
}

TEST(CgroupEventsFileTest, MissingFileSaysWhatMayBeWrong) {
  absl::StatusOr<CgroupEventsFile> events =
      CgroupEventsFile::Open("/sys/fs/cgroup/no-such-vigil-cgroup/pids.events");
  EXPECT_EQ(events.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(events.status().message(),
            "open /sys/fs/cgroup/no-such-vigil-cgroup/pids.events: No such "
            "file or directory (no such cgroup, or its controller is not "
            "enabled in the parent's cgroup.subtree_control)");
}

// Polls and reads `file` until `key` has grown past `delta`'s last reading or
// the timeout passes; returns the summed increments of `key`.
int64_t AwaitIncrement(const CgroupEventsFile& file, CounterDelta& delta,
                       const std::string& key) {
  int64_t total = 0;
  const auto deadline = steady_clock::now() + milliseconds(kWakeTimeoutMs);
  while (total == 0 && steady_clock::now() < deadline) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline -
                                                         steady_clock::now());
    if ((PollPri(file.fd(), left.count()) & POLLPRI) == 0) break;
    absl::StatusOr<FlatKeyed> reading = file.Read();
    if (!reading.ok()) {
      ADD_FAILURE() << reading.status();
      break;
    }
    for (const CounterIncrement& increment : delta.Update(*reading)) {
      if (increment.key == key) total += increment.increment;
    }
  }
  return total;
}

// A process that touches `bytes` of anonymous memory, then sleeps.
std::function<void()> Allocator(size_t bytes) {
  return [bytes] {
    char* memory = static_cast<char*>(malloc(bytes));
    for (size_t i = 0; i < bytes; i += 4096) memory[i] = 1;
    SleepForever();
  };
}

CgroupEventsFile OpenWithBaseline(const std::string& path,
                                  CounterDelta& delta) {
  absl::StatusOr<CgroupEventsFile> file = CgroupEventsFile::Open(path);
  EXPECT_TRUE(file.ok()) << file.status();
  absl::StatusOr<FlatKeyed> baseline = file->Read();
  EXPECT_TRUE(baseline.ok()) << baseline.status();
  delta.Update(*baseline);
  return *std::move(file);
}

void NoSwap(const TestCgroup& cgroup) {
  if (cgroup.HasFile("memory.swap.max")) {
    ASSERT_TRUE(cgroup.Write("memory.swap.max", "0").ok());
  }
}

TEST(CgroupEventsFileTest, AllocationPastMemoryHighCountsHigh) {
  std::unique_ptr<TestCgroup> cgroup = MakeCgroup("memhigh");
  SKIP_WITHOUT_CGROUP2(cgroup);
  SKIP_WITHOUT_FILE(cgroup, "memory.events", "memory");
  NoSwap(*cgroup);
  ASSERT_TRUE(cgroup->Write("memory.high", "16M").ok());
  CounterDelta delta;
  CgroupEventsFile events =
      OpenWithBaseline(cgroup->File("memory.events"), delta);

  ASSERT_TRUE(cgroup->Spawn(Allocator(64 << 20)).ok());
  EXPECT_GE(AwaitIncrement(events, delta, "high"), 1);
}

TEST(CgroupEventsFileTest, AllocationPastMemoryMaxCountsOomKill) {
  std::unique_ptr<TestCgroup> cgroup = MakeCgroup("memmax");
  SKIP_WITHOUT_CGROUP2(cgroup);
  SKIP_WITHOUT_FILE(cgroup, "memory.events", "memory");
  NoSwap(*cgroup);
  ASSERT_TRUE(cgroup->Write("memory.max", "16M").ok());
  CounterDelta delta;
  CgroupEventsFile events =
      OpenWithBaseline(cgroup->File("memory.events"), delta);

  ASSERT_TRUE(cgroup->Spawn(Allocator(64 << 20)).ok());
  EXPECT_GE(AwaitIncrement(events, delta, "oom_kill"), 1);
}

TEST(CgroupEventsFileTest, ForkBombStoppedByPidsMaxCountsMax) {
  std::unique_ptr<TestCgroup> cgroup = MakeCgroup("pidsmax");
  SKIP_WITHOUT_CGROUP2(cgroup);
  SKIP_WITHOUT_FILE(cgroup, "pids.events", "pids");
  ASSERT_TRUE(cgroup->Write("pids.max", "4").ok());
  CounterDelta delta;
  CgroupEventsFile events = OpenWithBaseline(cgroup->File("pids.events"), delta);

  ASSERT_TRUE(cgroup
                  ->Spawn([] {
                    for (int i = 0; i < 16; ++i) {
                      if (fork() == 0) SleepForever();
                    }
                    SleepForever();
                  })
                  .ok());
  EXPECT_GE(AwaitIncrement(events, delta, "max"), 1);
}

}  // namespace
}  // namespace vigil::watch
