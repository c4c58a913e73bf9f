// ProcfsFdCounter: the userspace FdCountBackend. It owns one /proc/<pid>
// directory fd per tracked process (through ProcessUsageReader, which pins
// the process's identity) and counts its open fds with
// fstatat(dir, "fd").st_size — O(1) since Linux 6.2; older kernels list the
// directory. Sampled: it sees the count only when asked.
#ifndef VIGIL_SUPERVISOR_RLIMIT_PROCFS_FD_COUNTER_H_
#define VIGIL_SUPERVISOR_RLIMIT_PROCFS_FD_COUNTER_H_

#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "supervisor/rlimit/fd_count_backend.h"
#include "supervisor/watch/process_usage.h"

namespace vigil::rlimit {

class ProcfsFdCounter : public FdCountBackend {
 public:
  // `why_not_exact`: why the kernel-module backend is not in use, for
  // Describe() (empty: not said).
  explicit ProcfsFdCounter(std::string why_not_exact = "")
      : why_not_exact_(std::move(why_not_exact)) {}

  std::string Describe() const override;
  bool sampled() const override { return true; }
  absl::Status Track(pid_t pid) override;
  absl::Status SetLevels(pid_t, const std::vector<int64_t>&) override {
    return absl::OkStatus();  // sampled: levels are the watch table's business
  }
  void Untrack(pid_t pid) override { readers_.erase(pid); }
  absl::StatusOr<int64_t> Count(pid_t pid) override;

 private:
  std::string why_not_exact_;
  absl::flat_hash_map<pid_t, watch::ProcessUsageReader> readers_;
};

}  // namespace vigil::rlimit

#endif  // VIGIL_SUPERVISOR_RLIMIT_PROCFS_FD_COUNTER_H_
