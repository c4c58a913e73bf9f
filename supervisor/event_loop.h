// EventLoop: the one place vigild blocks. It owns an io_uring (liburing) and
// turns fd readiness into callbacks; when io_uring is unavailable (sysctl
// kernel.io_uring_disabled, seccomp in a container) it owns an epoll fd with
// the same semantics instead. Sources (pidfds, signalfd, timerfd, sockets,
// cgroup event files) register an fd and a poll mask; the loop knows nothing
// about what they mean.
//
// Semantics are level-triggered: a watch's callback runs whenever the fd is
// ready, until the watch is removed. With io_uring each readiness is a
// one-shot IORING_OP_POLL_ADD re-armed after the callback, so a callback that
// leaves data unread is called again.
#ifndef VIGIL_SUPERVISOR_EVENT_LOOP_H_
#define VIGIL_SUPERVISOR_EVENT_LOOP_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"

namespace vigil {

class EventLoop {
 public:
  enum class Backend { kAuto, kIoUring, kEpoll };
  using WatchId = uint64_t;
  // Receives the ready poll bits (POLLIN, POLLPRI, POLLOUT, POLLHUP, ...).
  using Callback = std::function<void(uint32_t revents)>;

  virtual ~EventLoop() = default;

  // kAuto tries io_uring and falls back to epoll; `fallback_reason` (if not
  // null) receives why io_uring was not used.
  static absl::StatusOr<std::unique_ptr<EventLoop>> Create(
      Backend backend, std::string* fallback_reason = nullptr);

  virtual absl::StatusOr<WatchId> Add(int fd, uint32_t poll_events,
                                      Callback callback) = 0;
  // Safe to call from inside any callback, including the watch's own.
  virtual void Remove(WatchId id) = 0;
  // Blocks until at least one watch is ready, then runs the ready callbacks.
  virtual absl::Status RunOnce() = 0;
  virtual const char* backend_name() const = 0;

  // How many times the loop has returned from the kernel: every one of them
  // had a cause (a ready fd).
  uint64_t wakeups() const { return wakeups_; }

 protected:
  uint64_t wakeups_ = 0;
};

}  // namespace vigil

#endif  // VIGIL_SUPERVISOR_EVENT_LOOP_H_
