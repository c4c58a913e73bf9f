// DirEntryWatch: owns an inotify instance (inotify_init1(2)) with one watch
// on a directory, for one name in it being created, moved in, deleted or
// moved out (IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM). Its fd
// becomes readable when an entry of that directory changes; NameChanged()
// says whether the one name concerned it. Used to notice that a watched
// executable was replaced (a package upgrade renames a new file over it).
//
// Only entry changes of that directory wake the reader; opens, reads and
// execs of its files do not.
#ifndef VIGIL_SUPERVISOR_DIR_ENTRY_WATCH_H_
#define VIGIL_SUPERVISOR_DIR_ENTRY_WATCH_H_

#include <string>

#include "absl/status/statusor.h"
#include "supervisor/unique_fd.h"

namespace vigil {

class DirEntryWatch {
 public:
  static absl::StatusOr<DirEntryWatch> Create(const std::string& dir, const std::string& name);

  int fd() const { return fd_.get(); }
  // Drains the queue without blocking; true if an event named the entry, or
  // events were lost (IN_Q_OVERFLOW), or the directory itself went away:
  // whatever the entry is now must be looked at again.
  bool NameChanged();

 private:
  DirEntryWatch(UniqueFd fd, std::string name) : fd_(std::move(fd)), name_(std::move(name)) {}

  UniqueFd fd_;
  std::string name_;
};

}  // namespace vigil

#endif  // VIGIL_SUPERVISOR_DIR_ENTRY_WATCH_H_
