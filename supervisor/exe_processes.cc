#include "supervisor/exe_processes.h"

#include <dirent.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>

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

bool ExeProcesses::Track(pid_t pid, UniqueFd pidfd) {
  if (!pidfd.valid() || processes_.count(pid)) return false;
  std::optional<uint64_t> ticks = StartTicks(pid);
  // Read after the pidfd was taken: if the process is still there, the
  // figures are its own and not a later process's with the same pid.
  if (!ticks || HasExited(pidfd.get())) return false;
  Process& process = processes_.emplace(pid, Process{PidfdSource(pid, std::move(pidfd), false),
                                                     *ticks})
                         .first->second;
  if (execs_watch_) {  // registered already: follow it now
    auto watch = loop_.Add(process.pidfd.fd(), POLLIN, [this, pid](uint32_t) { OnExit(pid); });
    process.watch = watch.ok() ? *watch : 0;
  }
  return true;
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
    if (Track(pid, std::move(pidfd))) found.push_back(pid);
  }
  closedir(proc);
  return found;
}

void ExeProcesses::OnExecs() {
  absl::StatusOr<FanotifyExecWatch::Batch> batch = execs_.ReadExecs();
  if (!batch.ok()) return;
  std::vector<pid_t> attached, exited;
  for (FanotifyExecWatch::Exec& exec : batch->execs) {
    auto known = processes_.find(exec.pid);
    if (known != processes_.end() && exec.pidfd.valid() && HasExited(known->second.pidfd.fd())) {
      // The pid was reused before the old process's exit was handled.
      exited.push_back(exec.pid);
      Untrack(exec.pid);
    }
    if (Track(exec.pid, std::move(exec.pidfd))) attached.push_back(exec.pid);
  }
  std::vector<pid_t> rescanned = batch->overflowed ? ScanProc() : std::vector<pid_t>{};
  Callbacks callbacks = callbacks_;  // `exited` may destroy this
  for (pid_t pid : attached) callbacks.attached(pid, "fanotify");
  for (pid_t pid : rescanned) callbacks.attached(pid, "/proc scan");
  for (pid_t pid : exited) callbacks.exited(pid);
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
  for (pid_t pid : found) callbacks_.attached(pid, "/proc scan");
}

void ExeProcesses::Untrack(pid_t pid) {
  auto it = processes_.find(pid);
  if (it == processes_.end()) return;
  loop_.Remove(it->second.watch);
  processes_.erase(it);
}

void ExeProcesses::OnExit(pid_t pid) {
  Untrack(pid);
  callbacks_.exited(pid);  // last: may destroy this
}

std::vector<pid_t> ExeProcesses::Pids() const {
  std::vector<std::pair<uint64_t, pid_t>> by_age;
  for (const auto& [pid, process] : processes_) by_age.push_back({process.start_ticks, pid});
  std::sort(by_age.begin(), by_age.end());
  std::vector<pid_t> pids;
  for (const auto& [ticks, pid] : by_age) pids.push_back(pid);
  return pids;
}

pid_t ExeProcesses::oldest() const {
  std::vector<pid_t> pids = Pids();
  return pids.empty() ? 0 : pids.front();
}

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
