// MAZE in vigild (issue 5): how far past a limit a runaway is signalled, and
// what watching costs vigild when the watched processes sleep or are busy
// but healthy. See README.md ("maze_bench").
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/flags.h"
#include "bench/process_stats.h"
#include "bench/report.h"
#include "common/json.h"
#include "test/vigild_harness.h"

namespace vigil::bench {
namespace {

using testing::ContextSwitches;
using testing::EventField;
using testing::VigildHarness;

constexpr int kSoftMs = 100;
constexpr int kHardMs = 200;

std::string WorkloadPath() {
  const char* relative = "test/maze_workload";
  if (access(relative, X_OK) == 0) return absl::StrCat(get_current_dir_name(), "/", relative);
  const char* srcdir = getenv("TEST_SRCDIR");
  return absl::StrCat(srcdir ? srcdir : ".", "/vigil/", relative);
}

double ThreadCpuUs() {
  timespec now;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return now.tv_sec * 1e6 + now.tv_nsec / 1e3;
}

// The spinner's side: its maze count runs from its block on `go`; each
// signal handler reports the thread's own CPU since then, which (unlike
// /proc) includes the slice it is running: the true count on receipt.
double count_start_us = 0;
int report_fd = -1;

void ReportCount(int signo) {
  double count_us = ThreadCpuUs() - count_start_us;
  write(report_fd, &count_us, sizeof count_us);
  if (signo == SIGUSR2) _exit(0);
}

[[noreturn]] void SpinAfterGo(int go_fd, int report) {
  setpriority(PRIO_PROCESS, 0, 0);
  report_fd = report;
  signal(SIGUSR1, ReportCount);
  signal(SIGUSR2, ReportCount);
  count_start_us = ThreadCpuUs();
  char byte;
  read(go_fd, &byte, 1);
  for (volatile unsigned long i = 0;; i = i + 1) {
  }
}

bool Sleeping(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t close = text.rfind(')');
  return close != std::string::npos && close + 2 < text.size() && text[close + 2] == 'S';
}

absl::Status Detection(int runs) {
  VigildHarness vigild;
  if (absl::Status started = vigild.Start(); !started.ok()) return started;
  std::vector<double> soft_us, hard_us;
  for (int run = 0; run < runs; ++run) {
    int go[2], report[2];
    if (pipe(go) != 0 || pipe(report) != 0) return absl::InternalError("pipe");
    pid_t child = fork();
    if (child == 0) SpinAfterGo(go[0], report[1]);
    while (!Sleeping(child)) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    json::Value add = json::Value::Object()
                          .Set("cmd", "maze-add")
                          .Set("pid", child)
                          .Set("soft", kSoftMs)
                          .Set("hard", kHardMs)
                          .Set("soft_signal", SIGUSR1)
                          .Set("hard_signal", SIGUSR2);
    auto client = testing::ControlClient::Connect(vigild.socket_path());
    if (!client.ok()) return client.status();
    auto reply = client->Request(add);
    if (!reply.ok() || EventField(*reply, "ok") != "true") {
      return absl::InternalError(absl::StrCat("maze-add refused: ", json::Serialize(*reply)));
    }
    write(go[1], "x", 1);
    double soft = 0, hard = 0;
    bool reported = read(report[0], &soft, sizeof soft) == sizeof soft &&
                    read(report[0], &hard, sizeof hard) == sizeof hard;
    waitpid(child, nullptr, 0);
    for (int fd : {go[0], go[1], report[0], report[1]}) close(fd);
    if (!reported) return absl::InternalError("the spinner did not report both signals");
    soft_us.push_back(soft - kSoftMs * 1000);
    hard_us.push_back(hard - kHardMs * 1000);
  }
  std::printf("\nDetection: CPU time past the limit when the signal arrived, in the\n"
              "spinner's own clock (soft %d ms, hard %d ms, %d runs), in us\n",
              kSoftMs, kHardMs, runs);
  std::printf("%s\n", LatencyHeader().c_str());
  std::printf("%s\n", LatencyRow("soft signal past the limit", Summarize(soft_us)).c_str());
  std::printf("%s\n", LatencyRow("hard signal past the limit", Summarize(hard_us)).c_str());
  std::printf("%-44s %12d   (its check interval: up to this late)\n",
              "MAZE kernel patch timer (CONFIG_MAZE_TIMER)", 100000);
  return absl::OkStatus();
}

// CPU used so far by the units in a "status" reply (cgroup cpu.stat).
double UnitsCpuSeconds(const json::Value& status) {
  double seconds = 0;
  const json::Value* units = status.Find("units");
  if (units == nullptr || !units->IsArray()) return 0;
  for (const json::Value& u : units->AsArray()) {
    std::ifstream in(EventField(u, "cgroup") + "/cpu.stat");
    std::string key;
    int64_t value;
    while (in >> key >> value) {
      if (key == "usage_usec") seconds += value / 1e6;
    }
  }
  return seconds;
}

// vigild's context switches (every loop wakeup is one) and CPU over a window
// with `units` units of `argv`, each watched by MAZE with a soft limit of
// `soft_ms`.
absl::Status Cost(const std::string& label, const std::string& exec, int units, int soft_ms,
                  int window_s) {
  VigildHarness vigild;
  for (int i = 0; i < units; ++i) {
    vigild.WriteUnit(absl::StrCat("u", i),
                     absl::StrFormat("exec: [%s]\nwatch: {runaway: {soft: %dms, hard: %dms}}\n",
                                     exec, soft_ms, soft_ms * 10));
  }
  if (absl::Status started = vigild.Start(); !started.ok()) return started;
  int running = 0;
  auto all = vigild.WaitForEvent(
      [&](const json::Value& e) { return EventField(e, "state") == "running" && ++running == units; },
      std::chrono::seconds(60));
  if (!all.ok()) return all.status();
  // Start-up settles: spawning the units contends for the CPU, which the
  // units' MAZE PSI triggers (cpu.pressure, 2 s window) may report up to a
  // window later (the kernel defers a breach inside a window to the next).
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  auto status = vigild.Request("status");
  if (!status.ok()) return status.status();
  // The request's connection closed as Request() returned: let vigild see
  // its EOF before the window opens, or that wakeup is counted in it.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  double units_cpu_before_s = UnitsCpuSeconds(*status);
  auto switches_before = ContextSwitches(vigild.pid());
  auto cpu_before = ReadCpuTime(vigild.pid());
  std::this_thread::sleep_for(std::chrono::seconds(window_s));
  auto switches_after = ContextSwitches(vigild.pid());
  auto cpu_after = ReadCpuTime(vigild.pid());
  if (!switches_before.ok() || !switches_after.ok() || !cpu_before.ok() || !cpu_after.ok()) {
    return absl::InternalError("cannot read vigild's /proc");
  }
  double units_cpu_s = UnitsCpuSeconds(*status) - units_cpu_before_s;
  int64_t wakeups = *switches_after - *switches_before;
  CpuTime cpu = *cpu_after - *cpu_before;
  std::printf("\n%s: %d units, soft limit %d ms, %d s window\n", label.c_str(), units, soft_ms,
              window_s);
  std::printf("%-44s %12lld\n", absl::StrCat(label, ": vigild context switches").c_str(),
              static_cast<long long>(wakeups));
  std::printf("%-44s %12.0f\n", absl::StrCat(label, ": vigild on-cpu (us)").c_str(), cpu.on_cpu_us);
  std::printf("%-44s %12.1f   (units' CPU in the window / soft limit)\n",
              absl::StrCat(label, ": budget, soft limits of CPU").c_str(),
              units_cpu_s * 1000 / soft_ms);
  return absl::OkStatus();
}

int Main(int argc, char** argv) {
  int runs = 100, sleepers = 100, busy = 10, window_s = 60;
  bool quick = false;
  absl::Status flags = ParseFlags(argc, argv,
                                  {{"runs", &runs},
                                   {"sleepers", &sleepers},
                                   {"busy", &busy},
                                   {"window_seconds", &window_s}},
                                  &quick);
  if (!flags.ok()) {
    std::fprintf(stderr, "maze_bench: %s\n", std::string(flags.message()).c_str());
    return 2;
  }
  if (quick) runs = 5, sleepers = 10, busy = 2, window_s = 2;
  std::printf("%s\n", MachineLine().c_str());
  absl::Status status = Detection(runs);
  if (status.ok()) status = Cost("sleeping", "/bin/sleep, infinity", sleepers, 300, window_s);
  if (status.ok()) {
    status = Cost("busy-healthy", WorkloadPath() + ", busy-sleep", busy, 300, window_s);
  }
  if (!status.ok()) {
    std::fprintf(stderr, "maze_bench: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace vigil::bench

int main(int argc, char** argv) { return vigil::bench::Main(argc, argv); }
