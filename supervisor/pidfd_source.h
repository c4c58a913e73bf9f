// PidfdSource: owns a pidfd (pidfd_open(2) or CLONE_PIDFD). The fd becomes
// readable when the process exits; Reap() collects the exit status with
// waitid(P_PIDFD) when the process is vigild's child. ChildRegistry keeps
// that status for it when vigild's orphan reaper (PID 1) was first.
#ifndef VIGIL_SUPERVISOR_PIDFD_SOURCE_H_
#define VIGIL_SUPERVISOR_PIDFD_SOURCE_H_

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"

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

// Which of vigild's children have an owner that reaps them through a
// PidfdSource, and the exit statuses someone else collected for them. As
// PID 1 vigild must reap whatever is re-parented to it, and waitid(P_ALL)
// cannot tell an orphan from a unit's main process, an exec hook or
// send_nsca: the reaper hands an owned child's status over here instead of
// losing it, and only the rest are orphans. Plain data, no system calls.
class ChildRegistry {
 public:
  struct Claim {
    ChildRegistry* registry;
    pid_t pid;
    std::optional<ExitStatus> collected;  // set when someone else reaped it
  };
  // Destroying a claim gives the child up: an orphan from then on.
  struct Unclaim {
    void operator()(Claim* claim) const;
  };
  using ClaimPtr = std::unique_ptr<Claim, Unclaim>;

  // The registry PidfdSource uses (one per process: waitid(P_ALL) is).
  static ChildRegistry& ForThisProcess();

  ClaimPtr Register(pid_t pid);
  // The owner reaped its child itself: the pid may be reused from now on.
  void Forget(const Claim& claim);
  // Someone other than the owner reaped `pid`: true if it is claimed (its
  // owner will find `status` in its claim), false for an orphan.
  bool HandOver(pid_t pid, const ExitStatus& status);

 private:
  std::mutex mutex_;
  absl::flat_hash_map<pid_t, Claim*> claims_;
};

// Reaps every child that has exited (waitid P_ALL, WNOHANG), as PID 1 must
// for orphans; a claimed child's status goes to its owner. Returns the pids
// of the orphans reaped.
std::vector<pid_t> ReapExitedChildren(
    ChildRegistry& registry = ChildRegistry::ForThisProcess());

class PidfdSource {
 public:
  // Adopts a pidfd the caller obtained (CLONE_PIDFD). A child is claimed in
  // ChildRegistry::ForThisProcess() until it is reaped or this is destroyed.
  PidfdSource(pid_t pid, UniqueFd fd, bool is_child);
  // pidfd_open(2) on a process vigild did not start.
  static absl::StatusOr<PidfdSource> Open(pid_t pid);

  pid_t pid() const { return pid_; }
  int fd() const { return fd_.get(); }
  absl::Status SendSignal(int signo) const;
  // Call once the fd is readable. For a child, reaps it (no zombie remains),
  // or returns the status the orphan reaper handed over.
  ExitStatus Reap() const;

 private:
  pid_t pid_;
  UniqueFd fd_;
  ChildRegistry::ClaimPtr claim_;  // null: not vigild's child
};

}  // namespace vigil

#endif  // VIGIL_SUPERVISOR_PIDFD_SOURCE_H_
