// vigild with real processes in real cgroups: spawn, exit, restart, backoff,
// start limit, stop escalation, double-forking daemons, attach, output.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "test/vigild_harness.h"

namespace vigil::testing {
namespace {

using std::chrono::milliseconds;

auto Kind(const std::string& unit, const std::string& kind) {
  return [=](const json::Value& e) {
    return EventField(e, "unit") == unit && EventField(e, "kind") == kind;
  };
}

int ReadPidFile(const std::string& path) {
  for (int i = 0; i < 3000; ++i) {
    std::ifstream in(path);
    int pid = 0;
    if (in >> pid && pid > 0) return pid;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return -1;
}

TEST(LifecycleTest, ExitIsDetectedWithStatusAndUnitFails) {
  VigildHarness vigild;
  vigild.WriteUnit("quitter", "exec: [/bin/sh, -c, 'sleep 0.3; exit 7']\nrestart: never\n");
  ASSERT_TRUE(vigild.Start().ok());
  auto exit = vigild.WaitForEvent(Kind("quitter", "exit"));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_EQ(EventInt(*exit, "value"), 7);
  EXPECT_EQ(EventField(*exit, "mechanism"), "pidfd");
  ASSERT_TRUE(vigild.WaitForState("quitter", "failed").ok());
  auto status = vigild.UnitStatus("quitter");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(EventField(*status, "last_exit"), "exited with code 7");
  EXPECT_GE(EventInt(*status, "last_run_ms"), 300);
  EXPECT_LT(EventInt(*status, "last_run_ms"), 10000);
}

TEST(LifecycleTest, SignalDeathIsReportedAndAlwaysRestarts) {
  VigildHarness vigild;
  vigild.WriteUnit("victim",
                   "exec: [/bin/sleep, infinity]\nrestart: always\n"
                   "backoff: {initial: 50ms, max: 1s, factor: 2}\n");
  ASSERT_TRUE(vigild.Start().ok());
  auto spawn = vigild.WaitForEvent(Kind("victim", "spawn"));
  ASSERT_TRUE(spawn.ok()) << spawn.status();
  int pid = EventInt(*spawn, "pid");
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  auto exit = vigild.WaitForEvent(Kind("victim", "exit"));
  ASSERT_TRUE(exit.ok());
  EXPECT_EQ(EventField(*exit, "message"), "killed by signal 9 (Killed)");
  auto respawn = vigild.WaitForEvent(Kind("victim", "spawn"));
  ASSERT_TRUE(respawn.ok()) << respawn.status();
  EXPECT_NE(EventInt(*respawn, "pid"), pid);
  auto status = vigild.UnitStatus("victim");
  EXPECT_EQ(EventInt(*status, "restarts"), 1);
  EXPECT_EQ(EventField(*status, "state"), "running");
}

TEST(LifecycleTest, RestartBackoffDoublesBetweenAttempts) {
  VigildHarness vigild;
  vigild.WriteUnit("flaky",
                   "exec: [/bin/false]\nrestart: on-failure\n"
                   "backoff: {initial: 100ms, max: 2s, factor: 2}\n"
                   "start_limit: {burst: 10, interval: 60s}\n");
  ASSERT_TRUE(vigild.Start().ok());
  std::vector<double> gaps_ms;
  std::vector<std::string> announced;
  for (int i = 0; i < 4; ++i) {
    auto exit = vigild.WaitForEvent(Kind("flaky", "exit"));
    ASSERT_TRUE(exit.ok()) << exit.status();
    auto backoff = vigild.WaitForEvent([](const json::Value& e) {
      return EventField(e, "unit") == "flaky" && EventField(e, "state") == "backoff";
    });
    ASSERT_TRUE(backoff.ok()) << backoff.status();
    announced.push_back(EventField(*backoff, "message"));
    auto spawn = vigild.WaitForEvent(Kind("flaky", "spawn"));
    ASSERT_TRUE(spawn.ok()) << spawn.status();
    gaps_ms.push_back(absl::ToDoubleMilliseconds(EventTime(*spawn) - EventTime(*exit)));
  }
  // The delay vigild chose doubles exactly...
  EXPECT_EQ(announced, (std::vector<std::string>{"restarting in 100ms", "restarting in 200ms",
                                                 "restarting in 400ms", "restarting in 800ms"}));
  // ...and is kept: never early, and late only by the timer's wakeup and the
  // spawn, which a TCG VM whose host is busy stretches to hundreds of ms.
  const double slack_ms = getenv("VIGIL_IN_VM") != nullptr ? 1000 : 250;
  double expected = 100;
  for (double gap : gaps_ms) {
    EXPECT_GE(gap, expected) << "restarted before its backoff";
    EXPECT_LT(gap, expected + slack_ms) << "restart much later than its backoff";
    expected *= 2;
  }
}

TEST(LifecycleTest, StartLimitPutsUnitInFailed) {
  VigildHarness vigild;
  vigild.WriteUnit("crasher",
                   "exec: [/bin/sh, -c, 'kill -SEGV $$']\nrestart: always\n"
                   "backoff: {initial: 10ms, max: 10ms, factor: 1}\n"
                   "start_limit: {burst: 3, interval: 10s}\n");
  ASSERT_TRUE(vigild.Start().ok());
  auto failed = vigild.WaitForState("crasher", "failed");
  ASSERT_TRUE(failed.ok()) << failed.status();
  EXPECT_EQ(EventField(*failed, "message"), "start limit hit: 3 starts within 10000ms");
  int spawns = 0;
  for (const auto& e : vigild.history()) spawns += Kind("crasher", "spawn")(e);
  EXPECT_EQ(spawns, 3);
  // An operator's start clears the limit.
  auto reply = vigild.Request("start", "crasher");
  ASSERT_TRUE(reply.ok());
  EXPECT_TRUE(vigild.WaitForEvent(Kind("crasher", "spawn")).ok());
}

TEST(LifecycleTest, StopTimeoutKillsWholeTreeIncludingDoubleForkedGrandchild) {
  VigildHarness vigild;
  std::string pidfile = vigild.dir() + "/grandchild.pid";
  vigild.WriteUnit("stubborn", absl::StrCat(
      "exec: [/bin/sh, -c, 'trap \"\" TERM; (setsid sh -c \"trap \\\"\\\" TERM; echo \\$\\$ > ",
      pidfile, "; exec sleep 1000\" &) ; exec sleep 1000']\n",
      "stop: {signal: SIGTERM, timeout: 300ms}\n"));
  ASSERT_TRUE(vigild.Start().ok());
  ASSERT_TRUE(vigild.WaitForState("stubborn", "running").ok());
  int grandchild = ReadPidFile(pidfile);
  ASSERT_GT(grandchild, 0);
  ASSERT_TRUE(ProcessAlive(grandchild));
  auto main_pid = EventInt(*vigild.UnitStatus("stubborn"), "pid");
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(vigild.Request("stop", "stubborn").ok());
  auto timeout = vigild.WaitForEvent(Kind("stubborn", "stop-timeout"));
  ASSERT_TRUE(timeout.ok()) << timeout.status();
  EXPECT_EQ(EventField(*timeout, "mechanism"), "cgroup.kill");
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(300));
  ASSERT_TRUE(vigild.WaitForState("stubborn", "exited").ok());
  EXPECT_FALSE(ProcessAlive(grandchild));
  EXPECT_FALSE(ProcessAlive(main_pid));
  std::ifstream procs(vigild.cgroup_root() + "/units/stubborn/cgroup.procs");
  std::string leftover;
  EXPECT_FALSE(procs >> leftover) << "cgroup still has " << leftover;
}

TEST(LifecycleTest, SimpleServiceLeftoversAreKilledWhenMainExits) {
  VigildHarness vigild;
  std::string pidfile = vigild.dir() + "/orphan.pid";
  // The main exits once the leftover has written its pid (not after a fixed
  // delay: a slow VM could kill it first).
  vigild.WriteUnit("leaky", absl::StrCat(
      "exec: [/bin/sh, -c, '(setsid sh -c \"echo \\$\\$ > ", pidfile,
      "; exec sleep 1000\" &); while [ ! -s ", pidfile,
      " ]; do sleep 0.05; done; exit 2']\nrestart: never\n"));
  ASSERT_TRUE(vigild.Start().ok());
  int orphan = ReadPidFile(pidfile);
  ASSERT_GT(orphan, 0);
  auto empty = vigild.WaitForEvent(Kind("leaky", "cgroup-empty"));
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(EventField(*empty, "mechanism"), "cgroup.events");
  ASSERT_TRUE(vigild.WaitForState("leaky", "failed").ok());
  EXPECT_FALSE(ProcessAlive(orphan));
}

TEST(LifecycleTest, ForkingDaemonLivesUntilItsCgroupIsEmpty) {
  VigildHarness vigild;
  std::string pidfile = vigild.dir() + "/daemon.pid";
  vigild.WriteUnit("daemon", absl::StrCat(
      "type: forking\n"
      "exec: [/bin/sh, -c, '(setsid sh -c \"echo \\$\\$ > ", pidfile,
      "; exec sleep 1000\" &); exit 0']\n"
      "restart: on-failure\nbackoff: {initial: 50ms, max: 1s, factor: 2}\n"));
  ASSERT_TRUE(vigild.Start().ok());
  ASSERT_TRUE(vigild.WaitForState("daemon", "running").ok());
  int daemon = ReadPidFile(pidfile);
  ASSERT_GT(daemon, 0);
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(EventField(*vigild.UnitStatus("daemon"), "state"), "running");
  std::remove(pidfile.c_str());
  kill(daemon, SIGKILL);
  ASSERT_TRUE(vigild.WaitForEvent(Kind("daemon", "cgroup-empty")).ok());
  ASSERT_TRUE(vigild.WaitForState("daemon", "backoff").ok());
  ASSERT_TRUE(vigild.WaitForState("daemon", "running").ok());
  EXPECT_GT(ReadPidFile(pidfile), 0);
}

TEST(LifecycleTest, AttachByPidfileSeesExitAndNeverRestarts) {
  pid_t outsider = fork();
  if (outsider == 0) {
    execl("/bin/sleep", "sleep", "1000", nullptr);
    _exit(127);
  }
  VigildHarness vigild;
  std::string pidfile = vigild.dir() + "/outsider.pid";
  std::ofstream(pidfile) << outsider << "\n";
  vigild.WriteUnit("outsider", absl::StrCat("attach: {pidfile: ", pidfile, "}\nrestart: always\n"));
  ASSERT_TRUE(vigild.Start().ok());
  auto running = vigild.WaitForState("outsider", "running");
  ASSERT_TRUE(running.ok()) << running.status();
  EXPECT_EQ(EventInt(*vigild.UnitStatus("outsider"), "pid"), outsider);
  kill(outsider, SIGTERM);
  waitpid(outsider, nullptr, 0);
  auto exit = vigild.WaitForEvent(Kind("outsider", "exit"));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_EQ(EventInt(*exit, "pid"), outsider);
  ASSERT_TRUE(vigild.WaitForState("outsider", "failed").ok());
  std::this_thread::sleep_for(milliseconds(200));
  for (const auto& e : vigild.history()) EXPECT_FALSE(Kind("outsider", "spawn")(e));
}

// vigild did not start an attached process: when vigild stops (or reloads),
// it lets go of it, and the process keeps running.
TEST(LifecycleTest, ShutdownReleasesAttachedProcessesAlive) {
  pid_t outsider = fork();
  if (outsider == 0) {
    execl("/bin/sleep", "sleep", "1000", nullptr);
    _exit(127);
  }
  {
    VigildHarness vigild;
    vigild.WriteUnit("outsider", absl::StrCat("attach: {pid: ", outsider, "}\n"));
    ASSERT_TRUE(vigild.Start().ok());
    ASSERT_TRUE(vigild.WaitForState("outsider", "running").ok());
    auto status = vigild.Stop();
    ASSERT_TRUE(status.ok()) << status.status();
    EXPECT_NE(vigild.ReadLog().find("released: the attached processes keep running"),
              std::string::npos);
  }
  EXPECT_TRUE(ProcessAlive(outsider));
  kill(outsider, SIGKILL);
  waitpid(outsider, nullptr, 0);
}

TEST(LifecycleTest, AttachWithStartCommandRestartsThroughIt) {
  VigildHarness vigild;
  std::string pidfile = vigild.dir() + "/svc.pid";
  vigild.WriteUnit("svc", absl::StrCat(
      "attach:\n  pidfile: ", pidfile, "\n"
      "  start: [/bin/sh, -c, 'rm -f ", pidfile, "; (setsid sh -c \"echo \\$\\$ > ", pidfile,
      ".tmp; mv ", pidfile, ".tmp ", pidfile, "; exec sleep 1000\" &); "
      // A well-behaved daemon's start command exits once the pidfile exists.
      "while [ ! -s ", pidfile, " ]; do sleep 0.01; done']\n"
      "restart: always\nbackoff: {initial: 50ms, max: 1s, factor: 2}\n"));
  ASSERT_TRUE(vigild.Start().ok());
  ASSERT_TRUE(vigild.WaitForEvent(Kind("svc", "attach-failed")).ok());
  auto running = vigild.WaitForState("svc", "running");
  ASSERT_TRUE(running.ok()) << running.status();
  int first = ReadPidFile(pidfile);
  EXPECT_EQ(EventInt(*vigild.UnitStatus("svc"), "pid"), first);
  kill(first, SIGKILL);
  ASSERT_TRUE(vigild.WaitForEvent(Kind("svc", "exit")).ok());
  ASSERT_TRUE(vigild.WaitForState("svc", "running", std::chrono::seconds(10)).ok());
  int second = EventInt(*vigild.UnitStatus("svc"), "pid");
  EXPECT_NE(second, first);
  EXPECT_TRUE(ProcessAlive(second));
}

TEST(LifecycleTest, ChattyUnitLosesNoLineAndDoesNotBlockOthers) {
  VigildHarness vigild;
  vigild.WriteUnit("chatty", "exec: [/usr/bin/seq, 1, 200000]\nrestart: never\n");
  vigild.WriteUnit("quiet", "exec: [/bin/sleep, infinity]\n");
  ASSERT_TRUE(vigild.Start().ok());
  ASSERT_TRUE(vigild.WaitForState("chatty", "exited", std::chrono::seconds(30)).ok());
  // The pipe may still hold lines after the exit: stop to flush everything.
  ASSERT_TRUE(vigild.Request("status").ok());
  ASSERT_TRUE(vigild.Stop().ok());
  std::string log = vigild.ReadLog();
  int64_t lines = 0, expected_next = 1;
  bool in_order = true;
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    size_t at = line.find("] output: ");
    if (at == absl::string_view::npos || line.find(" chatty[") == absl::string_view::npos) continue;
    int64_t n;
    ASSERT_TRUE(absl::SimpleAtoi(line.substr(at + 10), &n)) << line;
    in_order &= n == expected_next++;
    ++lines;
  }
  EXPECT_EQ(lines, 200000);
  EXPECT_TRUE(in_order);
}

// stdout and stderr share one pipe: both end up in the log, in order.
TEST(LifecycleTest, StdoutAndStderrAreBothLogged) {
  VigildHarness vigild;
  vigild.WriteUnit("both", "exec: [/bin/sh, -c, 'echo to-out; echo to-err >&2; echo out-again']\n"
                           "restart: never\n");
  ASSERT_TRUE(vigild.Start().ok());
  ASSERT_TRUE(vigild.WaitForState("both", "exited").ok());
  ASSERT_TRUE(vigild.Stop().ok());
  std::string log = vigild.ReadLog();
  size_t out = log.find("] output: to-out\n");
  size_t err = log.find("] output: to-err\n");
  size_t again = log.find("] output: out-again\n");
  ASSERT_NE(out, std::string::npos) << log;
  ASSERT_NE(err, std::string::npos) << log;
  ASSERT_NE(again, std::string::npos) << log;
  EXPECT_LT(out, err);
  EXPECT_LT(err, again);
}

TEST(LifecycleTest, EnvCwdAndUserAreApplied) {
  VigildHarness vigild;
  std::string out = vigild.dir() + "/out";
  vigild.WriteUnit("env", absl::StrCat(
      "exec: [/bin/sh, -c, 'echo \"$GREETING $(pwd) $(id -un)\" > ", out, "']\n"
      "env: {GREETING: hi}\ncwd: /tmp\nuser: nobody\nrestart: never\n"));
  chmod(vigild.dir().c_str(), 0777);
  ASSERT_TRUE(vigild.Start().ok());
  ASSERT_TRUE(vigild.WaitForState("env", "exited").ok());
  std::ifstream in(out);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "hi /tmp nobody");
}

// The fallbacks behave the same: epoll instead of io_uring, fork instead of
// clone3.
TEST(LifecycleTest, EpollAndForkFallbacksSuperviseTheSame) {
  VigildHarness vigild;
  vigild.WriteUnit("victim",
                   "exec: [/bin/sleep, infinity]\nrestart: always\n"
                   "backoff: {initial: 10ms, max: 1s, factor: 2}\n");
  ASSERT_TRUE(vigild.Start({"--event-backend", "epoll"}, {"VIGIL_FORCE_FORK=1"}).ok());
  auto caps = vigild.Request("capabilities");
  ASSERT_TRUE(caps.ok());
  const json::Value* c = caps->Find("capabilities");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(EventField(*c, "event_loop"), "epoll");
  EXPECT_NE(EventField(*c, "spawn").find("fork + pidfd_open"), std::string::npos);
  auto spawn = vigild.WaitForEvent(Kind("victim", "spawn"));
  ASSERT_TRUE(spawn.ok());
  int pid = EventInt(*spawn, "pid");
  std::ifstream cgroup(absl::StrCat("/proc/", pid, "/cgroup"));
  std::string content((std::istreambuf_iterator<char>(cgroup)), {});
  EXPECT_NE(content.find("/units/victim"), std::string::npos) << content;
  kill(pid, SIGKILL);
  ASSERT_TRUE(vigild.WaitForEvent(Kind("victim", "exit")).ok());
  ASSERT_TRUE(vigild.WaitForEvent(Kind("victim", "spawn")).ok());
}

TEST(LifecycleTest, SigtermStopsEveryUnitAndRemovesCgroups) {
  VigildHarness vigild;
  vigild.WriteUnit("a", "exec: [/bin/sh, -c, 'trap \"sleep 0.3; exit 0\" TERM; "
                        "while :; do sleep 0.05; done']\n");
  vigild.WriteUnit("b", "exec: [/bin/sleep, infinity]\nafter: [a]\n");
  // Stopped first (reverse start order) and already exited: vigild must
  // still wait for the units it stops after it.
  vigild.WriteUnit("z-done", "exec: [/bin/true]\nrestart: never\n");
  ASSERT_TRUE(vigild.Start().ok());
  ASSERT_TRUE(vigild.WaitForState("b", "running").ok());
  ASSERT_TRUE(vigild.WaitForState("z-done", "exited").ok());
  int a = EventInt(*vigild.UnitStatus("a"), "pid");
  int b = EventInt(*vigild.UnitStatus("b"), "pid");
  auto status = vigild.Stop();
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
  EXPECT_FALSE(ProcessAlive(a));
  EXPECT_FALSE(ProcessAlive(b));
  EXPECT_NE(access(vigild.cgroup_root().c_str(), F_OK), 0);
}

}  // namespace
}  // namespace vigil::testing
