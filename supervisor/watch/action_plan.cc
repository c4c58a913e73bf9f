#include "supervisor/watch/action_plan.h"

#include <string.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"

namespace vigil::watch {
namespace {

std::string SignalName(int signo) {
  const char* abbrev = sigabbrev_np(signo);
  return abbrev ? absl::StrCat("SIG", abbrev) : absl::StrCat("signal ", signo);
}

struct Describer {
  std::string operator()(const SignalAction& a) const {
    return absl::StrCat("signal ", SignalName(a.signo), " to ",
                        a.target == SignalTarget::kCgroup ? "cgroup"
                                                          : "main process");
  }
  std::string operator()(const RestartAction&) const { return "restart"; }
  std::string operator()(const StopAction&) const { return "stop"; }
  std::string operator()(const FreezeAction&) const { return "freeze"; }
  std::string operator()(const ExecAction& a) const {
    return absl::StrCat("exec ", absl::StrJoin(a.argv, " "));
  }
  std::string operator()(const LogAction&) const { return "log"; }
};

}  // namespace

std::string DescribeAction(const ActionKind& kind) {
  return std::visit(Describer{}, kind);
}

absl::StatusOr<ActionGate> ActionGate::Create(ActionPlan plan,
                                              SteadyClock clock) {
  std::vector<std::optional<RateLimiter>> limiters;
  for (const Action& action : plan.actions) {
    if (!action.limit) {
      limiters.emplace_back();
      continue;
    }
    absl::StatusOr<RateLimiter> limiter = RateLimiter::Create(
        action.limit->max_events, action.limit->interval, clock);
    if (!limiter.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("action \"", DescribeAction(action.kind),
                       "\": ", limiter.status().message()));
    }
    limiters.push_back(*std::move(limiter));
  }
  return ActionGate(std::move(plan), std::move(limiters));
}

std::vector<DueAction> ActionGate::Admit() {
  std::vector<DueAction> due;
  for (size_t i = 0; i < plan_.actions.size(); ++i) {
    if (!limiters_[i]) {
      due.push_back({&plan_.actions[i], 0});
      continue;
    }
    Admission admission = limiters_[i]->Admit();
    if (admission.admitted) {
      due.push_back({&plan_.actions[i], admission.suppressed_before});
    }
  }
  return due;
}

std::vector<std::string> HookEnvironment(const Event& event) {
  // Spelled as DirectionName() does; that function lives in the daemon's
  // library, which this package must not depend on.
  const char* direction = event.direction == Direction::kUp     ? "up"
                          : event.direction == Direction::kDown ? "down"
                                                                : "";
  return {
      absl::StrCat("VIGIL_UNIT=", event.unit),
      absl::StrCat("VIGIL_PID=", event.pid),
      absl::StrCat("VIGIL_KIND=", event.kind),
      absl::StrCat("VIGIL_RESOURCE=", event.resource),
      absl::StrCat("VIGIL_LEVEL=", event.level),
      absl::StrCat("VIGIL_VALUE=", event.value),
      absl::StrCat("VIGIL_DIRECTION=", direction),
      absl::StrCat("VIGIL_MECHANISM=", event.mechanism),
      absl::StrCat("VIGIL_MESSAGE=", event.message),
      absl::StrCat("VIGIL_TIME=",
                   absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ",
                                    absl::FromChrono(event.time),
                                    absl::UTCTimeZone())),
  };
}

}  // namespace vigil::watch
