// RateLimiter: "at most N events per interval" for one action, so a flapping
// level cannot storm a hook or a restart. Plain policy over an injected clock.
//
// Algorithm: a sliding window over the last N admitted times (a ring of N
// time points). An event is admitted when fewer than N were admitted in the
// interval ending now. Why not the two usual ones:
//  - a fixed window admits up to 2N events in one interval straddling a
//    window boundary: "once per 60 s" could fire twice a second apart;
//  - a token bucket of N refilled at N/interval admits N at once and then
//    more as tokens trickle back, so also up to ~2N in one interval.
// The sliding window gives exactly what users write ("at most N in any
// interval"), costs N time points, and N is small (usually 1) in configs.
//
// Suppressed events are counted so that the next admitted one can say
// "(3 suppressed)" instead of the storm disappearing silently.
#ifndef VIGIL_SUPERVISOR_WATCH_RATE_LIMITER_H_
#define VIGIL_SUPERVISOR_WATCH_RATE_LIMITER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace vigil::watch {

using SteadyClock = std::function<std::chrono::steady_clock::time_point()>;

struct Admission {
  bool admitted = false;
  // When admitted: how many events were suppressed since the previous
  // admitted one (then reset to 0). When not admitted: 0.
  uint64_t suppressed_before = 0;
};

class RateLimiter {
 public:
  // max_events >= 1, interval > 0.
  static absl::StatusOr<RateLimiter> Create(
      int max_events, std::chrono::nanoseconds interval,
      SteadyClock clock = std::chrono::steady_clock::now);

  Admission Admit();
  // Suppressed since the last admitted event.
  uint64_t suppressed() const { return suppressed_; }

 private:
  RateLimiter(int max_events, std::chrono::nanoseconds interval,
              SteadyClock clock)
      : interval_(interval), clock_(std::move(clock)), capacity_(max_events) {
    admitted_.reserve(capacity_);
  }

  std::chrono::nanoseconds interval_;
  SteadyClock clock_;
  size_t capacity_;
  std::vector<std::chrono::steady_clock::time_point> admitted_;  // ring
  size_t oldest_ = 0;
  uint64_t suppressed_ = 0;
};

// " (3 suppressed)", or "" when nothing was suppressed; for appending to an
// event's message.
std::string SuppressedNote(uint64_t suppressed);

}  // namespace vigil::watch

#endif  // VIGIL_SUPERVISOR_WATCH_RATE_LIMITER_H_
