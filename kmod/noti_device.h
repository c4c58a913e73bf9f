// NotiDevice owns one rlimit-events notification fd of the rlimit_noti.ko
// module (kmod/rlimit_noti.c): obtained over netlink protocol 23
// (RLIMIT_GET_NOTI_FD), made non-blocking and close-on-exec so it can sit in
// vigild's event loop (poll/epoll/io_uring: readable while an event is
// queued). Watches are the RFC's (pid, resource, level) ioctls; counts are
// exact (the kernel counts at every fd install and release). Everything a
// watch does dies with this object.
#ifndef VIGIL_KMOD_NOTI_DEVICE_H_
#define VIGIL_KMOD_NOTI_DEVICE_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace vigil::kmod {

struct NotiEvent {
  enum class Type {
    kCrossed,       // pid's usage of resource crossed a level: value is new
    kNewProcess,    // pid forked child_pid, which inherited the watches
    kProcessGone,   // pid exited; its watches on this device are gone
    kOverflow,      // the kernel queue was full: `lost` events were dropped
  };
  Type type;
  pid_t pid = 0;
  uint32_t resource = 0;
  uint64_t value = 0;
  pid_t child_pid = 0;
  uint64_t lost = 0;
};

class NotiDevice {
 public:
  // True when rlimit_noti.ko is loaded (the device can be opened).
  static bool ModuleLoaded();
  static absl::StatusOr<NotiDevice> Open();

  NotiDevice(NotiDevice&& other) noexcept;
  NotiDevice& operator=(NotiDevice&& other) noexcept;
  NotiDevice(const NotiDevice&) = delete;
  NotiDevice& operator=(const NotiDevice&) = delete;
  ~NotiDevice();

  int fd() const { return fd_; }

  // An event each time the usage of `resource` (RLIMIT_NOFILE) by process
  // `pid` crosses `level`: rising past it, or falling below it again.
  // With inherit_to_children, children forked later get the watch too.
  absl::Status AddLevel(pid_t pid, uint32_t resource, uint64_t level,
                        bool inherit_to_children = false);
  absl::Status RemoveLevel(pid_t pid, uint32_t resource, uint64_t level);
  // An event on every change of pid's usage of resource.
  absl::Status WatchEveryChange(pid_t pid, uint32_t resource);

  // The next queued event, or nullopt when none is queued (never blocks).
  absl::StatusOr<std::optional<NotiEvent>> ReadEvent();

 private:
  explicit NotiDevice(int fd) : fd_(fd) {}

  int fd_;
};

}  // namespace vigil::kmod

#endif  // VIGIL_KMOD_NOTI_DEVICE_H_
