#include "supervisor/watch_plan.h"

#include "absl/strings/str_cat.h"

namespace vigil {
namespace {

std::string LevelTriggers(const config::WatchSpec& spec,
                          const WatchFeatures& features) {
  std::string triggers;
  if (features.process_in_unit_cgroup) {
    if (spec.memory && features.memory_controller) triggers += "memory.events, ";
    if (spec.tasks && features.pids_controller) triggers += "pids.events, ";
    if (spec.pressure && features.psi) triggers += "PSI triggers, ";
  }
  return absl::StrCat("read on ", triggers, triggers.empty() ? "every " : "and every ",
                      features.cpu_tick.count(),
                      "ms of the main process's CPU (CPU-time timer)");
}

std::string Unavailable(const char* controller) {
  return absl::StrCat("unavailable: no cgroup v2 ", controller,
                      " controller for the unit (hybrid host?); not enforced");
}

}  // namespace

UsageSource MemorySource(const WatchFeatures& features) {
  return features.memory_controller && features.process_in_unit_cgroup
             ? UsageSource::kCgroup
             : UsageSource::kProcesses;
}

UsageSource TasksSource(const WatchFeatures& features) {
  return features.pids_controller && features.process_in_unit_cgroup
             ? UsageSource::kCgroup
             : UsageSource::kProcesses;
}

WatchMechanisms DescribeWatchMechanisms(const config::WatchSpec& spec,
                                        const WatchFeatures& features) {
  WatchMechanisms out;
  const char* processes = features.process_in_unit_cgroup
                              ? "the unit's processes (cgroup.procs)"
                              : "the attached process";
  bool in_cgroup = features.process_in_unit_cgroup;
  if (const auto& memory = spec.memory) {
    bool v2 = features.memory_controller && in_cgroup;
    if (memory->high) {
      out.emplace_back("memory.high", v2 ? "memory.high + memory.events (POLLPRI)"
                                         : Unavailable("memory"));
    }
    if (memory->max) {
      out.emplace_back("memory.max",
                       v2 ? "memory.max + memory.events max/oom/oom_kill (POLLPRI)"
                          : Unavailable("memory"));
    }
    if (!memory->levels.empty()) {
      std::string source =
          MemorySource(features) == UsageSource::kCgroup
              ? "memory.current"
              : absl::StrCat("sum of VmRSS over ", processes,
                             " (no cgroup v2 memory controller)");
      out.emplace_back("memory.levels",
                       absl::StrCat(source, ", ", LevelTriggers(spec, features)));
    }
  }
  if (const auto& tasks = spec.tasks) {
    if (tasks->max) {
      out.emplace_back("tasks.max", features.pids_controller && in_cgroup
                                        ? "pids.max + pids.events (POLLPRI)"
                                        : Unavailable("pids"));
    }
    if (!tasks->levels.empty()) {
      std::string source =
          TasksSource(features) == UsageSource::kCgroup
              ? "pids.current"
              : absl::StrCat("sum of Threads over ", processes,
                             " (no cgroup v2 pids controller)");
      out.emplace_back("tasks.levels",
                       absl::StrCat(source, ", ", LevelTriggers(spec, features)));
    }
  }
  if (spec.fds) {
    out.emplace_back("fds.levels",
                     absl::StrCat("open fds of the main process (st_size of /proc/<pid>/fd), ",
                                  LevelTriggers(spec, features)));
  }
  if (const auto& pressure = spec.pressure) {
    auto describe = [&](const char* name, const auto& trigger) {
      if (!trigger) return;
      out.emplace_back(absl::StrCat("pressure.", name),
                       features.psi && in_cgroup
                           ? absl::StrCat("PSI trigger on the unit's ", name,
                                          ".pressure (POLLPRI)")
                           : "unavailable: no PSI for the unit's cgroup");
    };
    describe("cpu", pressure->cpu);
    describe("memory", pressure->memory);
    describe("io", pressure->io);
  }
  if (spec.cpu_time) {
    out.emplace_back("cpu_time",
                     "CPU-time timer on the main process (all its threads)");
  }
  return out;
}

watch::ActionPlan ToActionPlan(const config::Actions& actions) {
  watch::ActionPlan plan;
  for (const config::Action& action : actions) {
    watch::Action out;
    switch (action.kind) {
      case config::ActionKind::kSignal:
        out.kind = watch::SignalAction{
            .signo = action.signal,
            .target = action.target == config::SignalTarget::kCgroup
                          ? watch::SignalTarget::kCgroup
                          : watch::SignalTarget::kMainProcess};
        break;
      case config::ActionKind::kRestart: out.kind = watch::RestartAction{}; break;
      case config::ActionKind::kStop: out.kind = watch::StopAction{}; break;
      case config::ActionKind::kFreeze: out.kind = watch::FreezeAction{}; break;
      case config::ActionKind::kExec: out.kind = watch::ExecAction{action.argv}; break;
      case config::ActionKind::kLog: out.kind = watch::LogAction{}; break;
    }
    if (action.rate_limit) {
      out.limit = watch::RateLimit{.max_events = 1, .interval = *action.rate_limit};
    }
    plan.actions.push_back(std::move(out));
  }
  return plan;
}

bool EndsTheWatch(const watch::ActionKind& kind) {
  return std::holds_alternative<watch::RestartAction>(kind) ||
         std::holds_alternative<watch::StopAction>(kind);
}

bool OnlyReports(const watch::ActionKind& kind) {
  return std::holds_alternative<watch::ExecAction>(kind) ||
         std::holds_alternative<watch::LogAction>(kind);
}

}  // namespace vigil
