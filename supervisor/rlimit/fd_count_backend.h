// FdCountBackend: where rlimit-events' open-fd counts (RLE_RES_NOFILE) come
// from. Two kinds plug in behind the same client API:
//
// - sampled (ProcfsFdCounter): the count is read when vigild has a reason to
//   look — a CPU-time tick of the process or any other event about it — so a
//   burst that opens and closes inside one tick is not seen (README.md);
// - exact (ModuleFdCounter over the rlimit-events kernel module, issue 7):
//   the kernel reports every crossing of the points given to SetLevels().
//   Such a backend receives, when vigild creates it, the EventLoop to
//   register its device fd with and a CountSink to call with each count the
//   kernel reports.
//
// The service pins each process with a pidfd and calls Track() before
// anything else and Untrack() when the last NOFILE watch on it ends.
#ifndef VIGIL_SUPERVISOR_RLIMIT_FD_COUNT_BACKEND_H_
#define VIGIL_SUPERVISOR_RLIMIT_FD_COUNT_BACKEND_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace vigil::rlimit {

class FdCountBackend {
 public:
  // What an exact backend calls with a count it learned on its own.
  using CountSink = std::function<void(pid_t pid, int64_t open_fds)>;

  virtual ~FdCountBackend() = default;

  // For vigild's startup report: the mechanism and its accuracy.
  virtual std::string Describe() const = 0;
  // True when counts change only as seen through Count(): the service then
  // reads on every CPU tick and event of the process.
  virtual bool sampled() const = 0;

  // NotFound when the process is gone.
  virtual absl::Status Track(pid_t pid) = 0;
  // The values at which some watch on `pid` changes state
  // (WatchTable::CrossingPoints: each level and level - hysteresis;
  // ascending, distinct). An exact backend reports every change of the count
  // that passes one of them.
  virtual absl::Status SetLevels(pid_t pid, const std::vector<int64_t>& levels) = 0;
  virtual void Untrack(pid_t pid) = 0;
  // The count now; NotFound when the process is gone.
  virtual absl::StatusOr<int64_t> Count(pid_t pid) = 0;
  // Reports through the CountSink every count learned but not reported yet
  // (an exact backend's queued kernel events). The service calls it before
  // it ends a process's watches, so a crossing just before an exit is sent
  // before the exit event.
  virtual void Flush() {}
};

}  // namespace vigil::rlimit

#endif  // VIGIL_SUPERVISOR_RLIMIT_FD_COUNT_BACKEND_H_
