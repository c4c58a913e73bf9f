#include "supervisor/maze/cpu_time_timer.h"

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/errno_status.h"

namespace vigil::maze {

absl::StatusOr<CpuTimeTimer> CpuTimeTimer::Create(pid_t pid, int signo,
                                                  uint64_t cookie) {
  if (signo < SIGRTMIN || signo > SIGRTMAX) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "CPU-time timer for pid %d: signal %d is not a real-time signal "
        "(%d..%d); only those queue one entry per timer",
        pid, signo, SIGRTMIN, SIGRTMAX));
  }
  clockid_t clock;
  if (int err = clock_getcpuclockid(pid, &clock); err != 0) {
    return ErrnoStatus(
        absl::StrFormat("clock_getcpuclockid(pid %d) (the pid must be a "
                        "running process, not a thread of another process)",
                        pid),
        err);
  }
  sigevent event{};
  event.sigev_notify = SIGEV_SIGNAL;
  event.sigev_signo = signo;
  event.sigev_value.sival_ptr = reinterpret_cast<void*>(cookie);
  timer_t timer;
  if (timer_create(clock, &event, &timer) != 0) {
    return ErrnoStatus(
        absl::StrFormat("timer_create on the CPU clock of pid %d", pid), errno);
  }
  return CpuTimeTimer(pid, clock, timer, cookie);
}

CpuTimeTimer::CpuTimeTimer(CpuTimeTimer&& other) noexcept
    : pid_(other.pid_),
      clock_(other.clock_),
      timer_(other.timer_),
      owns_timer_(std::exchange(other.owns_timer_, false)),
      cookie_(other.cookie_) {}

CpuTimeTimer& CpuTimeTimer::operator=(CpuTimeTimer&& other) noexcept {
  if (this != &other) {
    Delete();
    pid_ = other.pid_;
    clock_ = other.clock_;
    timer_ = other.timer_;
    owns_timer_ = std::exchange(other.owns_timer_, false);
    cookie_ = other.cookie_;
  }
  return *this;
}

CpuTimeTimer::~CpuTimeTimer() { Delete(); }

void CpuTimeTimer::Delete() {
  if (owns_timer_) timer_delete(timer_);
  owns_timer_ = false;
}

absl::Status CpuTimeTimer::ArmAfter(absl::Duration cpu) {
  itimerspec spec{};
  spec.it_value = absl::ToTimespec(std::max(cpu, absl::Nanoseconds(1)));
  if (timer_settime(timer_, 0, &spec, nullptr) != 0) {
    return ErrnoStatus(
        absl::StrCat("arming the CPU-time timer of pid ", pid_), errno);
  }
  return absl::OkStatus();
}

absl::Status CpuTimeTimer::Disarm() {
  itimerspec spec{};
  if (timer_settime(timer_, 0, &spec, nullptr) != 0) {
    return ErrnoStatus(
        absl::StrCat("disarming the CPU-time timer of pid ", pid_), errno);
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::Duration> CpuTimeTimer::ProcessCpuTime() const {
  timespec now;
  if (clock_gettime(clock_, &now) != 0) {
    return ErrnoStatus(absl::StrCat("reading the CPU clock of pid ", pid_),
                       errno);
  }
  return absl::DurationFromTimespec(now);
}

}  // namespace vigil::maze
