#include "supervisor/watch/test_cgroup.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/errno_status.h"
#include "supervisor/unique_fd.h"

namespace vigil::watch {
namespace {

std::string ReadWhole(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

absl::Status WriteFile(const std::string& path, absl::string_view value) {
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus(absl::StrCat("open ", path), errno);
  if (write(fd.get(), value.data(), value.size()) < 0) {
    return ErrnoStatus(absl::StrCat("write ", value, " to ", path), errno);
  }
  return absl::OkStatus();
}

// On a pure v2 host, lets the mount root's children have memory.* and
// pids.* files. A no-op where the controllers are bound to v1.
void EnableControllers(const std::string& mount) {
  std::vector<std::string> available =
      absl::StrSplit(ReadWhole(mount + "/cgroup.controllers"), absl::ByAnyChar(" \n"),
                     absl::SkipEmpty());
  for (const std::string& controller : available) {
    if (controller == "memory" || controller == "pids") {
      // Best effort: the tests that need the files skip without them.
      (void)WriteFile(mount + "/cgroup.subtree_control", "+" + controller);
    }
  }
}

// Waits for "populated 0" through cgroup.events notifications.
void AwaitEmpty(const std::string& path) {
  UniqueFd events(open((path + "/cgroup.events").c_str(), O_RDONLY | O_CLOEXEC));
  if (!events.valid()) return;
  for (int attempt = 0; attempt < 50; ++attempt) {
    char buffer[256];
    ssize_t n = pread(events.get(), buffer, sizeof buffer - 1, 0);
    if (n <= 0) return;
    if (absl::StrContains(absl::string_view(buffer, n), "populated 0")) return;
    pollfd pfd{events.get(), POLLPRI, 0};
    poll(&pfd, 1, 100);
  }
}

}  // namespace

std::string Cgroup2Mount() {
  std::ifstream mountinfo("/proc/self/mountinfo");
  for (std::string line; std::getline(mountinfo, line);) {
    // "... <mount point> <options> - cgroup2 <source> <super options>"
    std::vector<std::string> halves = absl::StrSplit(line, " - ");
    if (halves.size() != 2 || !absl::StartsWith(halves[1], "cgroup2 ")) {
      continue;
    }
    std::vector<std::string> fields = absl::StrSplit(halves[0], ' ');
    if (fields.size() >= 5) return fields[4];
  }
  return "";
}

absl::StatusOr<std::unique_ptr<TestCgroup>> TestCgroup::Create(
    absl::string_view purpose) {
  static std::atomic<int> sequence{0};
  const std::string mount = Cgroup2Mount();
  if (mount.empty()) {
    return absl::FailedPreconditionError("no cgroup2 mount in /proc/self/mountinfo");
  }
  EnableControllers(mount);
  std::string path = absl::StrCat(mount, "/vigil-watch-test-", getpid(), "-",
                                  sequence++, "-", purpose);
  if (mkdir(path.c_str(), 0755) != 0) {
    return ErrnoStatus(absl::StrCat("mkdir ", path), errno);
  }
  return std::unique_ptr<TestCgroup>(new TestCgroup(std::move(path)));
}

TestCgroup::~TestCgroup() {
  KillAll();
  AwaitEmpty(path_);
  rmdir(path_.c_str());
}

std::string TestCgroup::File(absl::string_view name) const {
  return absl::StrCat(path_, "/", name);
}

bool TestCgroup::HasFile(absl::string_view name) const {
  return access(File(name).c_str(), F_OK) == 0;
}

absl::Status TestCgroup::Write(absl::string_view name,
                               absl::string_view value) const {
  return WriteFile(File(name), value);
}

absl::StatusOr<pid_t> TestCgroup::Spawn(const std::function<void()>& body) {
  int go[2];
  if (pipe2(go, O_CLOEXEC) != 0) return ErrnoStatus("pipe2", errno);
  pid_t pid = fork();
  if (pid < 0) return ErrnoStatus("fork", errno);
  if (pid == 0) {
    close(go[1]);
    char byte;
    if (read(go[0], &byte, 1) != 1) _exit(1);  // the parent failed
    close(go[0]);
    body();
    _exit(0);
  }
  close(go[0]);
  children_.push_back(pid);
  absl::Status moved = Write("cgroup.procs", absl::StrCat(pid));
  if (moved.ok()) (void)!write(go[1], "g", 1);
  close(go[1]);
  if (!moved.ok()) return moved;
  return pid;
}

void TestCgroup::KillAll() {
  if (!Write("cgroup.kill", "1").ok()) {
    for (pid_t pid : children_) kill(pid, SIGKILL);
  }
  for (pid_t pid : children_) waitpid(pid, nullptr, 0);
  children_.clear();
}

}  // namespace vigil::watch
