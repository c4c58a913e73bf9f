#include "supervisor/watch/kernel_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "common/errno_status.h"
#include "supervisor/unique_fd.h"

namespace vigil::watch {

absl::StatusOr<std::string> PreadAll(int fd, absl::string_view path) {
  std::string text;
  char buffer[4096];
  for (;;) {
    ssize_t n = pread(fd, buffer, sizeof buffer, text.size());
    if (n == 0) return text;
    if (n > 0) {
      text.append(buffer, n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == ENODEV) {
      return absl::NotFoundError(absl::StrCat(
          "read ", path, ": the cgroup was removed; close this watch"));
    }
    return ErrnoStatus(absl::StrCat("read ", path), errno);
  }
}

absl::StatusOr<std::string> ReadFileAt(int dir_fd, const char* name,
                                       absl::string_view path) {
  UniqueFd fd(openat(dir_fd, name, O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus(absl::StrCat("open ", path), errno);
  return PreadAll(fd.get(), path);
}

}  // namespace vigil::watch
