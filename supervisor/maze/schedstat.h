// TaskSampler reads the scheduler's per-thread accounting of one process from
// procfs: /proc/<pid>/task/<tid>/schedstat (CONFIG_SCHED_INFO: on-CPU time,
// runqueue wait, timeslices) and /proc/<pid>/task/<tid>/status (state and
// context-switch counts). It owns no fd; each call opens, reads and closes.
//
// /proc/<pid>/task/<tid>/stat's utime/stime are not read: they are in clock
// ticks (10 ms here) while schedstat's run time is the exact nanosecond sum
// that the CPU-time clocks themselves count.
#ifndef VIGIL_SUPERVISOR_MAZE_SCHEDSTAT_H_
#define VIGIL_SUPERVISOR_MAZE_SCHEDSTAT_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace vigil::maze {

struct TaskSample {
  pid_t tid = 0;
  uint64_t run_ns = 0;       // time on a CPU (sum_exec_runtime)
  uint64_t wait_ns = 0;      // time runnable but waiting for a CPU
  uint64_t timeslices = 0;   // times scheduled onto a CPU
  // A voluntary switch means the thread blocked (slept, waited, stopped);
  // an involuntary one means it was preempted while still runnable.
  uint64_t voluntary_switches = 0;
  uint64_t involuntary_switches = 0;
  char state = '?';          // R, S, D, T, Z, ... as in status "State:"
};

class TaskSampler {
 public:
  // `proc_root` is "/proc" in production; tests point it at a fake tree.
  explicit TaskSampler(std::string proc_root = "/proc")
      : proc_root_(std::move(proc_root)) {}

  // Every thread of process `pid`, in tid order. Threads that exit while
  // being read are left out. NotFound when the process itself is gone.
  absl::StatusOr<std::vector<TaskSample>> SampleProcess(pid_t pid) const;

  absl::StatusOr<TaskSample> SampleTask(pid_t pid, pid_t tid) const;

 private:
  std::string TaskDir(pid_t pid, pid_t tid) const;

  std::string proc_root_;
};

}  // namespace vigil::maze

#endif  // VIGIL_SUPERVISOR_MAZE_SCHEDSTAT_H_
