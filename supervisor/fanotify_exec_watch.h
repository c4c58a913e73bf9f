// FanotifyExecWatch: owns one fanotify group (fanotify_init(2),
// FAN_CLASS_NOTIF, plus FAN_REPORT_PIDFD where the kernel has it, 5.15+)
// holding at most one inode mark (fanotify_mark(2), FAN_OPEN_EXEC) on one
// executable file. Its fd becomes readable when a process execs that inode;
// ReadExecs() hands back each exec'ing process with a pidfd taken by the
// kernel when the event was made, so a pid reused since cannot be mistaken
// for it.
//
// Why an inode mark and nothing wider: a mount or filesystem mark with
// FAN_OPEN makes every open() on it 72-84% slower; FAN_OPEN_EXEC on one
// inode fires only for execs of that file, and other opens on the same
// filesystem pay only fsnotify's "is anything marked here" check (measured
// in docs/ARCHITECTURE.md). The mark pins the inode while it exists, so a
// replaced binary's disk space is freed only after Unmark().
#ifndef VIGIL_SUPERVISOR_FANOTIFY_EXEC_WATCH_H_
#define VIGIL_SUPERVISOR_FANOTIFY_EXEC_WATCH_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "supervisor/unique_fd.h"

namespace vigil {

// Which file: what stat(2) says, and what /proc/<pid>/exe stats to.
struct FileId {
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator==(const FileId&) const = default;
};
absl::StatusOr<FileId> StatFileId(const std::string& path);

class FanotifyExecWatch {
 public:
  struct Exec {
    pid_t pid = 0;
    UniqueFd pidfd;  // invalid when the process was already gone
  };
  struct Batch {
    std::vector<Exec> execs;
    bool overflowed = false;  // the kernel dropped events: rescan to catch up
  };

  static absl::StatusOr<FanotifyExecWatch> Create();

  int fd() const { return fd_.get(); }
  // Whether the kernel hands over pidfds (FAN_REPORT_PIDFD); without it,
  // ReadExecs() opens them with pidfd_open(2) on the reported pid.
  bool reports_pidfd() const { return reports_pidfd_; }

  // Marks the file `path` names now, replacing any earlier mark, and says
  // which file that is.
  absl::StatusOr<FileId> Mark(const std::string& path);
  // Drops the mark (FAN_MARK_FLUSH): nothing is watched until Mark().
  absl::Status Unmark();

  // Drains the queue without blocking. Closes every event's file fd.
  absl::StatusOr<Batch> ReadExecs();

 private:
  FanotifyExecWatch(UniqueFd fd, bool reports_pidfd)
      : fd_(std::move(fd)), reports_pidfd_(reports_pidfd) {}

  UniqueFd fd_;
  bool reports_pidfd_;
};

}  // namespace vigil

#endif  // VIGIL_SUPERVISOR_FANOTIFY_EXEC_WATCH_H_
