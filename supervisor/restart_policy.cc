#include "supervisor/restart_policy.h"

#include <algorithm>
#include <cmath>

namespace vigil {

bool RestartTracker::AllowStart(Clock::time_point now) {
  while (!starts_.empty() && now - starts_.front() >= limit_.interval) {
    starts_.pop_front();
  }
  if (static_cast<int>(starts_.size()) >= limit_.burst) return false;
  starts_.push_back(now);
  return true;
}

config::Duration RestartTracker::NextDelay(config::Duration run_time) {
  if (run_time >= backoff_.max) quick_exits_ = 0;
  double delay_ms = backoff_.initial.count() *
                    std::pow(backoff_.factor, static_cast<double>(quick_exits_));
  ++quick_exits_;
  delay_ms = std::min(delay_ms, static_cast<double>(backoff_.max.count()));
  return config::Duration(static_cast<int64_t>(delay_ms));
}

void RestartTracker::Reset() {
  starts_.clear();
  quick_exits_ = 0;
}

bool ShouldRestart(config::RestartPolicy policy, bool exit_was_success) {
  switch (policy) {
    case config::RestartPolicy::kAlways:
      return true;
    case config::RestartPolicy::kOnFailure:
      return !exit_was_success;
    case config::RestartPolicy::kNever:
      return false;
  }
  return false;
}

}  // namespace vigil
