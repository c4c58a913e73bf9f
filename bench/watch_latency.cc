// watch_latency: from a resource crossing its line to vigild's action, for
// each kind of watch (issue 4), plus vigild's CPU per watch event.
//
//   bazel run //bench:watch_latency -- [--crossings=N] [--quick] [--scenario=K]
//
// Each scenario is one unit running test/tools/watch_load, which crosses the
// line over and over and records, with CLOCK_REALTIME, when it crossed
// ("mark" lines) and when the action's SIGUSR1 reached its handler. The
// latency of a crossing is the first SIGUSR1 (or, for the OOM kill, vigild's
// memory.oom_kill event time) after its mark. Scenarios that need the cgroup
// v2 memory or pids controller say so and are skipped on a hybrid host; run
// the bench in the VM for them (bench/README.md).
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "bench/flags.h"
#include "bench/process_stats.h"
#include "bench/report.h"
#include "test/tools/watch_load_report.h"
#include "test/vigild_harness.h"

namespace vigil::bench {
namespace {

using testing::ReadReport;
using testing::ReportLine;

using testing::EventField;
using testing::EventTime;

struct Scenario {
  std::string row;      // table row; no regex metacharacters (quick test)
  std::string needs;    // a cgroup v2 controller, or ""
  std::string unit;     // unit YAML after exec:, {REPORT} and {N} substituted
  std::string args;     // watch_load arguments, same substitutions
  std::string mark;     // report line that marks a crossing
  std::string outcome;  // "signal 10", or "event <kind>" for an event's time
  std::vector<std::string> watch_kinds;  // events counted for CPU per event
  int crossings_divisor = 1;             // slower scenarios do fewer
};

std::vector<Scenario> Scenarios() {
  return {
      {.row = "memory level up",
       .unit = "watch:\n  memory:\n    levels: [48M]\n    hysteresis: 16M\n"
               "    on: {up: [{signal: SIGUSR1}]}\n",
       .args = "'--mark=48M', alloc:64M, spin:60, wait-signal:3000, free:0, spin:50, "
               "sleep:50, again:{N-1}, pause",
       .mark = "mark rss",
       .outcome = "signal 10",
       .watch_kinds = {"memory.level"}},
      {.row = "tasks level up",
       .unit = "watch:\n  tasks:\n    levels: [16]\n    hysteresis: 8\n"
               "    on: {up: [{signal: SIGUSR1}]}\n",
       .args = "threads:20, spin:60, wait-signal:3000, threads:0, spin:50, sleep:50, "
               "again:{N-1}, pause",
       .mark = "step threads:20",
       .outcome = "signal 10",
       .watch_kinds = {"tasks.level"}},
      {.row = "cpu_time budget",
       .unit = "restart: always\nbackoff: {initial: 10ms, max: 10ms, factor: 1}\n"
               "start_limit: {burst: 100000, interval: 1s}\n"
               "watch:\n  cpu_time: {limit: 500ms, on: {exceeded: [{signal: SIGUSR1}]}}\n",
       // The budget counts from exec; start-up must stay below it (qemu TCG).
       .args = "'--cpu-mark=500', spin:600, exit:0",
       .mark = "mark cpu",
       .outcome = "signal 10",
       .watch_kinds = {"cpu_time.limit"},
       .crossings_divisor = 2},
      {.row = "PSI cpu some 100ms per 2s",
       .unit = "watch:\n  pressure:\n    cpu: {some: 100ms, window: 2s,"
               " on: {stall: [{signal: SIGUSR1}]}}\n",
       .args = "burn-until-signal:3:15000, sleep:2500, again:{N-1}, pause",
       .mark = "mark burn",
       .outcome = "signal 10",
       .watch_kinds = {"pressure.cpu"},
       .crossings_divisor = 5},
      {.row = "memory.high",
       .needs = "memory",
       .unit = "watch:\n  memory:\n    high: 48M\n    on: {high: [{signal: SIGUSR1}]}\n",
       // Just past high: without swap every charge above it is throttled.
       .args = "'--mark=48M', alloc:52M, wait-signal:3000, free:0, sleep:100, again:{N-1}, "
               "pause",
       .mark = "mark rss",
       .outcome = "signal 10",
       .watch_kinds = {"memory.high"}},
      {.row = "memory.max oom_kill event",
       .needs = "memory",
       .unit = "restart: always\nbackoff: {initial: 10ms, max: 10ms, factor: 1}\n"
               "start_limit: {burst: 100000, interval: 1s}\n"
               "watch:\n  memory:\n    max: 48M\n    on: {oom_kill: [log]}\n",
       .args = "'--mark=46M', alloc:128M, pause",
       .mark = "mark rss",
       .outcome = "event memory.oom_kill",
       .watch_kinds = {"memory.max", "memory.oom", "memory.oom_kill"}},
      {.row = "pids.max fork refused",
       .needs = "pids",
       .unit = "watch:\n  tasks:\n    max: 32\n    on: {max: [{signal: SIGUSR1}]}\n",
       .args = "forkbomb, wait-signal:3000, reap, sleep:100, again:{N-1}, pause",
       .mark = "mark forkfail",
       .outcome = "signal 10",
       .watch_kinds = {"tasks.max"}},
  };
}

std::string RunfilePath(const std::string& relative) {
  if (access(relative.c_str(), X_OK) == 0) return std::filesystem::absolute(relative).string();
  const char* srcdir = getenv("TEST_SRCDIR");
  return absl::StrCat(srcdir ? srcdir : ".", "/vigil/", relative);
}

bool MountOffers(const testing::VigildHarness& vigild, const std::string& controller) {
  std::ifstream in(std::filesystem::path(vigild.cgroup_root()).parent_path() /
                   "cgroup.controllers");
  for (std::string word; in >> word;) {
    if (word == controller) return true;
  }
  return false;
}

// Latency of each crossing: its mark to the first outcome before the next
// mark. Crossings with no outcome in time are not samples (counted apart).
// The load notices its own crossing a few µs late (it checks between chunks
// of work), so an outcome up to kSlack before the mark still belongs to it
// and counts as a negative latency.
std::vector<double> PairUp(const std::vector<absl::Time>& marks,
                           const std::vector<absl::Time>& outcomes, int* missed) {
  const absl::Duration kSlack = absl::Milliseconds(2);
  std::vector<double> samples;
  for (size_t i = 0; i < marks.size(); ++i) {
    absl::Time end = i + 1 < marks.size() ? marks[i + 1] - kSlack : absl::InfiniteFuture();
    auto first = std::find_if(outcomes.begin(), outcomes.end(), [&](absl::Time t) {
      return t >= marks[i] - kSlack && t < end;
    });
    if (first == outcomes.end()) {
      ++*missed;
      continue;
    }
    samples.push_back(absl::ToDoubleMicroseconds(*first - marks[i]));
  }
  return samples;
}

struct Outcome {
  LatencySummary latency;
  int missed = 0;
  size_t watch_events = 0;
  double vigild_on_cpu_us = 0;
  std::string mechanism;
};

absl::StatusOr<Outcome> RunScenario(const Scenario& scenario, int crossings) {
  testing::VigildHarness vigild;
  std::string report = vigild.dir() + "/load.report";
  auto fill = [&](std::string text) {
    return absl::StrReplaceAll(text, {{"{N-1}", absl::StrCat(crossings - 1)}});
  };
  vigild.WriteUnit("load", absl::StrCat("exec: [", RunfilePath("test/tools/watch_load"),
                                        ", '--report=", report, "', ", fill(scenario.args),
                                        "]\n", scenario.unit));
  if (absl::Status started = vigild.Start(); !started.ok()) return started;
  auto caps = vigild.Request("capabilities");
  Outcome outcome;
  if (caps.ok()) {
    const json::Value* watches = caps->Find("capabilities");
    watches = watches ? watches->Find("watches") : nullptr;
    watches = watches ? watches->Find("load") : nullptr;
    if (watches && watches->IsObject() && !watches->AsObject().empty()) {
      outcome.mechanism = absl::StrCat(watches->AsObject().begin()->first, ": ",
                                       EventField(*watches, watches->AsObject().begin()->first.c_str()));
    }
  }
  absl::StatusOr<CpuTime> cpu_before = ReadCpuTime(vigild.pid());
  if (!cpu_before.ok()) return cpu_before.status();
  auto count = [&](const std::string& what) {
    int n = 0;
    for (const auto& line : ReadReport(report)) n += line.what == what;
    return n;
  };
  auto outcomes_so_far = [&] {
    if (scenario.outcome.rfind("event ", 0) != 0) return count(scenario.outcome);
    int events = 0;
    for (const auto& e : vigild.history()) {
      events += EventField(e, "kind") == scenario.outcome.substr(6);
    }
    return events;
  };
  auto finished = [&] {  // the load ran all its steps and waits in pause
    std::vector<ReportLine> lines = ReadReport(report);
    return !lines.empty() && lines.back().what == "done" &&
           count(scenario.mark) >= crossings;
  };
  // Wait for the crossings (the event stream is read meanwhile).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20 + crossings * 8);
  while (std::chrono::steady_clock::now() < deadline) {
    (void)vigild.WaitForEvent([](const json::Value&) { return false; },
                              std::chrono::milliseconds(100));
    if (count(scenario.mark) >= crossings && outcomes_so_far() >= crossings) break;
    if (scenario.args.find("pause") != std::string::npos && finished()) break;
  }
  (void)vigild.WaitForEvent([](const json::Value&) { return false; },
                            std::chrono::milliseconds(200));
  absl::StatusOr<CpuTime> cpu_after = ReadCpuTime(vigild.pid());
  if (!cpu_after.ok()) return cpu_after.status();

  std::vector<absl::Time> marks, outcomes;
  for (const auto& line : ReadReport(report)) {
    if (line.what == scenario.mark) marks.push_back(line.time);
    if (line.what == scenario.outcome) outcomes.push_back(line.time);
  }
  for (const auto& e : vigild.history()) {
    std::string kind = EventField(e, "kind");
    if (scenario.outcome == "event " + kind) outcomes.push_back(EventTime(e));
    outcome.watch_events += std::count(scenario.watch_kinds.begin(),
                                       scenario.watch_kinds.end(), kind);
  }
  std::sort(outcomes.begin(), outcomes.end());
  if (marks.size() > static_cast<size_t>(crossings)) marks.resize(crossings);
  outcome.latency = Summarize(PairUp(marks, outcomes, &outcome.missed));
  outcome.vigild_on_cpu_us = (*cpu_after - *cpu_before).on_cpu_us;
  return outcome;
}

absl::Status Run(int crossings, int only) {
  std::cout << "watch_latency: resource crossing -> action (SIGUSR1 in the service's handler,\n"
               "or vigild's oom_kill event), CLOCK_REALTIME on both sides\n"
            << "machine: " << MachineLine() << "\n"
            << "levels are read on CPU-time ticks (every 20ms of the service's CPU) and on\n"
               "events/PSI wakeups; their latency is bounded by the tick, not by a poll\n\n";
  std::cout << LatencyHeader() << absl::StrFormat(" %8s %14s\n", "missed", "vigild us/evt");
  std::vector<std::string> mechanisms;
  std::vector<Scenario> scenarios = Scenarios();
  for (size_t i = 0; i < scenarios.size(); ++i) {
    if (only != 0 && static_cast<size_t>(only) != i + 1) continue;
    const Scenario& scenario = scenarios[i];
    int n = std::max(1, crossings / scenario.crossings_divisor);
    {
      testing::VigildHarness probe;
      if (!scenario.needs.empty() && !MountOffers(probe, scenario.needs)) {
        std::cout << absl::StrFormat("%-28s skipped: needs the cgroup v2 %s controller "
                                     "(hybrid host); run in the VM\n",
                                     scenario.row, scenario.needs);
        continue;
      }
    }
    absl::StatusOr<Outcome> outcome = RunScenario(scenario, n);
    if (!outcome.ok()) return outcome.status();
    double per_event = outcome->watch_events
                           ? outcome->vigild_on_cpu_us / outcome->watch_events
                           : 0;
    std::cout << LatencyRow(scenario.row, outcome->latency)
              << absl::StrFormat(" %8d %14.1f", outcome->missed, per_event) << std::endl;
    mechanisms.push_back(absl::StrCat("  ", scenario.row, ": ", outcome->mechanism, " (",
                                      outcome->watch_events, " watch events)"));
  }
  std::cout << "\nmechanisms:\n";
  for (const auto& m : mechanisms) std::cout << m << "\n";
  std::cout << "vigild us/evt: vigild's on-CPU time over the scenario (schedstat, all threads)\n"
               "divided by its watch events; includes the actions, event publishing and the\n"
               "bench's own event subscription\n";
  return absl::OkStatus();
}

}  // namespace
}  // namespace vigil::bench

int main(int argc, char** argv) {
  int crossings = 0;
  int only = 0;
  bool quick = false;
  absl::Status flags = vigil::bench::ParseFlags(
      argc, argv, {{"crossings", &crossings}, {"scenario", &only}}, &quick);
  if (!flags.ok()) {
    std::cerr << "watch_latency: " << flags.message() << "\n"
              << "usage: watch_latency [--crossings=N (default 50)] [--quick (5)]\n"
                 "                     [--scenario=K (only the K-th row, from 1)]\n";
    return 2;
  }
  if (crossings == 0) crossings = quick ? 5 : 50;
  absl::Status status = vigil::bench::Run(crossings, only);
  if (!status.ok()) {
    std::cerr << "watch_latency: " << status.message() << "\n";
    return 1;
  }
  return 0;
}
