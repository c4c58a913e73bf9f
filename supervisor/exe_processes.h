// ExeProcesses: every process running one executable file, for
// `attach: {exe: PATH}`. It finds the ones already running with one scan of
// /proc at start (each /proc/<pid>/exe statted against the file's device and
// inode), then learns of each new one the moment it execs the file
// (FanotifyExecWatch), and follows each to its exit (a pidfd per process).
// It follows the path, not the inode: when the file at PATH is replaced (a
// package upgrade renames a new file over it; DirEntryWatch on its
// directory), the new file is marked, the old mark is dropped (so the old
// file's space can be freed), and /proc is scanned once more for processes
// that exec'd the new file before it was marked. Processes of the old file
// stay tracked until they exit. Lost fanotify events (queue overflow) also
// cost one scan. Nothing here wakes up for any other reason.
//
// An exec is reported when the kernel opens the file for it; an exec that
// fails after that point (corrupt binary, out of memory) is tracked until
// that process exits. A script's processes run its interpreter, so PATH must
// be a binary for the start-up scan to find them.
#ifndef VIGIL_SUPERVISOR_EXE_PROCESSES_H_
#define VIGIL_SUPERVISOR_EXE_PROCESSES_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "supervisor/dir_entry_watch.h"
#include "supervisor/event_loop.h"
#include "supervisor/fanotify_exec_watch.h"
#include "supervisor/pidfd_source.h"

namespace vigil {

class ExeProcesses {
 public:
  // Called from the loop. `exited` may destroy this object, and is called
  // last by whatever calls it; the others must not.
  struct Callbacks {
    // A process of the file appeared; `mechanism` is "fanotify" or "/proc scan".
    std::function<void(pid_t pid, const char* mechanism)> attached;
    std::function<void(pid_t pid)> exited;
    // The path now names another file, or none; `message` says which.
    std::function<void(const std::string& message)> path_changed;
  };

  // Marks the file, scans /proc once, and starts following. The processes
  // found by the scan are in Pids() on return (no `attached` calls for them).
  static absl::StatusOr<std::unique_ptr<ExeProcesses>> Start(EventLoop& loop,
                                                             const std::string& path,
                                                             Callbacks callbacks);
  ~ExeProcesses();

  // PATH with symlinks resolved: the file whose directory is watched.
  const std::string& path() const { return path_; }
  size_t count() const { return processes_.size(); }
  // Oldest (earliest started) first.
  std::vector<pid_t> Pids() const;
  pid_t oldest() const;  // 0 when none
  void SignalAll(int signo) const;
  void Signal(pid_t pid, int signo) const;
  // "fanotify FAN_OPEN_EXEC (pidfd from the event)" or "... (pidfd_open)".
  std::string mechanism() const;

 private:
  struct Process {
    PidfdSource pidfd;
    uint64_t start_ticks;  // /proc/<pid>/stat starttime: orders by age
    EventLoop::WatchId watch = 0;
  };

  ExeProcesses(EventLoop& loop, std::string path, Callbacks callbacks,
               FanotifyExecWatch execs, DirEntryWatch entry);
  absl::Status Register();
  // Adds a process; false if it is already tracked or gone.
  bool Track(pid_t pid, UniqueFd pidfd);
  std::vector<pid_t> ScanProc();
  void OnExecs();
  void OnEntryChanged();
  void OnExit(pid_t pid);
  void Untrack(pid_t pid);

  EventLoop& loop_;
  std::string path_;
  Callbacks callbacks_;
  FanotifyExecWatch execs_;
  DirEntryWatch entry_;
  std::optional<FileId> marked_;
  std::map<pid_t, Process> processes_;
  EventLoop::WatchId execs_watch_ = 0;
  EventLoop::WatchId entry_watch_ = 0;
};

}  // namespace vigil

#endif  // VIGIL_SUPERVISOR_EXE_PROCESSES_H_
