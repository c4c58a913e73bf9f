// Resource watches end to end: the real vigild with units whose `watch:`
// sections cross real limits in real cgroups, with test/tools/watch_load as
// the service. On the hybrid host levels use the per-process fallback
// (VmRSS, Threads); memory.high/max and pids.max need the cgroup v2 memory
// and pids controllers and skip here, naming them — they run in the VM twin
// (watch_test_vm), where every controller exists.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "test/tools/watch_load_report.h"
#include "test/vigild_harness.h"

namespace vigil::testing {
namespace {

using std::chrono::milliseconds;

constexpr int64_t kMiB = 1 << 20;

std::string WatchLoadPath() {
  const char* relative = "test/tools/watch_load";
  if (access(relative, X_OK) == 0) return std::filesystem::absolute(relative).string();
  const char* srcdir = getenv("TEST_SRCDIR");
  return absl::StrCat(srcdir ? srcdir : ".", "/vigil/", relative);
}

bool InVm() {
  const char* v = getenv("VIGIL_IN_VM");
  return v != nullptr && std::string(v) == "1";
}

auto Kind(const std::string& unit, const std::string& kind) {
  return [=](const json::Value& e) {
    return EventField(e, "unit") == unit && EventField(e, "kind") == kind;
  };
}

int CountReport(const std::string& path, const std::string& what) {
  int n = 0;
  for (const auto& line : ReadReport(path)) n += line.what == what;
  return n;
}

// Waits until the report has a line `what`; false after `timeout`.
bool WaitForReport(const std::string& path, const std::string& what,
                   milliseconds timeout = milliseconds(20000)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (CountReport(path, what) > 0) return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return false;
}

// Reads the event stream for `time` so that history() has everything so far.
void Drain(VigildHarness& vigild, milliseconds time) {
  (void)vigild.WaitForEvent([](const json::Value&) { return false; }, time);
}

int CountEvents(const VigildHarness& vigild, const std::string& unit, const std::string& kind,
                const std::string& direction = "") {
  int n = 0;
  for (const auto& e : vigild.history()) {
    n += Kind(unit, kind)(e) && (direction.empty() || EventField(e, "direction") == direction);
  }
  return n;
}

std::vector<json::Value> Events(const VigildHarness& vigild, const std::string& unit,
                                const std::string& kind) {
  std::vector<json::Value> out;
  for (const auto& e : vigild.history()) {
    if (Kind(unit, kind)(e)) out.push_back(e);
  }
  return out;
}

// exec: watch_load --report=<dir>/<unit>.report <steps>
std::string LoadUnit(const VigildHarness& vigild, const std::string& unit,
                     const std::string& args, const std::string& rest) {
  return absl::StrCat("exec: [", WatchLoadPath(), ", '--report=", vigild.dir(), "/", unit,
                      ".report', ", args, "]\n", rest);
}

std::string ReportPath(const VigildHarness& vigild, const std::string& unit) {
  return absl::StrCat(vigild.dir(), "/", unit, ".report");
}

// Whether unit cgroups can get `controller`: the harness's cgroup root is a
// child of the cgroup2 mount, whose root offers what the kernel has in v2.
// Checked before a unit runs, so that a fork bomb never runs unlimited.
bool MountOffers(const VigildHarness& vigild, const std::string& controller) {
  std::ifstream in(std::filesystem::path(vigild.cgroup_root()).parent_path() /
                   "cgroup.controllers");
  for (std::string word; in >> word;) {
    if (word == controller) return true;
  }
  return false;
}

// What the running vigild reports it enabled for units.
bool UnitsHaveController(VigildHarness& vigild, const std::string& controller) {
  auto reply = vigild.Request("capabilities");
  if (!reply.ok()) return false;
  const json::Value* caps = reply->Find("capabilities");
  const json::Value* controllers = caps ? caps->Find("unit_controllers") : nullptr;
  if (controllers == nullptr || !controllers->IsArray()) return false;
  for (const auto& c : controllers->AsArray()) {
    if (c.IsString() && c.AsString() == controller) return true;
  }
  return false;
}

// Skips (naming it) when the kernel offers no cgroup v2 `controller`; in the
// VM the controller must be there.
#define SKIP_WITHOUT_CONTROLLER(vigild, controller)                                  \
  do {                                                                              \
    if (!MountOffers(vigild, controller)) {                                         \
      ASSERT_FALSE(InVm()) << "the VM must have the cgroup v2 " controller " controller"; \
      GTEST_SKIP() << "needs the cgroup v2 " controller                             \
                   " controller for units (hybrid host: v1 owns it)";               \
    }                                                                               \
  } while (0)

TEST(WatchTest, StartupSaysWhichMechanismEachWatchUses) {
  VigildHarness vigild;
  vigild.WriteUnit("described", LoadUnit(vigild, "described", "pause",
                                         "watch:\n"
                                         "  memory: {high: 512M, max: 1G, levels: [256M]}\n"
                                         "  tasks: {max: 100, levels: [50]}\n"
                                         "  pressure: {cpu: {some: 500ms, window: 2s}}\n"
                                         "  cpu_time: {limit: 1h}\n"));
  ASSERT_TRUE(vigild.Start().ok());
  auto reply = vigild.Request("capabilities");
  ASSERT_TRUE(reply.ok()) << reply.status();
  const json::Value* caps = reply->Find("capabilities");
  ASSERT_NE(caps, nullptr);
  const json::Value* watches = caps->Find("watches");
  ASSERT_NE(watches, nullptr) << json::Serialize(*caps);
  const json::Value* unit = watches->Find("described");
  ASSERT_NE(unit, nullptr) << json::Serialize(*watches);
  bool v2_memory = UnitsHaveController(vigild, "memory");
  bool v2_pids = UnitsHaveController(vigild, "pids");
  EXPECT_EQ(v2_memory, InVm());
  if (v2_memory) {
    EXPECT_EQ(EventField(*unit, "memory.high"), "memory.high + memory.events (POLLPRI)");
    EXPECT_TRUE(absl::StartsWith(EventField(*unit, "memory.levels"), "memory.current, read on "));
  } else {
    EXPECT_TRUE(absl::StartsWith(EventField(*unit, "memory.high"), "unavailable: no cgroup v2 memory"));
    EXPECT_TRUE(absl::StartsWith(EventField(*unit, "memory.levels"), "sum of VmRSS over"));
  }
  EXPECT_TRUE(absl::StartsWith(EventField(*unit, "tasks.levels"),
                               v2_pids ? "pids.current" : "sum of Threads over"));
  EXPECT_EQ(EventField(*unit, "pressure.cpu"), "PSI trigger on the unit's cpu.pressure (POLLPRI)");
  EXPECT_EQ(EventField(*unit, "cpu_time"), "CPU-time timer on the main process (all its threads)");
  EXPECT_TRUE(absl::StrContains(EventField(*caps, "watch_cpu_tick"), "SIGRTMIN+1"));
  std::string log = vigild.ReadLog();
  EXPECT_TRUE(absl::StrContains(log, "watch described memory.levels: ")) << log;
  EXPECT_TRUE(absl::StrContains(log, "watch described cpu_time: ")) << log;
}

TEST(WatchTest, MemoryLevelsCrossOnceEachWayAndHysteresisHolds) {
  VigildHarness vigild;
  // Band [40M, 64M): 52M after the first crossing fires nothing.
  vigild.WriteUnit("grower", LoadUnit(vigild, "grower",
                                      "alloc:80M, spin:100, free:52M, spin:100, free:0, spin:100, pause",
                                      "watch:\n"
                                      "  memory:\n"
                                      "    levels: [64M]\n"
                                      "    hysteresis: 24M\n"
                                      "    on: {up: [log], down: [log]}\n"));
  ASSERT_TRUE(vigild.Start().ok());
  auto up = vigild.WaitForEvent(Kind("grower", "memory.level"));
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_EQ(EventField(*up, "direction"), "up");
  EXPECT_EQ(EventField(*up, "resource"), "memory");
  EXPECT_EQ(EventInt(*up, "level"), 64 * kMiB);
  EXPECT_GE(EventInt(*up, "value"), 64 * kMiB);
  auto down = vigild.WaitForEvent(Kind("grower", "memory.level"));
  ASSERT_TRUE(down.ok()) << down.status();
  EXPECT_EQ(EventField(*down, "direction"), "down");
  EXPECT_LT(EventInt(*down, "value"), 40 * kMiB) << "fired inside the hysteresis band";
  ASSERT_TRUE(WaitForReport(ReportPath(vigild, "grower"), "done"));
  Drain(vigild, milliseconds(300));
  EXPECT_EQ(CountEvents(vigild, "grower", "memory.level", "up"), 1);
  EXPECT_EQ(CountEvents(vigild, "grower", "memory.level", "down"), 1);
  // The log action wrote each crossing.
  EXPECT_EQ(CountEvents(vigild, "grower", "action"), 2);
}

TEST(WatchTest, TaskLevelsCrossOnceEachWay) {
  VigildHarness vigild;
  // 11 tasks, then 6 (inside [4, 8)), then 1.
  vigild.WriteUnit("threader", LoadUnit(vigild, "threader",
                                        "threads:10, spin:100, threads:5, spin:100, threads:0, "
                                        "spin:100, pause",
                                        "watch:\n  tasks: {levels: [8], hysteresis: 4}\n"));
  ASSERT_TRUE(vigild.Start().ok());
  auto up = vigild.WaitForEvent(Kind("threader", "tasks.level"));
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_EQ(EventField(*up, "direction"), "up");
  // The reading that crosses may land while the workload is still creating
  // its threads, so it is anywhere from the level up to all 11 tasks.
  EXPECT_GE(EventInt(*up, "value"), 8);
  EXPECT_LE(EventInt(*up, "value"), 11);
  auto down = vigild.WaitForEvent(Kind("threader", "tasks.level"));
  ASSERT_TRUE(down.ok()) << down.status();
  EXPECT_EQ(EventField(*down, "direction"), "down");
  // Exiting threads leave pids.current a moment after they are gone from
  // /proc, so the reading that crosses may still count one or two of them.
  EXPECT_GE(EventInt(*down, "value"), 1);
  EXPECT_LT(EventInt(*down, "value"), 4) << "fired inside the hysteresis band";
  ASSERT_TRUE(WaitForReport(ReportPath(vigild, "threader"), "done"));
  Drain(vigild, milliseconds(300));
  EXPECT_EQ(CountEvents(vigild, "threader", "tasks.level"), 2);
}

TEST(WatchTest, RateLimitLetsAFlappingLevelActOncePerInterval) {
  VigildHarness vigild;
  // Three quick flaps inside one 2 s interval, a pause, one more flap.
  vigild.WriteUnit("flapper", LoadUnit(vigild, "flapper",
                                       "flap:3:48M, sleep:2500, flap:1:48M, pause",
                                       "watch:\n"
                                       "  memory:\n"
                                       "    levels: [32M]\n"
                                       "    hysteresis: 8M\n"
                                       "    on: {up: [{signal: SIGUSR1, rate_limit: 2s}]}\n"));
  ASSERT_TRUE(vigild.Start().ok());
  std::string report = ReportPath(vigild, "flapper");
  ASSERT_TRUE(WaitForReport(report, "done"));
  Drain(vigild, milliseconds(300));
  EXPECT_EQ(CountEvents(vigild, "flapper", "memory.level", "up"), 4);
  EXPECT_EQ(CountEvents(vigild, "flapper", "memory.level", "down"), 4);
  // What the rate limit must let through, from the crossings' own times: on
  // this host the first three fall inside one interval (actions: the first,
  // then the fourth "(2 suppressed)"); a TCG VM on a busy host can stretch
  // the flaps past 2 s, and then one more crossing is due an action.
  std::vector<std::string> expected;
  std::optional<absl::Time> last_admitted;
  int suppressed = 0;
  for (const json::Value& up : Events(vigild, "flapper", "memory.level")) {
    if (EventField(up, "direction") != "up") continue;
    if (last_admitted && EventTime(up) - *last_admitted < absl::Seconds(2)) {
      ++suppressed;
      continue;
    }
    expected.push_back(absl::StrCat("signal SIGUSR1 to main process on memory.level",
                                    suppressed ? absl::StrCat(" (", suppressed, " suppressed)")
                                               : ""));
    last_admitted = EventTime(up);
    suppressed = 0;
  }
  std::vector<std::string> messages;
  for (const json::Value& action : Events(vigild, "flapper", "action")) {
    messages.push_back(EventField(action, "message"));
  }
  EXPECT_EQ(messages, expected);
  EXPECT_GE(expected.size(), 2u);
  EXPECT_EQ(CountReport(report, "signal 10"), static_cast<int>(expected.size()));
}

TEST(WatchTest, ExecHookGetsTheEventInItsEnvironment) {
  VigildHarness vigild;
  std::string env_file = vigild.dir() + "/hook.env";
  vigild.WriteUnit("hooked", LoadUnit(vigild, "hooked", "alloc:32M, spin:60, pause",
                                      absl::StrCat("watch:\n"
                                                   "  memory:\n"
                                                   "    levels: [16M]\n"
                                                   "    on: {up: [{exec: [/bin/sh, -c, 'env > ",
                                                   env_file, "']}]}\n")));
  ASSERT_TRUE(vigild.Start().ok());
  auto spawn = vigild.WaitForEvent(Kind("hooked", "spawn"));
  ASSERT_TRUE(spawn.ok());
  auto hook_exit = vigild.WaitForEvent(Kind("hooked", "hook-exit"));
  ASSERT_TRUE(hook_exit.ok()) << hook_exit.status();
  EXPECT_EQ(EventField(*hook_exit, "message"), "exited with code 0");
  std::ifstream in(env_file);
  std::map<std::string, std::string> env;
  for (std::string line; std::getline(in, line);) {
    std::pair<std::string, std::string> kv = absl::StrSplit(line, absl::MaxSplits('=', 1));
    env[kv.first] = kv.second;
  }
  EXPECT_EQ(env["VIGIL_UNIT"], "hooked");
  EXPECT_EQ(env["VIGIL_PID"], std::to_string(EventInt(*spawn, "pid")));
  EXPECT_EQ(env["VIGIL_KIND"], "memory.level");
  EXPECT_EQ(env["VIGIL_RESOURCE"], "memory");
  EXPECT_EQ(env["VIGIL_LEVEL"], std::to_string(16 * kMiB));
  EXPECT_EQ(env["VIGIL_DIRECTION"], "up");
  int64_t value = 0;
  EXPECT_TRUE(absl::SimpleAtoi(env["VIGIL_VALUE"], &value));
  EXPECT_GE(value, 16 * kMiB);
  EXPECT_TRUE(env["VIGIL_MECHANISM"] == "VmRSS" || env["VIGIL_MECHANISM"] == "memory.current")
      << env["VIGIL_MECHANISM"];
  EXPECT_FALSE(env["VIGIL_TIME"].empty());
}

TEST(WatchTest, CpuTimeBudgetFiresOnceAndStopsTheUnit) {
  VigildHarness vigild;
  vigild.WriteUnit("burner", LoadUnit(vigild, "burner", "spin:10000, pause",
                                      "watch:\n  cpu_time: {limit: 300ms, on: {exceeded: [stop]}}\n"));
  ASSERT_TRUE(vigild.Start().ok());
  auto limit = vigild.WaitForEvent(Kind("burner", "cpu_time.limit"));
  ASSERT_TRUE(limit.ok()) << limit.status();
  EXPECT_EQ(EventField(*limit, "mechanism"), "cpu-timer");
  EXPECT_EQ(EventInt(*limit, "level"), 300);
  EXPECT_GE(EventInt(*limit, "value"), 300);
  // CPU-time timers expire at a scheduler tick past the budget.
  EXPECT_LT(EventInt(*limit, "value"), 400);
  ASSERT_TRUE(vigild.WaitForState("burner", "exited").ok());
  EXPECT_EQ(CountEvents(vigild, "burner", "cpu_time.limit"), 1);
}

TEST(WatchTest, FreezeActionFreezesTheCgroupAndStopThawsIt) {
  VigildHarness vigild;
  vigild.WriteUnit("frozen", LoadUnit(vigild, "frozen", "spin:100000",
                                      "stop: {signal: SIGTERM, timeout: 300ms}\n"
                                      "watch:\n  cpu_time: {limit: 100ms, on: {exceeded: [freeze]}}\n"));
  ASSERT_TRUE(vigild.Start().ok());
  auto action = vigild.WaitForEvent(Kind("frozen", "action"));
  ASSERT_TRUE(action.ok()) << action.status();
  EXPECT_EQ(EventField(*action, "mechanism"), "freeze");
  std::string cgroup = vigild.cgroup_root() + "/units/frozen";
  std::string events;
  for (int i = 0; i < 100 && !absl::StrContains(events, "frozen 1"); ++i) {
    std::ifstream in(cgroup + "/cgroup.events");
    std::stringstream s;
    s << in.rdbuf();
    events = s.str();
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_TRUE(absl::StrContains(events, "frozen 1")) << events;
  ASSERT_TRUE(vigild.Request("stop", "frozen").ok());
  ASSERT_TRUE(vigild.WaitForState("frozen", "exited").ok());
  std::ifstream freeze(cgroup + "/cgroup.freeze");
  std::string frozen;
  freeze >> frozen;
  EXPECT_EQ(frozen, "0") << "the watch left the unit's cgroup frozen";
}

TEST(WatchTest, PsiTriggerFiresUnderCpuContention) {
  VigildHarness vigild;
  // Three busy threads on two cores stall each other; a 2 s window works
  // without CAP_SYS_RESOURCE.
  vigild.WriteUnit("contended", LoadUnit(vigild, "contended", "burn:3:0",
                                         "watch:\n"
                                         "  pressure:\n"
                                         "    cpu: {some: 100ms, window: 2s,"
                                         " on: {stall: [{signal: SIGUSR1}]}}\n"));
  ASSERT_TRUE(vigild.Start().ok());
  auto stall = vigild.WaitForEvent(Kind("contended", "pressure.cpu"), milliseconds(20000));
  ASSERT_TRUE(stall.ok()) << stall.status();
  EXPECT_EQ(EventField(*stall, "mechanism"), "psi");
  EXPECT_EQ(EventField(*stall, "resource"), "cpu");
  EXPECT_EQ(EventInt(*stall, "level"), 100);
  EXPECT_TRUE(WaitForReport(ReportPath(vigild, "contended"), "signal 10", milliseconds(5000)));
}

TEST(WatchTest, SleepingWatchedUnitCostsVigildNoContextSwitch) {
  VigildHarness vigild;
  vigild.WriteUnit("sleeper", LoadUnit(vigild, "sleeper", "pause",
                                       "watch:\n"
                                       "  memory: {levels: [64M], on: {up: [log]}}\n"
                                       "  tasks: {levels: [32]}\n"
                                       "  pressure: {cpu: {some: 500ms, window: 2s}}\n"
                                       "  cpu_time: {limit: 1h}\n"));
  ASSERT_TRUE(vigild.Start().ok());
  ASSERT_TRUE(vigild.WaitForState("sleeper", "running").ok());
  std::this_thread::sleep_for(milliseconds(500));
  auto before = ContextSwitches(vigild.pid());
  ASSERT_TRUE(before.ok()) << before.status();
  std::this_thread::sleep_for(std::chrono::seconds(3));
  auto after = ContextSwitches(vigild.pid());
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after - *before, 0) << "vigild woke up for a sleeping watched unit";
}

TEST(WatchTest, MemoryHighThrottlesAndActsWithinMilliseconds) {
  VigildHarness vigild;
  SKIP_WITHOUT_CONTROLLER(vigild, "memory");
  vigild.WriteUnit("hungry", LoadUnit(vigild, "hungry", "'--mark=30M', alloc:64M, pause",
                                      "watch:\n"
                                      "  memory:\n"
                                      "    high: 32M\n"
                                      "    on: {high: [{signal: SIGUSR1, rate_limit: 10s}]}\n"));
  ASSERT_TRUE(vigild.Start().ok());
  ASSERT_TRUE(UnitsHaveController(vigild, "memory"));
  auto high = vigild.WaitForEvent(Kind("hungry", "memory.high"));
  ASSERT_TRUE(high.ok()) << high.status();
  EXPECT_EQ(EventField(*high, "mechanism"), "memory.events");
  EXPECT_EQ(EventInt(*high, "level"), 32 * kMiB);
  auto action = vigild.WaitForEvent(Kind("hungry", "action"));
  ASSERT_TRUE(action.ok()) << action.status();
  EXPECT_LT(EventTime(*action) - EventTime(*high), absl::Milliseconds(100));
  std::string report = ReportPath(vigild, "hungry");
  ASSERT_TRUE(WaitForReport(report, "signal 10", milliseconds(5000)));
  std::ifstream high_file(vigild.cgroup_root() + "/units/hungry/memory.high");
  int64_t written = 0;
  high_file >> written;
  EXPECT_EQ(written, 32 * kMiB);
  absl::Time mark, signal;
  for (const auto& line : ReadReport(report)) {
    if (line.what == "mark rss" && mark == absl::Time()) mark = line.time;
    if (line.what == "signal 10" && signal == absl::Time()) signal = line.time;
  }
  std::cout << "memory.high: crossing (rss 30M) to SIGUSR1: " << (signal - mark) << "\n";
}

TEST(WatchTest, MemoryMaxOomKillsThenTheUnitRestarts) {
  VigildHarness vigild;
  SKIP_WITHOUT_CONTROLLER(vigild, "memory");
  std::string once = vigild.dir() + "/oom.once";
  vigild.WriteUnit("oomer", LoadUnit(vigild, "oomer", absl::StrCat("'--once=", once, "', alloc:128M, pause"),
                                     "restart: on-failure\n"
                                     "backoff: {initial: 100ms, max: 1s, factor: 2}\n"
                                     "watch:\n"
                                     "  memory:\n"
                                     "    max: 48M\n"
                                     "    on: {oom_kill: [log]}\n"));
  ASSERT_TRUE(vigild.Start().ok());
  ASSERT_TRUE(UnitsHaveController(vigild, "memory"));
  auto first = vigild.WaitForEvent(Kind("oomer", "spawn"));
  ASSERT_TRUE(first.ok());
  auto kill = vigild.WaitForEvent(Kind("oomer", "memory.oom_kill"));
  ASSERT_TRUE(kill.ok()) << kill.status();
  EXPECT_EQ(EventInt(*kill, "level"), 48 * kMiB);
  auto exit = vigild.WaitForEvent(Kind("oomer", "exit"));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_EQ(EventField(*exit, "message"), "killed by signal 9 (Killed)");
  auto again = vigild.WaitForEvent(Kind("oomer", "spawn"));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_NE(EventInt(*again, "pid"), EventInt(*first, "pid"));
  ASSERT_TRUE(vigild.WaitForState("oomer", "running").ok());
  Drain(vigild, milliseconds(200));
  EXPECT_GE(CountEvents(vigild, "oomer", "memory.max"), 1);
  EXPECT_EQ(CountEvents(vigild, "oomer", "memory.oom_kill"), 1);
}

TEST(WatchTest, ForkBombIsStoppedByPidsMaxWithAnEvent) {
  VigildHarness vigild;
  SKIP_WITHOUT_CONTROLLER(vigild, "pids");
  vigild.WriteUnit("bomber", LoadUnit(vigild, "bomber", "forkbomb, pause",
                                      "stop: {signal: SIGKILL, timeout: 1s}\n"
                                      "watch:\n"
                                      "  tasks:\n"
                                      "    max: 16\n"
                                      "    on: {max: [{signal: SIGUSR1, rate_limit: 10s}]}\n"));
  ASSERT_TRUE(vigild.Start().ok());
  ASSERT_TRUE(UnitsHaveController(vigild, "pids"));
  auto max = vigild.WaitForEvent(Kind("bomber", "tasks.max"));
  ASSERT_TRUE(max.ok()) << max.status();
  EXPECT_EQ(EventField(*max, "mechanism"), "pids.events");
  EXPECT_EQ(EventInt(*max, "level"), 16);
  EXPECT_LE(EventInt(*max, "value"), 16);
  std::string report = ReportPath(vigild, "bomber");
  ASSERT_TRUE(WaitForReport(report, "signal 10", milliseconds(5000)));
  std::ifstream current(vigild.cgroup_root() + "/units/bomber/pids.current");
  int64_t tasks = 0;
  current >> tasks;
  EXPECT_EQ(tasks, 16);
  ASSERT_TRUE(vigild.Request("stop", "bomber").ok());
  ASSERT_TRUE(vigild.WaitForState("bomber", "exited").ok());
}

TEST(WatchTest, ReloadWithChangedWatchRestartsWithTheNewOne) {
  VigildHarness vigild;
  vigild.WriteUnit("changing", LoadUnit(vigild, "changing", "alloc:24M, spin:60, pause",
                                        "watch:\n  memory: {levels: [64M]}\n"));
  ASSERT_TRUE(vigild.Start().ok());
  ASSERT_TRUE(vigild.WaitForState("changing", "running").ok());
  ASSERT_TRUE(WaitForReport(ReportPath(vigild, "changing"), "done"));
  Drain(vigild, milliseconds(200));
  EXPECT_EQ(CountEvents(vigild, "changing", "memory.level"), 0);
  vigild.WriteUnit("changing", LoadUnit(vigild, "changing", "alloc:24M, spin:60, pause",
                                        "watch:\n  memory: {levels: [16M]}\n"));
  ASSERT_TRUE(vigild.Request("reload").ok());
  auto up = vigild.WaitForEvent(Kind("changing", "memory.level"));
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_EQ(EventInt(*up, "level"), 16 * kMiB);
}

}  // namespace
}  // namespace vigil::testing
