// ModuleFdCounter against the real rlimit_noti module (in the VM, which loads
// it from runfiles) and OpenFdCountBackend's choice (host: no module).
#include "supervisor/rlimit/module_fd_counter.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "supervisor/rlimit/test_util.h"

namespace vigil::rlimit {
namespace {

using testing::CommandedChild;
using testing::OpenFdCount;

// A child that opens and closes files on command ('b': `pairs` open+close
// pairs of /dev/null, as fast as it can), acknowledging each command.
class Burster : public CommandedChild {
 public:
  explicit Burster(int pairs)
      : CommandedChild([pairs](int in, int out) {
          char c;
          while (read(in, &c, 1) == 1) {
            for (int i = 0; i < pairs; ++i) close(open("/dev/null", O_RDONLY));
            if (write(out, &c, 1) != 1) break;
          }
        }) {}
  void Burst() { Do('b'); }
  void Kill() { Reap(SIGKILL); }
};

class ModuleFdCounterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!kmod::NotiDevice::ModuleLoaded()) {
      if (std::getenv("VIGIL_IN_VM") == nullptr) {
        GTEST_SKIP() << "needs the rlimit_noti kernel module (CONFIG_MODULES is off "
                        "on this host; runs in the VM)";
      }
      absl::Status loaded = testing::LoadNotiModuleFromRunfiles();
      ASSERT_TRUE(loaded.ok()) << loaded;
    }
    absl::StatusOr<std::unique_ptr<EventLoop>> loop =
        EventLoop::Create(EventLoop::Backend::kAuto);
    ASSERT_TRUE(loop.ok()) << loop.status();
    loop_ = *std::move(loop);
    absl::StatusOr<std::unique_ptr<ModuleFdCounter>> counter = ModuleFdCounter::Create(
        *loop_, [this](pid_t pid, int64_t count) { seen_.emplace_back(pid, count); });
    ASSERT_TRUE(counter.ok()) << counter.status();
    counter_ = *std::move(counter);
  }

  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<ModuleFdCounter> counter_;
  std::vector<std::pair<pid_t, int64_t>> seen_;
};

TEST_F(ModuleFdCounterTest, EveryCrossingOfABurstReachesTheSinkThroughTheLoop) {
  constexpr int kPairs = 100;
  Burster burster(kPairs);
  pid_t pid = burster.pid();
  burster.Burst();  // settled: its fd table is what it will be between bursts
  const int64_t base = OpenFdCount(pid);
  ASSERT_TRUE(counter_->Track(pid).ok());
  ASSERT_TRUE(counter_->SetLevels(pid, {base + 1}).ok());
  EXPECT_FALSE(counter_->sampled());
  burster.Burst();
  EXPECT_EQ(OpenFdCount(pid), base) << "a sampler sees nothing change";
  alarm(30);  // a missing event fails the test instead of hanging it
  ASSERT_TRUE(loop_->RunOnce().ok());  // the device fd is readable
  alarm(0);
  ASSERT_EQ(seen_.size(), 2u * kPairs);
  for (int i = 0; i < kPairs; ++i) {
    EXPECT_EQ(seen_[2 * i], std::make_pair(pid, base + 1)) << i;
    EXPECT_EQ(seen_[2 * i + 1], std::make_pair(pid, base)) << i;
  }
  absl::StatusOr<int64_t> count = counter_->Count(pid);
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(*count, base);
}

TEST_F(ModuleFdCounterTest, LevelsFollowSetLevelsAndUntrack) {
  Burster burster(1);
  pid_t pid = burster.pid();
  burster.Burst();
  const int64_t base = OpenFdCount(pid);
  ASSERT_TRUE(counter_->Track(pid).ok());
  // A point above the burst's peak is never passed.
  ASSERT_TRUE(counter_->SetLevels(pid, {base + 1, base + 5}).ok());
  ASSERT_TRUE(counter_->SetLevels(pid, {base + 5}).ok());
  burster.Burst();
  counter_->Flush();
  EXPECT_TRUE(seen_.empty()) << "a removed point still reported";
  ASSERT_TRUE(counter_->SetLevels(pid, {base + 1}).ok());
  counter_->Untrack(pid);
  burster.Burst();
  counter_->Flush();
  EXPECT_TRUE(seen_.empty()) << "an untracked process still reported";
}

TEST_F(ModuleFdCounterTest, AProcessThatExitedIsNotFound) {
  Burster burster(1);
  pid_t pid = burster.pid();
  ASSERT_TRUE(counter_->Track(pid).ok());
  burster.Kill();
  absl::Status status = counter_->SetLevels(pid, {100});
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
  counter_->Untrack(pid);
}

TEST_F(ModuleFdCounterTest, AnOverflowOfTheKernelQueueIsResynchronisedFromProcfs) {
  constexpr int kPairs = 3000;  // 6000 events; the module queues 4095
  Burster burster(kPairs);
  pid_t pid = burster.pid();
  burster.Burst();
  const int64_t base = OpenFdCount(pid);
  ASSERT_TRUE(counter_->Track(pid).ok());
  ASSERT_TRUE(counter_->SetLevels(pid, {base + 1}).ok());
  burster.Burst();
  counter_->Flush();
  EXPECT_EQ(counter_->lost_events(), 2u * kPairs - 4095);
  ASSERT_EQ(seen_.size(), 4096u);
  EXPECT_EQ(seen_.back(), std::make_pair(pid, base)) << "the count read after the loss";
}

// On the host (no module) vigild falls back to procfs and says why; in the
// VM (module loaded by the fixture above, or by an earlier test) it uses it.
TEST(OpenFdCountBackendTest, UsesTheModuleWhenLoadedElseProcfsSayingWhy) {
  absl::StatusOr<std::unique_ptr<EventLoop>> loop =
      EventLoop::Create(EventLoop::Backend::kAuto);
  ASSERT_TRUE(loop.ok()) << loop.status();
  std::unique_ptr<FdCountBackend> backend =
      OpenFdCountBackend(**loop, [](pid_t, int64_t) {});
  if (kmod::NotiDevice::ModuleLoaded()) {
    EXPECT_FALSE(backend->sampled());
    EXPECT_EQ(backend->Describe().rfind("kernel module rlimit_noti (exact", 0), 0u)
        << backend->Describe();
  } else {
    EXPECT_TRUE(backend->sampled());
    EXPECT_EQ(backend->Describe().rfind(
                  "procfs (userspace backend; kernel module rlimit_noti not loaded)", 0),
              0u)
        << backend->Describe();
  }
}

}  // namespace
}  // namespace vigil::rlimit
