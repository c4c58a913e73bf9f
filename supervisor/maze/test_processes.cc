#include "supervisor/maze/test_processes.h"

#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace vigil::maze::testing {

Child::Child(const std::function<void()>& body) {
  pid_ = fork();
  if (pid_ == 0) {
    // The parent blocks the timer signals; a child must be signalable.
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_UNBLOCK, &all, nullptr);
    setpriority(PRIO_PROCESS, 0, 0);
    body();
    _exit(0);
  }
  if (pid_ < 0) std::abort();
}

Child::Child(Child&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      reaped_(std::exchange(other.reaped_, true)) {}

Child::~Child() {
  if (pid_ > 0 && !reaped_) {
    kill(pid_, SIGKILL);
    Wait();
  }
}

int Child::Wait() {
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
  return status;
}

absl::Duration ThreadCpuTime() {
  timespec now;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return absl::DurationFromTimespec(now);
}

void SpinFor(absl::Duration cpu) {
  absl::Duration end = ThreadCpuTime() + cpu;
  while (ThreadCpuTime() < end) {
  }
}

void SpinForever() {
  for (volatile unsigned long i = 0;; i = i + 1) {
  }
}

std::vector<pid_t> WaitForThreads(pid_t pid, size_t count) {
  std::string dir_path = absl::StrCat("/proc/", pid, "/task");
  for (;;) {
    std::vector<pid_t> tids;
    if (DIR* dir = opendir(dir_path.c_str())) {
      while (dirent* entry = readdir(dir)) {
        if (pid_t tid; absl::SimpleAtoi(entry->d_name, &tid)) {
          tids.push_back(tid);
        }
      }
      closedir(dir);
    }
    if (tids.size() >= count) {
      std::sort(tids.begin(), tids.end());
      return tids;
    }
    usleep(1000);
  }
}

void WaitUntilSleeping(pid_t pid) {
  std::string path = absl::StrCat("/proc/", pid, "/stat");
  for (;;) {
    std::ifstream stat(path);
    std::string text((std::istreambuf_iterator<char>(stat)),
                     std::istreambuf_iterator<char>());
    size_t paren = text.rfind(')');
    if (paren != std::string::npos && paren + 2 < text.size() &&
        text[paren + 2] == 'S') {
      return;
    }
    usleep(1000);
  }
}

std::optional<absl::Duration> ProcessCpuTime(pid_t pid) {
  clockid_t clock;
  timespec now;
  if (clock_getcpuclockid(pid, &clock) != 0 || clock_gettime(clock, &now) != 0) {
    return std::nullopt;
  }
  return absl::DurationFromTimespec(now);
}

}  // namespace vigil::maze::testing
