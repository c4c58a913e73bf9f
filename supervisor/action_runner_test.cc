#include "supervisor/action_runner.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "supervisor/watch/test_cgroup.h"

namespace vigil {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A child that waits for SIGUSR1 and exits 42 when it gets it.
pid_t SpawnWaiter() {
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  sigprocmask(SIG_BLOCK, &usr1, nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    int signo;
    sigwait(&usr1, &signo);
    _exit(42);
  }
  sigprocmask(SIG_UNBLOCK, &usr1, nullptr);
  return pid;
}

class ActionRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loop = EventLoop::Create(EventLoop::Backend::kAuto);
    ASSERT_TRUE(loop.ok()) << loop.status();
    loop_ = *std::move(loop);
    runner_ = std::make_unique<ActionRunner>(
        *loop_, Spawner::Detect(),
        ActionRunner::Callbacks{
            .publish = [this](Event e) { published_.push_back(std::move(e)); },
            .restart = [this](const std::string& unit) { lifecycle_.push_back("restart " + unit); },
            .stop = [this](const std::string& unit) { lifecycle_.push_back("stop " + unit); }});
  }

  Event Cause() {
    return Event{.unit = "web", .pid = 123, .kind = "memory.level", .resource = "memory",
                 .level = 1000, .value = 1500, .direction = Direction::kUp,
                 .mechanism = "VmRSS"};
  }

  // Runs the loop until `done` or about 5 s.
  void RunUntil(const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      ASSERT_TRUE(loop_->RunOnce().ok());
    }
  }

  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<ActionRunner> runner_;
  std::vector<Event> published_;
  std::vector<std::string> lifecycle_;
};

TEST_F(ActionRunnerTest, SignalReachesTheMainProcessThroughItsPidfd) {
  pid_t pid = SpawnWaiter();
  auto main = PidfdSource::Open(pid);
  ASSERT_TRUE(main.ok());
  runner_->Run({.kind = watch::SignalAction{SIGUSR1}}, 3, Cause(),
               {.unit = "web", .main = &*main});
  int status;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_EQ(WEXITSTATUS(status), 42);
  ASSERT_EQ(published_.size(), 1u);
  EXPECT_EQ(published_[0].kind, "action");
  EXPECT_EQ(published_[0].mechanism, "signal");
  EXPECT_EQ(published_[0].message, "signal SIGUSR1 to main process on memory.level (3 suppressed)");
  EXPECT_EQ(published_[0].resource, "memory");
  EXPECT_EQ(published_[0].direction, Direction::kUp);
}

TEST_F(ActionRunnerTest, CgroupSignalReachesEveryProcessAndFreezeFreezes) {
  auto cgroup = watch::TestCgroup::Create("action-runner");
  if (!cgroup.ok()) GTEST_SKIP() << "needs a writable cgroup2 mount: " << cgroup.status();
  std::vector<pid_t> pids;
  for (int i = 0; i < 3; ++i) {
    auto pid = (*cgroup)->Spawn([] {
      for (;;) pause();
    });
    ASSERT_TRUE(pid.ok());
    pids.push_back(*pid);
  }
  runner_->Run({.kind = watch::FreezeAction{}}, 0, Cause(),
               {.unit = "web", .cgroup_dir = (*cgroup)->path()});
  EXPECT_EQ(Slurp((*cgroup)->File("cgroup.freeze")), "1\n");
  ASSERT_TRUE((*cgroup)->Write("cgroup.freeze", "0").ok());
  runner_->Run({.kind = watch::SignalAction{SIGTERM, watch::SignalTarget::kCgroup}}, 0, Cause(),
               {.unit = "web", .cgroup_dir = (*cgroup)->path()});
  for (pid_t pid : pids) {
    int status;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
  }
  ASSERT_EQ(published_.size(), 2u);
  EXPECT_EQ(published_[0].mechanism, "freeze");
  EXPECT_EQ(published_[1].message, "signal SIGTERM to cgroup on memory.level");
}

TEST_F(ActionRunnerTest, ExecHookRunsWithTheEventAndIsReapedThroughItsPidfd) {
  char dir_template[] = "/tmp/vigil-action-runner-XXXXXX";
  std::string dir = mkdtemp(dir_template);
  std::string out = dir + "/env";
  runner_->Run({.kind = watch::ExecAction{{"/bin/sh", "-c", "env > " + out + "; exit 3"}}}, 0,
               Cause(), {.unit = "web"});
  EXPECT_EQ(runner_->running_hooks(), 1u);
  ASSERT_EQ(published_.size(), 1u);
  EXPECT_TRUE(absl::StartsWith(published_[0].message, "exec /bin/sh -c env > ")) << published_[0].message;
  RunUntil([&] { return runner_->running_hooks() == 0; });
  ASSERT_EQ(published_.size(), 2u);
  EXPECT_EQ(published_[1].kind, "hook-exit");
  EXPECT_EQ(published_[1].message, "exited with code 3");
  std::string env = Slurp(out);
  for (const char* line : {"VIGIL_UNIT=web\n", "VIGIL_PID=123\n", "VIGIL_KIND=memory.level\n",
                           "VIGIL_RESOURCE=memory\n", "VIGIL_LEVEL=1000\n", "VIGIL_VALUE=1500\n",
                           "VIGIL_DIRECTION=up\n", "VIGIL_MECHANISM=VmRSS\n"}) {
    EXPECT_TRUE(absl::StrContains(env, line)) << line << " not in\n" << env;
  }
  unlink(out.c_str());
  rmdir(dir.c_str());
}

// As PID 1, vigild's orphan reaper may collect a hook before the hook's
// pidfd is read; the hook's status must still be its own.
TEST_F(ActionRunnerTest, HookReapedByTheOrphanReaperStillReportsItsStatus) {
  runner_->Run({.kind = watch::ExecAction{{"/bin/sh", "-c", "exit 7"}}}, 0, Cause(),
               {.unit = "web"});
  ASSERT_EQ(published_.size(), 1u);
  int pid = 0;
  ASSERT_EQ(sscanf(published_[0].message.c_str(), "exec /bin/sh -c exit 7 (pid %d)", &pid), 1)
      << published_[0].message;
  siginfo_t info{};
  ASSERT_EQ(waitid(P_PID, pid, &info, WEXITED | WNOWAIT), 0);  // exited, not yet reaped
  std::vector<pid_t> orphans = ReapExitedChildren();
  EXPECT_EQ(std::count(orphans.begin(), orphans.end(), pid), 0);  // the hook is no orphan
  RunUntil([&] { return runner_->running_hooks() == 0; });
  ASSERT_EQ(published_.size(), 2u);
  EXPECT_EQ(published_[1].kind, "hook-exit");
  EXPECT_EQ(published_[1].value, 7);
  EXPECT_EQ(published_[1].message, "exited with code 7");
}

TEST_F(ActionRunnerTest, RestartAndStopGoToTheSupervisorAfterTheActionEvent) {
  runner_->Run({.kind = watch::RestartAction{}}, 0, Cause(), {.unit = "web"});
  runner_->Run({.kind = watch::StopAction{}}, 0, Cause(), {.unit = "db"});
  EXPECT_EQ(lifecycle_, (std::vector<std::string>{"restart web", "stop db"}));
  ASSERT_EQ(published_.size(), 2u);
  EXPECT_EQ(published_[0].mechanism, "restart");
  EXPECT_EQ(published_[1].mechanism, "stop");
}

TEST_F(ActionRunnerTest, FailuresArePublishedWithTheReason) {
  runner_->Run({.kind = watch::SignalAction{SIGUSR1}}, 0, Cause(), {.unit = "web"});
  runner_->Run({.kind = watch::FreezeAction{}}, 0, Cause(), {.unit = "web"});
  runner_->Run({.kind = watch::ExecAction{{"/nonexistent/hook"}}}, 0, Cause(), {.unit = "web"});
  ASSERT_EQ(published_.size(), 3u);
  for (const Event& e : published_) EXPECT_EQ(e.kind, "action-failed") << e.message;
  EXPECT_EQ(published_[0].message,
            "signal SIGUSR1 to main process on memory.level: the unit has no main process");
  EXPECT_TRUE(absl::StrContains(published_[1].message, "not an attach: unit"));
  EXPECT_TRUE(absl::StrContains(published_[2].message, "/nonexistent/hook"));
}

TEST_F(ActionRunnerTest, LogActionDescribesTheEvent) {
  runner_->Run({.kind = watch::LogAction{}}, 0, Cause(), {.unit = "web"});
  ASSERT_EQ(published_.size(), 1u);
  EXPECT_EQ(published_[0].message,
            "log: memory.level up level 1000 value 1500 on memory.level");
}

}  // namespace
}  // namespace vigil
