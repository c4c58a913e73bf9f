// ProcessUsageReader: owns an O_DIRECTORY fd on /proc/<pid> and reads the
// per-process figures that stand in for cgroup v2 controllers on hosts
// without them (hybrid hosts like the CI machines): resident memory, threads,
// children and open fds. Holding the directory pins the process's identity:
// once it exits, reads fail with NotFound instead of silently describing
// whichever process reuses the pid.
//
// Nothing here wakes anyone: the watch reads on a trigger that has a cause
// (a CPU-time tick of the process, a PSI or events-file wakeup), because a
// process that does not run cannot allocate, fork or open files.
//
// Costs per Read(): status (one file), one children file per thread, and one
// fstatat of fd/, which the kernel answers in O(1) since 6.2 (st_size is the
// number of open fds); older kernels report 0 there and the fds are listed.
#ifndef VIGIL_SUPERVISOR_WATCH_PROCESS_USAGE_H_
#define VIGIL_SUPERVISOR_WATCH_PROCESS_USAGE_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "supervisor/unique_fd.h"

namespace vigil::watch {

struct ProcessUsage {
  int64_t rss_bytes = 0;  // VmRSS; 0 for zombies and kernel threads
  int64_t threads = 0;
  int64_t children = 0;   // direct children of all its threads
  int64_t open_fds = 0;
};

// VmRSS and Threads from the text of /proc/<pid>/status.
struct StatusFigures {
  int64_t rss_bytes = 0;
  int64_t threads = 0;
};
absl::StatusOr<StatusFigures> ParseProcStatus(absl::string_view text,
                                              absl::string_view source);

class ProcessUsageReader {
 public:
  static absl::StatusOr<ProcessUsageReader> Open(pid_t pid);

  pid_t pid() const { return pid_; }
  absl::StatusOr<ProcessUsage> Read() const;
  absl::StatusOr<int64_t> OpenFds() const;
  absl::StatusOr<int64_t> Children() const;

 private:
  ProcessUsageReader(pid_t pid, UniqueFd dir)
      : pid_(pid), dir_(std::move(dir)) {}
  // NotFound "process <pid> has exited" if that is why `status` failed.
  absl::Status Exited(const absl::Status& status) const;

  pid_t pid_;
  UniqueFd dir_;
};

// memory.current and pids.current of a cgroup, each absent when the
// controller is not enabled there (always, on a hybrid host's v2 tree).
struct CgroupUsage {
  std::optional<int64_t> memory_bytes;
  std::optional<int64_t> tasks;
};
absl::StatusOr<CgroupUsage> ReadCgroupUsage(const std::string& cgroup_dir);

}  // namespace vigil::watch

#endif  // VIGIL_SUPERVISOR_WATCH_PROCESS_USAGE_H_
