// The plain-data side of a unit's `watch:` section in vigild: which kernel
// mechanism each configured watch uses on this host (printed at startup and
// in "capabilities"), and the config's action lists as ActionPlans for
// ActionGate. Nothing here touches the kernel.
#ifndef VIGIL_SUPERVISOR_WATCH_PLAN_H_
#define VIGIL_SUPERVISOR_WATCH_PLAN_H_

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "supervisor/watch/action_plan.h"

namespace vigil {

// What the host and the unit offer the watches.
struct WatchFeatures {
  bool memory_controller = false;  // memory.* files in the unit's v2 cgroup
  bool pids_controller = false;    // pids.* files there
  bool psi = false;                // <cgroup>/*.pressure
  // false for `attach:` units: their process lives outside the unit cgroup,
  // so only per-process figures describe it.
  bool process_in_unit_cgroup = true;
  std::chrono::milliseconds cpu_tick{20};  // levels are read every tick of CPU
};

// Where memory and task figures for levels come from.
enum class UsageSource {
  kCgroup,     // memory.current / pids.current
  kProcesses,  // VmRSS / Threads summed over the unit's processes
};
UsageSource MemorySource(const WatchFeatures& features);
UsageSource TasksSource(const WatchFeatures& features);

// One line per configured watch: {"memory.high", "memory.high + memory.events
// (POLLPRI)"}, {"memory.levels", "sum of VmRSS ... on ..."}, or
// {"tasks.max", "unavailable: ..."}. In the order of the config's fields.
using WatchMechanisms = std::vector<std::pair<std::string, std::string>>;
WatchMechanisms DescribeWatchMechanisms(const config::WatchSpec& spec,
                                        const WatchFeatures& features);

// config::Action lists as ActionPlans: a `rate_limit: P` is "at most one run
// per P".
watch::ActionPlan ToActionPlan(const config::Actions& actions);

// restart and stop end the watch that fired them, so they run after the
// other actions of the same event.
bool EndsTheWatch(const watch::ActionKind& kind);

// exec and log only tell someone; the others act on the unit's processes,
// which makes no sense once its main process is gone.
bool OnlyReports(const watch::ActionKind& kind);

}  // namespace vigil

#endif  // VIGIL_SUPERVISOR_WATCH_PLAN_H_
