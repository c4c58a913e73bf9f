// attach: {exe: PATH} end to end: the real vigild follows every process of a
// copy of /bin/sleep, started before and after it, through fanotify exec
// events and pidfds, across a replacement of the file, and through stop.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <fstream>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "test/vigild_harness.h"

namespace vigil::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

auto Event(const std::string& unit, const std::string& kind, pid_t pid = 0) {
  return [=](const json::Value& e) {
    return EventField(e, "unit") == unit && EventField(e, "kind") == kind &&
           (pid == 0 || EventInt(e, "pid") == pid);
  };
}

std::vector<int64_t> StatusPids(const json::Value& status) {
  std::vector<int64_t> pids;
  const json::Value* list = status.Find("pids");
  if (list == nullptr) return pids;
  for (const json::Value& pid : list->AsArray()) pids.push_back(pid.AsInt());
  return pids;
}

void Install(const std::string& path) {
  fs::copy_file("/bin/sleep", path, fs::copy_options::overwrite_existing);
  fs::permissions(path, fs::perms::owner_all);
}

class AttachExeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    exe_ = vigild_.dir() + "/sleeper";
    Install(exe_);
  }
  void TearDown() override {
    for (pid_t pid : children_) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }

  pid_t Spawn(const std::string& binary) {
    pid_t pid = fork();
    if (pid == 0) {
      execl(binary.c_str(), "sleeper", "1000", nullptr);
      _exit(127);
    }
    children_.push_back(pid);
    return pid;
  }
  // Waits until `pid` runs `binary` (its exec is done).
  static void AwaitExec(pid_t pid, const std::string& binary) {
    for (int i = 0; i < 500; ++i) {
      std::error_code ec;
      if (fs::equivalent(absl::StrCat("/proc/", pid, "/exe"), binary, ec)) return;
      std::this_thread::sleep_for(milliseconds(2));
    }
  }
  void Reap(pid_t pid) {
    kill(pid, SIGTERM);
    waitpid(pid, nullptr, 0);
  }
  // An event already read (kept in history) or the next matching one.
  absl::StatusOr<json::Value> Seen(const std::function<bool(const json::Value&)>& match) {
    for (const json::Value& e : vigild_.history()) {
      if (match(e)) return e;
    }
    return vigild_.WaitForEvent(match);
  }
  json::Value Status() {
    auto status = vigild_.UnitStatus("sleepers");
    EXPECT_TRUE(status.ok()) << status.status();
    return status.ok() ? *status : json::Value::Object();
  }

  VigildHarness vigild_;
  std::string exe_;
  std::vector<pid_t> children_;
};

TEST_F(AttachExeTest, FollowsProcessesStartedBeforeAndAfterAndFailsWhenTheLastExits) {
  pid_t before1 = Spawn(exe_);
  pid_t before2 = Spawn(exe_);
  pid_t unrelated = Spawn("/bin/sleep");  // same content, another file
  AwaitExec(before1, exe_);
  AwaitExec(before2, exe_);
  vigild_.WriteUnit("sleepers", absl::StrCat("attach: {exe: ", exe_, "}\nrestart: on-failure\n"));
  ASSERT_TRUE(vigild_.Start().ok());
  ASSERT_TRUE(vigild_.WaitForState("sleepers", "running").ok());
  json::Value status = Status();
  EXPECT_EQ(StatusPids(status), (std::vector<int64_t>{before1, before2}));
  EXPECT_EQ(EventInt(status, "pid"), before1);  // the oldest
  EXPECT_EQ(EventInt(status, "count"), 2);
  for (pid_t pid : {before1, before2}) {
    auto found = Seen(Event("sleepers", "attach", pid));
    ASSERT_TRUE(found.ok()) << found.status();
    EXPECT_EQ(EventField(*found, "mechanism"), "/proc scan");
  }

  absl::Time exec_time = absl::Now();
  pid_t after = Spawn(exe_);
  auto attached = vigild_.WaitForEvent(Event("sleepers", "attach", after));
  ASSERT_TRUE(attached.ok()) << attached.status();
  EXPECT_EQ(EventField(*attached, "mechanism"), "fanotify");
  absl::Duration latency = EventTime(*attached) - exec_time;
  std::printf("fork+exec -> attach event published: %s\n",
              absl::FormatDuration(latency).c_str());
  EXPECT_LT(latency, absl::Milliseconds(500));  // no scan period: the exec itself
  EXPECT_EQ(StatusPids(Status()), (std::vector<int64_t>{before1, before2, after}));

  Reap(before1);
  auto exited = vigild_.WaitForEvent(Event("sleepers", "exit", before1));
  ASSERT_TRUE(exited.ok()) << exited.status();
  EXPECT_EQ(EventField(*exited, "mechanism"), "pidfd");
  EXPECT_EQ(EventInt(Status(), "pid"), before2);
  EXPECT_EQ(EventField(Status(), "state"), "running");

  Reap(before2);
  Reap(after);
  auto failed = vigild_.WaitForState("sleepers", "failed");
  ASSERT_TRUE(failed.ok()) << failed.status();
  EXPECT_EQ(EventInt(Status(), "count"), 0);
  for (const json::Value& e : vigild_.history()) {
    EXPECT_NE(EventInt(e, "pid"), unrelated) << json::Serialize(e);
    EXPECT_FALSE(Event("sleepers", "spawn")(e));  // no start: command, no restart
  }

  // Someone starts the program again: the unit runs again.
  pid_t later = Spawn(exe_);
  ASSERT_TRUE(vigild_.WaitForEvent(Event("sleepers", "attach", later)).ok());
  ASSERT_TRUE(vigild_.WaitForState("sleepers", "running").ok());
  EXPECT_EQ(EventInt(Status(), "pid"), later);
}

TEST_F(AttachExeTest, NothingRunningAtStartFailsThenTheFirstExecRuns) {
  vigild_.WriteUnit("sleepers", absl::StrCat("attach: {exe: ", exe_, "}\n"));
  ASSERT_TRUE(vigild_.Start().ok());
  auto failed = Seen(Event("sleepers", "attach-failed"));
  ASSERT_TRUE(failed.ok()) << failed.status();
  EXPECT_NE(EventField(*failed, "message").find("no process runs " + exe_), std::string::npos);
  ASSERT_TRUE(vigild_.WaitForState("sleepers", "failed").ok());
  pid_t first = Spawn(exe_);
  ASSERT_TRUE(vigild_.WaitForState("sleepers", "running").ok());
  EXPECT_EQ(EventInt(Status(), "pid"), first);
}

TEST_F(AttachExeTest, ReplacedBinaryIsFollowed) {
  pid_t old_one = Spawn(exe_);
  AwaitExec(old_one, exe_);
  vigild_.WriteUnit("sleepers", absl::StrCat("attach: {exe: ", exe_, "}\n"));
  ASSERT_TRUE(vigild_.Start().ok());
  ASSERT_TRUE(vigild_.WaitForState("sleepers", "running").ok());
  Install(exe_ + ".dpkg-new");  // a package upgrade: new file renamed over
  fs::rename(exe_ + ".dpkg-new", exe_);
  auto replaced = vigild_.WaitForEvent(Event("sleepers", "exe-replaced"));
  ASSERT_TRUE(replaced.ok()) << replaced.status();
  pid_t new_one = Spawn(exe_);
  ASSERT_TRUE(vigild_.WaitForEvent(Event("sleepers", "attach", new_one)).ok());
  EXPECT_EQ(StatusPids(Status()), (std::vector<int64_t>{old_one, new_one}));
  Reap(old_one);  // the old file's last process
  ASSERT_TRUE(vigild_.WaitForEvent(Event("sleepers", "exit", old_one)).ok());
  EXPECT_EQ(EventField(Status(), "state"), "running");
}

TEST_F(AttachExeTest, StopSignalsEveryProcessAndStopsWatching) {
  pid_t a = Spawn(exe_);
  pid_t b = Spawn(exe_);
  AwaitExec(a, exe_);
  AwaitExec(b, exe_);
  vigild_.WriteUnit("sleepers", absl::StrCat("attach: {exe: ", exe_, "}\n"));
  ASSERT_TRUE(vigild_.Start().ok());
  ASSERT_TRUE(vigild_.WaitForState("sleepers", "running").ok());
  ASSERT_TRUE(vigild_.Request("stop", "sleepers").ok());
  for (pid_t pid : {a, b}) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
  }
  ASSERT_TRUE(vigild_.WaitForState("sleepers", "exited").ok());
  pid_t after_stop = Spawn(exe_);
  AwaitExec(after_stop, exe_);
  std::this_thread::sleep_for(milliseconds(200));
  ASSERT_TRUE(vigild_.Request("status").ok());
  for (const json::Value& e : vigild_.history()) EXPECT_NE(EventInt(e, "pid"), after_stop);
  EXPECT_EQ(EventField(Status(), "state"), "exited");
}

TEST_F(AttachExeTest, StartCommandRestartsTheProgramWhenTheLastExits) {
  vigild_.WriteUnit("sleepers", absl::StrCat(
      "attach:\n  exe: ", exe_, "\n  start: [/bin/sh, -c, '", exe_,
      " 1000 >/dev/null 2>&1 &']\nrestart: always\nbackoff: {initial: 50ms, max: 1s}\n"));
  ASSERT_TRUE(vigild_.Start().ok());
  ASSERT_TRUE(Seen(Event("sleepers", "spawn")).ok());
  ASSERT_TRUE(vigild_.WaitForState("sleepers", "running").ok());
  int64_t first = EventInt(Status(), "pid");
  ASSERT_GT(first, 0);
  kill(first, SIGKILL);
  ASSERT_TRUE(vigild_.WaitForEvent(Event("sleepers", "exit", first)).ok());
  ASSERT_TRUE(vigild_.WaitForState("sleepers", "backoff").ok());
  ASSERT_TRUE(vigild_.WaitForState("sleepers", "running").ok());
  int64_t second = EventInt(Status(), "pid");
  EXPECT_GT(second, 0);
  EXPECT_NE(second, first);
}

TEST_F(AttachExeTest, MissingExecutableFailsWithTheReason) {
  vigild_.WriteUnit("ghost", absl::StrCat("attach: {exe: ", vigild_.dir(), "/absent}\n"));
  ASSERT_TRUE(vigild_.Start().ok());
  auto failed = Seen(Event("ghost", "attach-failed"));
  ASSERT_TRUE(failed.ok()) << failed.status();
  EXPECT_NE(EventField(*failed, "message").find("/absent"), std::string::npos);
  ASSERT_TRUE(vigild_.WaitForState("ghost", "failed").ok());
}

TEST_F(AttachExeTest, InvalidConfigsAreRefusedWithFileLineAndColumn) {
  struct Case {
    std::string yaml, error;
  } cases[] = {
      {"attach: {exe: bin/sleeper}\n", "units/bad.yaml:1:10: attach.exe: expected an absolute path"},
      {"attach:\n  pid: 1\n  exe: /bin/sleep\n",
       "units/bad.yaml:3:3: attach.exe: expected only one of pid, pidfile or exe, got pid too"},
  };
  std::string main_file = vigild_.dir() + "/check.yaml";
  std::ofstream(main_file) << "units_dir: units\n";
  for (const Case& c : cases) {
    vigild_.WriteUnit("bad", c.yaml);
    CommandResult result = RunCommand({VigildPath(), "--config", main_file, "--check-config"});
    EXPECT_NE(result.exit_code, 0);
    EXPECT_NE((result.out + result.err).find(c.error), std::string::npos)
        << result.out << result.err;
  }
}

}  // namespace
}  // namespace vigil::testing
