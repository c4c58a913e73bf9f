#include "supervisor/watch_plan.h"

#include <map>
#include <variant>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace vigil {
namespace {

std::map<std::string, std::string> AsMap(const WatchMechanisms& m) {
  return {m.begin(), m.end()};
}

config::WatchSpec FullSpec() {
  config::WatchSpec spec;
  spec.memory = config::MemoryWatch{.high = 512, .max = 1024, .levels = {{.at = 256}}};
  spec.tasks = config::TasksWatch{.max = 100, .levels = {{.at = 50}}};
  spec.pressure = config::PressureWatch{.cpu = config::PressureTrigger{}};
  spec.cpu_time = config::CpuTimeWatch{.limit = config::Duration(1000)};
  return spec;
}

TEST(WatchPlanTest, PureV2UsesControllerFilesAndEventsFiles) {
  WatchFeatures v2{.memory_controller = true, .pids_controller = true, .psi = true};
  auto m = AsMap(DescribeWatchMechanisms(FullSpec(), v2));
  EXPECT_EQ(m["memory.high"], "memory.high + memory.events (POLLPRI)");
  EXPECT_EQ(m["memory.max"], "memory.max + memory.events max/oom/oom_kill (POLLPRI)");
  EXPECT_EQ(m["memory.levels"],
            "memory.current, read on memory.events, pids.events, PSI triggers, and every "
            "20ms of the main process's CPU (CPU-time timer)");
  EXPECT_EQ(m["tasks.max"], "pids.max + pids.events (POLLPRI)");
  EXPECT_TRUE(absl::StartsWith(m["tasks.levels"], "pids.current, read on"));
  EXPECT_EQ(m["pressure.cpu"], "PSI trigger on the unit's cpu.pressure (POLLPRI)");
  EXPECT_EQ(m["cpu_time"], "CPU-time timer on the main process (all its threads)");
  EXPECT_EQ(MemorySource(v2), UsageSource::kCgroup);
}

TEST(WatchPlanTest, HybridHostFallsBackToProcessFiguresAndSaysWhatIsMissing) {
  WatchFeatures hybrid{.psi = true, .cpu_tick = std::chrono::milliseconds(50)};
  auto m = AsMap(DescribeWatchMechanisms(FullSpec(), hybrid));
  EXPECT_EQ(m["memory.high"],
            "unavailable: no cgroup v2 memory controller for the unit (hybrid host?); "
            "not enforced");
  EXPECT_TRUE(absl::StartsWith(m["tasks.max"], "unavailable: no cgroup v2 pids controller"));
  EXPECT_EQ(m["memory.levels"],
            "sum of VmRSS over the unit's processes (cgroup.procs) (no cgroup v2 memory "
            "controller), read on PSI triggers, and every 50ms of the main process's CPU "
            "(CPU-time timer)");
  EXPECT_TRUE(absl::StartsWith(m["tasks.levels"], "sum of Threads over the unit's processes"));
  EXPECT_EQ(MemorySource(hybrid), UsageSource::kProcesses);
  EXPECT_EQ(TasksSource(hybrid), UsageSource::kProcesses);
}

TEST(WatchPlanTest, AttachedProcessOnlyHasPerProcessFigures) {
  WatchFeatures attached{.memory_controller = true, .pids_controller = true, .psi = true,
                         .process_in_unit_cgroup = false};
  auto m = AsMap(DescribeWatchMechanisms(FullSpec(), attached));
  EXPECT_TRUE(absl::StartsWith(m["memory.high"], "unavailable"));
  EXPECT_TRUE(absl::StartsWith(m["memory.levels"], "sum of VmRSS over the attached process"));
  EXPECT_EQ(m["pressure.cpu"], "unavailable: no PSI for the unit's cgroup");
  EXPECT_EQ(MemorySource(attached), UsageSource::kProcesses);
}

TEST(WatchPlanTest, EmptySpecHasNoMechanisms) {
  EXPECT_TRUE(DescribeWatchMechanisms(config::WatchSpec{}, WatchFeatures{}).empty());
}

TEST(WatchPlanTest, ActionsKeepOrderKindsAndRateLimits) {
  config::Actions actions = {
      {.kind = config::ActionKind::kSignal, .signal = 10, .target = config::SignalTarget::kCgroup},
      {.kind = config::ActionKind::kExec, .argv = {"/bin/hook", "x"},
       .rate_limit = config::Duration(60000)},
      {.kind = config::ActionKind::kRestart},
      {.kind = config::ActionKind::kStop},
      {.kind = config::ActionKind::kFreeze},
      {.kind = config::ActionKind::kLog}};
  watch::ActionPlan plan = ToActionPlan(actions);
  ASSERT_EQ(plan.actions.size(), 6u);
  EXPECT_EQ(plan.actions[0].kind,
            watch::ActionKind(watch::SignalAction{10, watch::SignalTarget::kCgroup}));
  EXPECT_FALSE(plan.actions[0].limit);
  EXPECT_EQ(plan.actions[1].kind, watch::ActionKind(watch::ExecAction{{"/bin/hook", "x"}}));
  ASSERT_TRUE(plan.actions[1].limit);
  EXPECT_EQ(plan.actions[1].limit->max_events, 1);
  EXPECT_EQ(plan.actions[1].limit->interval, std::chrono::milliseconds(60000));
  EXPECT_TRUE(std::holds_alternative<watch::FreezeAction>(plan.actions[4].kind));
  EXPECT_TRUE(std::holds_alternative<watch::LogAction>(plan.actions[5].kind));
  EXPECT_FALSE(EndsTheWatch(plan.actions[0].kind));
  EXPECT_TRUE(EndsTheWatch(plan.actions[2].kind));
  EXPECT_TRUE(EndsTheWatch(plan.actions[3].kind));
  EXPECT_FALSE(EndsTheWatch(plan.actions[4].kind));
  EXPECT_FALSE(OnlyReports(plan.actions[0].kind));
  EXPECT_TRUE(OnlyReports(plan.actions[1].kind));
  EXPECT_FALSE(OnlyReports(plan.actions[2].kind));
  EXPECT_FALSE(OnlyReports(plan.actions[4].kind));
  EXPECT_TRUE(OnlyReports(plan.actions[5].kind));
}

}  // namespace
}  // namespace vigil
