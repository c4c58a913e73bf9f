#include "supervisor/unit_usage.h"

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "gtest/gtest.h"
#include "supervisor/watch/test_cgroup.h"

namespace vigil {
namespace {

constexpr int64_t kMiB = 1 << 20;

void* Sleep(void*) {
  for (;;) pause();
}

// Runs in the cgroup: 48 MiB resident and 3 extra threads, then says so.
void HoldMemoryAndThreads(int ready_fd) {
  char* memory = static_cast<char*>(malloc(48 * kMiB));
  memset(memory, 1, 48 * kMiB);
  for (int i = 0; i < 3; ++i) {
    pthread_t thread;
    pthread_create(&thread, nullptr, Sleep, nullptr);
  }
  (void)!write(ready_fd, "r", 1);
  Sleep(nullptr);
}

class UnitUsageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cgroup = watch::TestCgroup::Create("unit-usage");
    if (!cgroup.ok()) GTEST_SKIP() << "needs a writable cgroup2 mount: " << cgroup.status();
    cgroup_ = *std::move(cgroup);
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    auto holder = cgroup_->Spawn([&] { HoldMemoryAndThreads(ready[1]); });
    ASSERT_TRUE(holder.ok()) << holder.status();
    holder_ = *holder;
    auto idle = cgroup_->Spawn([] { Sleep(nullptr); });
    ASSERT_TRUE(idle.ok()) << idle.status();
    char byte;
    ASSERT_EQ(read(ready[0], &byte, 1), 1);
    close(ready[0]);
    close(ready[1]);
  }

  std::unique_ptr<watch::TestCgroup> cgroup_;
  pid_t holder_ = 0;
};

TEST_F(UnitUsageTest, ProcessFallbackSumsEveryProcessInTheCgroup) {
  WatchFeatures hybrid;  // no memory, no pids controller
  UnitUsage usage(cgroup_->path(), holder_, hybrid, {.memory = true, .tasks = true});
  auto figures = usage.Read();
  ASSERT_TRUE(figures.ok()) << figures.status();
  ASSERT_TRUE(figures->memory_bytes && figures->tasks);
  EXPECT_GE(*figures->memory_bytes, 48 * kMiB);
  EXPECT_LT(*figures->memory_bytes, 64 * kMiB);
  EXPECT_EQ(*figures->tasks, 4 + 1);  // holder with 3 threads, and the idle one
  EXPECT_FALSE(figures->open_fds);
  EXPECT_STREQ(usage.memory_source_name(), "VmRSS");
  EXPECT_STREQ(usage.tasks_source_name(), "Threads");
}

TEST_F(UnitUsageTest, AttachedProcessCountsOnlyItself) {
  WatchFeatures attached{.process_in_unit_cgroup = false};
  UnitUsage usage(cgroup_->path(), holder_, attached,
                  {.memory = true, .tasks = true, .open_fds = true});
  auto figures = usage.Read();
  ASSERT_TRUE(figures.ok()) << figures.status();
  EXPECT_EQ(*figures->tasks, 4);
  EXPECT_GE(*figures->open_fds, 1);
}

TEST_F(UnitUsageTest, CgroupV2FilesWhereTheControllersExist) {
  if (!cgroup_->HasFile("memory.current") || !cgroup_->HasFile("pids.current")) {
    GTEST_SKIP() << "needs the cgroup v2 memory and pids controllers (hybrid host)";
  }
  WatchFeatures v2{.memory_controller = true, .pids_controller = true};
  UnitUsage usage(cgroup_->path(), holder_, v2, {.memory = true, .tasks = true});
  auto figures = usage.Read();
  ASSERT_TRUE(figures.ok()) << figures.status();
  EXPECT_GE(*figures->memory_bytes, 48 * kMiB);
  EXPECT_EQ(*figures->tasks, 5);
  EXPECT_STREQ(usage.memory_source_name(), "memory.current");
  EXPECT_STREQ(usage.tasks_source_name(), "pids.current");
}

TEST_F(UnitUsageTest, OnlyWantedFiguresAreRead) {
  UnitUsage usage(cgroup_->path(), holder_, WatchFeatures{}, {.tasks = true});
  auto figures = usage.Read();
  ASSERT_TRUE(figures.ok());
  EXPECT_FALSE(figures->memory_bytes);
  EXPECT_TRUE(figures->tasks);
}

}  // namespace
}  // namespace vigil
