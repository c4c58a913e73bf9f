#include "supervisor/rlimit/test_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace vigil::rlimit::testing {

CommandedChild::CommandedChild(const std::function<void(int in, int out)>& serve) {
  int to[2], from[2];
  EXPECT_EQ(pipe2(to, O_CLOEXEC), 0);
  EXPECT_EQ(pipe2(from, O_CLOEXEC), 0);
  pid_ = fork();
  if (pid_ == 0) {
    close(to[1]);
    close(from[0]);
    serve(to[0], from[1]);
    _exit(0);
  }
  close(to[0]);
  close(from[1]);
  to_ = to[1];
  from_ = from[0];
}

CommandedChild::~CommandedChild() {
  Reap(SIGKILL);
  close(to_);
  close(from_);
}

void CommandedChild::Send(char command) { ASSERT_EQ(write(to_, &command, 1), 1); }

void CommandedChild::Do(char command) {
  Send(command);
  char ack;
  ASSERT_EQ(read(from_, &ack, 1), 1);
}

void CommandedChild::Reap(int signal) {
  if (pid_ <= 0) return;
  if (signal != 0) kill(pid_, signal);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void SpinCpu(clockid_t clock, int64_t ns) {
  timespec start, now;
  clock_gettime(clock, &start);
  do {
    clock_gettime(clock, &now);
  } while ((now.tv_sec - start.tv_sec) * 1'000'000'000L + (now.tv_nsec - start.tv_nsec) < ns);
}

int64_t OpenFdCount(pid_t pid) {
  DIR* dir = opendir(absl::StrCat("/proc/", pid, "/fd").c_str());
  if (dir == nullptr) return -1;
  int64_t n = 0;
  while (dirent* entry = readdir(dir)) n += entry->d_name[0] != '.';
  closedir(dir);
  return n;
}

absl::Status LoadNotiModuleFromRunfiles() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (srcdir == nullptr || workspace == nullptr) {
    return absl::FailedPreconditionError(
        "TEST_SRCDIR/TEST_WORKSPACE unset: run under bazel test to find rlimit_noti.ko");
  }
  std::string path = absl::StrCat(srcdir, "/", workspace, "/kmod/rlimit_noti.ko");
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError(absl::StrCat("open ", path, ": ", strerror(errno)));
  const bool loaded = syscall(SYS_finit_module, fd, "", 0) == 0 || errno == EEXIST;
  const int err = errno;
  close(fd);
  if (loaded) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("finit_module ", path, ": ", strerror(err)));
}

}  // namespace vigil::rlimit::testing
