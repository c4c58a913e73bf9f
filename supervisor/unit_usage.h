// UnitUsage: the figures that levels are measured on, for one unit, read on
// demand (a trigger with a cause: an events file, a PSI trigger, a CPU-time
// tick). Keeps no fd open: the set of processes changes between reads.
//
// Memory is memory.current, or on hosts without the cgroup v2 memory
// controller the sum of VmRSS over the unit's processes (cgroup.procs, or the
// attached process alone); tasks are pids.current, or the sum of Threads.
// Open fds are the main process's (stat /proc/<pid>/fd, O(1) since 6.2).
#ifndef VIGIL_SUPERVISOR_UNIT_USAGE_H_
#define VIGIL_SUPERVISOR_UNIT_USAGE_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "supervisor/watch_plan.h"

namespace vigil {

struct UnitUsageFigures {
  std::optional<int64_t> memory_bytes;
  std::optional<int64_t> tasks;
  std::optional<int64_t> open_fds;
};

class UnitUsage {
 public:
  struct Wanted {
    bool memory = false;
    bool tasks = false;
    bool open_fds = false;
  };
  // `cgroup_dir` is the unit's cgroup; with UsageSource::kProcesses and
  // `process_in_unit_cgroup` false only `main_pid` is counted.
  UnitUsage(std::string cgroup_dir, pid_t main_pid, const WatchFeatures& features,
            Wanted wanted);

  // The wanted figures now. A process that exits mid-read is skipped.
  absl::StatusOr<UnitUsageFigures> Read() const;

  // "memory.current", "VmRSS", "pids.current", "Threads": where the figure
  // comes from, for events' mechanism field.
  const char* memory_source_name() const;
  const char* tasks_source_name() const;

 private:
  struct ProcessTotals {
    int64_t rss_bytes = 0;
    int64_t threads = 0;
  };
  absl::StatusOr<ProcessTotals> SumProcesses() const;

  std::string cgroup_dir_;
  pid_t main_pid_;
  bool process_in_unit_cgroup_;
  UsageSource memory_source_;
  UsageSource tasks_source_;
  Wanted wanted_;
};

}  // namespace vigil

#endif  // VIGIL_SUPERVISOR_UNIT_USAGE_H_
