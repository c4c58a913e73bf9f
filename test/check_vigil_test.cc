// check_vigil against a running vigild (issue 8): the golden and live
// comparisons with the real check_procs answered from vigild's process
// table, query cost with 2,000 unrelated processes, the fallback when vigild
// is unreachable, and the native unit and level checks.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "test/vigild_harness.h"

namespace vigil::testing {
namespace {

namespace fs = std::filesystem;

std::string Runfile(const std::string& relative) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  return absl::StrCat(srcdir ? srcdir : ".", "/vigil/", relative);
}
std::string CheckVigil() { return Runfile("nagios/check_vigil"); }

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The trace check_vigil appends to ($VIGIL_CHECK_TRACE), one line per run.
std::vector<std::string> TraceLines(const std::string& path) {
  return absl::StrSplit(Slurp(path), '\n', absl::SkipEmpty());
}

class CheckVigilTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(vigild_.Start().ok()) << vigild_.ReadLog();
    auto caps = vigild_.Request("procs");
    if (absl::StrContains(vigild_.ReadLog(), "process table: unavailable")) {
      GTEST_SKIP() << "needs CAP_NET_ADMIN for the proc connector";
    }
    trace_ = vigild_.dir() + "/trace";
    setenv("VIGIL_SOCKET", vigild_.socket_path().c_str(), 1);
    setenv("VIGIL_CHECK_TRACE", trace_.c_str(), 1);
  }
  void TearDown() override {
    unsetenv("VIGIL_SOCKET");
    unsetenv("VIGIL_CHECK_TRACE");
  }

  CommandResult Check(std::vector<std::string> args) {
    args.insert(args.begin(), CheckVigil());
    return RunCommand(args);
  }

  VigildHarness vigild_;
  std::string trace_;
};

// Every golden case and every live case of nagios/, run a second time with
// vigild running: the same bytes as the real check_procs, and every live run
// answered from vigild's table (the trace says so).
TEST_F(CheckVigilTest, GoldenAndLiveComparisonsAnsweredFromVigild) {
  CommandResult golden = RunCommand({"/bin/bash", Runfile("nagios/golden_test.sh"),
                                     CheckVigil(), Runfile("nagios/testdata/golden_cases.txt")});
  EXPECT_EQ(golden.exit_code, 0) << golden.out.substr(golden.out.size() > 3000 ? golden.out.size() - 3000 : 0);
  CommandResult live = RunCommand({"/bin/bash", Runfile("nagios/live_test.sh"), CheckVigil()});
  EXPECT_EQ(live.exit_code, 0) << live.out;
  std::cout << live.out.substr(live.out.rfind("live cases")) << std::flush;
  int from_vigild = 0;
  for (const std::string& line : TraceLines(trace_)) {
    EXPECT_FALSE(absl::StartsWith(line, "source=proc")) << line;
    if (absl::StartsWith(line, "source=vigild")) ++from_vigild;
  }
  EXPECT_GE(from_vigild, 76);
}

// 2,000 sleepers the check does not ask about: check_vigil reads only the
// matching processes from /proc.
TEST_F(CheckVigilTest, OnlyMatchingProcessesAreRead) {
  const std::string dir = vigild_.dir();
  const std::string crowd = absl::StrCat("cvc", getpid() % 100000);
  const std::string needle = absl::StrCat("cvn", getpid() % 100000);
  fs::copy_file("/bin/sleep", dir + "/" + crowd);
  fs::copy_file("/bin/sleep", dir + "/" + needle);
  std::vector<pid_t> children;
  auto spawn = [&](const std::string& name) {
    pid_t pid = fork();
    if (pid == 0) {
      execl((dir + "/" + name).c_str(), name.c_str(), "600", nullptr);
      _exit(127);
    }
    children.push_back(pid);
  };
  for (int i = 0; i < 2000; ++i) spawn(crowd);
  for (int i = 0; i < 3; ++i) spawn(needle);
  CommandResult result;
  for (int attempt = 0; attempt < 200; ++attempt) {  // until the execs are done
    result = Check({"-C", needle, "-c", "3:3"});
    if (result.exit_code == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(result.out, absl::StrCat("PROCS OK: 3 processes with command name '", needle,
                                     "' | procs=3;;3:3;0;\n"));
  std::vector<std::string> trace = TraceLines(trace_);
  ASSERT_FALSE(trace.empty());
  EXPECT_EQ(trace.back(), "source=vigild candidates=3");
  // The same question over the crowd reads the crowd.
  result = Check({"-C", crowd});
  EXPECT_EQ(TraceLines(trace_).back(), "source=vigild candidates=2000");
  for (pid_t pid : children) kill(pid, SIGKILL);
  for (pid_t pid : children) waitpid(pid, nullptr, 0);
}

TEST_F(CheckVigilTest, FallsBackToProcWhenVigildIsUnreachable) {
  CommandResult via_vigild = Check({"-C", "init", "-w", "0:100"});
  CommandResult standalone = Check({"--vigil-socket=/nonexistent.sock", "-C", "init", "-w", "0:100"});
  EXPECT_EQ(via_vigild.out, standalone.out);
  std::vector<std::string> trace = TraceLines(trace_);
  ASSERT_EQ(trace.size(), 2u);
  EXPECT_TRUE(absl::StartsWith(trace[0], "source=vigild")) << trace[0];
  EXPECT_EQ(trace[1], "source=proc");
}

class NativeCheckTest : public CheckVigilTest {};

TEST_F(NativeCheckTest, UnitStatesMapToNagiosStatuses) {
  vigild_.WriteUnit("steady", "exec: [/bin/sleep, '600']\nwatch:\n  fds: {levels: [1000]}\n"
                              "  memory: {levels: [1G]}\n  tasks: {levels: [100]}\n");
  vigild_.WriteUnit("crasher", "exec: [/bin/sh, -c, 'exit 3']\nrestart: never\n");
  vigild_.WriteUnit("flapper",
                    "exec: [/bin/sh, -c, 'exit 1']\nrestart: always\n"
                    "backoff: {initial: 30s, max: 60s}\n");
  ASSERT_TRUE(vigild_.Request("reload").ok());
  ASSERT_TRUE(vigild_.WaitForState("steady", "running").ok());
  ASSERT_TRUE(vigild_.WaitForState("crasher", "failed").ok());
  ASSERT_TRUE(vigild_.WaitForState("flapper", "backoff").ok());

  CommandResult steady = Check({"unit", "steady"});
  EXPECT_EQ(steady.exit_code, 0) << steady.out;
  EXPECT_TRUE(absl::StartsWith(steady.out, "UNIT OK: steady running (pid ")) << steady.out;
  EXPECT_TRUE(absl::StrContains(steady.out, "last event: spawn pid")) << steady.out;
  EXPECT_TRUE(absl::StrContains(steady.out, "| restarts=0;;;0; memory=")) << steady.out;
  EXPECT_TRUE(absl::StrContains(steady.out, " tasks=1;;;0; fds=")) << steady.out;

  CommandResult crasher = Check({"unit", "crasher"});
  EXPECT_EQ(crasher.exit_code, 2) << crasher.out;
  EXPECT_TRUE(absl::StartsWith(crasher.out, "UNIT CRITICAL: crasher failed")) << crasher.out;
  EXPECT_TRUE(absl::StrContains(crasher.out, "exited with code 3; last event: ")) << crasher.out;

  CommandResult flapper = Check({"unit", "flapper"});
  EXPECT_EQ(flapper.exit_code, 1) << flapper.out;
  EXPECT_TRUE(absl::StartsWith(flapper.out, "UNIT WARNING: flapper backoff")) << flapper.out;

  CommandResult missing = Check({"unit", "nosuch"});
  EXPECT_EQ(missing.exit_code, 3);
  EXPECT_EQ(missing.out, "UNIT UNKNOWN: no unit named \"nosuch\"\n");

  CommandResult unreachable = Check({"--vigil-socket=/nonexistent.sock", "unit", "steady"});
  EXPECT_EQ(unreachable.exit_code, 3);
  EXPECT_TRUE(absl::StartsWith(unreachable.out,
                               "UNIT UNKNOWN: vigild is not reachable at /nonexistent.sock"))
      << unreachable.out;
}

TEST_F(NativeCheckTest, LevelChecksReadTheUnitsCurrentUsage) {
  vigild_.WriteUnit("hog", "exec: [/usr/bin/perl, -e, '$x = \"a\" x (64*1024*1024); sleep 600']\n");
  ASSERT_TRUE(vigild_.Request("reload").ok());
  ASSERT_TRUE(vigild_.WaitForState("hog", "running").ok());
  CommandResult memory;
  for (int i = 0; i < 200; ++i) {  // until perl has touched its 64 MiB
    memory = Check({"level", "hog", "memory", "-w", "32000000", "-c", "1000000000"});
    if (memory.exit_code == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(memory.exit_code, 1) << memory.out;
  EXPECT_TRUE(absl::StartsWith(memory.out, "LEVEL WARNING: hog memory = ")) << memory.out;
  EXPECT_TRUE(absl::StrContains(memory.out, "B;32000000;1000000000;0;")) << memory.out;

  CommandResult tasks = Check({"level", "hog", "tasks", "-c", "1:1"});
  EXPECT_EQ(tasks.out, "LEVEL OK: hog tasks = 1 | tasks=1;;1:1;0;\n");
  CommandResult fds = Check({"level", "hog", "fds", "-c", "@0:1000"});
  EXPECT_EQ(fds.exit_code, 2) << fds.out;

  EXPECT_EQ(Check({"level", "hog", "disk"}).out,
            "LEVEL UNKNOWN: hog disk: unknown resource \"disk\"; expected memory, tasks or fds\n");
  EXPECT_EQ(Check({"level", "nosuch", "memory"}).exit_code, 3);
  EXPECT_EQ(Check({"level", "hog", "memory", "-w", "5:1"}).out,
            "LEVEL UNKNOWN: bad range \"5:1\"\n");
}

}  // namespace
}  // namespace vigil::testing
