// Turns a failed system call into an absl::Status whose message says what
// was attempted, on what, and the errno text.
#ifndef VIGIL_COMMON_ERRNO_STATUS_H_
#define VIGIL_COMMON_ERRNO_STATUS_H_

#include "absl/strings/string_view.h"

#include "absl/status/status.h"

namespace vigil {

// `what` names the operation and its object, e.g. "open /sys/fs/cgroup/x".
absl::Status ErrnoStatus(absl::string_view what, int err);

}  // namespace vigil

#endif  // VIGIL_COMMON_ERRNO_STATUS_H_
