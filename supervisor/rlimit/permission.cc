#include "supervisor/rlimit/permission.h"

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace vigil::rlimit {

absl::StatusOr<ProcessUids> ParseStatusUids(absl::string_view status_text) {
  for (absl::string_view line : absl::StrSplit(status_text, '\n')) {
    if (!absl::ConsumePrefix(&line, "Uid:")) continue;
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    ProcessUids uids;
    if (fields.size() < 3 || !absl::SimpleAtoi(fields[0], &uids.real) ||
        !absl::SimpleAtoi(fields[1], &uids.effective) ||
        !absl::SimpleAtoi(fields[2], &uids.saved)) {
      break;
    }
    return uids;
  }
  return absl::DataLossError("no readable Uid: line in /proc/<pid>/status");
}

absl::Status MayWatch(uid_t client_uid, pid_t pid, const ProcessUids& target) {
  if (client_uid == 0 || client_uid == target.real || client_uid == target.saved) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(absl::StrFormat(
      "uid %d may not watch pid %d (real uid %d, saved uid %d): only root and "
      "the process's own user may watch it, as for kill(2)",
      client_uid, pid, target.real, target.saved));
}

}  // namespace vigil::rlimit
