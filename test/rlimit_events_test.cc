// The rlimit-events API end to end: the real vigild, real client library,
// real processes crossing real levels (issue 6).
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "rlimit/watcher.h"
#include "supervisor/rlimit/test_util.h"
#include "test/rlimit_watcher_util.h"
#include "test/vigild_harness.h"

namespace vigil::testing {
namespace {

using rlimit::Error;
using rlimit::Watcher;

// A child process driven over a pipe, one command byte at a time, each
// acknowledged once done. After every change it spins a little CPU, because
// vigild reads a process on its CPU ticks (cpu_tick in the config below).
class Puppet : public rlimit::testing::CommandedChild {
 public:
  Puppet() : CommandedChild(Serve) {
    Do('n');  // settled: the pipe ends it does not use are closed
  }
  void Kill() { Reap(SIGKILL); }

 private:
  static void Spin(int64_t ns) { rlimit::testing::SpinCpu(CLOCK_PROCESS_CPUTIME_ID, ns); }
  [[noreturn]] static void Serve(int in, int out) {
    std::vector<int> fds;
    void* memory = nullptr;
    constexpr size_t kMemory = 32 << 20;
    int release[2] = {-1, -1};
    pthread_t thread;
    struct rlimit lim;
    getrlimit(RLIMIT_NOFILE, &lim);
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
    char c;
    while (read(in, &c, 1) == 1) {
      switch (c) {
        case 'o':  // +20 fds
          for (int i = 0; i < 20; ++i) fds.push_back(open("/dev/null", O_RDONLY));
          break;
        case 'O':  // +600 fds
          for (int i = 0; i < 600; ++i) fds.push_back(open("/dev/null", O_RDONLY));
          break;
        case 'c':
          for (int fd : fds) close(fd);
          fds.clear();
          break;
        case 'm':
          memory = mmap(nullptr, kMemory, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
          memset(memory, 1, kMemory);
          break;
        case 'f':
          munmap(memory, kMemory);
          break;
        case 't':
          (void)!pipe(release);
          pthread_create(&thread, nullptr, [](void* fd) -> void* {
            char b;
            (void)!read(*static_cast<int*>(fd), &b, 1);
            return nullptr;
          }, &release[0]);
          break;
        case 'j':
          (void)!write(release[1], "x", 1);
          pthread_join(thread, nullptr);
          close(release[0]);
          close(release[1]);
          break;
        case 'S':  // a long run without blocking
          Spin(150'000'000);
          break;
        case 'z':
          usleep(1000);
          break;
        case 'q':
          (void)!write(out, &c, 1);
          _exit(0);
      }
      Spin(30'000'000);  // several CPU ticks: vigild looks
      if (write(out, &c, 1) != 1) break;
    }
    _exit(0);
  }
};

int OpenFds(pid_t pid) {
  struct stat st;
  return stat(absl::StrCat("/proc/", pid, "/fd").c_str(), &st) == 0 ? st.st_size : -1;
}

class RlimitEventsTest : public ::testing::Test {
 protected:
  void StartVigild(const std::string& extra = "") {
    vigild_.AddMainConfig(absl::StrCat("rlimit_events:\n  mode: \"0666\"\n  cpu_tick: 5ms\n",
                                       extra));
    ASSERT_TRUE(vigild_.Start().ok()) << vigild_.ReadLog();
    // Reachable for the unprivileged client of the permission test.
    chmod(vigild_.dir().c_str(), 0755);
  }
  std::string SocketPath() const { return vigild_.dir() + "/rlimit-events.sock"; }
  Watcher Connect() { return ConnectWatcher(SocketPath()); }
  static std::optional<rle_event> Next(Watcher& w, int timeout_ms = 5000) {
    return NextEvent(w, timeout_ms);
  }
  static bool Quiet(Watcher& w, int ms = 300) { return NoEventWithin(w, ms); }

  VigildHarness vigild_;
};

using Crossing = std::tuple<pid_t, int32_t, int64_t>;  // pid, direction, level

TEST_F(RlimitEventsTest, MatrixOfWatchersAndProcessesExactlyOneEventPerCrossing) {
  StartVigild();
  constexpr int kWatchers = 3, kProcesses = 3;
  std::vector<std::unique_ptr<Puppet>> puppets;
  for (int p = 0; p < kProcesses; ++p) puppets.push_back(std::make_unique<Puppet>());
  std::vector<Watcher> watchers;
  std::map<std::pair<int, pid_t>, int64_t> level;  // (watcher, pid) -> level
  for (int w = 0; w < kWatchers; ++w) {
    watchers.push_back(Connect());
    for (auto& puppet : puppets) {
      int64_t l = OpenFds(puppet->pid()) + 3 + 5 * w;  // all below +20
      level[{w, puppet->pid()}] = l;
      Error e = watchers[w].Add(puppet->pid(), RLE_RES_NOFILE, l);
      ASSERT_TRUE(e.ok()) << e.message;
    }
  }
  for (auto& w : watchers) EXPECT_TRUE(Quiet(w)) << "an event before any crossing";
  for (int round = 0; round < 3; ++round) {
    for (auto& puppet : puppets) puppet->Do('o');
    for (auto& puppet : puppets) puppet->Do('c');
  }
  for (int w = 0; w < kWatchers; ++w) {
    std::map<pid_t, std::vector<int32_t>> directions;
    for (int i = 0; i < kProcesses * 6; ++i) {
      std::optional<rle_event> e = Next(watchers[w]);
      ASSERT_TRUE(e.has_value()) << "watcher " << w << " got only " << i << " events";
      ASSERT_EQ(e->type, RLE_EV_CROSSING);
      EXPECT_EQ(e->resource, RLE_RES_NOFILE);
      EXPECT_EQ(e->level, (level[{w, e->pid}]));
      if (e->direction == RLE_DIR_UP) EXPECT_GE(e->value, e->level);
      if (e->direction == RLE_DIR_DOWN) EXPECT_LT(e->value, e->level);
      directions[e->pid].push_back(e->direction);
    }
    for (auto& puppet : puppets) {
      std::vector<int32_t> expected;
      for (int r = 0; r < 3; ++r) expected.insert(expected.end(), {RLE_DIR_UP, RLE_DIR_DOWN});
      EXPECT_EQ(directions[puppet->pid()], expected) << "watcher " << w;
    }
    EXPECT_TRUE(Quiet(watchers[w])) << "more than one event per crossing";
  }
}

TEST_F(RlimitEventsTest, ExitEndsTheWatchesWithOneExitEventPerWatcher) {
  StartVigild();
  Puppet puppet;
  Watcher a = Connect(), b = Connect();
  ASSERT_TRUE(a.Add(puppet.pid(), RLE_RES_NOFILE, 1000).ok());
  ASSERT_TRUE(a.Add(puppet.pid(), RLE_RES_TASKS, 50).ok());
  ASSERT_TRUE(b.Add(puppet.pid(), RLE_RES_CPU, 100'000'000'000).ok());
  pid_t pid = puppet.pid();
  puppet.Kill();
  for (Watcher* w : {&a, &b}) {
    std::optional<rle_event> e = Next(*w);
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->type, RLE_EV_EXIT);
    EXPECT_EQ(e->pid, pid);
    EXPECT_TRUE(Quiet(*w)) << "one exit event per watcher";
    Error removed = w->Remove(pid, RLE_RES_NOFILE, 1000);
    EXPECT_EQ(removed.code, ENOENT) << "the watch outlived its process";
  }
}

TEST_F(RlimitEventsTest, ClosingAWatcherEndsOnlyItsWatches) {
  StartVigild();
  Puppet puppet;
  int64_t l = OpenFds(puppet.pid()) + 10;
  Watcher stays = Connect();
  ASSERT_TRUE(stays.Add(puppet.pid(), RLE_RES_NOFILE, l).ok());
  {
    Watcher leaves = Connect();
    ASSERT_TRUE(leaves.Add(puppet.pid(), RLE_RES_NOFILE, l).ok());
  }
  puppet.Do('o');
  std::optional<rle_event> e = Next(stays);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->direction, RLE_DIR_UP);
  // vigild still serves and the departed watcher left nothing behind.
  Watcher again = Connect();
  EXPECT_TRUE(again.Add(puppet.pid(), RLE_RES_NOFILE, l).ok());
}

TEST_F(RlimitEventsTest, MemoryThreadsCpuAndMazeCrossBothWays) {
  StartVigild();
  Puppet puppet;
  Watcher w = Connect();
  ASSERT_TRUE(w.Add(puppet.pid(), RLE_RES_RSS, 24 << 20).ok());
  ASSERT_TRUE(w.Add(puppet.pid(), RLE_RES_TASKS, 2).ok());
  ASSERT_TRUE(w.Add(puppet.pid(), RLE_RES_CPU, 500'000'000).ok());
  ASSERT_TRUE(w.Add(puppet.pid(), RLE_RES_MAZE, 100'000'000).ok());
  EXPECT_TRUE(Quiet(w));
  auto expect = [&](uint32_t resource, int32_t direction) {
    std::optional<rle_event> e = Next(w);
    ASSERT_TRUE(e.has_value()) << rle_resource_name(resource);
    EXPECT_EQ(e->type, RLE_EV_CROSSING);
    EXPECT_EQ(e->resource, resource) << rle_resource_name(e->resource);
    EXPECT_EQ(e->direction, direction) << rle_resource_name(resource);
  };
  puppet.Do('m');
  expect(RLE_RES_RSS, RLE_DIR_UP);
  puppet.Do('f');
  expect(RLE_RES_RSS, RLE_DIR_DOWN);
  puppet.Do('t');
  expect(RLE_RES_TASKS, RLE_DIR_UP);
  puppet.Do('j');
  expect(RLE_RES_TASKS, RLE_DIR_DOWN);
  // 150 ms without blocking: MAZE count past 100 ms. Every command so far
  // spun 30 ms: total CPU now past 5 * 30 + 150 = 300 ms, not 500.
  puppet.Do('S');
  expect(RLE_RES_MAZE, RLE_DIR_UP);
  puppet.Do('z');  // blocks: the count resets, seen at its next CPU tick
  expect(RLE_RES_MAZE, RLE_DIR_DOWN);
  puppet.Do('S');
  std::set<uint32_t> next;
  for (int i = 0; i < 2; ++i) {
    std::optional<rle_event> e = Next(w);
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->direction, RLE_DIR_UP);
    next.insert(e->resource);
  }
  EXPECT_EQ(next, (std::set<uint32_t>{RLE_RES_CPU, RLE_RES_MAZE}));
  EXPECT_TRUE(Quiet(w));
}

TEST_F(RlimitEventsTest, NobodyMayNotWatchRootsProcessButMayWatchItsOwn) {
  StartVigild();
  int result[2];
  ASSERT_EQ(pipe(result), 0);
  pid_t child = fork();
  if (child == 0) {
    close(result[0]);
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(10);
    rle_client* c = rle_open(SocketPath().c_str(), 0);
    if (c == nullptr) _exit(11);
    rle_watch root_watch{vigild_.pid(), RLE_RES_NOFILE, 10, 0, 0, 0};
    int refused = rle_add_watch(c, &root_watch);
    std::string message = rle_error(c);
    rle_watch own{getpid(), RLE_RES_NOFILE, 1, 0, 0, 0};
    int own_rc = rle_add_watch(c, &own);
    std::string report = absl::StrCat(refused, "|", own_rc, "|", message);
    (void)!write(result[1], report.data(), report.size());
    _exit(0);
  }
  close(result[1]);
  char buffer[512];
  ssize_t n = read(result[0], buffer, sizeof buffer);
  close(result[0]);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buffer, n),
            absl::StrCat(-EPERM, "|0|uid 65534 may not watch pid ", vigild_.pid(),
                         " (real uid 0, saved uid 0): only root and the process's own user "
                         "may watch it, as for kill(2)"));
}

// A raw SOCK_SEQPACKET client, to send what the library never would.
class RawClient {
 public:
  explicit RawClient(const std::string& path) {
    fd_ = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    EXPECT_EQ(connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  }
  ~RawClient() { close(fd_); }
  void Send(const std::string& bytes) {
    ASSERT_EQ(send(fd_, bytes.data(), bytes.size(), 0), static_cast<ssize_t>(bytes.size()));
  }
  static std::string Message(uint16_t version, uint16_t type, uint64_t seq, rle_watch w,
                             size_t size = sizeof(rle_header) + sizeof(rle_watch),
                             size_t header_size = 0) {
    rle_header h{version, type,
                 static_cast<uint32_t>(header_size ? header_size : size), seq};
    std::string out(std::max(size, sizeof h + sizeof w), '\0');
    std::memcpy(out.data(), &h, sizeof h);
    std::memcpy(out.data() + sizeof h, &w, sizeof w);
    out.resize(size);
    return out;
  }
  // The next reply (events are skipped): seq, errno, message.
  std::tuple<uint64_t, int, std::string> Reply() {
    char buffer[RLE_MAX_MESSAGE];
    for (;;) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 5000) != 1) return {0, -1, "timeout"};
      ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
      if (n < static_cast<ssize_t>(sizeof(rle_header))) return {0, -1, "short"};
      rle_header h;
      std::memcpy(&h, buffer, sizeof h);
      if (h.type != RLE_MSG_REPLY) continue;
      rle_reply r;
      std::memcpy(&r, buffer + sizeof h, sizeof r);
      return {h.seq, r.error, r.message};
    }
  }
  int fd() const { return fd_; }

 private:
  int fd_;
};

rle_watch W(pid_t pid, uint32_t resource, int64_t level, int64_t hysteresis = 0,
            uint32_t flags = 0) {
  return rle_watch{pid, resource, level, hysteresis, flags, 0};
}

TEST_F(RlimitEventsTest, EveryBadRequestGetsAnErrorReplyAndNothingElseBreaks) {
  StartVigild();
  Puppet puppet;
  pid_t pid = puppet.pid();
  // A thread id that is not a process: a thread of this test.
  pid_t tid = 0;
  int hold[2];
  ASSERT_EQ(pipe(hold), 0);
  std::thread thread([&] {
    tid = static_cast<pid_t>(syscall(SYS_gettid));
    char b;
    (void)!read(hold[0], &b, 1);
  });
  while (tid == 0) std::this_thread::yield();

  RawClient raw(SocketPath());
  struct Case {
    std::string name;
    std::string bytes;
    uint64_t seq;
    int error;
    std::string message;
  };
  const size_t kFull = sizeof(rle_header) + sizeof(rle_watch);
  std::vector<Case> cases = {
      {"truncated", std::string(5, 'x'), 0, EBADMSG,
       "truncated message: 5 bytes, shorter than the 16-byte header"},
      {"short body", RawClient::Message(1, RLE_MSG_ADD_WATCH, 2, W(pid, 7, 5), 30, 30), 2,
       EBADMSG, "malformed message: a watch request is 48 bytes, got 30"},
      {"lying header", RawClient::Message(1, RLE_MSG_ADD_WATCH, 3, W(pid, 7, 5), kFull, 99), 3,
       EBADMSG, "malformed message: header says 99 bytes, 48 arrived"},
      {"oversized", std::string(4096, 'y'), 0, EMSGSIZE,
       "message of 4096 bytes is longer than the 512-byte maximum; it was discarded"},
      {"unknown type", RawClient::Message(1, 9, 5, W(pid, 7, 5)), 5, ENOSYS,
       "unknown message type 9 (requests are 1 add-watch, 2 remove-watch)"},
      {"unknown version", RawClient::Message(2, RLE_MSG_ADD_WATCH, 6, W(pid, 7, 5)), 6, EPROTO,
       "wire version 2 is not supported; this vigild speaks version 1"},
      {"unknown resource", RawClient::Message(1, RLE_MSG_ADD_WATCH, 7, W(pid, 99, 5)), 7,
       EOPNOTSUPP, "unknown resource 99 (known: cpu 0, rss 5, tasks 6, nofile 7, maze 64)"},
      {"negative level", RawClient::Message(1, RLE_MSG_ADD_WATCH, 8, W(pid, 7, -5)), 8, EINVAL,
       "levels must be > 0, got -5"},
      {"zero level", RawClient::Message(1, RLE_MSG_ADD_WATCH, 9, W(pid, 7, 0)), 9, EINVAL,
       "levels must be > 0, got 0"},
      {"hysteresis", RawClient::Message(1, RLE_MSG_ADD_WATCH, 10, W(pid, 7, 5, 5)), 10, EINVAL,
       "hysteresis 5 must be below every level, but level 5 could then never be crossed "
       "downward"},
      {"flags", RawClient::Message(1, RLE_MSG_ADD_WATCH, 11, W(pid, 7, 5, 0, 4)), 11, EINVAL,
       "flags and reserved must be 0, got flags 0x4 reserved 0"},
      {"no such pid", RawClient::Message(1, RLE_MSG_ADD_WATCH, 12, W(0x3fffffff, 7, 5)), 12,
       ESRCH, "no process 1073741823 (it does not exist or has exited)"},
      {"pid 0", RawClient::Message(1, RLE_MSG_ADD_WATCH, 13, W(0, 7, 5)), 13, EINVAL,
       "pid must be > 0, got 0"},
      {"thread", RawClient::Message(1, RLE_MSG_ADD_WATCH, 14, W(tid, 7, 5)), 14, EINVAL,
       absl::StrCat(tid, " is a thread, not a process: watch its process (Tgid in /proc/", tid,
                    "/status)")},
      {"remove unknown", RawClient::Message(1, RLE_MSG_REMOVE_WATCH, 15, W(pid, 7, 5)), 15,
       ENOENT, absl::StrCat("this connection has no watch on nofile of pid ", pid,
                            " at level 5")},
      {"valid", RawClient::Message(1, RLE_MSG_ADD_WATCH, 16, W(pid, 7, 500)), 16, 0, "ok"},
      {"duplicate", RawClient::Message(1, RLE_MSG_ADD_WATCH, 17, W(pid, 7, 500)), 17, EEXIST,
       absl::StrCat("this connection already watches nofile of pid ", pid, " at level 500")},
  };
  for (const Case& c : cases) {
    raw.Send(c.bytes);
    auto [seq, error, message] = raw.Reply();
    EXPECT_EQ(seq, c.seq) << c.name;
    EXPECT_EQ(error, c.error) << c.name << ": " << message;
    EXPECT_EQ(message, c.message) << c.name;
  }
  (void)!write(hold[1], "x", 1);
  thread.join();
  // Another client is served as ever; vigild is alive.
  Watcher other = Connect();
  EXPECT_TRUE(other.Add(pid, RLE_RES_NOFILE, 500).ok());
  EXPECT_TRUE(ProcessAlive(vigild_.pid()));
}

TEST_F(RlimitEventsTest, ProcessesExitingDuringTheRequestGetErrorsOrExitEvents) {
  StartVigild();
  Watcher w = Connect();
  int accepted = 0, refused = 0;
  for (int i = 0; i < 200; ++i) {
    pid_t child = fork();
    if (child == 0) {
      usleep(i % 7 * 100);
      _exit(0);
    }
    Error e = w.Add(child, RLE_RES_NOFILE, 100);
    if (e.ok()) {
      ++accepted;
      // Its exit must come, even if it happened right after the add.
      bool exited = false;
      while (!exited) {
        std::optional<rle_event> ev = Next(w);
        ASSERT_TRUE(ev.has_value()) << "no exit event for " << child;
        exited = ev->type == RLE_EV_EXIT && ev->pid == child;
      }
    } else {
      ++refused;
      EXPECT_EQ(e.code, ESRCH) << e.message;
    }
    waitpid(child, nullptr, 0);
  }
  EXPECT_EQ(accepted + refused, 200);
  EXPECT_TRUE(ProcessAlive(vigild_.pid()));
}

TEST_F(RlimitEventsTest, HundredThousandWatchesHitTheCapWithAClearError) {
  StartVigild("  max_watches: 1000\n");
  Puppet puppet;
  RawClient flood(SocketPath());
  Watcher bystander = Connect();
  constexpr int kWatches = 100000, kBatch = 500;
  int ok = 0, capped = 0;
  std::string cap_message;
  for (int start = 1; start <= kWatches; start += kBatch) {
    for (int level = start; level < start + kBatch; ++level) {
      flood.Send(RawClient::Message(1, RLE_MSG_ADD_WATCH, level,
                                    W(puppet.pid(), RLE_RES_NOFILE, level)));
    }
    for (int i = 0; i < kBatch; ++i) {
      auto [seq, error, message] = flood.Reply();
      ASSERT_NE(error, -1) << message;
      if (error == 0) ++ok;
      if (error == EDQUOT) {
        ++capped;
        cap_message = message;
      }
    }
    if (start == 50001) {
      // Meanwhile vigild serves others.
      EXPECT_TRUE(bystander.Add(puppet.pid(), RLE_RES_TASKS, 10).ok());
    }
  }
  EXPECT_EQ(ok, 1000);
  EXPECT_EQ(capped, kWatches - 1000);
  EXPECT_EQ(cap_message,
            "this connection has reached its cap of 1000 watches "
            "(rlimit_events.max_watches in vigil.yaml); remove some first");
}

TEST_F(RlimitEventsTest, ASlowReaderLosesEventsWithACountAndBlocksNoOne) {
  StartVigild("  queue: 16\n");
  Puppet puppet;
  const int base = OpenFds(puppet.pid());
  Watcher slow = Connect();
  constexpr int kLevels = 500;
  for (int l = base + 1; l <= base + kLevels; ++l) {
    ASSERT_TRUE(slow.Add(puppet.pid(), RLE_RES_NOFILE, l).ok());
  }
  puppet.Do('O');  // 600 more fds: 500 crossings at once; `slow` reads nothing
  // vigild is not blocked by it: another client is served.
  Watcher other = Connect();
  EXPECT_TRUE(other.Add(puppet.pid(), RLE_RES_NOFILE, base + 1).ok());
  std::optional<rle_event> first = Next(other);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->direction, RLE_DIR_UP);

  int crossings = 0, overflows = 0;
  uint64_t lost = 0;
  while (crossings + static_cast<int>(lost) < kLevels) {
    std::optional<rle_event> e = Next(slow);
    ASSERT_TRUE(e.has_value()) << crossings << " crossings, " << lost << " lost";
    if (e->type == RLE_EV_OVERFLOW) {
      ++overflows;
      lost += e->lost;
    } else {
      ASSERT_EQ(e->type, RLE_EV_CROSSING);
      EXPECT_EQ(e->direction, RLE_DIR_UP);
      ++crossings;
    }
  }
  EXPECT_EQ(overflows, 1);
  EXPECT_GT(lost, 0u);
  EXPECT_EQ(crossings + static_cast<int>(lost), kLevels);
  // The connection carries on: the way down is accounted for the same way
  // (500 events at once may overflow again even for a reader).
  puppet.Do('c');
  crossings = 0;
  lost = 0;
  while (crossings + static_cast<int>(lost) < kLevels) {
    std::optional<rle_event> e = Next(slow);
    ASSERT_TRUE(e.has_value()) << crossings << " crossings, " << lost << " lost";
    if (e->type == RLE_EV_OVERFLOW) {
      lost += e->lost;
    } else {
      EXPECT_EQ(e->direction, RLE_DIR_DOWN);
      ++crossings;
    }
  }
  EXPECT_EQ(crossings + static_cast<int>(lost), kLevels);
  EXPECT_TRUE(Quiet(slow));
}

TEST_F(RlimitEventsTest, VigilctlWatchPrintsEventsUntilTheProcessExits) {
  StartVigild();
  Puppet puppet;
  int64_t level = OpenFds(puppet.pid()) + 10;
  std::string out_path = vigild_.dir() + "/watch.out";
  pid_t ctl = fork();
  if (ctl == 0) {
    int fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    execl(VigilctlPath().c_str(), "vigilctl", "--socket", vigild_.socket_path().c_str(), "watch",
          std::to_string(puppet.pid()).c_str(), "nofile", std::to_string(level).c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  auto read_out = [&] {
    std::ifstream in(out_path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  };
  for (int i = 0; i < 500 && read_out().find("watching") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  puppet.Do('o');
  puppet.Do('c');
  pid_t pid = puppet.pid();
  puppet.Do('q');
  int status = 0;
  waitpid(ctl, &status, 0);
  puppet.Kill();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(read_out(),
            absl::StrCat("watching pid ", pid, " nofile level ", level, "\n",
                         "pid ", pid, " nofile up level ", level, " value ", level + 10, "\n",
                         "pid ", pid, " nofile down level ", level, " value ", level - 10, "\n",
                         "pid ", pid, " exited\n"));

  CommandResult bad = RunCommand({VigilctlPath(), "--socket", vigild_.socket_path(), "watch",
                                  std::to_string(getpid()), "nofile", "-5"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.err, absl::StrCat("vigilctl: watch pid ", getpid(),
                                  " nofile level -5: levels must be > 0, got -5\n"));
  CommandResult usage = RunCommand({VigilctlPath(), "watch", "1", "files", "3"});
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_EQ(usage.err,
            "vigilctl: watch: RESOURCE: expected nofile, tasks, rss, cpu or maze, got \"files\"\n");
}

TEST_F(RlimitEventsTest, SocketModeAndGroupComeFromTheConfig) {
  StartVigild("  group: nogroup\n");
  struct stat st;
  ASSERT_EQ(stat(SocketPath().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0666u);
  EXPECT_EQ(st.st_gid, 65534u);
  EXPECT_NE(vigild_.ReadLog().find("rlimit-events: socket " + SocketPath() +
                                   " (mode 0666, group nogroup), wire version 1; fds: procfs"),
            std::string::npos)
      << vigild_.ReadLog();
}

}  // namespace
}  // namespace vigil::testing
