// Test-only: a child cgroup of the cgroup2 mount named
// vigil-watch-test-<pid>-<n>-<purpose>, with helpers to run processes in it.
// The destructor kills everything inside (cgroup.kill), reaps its own
// children, waits for "populated 0" and removes the directory, so a failing
// test leaves nothing behind. Only ever writes inside the cgroup2 mount.
#ifndef VIGIL_SUPERVISOR_WATCH_TEST_CGROUP_H_
#define VIGIL_SUPERVISOR_WATCH_TEST_CGROUP_H_

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace vigil::watch {

class TestCgroup {
 public:
  // Fails (tests should skip) when there is no writable cgroup2 mount. On a
  // pure v2 host it first enables the memory and pids controllers for the
  // mount root's children, so that memory.* and pids.* files exist.
  static absl::StatusOr<std::unique_ptr<TestCgroup>> Create(
      absl::string_view purpose);
  ~TestCgroup();

  const std::string& path() const { return path_; }
  std::string File(absl::string_view name) const;
  bool HasFile(absl::string_view name) const;
  absl::Status Write(absl::string_view name, absl::string_view value) const;

  // Forks a child, moves it into this cgroup, then runs `body` in it and
  // _exit(0)s. `body` runs only after the move, so anything it does counts.
  absl::StatusOr<pid_t> Spawn(const std::function<void()>& body);
  // SIGKILLs everything in the cgroup and reaps this process's children.
  void KillAll();

 private:
  explicit TestCgroup(std::string path) : path_(std::move(path)) {}
  std::string path_;
  std::vector<pid_t> children_;
};

// The cgroup2 mount point from /proc/self/mountinfo, or "" if none.
std::string Cgroup2Mount();

}  // namespace vigil::watch

#endif  // VIGIL_SUPERVISOR_WATCH_TEST_CGROUP_H_
