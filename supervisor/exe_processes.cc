#include "supervisor/exe_processes.h"

#include <dirent.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/errno_status.h"
#include "common/status_macros.h"

namespace vigil {
namespace {

bool HasExited(int pidfd) {
  pollfd ready{.fd = pidfd, .events = POLLIN, .revents = 0};
  return poll(&ready, 1, 0) > 0;
}

// Field 22 of /proc/<pid>/stat (after the parenthesised command name, which
// may itself contain spaces and parentheses).
std::optional<uint64_t> StartTicks(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t close_paren = text.rfind(')');
  if (close_paren == std::string::npos) return std::nullopt;
  std::vector<absl::string_view> fields =
      absl::StrSplit(absl::string_view(text).substr(close_paren + 2), ' ');
  uint64_t ticks;
  // Fields after the name start at 3 (state); starttime is field 22.
  if (fields.size() < 20 || !absl::SimpleAtoi(fields[19], &ticks)) return std::nullopt;
  return ticks;
}

std::string Describe(const FileId& id) {
  return absl::StrCat("inode ", id.ino, " on device ", major(id.dev), ":", minor(id.dev));
}

}  // namespace

absl::StatusOr<std::unique_ptr<ExeProcesses>> ExeProcesses::Start(EventLoop& loop,
                                                                  const std::string& path,
                                                                  Callbacks callbacks) {
  char resolved[PATH_MAX];
  if (!realpath(path.c_str(), resolved)) return ErrnoStatus(absl::StrCat("realpath ", path), errno);
  std::string canonical = resolved;
  size_t slash = canonical.rfind('/');
  // Watch the directory before marking: a replacement in between is seen.
  ASSIGN_OR_RETURN(DirEntryWatch entry,
                   DirEntryWatch::Create(slash == 0 ? "/" : canonical.substr(0, slash),
                                         canonical.substr(slash + 1)));
  ASSIGN_OR_RETURN(FanotifyExecWatch execs, FanotifyExecWatch::Create());
  auto processes = std::unique_ptr<ExeProcesses>(new ExeProcesses(
      loop, canonical, std::move(callbacks), std::move(execs), std::move(entry)));
  ASSIGN_OR_RETURN(processes->marked_, processes->execs_.Mark(canonical));
  // Marked first, then scanned: a process exec'ing in between is in both, once.
  processes->ScanProc();
  RETURN_IF_ERROR(processes->Register());
  return processes;
}

ExeProcesses::ExeProcesses(EventLoop& loop, std::string path, Callbacks callbacks,
                           FanotifyExecWatch execs, DirEntryWatch entry)
    : loop_(loop),
      path_(std::move(path)),
      callbacks_(std::move(callbacks)),
      execs_(std::move(execs)),
      entry_(std::move(entry)) {}

ExeProcesses::~ExeProcesses() {
  *alive_ = false;
  loop_.Remove(execs_watch_);
  loop_.Remove(entry_watch_);
  for (const auto& [pid, process] : processes_) loop_.Remove(process.watch);
}

absl::Status ExeProcesses::Register() {
  ASSIGN_OR_RETURN(execs_watch_, loop_.Add(execs_.fd(), POLLIN, [this](uint32_t) { OnExecs(); }));
  ASSIGN_OR_RETURN(entry_watch_,
                   loop_.Add(entry_.fd(), POLLIN, [this](uint32_t) { OnEntryChanged(); }));
  for (auto& [pid, process] : processes_) {
    pid_t watched = pid;
    ASSIGN_OR_RETURN(process.watch, loop_.Add(process.pidfd.fd(), POLLIN,
                                              [this, watched](uint32_t) { OnExit(watched); }));
  }
  return absl::OkStatus();
}

ExeProcesses::Tracked ExeProcesses::Track(pid_t pid, UniqueFd pidfd) {
  if (!pidfd.valid()) return Tracked::kGone;
  if (processes_.count(pid)) return Tracked::kKnown;
  std::optional<uint64_t> ticks = StartTicks(pid);
  // Read after the pidfd was taken: if the process is still there, the
  // figures are its own and not a later process's with the same pid.
  if (!ticks || HasExited(pidfd.get())) return Tracked::kGone;
  Process& process = processes_.emplace(pid, Process{PidfdSource(pid, std::move(pidfd), false),
                                                     *ticks})
                         .first->second;
  by_age_.insert({*ticks, pid});
  if (execs_watch_) {  // registered already: follow it now
    auto watch = loop_.Add(process.pidfd.fd(), POLLIN, [this, pid](uint32_t) { OnExit(pid); });
    process.watch = watch.ok() ? *watch : 0;
  }
  return Tracked::kAdded;
}

std::vector<pid_t> ExeProcesses::ScanProc() {
  std::vector<pid_t> found;
  if (!marked_) return found;
  DIR* proc = opendir("/proc");
  if (!proc) return found;
  while (dirent* entry = readdir(proc)) {
    pid_t pid;
    if (!absl::SimpleAtoi(entry->d_name, &pid)) continue;
    absl::StatusOr<FileId> exe = StatFileId(absl::StrCat("/proc/", pid, "/exe"));
    if (!exe.ok() || !(*exe == *marked_)) continue;
    UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
    if (Track(pid, std::move(pidfd)) == Tracked::kAdded) found.push_back(pid);
  }
  closedir(proc);
  return found;
}

void ExeProcesses::Sort(FanotifyExecWatch::Exec exec, std::vector<Notice>& notices) {
  pid_t pid = exec.pid;
  auto known = processes_.find(pid);
  if (known != processes_.end() && HasExited(known->second.pidfd.fd())) {
    // The tracked process is gone and its exit not handled yet, so this exec
    // is a later process's with the same pid: the old one's exit first.
    Untrack(pid);
    notices.push_back({Notice::kExited, pid, "pidfd"});
  }
  switch (Track(pid, std::move(exec.pidfd))) {
    case Tracked::kAdded:
      notices.push_back({Notice::kAttached, pid, "fanotify"});
      return;
    case Tracked::kGone:
      notices.push_back({Notice::kGone, pid, "fanotify"});
      return;
    case Tracked::kKnown:  // a tracked process exec'd the file again
      return;
  }
}

void ExeProcesses::Deliver(const std::vector<Notice>& notices) {
  Callbacks callbacks = callbacks_;  // `exited` may destroy this
  std::shared_ptr<bool> alive = alive_;
  for (const Notice& notice : notices) {
    if (!*alive) return;
    switch (notice.kind) {
      case Notice::kAttached:
        callbacks.attached(notice.pid, notice.mechanism, false);
        break;
      case Notice::kGone:
        callbacks.attached(notice.pid, notice.mechanism, true);
        callbacks.exited(notice.pid, notice.mechanism);
        break;
      case Notice::kExited:
        callbacks.exited(notice.pid, notice.mechanism);
        break;
      case Notice::kLost:
        callbacks.execs_lost();
        break;
    }
  }
}

void ExeProcesses::OnExecs() {
  absl::StatusOr<FanotifyExecWatch::Batch> batch = execs_.ReadExecs();
  if (!batch.ok()) return;
  std::vector<Notice> notices;
  for (FanotifyExecWatch::Exec& exec : batch->execs) Sort(std::move(exec), notices);
  if (batch->overflowed) {
    notices.push_back({Notice::kLost, 0, "fanotify"});
    for (pid_t pid : ScanProc()) notices.push_back({Notice::kAttached, pid, "/proc scan"});
  }
  Deliver(notices);
}

void ExeProcesses::OnEntryChanged() {
  if (!entry_.NameChanged()) return;
  absl::StatusOr<FileId> now = StatFileId(path_);
  if (marked_ ? now.ok() && *now == *marked_ : !now.ok()) return;  // nothing new
  std::string was = marked_ ? Describe(*marked_) : "nothing";
  marked_.reset();
  (void)execs_.Unmark();
  absl::StatusOr<FileId> marked = now.ok() ? execs_.Mark(path_) : now.status();
  if (!marked.ok()) {
    callbacks_.path_changed(absl::StrCat(path_, " was ", was, ", now ",
                                         marked.status().message(),
                                         "; new processes are watched once it exists again"));
    return;
  }
  marked_ = *marked;
  std::vector<pid_t> found = ScanProc();
  callbacks_.path_changed(absl::StrCat(path_, " replaced: ", was, ", now ", Describe(*marked_),
                                       "; execs of the new file are watched, processes of "
                                       "the old one stay tracked"));
  for (pid_t pid : found) callbacks_.attached(pid, "/proc scan", false);
}

void ExeProcesses::Untrack(pid_t pid) {
  auto it = processes_.find(pid);
  if (it == processes_.end()) return;
  loop_.Remove(it->second.watch);
  by_age_.erase({it->second.start_ticks, pid});
  processes_.erase(it);
}

void ExeProcesses::OnExit(pid_t pid) {
  Untrack(pid);
  callbacks_.exited(pid, "pidfd");  // last: may destroy this
}

std::vector<pid_t> ExeProcesses::Pids() const {
  std::vector<pid_t> pids;
  pids.reserve(by_age_.size());
  for (const auto& [ticks, pid] : by_age_) pids.push_back(pid);
  return pids;
}

pid_t ExeProcesses::oldest() const { return by_age_.empty() ? 0 : by_age_.begin()->second; }

void ExeProcesses::SignalAll(int signo) const {
  for (const auto& [pid, process] : processes_) (void)process.pidfd.SendSignal(signo);
}

void ExeProcesses::Signal(pid_t pid, int signo) const {
  auto it = processes_.find(pid);
  if (it != processes_.end()) (void)it->second.pidfd.SendSignal(signo);
}

std::string ExeProcesses::mechanism() const {
  return execs_.reports_pidfd() ? "fanotify FAN_OPEN_EXEC (pidfd from the event)"
                                : "fanotify FAN_OPEN_EXEC (pidfd_open on the event's pid)";
}

}  // namespace vigil
