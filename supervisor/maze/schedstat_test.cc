#include "supervisor/maze/schedstat.h"

#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "supervisor/maze/test_processes.h"

namespace vigil::maze {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using testing::Child;

constexpr char kStatus[] =
    "Name:\tworker\nState:\tR (running)\nTgid:\t40\n"
    "voluntary_ctxt_switches:\t7\nnonvoluntary_ctxt_switches:\t3\n";

class FakeProc {
 public:
  FakeProc() {
    root_ = std::filesystem::path(std::getenv("TEST_TMPDIR")) /
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(root_);
  }
  void Write(const std::string& relative, const std::string& text) {
    std::filesystem::path path = root_ / relative;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << text;
  }
  std::string root() const { return root_.string(); }

 private:
  std::filesystem::path root_;
};

TEST(TaskSamplerFakeTest, ReadsEveryThreadInTidOrder) {
  FakeProc proc;
  proc.Write("40/task/41/schedstat", "2500 100 9\n");
  proc.Write("40/task/41/status",
             "State:\tS (sleeping)\nvoluntary_ctxt_switches:\t1\n"
             "nonvoluntary_ctxt_switches:\t0\n");
  proc.Write("40/task/40/schedstat", "123456789 555 42\n");
  proc.Write("40/task/40/status", kStatus);
  absl::StatusOr<std::vector<TaskSample>> samples =
      TaskSampler(proc.root()).SampleProcess(40);
  ASSERT_TRUE(samples.ok()) << samples.status();
  ASSERT_EQ(samples->size(), 2u);
  const TaskSample& leader = (*samples)[0];
  EXPECT_EQ(leader.tid, 40);
  EXPECT_EQ(leader.run_ns, 123456789u);
  EXPECT_EQ(leader.wait_ns, 555u);
  EXPECT_EQ(leader.timeslices, 42u);
  EXPECT_EQ(leader.voluntary_switches, 7u);
  EXPECT_EQ(leader.involuntary_switches, 3u);
  EXPECT_EQ(leader.state, 'R');
  EXPECT_EQ((*samples)[1].tid, 41);
  EXPECT_EQ((*samples)[1].state, 'S');
  EXPECT_EQ((*samples)[1].run_ns, 2500u);
}

TEST(TaskSamplerFakeTest, AThreadThatVanishedIsLeftOut) {
  FakeProc proc;
  proc.Write("40/task/40/schedstat", "1 2 3\n");
  proc.Write("40/task/40/status", kStatus);
  std::filesystem::create_directories(proc.root() + "/40/task/41");
  absl::StatusOr<std::vector<TaskSample>> samples =
      TaskSampler(proc.root()).SampleProcess(40);
  ASSERT_TRUE(samples.ok()) << samples.status();
  EXPECT_THAT(*samples, ElementsAre(Field(&TaskSample::tid, 40)));
}

TEST(TaskSamplerFakeTest, MalformedSchedstatNamesTheFile) {
  FakeProc proc;
  proc.Write("40/task/40/schedstat", "12 abc\n");
  proc.Write("40/task/40/status", kStatus);
  absl::StatusOr<TaskSample> sample = TaskSampler(proc.root()).SampleTask(40, 40);
  ASSERT_FALSE(sample.ok());
  EXPECT_THAT(sample.status().message(),
              HasSubstr(proc.root() + "/40/task/40/schedstat"));
  EXPECT_THAT(sample.status().message(), HasSubstr("\"12 abc\""));
}

TEST(TaskSamplerFakeTest, StatusWithoutSwitchCountsNamesTheFile) {
  FakeProc proc;
  proc.Write("40/task/40/schedstat", "1 2 3\n");
  proc.Write("40/task/40/status", "State:\tR (running)\n");
  absl::StatusOr<TaskSample> sample = TaskSampler(proc.root()).SampleTask(40, 40);
  ASSERT_FALSE(sample.ok());
  EXPECT_THAT(sample.status().message(),
              HasSubstr(proc.root() + "/40/task/40/status"));
  EXPECT_THAT(sample.status().message(), HasSubstr("voluntary_ctxt_switches"));
}

TEST(TaskSamplerFakeTest, AMissingProcessIsNotFoundAndNamesTheDirectory) {
  FakeProc proc;
  proc.Write("1/task/1/schedstat", "1 2 3\n");
  absl::StatusOr<std::vector<TaskSample>> samples =
      TaskSampler(proc.root()).SampleProcess(40);
  ASSERT_FALSE(samples.ok());
  EXPECT_EQ(samples.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(samples.status().message(), HasSubstr(proc.root() + "/40/task"));
}

TEST(TaskSamplerProcTest, SeesASpinnerRunAndASleeperBlock) {
  Child spinner(testing::SpinForever);
  Child sleeper([] {
    for (;;) usleep(1000);
  });
  TaskSampler sampler;
  absl::StatusOr<TaskSample> spin_before =
      sampler.SampleTask(spinner.pid(), spinner.pid());
  absl::StatusOr<TaskSample> sleep_before =
      sampler.SampleTask(sleeper.pid(), sleeper.pid());
  ASSERT_TRUE(spin_before.ok()) << spin_before.status();
  ASSERT_TRUE(sleep_before.ok()) << sleep_before.status();
  // Wait for CPU, not wall time: the host may be busy.
  absl::Duration spin_start = *testing::ProcessCpuTime(spinner.pid());
  while (*testing::ProcessCpuTime(spinner.pid()) - spin_start <
         absl::Milliseconds(100)) {
    usleep(10'000);
  }
  TaskSample spin_after = *sampler.SampleTask(spinner.pid(), spinner.pid());
  TaskSample sleep_after = *sampler.SampleTask(sleeper.pid(), sleeper.pid());

  EXPECT_GT(spin_after.run_ns - spin_before->run_ns, 50'000'000u);
  EXPECT_EQ(spin_after.voluntary_switches, spin_before->voluntary_switches);
  EXPECT_EQ(spin_after.state, 'R');
  // Agrees with the process CPU clock, which counts the same nanoseconds.
  absl::Duration clock = *testing::ProcessCpuTime(spinner.pid());
  EXPECT_LE(absl::Nanoseconds(spin_after.run_ns), clock);

  EXPECT_GT(sleep_after.voluntary_switches, sleep_before->voluntary_switches);
}

TEST(TaskSamplerProcTest, ListsEveryThreadOfAProcess) {
  Child threaded([] {
    for (int i = 0; i < 3; ++i) {
      pthread_t thread;
      pthread_create(
          &thread, nullptr, [](void*) -> void* { pause(); return nullptr; },
          nullptr);
    }
    pause();
  });
  std::vector<pid_t> tids = testing::WaitForThreads(threaded.pid(), 4);
  absl::StatusOr<std::vector<TaskSample>> samples =
      TaskSampler().SampleProcess(threaded.pid());
  ASSERT_TRUE(samples.ok()) << samples.status();
  std::vector<pid_t> sampled;
  for (const TaskSample& sample : *samples) sampled.push_back(sample.tid);
  EXPECT_EQ(sampled, tids);
}

TEST(TaskSamplerProcTest, AnExitedProcessIsNotFound) {
  pid_t gone;
  {
    Child quick([] {});
    gone = quick.pid();
    quick.Wait();
  }
  absl::StatusOr<std::vector<TaskSample>> samples =
      TaskSampler().SampleProcess(gone);
  EXPECT_EQ(samples.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace vigil::maze
