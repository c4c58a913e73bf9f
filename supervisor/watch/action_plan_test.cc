#include "supervisor/watch/action_plan.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vigil::watch {
namespace {

using ::testing::ElementsAre;
using ::testing::IsSupersetOf;
using std::chrono::seconds;

Event MemoryHighEvent() {
  Event event;
  event.unit = "web";
  event.pid = 4242;
  event.kind = "memory.level";
  event.resource = "memory";
  event.level = 104857600;
  event.value = 104861696;
  event.direction = Direction::kUp;
  event.mechanism = "cpu-timer";
  event.message = "memory.current crossed 100M upward";
  // 2026-11-28T06:55:28.123456Z
  event.time = std::chrono::system_clock::time_point(
      std::chrono::microseconds(1795848928123456));
  return event;
}

TEST(HookEnvironmentTest, CarriesEveryFieldOfTheEvent) {
  EXPECT_THAT(HookEnvironment(MemoryHighEvent()),
              ElementsAre("VIGIL_UNIT=web", "VIGIL_PID=4242",
                          "VIGIL_KIND=memory.level", "VIGIL_RESOURCE=memory",
                          "VIGIL_LEVEL=104857600", "VIGIL_VALUE=104861696",
                          "VIGIL_DIRECTION=up", "VIGIL_MECHANISM=cpu-timer",
                          "VIGIL_MESSAGE=memory.current crossed 100M upward",
                          "VIGIL_TIME=2026-11-28T06:55:28.123456Z"));
}

TEST(HookEnvironmentTest, AbsentFieldsAreSetEmptyOrZero) {
  Event event;
  event.kind = "state";
  event.time = std::chrono::system_clock::time_point();
  EXPECT_THAT(HookEnvironment(event),
              IsSupersetOf({"VIGIL_UNIT=", "VIGIL_PID=0", "VIGIL_LEVEL=0",
                            "VIGIL_DIRECTION=",
                            "VIGIL_TIME=1970-01-01T00:00:00.000000Z"}));
}

// Runs /usr/bin/env with the hook environment, as an exec action would, and
// returns what the child saw.
std::vector<std::string> EnvironmentSeenByChild(
    const std::vector<std::string>& environment) {
  int pipe_fds[2];
  EXPECT_EQ(pipe(pipe_fds), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  std::vector<char*> envp;
  for (const std::string& entry : environment) {
    envp.push_back(const_cast<char*>(entry.c_str()));
  }
  envp.push_back(nullptr);
  char* argv[] = {const_cast<char*>("/usr/bin/env"), nullptr};
  pid_t pid;
  EXPECT_EQ(posix_spawn(&pid, argv[0], &actions, nullptr, argv, envp.data()),
            0);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  std::string output;
  char buffer[4096];
  for (ssize_t n; (n = read(pipe_fds[0], buffer, sizeof buffer)) > 0;) {
    output.append(buffer, n);
  }
  close(pipe_fds[0]);
  int status;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  return absl::StrSplit(output, '\n', absl::SkipEmpty());
}

TEST(HookEnvironmentTest, AHookProcessReceivesIt) {
  std::vector<std::string> environment = HookEnvironment(MemoryHighEvent());
  EXPECT_THAT(EnvironmentSeenByChild(environment),
              ::testing::UnorderedElementsAreArray(environment));
}

TEST(DescribeActionTest, NamesSignalsAndTargets) {
  EXPECT_EQ(DescribeAction(SignalAction{SIGTERM, SignalTarget::kMainProcess}),
            "signal SIGTERM to main process");
  EXPECT_EQ(DescribeAction(SignalAction{SIGKILL, SignalTarget::kCgroup}),
            "signal SIGKILL to cgroup");
  EXPECT_EQ(DescribeAction(ExecAction{{"/usr/bin/logger", "-t", "vigil"}}),
            "exec /usr/bin/logger -t vigil");
  EXPECT_EQ(DescribeAction(FreezeAction{}), "freeze");
}

struct FakeClock {
  std::chrono::steady_clock::time_point now{seconds(5000)};
};

TEST(ActionGateTest, RateLimitsEachActionOnItsOwn) {
  FakeClock clock;
  ActionPlan plan{{
      {LogAction{}, std::nullopt},
      {ExecAction{{"/bin/true"}}, RateLimit{1, std::chrono::minutes(1)}},
      {RestartAction{}, RateLimit{2, std::chrono::minutes(10)}},
  }};
  absl::StatusOr<ActionGate> gate =
      ActionGate::Create(plan, [&clock] { return clock.now; });
  ASSERT_TRUE(gate.ok()) << gate.status();

  auto kinds = [](const std::vector<DueAction>& due) {
    std::vector<std::string> described;
    for (const DueAction& d : due) {
      described.push_back(DescribeAction(d.action->kind) + "+" +
                          std::to_string(d.suppressed_before));
    }
    return described;
  };
  EXPECT_THAT(kinds(gate->Admit()),
              ElementsAre("log+0", "exec /bin/true+0", "restart+0"));
  clock.now += seconds(1);
  EXPECT_THAT(kinds(gate->Admit()), ElementsAre("log+0", "restart+0"));
  clock.now += seconds(1);
  EXPECT_THAT(kinds(gate->Admit()), ElementsAre("log+0"));
  clock.now += seconds(60);
  EXPECT_THAT(kinds(gate->Admit()), ElementsAre("log+0", "exec /bin/true+2"));
}

TEST(ActionGateTest, InvalidRateLimitNamesTheAction) {
  ActionPlan plan{{{StopAction{}, RateLimit{0, std::chrono::seconds(60)}}}};
  EXPECT_EQ(ActionGate::Create(plan).status().message(),
            "action \"stop\": a rate limit must allow at least 1 event, got 0");
}

}  // namespace
}  // namespace vigil::watch
