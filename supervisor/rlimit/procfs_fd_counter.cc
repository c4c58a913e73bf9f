#include "supervisor/rlimit/procfs_fd_counter.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace vigil::rlimit {

std::string ProcfsFdCounter::Describe() const {
  return absl::StrCat(
      "procfs (userspace backend",
      why_not_exact_.empty() ? "" : absl::StrCat("; ", why_not_exact_),
      "): stat(/proc/<pid>/fd).st_size on each CPU tick of the process and "
      "each event about it (an open+close burst inside one tick is not seen)");
}

absl::Status ProcfsFdCounter::Track(pid_t pid) {
  if (readers_.contains(pid)) return absl::OkStatus();
  ASSIGN_OR_RETURN(watch::ProcessUsageReader reader,
                   watch::ProcessUsageReader::Open(pid));
  readers_.emplace(pid, std::move(reader));
  return absl::OkStatus();
}

absl::StatusOr<int64_t> ProcfsFdCounter::Count(pid_t pid) {
  auto it = readers_.find(pid);
  if (it == readers_.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat("fd count of pid ", pid, " requested but not tracked"));
  }
  return it->second.OpenFds();
}

}  // namespace vigil::rlimit
