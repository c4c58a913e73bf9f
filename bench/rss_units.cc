// rss_units: what N units cost vigild. Runs vigild with one unit, then with
// N units of `sleep infinity`, and prints time to all-running, VmRSS/VmHWM,
// the per-unit memory cost against the one-unit run, open fds, and vigild's
// context switches and CPU over an idle window (the promise: zero).
//
//   bazel run //bench:rss_units -- [--units=N] [--idle_seconds=S] [--quick]
#include <sys/stat.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/flags.h"
#include "bench/process_stats.h"
#include "bench/report.h"
#include "test/vigild_harness.h"

namespace vigil::bench {
namespace {

using testing::EventField;
using testing::EventTime;

struct Measurement {
  int units = 0;
  double all_running_ms = 0;  // vigild's exec to its last "running" event
  double start_cpu_ms = 0;     // vigild's CPU until all are running (and polled)
  Memory after_start;
  Memory after_idle;
  int64_t open_fds = 0;
  int64_t idle_switches = 0;
  double idle_cpu_us = 0;
  double stop_ms = 0;  // SIGTERM to vigild's exit, every unit stopped
};

// The time vigild stamped on the last "running" event. Units may spawn
// before vigild first answers its socket; the subscription's replay of recent
// events still holds the last of them.
absl::StatusOr<absl::Time> LastRunningEvent(testing::VigildHarness& vigild, int units) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (int running = 0; running < units;) {
    if (std::chrono::steady_clock::now() > deadline) {
      return absl::DeadlineExceededError(absl::StrFormat(
          "%d of %d units running after 60 s; vigild log:\n%s", running, units, vigild.ReadLog()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    auto status = vigild.Request("status");
    if (!status.ok()) return status.status();
    running = 0;
    for (const json::Value& unit : status->Find("units")->AsArray()) {
      running += EventField(unit, "state") == "running";
    }
  }
  // Drain what is queued: nothing matches, the wait ends when the stream is quiet.
  (void)vigild.WaitForEvent([](const json::Value&) { return false; },
                            std::chrono::milliseconds(300));
  absl::Time last = absl::InfinitePast();
  for (const json::Value& e : vigild.history()) {
    if (EventField(e, "kind") == "state" && EventField(e, "state") == "running") {
      last = std::max(last, EventTime(e));
    }
  }
  if (last == absl::InfinitePast()) return absl::InternalError("no \"running\" event replayed");
  return last;
}

absl::StatusOr<int64_t> OpenFds(pid_t pid) {
  struct stat fd_dir;
  std::string path = absl::StrCat("/proc/", pid, "/fd");
  if (stat(path.c_str(), &fd_dir) != 0) return absl::NotFoundError(absl::StrCat("stat ", path));
  return fd_dir.st_size;  // the number of open fds (kernel >= 6.2)
}

absl::StatusOr<Measurement> Measure(int units, std::chrono::seconds idle_window) {
  Measurement m;
  m.units = units;
  testing::VigildHarness vigild;
  for (int i = 0; i < units; ++i) {
    vigild.WriteUnit(absl::StrFormat("sleeper%04d", i), "exec: [/bin/sleep, infinity]\n");
  }
  absl::Time launched = absl::Now();
  if (absl::Status started = vigild.Start(); !started.ok()) return started;
  absl::StatusOr<absl::Time> all_running = LastRunningEvent(vigild, units);
  if (!all_running.ok()) return all_running.status();
  m.all_running_ms = absl::ToDoubleMilliseconds(*all_running - launched);
  absl::StatusOr<CpuTime> start_cpu = ReadCpuTime(vigild.pid());
  if (!start_cpu.ok()) return start_cpu.status();
  m.start_cpu_ms = start_cpu->on_cpu_us / 1000;

  absl::StatusOr<Memory> memory = ReadMemory(vigild.pid());
  absl::StatusOr<int64_t> fds = OpenFds(vigild.pid());
  if (!memory.ok()) return memory.status();
  if (!fds.ok()) return fds.status();
  m.after_start = *memory;
  m.open_fds = *fds;

  absl::StatusOr<int64_t> switches_before = testing::ContextSwitches(vigild.pid());
  absl::StatusOr<CpuTime> cpu_before = ReadCpuTime(vigild.pid());
  if (!switches_before.ok()) return switches_before.status();
  if (!cpu_before.ok()) return cpu_before.status();
  std::this_thread::sleep_for(idle_window);
  absl::StatusOr<int64_t> switches_after = testing::ContextSwitches(vigild.pid());
  absl::StatusOr<CpuTime> cpu_after = ReadCpuTime(vigild.pid());
  memory = ReadMemory(vigild.pid());
  if (!switches_after.ok()) return switches_after.status();
  if (!cpu_after.ok()) return cpu_after.status();
  if (!memory.ok()) return memory.status();
  m.idle_switches = *switches_after - *switches_before;
  m.idle_cpu_us = (*cpu_after - *cpu_before).on_cpu_us;
  m.after_idle = *memory;

  auto stop_start = std::chrono::steady_clock::now();
  absl::StatusOr<int> stopped = vigild.Stop();
  if (!stopped.ok()) return stopped.status();
  m.stop_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                        stop_start).count();
  return m;
}

absl::Status Run(int units, int idle_seconds) {
  std::cout << "rss_units: vigild with 1 unit, then with " << units
            << " units of `sleep infinity`\n"
            << "machine: " << MachineLine() << "\n"
            << "idle window: " << idle_seconds << " s\n\n";
  std::chrono::seconds idle(idle_seconds);
  absl::StatusOr<Measurement> one = Measure(1, idle);
  if (!one.ok()) return one.status();
  absl::StatusOr<Measurement> many = Measure(units, idle);
  if (!many.ok()) return many.status();

  int added = units - 1;
  auto per_unit = [&](double one_value, double many_value, const char* format) {
    return added > 0 ? absl::StrFormat(format, (many_value - one_value) / added) : "n/a";
  };
  std::cout << absl::StrFormat("%-34s %14s %14s %14s\n", "vigild", "1 unit",
                               absl::StrCat(units, " units"), "per added unit");
  std::cout << absl::StrFormat("%-34s %14.1f %14.1f %14s\n", "time to all running (ms)",
                               one->all_running_ms, many->all_running_ms,
                               per_unit(one->all_running_ms, many->all_running_ms, "%.3f"));
  std::cout << absl::StrFormat("%-34s %14.1f %14.1f %14s\n", "vigild CPU during start-up (ms)",
                               one->start_cpu_ms, many->start_cpu_ms,
                               per_unit(one->start_cpu_ms, many->start_cpu_ms, "%.3f"));
  std::cout << absl::StrFormat("%-34s %14d %14d %14s\n", "VmRSS after start (KiB)",
                               one->after_start.rss_kib, many->after_start.rss_kib,
                               per_unit(one->after_start.rss_kib, many->after_start.rss_kib,
                                        "%.2f"));
  std::cout << absl::StrFormat("%-34s %14d %14d %14s\n", "VmRSS after idle window (KiB)",
                               one->after_idle.rss_kib, many->after_idle.rss_kib,
                               per_unit(one->after_idle.rss_kib, many->after_idle.rss_kib,
                                        "%.2f"));
  std::cout << absl::StrFormat("%-34s %14d %14d %14s\n", "VmHWM peak (KiB)",
                               one->after_idle.hwm_kib, many->after_idle.hwm_kib,
                               per_unit(one->after_idle.hwm_kib, many->after_idle.hwm_kib,
                                        "%.2f"));
  std::cout << absl::StrFormat("%-34s %14d %14d %14s\n", "open fds", one->open_fds,
                               many->open_fds,
                               per_unit(one->open_fds, many->open_fds, "%.2f"));
  std::cout << absl::StrFormat("%-34s %14d %14d %14s\n", "context switches in idle window",
                               one->idle_switches, many->idle_switches, "");
  std::cout << absl::StrFormat("%-34s %14.1f %14.1f %14s\n", "CPU in idle window (us)",
                               one->idle_cpu_us, many->idle_cpu_us, "");
  std::cout << absl::StrFormat("%-34s %14.1f %14.1f %14s\n", "stop of all units (ms)",
                               one->stop_ms, many->stop_ms,
                               per_unit(one->stop_ms, many->stop_ms, "%.3f"));
  return absl::OkStatus();
}

}  // namespace
}  // namespace vigil::bench

int main(int argc, char** argv) {
  int units = 0;
  int idle_seconds = 0;
  bool quick = false;
  absl::Status flags = vigil::bench::ParseFlags(
      argc, argv, {{"units", &units}, {"idle_seconds", &idle_seconds}}, &quick);
  if (!flags.ok()) {
    std::cerr << "rss_units: " << flags.message() << "\n"
              << "usage: rss_units [--units=N (default 1000)] [--idle_seconds=S (default 5)] "
                 "[--quick (50 units, 1 s)]\n";
    return 2;
  }
  if (units == 0) units = quick ? 50 : 1000;
  if (idle_seconds == 0) idle_seconds = quick ? 1 : 5;
  absl::Status status = vigil::bench::Run(units, idle_seconds);
  if (!status.ok()) {
    std::cerr << "rss_units: " << status.message() << "\n";
    return 1;
  }
  return 0;
}
