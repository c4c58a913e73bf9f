// Who may watch whom: the kill(2) rule applied to a client's SO_PEERCRED
// uid. Root watches any process; another uid only processes whose real or
// saved set-user-ID is that uid (those it could signal). Plain policy over
// the text of /proc/<pid>/status.
#ifndef VIGIL_SUPERVISOR_RLIMIT_PERMISSION_H_
#define VIGIL_SUPERVISOR_RLIMIT_PERMISSION_H_

#include <sys/types.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace vigil::rlimit {

struct ProcessUids {
  uid_t real = 0;
  uid_t effective = 0;
  uid_t saved = 0;
};

// The "Uid:" line of /proc/<pid>/status.
absl::StatusOr<ProcessUids> ParseStatusUids(absl::string_view status_text);

// OK, or PermissionDenied saying why.
absl::Status MayWatch(uid_t client_uid, pid_t pid, const ProcessUids& target);

}  // namespace vigil::rlimit

#endif  // VIGIL_SUPERVISOR_RLIMIT_PERMISSION_H_
