// ProcConnector owns a NETLINK_CONNECTOR socket subscribed to the kernel's
// process events (CONFIG_PROC_EVENTS, <linux/cn_proc.h>): every fork, exec,
// exit, uid change and comm change (prctl(PR_SET_NAME)) on the host, threads
// included, the moment it happens. An event loop polls fd() for readability
// and calls Drain().
//
// Two users: MAZE follows forks of watched processes behind a kernel-side
// filter (SetForkFilter); the process table (supervisor/proctable) attaches
// none and takes every event.
//
// Subscribing needs CAP_NET_ADMIN in the initial user namespace. Outside it
// the kernel ignores the subscription silently, so no event ever arrives;
// the caller must say at startup that fork-following is unavailable there.
// Every process on the host wakes the listener, not only watched ones.
#ifndef VIGIL_SUPERVISOR_MAZE_PROC_CONNECTOR_H_
#define VIGIL_SUPERVISOR_MAZE_PROC_CONNECTOR_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace vigil::maze {

struct ProcEvent {
  enum class Kind {
    kFork,
    kExec,
    kExit,
    kUid,
    kComm,
    // The socket buffer overflowed and events were dropped: whatever the
    // caller derives from events must be rebuilt from /proc.
    kLost,
  };
  Kind kind = Kind::kLost;
  // kFork: the new task; otherwise the task concerned. pid != tgid for a
  // thread.
  pid_t pid = 0;
  pid_t tgid = 0;
  // kFork: the task that forked; kExit: the parent of the exiting task.
  pid_t parent_pid = 0;
  pid_t parent_tgid = 0;
  uint32_t exit_code = 0;  // kExit: a wait(2) status
  uint32_t euid = 0;       // kUid: the new effective uid
  std::string comm;        // kComm: the new name

  bool IsProcessLevel() const { return pid == tgid; }
  bool IsNewProcess() const { return kind == Kind::kFork && IsProcessLevel(); }
};

class ProcConnector {
 public:
  // The kernel queues events in the socket's receive buffer (forced to
  // `receive_buffer_bytes`) until Drain(); an overflow is reported as kLost.
  // PermissionDenied naming CAP_NET_ADMIN when the host refuses.
  static absl::StatusOr<ProcConnector> Subscribe(
      int receive_buffer_bytes = kDefaultReceiveBufferBytes);
  static constexpr int kDefaultReceiveBufferBytes = 4 << 20;

  ProcConnector(ProcConnector&& other) noexcept;
  ProcConnector& operator=(ProcConnector&& other) noexcept;
  ProcConnector(const ProcConnector&) = delete;
  ProcConnector& operator=(const ProcConnector&) = delete;
  ~ProcConnector();  // unsubscribes, then closes

  int fd() const { return fd_; }

  // From now on delivers only fork events that create a new process (not a
  // thread) whose parent process is one of `parents`: a classic BPF socket
  // filter drops everything else in the kernel, so unrelated processes never
  // wake the caller. An empty list drops every event. Beyond
  // kMaxFilteredParents the filter passes every new process instead (the
  // caller discards the unwatched ones). Replaces any earlier filter.
  absl::Status SetForkFilter(absl::Span<const pid_t> parents);
  static constexpr size_t kMaxFilteredParents = 2000;

  // Every event queued, without blocking, in order. Without a fork filter
  // that is every event on the host.
  absl::StatusOr<std::vector<ProcEvent>> Drain();

 private:
  explicit ProcConnector(int fd) : fd_(fd) {}
  void Close();

  int fd_ = -1;
};

}  // namespace vigil::maze

#endif  // VIGIL_SUPERVISOR_MAZE_PROC_CONNECTOR_H_
