#include "supervisor/fanotify_exec_watch.h"

#include <fcntl.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "common/errno_status.h"
#include "common/status_macros.h"

namespace vigil {

absl::StatusOr<FileId> StatFileId(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) < 0) return ErrnoStatus(absl::StrCat("stat ", path), errno);
  return FileId{st.st_dev, st.st_ino};
}

absl::StatusOr<FanotifyExecWatch> FanotifyExecWatch::Create() {
  constexpr unsigned kBase = FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK;
  constexpr unsigned kEventFileFlags = O_RDONLY | O_LARGEFILE | O_CLOEXEC;
  int fd = fanotify_init(kBase | FAN_REPORT_PIDFD, kEventFileFlags);
  if (fd >= 0) return FanotifyExecWatch(UniqueFd(fd), true);
  if (errno == EINVAL) {  // before 5.15: no FAN_REPORT_PIDFD
    fd = fanotify_init(kBase, kEventFileFlags);
    if (fd >= 0) return FanotifyExecWatch(UniqueFd(fd), false);
  }
  return ErrnoStatus("fanotify_init(FAN_CLASS_NOTIF) (needs CAP_SYS_ADMIN)", errno);
}

absl::StatusOr<FileId> FanotifyExecWatch::Mark(const std::string& path) {
  // Mark through an fd and stat that same fd: the id returned is exactly the
  // inode marked, even if the path is replaced meanwhile.
  UniqueFd file(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!file.valid()) return ErrnoStatus(absl::StrCat("open ", path), errno);
  struct stat st;
  if (fstat(file.get(), &st) < 0) return ErrnoStatus(absl::StrCat("stat ", path), errno);
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": expected a regular file (an executable)"));
  }
  RETURN_IF_ERROR(Unmark());
  if (fanotify_mark(fd_.get(), FAN_MARK_ADD, FAN_OPEN_EXEC, file.get(), nullptr) < 0) {
    return ErrnoStatus(absl::StrCat("fanotify_mark(FAN_MARK_ADD, FAN_OPEN_EXEC) ", path), errno);
  }
  return FileId{st.st_dev, st.st_ino};
}

absl::Status FanotifyExecWatch::Unmark() {
  if (fanotify_mark(fd_.get(), FAN_MARK_FLUSH, 0, AT_FDCWD, nullptr) < 0) {
    return ErrnoStatus("fanotify_mark(FAN_MARK_FLUSH)", errno);
  }
  return absl::OkStatus();
}

namespace {

// The pidfd info record after the event's metadata, if any.
int PidfdFromInfo(const fanotify_event_metadata* event) {
  const char* at = reinterpret_cast<const char*>(event) + event->metadata_len;
  const char* end = reinterpret_cast<const char*>(event) + event->event_len;
  while (at + sizeof(fanotify_event_info_header) <= end) {
    const auto* header = reinterpret_cast<const fanotify_event_info_header*>(at);
    if (header->len == 0) break;
    if (header->info_type == FAN_EVENT_INFO_TYPE_PIDFD &&
        at + sizeof(fanotify_event_info_pidfd) <= end) {
      return reinterpret_cast<const fanotify_event_info_pidfd*>(at)->pidfd;
    }
    at += header->len;
  }
  return FAN_NOPIDFD;
}

}  // namespace

absl::StatusOr<FanotifyExecWatch::Batch> FanotifyExecWatch::ReadExecs() {
  Batch batch;
  alignas(fanotify_event_metadata) char buf[8192];
  for (;;) {
    ssize_t n = read(fd_.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return batch;
    if (n < 0) return ErrnoStatus("read fanotify events", errno);
    auto* event = reinterpret_cast<fanotify_event_metadata*>(buf);
    for (; FAN_EVENT_OK(event, n); event = FAN_EVENT_NEXT(event, n)) {
      if (event->fd >= 0) close(event->fd);
      if (event->vers != FANOTIFY_METADATA_VERSION) {
        return absl::InternalError(absl::StrCat("fanotify metadata version ", event->vers,
                                                ", expected ", FANOTIFY_METADATA_VERSION));
      }
      if (event->mask & FAN_Q_OVERFLOW) {
        batch.overflowed = true;
        continue;
      }
      if (!(event->mask & FAN_OPEN_EXEC)) continue;
      Exec exec{.pid = event->pid, .pidfd = UniqueFd()};
      int pidfd = reports_pidfd_ ? PidfdFromInfo(event)
                                 : static_cast<int>(syscall(SYS_pidfd_open, event->pid, 0));
      if (pidfd >= 0) exec.pidfd.reset(pidfd);
      batch.execs.push_back(std::move(exec));
    }
  }
}

}  // namespace vigil
