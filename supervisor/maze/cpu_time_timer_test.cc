#include "supervisor/maze/cpu_time_timer.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "supervisor/maze/cpu_timer_signals.h"
#include "supervisor/maze/test_processes.h"

namespace vigil::maze {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::Child;

const int kSignal = SIGRTMIN + 3;

// Waits up to `timeout` of wall time for timer expiries.
std::vector<uint64_t> WaitFired(CpuTimerSignals& signals,
                                absl::Duration timeout) {
  pollfd pfd{signals.fd(), POLLIN, 0};
  if (poll(&pfd, 1, absl::ToInt64Milliseconds(timeout)) <= 0) return {};
  absl::StatusOr<std::vector<uint64_t>> fired = signals.ReadFired();
  EXPECT_TRUE(fired.ok()) << fired.status();
  return fired.ok() ? *fired : std::vector<uint64_t>{};
}

size_t PosixTimersOfThisProcess() {
  std::ifstream timers("/proc/self/timers");
  size_t count = 0;
  for (std::string line; std::getline(timers, line);) {
    if (line.rfind("ID:", 0) == 0) ++count;
  }
  return count;
}

TEST(CpuTimeTimerTest, FiresAfterTheRequestedCpuTimeOfASpinningProcess) {
  absl::StatusOr<CpuTimerSignals> signals = CpuTimerSignals::Create(kSignal);
  ASSERT_TRUE(signals.ok()) << signals.status();
  Child spinner(testing::SpinForever);
  const uint64_t cookie = 0xfeedface12345678;
  absl::StatusOr<CpuTimeTimer> timer =
      CpuTimeTimer::Create(spinner.pid(), kSignal, cookie);
  ASSERT_TRUE(timer.ok()) << timer.status();
  absl::StatusOr<absl::Duration> start = timer->ProcessCpuTime();
  ASSERT_TRUE(start.ok()) << start.status();
  ASSERT_TRUE(timer->ArmAfter(absl::Milliseconds(100)).ok());

  EXPECT_THAT(WaitFired(*signals, absl::Seconds(5)), ElementsAre(cookie));
  absl::StatusOr<absl::Duration> at_fire = timer->ProcessCpuTime();
  ASSERT_TRUE(at_fire.ok());
  EXPECT_GE(*at_fire - *start, absl::Milliseconds(100));
  // Expiry is checked at the scheduler tick; the child keeps running on the
  // other core while this thread wakes, which on a busy host can take tens
  // of ms. The precision bound is maze_integration_test's business.
  EXPECT_LT(*at_fire - *start, absl::Milliseconds(200));
}

TEST(CpuTimeTimerTest, ASleepingProcessNeverFires) {
  absl::StatusOr<CpuTimerSignals> signals = CpuTimerSignals::Create(kSignal);
  ASSERT_TRUE(signals.ok());
  Child sleeper([] { pause(); });
  absl::StatusOr<CpuTimeTimer> timer =
      CpuTimeTimer::Create(sleeper.pid(), kSignal, 1);
  ASSERT_TRUE(timer.ok()) << timer.status();
  ASSERT_TRUE(timer->ArmAfter(absl::Milliseconds(1)).ok());
  EXPECT_THAT(WaitFired(*signals, absl::Milliseconds(500)), ElementsAre());
}

TEST(CpuTimeTimerTest, DisarmStopsAPendingExpiry) {
  absl::StatusOr<CpuTimerSignals> signals = CpuTimerSignals::Create(kSignal);
  ASSERT_TRUE(signals.ok());
  Child spinner(testing::SpinForever);
  absl::StatusOr<CpuTimeTimer> timer =
      CpuTimeTimer::Create(spinner.pid(), kSignal, 2);
  ASSERT_TRUE(timer.ok());
  ASSERT_TRUE(timer->ArmAfter(absl::Milliseconds(50)).ok());
  ASSERT_TRUE(timer->Disarm().ok());
  EXPECT_THAT(WaitFired(*signals, absl::Milliseconds(300)), ElementsAre());
  // Re-arming after a disarm works: it is the same timer.
  ASSERT_TRUE(timer->ArmAfter(absl::Milliseconds(20)).ok());
  EXPECT_THAT(WaitFired(*signals, absl::Seconds(5)), ElementsAre(2));
}

TEST(CpuTimeTimerTest, RearmingReplacesTheEarlierExpiry) {
  absl::StatusOr<CpuTimerSignals> signals = CpuTimerSignals::Create(kSignal);
  ASSERT_TRUE(signals.ok());
  Child spinner(testing::SpinForever);
  absl::StatusOr<CpuTimeTimer> timer =
      CpuTimeTimer::Create(spinner.pid(), kSignal, 3);
  ASSERT_TRUE(timer.ok());
  absl::Duration start = *timer->ProcessCpuTime();
  ASSERT_TRUE(timer->ArmAfter(absl::Milliseconds(20)).ok());
  ASSERT_TRUE(timer->ArmAfter(absl::Milliseconds(200)).ok());
  EXPECT_THAT(WaitFired(*signals, absl::Seconds(5)), ElementsAre(3));
  EXPECT_GE(*timer->ProcessCpuTime() - start, absl::Milliseconds(200));
}

TEST(CpuTimeTimerTest, DestructorAndMoveOwnExactlyOneKernelTimer) {
  Child sleeper([] { pause(); });
  size_t before = PosixTimersOfThisProcess();
  {
    absl::StatusOr<CpuTimeTimer> timer =
        CpuTimeTimer::Create(sleeper.pid(), kSignal, 4);
    ASSERT_TRUE(timer.ok());
    CpuTimeTimer moved = std::move(*timer);
    CpuTimeTimer assigned = std::move(moved);
    EXPECT_EQ(PosixTimersOfThisProcess(), before + 1);
    EXPECT_EQ(assigned.pid(), sleeper.pid());
    EXPECT_EQ(assigned.cookie(), 4u);
  }
  EXPECT_EQ(PosixTimersOfThisProcess(), before);
}

TEST(CpuTimeTimerTest, RejectsANonRealtimeSignal) {
  absl::StatusOr<CpuTimeTimer> timer =
      CpuTimeTimer::Create(getpid(), SIGUSR1, 0);
  ASSERT_FALSE(timer.ok());
  EXPECT_EQ(timer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(timer.status().message(), HasSubstr("not a real-time signal"));
}

TEST(CpuTimeTimerTest, RejectsAProcessThatIsGone) {
  pid_t gone;
  {
    Child quick([] {});
    gone = quick.pid();
    quick.Wait();
  }
  absl::StatusOr<CpuTimeTimer> timer = CpuTimeTimer::Create(gone, kSignal, 0);
  ASSERT_FALSE(timer.ok());
  EXPECT_THAT(timer.status().message(),
              HasSubstr("clock_getcpuclockid(pid " + std::to_string(gone)));
}

// The per-thread finding: only whole processes of others can be timed.
TEST(CpuTimeTimerTest, ANonLeaderThreadOfAnotherProcessCannotBeTimed) {
  Child threaded([] {
    pthread_t thread;
    pthread_create(
        &thread, nullptr, [](void*) -> void* { pause(); return nullptr; },
        nullptr);
    pause();
  });
  std::vector<pid_t> tids = testing::WaitForThreads(threaded.pid(), 2);
  pid_t other_thread = tids[0] == threaded.pid() ? tids[1] : tids[0];

  absl::StatusOr<CpuTimeTimer> timer =
      CpuTimeTimer::Create(other_thread, kSignal, 0);
  ASSERT_FALSE(timer.ok());
  EXPECT_THAT(timer.status().message(), HasSubstr("not a thread"));

  // The kernel's per-thread clock encoding, MAKE_THREAD_CPUCLOCK(tid,
  // CPUCLOCK_SCHED) = (~tid << 3) | 4 | 2, which pthread_getcpuclockid()
  // builds for threads of one's own process, is refused for another
  // process's threads, the leader's included: posix-cpu-timers only resolve
  // thread clocks within the caller's thread group.
  for (pid_t tid : tids) {
    clockid_t thread_clock = (~static_cast<clockid_t>(tid) << 3) | 4 | 2;
    sigevent event{};
    event.sigev_notify = SIGEV_SIGNAL;
    event.sigev_signo = kSignal;
    timer_t raw;
    errno = 0;
    EXPECT_EQ(timer_create(thread_clock, &event, &raw), -1) << "tid " << tid;
    EXPECT_EQ(errno, EINVAL) << "tid " << tid;
    timespec now;
    EXPECT_EQ(clock_gettime(thread_clock, &now), -1) << "tid " << tid;
  }
}

}  // namespace
}  // namespace vigil::maze
