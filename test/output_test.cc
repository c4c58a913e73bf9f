// A unit's `output:` end to end: where stdout and stderr of a real process
// go in each mode, and what each mode costs vigild in fds (/proc/<vigild>/fd).
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "test/vigild_harness.h"

namespace vigil::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

auto Kind(const std::string& unit, const std::string& kind) {
  return [=](const json::Value& e) {
    return EventField(e, "unit") == unit && EventField(e, "kind") == kind;
  };
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// What each open fd of `pid` points at (readlink of /proc/<pid>/fd/*).
std::vector<std::string> FdTargets(pid_t pid) {
  std::vector<std::string> targets;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(absl::StrCat("/proc/", pid, "/fd"), error)) {
    std::string target = fs::read_symlink(entry.path(), error).string();
    if (!error) targets.push_back(target);
  }
  return targets;
}

std::string FdTarget(pid_t pid, int fd) {
  std::error_code error;
  return fs::read_symlink(absl::StrCat("/proc/", pid, "/fd/", fd), error).string();
}

// vigild's fds other than sockets: a unit never holds a socket, and control
// connections (the harness's requests) come and go.
size_t NonSocketFds(pid_t pid) {
  size_t count = 0;
  for (const std::string& target : FdTargets(pid)) count += !absl::StartsWith(target, "socket:");
  return count;
}

// NonSocketFds once it settles at `expected` (a spawn's transient fds may be
// open for a moment); the last count seen if it never does within the
// deadline.
size_t FdCountSettlingAt(pid_t pid, size_t expected) {
  size_t count = NonSocketFds(pid);
  for (auto deadline = std::chrono::steady_clock::now() + seconds(20);
       count != expected && std::chrono::steady_clock::now() < deadline;
       count = NonSocketFds(pid)) {
    std::this_thread::sleep_for(milliseconds(50));
  }
  return count;
}

// Waits for `text` in `path` (a file something else appends to).
bool FileGetsText(const std::string& path, const std::string& text) {
  for (auto deadline = std::chrono::steady_clock::now() + seconds(20);
       std::chrono::steady_clock::now() < deadline;) {
    if (absl::StrContains(Slurp(path), text)) return true;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return false;
}

// A unit that writes `name`-out to stdout and `name`-err to stderr, then sleeps.
std::string Chatter(const std::string& name, const std::string& output) {
  return absl::StrCat("exec: [/bin/sh, -c, 'echo ", name, "-out; echo ", name,
                      "-err >&2; exec sleep infinity']\nrestart: always\n"
                      "backoff: {initial: 10ms}\n",
                      output.empty() ? "" : absl::StrCat("output: ", output, "\n"));
}

int StatusPid(VigildHarness& vigild, const std::string& unit) {
  auto status = vigild.UnitStatus(unit);
  return status.ok() ? static_cast<int>(EventInt(*status, "pid")) : -1;
}

int RunningPid(VigildHarness& vigild, const std::string& unit) {
  if (!vigild.WaitForState(unit, "running", seconds(20)).ok()) return -1;
  return StatusPid(vigild, unit);
}

// Starts vigild with one Chatter unit; its running pid, or -1.
int StartChatter(VigildHarness& vigild, const std::string& name, const std::string& output) {
  vigild.WriteUnit(name, Chatter(name, output));
  if (!vigild.Start().ok()) return -1;
  return RunningPid(vigild, name);
}

TEST(OutputTest, LogIsTheDefaultAndGoesLineByLineToVigildsLog) {
  VigildHarness vigild;
  int pid = StartChatter(vigild, "logged", "");
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(FileGetsText(vigild.log_path(), absl::StrCat("logged[", pid, "] output: logged-out\n")))
      << vigild.ReadLog();
  EXPECT_TRUE(FileGetsText(vigild.log_path(), absl::StrCat("logged[", pid, "] output: logged-err\n")));
  EXPECT_TRUE(absl::StartsWith(FdTarget(pid, 1), "pipe:"));
  EXPECT_EQ(FdTarget(pid, 1), FdTarget(pid, 2));
}

TEST(OutputTest, NullDiscardsBoth) {
  VigildHarness vigild;
  int pid = StartChatter(vigild, "quiet", "null");
  ASSERT_GT(pid, 0);
  EXPECT_EQ(FdTarget(pid, 1), "/dev/null");
  EXPECT_EQ(FdTarget(pid, 2), "/dev/null");
  ASSERT_TRUE(vigild.Stop().ok());
  // (The spawn event's "started ..." names them; the lines themselves are
  // nowhere.)
  EXPECT_FALSE(absl::StrContains(vigild.ReadLog(), "\nquiet-out"));
  EXPECT_FALSE(absl::StrContains(vigild.ReadLog(), "output: quiet-out"));
  EXPECT_FALSE(absl::StrContains(vigild.ReadLog(), "output: quiet-err"));
}

TEST(OutputTest, FileIsAppendedToAcrossRestarts) {
  VigildHarness vigild;
  std::string file = vigild.dir() + "/appended.log";
  { std::ofstream(file) << "kept\n"; }
  int pid = StartChatter(vigild, "filed", absl::StrCat("{file: ", file, "}"));
  ASSERT_GT(pid, 0);
  EXPECT_EQ(FdTarget(pid, 1), file);
  EXPECT_EQ(FdTarget(pid, 2), file);
  ASSERT_TRUE(FileGetsText(file, "kept\nfiled-out\nfiled-err\n")) << Slurp(file);
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  ASSERT_TRUE(vigild.WaitForEvent(Kind("filed", "spawn")).ok());
  EXPECT_TRUE(FileGetsText(file, "kept\nfiled-out\nfiled-err\nfiled-out\nfiled-err\n"))
      << Slurp(file);
  EXPECT_FALSE(absl::StrContains(vigild.ReadLog(), "output: filed-out"));
}

TEST(OutputTest, FileThatCannotBeOpenedFailsTheStart) {
  VigildHarness vigild;
  std::string file = vigild.dir() + "/no-such-dir/x.log";
  vigild.WriteUnit("nowhere", absl::StrCat("exec: [/bin/true]\nrestart: never\noutput: {file: ",
                                           file, "}\n"));
  ASSERT_TRUE(vigild.Start().ok());
  auto failed = vigild.WaitForEvent(Kind("nowhere", "spawn-failed"));
  ASSERT_TRUE(failed.ok()) << failed.status();
  EXPECT_TRUE(absl::StrContains(EventField(*failed, "message"), "output file " + file))
      << EventField(*failed, "message");
  EXPECT_TRUE(absl::StrContains(EventField(*failed, "message"), "No such file or directory"))
      << EventField(*failed, "message");
  EXPECT_TRUE(vigild.WaitForState("nowhere", "failed").ok());
}

TEST(OutputTest, InheritWritesToVigildsOwnStdoutAndStderr) {
  VigildHarness vigild;
  int pid = StartChatter(vigild, "inherited", "inherit");
  ASSERT_GT(pid, 0);
  EXPECT_EQ(FdTarget(pid, 1), FdTarget(vigild.pid(), 1));
  EXPECT_EQ(FdTarget(pid, 2), FdTarget(vigild.pid(), 2));
  // The harness points vigild's stdout and stderr at its log: the lines are
  // there as written, not as vigild's "output:" records.
  EXPECT_TRUE(FileGetsText(vigild.log_path(), "\ninherited-out\n")) << vigild.ReadLog();
  EXPECT_TRUE(FileGetsText(vigild.log_path(), "\ninherited-err\n"));
  EXPECT_FALSE(absl::StrContains(vigild.ReadLog(), "output: inherited-out"));
}

// Units added by reload, mode by mode: each running unit costs vigild its
// pidfd, plus the pipe with `log`, and nothing else.
TEST(OutputTest, NullAndFileUnitsHoldOnlyTheirPidfdInVigild) {
  constexpr int kUnits = 5;
  VigildHarness vigild;
  ASSERT_TRUE(vigild.Start().ok());
  auto reload_and_wait = [&](const std::string& prefix) {
    ASSERT_TRUE(vigild.Request("reload").ok());
    for (int i = 0; i < kUnits; ++i) ASSERT_GT(RunningPid(vigild, prefix + std::to_string(i)), 0);
  };
  size_t empty = NonSocketFds(vigild.pid());
  std::string file = vigild.dir() + "/units.log";
  for (int i = 0; i < kUnits; ++i) {
    vigild.WriteUnit(absl::StrCat("n", i), Chatter("n", "null"));
  }
  reload_and_wait("n");
  EXPECT_EQ(FdCountSettlingAt(vigild.pid(), empty + kUnits), empty + kUnits);
  for (int i = 0; i < kUnits; ++i) {
    vigild.WriteUnit(absl::StrCat("f", i), Chatter("f", absl::StrCat("{file: ", file, "}")));
  }
  reload_and_wait("f");
  EXPECT_EQ(FdCountSettlingAt(vigild.pid(), empty + 2 * kUnits), empty + 2 * kUnits);
  for (const std::string& target : FdTargets(vigild.pid())) EXPECT_NE(target, file);
  for (int i = 0; i < kUnits; ++i) vigild.WriteUnit(absl::StrCat("l", i), Chatter("l", ""));
  reload_and_wait("l");
  EXPECT_EQ(FdCountSettlingAt(vigild.pid(), empty + 4 * kUnits), empty + 4 * kUnits);
  int pidfds = 0;
  for (const std::string& target : FdTargets(vigild.pid())) {
    pidfds += target == "anon_inode:[pidfd]";
  }
  EXPECT_EQ(pidfds, 3 * kUnits);
}

// A changed output is a changed unit: reload restarts it with the new one.
TEST(OutputTest, ReloadWithAnotherOutputRestartsTheUnit) {
  VigildHarness vigild;
  std::string file = vigild.dir() + "/after-reload.log";
  vigild.WriteUnit("moved", Chatter("moved", ""));
  vigild.WriteUnit("same", Chatter("same", "null"));
  ASSERT_TRUE(vigild.Start().ok());
  int before = RunningPid(vigild, "moved");
  int same_before = RunningPid(vigild, "same");
  ASSERT_GT(before, 0);
  vigild.WriteUnit("moved", Chatter("moved", absl::StrCat("{file: ", file, "}")));
  ASSERT_TRUE(vigild.Request("reload").ok());
  auto respawn = vigild.WaitForEvent([&](const json::Value& e) {
    return EventField(e, "unit") == "moved" && EventField(e, "kind") == "spawn" &&
           EventInt(e, "pid") != before;
  });
  ASSERT_TRUE(respawn.ok()) << respawn.status();
  EXPECT_TRUE(FileGetsText(file, "moved-out\nmoved-err\n")) << Slurp(file);
  EXPECT_EQ(StatusPid(vigild, "same"), same_before);
}

}  // namespace
}  // namespace vigil::testing
