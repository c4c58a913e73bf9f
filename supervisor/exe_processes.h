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
// that process exits. A process that has already exited when its exec event
// is read (a storm of short-lived ones outpacing the loop) is still reported:
// attached and exited at once, marked `gone`, so no exec is ever dropped
// silently. Following the oldest is O(log n) (an index by start time), so
// the cost of an event does not grow with the number of processes. A
// script's processes run its interpreter, so PATH must be a binary for the
// start-up scan to find them.
#ifndef VIGIL_SUPERVISOR_EXE_PROCESSES_H_
#define VIGIL_SUPERVISOR_EXE_PROCESSES_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
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
  // Called from the loop, in the order things happened. `exited` may destroy
  // this object (nothing more is reported then); the others must not.
  struct Callbacks {
    // A process of the file appeared; `mechanism` is "fanotify" or "/proc scan".
    // `gone`: it had exited by the time its exec event was read, and
    // `exited` follows at once (with `seen_by` "fanotify").
    std::function<void(pid_t pid, const char* mechanism, bool gone)> attached;
    // `seen_by`: "pidfd" (it was followed to its exit) or "fanotify" (gone).
    std::function<void(pid_t pid, const char* seen_by)> exited;
    // The kernel dropped exec events (its queue was full): processes that
    // started and ended meanwhile went unseen; /proc is rescanned for the
    // ones still running.
    std::function<void()> execs_lost;
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
  pid_t oldest() const;  // 0 when none; O(1)
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
  // What a batch of exec events amounts to, delivered in order afterwards.
  struct Notice {
    enum Kind { kAttached, kGone, kExited, kLost } kind;
    pid_t pid;
    const char* mechanism;
  };

  ExeProcesses(EventLoop& loop, std::string path, Callbacks callbacks,
               FanotifyExecWatch execs, DirEntryWatch entry);
  absl::Status Register();
  enum class Tracked { kAdded, kKnown, kGone };
  Tracked Track(pid_t pid, UniqueFd pidfd);
  std::vector<pid_t> ScanProc();
  void OnExecs();
  // What one exec event means, given what is tracked.
  void Sort(FanotifyExecWatch::Exec exec, std::vector<Notice>& notices);
  // Calls back for each notice until one of them destroys this.
  void Deliver(const std::vector<Notice>& notices);
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
  std::set<std::pair<uint64_t, pid_t>> by_age_;  // (start_ticks, pid)
  // False once destroyed: lets Deliver() stop when a callback destroyed this.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  EventLoop::WatchId execs_watch_ = 0;
  EventLoop::WatchId entry_watch_ = 0;
};

}  // namespace vigil

#endif  // VIGIL_SUPERVISOR_EXE_PROCESSES_H_
