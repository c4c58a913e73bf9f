// WatchedProcess: what vigild holds on one process that rlimit-events
// clients watch. It owns
//   - a pidfd (pidfd_open(2)): readable when the process exits, and the
//     proof that the pid still names the process the clients asked about;
//   - an O_DIRECTORY fd on /proc/<pid>, pinned to that process, for status;
//   - a CpuTimeTimer on the process's CPU clock, queuing the service's RT
//     signal: the process's fd count, RSS and threads change only while it
//     runs, so its CPU ticks are when to look;
//   - for MAZE watches, a MazeDetector over TaskSampler samples.
// Open() checks, after every fd is open, that the process is still alive, so
// no fd can describe a process that replaced it under a reused pid.
#ifndef VIGIL_SUPERVISOR_RLIMIT_WATCHED_PROCESS_H_
#define VIGIL_SUPERVISOR_RLIMIT_WATCHED_PROCESS_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "supervisor/maze/cpu_time_timer.h"
#include "supervisor/maze/maze_detector.h"
#include "supervisor/maze/schedstat.h"
#include "supervisor/rlimit/permission.h"
#include "supervisor/unique_fd.h"

namespace vigil::rlimit {

struct StatusReading {
  int64_t rss_bytes = 0;
  int64_t threads = 0;
  ProcessUids uids;
};

class WatchedProcess {
 public:
  // NotFound (no such process, or it exited meanwhile), InvalidArgument (a
  // thread id that is not a process), or the failing call.
  static absl::StatusOr<WatchedProcess> Open(pid_t pid, int timer_signal,
                                             uint64_t timer_cookie);

  pid_t pid() const { return pid_; }
  int pidfd() const { return pidfd_.get(); }
  bool Exited() const;

  // Each returns NotFound once the process has exited.
  absl::StatusOr<StatusReading> ReadStatus() const;
  absl::StatusOr<int64_t> CpuTimeNs() const;
  // The longest time any live thread has run without blocking (as MAZE
  // counts it; a lower bound, see supervisor/maze/README.md), in ns, and
  // that thread's count. The first call starts every count at zero.
  absl::StatusOr<int64_t> MazeCountNs();

  // Next look after `cpu` more CPU time of the process; nullopt disarms.
  absl::Status ArmAfter(std::optional<absl::Duration> cpu);

 private:
  WatchedProcess(pid_t pid, UniqueFd pidfd, UniqueFd dir, maze::CpuTimeTimer timer)
      : pid_(pid), pidfd_(std::move(pidfd)), dir_(std::move(dir)),
        timer_(std::move(timer)) {}
  absl::Status Gone(const absl::Status& status) const;

  pid_t pid_;
  UniqueFd pidfd_;
  UniqueFd dir_;
  maze::CpuTimeTimer timer_;
  std::optional<maze::MazeDetector> maze_;
  maze::TaskSampler sampler_;
};

}  // namespace vigil::rlimit

#endif  // VIGIL_SUPERVISOR_RLIMIT_WATCHED_PROCESS_H_
