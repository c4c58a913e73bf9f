// Real processes of a real copy of /bin/sleep, followed through a real
// EventLoop: found at start, picked up at exec, followed to exit, and across
// a replacement of the file.
#include "supervisor/exe_processes.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "supervisor/timer_queue.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

pid_t RunBinary(const std::string& binary, const char* seconds = "1000") {
  pid_t pid = fork();
  if (pid == 0) {
    execl(binary.c_str(), "sleeper", seconds, nullptr);
    _exit(127);
  }
  return pid;
}

void Install(const std::string& from, const std::string& to) {
  fs::copy_file(from, to, fs::copy_options::overwrite_existing);
  fs::permissions(to, fs::perms::owner_all);
}

class ExeProcessesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/exe_processes_XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    exe_ = dir_ + "/sleeper";
    Install("/bin/sleep", exe_);
    auto loop = EventLoop::Create(EventLoop::Backend::kAuto);
    ASSERT_TRUE(loop.ok());
    loop_ = *std::move(loop);
    timers_ = *TimerQueue::Create(*loop_);
  }
  void TearDown() override {
    processes_.reset();
    for (pid_t pid : children_) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    fs::remove_all(dir_);
  }

  pid_t Spawn(const std::string& binary) {
    children_.push_back(RunBinary(binary));
    return children_.back();
  }
  // Until each has exec'd (its exe link names the copy), at most 1 s each.
  void WaitUntilRunningExe(std::initializer_list<pid_t> pids) {
    for (pid_t pid : pids) {
      for (int i = 0; i < 500 && StatFileId(absl::StrCat("/proc/", pid, "/exe"))
                                         .value_or(FileId{}) != *StatFileId(exe_);
           ++i) {
        usleep(2000);
      }
    }
  }
  void KillChild(pid_t pid) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }

  void StartWatching() {
    auto started = ExeProcesses::Start(
        *loop_, exe_,
        {.attached =
             [this](pid_t pid, const char* how, bool gone) {
               attached_.push_back({pid, how});
               if (gone) gone_.push_back(pid);
             },
         .exited = [this](pid_t pid, const char*) { exited_.push_back(pid); },
         .execs_lost = [this] { ++lost_; },
         .path_changed = [this](const std::string& m) { changes_.push_back(m); }});
    ASSERT_TRUE(started.ok()) << started.status();
    processes_ = *std::move(started);
  }

  // Runs the loop until `done` or `limit`.
  bool RunUntil(const std::function<bool()>& done,
                std::chrono::seconds limit = std::chrono::seconds(5)) {
    bool timed_out = false;
    auto timer = timers_->ScheduleAfter(limit, [&] { timed_out = true; });
    while (!done() && !timed_out) EXPECT_TRUE(loop_->RunOnce().ok());
    timers_->Cancel(timer);
    return done();
  }
  // Runs the loop for `ms`, for asserting that nothing happens.
  void RunFor(int ms) {
    bool over = false;
    timers_->ScheduleAfter(std::chrono::milliseconds(ms), [&] { over = true; });
    while (!over) EXPECT_TRUE(loop_->RunOnce().ok());
  }

  std::string dir_, exe_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<TimerQueue> timers_;
  std::unique_ptr<ExeProcesses> processes_;
  std::vector<pid_t> children_;
  std::vector<std::pair<pid_t, std::string>> attached_;
  std::vector<pid_t> exited_;
  std::vector<pid_t> gone_;
  int lost_ = 0;
  std::vector<std::string> changes_;
};

TEST_F(ExeProcessesTest, FindsRunningOnesThenNewExecsThenExits) {
  pid_t before1 = Spawn(exe_);
  pid_t before2 = Spawn(exe_);
  pid_t unrelated = Spawn("/bin/sleep");  // same content, another file
  WaitUntilRunningExe({before1, before2});
  StartWatching();
  EXPECT_THAT(processes_->Pids(), ElementsAre(before1, before2));
  EXPECT_EQ(processes_->oldest(), before1);
  EXPECT_TRUE(attached_.empty());  // the start-up scan reports through Pids()

  pid_t after = Spawn(exe_);
  ASSERT_TRUE(RunUntil([&] { return !attached_.empty(); }));
  EXPECT_THAT(attached_, ElementsAre(std::pair<pid_t, std::string>{after, "fanotify"}));
  EXPECT_THAT(processes_->Pids(), ElementsAre(before1, before2, after));

  KillChild(before1);
  ASSERT_TRUE(RunUntil([&] { return !exited_.empty(); }));
  EXPECT_THAT(exited_, ElementsAre(before1));
  EXPECT_EQ(processes_->oldest(), before2);
  RunFor(100);
  for (const auto& [pid, how] : attached_) EXPECT_NE(pid, unrelated);
}

TEST_F(ExeProcessesTest, ReplacedFileIsFollowedAndOldProcessesStayTracked) {
  pid_t old_one = Spawn(exe_);
  usleep(100000);
  StartWatching();
  ASSERT_THAT(processes_->Pids(), ElementsAre(old_one));
  // As dpkg does it: write beside, rename over.
  Install("/bin/sleep", exe_ + ".dpkg-new");
  fs::rename(exe_ + ".dpkg-new", exe_);
  ASSERT_TRUE(RunUntil([&] { return !changes_.empty(); }));
  EXPECT_NE(changes_[0].find("replaced"), std::string::npos) << changes_[0];
  pid_t new_one = Spawn(exe_);
  ASSERT_TRUE(RunUntil([&] { return !attached_.empty(); }));
  EXPECT_EQ(attached_[0].first, new_one);
  EXPECT_THAT(processes_->Pids(), ElementsAre(old_one, new_one));
  KillChild(old_one);
  ASSERT_TRUE(RunUntil([&] { return !exited_.empty(); }));
  EXPECT_THAT(processes_->Pids(), ElementsAre(new_one));
}

TEST_F(ExeProcessesTest, RemovedThenRecreatedFileIsWatchedAgain) {
  StartWatching();
  fs::remove(exe_);
  ASSERT_TRUE(RunUntil([&] { return !changes_.empty(); }));
  Install("/bin/sleep", exe_);
  ASSERT_TRUE(RunUntil([&] { return changes_.size() >= 2; }));
  pid_t fresh = Spawn(exe_);
  ASSERT_TRUE(RunUntil([&] { return !attached_.empty(); }));
  EXPECT_EQ(attached_[0].first, fresh);
}

TEST_F(ExeProcessesTest, ShortLivedProcessIsAttachedThenExited) {
  StartWatching();
  pid_t child = RunBinary(exe_, "0.2");
  children_.push_back(child);
  ASSERT_TRUE(RunUntil([&] { return !exited_.empty(); }));
  EXPECT_THAT(attached_, ElementsAre(std::pair<pid_t, std::string>{child, "fanotify"}));
  EXPECT_THAT(exited_, ElementsAre(child));
  EXPECT_EQ(processes_->count(), 0u);
}

// Reaped before the loop read its exec event: still reported, attached and
// exited at once, marked gone.
TEST_F(ExeProcessesTest, ProcessReapedBeforeItsEventIsReadIsReportedGone) {
  StartWatching();
  pid_t child = RunBinary(exe_, "0");
  ASSERT_EQ(waitpid(child, nullptr, 0), child);
  ASSERT_TRUE(RunUntil([&] { return !exited_.empty(); }));
  EXPECT_THAT(attached_, ElementsAre(std::pair<pid_t, std::string>{child, "fanotify"}));
  EXPECT_THAT(gone_, ElementsAre(child));
  EXPECT_THAT(exited_, ElementsAre(child));
  EXPECT_EQ(processes_->count(), 0u);
}

// A storm the loop does not read until it is over (every process already
// reaped, pids reused), beside long-lived ones: every exec is reported,
// attached and exited exactly once, and the oldest stays the oldest.
TEST_F(ExeProcessesTest, StormReadLateLosesNoExec) {
  pid_t first = Spawn(exe_);
  pid_t second = Spawn(exe_);
  WaitUntilRunningExe({first, second});
  StartWatching();
  ASSERT_THAT(processes_->Pids(), ElementsAre(first, second));
  // Well below the kernel's 16384-event queue; fewer in the TCG VM, where
  // each fork+exec takes tens of milliseconds.
  const int kStorm = getenv("VIGIL_IN_VM") ? 100 : 1000;
  std::multiset<pid_t> spawned;
  for (int i = 0; i < kStorm; ++i) {
    pid_t child = RunBinary(exe_, "0");
    ASSERT_GT(child, 0);
    spawned.insert(child);
    // Half are reaped at once (no pidfd in their event), the others are
    // zombies or still running when the loop reads their events.
    if (i % 2 == 0) waitpid(child, nullptr, 0);
  }
  auto all_exited = [&] { return exited_.size() >= static_cast<size_t>(kStorm); };
  bool done = RunUntil(all_exited, std::chrono::seconds(60));  // slow in a TCG VM
  for (pid_t pid : spawned) waitpid(pid, nullptr, WNOHANG);
  ASSERT_TRUE(done) << exited_.size() << " of " << kStorm << " exits";
  RunFor(100);
  std::multiset<pid_t> attached;
  for (const auto& [pid, how] : attached_) attached.insert(pid);
  EXPECT_EQ(attached, spawned);
  EXPECT_EQ(std::multiset<pid_t>(exited_.begin(), exited_.end()), spawned);
  EXPECT_EQ(lost_, 0);
  EXPECT_THAT(processes_->Pids(), ElementsAre(first, second));
  EXPECT_EQ(processes_->oldest(), first);
}

// The oldest is followed as processes come and go in any order.
TEST_F(ExeProcessesTest, OldestFollowsExitsInAnyOrder) {
  StartWatching();
  std::vector<pid_t> started;
  for (int i = 0; i < 4; ++i) {
    started.push_back(Spawn(exe_));
    ASSERT_TRUE(RunUntil([&] { return attached_.size() == started.size(); }));
    usleep(20000);  // distinct start times (10 ms clock ticks)
  }
  EXPECT_EQ(processes_->Pids(), started);
  for (int index : {2, 0}) {
    KillChild(started[index]);
    size_t want = exited_.size() + 1;
    ASSERT_TRUE(RunUntil([&] { return exited_.size() == want; }));
  }
  EXPECT_THAT(processes_->Pids(), ElementsAre(started[1], started[3]));
  EXPECT_EQ(processes_->oldest(), started[1]);
}

TEST_F(ExeProcessesTest, MissingFileIsAnErrorNamingIt) {
  auto started = ExeProcesses::Start(*loop_, dir_ + "/nothing", {});
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.status().message().find(dir_ + "/nothing"), std::string::npos);
}

}  // namespace
}  // namespace vigil
