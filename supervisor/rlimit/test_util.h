// Real processes for the rlimit-events tests, here and in //test: a forked
// child driven over two pipes one command byte at a time, CPU burnt on
// purpose, the open-fd count of a process from /proc, and loading the rlimit_noti kernel module from a
// test's runfiles.
#ifndef VIGIL_SUPERVISOR_RLIMIT_TEST_UTIL_H_
#define VIGIL_SUPERVISOR_RLIMIT_TEST_UTIL_H_

#include <sys/types.h>
#include <time.h>

#include <cstdint>
#include <functional>

#include "absl/status/status.h"

namespace vigil::rlimit::testing {

// Owns a forked child and both ends of its command pipes (close-on-exec).
class CommandedChild {
 public:
  // Forks; the child calls serve(in, out), which reads command bytes from
  // `in` and acknowledges each by writing it back to `out`, and exits 0 when
  // serve returns.
  explicit CommandedChild(const std::function<void(int in, int out)>& serve);
  CommandedChild(const CommandedChild&) = delete;
  CommandedChild& operator=(const CommandedChild&) = delete;
  ~CommandedChild();  // SIGKILL and reap unless reaped; closes the pipes

  pid_t pid() const { return pid_; }
  // Sends a command without waiting for its acknowledgement.
  void Send(char command);
  // Sends a command and waits until the child acknowledges it.
  void Do(char command);
  // Sends `signal` unless 0, then waits for the child to exit.
  void Reap(int signal = 0);

 private:
  pid_t pid_ = -1;
  int to_ = -1;
  int from_ = -1;
};

// Burns CPU until `clock` (CLOCK_THREAD_CPUTIME_ID or
// CLOCK_PROCESS_CPUTIME_ID) has advanced by `ns`, without blocking.
void SpinCpu(clockid_t clock, int64_t ns);

// Entries of /proc/<pid>/fd, -1 if the process is gone. Listed, not
// stat()ed: the VM's kernel (6.1) reports st_size 0 for the directory.
int64_t OpenFdCount(pid_t pid);

// finit_module of kmod/rlimit_noti.ko from the runfiles of a `bazel test`;
// already loaded counts as success.
absl::Status LoadNotiModuleFromRunfiles();

}  // namespace vigil::rlimit::testing

#endif  // VIGIL_SUPERVISOR_RLIMIT_TEST_UTIL_H_
