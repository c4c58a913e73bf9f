// vigild's open-fd backend for rlimit-events (issue 7): the real vigild with
// and without the rlimit_noti kernel module, a real client, a real process
// that opens and closes files. Without the module (the host; the VM before
// it loads it) a burst of open+close inside one CPU tick is not seen; with it
// (the VM) every crossing of the burst is delivered, through the same API.
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "rlimit/watcher.h"
#include "supervisor/rlimit/test_util.h"
#include "test/rlimit_watcher_util.h"
#include "test/vigild_harness.h"

namespace vigil::testing {
namespace {

using rlimit::Watcher;
using rlimit::testing::LoadNotiModuleFromRunfiles;
using rlimit::testing::OpenFdCount;

constexpr int kBurstPairs = 100;

bool ModuleLoaded() { return access("/sys/module/rlimit_noti", F_OK) == 0; }

bool InVm() { return std::getenv("VIGIL_IN_VM") != nullptr; }

// A child driven one command byte at a time, each acknowledged: 'b' a burst
// of open+close pairs (no CPU tick passes), 'o' opens one fd and keeps it,
// 'c' closes it, 'S' spins 300 ms of CPU (more than one tick), 'x' opens 10
// fds and exits at once.
class Puppet : public rlimit::testing::CommandedChild {
 public:
  Puppet() : CommandedChild(Serve) { Do('n'); }  // settled

 private:
  [[noreturn]] static void Serve(int in, int out) {
    int kept = -1;
    char c;
    while (read(in, &c, 1) == 1) {
      switch (c) {
        case 'b':
          for (int i = 0; i < kBurstPairs; ++i) close(open("/dev/null", O_RDONLY));
          break;
        case 'o':
          kept = open("/dev/null", O_RDONLY);
          break;
        case 'c':
          close(kept);
          break;
        case 'S':
          rlimit::testing::SpinCpu(CLOCK_PROCESS_CPUTIME_ID, 300'000'000);
          break;
        case 'x':
          for (int i = 0; i < 10; ++i) open("/dev/null", O_RDONLY);
          _exit(0);
      }
      if (write(out, &c, 1) != 1) break;
    }
    _exit(0);
  }
};

class RlimitModuleTest : public ::testing::Test {
 protected:
  void StartVigild() {
    // A long tick: the burst certainly fits inside one.
    vigild_.AddMainConfig("rlimit_events:\n  cpu_tick: 200ms\n");
    ASSERT_TRUE(vigild_.Start().ok()) << vigild_.ReadLog();
  }
  Watcher Connect() { return ConnectWatcher(vigild_.dir() + "/rlimit-events.sock"); }
  static std::optional<rle_event> Next(Watcher& w, int timeout_ms = 5000) {
    return NextEvent(w, timeout_ms);
  }
  static bool Quiet(Watcher& w, int ms = 500) { return NoEventWithin(w, ms); }
  static void ExpectCrossing(const std::optional<rle_event>& e, int32_t direction,
                             int64_t level, int64_t value) {
    ASSERT_TRUE(e.has_value()) << "no event";
    EXPECT_EQ(e->type, RLE_EV_CROSSING);
    EXPECT_EQ(e->resource, RLE_RES_NOFILE);
    EXPECT_EQ(e->direction, direction);
    EXPECT_EQ(e->level, level);
    EXPECT_EQ(e->value, value);
  }

  VigildHarness vigild_;
};

// The contrast: what the userspace backend cannot see.
TEST_F(RlimitModuleTest, WithoutTheModuleTheUserspaceBackendMissesABurstInsideOneTick) {
  if (ModuleLoaded()) {
    ASSERT_EQ(syscall(SYS_delete_module, "rlimit_noti", O_NONBLOCK), 0)
        << "rmmod rlimit_noti: " << strerror(errno);
  }
  StartVigild();
  std::string log = vigild_.ReadLog();
  EXPECT_NE(log.find("rlimit-events: open-fd watches use the userspace backend: procfs "
                     "(userspace backend; kernel module rlimit_noti not loaded)"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("fds: procfs (userspace backend"), std::string::npos) << log;
  Puppet puppet;
  const int64_t base = OpenFdCount(puppet.pid());
  Watcher w = Connect();
  ASSERT_TRUE(w.Add(puppet.pid(), RLE_RES_NOFILE, base + 1).ok());
  puppet.Do('b');
  EXPECT_TRUE(Quiet(w)) << "the burst was seen: did a CPU tick fall inside it?";
  // The watch itself works: a crossing that lasts a tick is seen.
  puppet.Do('o');
  puppet.Do('S');
  ExpectCrossing(Next(w), RLE_DIR_UP, base + 1, base + 1);
  puppet.Do('c');
  puppet.Do('S');
  ExpectCrossing(Next(w), RLE_DIR_DOWN, base + 1, base);
  EXPECT_TRUE(Quiet(w));
}

TEST_F(RlimitModuleTest, WithTheModuleEveryCrossingOfABurstIsDeliveredExactly) {
  if (!ModuleLoaded()) {
    if (!InVm()) {
      GTEST_SKIP() << "needs the rlimit_noti kernel module (CONFIG_MODULES is off on this "
                      "host; runs in the VM)";
    }
    ASSERT_TRUE(LoadNotiModuleFromRunfiles().ok());
  }
  StartVigild();
  std::string log = vigild_.ReadLog();
  EXPECT_NE(log.find("rlimit-events: open-fd watches use the exact backend: kernel module "
                     "rlimit_noti"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("fds: kernel module rlimit_noti (exact"), std::string::npos) << log;
  Puppet puppet;
  const int64_t base = OpenFdCount(puppet.pid());
  Watcher exact = Connect(), sticky = Connect();
  ASSERT_TRUE(exact.Add(puppet.pid(), RLE_RES_NOFILE, base + 1).ok());
  // Down only below base + 1 - 1: never inside the burst.
  ASSERT_TRUE(sticky.Add(puppet.pid(), RLE_RES_NOFILE, base + 1, 1).ok());
  EXPECT_TRUE(Quiet(exact, 200)) << "an event before any crossing";
  puppet.Do('b');  // no CPU tick: vigild learns it only from the kernel
  for (int i = 0; i < kBurstPairs; ++i) {
    SCOPED_TRACE(absl::StrCat("pair ", i));
    ExpectCrossing(Next(exact), RLE_DIR_UP, base + 1, base + 1);
    ExpectCrossing(Next(exact), RLE_DIR_DOWN, base + 1, base);
  }
  EXPECT_TRUE(Quiet(exact)) << "more than one event per crossing";
  ExpectCrossing(Next(sticky), RLE_DIR_UP, base + 1, base + 1);
  EXPECT_TRUE(Quiet(sticky, 200)) << "hysteresis: no way down inside the burst";

  // A fd that stays: one crossing each way, the sticky watch stays above.
  pid_t pid = puppet.pid();
  puppet.Do('o');
  ExpectCrossing(Next(exact), RLE_DIR_UP, base + 1, base + 1);
  EXPECT_TRUE(Quiet(sticky, 100)) << "still above for the sticky watch";
  puppet.Do('c');
  ExpectCrossing(Next(exact), RLE_DIR_DOWN, base + 1, base);
  puppet.Reap(SIGKILL);
  for (Watcher* w : {&exact, &sticky}) {
    std::optional<rle_event> gone = Next(*w);
    ASSERT_TRUE(gone.has_value());
    EXPECT_EQ(gone->type, RLE_EV_EXIT);
    EXPECT_EQ(gone->pid, pid);
    EXPECT_TRUE(Quiet(*w, 200));
  }
}

TEST_F(RlimitModuleTest, WithTheModuleACrossingJustBeforeExitComesBeforeTheExitEvent) {
  if (!ModuleLoaded()) {
    if (!InVm()) {
      GTEST_SKIP() << "needs the rlimit_noti kernel module (CONFIG_MODULES is off on this "
                      "host; runs in the VM)";
    }
    ASSERT_TRUE(LoadNotiModuleFromRunfiles().ok());
  }
  StartVigild();
  Puppet puppet;
  const int64_t base = OpenFdCount(puppet.pid());
  pid_t pid = puppet.pid();
  Watcher w = Connect();
  ASSERT_TRUE(w.Add(pid, RLE_RES_NOFILE, base + 5).ok());
  puppet.Send('x');  // opens 10 fds and exits at once, without a tick
  puppet.Reap();
  ExpectCrossing(Next(w), RLE_DIR_UP, base + 5, base + 5);
  std::optional<rle_event> gone = Next(w);
  ASSERT_TRUE(gone.has_value());
  EXPECT_EQ(gone->type, RLE_EV_EXIT);
  EXPECT_EQ(gone->pid, pid);
  EXPECT_TRUE(Quiet(w, 200));
}

}  // namespace
}  // namespace vigil::testing
