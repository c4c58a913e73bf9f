// ProcEventSocket owns a NETLINK_CONNECTOR socket subscribed to the kernel's
// process events (CONFIG_PROC_EVENTS, <linux/cn_proc.h>) and decodes the ones
// a process table needs: fork, exec, exit, uid change and comm change
// (prctl(PR_SET_NAME)), threads included, plus "events were lost" when the
// socket buffer overflowed.
//
// It differs from maze::ProcConnector (which follows forks of watched
// processes behind a kernel-side filter) in that it wants every event
// unfiltered, and the uid and comm events too.
//
// Subscribing needs CAP_NET_ADMIN in the initial user namespace; without it
// Subscribe() fails with PermissionDenied naming the capability.
#ifndef VIGIL_SUPERVISOR_PROCTABLE_PROC_EVENT_SOCKET_H_
#define VIGIL_SUPERVISOR_PROCTABLE_PROC_EVENT_SOCKET_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "supervisor/unique_fd.h"

namespace vigil::proctable {

struct ProcChange {
  enum class Kind { kFork, kExec, kExit, kUid, kComm, kLost };
  Kind kind = Kind::kLost;
  pid_t pid = 0;   // the task (thread id)
  pid_t tgid = 0;  // its process; pid != tgid for a thread
  // kFork: the new task's real parent (its ppid).
  pid_t parent_tgid = 0;
  uint32_t euid = 0;  // kUid
  std::string comm;   // kComm

  bool IsProcessLevel() const { return pid == tgid; }
};

class ProcEventSocket {
 public:
  static absl::StatusOr<ProcEventSocket> Subscribe();
  ProcEventSocket(ProcEventSocket&&) = default;
  ProcEventSocket& operator=(ProcEventSocket&&) = default;
  ~ProcEventSocket();  // unsubscribes; the fd closes itself

  int fd() const { return fd_.get(); }
  // Every change queued, without blocking, in order.
  absl::StatusOr<std::vector<ProcChange>> Drain();

 private:
  explicit ProcEventSocket(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace vigil::proctable

#endif  // VIGIL_SUPERVISOR_PROCTABLE_PROC_EVENT_SOCKET_H_
