// check_vigil_bench: one Nagios process check per call, `-C sleep` over five
// sleep processes, with 20 and with 2,000 other processes (copies of sleep
// under another name) on the host: the real check_procs
// (fork of ps, which reads all of /proc), check_vigil scanning /proc itself,
// and check_vigil answered from vigild's process table (only the matching
// processes are read). Wall time and the plugin's own CPU (user+sys of the
// plugin and its children, from wait4) per call; for the vigild mode also
// vigild's CPU per answer. Prints figures, asserts nothing.
//
//   bazel run //bench:check_vigil_bench -- [--calls=N] [--quick]
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "bench/flags.h"
#include "bench/process_stats.h"
#include "bench/report.h"
#include "test/vigild_harness.h"

namespace vigil::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr char kCheckProcs[] = "/usr/lib/nagios/plugins/check_procs";

std::string CheckVigil() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  std::string runfiles = absl::StrCat(srcdir ? srcdir : ".", "/vigil/nagios/check_vigil");
  if (access(runfiles.c_str(), X_OK) == 0) return runfiles;
  return "nagios/check_vigil";
}

struct Call {
  double wall_us = 0;
  double cpu_us = 0;
};

// Runs the plugin once with `socket` as $VIGIL_SOCKET ("" = standalone),
// output to /dev/null.
Call RunOnce(const std::string& plugin, const std::string& socket) {
  const auto start = Clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    dup2(devnull, 2);
    setenv("VIGIL_SOCKET", socket.c_str(), 1);
    execl(plugin.c_str(), "check_procs", "-C", "sleep", nullptr);
    _exit(127);
  }
  int status = 0;
  rusage usage{};
  wait4(pid, &status, 0, &usage);
  Call call;
  call.wall_us = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
  call.cpu_us = usage.ru_utime.tv_sec * 1e6 + usage.ru_utime.tv_usec +
                usage.ru_stime.tv_sec * 1e6 + usage.ru_stime.tv_usec;
  return call;
}

// On-CPU time of a process (schedstat, ns resolution), in µs.
double ProcessCpuUs(pid_t pid) {
  auto cpu = ReadCpuTime(pid);
  return cpu.ok() ? cpu->on_cpu_us : 0;
}

pid_t SpawnSleep(const std::string& path, const char* name) {
  pid_t pid = fork();
  if (pid == 0) {
    execl(path.c_str(), name, "3600", nullptr);
    _exit(127);
  }
  return pid;
}

void Row(const std::string& name, const std::vector<Call>& calls, double extra_cpu_us) {
  std::vector<double> wall;
  double cpu = 0;
  for (const Call& c : calls) {
    wall.push_back(c.wall_us);
    cpu += c.cpu_us;
  }
  const LatencySummary s = Summarize(wall);
  std::cout << absl::StrFormat("%-28s %9.2f %9.2f %9.2f %12.2f\n", name, s.p50_us / 1000,
                               s.p99_us / 1000, cpu / calls.size() / 1000,
                               extra_cpu_us / 1000);
}

int Run(int argc, char** argv) {
  int calls = 30;
  bool quick = false;
  if (absl::Status parsed = ParseFlags(argc, argv, {{"calls", &calls}}, &quick); !parsed.ok()) {
    std::cerr << parsed.message() << "\n";
    return 2;
  }
  if (quick) calls = 3;
  if (access(kCheckProcs, X_OK) != 0) {
    std::cerr << kCheckProcs << " not found (apt-get install monitoring-plugins-basic)\n";
    return 1;
  }
  testing::VigildHarness vigild;
  if (absl::Status started = vigild.Start(); !started.ok()) {
    std::cerr << started.message() << "\n";
    return 1;
  }
  const std::string plugin = CheckVigil();
  std::cout << "check_vigil_bench: " << MachineLine() << "\n"
            << "per call of `-C sleep`, " << calls << " calls per row; times in ms\n";
  std::cout << absl::StrFormat("%-28s %9s %9s %9s %12s\n", "", "wall p50", "wall p99",
                               "CPU/call", "vigild CPU");
  const std::string filler = vigild.dir() + "/vbfill";
  std::filesystem::copy_file("/bin/sleep", filler);
  std::vector<pid_t> sleepers;
  for (int i = 0; i < 5; ++i) sleepers.push_back(SpawnSleep("/bin/sleep", "sleep"));
  // The other processes are children of a helper, not of this process: a
  // parent with 2,000 children pays for them in every wait4().
  std::vector<pid_t> crowds;
  int crowd_size = 0;
  for (int extra : {20, 2000}) {
    pid_t crowd = fork();
    if (crowd == 0) {
      setpgid(0, 0);
      for (int i = crowd_size; i < extra; ++i) SpawnSleep(filler, "vbfill");
      pause();
      _exit(0);
    }
    setpgid(crowd, crowd);
    crowds.push_back(crowd);
    crowd_size = extra;
    for (int i = 0; i < 500; ++i) {  // until all are there
      size_t named = 0;
      for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        std::string comm;
        std::getline(std::ifstream(entry.path() / "comm"), comm);
        named += comm == "vbfill" ? 1 : 0;
      }
      if (static_cast<int>(named) >= extra) break;
      usleep(10000);
    }
    size_t total = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
      total += std::isdigit(entry.path().filename().string()[0]) ? 1 : 0;
    }
    std::cout << absl::StrFormat("-- 5 sleep + %d other processes (%d on the host)\n", extra,
                                 total);
    const std::string at = absl::StrCat(" @", extra);
    std::vector<Call> procs, standalone, answered;
    RunOnce(plugin, vigild.socket_path());  // warm the page cache and the table
    const double vigild_before = ProcessCpuUs(vigild.pid());
    for (int i = 0; i < calls; ++i) answered.push_back(RunOnce(plugin, vigild.socket_path()));
    const double vigild_cpu = (ProcessCpuUs(vigild.pid()) - vigild_before) / calls;
    for (int i = 0; i < calls; ++i) procs.push_back(RunOnce(kCheckProcs, ""));
    for (int i = 0; i < calls; ++i) standalone.push_back(RunOnce(plugin, ""));
    Row("check_procs" + at, procs, 0);
    Row("check_vigil /proc" + at, standalone, 0);
    Row("check_vigil vigild" + at, answered, vigild_cpu);
  }
  for (pid_t pid : sleepers) kill(pid, SIGKILL);
  for (pid_t pid : sleepers) waitpid(pid, nullptr, 0);
  for (pid_t crowd : crowds) kill(-crowd, SIGKILL);
  for (pid_t crowd : crowds) waitpid(crowd, nullptr, 0);
  return 0;
}

}  // namespace
}  // namespace vigil::bench

int main(int argc, char** argv) { return vigil::bench::Run(argc, argv); }
