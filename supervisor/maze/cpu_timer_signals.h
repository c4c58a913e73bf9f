// CpuTimerSignals owns a signalfd(2) for the real-time signal that
// CpuTimeTimers queue, and blocks that signal in the calling thread so it is
// only ever consumed through the fd. An event loop polls fd() for
// readability and calls ReadFired().
//
// The signal must be blocked in every thread of the process: a timer signal
// is process-directed and the default action of a real-time signal is to
// terminate. Create this before starting other threads (they inherit the
// mask). The destructor closes the fd but leaves the signal blocked, for the
// same reason: a timer still alive elsewhere would otherwise kill the daemon.
//
// Each POSIX timer queues at most one signal at a time (a second expiry
// before the first is read only bumps the overrun count), so any number of
// timers firing together are all seen and the queue cannot overflow.
#ifndef VIGIL_SUPERVISOR_MAZE_CPU_TIMER_SIGNALS_H_
#define VIGIL_SUPERVISOR_MAZE_CPU_TIMER_SIGNALS_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"

namespace vigil::maze {

class CpuTimerSignals {
 public:
  static absl::StatusOr<CpuTimerSignals> Create(int signo);

  CpuTimerSignals(CpuTimerSignals&& other) noexcept;
  CpuTimerSignals& operator=(CpuTimerSignals&& other) noexcept;
  CpuTimerSignals(const CpuTimerSignals&) = delete;
  CpuTimerSignals& operator=(const CpuTimerSignals&) = delete;
  ~CpuTimerSignals();

  int fd() const { return fd_; }
  int signo() const { return signo_; }

  // Drains every queued timer expiry without blocking and returns the cookie
  // of each. Signals of the same number that did not come from a POSIX timer
  // (kill, sigqueue) are consumed and ignored. Cookies of timers deleted
  // after they fired may still appear; callers ignore unknown cookies.
  absl::StatusOr<std::vector<uint64_t>> ReadFired();

 private:
  CpuTimerSignals(int fd, int signo) : fd_(fd), signo_(signo) {}

  int fd_ = -1;
  int signo_ = 0;
};

}  // namespace vigil::maze

#endif  // VIGIL_SUPERVISOR_MAZE_CPU_TIMER_SIGNALS_H_
