// Real execs of a real copy of /bin/sleep, seen (or not) through the mark.
#include "supervisor/fanotify_exec_watch.h"

#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "gtest/gtest.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;

class FanotifyExecWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/fanotify_exec_XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    exe_ = dir_ + "/sleeper";
    fs::copy_file("/bin/sleep", exe_);
    fs::permissions(exe_, fs::perms::owner_all);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static pid_t Run(const std::string& binary) {
    pid_t pid = fork();
    if (pid == 0) {
      execl(binary.c_str(), "sleeper", "1000", nullptr);
      _exit(127);
    }
    return pid;
  }
  static void Kill(pid_t pid) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  // Waits up to `ms` for events, then reads them.
  static FanotifyExecWatch::Batch Wait(FanotifyExecWatch& watch, int ms) {
    pollfd ready{.fd = watch.fd(), .events = POLLIN, .revents = 0};
    poll(&ready, 1, ms);
    auto batch = watch.ReadExecs();
    EXPECT_TRUE(batch.ok()) << batch.status();
    return batch.ok() ? *std::move(batch) : FanotifyExecWatch::Batch{};
  }

  std::string dir_;
  std::string exe_;
};

TEST_F(FanotifyExecWatchTest, ExecOfTheMarkedFileGivesItsPidAndAPidfd) {
  auto watch = FanotifyExecWatch::Create();
  ASSERT_TRUE(watch.ok()) << watch.status();
  auto id = watch->Mark(exe_);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, *StatFileId(exe_));
  pid_t child = Run(exe_);
  FanotifyExecWatch::Batch batch = Wait(*watch, 5000);
  ASSERT_EQ(batch.execs.size(), 1u);
  EXPECT_EQ(batch.execs[0].pid, child);
  ASSERT_TRUE(batch.execs[0].pidfd.valid());
  // The pidfd is the child's: readable once it dies.
  pollfd exited{.fd = batch.execs[0].pidfd.get(), .events = POLLIN, .revents = 0};
  EXPECT_EQ(poll(&exited, 1, 0), 0);
  kill(child, SIGKILL);
  EXPECT_EQ(poll(&exited, 1, 5000), 1);
  waitpid(child, nullptr, 0);
  std::printf("pidfd from the event (FAN_REPORT_PIDFD): %s\n",
              watch->reports_pidfd() ? "yes" : "no");
}

TEST_F(FanotifyExecWatchTest, OtherBinariesAndPlainOpensAreNotReported) {
  auto watch = FanotifyExecWatch::Create();
  ASSERT_TRUE(watch.ok()) << watch.status();
  ASSERT_TRUE(watch->Mark(exe_).ok());
  std::string other = dir_ + "/other";
  fs::copy_file("/bin/sleep", other);
  fs::permissions(other, fs::perms::owner_all);
  pid_t unrelated = Run(other);
  fs::copy_file(exe_, dir_ + "/copy");  // reads the marked file: no exec
  FanotifyExecWatch::Batch batch = Wait(*watch, 300);
  EXPECT_TRUE(batch.execs.empty());
  Kill(unrelated);
}

TEST_F(FanotifyExecWatchTest, MarkFollowsTheFileAPathNamesNow) {
  auto watch = FanotifyExecWatch::Create();
  ASSERT_TRUE(watch.ok()) << watch.status();
  auto old_id = watch->Mark(exe_);
  ASSERT_TRUE(old_id.ok());
  // A package upgrade: a new file renamed over the old one.
  std::string fresh = dir_ + "/sleeper.new";
  fs::copy_file("/bin/sleep", fresh);
  fs::permissions(fresh, fs::perms::owner_all);
  fs::rename(fresh, exe_);
  pid_t missed = Run(exe_);  // the old inode is marked, not this one
  EXPECT_TRUE(Wait(*watch, 300).execs.empty());
  auto new_id = watch->Mark(exe_);
  ASSERT_TRUE(new_id.ok());
  EXPECT_NE(new_id->ino, old_id->ino);
  pid_t seen = Run(exe_);
  FanotifyExecWatch::Batch batch = Wait(*watch, 5000);
  ASSERT_EQ(batch.execs.size(), 1u);
  EXPECT_EQ(batch.execs[0].pid, seen);
  ASSERT_TRUE(watch->Unmark().ok());
  pid_t after_unmark = Run(exe_);
  EXPECT_TRUE(Wait(*watch, 300).execs.empty());
  for (pid_t pid : {missed, seen, after_unmark}) Kill(pid);
}

TEST_F(FanotifyExecWatchTest, MarkingWhatIsNotAFileSaysWhy) {
  auto watch = FanotifyExecWatch::Create();
  ASSERT_TRUE(watch.ok());
  auto missing = watch->Mark(dir_ + "/absent");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("absent"), absl::string_view::npos);
  auto directory = watch->Mark(dir_);
  ASSERT_FALSE(directory.ok());
  EXPECT_NE(directory.status().message().find("expected a regular file"),
            absl::string_view::npos);
}

}  // namespace
}  // namespace vigil
