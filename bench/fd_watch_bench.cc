// fd_watch_bench: the rlimit-events RFC's own experiment. A process opens and
// closes a file in a loop; how much slower is open()+close() while vigil
// watches its fd count? Measured for a hot file (dentry and inode cached)
// and a cold one (VFS caches dropped before each run), with no watch and with
// a vigil fd watch (userspace backend: stat of /proc/<pid>/fd on the
// process's CPU ticks), runs interleaved, medians printed beside the RFC's
// figures for audit and for its kernel patch.
//
//   bazel run //bench:fd_watch_bench -- [--hot_ops=N] [--cold_files=N]
//                                       [--rounds=N] [--quick]
//
// Cold runs write 2 to /proc/sys/vm/drop_caches (dentries and inodes, the
// whole host's) before each run; the inode blocks stay in the page cache, so
// "cold" is a cold path lookup, not a disk read as on the RFC's eMMC.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/flags.h"
#include "bench/report.h"
#include "rlimit/watcher.h"
#include "test/vigild_harness.h"

namespace vigil::bench {
namespace {

// Time of one run of the loop: wall, and the worker's own CPU time. The
// CPU time is what watching costs the watched process itself, and unlike
// the wall time it does not include time the worker spent preempted by
// unrelated load on a busy host.
struct RunTime {
  int64_t wall_ns = -1;
  int64_t cpu_ns = -1;
};

// A forked worker that waits for "go", runs the loop, and writes back the
// loop's RunTime. Forked fresh for each run so that every run starts
// the same way (and a watch can be placed on it before it starts).
class Worker {
 public:
  explicit Worker(std::vector<std::string> paths, int repeat) {
    int go[2], result[2];
    if (pipe(go) != 0 || pipe(result) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      close(go[1]);
      close(result[0]);
      char c;
      if (read(go[0], &c, 1) != 1) _exit(1);
      auto start = std::chrono::steady_clock::now();
      timespec cpu_start, cpu_end;
      clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu_start);
      for (int r = 0; r < repeat; ++r) {
        for (const std::string& path : paths) {
          int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
          if (fd < 0) _exit(2);
          close(fd);
        }
      }
      clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu_end);
      RunTime t;
      t.wall_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now() - start).count();
      t.cpu_ns = (cpu_end.tv_sec - cpu_start.tv_sec) * 1'000'000'000LL +
                 (cpu_end.tv_nsec - cpu_start.tv_nsec);
      (void)!write(result[1], &t, sizeof t);
      _exit(0);
    }
    close(go[0]);
    close(result[1]);
    go_ = go[1];
    result_ = result[0];
  }
  ~Worker() {
    close(go_);
    close(result_);
    if (pid_ > 0) waitpid(pid_, nullptr, 0);
  }
  pid_t pid() const { return pid_; }
  // wall_ns -1 on failure.
  RunTime Run() {
    RunTime t;
    if (write(go_, "g", 1) != 1 || read(result_, &t, sizeof t) != sizeof t) return RunTime{};
    return t;
  }

 private:
  pid_t pid_ = -1;
  int go_ = -1, result_ = -1;
};

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

bool DropVfsCaches() {
  sync();
  std::ofstream drop("/proc/sys/vm/drop_caches");
  drop << "2\n";
  drop.flush();
  return drop.good();
}

// Time a process has been on a CPU, in ns (first field of
// /proc/<pid>/schedstat: the scheduler's exact sum, not 10 ms ticks).
int64_t CpuNs(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/schedstat"));
  int64_t ns = 0;
  in >> ns;
  return ns;
}

struct Figures {
  double unwatched_cpu_ns = 0;  // medians, per open+close
  double watched_cpu_ns = 0;
  double unwatched_wall_ns = 0;
  double watched_wall_ns = 0;
  int64_t vigild_switches = 0;  // during the watched runs
  int64_t vigild_cpu_ns = 0;
  double watched_cpu_s = 0;     // the workers' CPU while watched
};

// Alternates unwatched and watched runs `rounds` times; ns per open+close.
absl::StatusOr<Figures> Measure(testing::VigildHarness& vigild, rlimit::Watcher& watcher,
                                const std::vector<std::string>& paths, int repeat, int rounds,
                                bool cold) {
  std::vector<double> unwatched_cpu, watched_cpu, unwatched_wall, watched_wall;
  Figures f;
  const double ops = static_cast<double>(paths.size()) * repeat;
  for (int round = 0; round < rounds; ++round) {
    // Alternate which goes first, so that nothing that drifts within a round
    // (caches refilling, writeback after the drop) favours one side.
    for (bool watch : {round % 2 == 1, round % 2 == 0}) {
      if (cold && !DropVfsCaches()) {
        return absl::PermissionDeniedError("cannot write /proc/sys/vm/drop_caches (needs root)");
      }
      Worker worker(paths, repeat);
      if (worker.pid() <= 0) return absl::InternalError("fork failed");
      // A level the run never reaches: the cost measured is the watching.
      if (watch) {
        rlimit::Error added = watcher.Add(worker.pid(), RLE_RES_NOFILE, 1000);
        if (!added.ok()) return absl::InternalError(added.message);
      }
      absl::StatusOr<int64_t> before = testing::ContextSwitches(vigild.pid());
      int64_t vigild_cpu_before = CpuNs(vigild.pid());
      RunTime t = worker.Run();
      absl::StatusOr<int64_t> after = testing::ContextSwitches(vigild.pid());
      if (t.wall_ns <= 0) return absl::InternalError("worker failed");
      (watch ? watched_cpu : unwatched_cpu).push_back(t.cpu_ns / ops);
      (watch ? watched_wall : unwatched_wall).push_back(t.wall_ns / ops);
      if (watch) {
        if (before.ok() && after.ok()) f.vigild_switches += *after - *before;
        f.vigild_cpu_ns += CpuNs(vigild.pid()) - vigild_cpu_before;
        f.watched_cpu_s += t.cpu_ns / 1e9;
        // Its exit event ends the watch; drain it so events never pile up.
        rlimit::Error error;
        while (watcher.pending() > 0 || [&] {
          pollfd p{watcher.fd(), POLLIN, 0};
          return poll(&p, 1, 0) == 1;
        }()) {
          watcher.Read(&error);
        }
      }
    }
  }
  f.unwatched_cpu_ns = Median(unwatched_cpu);
  f.watched_cpu_ns = Median(watched_cpu);
  f.unwatched_wall_ns = Median(unwatched_wall);
  f.watched_wall_ns = Median(watched_wall);
  return f;
}

std::string Overhead(double watched, double unwatched) {
  return absl::StrFormat("%.2f%%", 100.0 * (watched - unwatched) / unwatched);
}

absl::Status Run(int hot_ops, int cold_files, int rounds) {
  testing::VigildHarness vigild;
  if (absl::Status started = vigild.Start(); !started.ok()) return started;
  rlimit::Error error;
  std::optional<rlimit::Watcher> watcher =
      rlimit::Watcher::Open(vigild.dir() + "/rlimit-events.sock", &error);
  if (!watcher) return absl::UnavailableError(error.message);

  const std::string dir = vigild.dir() + "/files";
  std::filesystem::create_directories(dir);
  const std::string hot = dir + "/hot";
  std::ofstream(hot) << "hot\n";
  std::vector<std::string> cold;
  for (int i = 0; i < cold_files; ++i) {
    cold.push_back(absl::StrCat(dir, "/cold-", i));
    std::ofstream(cold.back()) << i;
  }
  absl::StatusOr<Figures> hot_figures =
      Measure(vigild, *watcher, {hot}, hot_ops, rounds, /*cold=*/false);
  if (!hot_figures.ok()) return hot_figures.status();
  absl::StatusOr<Figures> cold_figures =
      Measure(vigild, *watcher, cold, 1, rounds, /*cold=*/true);
  if (!cold_figures.ok()) return cold_figures.status();

  std::cout << MachineLine() << "\n";
  std::cout << absl::StrFormat(
      "open()+close() in the watched process, median of %d interleaved runs each (order alternating); hot: %d "
      "ops per run, cold: %d files per run after dropping dentries+inodes\n\n",
      rounds, hot_ops, cold_files);
  const Figures& h = *hot_figures;
  const Figures& c = *cold_figures;
  auto row = [](const std::string& name, const std::string& hot, const std::string& cold) {
    std::cout << absl::StrFormat("%-40s %12s %12s\n", name, hot, cold);
  };
  auto ns = [](double v) { return absl::StrFormat("%.1f", v); };
  row("", "hot", "cold");
  row("no watch (CPU ns/op)", ns(h.unwatched_cpu_ns), ns(c.unwatched_cpu_ns));
  row("vigil fd watch (CPU ns/op)", ns(h.watched_cpu_ns), ns(c.watched_cpu_ns));
  row("vigil fd watch overhead (CPU)", Overhead(h.watched_cpu_ns, h.unwatched_cpu_ns),
      Overhead(c.watched_cpu_ns, c.unwatched_cpu_ns));
  row("no watch (wall ns/op)", ns(h.unwatched_wall_ns), ns(c.unwatched_wall_ns));
  row("vigil fd watch (wall ns/op)", ns(h.watched_wall_ns), ns(c.watched_wall_ns));
  row("vigil fd watch overhead (wall)", Overhead(h.watched_wall_ns, h.unwatched_wall_ns),
      Overhead(c.watched_wall_ns, c.unwatched_wall_ns));
  row("audit, one rule (RFC, Odroid U3+)", "44.6%", "33.34%");
  row("rlimit-events patch (RFC)", "5.63%", "1.58%");
  row("target (issue 6)", "<1%", "<1%");
  const double cpu_s = h.watched_cpu_s + c.watched_cpu_s;
  std::cout << "\n";
  row("vigild wakeups per s of watched CPU",
      absl::StrFormat("%.1f", cpu_s > 0 ? (h.vigild_switches + c.vigild_switches) / cpu_s : 0),
      "");
  row("vigild CPU per s of watched CPU (ms)",
      absl::StrFormat("%.2f", cpu_s > 0 ? (h.vigild_cpu_ns + c.vigild_cpu_ns) / 1e6 / cpu_s
                                        : 0),
      "");
  std::cout << "(one wakeup per cpu_tick, 10ms by default, of the watched process's CPU; "
               "vigild runs on another core)\n";
  return absl::OkStatus();
}

}  // namespace
}  // namespace vigil::bench

int main(int argc, char** argv) {
  int hot_ops = 0, cold_files = 0, rounds = 0;
  bool quick = false;
  absl::Status flags = vigil::bench::ParseFlags(
      argc, argv, {{"hot_ops", &hot_ops}, {"cold_files", &cold_files}, {"rounds", &rounds}},
      &quick);
  if (!flags.ok()) {
    std::cerr << "fd_watch_bench: " << flags.message() << "\n"
              << "usage: fd_watch_bench [--hot_ops=N (default 2000000)] "
                 "[--cold_files=N (default 20000)] [--rounds=N (default 10)] [--quick]\n";
    return 2;
  }
  if (hot_ops == 0) hot_ops = quick ? 100000 : 2000000;
  if (cold_files == 0) cold_files = quick ? 2000 : 20000;
  if (rounds == 0) rounds = quick ? 2 : 10;
  absl::Status status = vigil::bench::Run(hot_ops, cold_files, rounds);
  if (!status.ok()) {
    std::cerr << "fd_watch_bench: " << status.message() << "\n";
    return 1;
  }
  return 0;
}
