#include "supervisor/pidfd_source.h"

#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/errno_status.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace vigil {

std::string ExitStatus::Describe() const {
  if (!known) return "exited (status unknown: not vigild's child)";
  if (signaled) {
    return absl::StrCat("killed by signal ", signal, " (", strsignal(signal),
                        ")", core_dumped ? ", core dumped" : "");
  }
  return absl::StrCat("exited with code ", code);
}

absl::StatusOr<PidfdSource> PidfdSource::Open(pid_t pid) {
  int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return ErrnoStatus(absl::StrCat("pidfd_open pid ", pid), errno);
  return PidfdSource(pid, UniqueFd(fd), /*is_child=*/false);
}

absl::Status PidfdSource::SendSignal(int signo) const {
  if (syscall(SYS_pidfd_send_signal, fd_.get(), signo, nullptr, 0) < 0) {
    return ErrnoStatus(absl::StrCat("pidfd_send_signal ", signo, " to pid ", pid_),
                       errno);
  }
  return absl::OkStatus();
}

ExitStatus PidfdSource::Reap() const {
  ExitStatus status;
  if (!is_child_) return status;
  siginfo_t info{};
  int rc;
  do {
    rc = waitid(static_cast<idtype_t>(P_PIDFD), fd_.get(), &info,
                WEXITED | WNOHANG);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0 || info.si_pid == 0) return status;
  status.known = true;
  switch (info.si_code) {
    case CLD_EXITED:
      status.code = info.si_status;
      break;
    case CLD_DUMPED:
      status.core_dumped = true;
      [[fallthrough]];
    default:
      status.signaled = true;
      status.signal = info.si_status;
  }
  return status;
}

}  // namespace vigil
