#include "supervisor/rlimit/watched_process.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/errno_status.h"
#include "common/status_macros.h"
#include "supervisor/watch/process_usage.h"

namespace vigil::rlimit {

namespace {

absl::Status NoSuchProcess(pid_t pid) {
  return absl::NotFoundError(absl::StrCat("no process ", pid, " (it does not exist or has exited)"));
}

// MAZE limits far beyond any level: the detector is used for its counts only.
constexpr absl::Duration kUnreachable = absl::Hours(24 * 365 * 100);

}  // namespace

absl::StatusOr<WatchedProcess> WatchedProcess::Open(pid_t pid, int timer_signal,
                                                    uint64_t timer_cookie) {
  if (pid <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("pid must be > 0, got ", pid));
  }
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0 && errno == ESRCH) return NoSuchProcess(pid);
  // A tid that is not a thread-group leader: EINVAL before Linux 6.9,
  // ENOENT since.
  if (pidfd < 0 && (errno == EINVAL || errno == ENOENT)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%d is a thread, not a process: watch its process (Tgid in "
        "/proc/%d/status)", pid, pid));
  }
  if (pidfd < 0) return ErrnoStatus(absl::StrCat("pidfd_open ", pid), errno);
  UniqueFd owned_pidfd(pidfd);
  const std::string dir_path = absl::StrCat("/proc/", pid);
  UniqueFd dir(open(dir_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return NoSuchProcess(pid);
  absl::StatusOr<maze::CpuTimeTimer> timer =
      maze::CpuTimeTimer::Create(pid, timer_signal, timer_cookie);
  if (!timer.ok()) return NoSuchProcess(pid);
  WatchedProcess process(pid, std::move(owned_pidfd), std::move(dir), *std::move(timer));
  // Alive now, so the directory and the clock were this process's.
  if (process.Exited()) return NoSuchProcess(pid);
  return process;
}

bool WatchedProcess::Exited() const {
  pollfd p{pidfd_.get(), POLLIN, 0};
  return poll(&p, 1, 0) != 0;
}

absl::Status WatchedProcess::Gone(const absl::Status& status) const {
  return Exited() ? absl::NotFoundError(absl::StrCat("process ", pid_, " has exited"))
                  : status;
}

absl::StatusOr<StatusReading> WatchedProcess::ReadStatus() const {
  const std::string path = absl::StrCat("/proc/", pid_, "/status");
  UniqueFd fd(openat(dir_.get(), "status", O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Gone(ErrnoStatus(absl::StrCat("open ", path), errno));
  std::string text;
  char chunk[4096];
  for (;;) {
    ssize_t n = read(fd.get(), chunk, sizeof chunk);
    if (n < 0) return Gone(ErrnoStatus(absl::StrCat("read ", path), errno));
    if (n == 0) break;
    text.append(chunk, n);
  }
  if (text.empty()) return Gone(absl::DataLossError(absl::StrCat(path, " is empty")));
  ASSIGN_OR_RETURN(watch::StatusFigures figures, watch::ParseProcStatus(text, path));
  ASSIGN_OR_RETURN(ProcessUids uids, ParseStatusUids(text));
  return StatusReading{figures.rss_bytes, figures.threads, uids};
}

absl::StatusOr<int64_t> WatchedProcess::CpuTimeNs() const {
  absl::StatusOr<absl::Duration> cpu = timer_.ProcessCpuTime();
  if (!cpu.ok()) return Gone(cpu.status());
  return absl::ToInt64Nanoseconds(*cpu);
}

absl::StatusOr<int64_t> WatchedProcess::MazeCountNs() {
  absl::StatusOr<std::vector<maze::TaskSample>> tasks = sampler_.SampleProcess(pid_);
  if (!tasks.ok()) return Gone(tasks.status());
  if (!maze_) {
    ASSIGN_OR_RETURN(maze_, maze::MazeDetector::Create({kUnreachable, kUnreachable},
                                                       maze::WatchOrigin::kAttached));
  }
  maze_->Observe(*tasks);
  absl::Duration longest;
  for (const maze::MazeTaskCount& task : maze_->Counts()) {
    longest = std::max(longest, task.count);
  }
  return absl::ToInt64Nanoseconds(longest);
}

absl::Status WatchedProcess::ArmAfter(std::optional<absl::Duration> cpu) {
  absl::Status status = cpu ? timer_.ArmAfter(*cpu) : timer_.Disarm();
  return status.ok() ? status : Gone(status);
}

}  // namespace vigil::rlimit
