// ModuleFdCounter: the exact FdCountBackend. It owns one notification fd of
// the rlimit_noti kernel module (kmod/, through kmod::NotiDevice: netlink
// protocol 23, the RFC's ioctls), registered with vigild's EventLoop, and one
// kernel level per crossing point of the watch table on each tracked
// process. The kernel queues an event inside every fd install or release
// that passes a point, so each crossing a client's watch can make is
// reported, bursts inside one CPU tick included; the service reads nothing
// on ticks for open fds. First readings (a new watch) and resynchronisation
// after a kernel queue overflow come from ProcfsFdCounter, which is exact at
// the moment it reads; a reading that raced with a kernel report yields to
// it, and one that raced with the exit (a zombie has no fds, which is no
// crossing) is NotFound.
//
// OpenFdCountBackend() is what vigild uses: this backend when the module is
// loaded, ProcfsFdCounter (saying why) when it is not.
#ifndef VIGIL_SUPERVISOR_RLIMIT_MODULE_FD_COUNTER_H_
#define VIGIL_SUPERVISOR_RLIMIT_MODULE_FD_COUNTER_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "kmod/noti_device.h"
#include "supervisor/event_loop.h"
#include "supervisor/rlimit/fd_count_backend.h"
#include "supervisor/rlimit/procfs_fd_counter.h"

namespace vigil::rlimit {

class ModuleFdCounter : public FdCountBackend {
 public:
  // Fails when the module is not loaded (socket(AF_NETLINK, 23) is refused)
  // or its notification fd cannot join the loop.
  static absl::StatusOr<std::unique_ptr<ModuleFdCounter>> Create(EventLoop& loop,
                                                                 CountSink sink);
  ~ModuleFdCounter() override;

  std::string Describe() const override;
  bool sampled() const override { return false; }
  absl::Status Track(pid_t pid) override;
  absl::Status SetLevels(pid_t pid, const std::vector<int64_t>& levels) override;
  void Untrack(pid_t pid) override;
  absl::StatusOr<int64_t> Count(pid_t pid) override;
  void Flush() override;

  // Kernel events lost to an overflow of the module's queue (the counts were
  // read again from procfs after each).
  uint64_t lost_events() const { return lost_events_; }

 private:
  ModuleFdCounter(EventLoop& loop, CountSink sink, kmod::NotiDevice device)
      : loop_(loop), sink_(std::move(sink)), device_(std::move(device)) {}

  // After an overflow: every tracked count, read now.
  void Resynchronise();

  struct Tracked {
    std::set<int64_t> levels;  // the kernel levels this fd holds
    uint64_t reports = 0;      // counts the kernel reported
    int64_t last_report = 0;
    bool gone = false;         // the kernel said it exited
  };

  EventLoop& loop_;
  CountSink sink_;
  kmod::NotiDevice device_;
  EventLoop::WatchId device_watch_ = 0;
  ProcfsFdCounter procfs_;
  // Per tracked process.
  absl::flat_hash_map<pid_t, Tracked> tracked_;
  uint64_t lost_events_ = 0;
};

// The module backend if rlimit_noti is loaded, else ProcfsFdCounter with the
// reason in its Describe().
std::unique_ptr<FdCountBackend> OpenFdCountBackend(EventLoop& loop,
                                                   FdCountBackend::CountSink sink);

}  // namespace vigil::rlimit

#endif  // VIGIL_SUPERVISOR_RLIMIT_MODULE_FD_COUNTER_H_
