#include "supervisor/watch/cgroup_events_file.h"

#include <fcntl.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "common/errno_status.h"
#include "supervisor/watch/kernel_file.h"

namespace vigil::watch {

absl::StatusOr<CgroupEventsFile> CgroupEventsFile::Open(std::string path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    const int err = errno;
    absl::Status status = ErrnoStatus(absl::StrCat("open ", path), err);
    if (err == ENOENT) {
      return absl::NotFoundError(absl::StrCat(
          status.message(),
          " (no such cgroup, or its controller is not enabled in the "
          "parent's cgroup.subtree_control)"));
    }
    return status;
  }
  return CgroupEventsFile(std::move(path), std::move(fd));
}

absl::StatusOr<FlatKeyed> CgroupEventsFile::Read() const {
  absl::StatusOr<std::string> text = PreadAll(fd_.get(), path_);
  if (!text.ok()) return text.status();
  return ParseFlatKeyed(*text, path_);
}

}  // namespace vigil::watch
