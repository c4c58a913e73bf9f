// CpuTimeTimer owns one POSIX timer (timer_create(2)) on another process's
// CPU-time clock (clock_getcpuclockid(3)). When the process has consumed the
// requested CPU time, the kernel queues `signo` to *this* process with the
// caller's 64-bit cookie in si_value; CpuTimerSignals reads it from a
// signalfd. A process that does not run never advances its clock, so a
// watched sleeping process costs no wakeup at all.
//
// Only whole processes (thread-group leaders) can be timed: the kernel refuses
// per-thread CPU clocks of threads outside the caller's own thread group
// (EINVAL from timer_create and clock_gettime), and clock_getcpuclockid()
// refuses a non-leader tid (ESRCH). The process clock counts every thread, so
// per-thread policy is evaluated from /proc when the process timer fires.
#ifndef VIGIL_SUPERVISOR_MAZE_CPU_TIME_TIMER_H_
#define VIGIL_SUPERVISOR_MAZE_CPU_TIME_TIMER_H_

#include <sys/types.h>
#include <time.h>

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace vigil::maze {

class CpuTimeTimer {
 public:
  // Creates a disarmed timer on the CPU clock of process `pid` that queues
  // real-time signal `signo` carrying `cookie` when it expires.
  static absl::StatusOr<CpuTimeTimer> Create(pid_t pid, int signo,
                                             uint64_t cookie);

  CpuTimeTimer(CpuTimeTimer&& other) noexcept;
  CpuTimeTimer& operator=(CpuTimeTimer&& other) noexcept;
  CpuTimeTimer(const CpuTimeTimer&) = delete;
  CpuTimeTimer& operator=(const CpuTimeTimer&) = delete;
  ~CpuTimeTimer();

  // One-shot expiry after the process consumes `cpu` more CPU time (all its
  // threads together). Replaces any earlier arming. Durations below one
  // nanosecond are raised to one, since a zero expiry would disarm.
  absl::Status ArmAfter(absl::Duration cpu);
  absl::Status Disarm();

  // The process's total CPU time (utime+stime of all threads) right now.
  absl::StatusOr<absl::Duration> ProcessCpuTime() const;

  pid_t pid() const { return pid_; }
  uint64_t cookie() const { return cookie_; }

 private:
  CpuTimeTimer(pid_t pid, clockid_t clock, timer_t timer, uint64_t cookie)
      : pid_(pid), clock_(clock), timer_(timer), cookie_(cookie) {}
  void Delete();

  pid_t pid_ = 0;
  clockid_t clock_ = 0;
  timer_t timer_ = nullptr;
  bool owns_timer_ = true;
  uint64_t cookie_ = 0;
};

}  // namespace vigil::maze

#endif  // VIGIL_SUPERVISOR_MAZE_CPU_TIME_TIMER_H_
