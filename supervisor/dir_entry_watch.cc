#include "supervisor/dir_entry_watch.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/errno_status.h"

namespace vigil {

absl::StatusOr<DirEntryWatch> DirEntryWatch::Create(const std::string& dir,
                                                    const std::string& name) {
  UniqueFd fd(inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus("inotify_init1", errno);
  constexpr uint32_t kEntryChanges = IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM |
                                     IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
  if (inotify_add_watch(fd.get(), dir.c_str(), kEntryChanges) < 0) {
    return ErrnoStatus(absl::StrCat("inotify_add_watch ", dir), errno);
  }
  return DirEntryWatch(std::move(fd), name);
}

bool DirEntryWatch::NameChanged() {
  bool changed = false;
  alignas(inotify_event) char buf[4096];
  for (;;) {
    ssize_t n = read(fd_.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return changed;
    for (char* at = buf; at < buf + n;) {
      const auto* event = reinterpret_cast<const inotify_event*>(at);
      at += sizeof(inotify_event) + event->len;
      if (event->mask & (IN_Q_OVERFLOW | IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
        changed = true;
      } else if (event->len > 0 && name_ == event->name) {
        changed = true;
      }
    }
  }
}

}  // namespace vigil
