#include "supervisor/watch/process_usage.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <memory>

#include "gtest/gtest.h"
#include "supervisor/watch/test_cgroup.h"

namespace vigil::watch {
namespace {

constexpr int64_t kMiB = 1 << 20;

void* SleepingThread(void*) {
  for (;;) pause();
}

// A child process that holds 64 MiB resident, 3 extra threads, 2 children
// and 40 extra fds, then tells the parent it is ready.
class BusyChild {
 public:
  BusyChild() {
    int ready[2];
    EXPECT_EQ(pipe(ready), 0);
    pid_ = fork();
    if (pid_ == 0) {
      setpgid(0, 0);  // so that the destructor can kill the grandchildren
      close(ready[0]);
      char* memory = static_cast<char*>(malloc(64 * kMiB));
      memset(memory, 1, 64 * kMiB);
      for (int i = 0; i < 3; ++i) {
        pthread_t thread;
        pthread_create(&thread, nullptr, SleepingThread, nullptr);
      }
      for (int i = 0; i < 2; ++i) {
        if (fork() == 0) SleepingThread(nullptr);
      }
      for (int i = 0; i < 40; ++i) open("/dev/null", O_RDONLY);
      (void)!write(ready[1], "r", 1);
      SleepingThread(nullptr);
    }
    close(ready[1]);
    char byte;
    EXPECT_EQ(read(ready[0], &byte, 1), 1);
    close(ready[0]);
  }
  ~BusyChild() {
    kill(-pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_;
};

pid_t ReapedPid() {
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  waitpid(pid, nullptr, 0);
  return pid;
}

int64_t ListedFds(pid_t pid) {
  int64_t count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(
           "/proc/" + std::to_string(pid) + "/fd")) {
    (void)entry;
    ++count;
  }
  return count;
}

TEST(ProcessUsageTest, ReadsMemoryThreadsChildrenAndFdsOfARealProcess) {
  BusyChild child;
  absl::StatusOr<ProcessUsageReader> reader =
      ProcessUsageReader::Open(child.pid());
  ASSERT_TRUE(reader.ok()) << reader.status();
  absl::StatusOr<ProcessUsage> usage = reader->Read();
  ASSERT_TRUE(usage.ok()) << usage.status();
  EXPECT_GE(usage->rss_bytes, 64 * kMiB);
  EXPECT_LT(usage->rss_bytes, 128 * kMiB);
  EXPECT_EQ(usage->threads, 4);
  EXPECT_EQ(usage->children, 2);
  EXPECT_GE(usage->open_fds, 43);
  EXPECT_EQ(usage->open_fds, ListedFds(child.pid()));
}

// The O(1) path: st_size of /proc/<pid>/fd is the fd count (kernel >= 6.2).
TEST(ProcessUsageTest, FdCountComesFromStSizeAndFollowsOpenAndClose) {
  struct stat st;
  ASSERT_EQ(stat("/proc/self/fd", &st), 0);
  if (st.st_size == 0) {
    GTEST_SKIP() << "kernel older than 6.2: /proc/<pid>/fd has no st_size";
  }
  absl::StatusOr<ProcessUsageReader> self = ProcessUsageReader::Open(getpid());
  ASSERT_TRUE(self.ok()) << self.status();
  absl::StatusOr<int64_t> before = self->OpenFds();
  ASSERT_TRUE(before.ok()) << before.status();
  int fds[100];
  for (int& fd : fds) fd = open("/dev/null", O_RDONLY);
  EXPECT_EQ(self->OpenFds().value_or(-1), *before + 100);
  for (int fd : fds) close(fd);
  EXPECT_EQ(self->OpenFds().value_or(-1), *before);
}

TEST(ProcessUsageTest, ExitedProcessIsNotFound) {
  EXPECT_EQ(ProcessUsageReader::Open(ReapedPid()).status().code(),
            absl::StatusCode::kNotFound);

  pid_t pid = fork();
  if (pid == 0) {
    pause();
    _exit(0);
  }
  absl::StatusOr<ProcessUsageReader> reader = ProcessUsageReader::Open(pid);
  ASSERT_TRUE(reader.ok()) << reader.status();
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  absl::StatusOr<ProcessUsage> usage = reader->Read();
  EXPECT_EQ(usage.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(usage.status().message(),
            "process " + std::to_string(pid) + " has exited");
}

TEST(ProcessUsageTest, ParsesStatusText) {
  absl::StatusOr<StatusFigures> figures = ParseProcStatus(
      "Name:\tweb\nVmRSS:\t   10240 kB\nThreads:\t7\n", "/proc/1/status");
  ASSERT_TRUE(figures.ok()) << figures.status();
  EXPECT_EQ(figures->rss_bytes, 10240 * 1024);
  EXPECT_EQ(figures->threads, 7);
  // Zombies and kernel threads have no VmRSS line.
  EXPECT_EQ(ParseProcStatus("Threads:\t1\n", "s")->rss_bytes, 0);
  EXPECT_EQ(ParseProcStatus("Name:\tx\n", "/proc/1/status").status().message(),
            "/proc/1/status: no Threads line");
}

TEST(CgroupUsageTest, AbsentControllerFilesAreNotErrors) {
  char dir[] = "/tmp/vigil-cgroup-usage-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  absl::StatusOr<CgroupUsage> usage = ReadCgroupUsage(dir);
  rmdir(dir);
  ASSERT_TRUE(usage.ok()) << usage.status();
  EXPECT_FALSE(usage->memory_bytes.has_value());
  EXPECT_FALSE(usage->tasks.has_value());
}

TEST(CgroupUsageTest, ReadsMemoryAndPidsCurrent) {
  absl::StatusOr<std::unique_ptr<TestCgroup>> cgroup =
      TestCgroup::Create("usage");
  if (!cgroup.ok()) {
    GTEST_SKIP() << "needs a writable cgroup v2 hierarchy: "
                 << cgroup.status();
  }
  if (!(*cgroup)->HasFile("memory.current") ||
      !(*cgroup)->HasFile("pids.current")) {
    GTEST_SKIP() << "needs the cgroup v2 memory and pids controllers "
                    "(hybrid host)";
  }
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_TRUE((*cgroup)
                  ->Spawn([&ready] {
                    char* memory = static_cast<char*>(malloc(32 * kMiB));
                    memset(memory, 1, 32 * kMiB);
                    (void)!write(ready[1], "r", 1);
                    SleepingThread(nullptr);
                  })
                  .ok());
  close(ready[1]);
  char byte;
  ASSERT_EQ(read(ready[0], &byte, 1), 1);
  close(ready[0]);
  absl::StatusOr<CgroupUsage> usage = ReadCgroupUsage((*cgroup)->path());
  ASSERT_TRUE(usage.ok()) << usage.status();
  EXPECT_GE(usage->memory_bytes.value_or(0), 32 * kMiB);
  EXPECT_EQ(usage->tasks.value_or(0), 1);
}

}  // namespace
}  // namespace vigil::watch
