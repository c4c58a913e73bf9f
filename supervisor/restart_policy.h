// Restart policy for one unit: whether an exit is restarted, after what
// backoff, and when too many starts put the unit in `failed`. Plain code over
// the unit's config and an injected clock: no kernel.
#ifndef VIGIL_SUPERVISOR_RESTART_POLICY_H_
#define VIGIL_SUPERVISOR_RESTART_POLICY_H_

#include <chrono>
#include <deque>

#include "config/config.h"

namespace vigil {

class RestartTracker {
 public:
  using Clock = std::chrono::steady_clock;

  RestartTracker(config::Backoff backoff, config::StartLimit limit)
      : backoff_(backoff), limit_(limit) {}

  // Records a start at `now`; false when this start would exceed the start
  // limit (burst starts within interval), in which case nothing is recorded.
  bool AllowStart(Clock::time_point now);
  // The delay before restarting a process that ran for `run_time`. Grows by
  // the factor on each quick exit, up to max; a run longer than max resets it.
  config::Duration NextDelay(config::Duration run_time);
  // An operator's explicit start clears the history (like systemd's
  // reset-failed).
  void Reset();

 private:
  config::Backoff backoff_;
  config::StartLimit limit_;
  std::deque<Clock::time_point> starts_;
  int quick_exits_ = 0;
};

// Whether `policy` restarts a process that ended this way.
bool ShouldRestart(config::RestartPolicy policy, bool exit_was_success);

}  // namespace vigil

#endif  // VIGIL_SUPERVISOR_RESTART_POLICY_H_
