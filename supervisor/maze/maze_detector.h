// MazeDetector is the MAZE policy (../shared/seeds/004_*.txt) over plain
// per-thread samples of one process; it touches no kernel interface.
//
// A thread's maze count is the CPU time it has run since it last blocked.
// Userspace cannot see the moment a thread blocks, only that its
// voluntary_ctxt_switches grew between two samples, so the count is the run
// time accumulated since the last sample in which that happened: a lower
// bound of the kernel's count. The detector therefore never signals early; it
// can be late by at most the CPU time the thread ran between the two samples
// around its last block (see README.md).
//
// Each Observe() returns the decisions (soft once, hard once, reset when a
// signalled thread blocks) and how much more *process* CPU time may pass
// before the next sample. A thread's count grows no faster than the process
// clock, so re-arming the process's CpuTimeTimer there cannot miss a limit.
#ifndef VIGIL_SUPERVISOR_MAZE_MAZE_DETECTOR_H_
#define VIGIL_SUPERVISOR_MAZE_MAZE_DETECTOR_H_

#include <sys/types.h>

#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "supervisor/maze/schedstat.h"

namespace vigil::maze {

struct MazeLimits {
  absl::Duration soft;
  // absl::InfiniteDuration(): no hard limit, only the soft signal is sent.
  absl::Duration hard;
};

enum class MazeAction { kSoft, kHard, kReset };
const char* MazeActionName(MazeAction action);

struct MazeDecision {
  pid_t tid = 0;
  MazeAction action = MazeAction::kSoft;
  absl::Duration count;  // the thread's maze count when decided
};

struct MazeVerdict {
  std::vector<MazeDecision> decisions;
  // Process CPU time until the next Observe() is needed; nullopt when the
  // sample had no live thread.
  std::optional<absl::Duration> next_check;
};

struct MazeTaskCount {
  pid_t tid = 0;
  absl::Duration count;
  bool soft_sent = false;
  bool hard_sent = false;
};

// Where the watch on a process began, which decides what its first sample
// means.
enum class WatchOrigin {
  // Watched while already running: counts start at zero at the first sample,
  // as MAZE's reset when an entry is added.
  kAttached,
  // Created by fork from a watched process: a thread that has never blocked
  // has been running since its creation, as MAZE's maze_fork().
  kForked,
};

class MazeDetector {
 public:
  // Checks are never scheduled closer than this much process CPU time apart.
  // With k threads spinning, the remaining budget of the busiest shrinks by
  // at least 1/k per check, so this floor bounds both the overshoot and the
  // number of checks near a limit.
  static constexpr absl::Duration kMinCheckInterval = absl::Milliseconds(2);

  // InvalidArgument unless 0 < soft <= hard.
  static absl::StatusOr<MazeDetector> Create(MazeLimits limits,
                                             WatchOrigin origin);

  // New limits for the next Observe(); counts and sent flags are kept, as
  // MAZE did when an entry was written for an already watched task.
  absl::Status SetLimits(MazeLimits limits);

  // Feeds one sample of every thread of the process (TaskSampler order).
  MazeVerdict Observe(const std::vector<TaskSample>& tasks);

  // Counts as of the last Observe(), in tid order (for `vigilctl maze list`).
  std::vector<MazeTaskCount> Counts() const;

  const MazeLimits& limits() const { return limits_; }

 private:
  struct TaskState {
    uint64_t baseline_run_ns = 0;  // run_ns when the thread last blocked
    uint64_t run_ns = 0;
    uint64_t voluntary_switches = 0;
    bool soft_sent = false;
    bool hard_sent = false;
    bool can_run = true;  // false for zombies, which never run again
  };

  MazeDetector(MazeLimits limits, WatchOrigin origin)
      : limits_(limits), origin_(origin) {}

  TaskState StartTask(const TaskSample& sample, bool first_sample) const;
  void Decide(pid_t tid, TaskState& state, std::vector<MazeDecision>& out);
  absl::Duration Remaining(const TaskState& state) const;

  MazeLimits limits_;
  WatchOrigin origin_;
  bool observed_ = false;
  absl::flat_hash_map<pid_t, TaskState> tasks_;
};

}  // namespace vigil::maze

#endif  // VIGIL_SUPERVISOR_MAZE_MAZE_DETECTOR_H_
