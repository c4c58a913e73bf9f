// Spawner: starts a process directly inside a cgroup and returns its pidfd.
// Uses clone3(CLONE_PIDFD | CLONE_INTO_CGROUP), so there is no window in
// which the child runs outside its cgroup. Where clone3 is missing (old
// kernel, seccomp), falls back to fork(): the child moves itself into the
// cgroup before exec, and the parent takes a pidfd with pidfd_open(2).
#ifndef VIGIL_SUPERVISOR_SPAWNER_H_
#define VIGIL_SUPERVISOR_SPAWNER_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "supervisor/pidfd_source.h"

namespace vigil {

struct SpawnRequest {
  std::vector<std::string> argv;
  std::vector<std::string> env;  // the whole environment, "KEY=value"
  std::string cwd;               // empty: "/"
  std::string user;              // empty: vigild's
  std::string group;             // empty: the user's primary group
  int cgroup_dir_fd = -1;        // -1: vigild's own cgroup
  int stdout_fd = -1;            // -1: /dev/null
  int stderr_fd = -1;
  int stdin_fd = -1;             // -1: /dev/null
};

// A supervisor of hundreds of units needs more descriptors than the usual
// soft limit of 1024 (each running unit holds its pidfd, and its output
// pipe with `output: log`): raises vigild's soft RLIMIT_NOFILE to the hard
// limit. Children get the original soft limit back before exec, so services
// see the limit they would see anywhere else (select() users need <= 1024).
// Returns the new soft limit.
absl::StatusOr<uint64_t> RaiseOpenFileLimit();

// Marks every descriptor >= `lowest` close-on-exec, so that a child execs
// with only the descriptors it was given, whatever vigild or a library in it
// opened without O_CLOEXEC. close_range(2) with CLOSE_RANGE_CLOEXEC (Linux
// 5.11); before that, each fd /proc/self/fd lists (MarkCloseOnExecListed,
// false if /proc cannot be read), else every number below the soft
// RLIMIT_NOFILE. Async-signal-safe: it runs between clone and exec.
void MarkCloseOnExecFrom(int lowest);
bool MarkCloseOnExecListed(int lowest);

class Spawner {
 public:
  enum class Method { kClone3, kFork };

  // Probes clone3 once; VIGIL_FORCE_FORK=1 in the environment forces the
  // fallback (to test it).
  static Spawner Detect();
  explicit Spawner(Method method) : method_(method) {}

  Method method() const { return method_; }
  const char* method_name() const;

  // Returns once the child has exec'd, or with the reason it could not.
  absl::StatusOr<PidfdSource> Spawn(const SpawnRequest& request) const;

 private:
  Method method_;
};

}  // namespace vigil

#endif  // VIGIL_SUPERVISOR_SPAWNER_H_
