// ActionPlan: what to do when a watch produces an Event, as plain data, plus
// the two pieces of policy around it: per-action rate limits (ActionGate) and
// the environment an `exec` hook runs with (HookEnvironment). Carrying the
// actions out (kill, restart, cgroup.freeze, spawn) is the daemon's job.
#ifndef VIGIL_SUPERVISOR_WATCH_ACTION_PLAN_H_
#define VIGIL_SUPERVISOR_WATCH_ACTION_PLAN_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "supervisor/event.h"
#include "supervisor/watch/rate_limiter.h"

namespace vigil::watch {

enum class SignalTarget { kMainProcess, kCgroup };

struct SignalAction {
  int signo = 0;
  SignalTarget target = SignalTarget::kMainProcess;
  bool operator==(const SignalAction&) const = default;
};
struct RestartAction {
  bool operator==(const RestartAction&) const = default;
};
struct StopAction {
  bool operator==(const StopAction&) const = default;
};
struct FreezeAction {  // cgroup.freeze = 1
  bool operator==(const FreezeAction&) const = default;
};
struct ExecAction {  // argv[0] is a path; runs with HookEnvironment(event)
  std::vector<std::string> argv;
  bool operator==(const ExecAction&) const = default;
};
struct LogAction {
  bool operator==(const LogAction&) const = default;
};

using ActionKind = std::variant<SignalAction, RestartAction, StopAction,
                                FreezeAction, ExecAction, LogAction>;

struct RateLimit {
  int max_events = 1;
  std::chrono::milliseconds interval{0};
  bool operator==(const RateLimit&) const = default;
};

struct Action {
  ActionKind kind;
  std::optional<RateLimit> limit;  // none: every event
  bool operator==(const Action&) const = default;
};

// The actions of one watch, in the order the user wrote them.
struct ActionPlan {
  std::vector<Action> actions;
  bool operator==(const ActionPlan&) const = default;
};

// "signal SIGTERM to main process", "exec /usr/bin/notify", "restart", ...
std::string DescribeAction(const ActionKind& kind);

// One admitted action for one event.
struct DueAction {
  const Action* action;
  uint64_t suppressed_before;  // events this action skipped since it last ran
};

// Holds one RateLimiter per rate-limited action of a plan.
class ActionGate {
 public:
  // Fails when a rate limit is invalid (0 events, interval 0).
  static absl::StatusOr<ActionGate> Create(
      ActionPlan plan, SteadyClock clock = std::chrono::steady_clock::now);

  // Call once per event: the actions to carry out now, in plan order.
  std::vector<DueAction> Admit();
  const ActionPlan& plan() const { return plan_; }

 private:
  ActionGate(ActionPlan plan, std::vector<std::optional<RateLimiter>> limiters)
      : plan_(std::move(plan)), limiters_(std::move(limiters)) {}
  ActionPlan plan_;
  std::vector<std::optional<RateLimiter>> limiters_;  // parallel to actions
};

// The environment of an `exec` hook, as "NAME=value" entries: VIGIL_UNIT,
// VIGIL_PID, VIGIL_KIND, VIGIL_RESOURCE, VIGIL_LEVEL, VIGIL_VALUE,
// VIGIL_DIRECTION (up, down, or empty), VIGIL_MECHANISM, VIGIL_MESSAGE and
// VIGIL_TIME (RFC 3339, UTC, microseconds). Every variable is always set so
// that hooks need not test for presence: strings are empty and numbers 0
// when the event has none.
std::vector<std::string> HookEnvironment(const Event& event);

}  // namespace vigil::watch

#endif  // VIGIL_SUPERVISOR_WATCH_ACTION_PLAN_H_
