// MAZE end to end without the daemon: a CPU-time timer per watched process,
// its signalfd, the proc connector and the detector, driven by a small
// poll() loop in the test, against real spinning and sleeping processes.
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <optional>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "supervisor/maze/cpu_time_timer.h"
#include "supervisor/maze/cpu_timer_signals.h"
#include "supervisor/maze/maze_detector.h"
#include "supervisor/maze/proc_connector.h"
#include "supervisor/maze/schedstat.h"
#include "supervisor/maze/test_processes.h"

namespace vigil::maze {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;
using testing::Child;

const int kTimerSignal = SIGRTMIN + 5;
constexpr MazeLimits kLimits{absl::Milliseconds(300), absl::Milliseconds(600)};
// The asserted detection bound: CPU time past a limit when the signal left.
constexpr absl::Duration kTolerance = absl::Milliseconds(30);
// The child's own clock and /proc's run time were seen to disagree by up to
// ~50 us around the block that starts the count; "never early" is asserted
// exactly on the detector's count, the child's view gets this slack.
constexpr absl::Duration kClockSkew = absl::Milliseconds(1);

struct Signalled {
  pid_t pid;
  pid_t tid;
  MazeAction action;
  absl::Duration detector_count;
  // The process's CPU time since the watch began (since its fork for a
  // forked child) when the signal was sent. For a spinning thread among
  // sleepers it includes their little CPU, so it overstates the overshoot.
  absl::Duration cpu_at_signal;
};

// What a daemon would do, in miniature: one timer per watched process, one
// detector per process, signals sent by tgkill like MAZE's send_sig.
class MazeLoop {
 public:
  MazeLoop(MazeLimits limits, int soft_signal, int hard_signal)
      : limits_(limits), soft_signal_(soft_signal), hard_signal_(hard_signal) {
    absl::StatusOr<CpuTimerSignals> signals =
        CpuTimerSignals::Create(kTimerSignal);
    EXPECT_TRUE(signals.ok()) << signals.status();
    signals_.emplace(*std::move(signals));
  }

  // Follows forks of watched processes; false where the host refuses.
  bool FollowForks() {
    absl::StatusOr<ProcConnector> connector = ProcConnector::Subscribe();
    if (!connector.ok()) return false;
    connector_.emplace(*std::move(connector));
    return true;
  }

  void Watch(pid_t pid, WatchOrigin origin) {
    absl::StatusOr<CpuTimeTimer> timer =
        CpuTimeTimer::Create(pid, kTimerSignal, next_cookie_);
    ASSERT_TRUE(timer.ok()) << timer.status();
    absl::StatusOr<MazeDetector> detector = MazeDetector::Create(limits_, origin);
    ASSERT_TRUE(detector.ok()) << detector.status();
    auto [it, inserted] = watches_.emplace(
        next_cookie_++, Watched{pid, *std::move(timer), *std::move(detector)});
    Watched& watched = it->second;
    // A forked child's clock starts at zero at the fork.
    if (origin == WatchOrigin::kAttached) {
      watched.cpu_at_watch = *watched.timer.ProcessCpuTime();
    }
    absl::StatusOr<std::vector<TaskSample>> tasks = sampler_.SampleProcess(pid);
    ASSERT_TRUE(tasks.ok()) << tasks.status();
    Evaluate(it->second, *tasks);
  }

  // Runs the loop for `wall` or until `done`; returns the wakeups it had.
  int RunFor(absl::Duration wall, const std::function<bool()>& done = [] {
    return false;
  }) {
    int wakeups = 0;
    absl::Time deadline = absl::Now() + wall;
    while (!done() && absl::Now() < deadline) {
      pollfd fds[2] = {{signals_->fd(), POLLIN, 0},
                       {connector_ ? connector_->fd() : -1, POLLIN, 0}};
      int timeout_ms = std::max<int64_t>(
          1, absl::ToInt64Milliseconds(deadline - absl::Now()));
      if (poll(fds, 2, timeout_ms) <= 0) continue;
      ++wakeups;
      if (fds[1].revents & POLLIN) FollowNewProcesses();
      if (fds[0].revents & POLLIN) OnTimers();
    }
    return wakeups;
  }

  const std::vector<Signalled>& signalled() const { return signalled_; }
  int evaluations() const { return evaluations_; }

  std::vector<Signalled> For(pid_t pid) const {
    std::vector<Signalled> out;
    for (const Signalled& s : signalled_) {
      if (s.pid == pid) out.push_back(s);
    }
    return out;
  }

 private:
  struct Watched {
    pid_t pid;
    CpuTimeTimer timer;
    MazeDetector detector;
    absl::Duration cpu_at_watch = absl::ZeroDuration();
  };

  void OnTimers() {
    absl::StatusOr<std::vector<uint64_t>> fired = signals_->ReadFired();
    ASSERT_TRUE(fired.ok()) << fired.status();
    for (uint64_t cookie : *fired) {
      auto it = watches_.find(cookie);
      if (it == watches_.end()) continue;
      absl::StatusOr<std::vector<TaskSample>> tasks =
          sampler_.SampleProcess(it->second.pid);
      if (!tasks.ok()) {  // exited
        watches_.erase(it);
        continue;
      }
      Evaluate(it->second, *tasks);
    }
  }

  void Evaluate(Watched& watched, const std::vector<TaskSample>& tasks) {
    ++evaluations_;
    MazeVerdict verdict = watched.detector.Observe(tasks);
    for (const MazeDecision& decision : verdict.decisions) {
      // Read just before the signal leaves, from the process CPU clock:
      // schedstat's run time lags up to a tick for a thread on a CPU.
      absl::Duration cpu_at_signal =
          watched.timer.ProcessCpuTime().value_or(absl::ZeroDuration()) -
          watched.cpu_at_watch;
      if (decision.action != MazeAction::kReset) {
        int signo = decision.action == MazeAction::kSoft ? soft_signal_
                                                         : hard_signal_;
        syscall(SYS_tgkill, watched.pid, decision.tid, signo);
      }
      signalled_.push_back({watched.pid, decision.tid, decision.action,
                            decision.count, cpu_at_signal});
    }
    if (verdict.next_check) {
      EXPECT_TRUE(watched.timer.ArmAfter(*verdict.next_check).ok());
    }
  }

  void FollowNewProcesses() {
    absl::StatusOr<std::vector<ProcEvent>> events = connector_->Drain();
    ASSERT_TRUE(events.ok()) << events.status();
    for (const ProcEvent& event : *events) {
      if (!event.IsNewProcess()) continue;
      bool parent_watched =
          std::any_of(watches_.begin(), watches_.end(), [&](const auto& w) {
            return w.second.pid == event.parent_tgid;
          });
      if (parent_watched) Watch(event.pid, WatchOrigin::kForked);
    }
  }

  MazeLimits limits_;
  int soft_signal_;
  int hard_signal_;
  std::optional<CpuTimerSignals> signals_;
  std::optional<ProcConnector> connector_;
  TaskSampler sampler_;
  std::map<uint64_t, Watched> watches_;
  uint64_t next_cookie_ = 1;
  int evaluations_ = 0;
  std::vector<Signalled> signalled_;
};

// A watchdog must not queue behind what it watches: vigild is meant to run
// at a raised priority, like earlyoom, and so does this loop. Children go
// back to nice 0 (test_processes.cc).
class RaisedPriority : public ::testing::Environment {
 public:
  void SetUp() override { setpriority(PRIO_PROCESS, 0, -10); }
};
const auto* const kRaisedPriority =
    ::testing::AddGlobalTestEnvironment(new RaisedPriority);

pid_t Gettid() { return static_cast<pid_t>(syscall(SYS_gettid)); }

bool Exited(Child& child) {
  int status;
  return waitpid(child.pid(), &status, WNOHANG) == child.pid();
}

// A spinner that stays blocked on `go` until it is watched, then spins; on
// SIGUSR1 or SIGUSR2 it writes to `report` its own thread CPU time since it
// blocked, read in the handler from CLOCK_THREAD_CPUTIME_ID, which (unlike
// /proc and another process's clock) includes the running slice: the true
// maze count at the moment the signal arrived.
absl::Duration spin_started_at;
int report_fd = -1;

void ReportCount(int) {
  absl::Duration count = testing::ThreadCpuTime() - spin_started_at;
  write(report_fd, &count, sizeof(count));
}

struct ReportingSpinner {
  ReportingSpinner() {
    EXPECT_EQ(pipe(go), 0);
    EXPECT_EQ(pipe(report), 0);
    child.emplace([this] {
      report_fd = report[1];
      signal(SIGUSR1, ReportCount);
      signal(SIGUSR2, ReportCount);
      char byte;
      // Taken before blocking: the maze count runs from the block, and
      // the wakeup path back to user space is part of it.
      spin_started_at = testing::ThreadCpuTime();
      read(go[0], &byte, 1);
      testing::SpinForever();
    });
  }
  ~ReportingSpinner() {
    child.reset();
    for (int fd : {go[0], go[1], report[0], report[1]}) close(fd);
  }
  void Go() { EXPECT_EQ(write(go[1], "x", 1), 1); }
  absl::Duration NextReport() {
    absl::Duration count;
    EXPECT_EQ(read(report[0], &count, sizeof(count)),
              static_cast<ssize_t>(sizeof(count)));
    return count;
  }
  pid_t pid() const { return child->pid(); }

  int go[2];
  int report[2];
  std::optional<Child> child;
};

TEST(MazeIntegrationTest, ASpinnerGetsSoftThenHardAtTheRightCpuTimes) {
  MazeLoop loop(kLimits, SIGUSR1, SIGUSR2);
  ReportingSpinner spinner;
  testing::WaitUntilSleeping(spinner.pid());
  loop.Watch(spinner.pid(), WatchOrigin::kAttached);
  spinner.Go();
  loop.RunFor(absl::Seconds(10), [&] { return loop.signalled().size() == 2; });

  const std::vector<Signalled>& signalled = loop.signalled();
  ASSERT_THAT(signalled,
              ElementsAre(Field(&Signalled::action, MazeAction::kSoft),
                          Field(&Signalled::action, MazeAction::kHard)));
  for (const Signalled& s : signalled) {
    absl::Duration limit =
        s.action == MazeAction::kSoft ? kLimits.soft : kLimits.hard;
    absl::Duration received_at = spinner.NextReport();
    std::printf("%s: detector count %s, child's count on receipt %s, "
                "past limit %s\n",
                MazeActionName(s.action),
                absl::FormatDuration(s.detector_count).c_str(),
                absl::FormatDuration(received_at).c_str(),
                absl::FormatDuration(received_at - limit).c_str());
    EXPECT_EQ(s.tid, spinner.pid());
    EXPECT_GE(s.detector_count, limit);
    EXPECT_GE(received_at, limit - kClockSkew);
    EXPECT_LE(received_at, limit + kTolerance);
  }
}

TEST(MazeIntegrationTest, OvershootPastTheSoftLimitOverRepeatedRuns) {
  constexpr MazeLimits kShort{absl::Milliseconds(100), absl::Milliseconds(100)};
  std::vector<absl::Duration> overshoots;
  for (int run = 0; run < 10; ++run) {
    MazeLoop loop(kShort, SIGUSR1, SIGUSR1);
    ReportingSpinner spinner;
    // Watched only once blocked on `go`, or that block would look like a
    // reset at the first check (README: the block's moment is unknown).
    testing::WaitUntilSleeping(spinner.pid());
    loop.Watch(spinner.pid(), WatchOrigin::kAttached);
    spinner.Go();
    loop.RunFor(absl::Seconds(5), [&] { return !loop.signalled().empty(); });
    ASSERT_FALSE(loop.signalled().empty());
    overshoots.push_back(spinner.NextReport() - kShort.soft);
  }
  std::sort(overshoots.begin(), overshoots.end());
  absl::Duration p50 = overshoots[overshoots.size() / 2];
  std::printf("overshoot past a 100ms limit over %zu runs: min %s p50 %s max %s\n",
              overshoots.size(), absl::FormatDuration(overshoots.front()).c_str(),
              absl::FormatDuration(p50).c_str(),
              absl::FormatDuration(overshoots.back()).c_str());
  EXPECT_GE(overshoots.front(), -kClockSkew);
  EXPECT_LE(p50, absl::Milliseconds(10)) << "the issue's target";
  // The tail is the loop's scheduling latency on a shared 2-core host (up to
  // 47 ms seen with a VM busy on the other core); one outlier in ten is
  // tolerated here, none in the test above.
  EXPECT_LE(overshoots[overshoots.size() - 2], kTolerance);
}

TEST(MazeIntegrationTest, BusyBurstsWithShortSleepsAreNeverSignalled) {
  MazeLoop loop(kLimits, SIGKILL, SIGKILL);
  Child worker([] {
    for (;;) {
      testing::SpinFor(absl::Milliseconds(50));
      usleep(1000);
    }
  });
  loop.Watch(worker.pid(), WatchOrigin::kAttached);
  // About 1.5 s, longer if the host is busy: the worker must get 1.2 s of
  // CPU, four soft limits, for the wakeup count to mean something.
  int wakeups = 0;
  absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (testing::ProcessCpuTime(worker.pid()) < absl::Milliseconds(1200) &&
         absl::Now() < give_up) {
    wakeups += loop.RunFor(absl::Milliseconds(500));
  }
  EXPECT_THAT(loop.signalled(), IsEmpty());
  EXPECT_FALSE(Exited(worker));
  absl::Duration cpu = *testing::ProcessCpuTime(worker.pid());
  std::printf("busy-but-healthy: %d wakeups for %s of CPU\n", wakeups,
              absl::FormatDuration(cpu).c_str());
  // One wakeup per soft limit of CPU: at most that, and not fewer either
  // (the worker is looked at, and found healthy, each time).
  int64_t soft_limits = cpu / kLimits.soft;
  EXPECT_LE(wakeups, soft_limits + 1);
  EXPECT_GE(wakeups, soft_limits - 1);
}

TEST(MazeIntegrationTest, OneSpinningThreadAmongSleepersIsCaughtByTid) {
  int tid_pipe[2];
  ASSERT_EQ(pipe(tid_pipe), 0);
  MazeLoop loop(kLimits, SIGKILL, SIGKILL);
  Child threaded([&] {
    for (int i = 0; i < 2; ++i) {
      pthread_t sleeper;
      pthread_create(
          &sleeper, nullptr,
          [](void*) -> void* {
            for (;;) usleep(10'000);
          },
          nullptr);
    }
    pthread_t spinner;
    pthread_create(
        &spinner, nullptr,
        [](void* fd) -> void* {
          pid_t tid = Gettid();
          write(*static_cast<int*>(fd), &tid, sizeof(tid));
          testing::SpinForever();
        },
        &tid_pipe[1]);
    for (;;) usleep(10'000);
  });
  pid_t spinner_tid = 0;
  ASSERT_EQ(read(tid_pipe[0], &spinner_tid, sizeof(spinner_tid)),
            static_cast<ssize_t>(sizeof(spinner_tid)));
  testing::WaitForThreads(threaded.pid(), 4);
  loop.Watch(threaded.pid(), WatchOrigin::kAttached);
  loop.RunFor(absl::Seconds(10), [&] { return !loop.signalled().empty(); });

  ASSERT_FALSE(loop.signalled().empty());
  const Signalled& soft = loop.signalled()[0];
  EXPECT_EQ(soft.action, MazeAction::kSoft);
  EXPECT_EQ(soft.tid, spinner_tid);
  EXPECT_NE(soft.tid, threaded.pid());
  EXPECT_GE(soft.cpu_at_signal, kLimits.soft);
  EXPECT_LE(soft.cpu_at_signal, kLimits.soft + kTolerance);
  std::printf("spinning thread %d caught at %s\n", soft.tid,
              absl::FormatDuration(soft.cpu_at_signal).c_str());
  close(tid_pipe[0]);
  close(tid_pipe[1]);
}

std::atomic<bool> soft_signal_seen{false};

TEST(MazeIntegrationTest, HandlingTheSoftSignalAndSleepingResetsTheCount) {
  MazeLoop loop(kLimits, SIGUSR1, SIGKILL);
  Child polite([] {
    signal(SIGUSR1, [](int) { soft_signal_seen = true; });
    while (!soft_signal_seen) {
    }
    usleep(100'000);  // blocks: the maze count resets
    // More than hard - soft of CPU again: would reach the hard limit
    // without the reset.
    testing::SpinFor(absl::Milliseconds(450));
    _exit(0);
  });
  loop.Watch(polite.pid(), WatchOrigin::kAttached);
  loop.RunFor(absl::Seconds(10), [&] {
    return std::any_of(loop.signalled().begin(), loop.signalled().end(),
                       [](const Signalled& s) {
                         return s.action == MazeAction::kReset;
                       });
  });
  int status = polite.Wait();
  EXPECT_THAT(loop.signalled(),
              ElementsAre(Field(&Signalled::action, MazeAction::kSoft),
                          Field(&Signalled::action, MazeAction::kReset)));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "status " << status;
}

TEST(MazeIntegrationTest, AChildForkedAfterTheWatchInheritsIt) {
  MazeLoop loop(kLimits, SIGKILL, SIGKILL);
  if (!loop.FollowForks()) {
    GTEST_SKIP() << "the proc connector needs CAP_NET_ADMIN";
  }
  int go[2];
  ASSERT_EQ(pipe(go), 0);
  Child parent([&] {
    char byte;
    read(go[0], &byte, 1);  // forks only once watched
    pid_t grandchild = fork();
    if (grandchild == 0) testing::SpinForever();
    waitpid(grandchild, nullptr, 0);
    pause();
  });
  loop.Watch(parent.pid(), WatchOrigin::kAttached);
  ASSERT_EQ(write(go[1], "x", 1), 1);
  loop.RunFor(absl::Seconds(10), [&] { return !loop.signalled().empty(); });

  ASSERT_EQ(loop.signalled().size(), 1u);
  const Signalled& soft = loop.signalled()[0];
  EXPECT_NE(soft.pid, parent.pid());
  EXPECT_EQ(soft.tid, soft.pid);
  EXPECT_EQ(soft.action, MazeAction::kSoft);
  // Counted from the fork, as MAZE's maze_fork does.
  EXPECT_GE(soft.cpu_at_signal, kLimits.soft);
  EXPECT_LE(soft.cpu_at_signal, kLimits.soft + kTolerance);
  std::printf("forked child %d caught at %s of CPU since its fork\n", soft.pid,
              absl::FormatDuration(soft.cpu_at_signal).c_str());
  EXPECT_THAT(loop.For(parent.pid()), IsEmpty());
  close(go[0]);
  close(go[1]);
}

TEST(MazeIntegrationTest, ASleepingWatchedProcessCostsNoWakeup) {
  MazeLoop loop(kLimits, SIGKILL, SIGKILL);
  Child sleeper([] { pause(); });
  loop.Watch(sleeper.pid(), WatchOrigin::kAttached);
  int wakeups = loop.RunFor(absl::Seconds(1));
  EXPECT_EQ(wakeups, 0);
  EXPECT_EQ(loop.evaluations(), 1);  // the watch's own first sample
}

// Where the userspace view differs from the kernel's: MAZE resets on
// sched_yield(), but a yield is not a block (no voluntary switch; a
// preemption at most), so a process spinning on sched_yield() is mazed here.
TEST(MazeIntegrationTest, AYieldingSpinnerIsMazedUnlikeKernelMaze) {
  MazeLoop loop(kLimits, SIGKILL, SIGKILL);
  Child yielder([] {
    for (;;) sched_yield();
  });
  loop.Watch(yielder.pid(), WatchOrigin::kAttached);
  loop.RunFor(absl::Seconds(10), [&] { return !loop.signalled().empty(); });
  ASSERT_FALSE(loop.signalled().empty());
  EXPECT_EQ(loop.signalled()[0].action, MazeAction::kSoft);
  EXPECT_EQ(loop.signalled()[0].tid, yielder.pid());
}

}  // namespace
}  // namespace vigil::maze
