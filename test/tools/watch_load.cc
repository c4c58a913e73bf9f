// watch_load: a scriptable load for resource-watch tests and benchmarks. It
// runs its arguments as steps, in order, and records what it did and which
// signals it got, with CLOCK_REALTIME timestamps (comparable with vigild's
// event times), in a report file:
//
//   watch_load [--report=FILE] [--mark=SIZE] [--cpu-mark=MS] [--once=FILE] STEP...
//
// Steps:
//   alloc:SIZE      allocate and touch SIZE more (1 MiB chunks)
//   free:SIZE       free chunks until at most SIZE stays allocated
//   spin:MS         burn MS of this process's CPU time
//   sleep:MS        sleep MS of wall time
//   threads:N       keep N extra threads, each blocked in read(2)
//   burn:N:MS       N threads (with this one) spin for MS of wall time (0: ever)
//   burn-until-signal:N:MS  the same, ending early at a SIGUSR1/SIGUSR2
//   forkbomb        fork sleeping children until fork fails ("mark" line;
//                   at most 256)
//   reap            SIGKILL and reap every child from forkbomb
//   flap:N:SIZE     N times: alloc SIZE, spin 40, free 0, spin 40
//   wait-signal:MS  sleep until a SIGUSR1/SIGUSR2 has come in this round (since
//                   the start or the last again:N) or MS pass
//   again:N         run all steps before this one N more times
//   pause           wait for signals forever
//   exit:CODE       exit now
//
// Report lines: "start", "step <name>", "mark <what>", "signal <signo>",
// "done", each followed by the realtime in ns. --mark=SIZE adds a "mark rss"
// line each time memory rises to SIZE: memory.current of its own cgroup where
// that file exists (pure v2), else its resident size (statm); --cpu-mark=MS a
// "mark cpu" line when the process's CPU time passes MS during spin steps.
// --once=FILE: if FILE exists, just pause (so a restarted unit stays quiet);
// otherwise create it and run the steps.
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr size_t kChunk = 1 << 20;

int report_fd = -1;
std::atomic<int> signals_seen{0};
std::vector<void*> chunks;
std::vector<pid_t> children;
int64_t rss_mark = 0;
bool rss_mark_armed = true;
int64_t cpu_mark_ms = -1;
long page_size = 4096;

int64_t RealtimeNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

double CpuMs() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

// Async-signal-safe: formats into a stack buffer and write(2)s once.
void Report(const char* what, int64_t number, bool with_number) {
  if (report_fd < 0) return;
  char line[128];
  size_t n = 0;
  for (const char* p = what; *p && n < 64; ++p) line[n++] = *p;
  auto append_number = [&](int64_t v) {
    line[n++] = ' ';
    char digits[24];
    int d = 0;
    do {
      digits[d++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v > 0);
    while (d > 0) line[n++] = digits[--d];
  };
  if (with_number) append_number(number);
  append_number(RealtimeNs());
  line[n++] = '\n';
  (void)!write(report_fd, line, n);
}

void OnSignal(int signo) {
  Report("signal", signo, true);
  signals_seen.fetch_add(1);
}

int64_t ParseSize(const std::string& text) {
  char* end;
  double value = strtod(text.c_str(), &end);
  switch (*end) {
    case 'K': case 'k': return static_cast<int64_t>(value * 1024);
    case 'M': case 'm': return static_cast<int64_t>(value * 1024 * 1024);
    case 'G': case 'g': return static_cast<int64_t>(value * 1024 * 1024 * 1024);
    default: return static_cast<int64_t>(value);
  }
}

int64_t ResidentBytes() {
  char buf[128] = {};
  int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  (void)!read(fd, buf, sizeof buf - 1);
  close(fd);
  long size = 0, resident = 0;
  sscanf(buf, "%ld %ld", &size, &resident);
  return int64_t{resident} * page_size;
}

// memory.current of this process's own cgroup where the memory controller
// is there (what memory.high/max and levels on pure v2 see), else -1.
int memory_current_fd = -1;

void OpenMemoryCurrent() {
  char buf[4096] = {};
  int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  std::string text(buf, n > 0 ? n : 0);
  size_t at = text.find("0::");
  if (at == std::string::npos) return;
  std::string path = text.substr(at + 3, text.find('\n', at) - at - 3);
  for (const char* mount : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
    std::string file = std::string(mount) + path + "/memory.current";
    memory_current_fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (memory_current_fd >= 0) return;
  }
}

int64_t MemoryForMark() {
  if (memory_current_fd < 0) return ResidentBytes();
  char buf[32] = {};
  if (pread(memory_current_fd, buf, sizeof buf - 1, 0) <= 0) return ResidentBytes();
  return atoll(buf);
}

void CheckRssMark() {
  if (rss_mark <= 0) return;
  int64_t rss = MemoryForMark();
  if (rss_mark_armed && rss >= rss_mark) {
    Report("mark rss", 0, false);
    rss_mark_armed = false;
  } else if (!rss_mark_armed && rss < rss_mark) {
    rss_mark_armed = true;
  }
}

void Alloc(int64_t bytes) {
  for (int64_t done = 0; done < bytes; done += kChunk) {
    void* p = mmap(nullptr, kChunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      Report("alloc-failed", errno, true);
      return;
    }
    memset(p, 0x5a, kChunk);
    chunks.push_back(p);
    CheckRssMark();
  }
}

void FreeTo(int64_t bytes) {
  while (!chunks.empty() && static_cast<int64_t>(chunks.size() * kChunk) > bytes) {
    munmap(chunks.back(), kChunk);
    chunks.pop_back();
  }
  CheckRssMark();
}

void Spin(double ms) {
  double start = CpuMs();
  volatile uint64_t sink = 0;
  bool cpu_marked = cpu_mark_ms < 0 || start >= cpu_mark_ms;
  for (;;) {
    for (int i = 0; i < 10000; ++i) sink = sink + i;
    double now = CpuMs();
    if (!cpu_marked && now >= cpu_mark_ms) {
      Report("mark cpu", 0, false);
      cpu_marked = true;
    }
    if (now - start >= ms) return;
  }
}

void SleepMs(int64_t ms) {
  timespec ts{static_cast<time_t>(ms / 1000), static_cast<long>(ms % 1000) * 1000000};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}

// Extra threads, each blocked reading its own pipe; closing it ends it.
struct BlockedThread {
  pthread_t thread;
  int write_fd;
};
std::vector<BlockedThread> blocked;

void* BlockInRead(void* arg) {
  int fd = static_cast<int>(reinterpret_cast<intptr_t>(arg));
  char c;
  while (read(fd, &c, 1) < 0 && errno == EINTR) {
  }
  close(fd);
  return nullptr;
}

void SetThreads(size_t n) {
  while (blocked.size() < n) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) return;
    pthread_t t;
    pthread_create(&t, nullptr, BlockInRead, reinterpret_cast<void*>(intptr_t{fds[0]}));
    blocked.push_back({t, fds[1]});
  }
  while (blocked.size() > n) {
    close(blocked.back().write_fd);
    pthread_join(blocked.back().thread, nullptr);
    blocked.pop_back();
  }
}

std::atomic<bool> burning{false};
void* BurnThread(void*) {
  volatile uint64_t sink = 0;
  while (burning.load(std::memory_order_relaxed)) sink = sink + 1;
  return nullptr;
}

void Burn(int threads, int64_t ms, bool stop_burn_on_signal) {
  int signals_before = signals_seen.load();
  Report("mark burn", 0, false);
  burning = true;
  std::vector<pthread_t> extra(threads > 1 ? threads - 1 : 0);
  for (auto& t : extra) pthread_create(&t, nullptr, BurnThread, nullptr);
  timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  volatile uint64_t sink = 0;
  for (;;) {
    for (int i = 0; i < 100000; ++i) sink = sink + i;
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
    if (ms > 0 && elapsed >= ms) break;
    if (stop_burn_on_signal && signals_seen.load() != signals_before) break;
  }
  burning = false;
  for (auto& t : extra) pthread_join(t, nullptr);
}

// Capped, so that a bomb outside a pids.max cgroup cannot take the host down.
constexpr size_t kMaxForks = 256;

void ForkBomb() {
  while (children.size() < kMaxForks) {
    pid_t pid = fork();
    if (pid == 0) {
      for (;;) pause();
    }
    if (pid < 0) {
      Report("mark forkfail", 0, false);
      return;
    }
    children.push_back(pid);
  }
  Report("mark forkcap", 0, false);
}

void Reap() {
  for (pid_t pid : children) kill(pid, SIGKILL);
  for (pid_t pid : children) waitpid(pid, nullptr, 0);
  children.clear();
}

// Signals seen when the current round (the steps up to an again:N) began.
int signals_at_round_start = 0;

void WaitSignal(int64_t ms) {
  int before = signals_at_round_start;
  for (int64_t waited = 0; waited < ms && signals_seen.load() == before; waited += 5) {
    SleepMs(5);
  }
}

std::vector<std::string> Split(const std::string& step) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t colon = step.find(':', start);
    parts.push_back(step.substr(start, colon - start));
    if (colon == std::string::npos) return parts;
    start = colon + 1;
  }
}

[[noreturn]] void PauseForever() {
  for (;;) pause();
}

}  // namespace

int main(int argc, char** argv) {
  page_size = sysconf(_SC_PAGESIZE);
  OpenMemoryCurrent();
  std::vector<std::string> steps;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--report=", 0) == 0) {
      report_fd = open(arg.c_str() + 9, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    } else if (arg.rfind("--mark=", 0) == 0) {
      rss_mark = ParseSize(arg.substr(7));
    } else if (arg.rfind("--cpu-mark=", 0) == 0) {
      cpu_mark_ms = atoll(arg.c_str() + 11);
    } else if (arg.rfind("--once=", 0) == 0) {
      std::string flag = arg.substr(7);
      if (access(flag.c_str(), F_OK) == 0) PauseForever();
      close(open(flag.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    } else {
      steps.push_back(arg);
    }
  }
  struct sigaction action {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGUSR1, &action, nullptr);
  sigaction(SIGUSR2, &action, nullptr);
  Report("start", 0, false);
  std::vector<int> again_left(steps.size(), -1);
  for (size_t i = 0; i < steps.size(); ++i) {
    std::vector<std::string> p = Split(steps[i]);
    const std::string& op = p[0];
    std::string step_line = "step " + steps[i];
    Report(step_line.c_str(), 0, false);
    if (op == "alloc" && p.size() == 2) {
      Alloc(ParseSize(p[1]));
    } else if (op == "free" && p.size() == 2) {
      FreeTo(ParseSize(p[1]));
    } else if (op == "spin" && p.size() == 2) {
      Spin(atof(p[1].c_str()));
    } else if (op == "sleep" && p.size() == 2) {
      SleepMs(atoll(p[1].c_str()));
    } else if (op == "threads" && p.size() == 2) {
      SetThreads(atoi(p[1].c_str()));
    } else if (op == "burn" && p.size() == 3) {
      Burn(atoi(p[1].c_str()), atoll(p[2].c_str()), false);
    } else if (op == "burn-until-signal" && p.size() == 3) {
      Burn(atoi(p[1].c_str()), atoll(p[2].c_str()), true);
    } else if (op == "forkbomb") {
      ForkBomb();
    } else if (op == "reap") {
      Reap();
    } else if (op == "flap" && p.size() == 3) {
      for (int n = atoi(p[1].c_str()); n > 0; --n) {
        Alloc(ParseSize(p[2]));
        Spin(40);
        FreeTo(0);
        Spin(40);
      }
    } else if (op == "wait-signal" && p.size() == 2) {
      WaitSignal(atoll(p[1].c_str()));
    } else if (op == "again" && p.size() == 2) {
      if (again_left[i] < 0) again_left[i] = atoi(p[1].c_str());
      if (again_left[i]-- > 0) {
        i = static_cast<size_t>(-1);  // back to the first step
        signals_at_round_start = signals_seen.load();
      }
    } else if (op == "pause") {
      Report("done", 0, false);
      PauseForever();
    } else if (op == "exit" && p.size() == 2) {
      Report("done", 0, false);
      return atoi(p[1].c_str());
    } else {
      fprintf(stderr, "watch_load: bad step \"%s\"\n", steps[i].c_str());
      return 2;
    }
  }
  Report("done", 0, false);
  return 0;
}
