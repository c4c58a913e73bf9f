// Whole-file reads of kernel pseudo-files (cgroupfs, procfs) through fds the
// caller owns. Reading from offset 0 with pread is what re-arms kernfs
// notifications, so the watches read through their own fd, never by path.
#ifndef VIGIL_SUPERVISOR_WATCH_KERNEL_FILE_H_
#define VIGIL_SUPERVISOR_WATCH_KERNEL_FILE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace vigil::watch {

// `path` only names the file in error messages. ENODEV (the cgroup of a
// cgroupfs file was removed) gets a message saying so.
absl::StatusOr<std::string> PreadAll(int fd, absl::string_view path);

// Opens `name` relative to `dir_fd` read-only and reads it whole.
absl::StatusOr<std::string> ReadFileAt(int dir_fd, const char* name,
                                       absl::string_view path);

}  // namespace vigil::watch

#endif  // VIGIL_SUPERVISOR_WATCH_KERNEL_FILE_H_
