#include "supervisor/spawner.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/sched.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/errno_status.h"

namespace vigil {
namespace {

constexpr char kDefaultPath[] =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// The soft RLIMIT_NOFILE vigild started with, restored in children.
std::optional<rlimit> original_nofile;

struct Credentials {
  bool change = false;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
};

absl::StatusOr<Credentials> ResolveCredentials(const SpawnRequest& request) {
  Credentials creds;
  if (request.user.empty() && request.group.empty()) return creds;
  creds.change = true;
  creds.uid = getuid();
  creds.gid = getgid();
  if (!request.user.empty()) {
    passwd* pw = getpwnam(request.user.c_str());
    if (pw == nullptr) {
      return absl::NotFoundError(
          absl::StrCat("user \"", request.user, "\" does not exist"));
    }
    creds.uid = pw->pw_uid;
    creds.gid = pw->pw_gid;
    int n = 64;
    creds.groups.resize(n);
    if (getgrouplist(pw->pw_name, pw->pw_gid, creds.groups.data(), &n) < 0) {
      creds.groups.resize(n);
      getgrouplist(pw->pw_name, pw->pw_gid, creds.groups.data(), &n);
    }
    creds.groups.resize(n);
  }
  if (!request.group.empty()) {
    group* gr = getgrnam(request.group.c_str());
    if (gr == nullptr) {
      return absl::NotFoundError(
          absl::StrCat("group \"", request.group, "\" does not exist"));
    }
    creds.gid = gr->gr_gid;
  }
  if (creds.groups.empty()) creds.groups.push_back(creds.gid);
  return creds;
}

// PATH lookup happens in vigild, so "not found" is an error it can report.
absl::StatusOr<std::string> ResolveExecutable(const SpawnRequest& request) {
  const std::string& name = request.argv[0];
  if (name.find('/') != std::string::npos) return name;
  std::string path = kDefaultPath;
  for (const std::string& entry : request.env) {
    if (entry.rfind("PATH=", 0) == 0) path = entry.substr(5);
  }
  for (absl::string_view dir : absl::StrSplit(path, ':', absl::SkipEmpty())) {
    std::string candidate = absl::StrCat(dir, "/", name);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return absl::NotFoundError(
      absl::StrCat("exec ", name, ": not found in PATH=", path));
}

// Without /proc: every number below the soft RLIMIT_NOFILE (called before
// the child's limit is lowered back, so it covers every fd vigild can hold).
void MarkCloseOnExecUpToLimit(int lowest) {
  rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) < 0) return;
  for (rlim_t fd = lowest; fd < limit.rlim_cur; ++fd) {
    fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
  }
}

// Runs in the child between clone and exec. Only async-signal-safe calls:
// on failure, the errno goes to the parent through `error_fd`.
[[noreturn]] void ExecChild(const SpawnRequest& request,
                            const std::string& executable,
                            char* const* argv, char* const* envp,
                            const Credentials& creds, int error_fd,
                            bool join_cgroup_self) {
  auto fail = [error_fd](int err) {
    (void)!write(error_fd, &err, sizeof err);
    _exit(127);
  };
  if (join_cgroup_self && request.cgroup_dir_fd >= 0) {
    int procs = openat(request.cgroup_dir_fd, "cgroup.procs", O_WRONLY);
    if (procs < 0 || write(procs, "0", 1) != 1) fail(errno);
    close(procs);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int s = 1; s < NSIG; ++s) signal(s, SIG_DFL);
  setsid();
  int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd < 0) fail(errno);
  int in = request.stdin_fd >= 0 ? request.stdin_fd : null_fd;
  int out = request.stdout_fd >= 0 ? request.stdout_fd : null_fd;
  int err = request.stderr_fd >= 0 ? request.stderr_fd : null_fd;
  if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) {
    fail(errno);
  }
  // Whatever else vigild (or a library in it) holds stays out of the child;
  // close-on-exec rather than close keeps error_fd working until exec.
  MarkCloseOnExecFrom(3);
  if (original_nofile) setrlimit(RLIMIT_NOFILE, &*original_nofile);
  if (chdir(request.cwd.empty() ? "/" : request.cwd.c_str()) < 0) fail(errno);
  if (creds.change) {
    if (setgroups(creds.groups.size(), creds.groups.data()) < 0) fail(errno);
    if (setgid(creds.gid) < 0) fail(errno);
    if (setuid(creds.uid) < 0) fail(errno);
  }
  execve(executable.c_str(), argv, envp);
  fail(errno);
  _exit(127);
}

std::vector<char*> CStrings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (const std::string& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

pid_t Clone3(int cgroup_fd, int* pidfd) {
  clone_args args{};
  args.flags = CLONE_PIDFD | (cgroup_fd >= 0 ? CLONE_INTO_CGROUP : 0);
  args.pidfd = reinterpret_cast<uint64_t>(pidfd);
  args.exit_signal = SIGCHLD;
  args.cgroup = cgroup_fd >= 0 ? cgroup_fd : 0;
  return static_cast<pid_t>(syscall(SYS_clone3, &args, sizeof args));
}

}  // namespace

bool MarkCloseOnExecListed(int lowest) {
  int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return false;
  // getdents64 into a stack buffer: readdir() may allocate, which a child of
  // a multi-threaded process must not.
  alignas(8) char buffer[4096];
  long n;
  while ((n = syscall(SYS_getdents64, dir, buffer, sizeof buffer)) > 0) {
    for (long offset = 0; offset < n;) {
      const auto* entry = reinterpret_cast<const dirent64*>(buffer + offset);
      offset += entry->d_reclen;
      int fd = 0;
      const char* digit = entry->d_name;
      if (*digit < '0' || *digit > '9') continue;  // "." and ".."
      for (; *digit >= '0' && *digit <= '9'; ++digit) fd = fd * 10 + (*digit - '0');
      if (fd >= lowest) fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
  }
  close(dir);
  return n == 0;
}

void MarkCloseOnExecFrom(int lowest) {
  if (close_range(lowest, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
  // ENOSYS before Linux 5.11 (EINVAL for the flag on 5.9 and 5.10).
  if (!MarkCloseOnExecListed(lowest)) MarkCloseOnExecUpToLimit(lowest);
}

absl::StatusOr<uint64_t> RaiseOpenFileLimit() {
  rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) < 0) return ErrnoStatus("getrlimit(RLIMIT_NOFILE)", errno);
  if (!original_nofile) original_nofile = limit;
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) < 0) return ErrnoStatus("setrlimit(RLIMIT_NOFILE)", errno);
  return limit.rlim_cur;
}

Spawner Spawner::Detect() {
  const char* force = getenv("VIGIL_FORCE_FORK");
  if (force != nullptr && std::strcmp(force, "1") == 0) return Spawner(Method::kFork);
  // A zero-sized clone_args is EINVAL where clone3 exists, ENOSYS (or a
  // seccomp EPERM) where it does not.
  long rc = syscall(SYS_clone3, nullptr, 0);
  return Spawner(rc < 0 && errno == EINVAL ? Method::kClone3 : Method::kFork);
}

const char* Spawner::method_name() const {
  return method_ == Method::kClone3
             ? "clone3(CLONE_PIDFD|CLONE_INTO_CGROUP)"
             : "fork + pidfd_open (clone3 unavailable; the child joins its "
               "cgroup itself before exec)";
}

absl::StatusOr<PidfdSource> Spawner::Spawn(const SpawnRequest& request) const {
  if (request.argv.empty()) {
    return absl::InvalidArgumentError("exec: empty command");
  }
  auto executable = ResolveExecutable(request);
  if (!executable.ok()) return executable.status();
  auto creds = ResolveCredentials(request);
  if (!creds.ok()) return creds.status();
  std::vector<char*> argv = CStrings(request.argv);
  std::vector<char*> envp = CStrings(request.env);

  int error_pipe[2];
  if (pipe2(error_pipe, O_CLOEXEC) < 0) return ErrnoStatus("pipe2", errno);
  UniqueFd error_read(error_pipe[0]);
  UniqueFd error_write(error_pipe[1]);

  int pidfd = -1;
  pid_t pid;
  if (method_ == Method::kClone3) {
    pid = Clone3(request.cgroup_dir_fd, &pidfd);
  } else {
    pid = fork();
  }
  if (pid < 0) return ErrnoStatus(absl::StrCat("spawn ", *executable), errno);
  if (pid == 0) {
    ExecChild(request, *executable, argv.data(), envp.data(), *creds,
              error_write.get(), method_ == Method::kFork);
  }
  error_write.reset();
  if (method_ == Method::kFork) {
    pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    if (pidfd < 0) return ErrnoStatus(absl::StrCat("pidfd_open ", pid), errno);
  }
  PidfdSource child(pid, UniqueFd(pidfd), /*is_child=*/true);
  int child_errno = 0;
  ssize_t n;
  do {
    n = read(error_read.get(), &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  if (n == sizeof child_errno) {
    siginfo_t info;
    waitid(P_PID, pid, &info, WEXITED);
    return ErrnoStatus(absl::StrCat("exec ", *executable,
                                    request.user.empty() ? "" : " as user " + request.user),
                       child_errno);
  }
  return child;
}

}  // namespace vigil
