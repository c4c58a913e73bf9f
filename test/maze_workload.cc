// Workloads for test/maze_test.cc and bench/maze_bench.cc, run as units or
// as plain processes: each mode is one shape of CPU use that MAZE must judge.
//   spin             spin for ever, ignoring SIGUSR1 (the tests' soft signal)
//   busy-sleep       50 ms of CPU, then a 1 ms sleep, for ever
//   threads FILE     three sleeping threads and one spinning thread, whose tid
//                    is written to FILE
//   fork-spinner     sleep 500 ms, then fork a child that spins (ignoring
//                    SIGUSR1); the parent sleeps. With a third argument
//                    `on-sigusr2`, fork when SIGUSR2 comes instead (the
//                    caller blocks it across fork+exec, so none is lost)
//   polite           spin until SIGUSR1, sleep 100 ms, spin 450 ms of CPU
//                    more, then sleep for ever
//   relapse          spin until SIGUSR1, sleep 100 ms, then spin for ever
//                    (ignoring SIGUSR1): reset, then soft again
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>

namespace {

volatile sig_atomic_t soft_signal_seen = 0;

double ThreadCpuSeconds() {
  timespec now;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return now.tv_sec + now.tv_nsec / 1e9;
}

void SpinFor(double seconds) {
  double end = ThreadCpuSeconds() + seconds;
  while (ThreadCpuSeconds() < end) {
  }
}

[[noreturn]] void SpinForever() {
  for (volatile unsigned long i = 0;; i = i + 1) {
  }
}

[[noreturn]] void SleepForever() {
  for (;;) pause();
}

[[noreturn]] void Threads(const char* tid_file) {
  for (int i = 0; i < 3; ++i) {
    pthread_t sleeper;
    pthread_create(&sleeper, nullptr, [](void*) -> void* { SleepForever(); }, nullptr);
  }
  pthread_t spinner;
  pthread_create(
      &spinner, nullptr,
      [](void* file) -> void* {
        std::ofstream(static_cast<const char*>(file)) << syscall(SYS_gettid) << "\n";
        SpinForever();
      },
      const_cast<char*>(tid_file));
  SleepForever();
}

}  // namespace

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "";
  if (strcmp(mode, "spin") == 0) {
    signal(SIGUSR1, SIG_IGN);
    SpinForever();
  }
  if (strcmp(mode, "busy-sleep") == 0) {
    for (;;) {
      SpinFor(0.050);
      usleep(1000);
    }
  }
  if (strcmp(mode, "threads") == 0 && argc == 3) Threads(argv[2]);
  if (strcmp(mode, "fork-spinner") == 0) {
    if (argc > 2 && strcmp(argv[2], "on-sigusr2") == 0) {
      sigset_t cue;
      sigemptyset(&cue);
      sigaddset(&cue, SIGUSR2);
      int signo = 0;
      sigwait(&cue, &signo);
    } else {
      usleep(500'000);
    }
    if (fork() == 0) {
      signal(SIGUSR1, SIG_IGN);
      SpinForever();
    }
    SleepForever();
  }
  if (strcmp(mode, "polite") == 0) {
    signal(SIGUSR1, [](int) { soft_signal_seen = 1; });
    while (!soft_signal_seen) {
    }
    usleep(100'000);
    SpinFor(0.450);
    SleepForever();
  }
  if (strcmp(mode, "relapse") == 0) {
    signal(SIGUSR1, [](int) { soft_signal_seen = 1; });
    while (!soft_signal_seen) {
    }
    signal(SIGUSR1, SIG_IGN);
    usleep(100'000);
    SpinForever();
  }
  fprintf(stderr,
          "usage: maze_workload spin|busy-sleep|threads FILE|fork-spinner|polite|relapse\n");
  return 2;
}
