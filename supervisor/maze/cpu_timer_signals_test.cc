#include "supervisor/maze/cpu_timer_signals.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "supervisor/maze/cpu_time_timer.h"
#include "supervisor/maze/test_processes.h"

namespace vigil::maze {
namespace {

using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;
using testing::Child;

const int kSignal = SIGRTMIN + 4;

TEST(CpuTimerSignalsTest, SeesEveryTimerThatFiredWhileNobodyRead) {
  absl::StatusOr<CpuTimerSignals> signals = CpuTimerSignals::Create(kSignal);
  ASSERT_TRUE(signals.ok()) << signals.status();
  EXPECT_EQ(signals->signo(), kSignal);
  std::vector<Child> spinners;
  std::vector<CpuTimeTimer> timers;
  for (uint64_t cookie : {11, 22, 33}) {
    spinners.emplace_back(testing::SpinForever);
    absl::StatusOr<CpuTimeTimer> timer =
        CpuTimeTimer::Create(spinners.back().pid(), kSignal, cookie);
    ASSERT_TRUE(timer.ok()) << timer.status();
    ASSERT_TRUE(timer->ArmAfter(absl::Milliseconds(10)).ok());
    timers.push_back(std::move(*timer));
  }
  // Let all three expire before reading: real-time signals queue.
  while (std::any_of(spinners.begin(), spinners.end(), [](const Child& c) {
    return testing::ProcessCpuTime(c.pid()) < absl::Milliseconds(50);
  })) {
    usleep(5000);
  }
  absl::StatusOr<std::vector<uint64_t>> fired = signals->ReadFired();
  ASSERT_TRUE(fired.ok()) << fired.status();
  EXPECT_THAT(*fired, UnorderedElementsAre(11, 22, 33));
  // Drained: nothing more, and the fd is no longer readable.
  pollfd pfd{signals->fd(), POLLIN, 0};
  EXPECT_EQ(poll(&pfd, 1, 0), 0);
  EXPECT_THAT(*signals->ReadFired(), IsEmpty());
}

TEST(CpuTimerSignalsTest, SignalsNotFromATimerAreConsumedAndIgnored) {
  absl::StatusOr<CpuTimerSignals> signals = CpuTimerSignals::Create(kSignal);
  ASSERT_TRUE(signals.ok());
  sigval value{};
  value.sival_int = 99;
  ASSERT_EQ(sigqueue(getpid(), kSignal, value), 0);
  ASSERT_EQ(kill(getpid(), kSignal), 0);
  pollfd pfd{signals->fd(), POLLIN, 0};
  ASSERT_EQ(poll(&pfd, 1, 1000), 1);
  EXPECT_THAT(*signals->ReadFired(), IsEmpty());
  EXPECT_EQ(poll(&pfd, 1, 0), 0);
}

TEST(CpuTimerSignalsTest, TheSignalStaysBlockedAfterDestruction) {
  { ASSERT_TRUE(CpuTimerSignals::Create(kSignal).ok()); }
  sigset_t mask;
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, nullptr, &mask), 0);
  EXPECT_TRUE(sigismember(&mask, kSignal));
}

TEST(CpuTimerSignalsTest, RejectsANonRealtimeSignal) {
  absl::StatusOr<CpuTimerSignals> signals = CpuTimerSignals::Create(SIGTERM);
  ASSERT_FALSE(signals.ok());
  EXPECT_EQ(signals.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vigil::maze
