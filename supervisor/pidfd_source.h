// PidfdSource: owns a pidfd (pidfd_open(2) or CLONE_PIDFD). The fd becomes
// readable when the process exits; Reap() collects the exit status with
// waitid(P_PIDFD) when the process is vigild's child.
#ifndef VIGIL_SUPERVISOR_PIDFD_SOURCE_H_
#define VIGIL_SUPERVISOR_PIDFD_SOURCE_H_

#include <sys/types.h>

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "supervisor/unique_fd.h"

namespace vigil {

struct ExitStatus {
  bool known = false;   // false for processes vigild did not start
  int code = 0;         // exit code, when !signaled
  int signal = 0;       // terminating signal, when signaled
  bool signaled = false;
  bool core_dumped = false;

  bool success() const { return known && !signaled && code == 0; }
  std::string Describe() const;
};

class PidfdSource {
 public:
  // Adopts a pidfd the caller obtained (CLONE_PIDFD).
  PidfdSource(pid_t pid, UniqueFd fd, bool is_child)
      : pid_(pid), fd_(std::move(fd)), is_child_(is_child) {}
  // pidfd_open(2) on a process vigild did not start.
  static absl::StatusOr<PidfdSource> Open(pid_t pid);

  pid_t pid() const { return pid_; }
  int fd() const { return fd_.get(); }
  absl::Status SendSignal(int signo) const;
  // Call once the fd is readable. For a child, reaps it (no zombie remains).
  ExitStatus Reap() const;

 private:
  pid_t pid_;
  UniqueFd fd_;
  bool is_child_;
};

}  // namespace vigil

#endif  // VIGIL_SUPERVISOR_PIDFD_SOURCE_H_
