// exit_latency: how long after a SIGKILL does a client of vigild's control
// socket hear the unit's "exit" event? Beside it, in the same run and
// interleaved kill by kill, the floor any supervisor sits on: a bare waiter
// polling a pidfd of a child it killed itself.
//
//   bazel run //bench:exit_latency -- [--kills=N] [--quick]
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/flags.h"
#include "bench/process_stats.h"
#include "bench/report.h"
#include "test/vigild_harness.h"

namespace vigil::bench {
namespace {

using Clock = std::chrono::steady_clock;
using testing::EventField;
using testing::EventInt;

constexpr char kUnit[] = "victim";

double MicrosSince(Clock::time_point start) {
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}

// Kills are timed against a process already asleep in sleep(1), never one
// still in fork or exec, so both sides kill the same kind of process.
absl::Status WaitUntilAsleepInSleep(pid_t pid) {
  auto deadline = Clock::now() + std::chrono::seconds(5);
  std::string path = absl::StrCat("/proc/", pid, "/stat");
  while (Clock::now() < deadline) {
    std::string stat;
    std::getline(std::ifstream(path), stat);
    if (absl::StrContains(stat, "(sleep) S ")) return absl::OkStatus();
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  return absl::DeadlineExceededError(absl::StrCat("pid ", pid, " never slept in sleep(1)"));
}

// One sample of the baseline: fork+exec `sleep infinity`, SIGKILL it, time
// until its pidfd polls readable.
absl::StatusOr<double> BarePidfdKill() {
  pid_t child = fork();
  if (child < 0) return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  if (child == 0) {
    execl("/bin/sleep", "sleep", "infinity", nullptr);
    _exit(127);
  }
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, child, 0));
  if (pidfd < 0) {
    int err = errno;
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    return absl::InternalError(absl::StrCat("pidfd_open: ", strerror(err)));
  }
  absl::Status asleep = WaitUntilAsleepInSleep(child);
  auto start = Clock::now();
  kill(child, SIGKILL);
  pollfd pfd{pidfd, POLLIN, 0};
  poll(&pfd, 1, -1);
  double latency_us = MicrosSince(start);
  siginfo_t info;
  waitid(P_PIDFD, pidfd, &info, WEXITED);
  close(pidfd);
  if (!asleep.ok()) return asleep;
  return latency_us;
}

class VigildKiller {
 public:
  explicit VigildKiller(testing::VigildHarness& vigild) : vigild_(vigild) {}

  // The unit's next main process, once vigild reports it running and it is
  // asleep.
  absl::StatusOr<pid_t> AwaitNextMain() {
    auto running = vigild_.WaitForEvent([&](const json::Value& e) {
      return EventField(e, "unit") == kUnit && EventField(e, "kind") == "state" &&
             EventField(e, "state") == "running" && EventInt(e, "pid") != last_pid_;
    });
    if (!running.ok()) return running.status();
    last_pid_ = EventInt(*running, "pid");
    if (absl::Status asleep = WaitUntilAsleepInSleep(last_pid_); !asleep.ok()) return asleep;
    return last_pid_;
  }

  // Kills `pid` and times until its "exit" event arrives on the subscription.
  absl::StatusOr<double> KillAndTime(pid_t pid) {
    auto start = Clock::now();
    kill(pid, SIGKILL);
    auto exited = vigild_.WaitForEvent([&](const json::Value& e) {
      return EventField(e, "kind") == "exit" && EventInt(e, "pid") == pid;
    });
    if (!exited.ok()) return exited.status();
    return MicrosSince(start);
  }

 private:
  testing::VigildHarness& vigild_;
  pid_t last_pid_ = 0;
};

absl::Status Run(int kills) {
  testing::VigildHarness vigild;
  vigild.WriteUnit(kUnit,
                   "exec: [/bin/sleep, infinity]\n"
                   "restart: always\n"
                   "backoff: {initial: 1ms, max: 1ms, factor: 1}\n"
                   "start_limit: {burst: 1000000, interval: 1s}\n");
  if (absl::Status started = vigild.Start(); !started.ok()) return started;
  auto caps = vigild.Request("capabilities");
  if (!caps.ok()) return caps.status();
  const json::Value* c = caps->Find("capabilities");
  std::cout << "exit_latency: SIGKILL of a unit's main process -> its \"exit\" event read by a "
               "control-socket subscriber\n"
            << "machine: " << MachineLine() << "\n"
            << "vigild: event loop " << (c ? EventField(*c, "event_loop") : "?") << ", spawn "
            << (c ? EventField(*c, "spawn") : "?") << ", cgroup root "
            << vigild.cgroup_root() << "\n"
            << kills << " kills, alternating with the baseline kill by kill\n\n";

  VigildKiller killer(vigild);
  absl::StatusOr<pid_t> main_pid = killer.AwaitNextMain();
  if (!main_pid.ok()) return main_pid.status();
  // The window covers whole cycles: kill, exit event, backoff, respawn.
  absl::StatusOr<CpuTime> cpu_before = ReadCpuTime(vigild.pid());
  absl::StatusOr<int64_t> switches_before = testing::ContextSwitches(vigild.pid());
  if (!cpu_before.ok()) return cpu_before.status();
  if (!switches_before.ok()) return switches_before.status();
  size_t events_before = vigild.history().size();
  std::vector<double> vigild_us, baseline_us;
  for (int i = 0; i < kills; ++i) {
    absl::StatusOr<double> through_vigild = killer.KillAndTime(*main_pid);
    if (!through_vigild.ok()) return through_vigild.status();
    vigild_us.push_back(*through_vigild);
    absl::StatusOr<double> bare = BarePidfdKill();
    if (!bare.ok()) return bare.status();
    baseline_us.push_back(*bare);
    main_pid = killer.AwaitNextMain();
    if (!main_pid.ok()) return main_pid.status();
  }
  absl::StatusOr<CpuTime> cpu_after = ReadCpuTime(vigild.pid());
  absl::StatusOr<int64_t> switches_after = testing::ContextSwitches(vigild.pid());
  if (!cpu_after.ok()) return cpu_after.status();
  if (!switches_after.ok()) return switches_after.status();
  size_t events = vigild.history().size() - events_before;
  int cycles = kills;

  LatencySummary through_vigild = Summarize(vigild_us);
  LatencySummary bare = Summarize(baseline_us);
  std::cout << LatencyHeader() << "\n"
            << LatencyRow("vigild exit event", through_vigild) << "\n"
            << LatencyRow("bare pidfd waiter (baseline)", bare) << "\n"
            << RatioRow("ratio vigild / baseline", through_vigild, bare) << "\n\n";
  CpuTime cpu = *cpu_after - *cpu_before;
  std::cout << absl::StrFormat(
      "vigild per kill cycle (exit, reap, 1ms backoff, respawn; %.1f events published):\n"
      "  CPU utime+stime %8.1f us   (/proc/<pid>/stat, %ld Hz ticks: coarse)\n"
      "  CPU on-cpu      %8.1f us   (/proc/<pid>/task/*/schedstat)\n"
      "  context switches %7.1f\n"
      "vigild per published event: on-cpu %.1f us\n",
      static_cast<double>(events) / cycles, cpu.user_system_us / cycles, sysconf(_SC_CLK_TCK),
      cpu.on_cpu_us / cycles, static_cast<double>(*switches_after - *switches_before) / cycles,
      cpu.on_cpu_us / events);
  return absl::OkStatus();
}

}  // namespace
}  // namespace vigil::bench

int main(int argc, char** argv) {
  int kills = 0;
  bool quick = false;
  absl::Status flags = vigil::bench::ParseFlags(argc, argv, {{"kills", &kills}}, &quick);
  if (!flags.ok()) {
    std::cerr << "exit_latency: " << flags.message() << "\n"
              << "usage: exit_latency [--kills=N (default 1000)] [--quick (50 kills)]\n";
    return 2;
  }
  if (kills == 0) kills = quick ? 50 : 1000;
  absl::Status status = vigil::bench::Run(kills);
  if (!status.ok()) {
    std::cerr << "exit_latency: " << status.message() << "\n";
    return 1;
  }
  return 0;
}
