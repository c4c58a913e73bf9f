// CgroupEventsFile: owns a read-only fd on one of a cgroup's flat-keyed
// events files (cgroup.events, memory.events, pids.events). kernfs marks the
// fd POLLPRI|POLLERR whenever the kernel changes the file (cgroup_file_notify)
// and keeps it marked until the file is read again through this fd, so Read()
// is both the handler and the re-arm. Poll for POLLPRI only: the file always
// reports POLLIN.
//
// cgroup.events: populated, frozen. memory.events: low, high, max, oom,
// oom_kill, oom_group_kill (hierarchical counts). pids.events: max (forks
// refused by pids.max). Feed memory/pids readings to a CounterDelta.
//
// When the cgroup is removed the fd stays POLLPRI|POLLERR for good and
// Read() fails with NotFound: close the watch then.
#ifndef VIGIL_SUPERVISOR_WATCH_CGROUP_EVENTS_FILE_H_
#define VIGIL_SUPERVISOR_WATCH_CGROUP_EVENTS_FILE_H_

#include <poll.h>

#include <string>

#include "absl/status/statusor.h"
#include "supervisor/unique_fd.h"
#include "supervisor/watch/flat_keyed.h"

namespace vigil::watch {

class CgroupEventsFile {
 public:
  static constexpr short kPollEvents = POLLPRI;

  // `path` is the file, e.g. "/sys/fs/cgroup/vigil/units/web/memory.events".
  static absl::StatusOr<CgroupEventsFile> Open(std::string path);

  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }

  // The file's current keys, read from offset 0; clears the fd's readiness.
  absl::StatusOr<FlatKeyed> Read() const;

 private:
  CgroupEventsFile(std::string path, UniqueFd fd)
      : path_(std::move(path)), fd_(std::move(fd)) {}

  std::string path_;
  UniqueFd fd_;
};

}  // namespace vigil::watch

#endif  // VIGIL_SUPERVISOR_WATCH_CGROUP_EVENTS_FILE_H_
