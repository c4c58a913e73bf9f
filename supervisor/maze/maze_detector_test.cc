#include "supervisor/maze/maze_detector.h"

#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vigil::maze {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;
using ::testing::Optional;

constexpr MazeLimits kLimits{absl::Milliseconds(300), absl::Milliseconds(600)};

// A process made of threads whose scheduler counters the test drives.
class FakeThreads {
 public:
  void Run(pid_t tid, int ms) { threads_[tid].run_ns += ms * 1'000'000ull; }
  void RunFor(pid_t tid, absl::Duration cpu) {
    threads_[tid].run_ns += absl::ToInt64Nanoseconds(cpu);
  }
  void Block(pid_t tid) { ++threads_[tid].voluntary_switches; }
  void RunThenBlock(pid_t tid, int ms) { Run(tid, ms), Block(tid); }
  void BlockThenRun(pid_t tid, int ms) { Block(tid), Run(tid, ms); }
  void Exit(pid_t tid) { threads_.erase(tid); }
  void Zombie(pid_t tid) { threads_[tid].state = 'Z'; }
  void Replace(pid_t tid) { threads_[tid] = TaskSample{}; }
  std::vector<TaskSample> Sample() const {
    std::vector<TaskSample> samples;
    for (auto [tid, sample] : threads_) {
      sample.tid = tid;
      samples.push_back(sample);
    }
    return samples;
  }

 private:
  std::map<pid_t, TaskSample> threads_;
};

auto Decision(pid_t tid, MazeAction action, int count_ms) {
  return AllOf(Field(&MazeDecision::tid, tid),
               Field(&MazeDecision::action, action),
               Field(&MazeDecision::count, absl::Milliseconds(count_ms)));
}

MazeDetector Detector(WatchOrigin origin = WatchOrigin::kAttached,
                      MazeLimits limits = kLimits) {
  absl::StatusOr<MazeDetector> detector = MazeDetector::Create(limits, origin);
  EXPECT_TRUE(detector.ok()) << detector.status();
  return *std::move(detector);
}

TEST(MazeDetectorTest, ASpinningThreadGetsSoftThenHardOnce) {
  FakeThreads threads;
  threads.Run(7, 5000);  // CPU used before the watch does not count
  MazeDetector detector = Detector();
  MazeVerdict verdict = detector.Observe(threads.Sample());
  EXPECT_THAT(verdict.decisions, IsEmpty());
  EXPECT_THAT(verdict.next_check, Optional(absl::Milliseconds(300)));

  threads.Run(7, 304);
  verdict = detector.Observe(threads.Sample());
  EXPECT_THAT(verdict.decisions, ElementsAre(Decision(7, MazeAction::kSoft, 304)));
  EXPECT_THAT(verdict.next_check, Optional(absl::Milliseconds(296)));

  threads.Run(7, 296);
  verdict = detector.Observe(threads.Sample());
  EXPECT_THAT(verdict.decisions, ElementsAre(Decision(7, MazeAction::kHard, 600)));
  // A survivor of the hard signal is looked at again one soft limit later.
  EXPECT_THAT(verdict.next_check, Optional(absl::Milliseconds(300)));

  threads.Run(7, 300);
  EXPECT_THAT(detector.Observe(threads.Sample()).decisions, IsEmpty());
}

TEST(MazeDetectorTest, ATimerThatFiredEarlyOnlyShortensTheNextCheck) {
  FakeThreads threads;
  threads.Run(7, 1);
  MazeDetector detector = Detector();
  detector.Observe(threads.Sample());
  threads.Run(7, 120);
  MazeVerdict verdict = detector.Observe(threads.Sample());
  EXPECT_THAT(verdict.decisions, IsEmpty());
  EXPECT_THAT(verdict.next_check, Optional(absl::Milliseconds(180)));
}

TEST(MazeDetectorTest, AThreadAlternatingBusyAndSleepIsNeverSignalled) {
  FakeThreads threads;
  MazeDetector detector = Detector();
  detector.Observe(threads.Sample());
  for (int check = 0; check < 20; ++check) {
    // Six 50 ms bursts per soft limit of CPU, each followed by a sleep.
    for (int burst = 0; burst < 6; ++burst) threads.RunThenBlock(7, 50);
    MazeVerdict verdict = detector.Observe(threads.Sample());
    EXPECT_THAT(verdict.decisions, IsEmpty());
    // One check per soft limit of CPU: the cost of a busy, healthy process.
    EXPECT_THAT(verdict.next_check, Optional(absl::Milliseconds(300)));
  }
}

TEST(MazeDetectorTest, BlockingAfterTheSoftSignalResetsAndAvoidsTheHard) {
  FakeThreads threads;
  MazeDetector detector = Detector();
  detector.Observe(threads.Sample());
  threads.Run(7, 300);
  EXPECT_THAT(detector.Observe(threads.Sample()).decisions,
              ElementsAre(Decision(7, MazeAction::kSoft, 300)));

  // The handler runs a little, then the thread sleeps and spins again.
  threads.RunThenBlock(7, 20);
  threads.Run(7, 280);
  MazeVerdict verdict = detector.Observe(threads.Sample());
  EXPECT_THAT(verdict.decisions,
              ElementsAre(Decision(7, MazeAction::kReset, 300)));
  // The block may have been just now: count from here, soft first again.
  EXPECT_THAT(verdict.next_check, Optional(absl::Milliseconds(300)));
  EXPECT_THAT(detector.Counts(),
              ElementsAre(AllOf(Field(&MazeTaskCount::count, absl::ZeroDuration()),
                                Field(&MazeTaskCount::soft_sent, false))));

  threads.Run(7, 300);
  EXPECT_THAT(detector.Observe(threads.Sample()).decisions,
              ElementsAre(Decision(7, MazeAction::kSoft, 300)));
}

TEST(MazeDetectorTest, BlocksOfAThreadNeverSignalledReportNoReset) {
  FakeThreads threads;
  MazeDetector detector = Detector();
  detector.Observe(threads.Sample());
  threads.RunThenBlock(7, 100);
  EXPECT_THAT(detector.Observe(threads.Sample()).decisions, IsEmpty());
}

TEST(MazeDetectorTest, OneSpinningThreadAmongSleepersIsNamed) {
  FakeThreads threads;
  threads.Run(100, 10), threads.Run(101, 10), threads.Run(102, 10);
  MazeDetector detector = Detector();
  detector.Observe(threads.Sample());
  // 101 runs without blocking; the others wake briefly and sleep again.
  threads.RunThenBlock(100, 5);
  threads.Run(101, 300);
  threads.RunThenBlock(102, 5);
  MazeVerdict verdict = detector.Observe(threads.Sample());
  EXPECT_THAT(verdict.decisions,
              ElementsAre(Decision(101, MazeAction::kSoft, 300)));
  EXPECT_THAT(verdict.next_check, Optional(absl::Milliseconds(300)));
  EXPECT_THAT(detector.Counts(),
              ElementsAre(Field(&MazeTaskCount::count, absl::ZeroDuration()),
                          Field(&MazeTaskCount::count, absl::Milliseconds(300)),
                          Field(&MazeTaskCount::count, absl::ZeroDuration())));
}

TEST(MazeDetectorTest, ThreadsSpinningTogetherAreCheckedNoCloserThanTheFloor) {
  FakeThreads threads;
  threads.Run(1, 0), threads.Run(2, 0);
  MazeDetector detector = Detector();
  MazeVerdict verdict = detector.Observe(threads.Sample());
  int checks = 0;
  while (verdict.decisions.empty()) {
    ASSERT_TRUE(verdict.next_check.has_value());
    EXPECT_GE(*verdict.next_check, MazeDetector::kMinCheckInterval);
    // Both spin on two cores: each gets half of the process CPU.
    absl::Duration half = *verdict.next_check / 2;
    threads.RunFor(1, half), threads.RunFor(2, half);
    verdict = detector.Observe(threads.Sample());
    ASSERT_LT(++checks, 20) << "the remaining budget must shrink fast";
  }
  EXPECT_THAT(verdict.decisions,
              ElementsAre(Field(&MazeDecision::tid, 1),
                          Field(&MazeDecision::tid, 2)));
  EXPECT_GE(verdict.decisions[0].count, kLimits.soft);
  EXPECT_LE(verdict.decisions[0].count,
            kLimits.soft + MazeDetector::kMinCheckInterval);
}

TEST(MazeDetectorTest, ANewThreadCountsFromItsCreationUnlessItBlocked) {
  FakeThreads threads;
  threads.Run(1, 50);
  MazeDetector detector = Detector();
  detector.Observe(threads.Sample());
  threads.RunThenBlock(1, 10);
  threads.Run(2, 250);  // created since the last sample, never blocked
  threads.BlockThenRun(3, 250);  // created and blocked since
  MazeVerdict verdict = detector.Observe(threads.Sample());
  EXPECT_THAT(verdict.decisions, IsEmpty());
  EXPECT_THAT(verdict.next_check, Optional(absl::Milliseconds(50)));

  threads.Run(2, 50);
  threads.Run(3, 50);
  EXPECT_THAT(detector.Observe(threads.Sample()).decisions,
              ElementsAre(Decision(2, MazeAction::kSoft, 300)));
}

TEST(MazeDetectorTest, AForkedProcessCountsFromCreationOnItsFirstSample) {
  FakeThreads threads;
  threads.Run(9, 310);
  MazeDetector detector = Detector(WatchOrigin::kForked);
  EXPECT_THAT(detector.Observe(threads.Sample()).decisions,
              ElementsAre(Decision(9, MazeAction::kSoft, 310)));

  FakeThreads blocked;
  blocked.BlockThenRun(9, 310);
  MazeDetector after_block = Detector(WatchOrigin::kForked);
  EXPECT_THAT(after_block.Observe(blocked.Sample()).decisions, IsEmpty());
}

TEST(MazeDetectorTest, ExitedThreadsAreForgotten) {
  FakeThreads threads;
  threads.Run(1, 1), threads.Run(2, 1);
  MazeDetector detector = Detector();
  detector.Observe(threads.Sample());
  threads.Run(2, 250);
  threads.RunThenBlock(1, 1);
  detector.Observe(threads.Sample());
  threads.Exit(2);
  MazeVerdict verdict = detector.Observe(threads.Sample());
  EXPECT_THAT(verdict.next_check, Optional(absl::Milliseconds(300)));
  EXPECT_THAT(detector.Counts(), ElementsAre(Field(&MazeTaskCount::tid, 1)));
}

TEST(MazeDetectorTest, AReusedTidIsANewThread) {
  FakeThreads threads;
  threads.Run(5, 400);
  MazeDetector detector = Detector();
  detector.Observe(threads.Sample());
  threads.Replace(5);
  threads.Run(5, 100);  // counters went backwards: not the same thread
  MazeVerdict verdict = detector.Observe(threads.Sample());
  EXPECT_THAT(verdict.decisions, IsEmpty());
  EXPECT_THAT(verdict.next_check, Optional(absl::Milliseconds(200)));
}

TEST(MazeDetectorTest, ZombiesAndEmptySamplesScheduleNoCheck) {
  FakeThreads threads;
  threads.Run(5, 100);
  threads.Zombie(5);
  MazeDetector detector = Detector(WatchOrigin::kForked);
  EXPECT_EQ(detector.Observe(threads.Sample()).next_check, std::nullopt);
  EXPECT_EQ(detector.Observe({}).next_check, std::nullopt);
}

TEST(MazeDetectorTest, EqualLimitsSendSoftThenHardTogether) {
  FakeThreads threads;
  MazeDetector detector = Detector(
      WatchOrigin::kForked, {absl::Milliseconds(100), absl::Milliseconds(100)});
  threads.Run(3, 100);
  EXPECT_THAT(detector.Observe(threads.Sample()).decisions,
              ElementsAre(Decision(3, MazeAction::kSoft, 100),
                          Decision(3, MazeAction::kHard, 100)));
}

TEST(MazeDetectorTest, RejectsLimitsOutOfOrder) {
  for (MazeLimits limits :
       {MazeLimits{absl::ZeroDuration(), absl::Seconds(1)},
        MazeLimits{absl::Seconds(2), absl::Seconds(1)}}) {
    absl::StatusOr<MazeDetector> detector =
        MazeDetector::Create(limits, WatchOrigin::kAttached);
    EXPECT_EQ(detector.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(detector.status().message()),
                ::testing::HasSubstr("0 < soft <= hard"));
  }
}

TEST(MazeDetectorTest, WithoutAHardLimitOnlyTheSoftSignalIsSent) {
  FakeThreads threads;
  MazeDetector detector = Detector(
      WatchOrigin::kForked, {absl::Milliseconds(300), absl::InfiniteDuration()});
  threads.Run(4, 310);
  MazeVerdict verdict = detector.Observe(threads.Sample());
  EXPECT_THAT(verdict.decisions, ElementsAre(Decision(4, MazeAction::kSoft, 310)));
  EXPECT_THAT(verdict.next_check, Optional(absl::Milliseconds(300)));
  threads.Run(4, 60'000);
  EXPECT_THAT(detector.Observe(threads.Sample()).decisions, IsEmpty());
}

TEST(MazeDetectorTest, NewLimitsKeepTheCountAndApplyAtTheNextSample) {
  FakeThreads threads;
  MazeDetector detector = Detector(WatchOrigin::kForked);
  threads.Run(6, 200);
  EXPECT_THAT(detector.Observe(threads.Sample()).decisions, IsEmpty());
  ASSERT_TRUE(
      detector.SetLimits({absl::Milliseconds(100), absl::Milliseconds(250)}).ok());
  threads.Run(6, 60);
  EXPECT_THAT(detector.Observe(threads.Sample()).decisions,
              ElementsAre(Decision(6, MazeAction::kSoft, 260),
                          Decision(6, MazeAction::kHard, 260)));
  EXPECT_EQ(detector.SetLimits({absl::Seconds(2), absl::Seconds(1)}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(detector.limits().soft, absl::Milliseconds(100));
}

TEST(MazeDetectorTest, ActionNames) {
  EXPECT_STREQ(MazeActionName(MazeAction::kSoft), "soft");
  EXPECT_STREQ(MazeActionName(MazeAction::kHard), "hard");
  EXPECT_STREQ(MazeActionName(MazeAction::kReset), "reset");
}

}  // namespace
}  // namespace vigil::maze
