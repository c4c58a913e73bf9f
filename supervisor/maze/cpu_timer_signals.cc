#include "supervisor/maze/cpu_timer_signals.h"

#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/errno_status.h"

namespace vigil::maze {

absl::StatusOr<CpuTimerSignals> CpuTimerSignals::Create(int signo) {
  if (signo < SIGRTMIN || signo > SIGRTMAX) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "CPU-timer signalfd: signal %d is not a real-time signal (%d..%d)",
        signo, SIGRTMIN, SIGRTMAX));
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, signo);
  if (int err = pthread_sigmask(SIG_BLOCK, &set, nullptr); err != 0) {
    return ErrnoStatus(absl::StrCat("blocking signal ", signo), err);
  }
  int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) {
    return ErrnoStatus(absl::StrCat("signalfd for signal ", signo), errno);
  }
  return CpuTimerSignals(fd, signo);
}

CpuTimerSignals::CpuTimerSignals(CpuTimerSignals&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), signo_(other.signo_) {}

CpuTimerSignals& CpuTimerSignals::operator=(CpuTimerSignals&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    signo_ = other.signo_;
  }
  return *this;
}

CpuTimerSignals::~CpuTimerSignals() {
  if (fd_ >= 0) close(fd_);
}

absl::StatusOr<std::vector<uint64_t>> CpuTimerSignals::ReadFired() {
  std::vector<uint64_t> cookies;
  signalfd_siginfo infos[16];
  for (;;) {
    ssize_t n = read(fd_, infos, sizeof(infos));
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return cookies;
      return ErrnoStatus(absl::StrCat("reading the signalfd of signal ", signo_),
                         errno);
    }
    for (size_t i = 0; i < n / sizeof(signalfd_siginfo); ++i) {
      if (infos[i].ssi_code == SI_TIMER) cookies.push_back(infos[i].ssi_ptr);
    }
  }
}

}  // namespace vigil::maze
