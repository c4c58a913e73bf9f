// marker: the watched process of the side-by-side benchmarks (compare.py).
// Whichever supervisor starts it (vigild, supervisord, monit's start
// program), it appends one line "<pid> <CLOCK_MONOTONIC ns>\n" to a stamp
// file as its first act, so a restart is timed by the new process itself and
// the same way for every supervisor; a count of lines is a count of runs.
//
//   marker sleep STAMP            stamp, then sleep until killed
//   marker daemon STAMP PIDFILE   stamp, write PIDFILE, sleep until killed,
//                                 detached: the parent exits once PIDFILE is
//                                 written (a start program for monit)
//   marker exit STAMP             stamp and exit 0 (the 100,000-process storm)
//   marker floor STAMP KILLS      the floor for any supervisor: runs `marker
//                                 sleep STAMP`, then KILLS times SIGKILLs it
//                                 once asleep, waits on a pidfd, reaps and
//                                 runs it again; prints kill -> new stamp, µs
//
// Only libc: it must start fast and be small when 1,000 of them sleep.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

// One write(2) with O_APPEND: lines from concurrent processes never mix.
bool Stamp(const char* path) {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  char line[64];
  int n = snprintf(line, sizeof line, "%d %lld\n", getpid(),
                   static_cast<long long>(now.tv_sec) * 1000000000LL + now.tv_nsec);
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  bool ok = write(fd, line, n) == n;
  close(fd);
  return ok;
}

// Written to a temporary name and renamed: a reader never sees half a pid.
bool WritePidfile(const char* path) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  char text[32];
  int n = snprintf(text, sizeof text, "%d\n", getpid());
  bool ok = write(fd, text, n) == n;
  close(fd);
  return ok && rename(tmp, path) == 0;
}

[[noreturn]] void SleepForever() {
  for (;;) pause();
}

int Daemon(const char* stamp, const char* pidfile) {
  int ready[2];
  if (pipe(ready) != 0) return 1;
  pid_t child = fork();
  if (child < 0) return 1;
  if (child > 0) {
    close(ready[1]);
    char ok = 0;
    return read(ready[0], &ok, 1) == 1 && ok == 'y' ? 0 : 1;
  }
  close(ready[0]);
  setsid();
  int devnull = open("/dev/null", O_RDWR);
  for (int fd = 0; fd < 3; ++fd) dup2(devnull, fd);
  if (devnull > 2) close(devnull);
  bool ok = Stamp(stamp) && WritePidfile(pidfile);
  (void)!write(ready[1], ok ? "y" : "n", 1);
  close(ready[1]);
  if (!ok) _exit(1);
  SleepForever();
}

int64_t MonotonicNs() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<int64_t>(now.tv_sec) * 1000000000LL + now.tv_nsec;
}

pid_t RunSleeper(const char* self, const char* stamp) {
  pid_t pid = fork();
  if (pid == 0) {
    execl(self, self, "sleep", stamp, static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

bool Asleep(pid_t pid) {
  char path[64], stat[512];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n = read(fd, stat, sizeof stat - 1);
  close(fd);
  if (n <= 0) return false;
  stat[n] = 0;
  const char* paren = strrchr(stat, ')');
  return paren != nullptr && paren[1] == ' ' && paren[2] == 'S';
}

// The CLOCK_MONOTONIC ns of the stamp file's line that starts at `offset`,
// once it is there.
int64_t StampAt(const char* stamp, off_t offset) {
  for (;;) {
    int fd = open(stamp, O_RDONLY | O_CLOEXEC);
    char line[64] = {};
    ssize_t n = fd < 0 ? -1 : pread(fd, line, sizeof line - 1, offset);
    if (fd >= 0) close(fd);
    const char* space = n > 0 ? strchr(line, ' ') : nullptr;
    if (space != nullptr && strchr(space, '\n') != nullptr) return strtoll(space + 1, nullptr, 10);
    usleep(50);
  }
}

int Floor(const char* self, const char* stamp, int kills) {
  pid_t pid = RunSleeper(self, stamp);
  off_t offset = 0;
  StampAt(stamp, offset);
  for (int k = 0; k < kills; ++k) {
    while (!Asleep(pid)) usleep(100);
    struct stat before;
    if (stat(stamp, &before) != 0) return 1;
    offset = before.st_size;
    int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    if (pidfd < 0) return 1;
    int64_t killed_at = MonotonicNs();
    kill(pid, SIGKILL);
    pollfd ready{pidfd, POLLIN, 0};
    poll(&ready, 1, -1);
    waitpid(pid, nullptr, 0);
    close(pidfd);
    pid = RunSleeper(self, stamp);
    printf("%.1f\n", (StampAt(stamp, offset) - killed_at) / 1e3);
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return 0;
}

int Usage() {
  fprintf(stderr,
          "usage: marker sleep STAMP | marker daemon STAMP PIDFILE | marker exit STAMP |\n"
          "       marker floor STAMP KILLS\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return Usage();
  const char* mode = argv[1];
  const char* stamp = argv[2];
  if (strcmp(mode, "daemon") == 0) return argc == 4 ? Daemon(stamp, argv[3]) : Usage();
  if (strcmp(mode, "floor") == 0) return argc == 4 ? Floor(argv[0], stamp, atoi(argv[3])) : Usage();
  if (argc != 3) return Usage();
  if (strcmp(mode, "exit") == 0) return Stamp(stamp) ? 0 : 1;
  if (strcmp(mode, "sleep") == 0) {
    if (!Stamp(stamp)) {
      fprintf(stderr, "marker: cannot append to %s: %s\n", stamp, strerror(errno));
      return 1;
    }
    SleepForever();
  }
  return Usage();
}
