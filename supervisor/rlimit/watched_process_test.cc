// WatchedProcess and ProcfsFdCounter on real child processes.
#include "supervisor/rlimit/watched_process.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <ctime>
#include <functional>

#include "gtest/gtest.h"
#include "supervisor/maze/cpu_timer_signals.h"
#include "supervisor/rlimit/procfs_fd_counter.h"
#include "supervisor/rlimit/test_util.h"

namespace vigil::rlimit {
namespace {

// A forked child that runs commands sent over a pipe, one byte each, and
// acknowledges each with a byte: 'o' opens 10 fds, 'c' closes them,
// 's' spins 60 ms of CPU, 'z' sleeps (blocks) briefly.
class Child : public testing::CommandedChild {
 public:
  Child() : CommandedChild(Serve) {}

 private:
  [[noreturn]] static void Serve(int in, int out) {
    int fds[10];
    char c;
    while (read(in, &c, 1) == 1) {
      if (c == 'o') {
        for (int& fd : fds) fd = open("/dev/null", O_RDONLY);
      } else if (c == 'c') {
        for (int fd : fds) close(fd);
      } else if (c == 's') {
        testing::SpinCpu(CLOCK_THREAD_CPUTIME_ID, 60'000'000);
      } else if (c == 'z') {
        usleep(2000);
      }
      if (write(out, &c, 1) != 1) break;
    }
    _exit(0);
  }
};

int Signo() { return SIGRTMIN + 3; }

TEST(WatchedProcessTest, RefusesMissingProcessesAndThreads) {
  EXPECT_EQ(WatchedProcess::Open(0, Signo(), 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(WatchedProcess::Open(-5, Signo(), 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  // A pid beyond pid_max exists nowhere.
  auto missing = WatchedProcess::Open(1 << 30, Signo(), 1);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(),
            absl::StrCat("no process ", 1 << 30, " (it does not exist or has exited)"));
  // A thread of this process: not a process.
  struct Thread {
    int ready[2];
    int release[2];
    pid_t tid = 0;
  } t;
  ASSERT_EQ(pipe(t.ready), 0);
  ASSERT_EQ(pipe(t.release), 0);
  pthread_t thread;
  pthread_create(&thread, nullptr, [](void* arg) -> void* {
    auto* t = static_cast<Thread*>(arg);
    t->tid = static_cast<pid_t>(syscall(SYS_gettid));
    char c = 1;
    (void)!write(t->ready[1], &c, 1);
    (void)!read(t->release[0], &c, 1);
    return nullptr;
  }, &t);
  char c;
  ASSERT_EQ(read(t.ready[0], &c, 1), 1);
  auto thread_watch = WatchedProcess::Open(t.tid, Signo(), 1);
  ASSERT_EQ(write(t.release[1], &c, 1), 1);
  pthread_join(thread, nullptr);
  for (int fd : {t.ready[0], t.ready[1], t.release[0], t.release[1]}) close(fd);
  EXPECT_EQ(thread_watch.status().code(), absl::StatusCode::kInvalidArgument)
      << thread_watch.status();
}

TEST(WatchedProcessTest, ReadsStatusCpuAndSeesExit) {
  Child child;
  auto process = WatchedProcess::Open(child.pid(), Signo(), 1);
  ASSERT_TRUE(process.ok()) << process.status();
  auto status = process->ReadStatus();
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->threads, 1);
  EXPECT_GT(status->rss_bytes, 0);
  EXPECT_EQ(status->uids.real, getuid());
  auto before = process->CpuTimeNs();
  ASSERT_TRUE(before.ok());
  child.Do('s');
  auto after = process->CpuTimeNs();
  ASSERT_TRUE(after.ok());
  EXPECT_GE(*after - *before, 60'000'000);
  EXPECT_FALSE(process->Exited());
  kill(child.pid(), SIGKILL);
  pollfd p{process->pidfd(), POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 5000), 1);
  EXPECT_TRUE(process->Exited());
  waitpid(child.pid(), nullptr, 0);  // reaped: /proc/<pid> is gone
  EXPECT_EQ(process->ReadStatus().status().code(), absl::StatusCode::kNotFound);
}

TEST(WatchedProcessTest, TimerFiresAfterTheProcessUsesTheCpu) {
  auto signals = maze::CpuTimerSignals::Create(Signo());
  ASSERT_TRUE(signals.ok()) << signals.status();
  Child child;
  auto process = WatchedProcess::Open(child.pid(), Signo(), 77);
  ASSERT_TRUE(process.ok()) << process.status();
  ASSERT_TRUE(process->ArmAfter(absl::Milliseconds(20)).ok());
  pollfd p{signals->fd(), POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 200), 0) << "fired while the process slept";
  child.Do('s');
  ASSERT_EQ(poll(&p, 1, 5000), 1);
  auto fired = signals->ReadFired();
  ASSERT_TRUE(fired.ok());
  EXPECT_EQ(*fired, std::vector<uint64_t>{77});
  ASSERT_TRUE(process->ArmAfter(std::nullopt).ok());
  child.Do('s');
  EXPECT_EQ(poll(&p, 1, 100), 0) << "fired while disarmed";
}

TEST(WatchedProcessTest, MazeCountGrowsWhileSpinningAndResetsWhenBlocked) {
  Child child;
  auto process = WatchedProcess::Open(child.pid(), Signo(), 1);
  ASSERT_TRUE(process.ok()) << process.status();
  auto first = process->MazeCountNs();
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, 0);  // counts start at the watch
  // The child spins, but the pipe read after the ack blocks it: what we can
  // see between two samples is one spin's worth, then a reset.
  child.Do('s');
  auto spun = process->MazeCountNs();
  ASSERT_TRUE(spun.ok());
  child.Do('z');
  auto rested = process->MazeCountNs();
  ASSERT_TRUE(rested.ok());
  EXPECT_LT(*rested, 10'000'000);
}

TEST(ProcfsFdCounterTest, CountsOpenFds) {
  Child child;
  ProcfsFdCounter counter;
  EXPECT_EQ(counter.Count(child.pid()).status().code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(counter.Track(child.pid()).ok());
  child.Do('z');  // the child has closed the pipe ends it does not use
  auto base = counter.Count(child.pid());
  ASSERT_TRUE(base.ok()) << base.status();
  child.Do('o');
  EXPECT_EQ(*counter.Count(child.pid()), *base + 10);
  child.Do('c');
  EXPECT_EQ(*counter.Count(child.pid()), *base);
  kill(child.pid(), SIGKILL);
  waitpid(child.pid(), nullptr, 0);
  EXPECT_EQ(counter.Count(child.pid()).status().code(), absl::StatusCode::kNotFound);
  counter.Untrack(child.pid());
  EXPECT_EQ(counter.Track(1 << 30).code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace vigil::rlimit
