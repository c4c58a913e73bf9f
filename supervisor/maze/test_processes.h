// Real processes for the maze tests: a forked child running a given body,
// killed and reaped when the handle goes away.
#ifndef VIGIL_SUPERVISOR_MAZE_TEST_PROCESSES_H_
#define VIGIL_SUPERVISOR_MAZE_TEST_PROCESSES_H_

#include <sys/types.h>

#include <functional>
#include <optional>
#include <vector>

#include "absl/time/time.h"

namespace vigil::maze::testing {

class Child {
 public:
  // Forks; the child runs `body` and exits 0 when it returns.
  explicit Child(const std::function<void()>& body);
  Child(Child&& other) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child();  // SIGKILL and reap, unless already reaped

  pid_t pid() const { return pid_; }
  // Blocks until the child exits; returns its wait status.
  int Wait();

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
};

// Burns CPU in the calling thread for `cpu` of its own CPU time.
void SpinFor(absl::Duration cpu);
[[noreturn]] void SpinForever();
// The calling thread's CPU time.
absl::Duration ThreadCpuTime();

// Thread ids of `pid` from /proc, sorted; waits until there are `count`.
std::vector<pid_t> WaitForThreads(pid_t pid, size_t count);

// Waits until thread `pid` is asleep (state S in /proc/<pid>/stat).
void WaitUntilSleeping(pid_t pid);

// Sum of utime+stime of `pid` from its CPU clock; nullopt if gone.
std::optional<absl::Duration> ProcessCpuTime(pid_t pid);

}  // namespace vigil::maze::testing

#endif  // VIGIL_SUPERVISOR_MAZE_TEST_PROCESSES_H_
