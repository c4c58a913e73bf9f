// Current usage of a vigild unit's watched resources, read at check time
// from the unit's cgroup and /proc (vigild publishes levels only when they
// are crossed, so the current figure is measured here):
//
//   memory  <cgroup>/memory.current; where the v2 memory controller is
//           missing (hybrid hosts), the sum of VmRSS over cgroup.procs
//   tasks   <cgroup>/pids.current; else the sum of Threads over cgroup.procs
//   fds     open fds of the main process: stat(/proc/<pid>/fd).st_size,
//           the figure the fds watch uses (O(1) on kernels >= 6.2)
//
// The same fallbacks and figures as vigild's own level watches
// (supervisor/watch/README.md), so a check and a pushed level agree.
#ifndef VIGIL_NAGIOS_UNIT_USAGE_H_
#define VIGIL_NAGIOS_UNIT_USAGE_H_

#include <string>

#include "absl/status/statusor.h"
#include "nagios/unit_report.h"

namespace vigil::nagios {

// InvalidArgument for a resource other than memory, tasks or fds.
absl::StatusOr<PerfValue> ReadUnitUsage(const std::string& cgroup_dir, int main_pid,
                                        const std::string& resource);

}  // namespace vigil::nagios

#endif  // VIGIL_NAGIOS_UNIT_USAGE_H_
