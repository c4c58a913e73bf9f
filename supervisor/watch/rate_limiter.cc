#include "supervisor/watch/rate_limiter.h"

#include "absl/strings/str_cat.h"

namespace vigil::watch {

absl::StatusOr<RateLimiter> RateLimiter::Create(
    int max_events, std::chrono::nanoseconds interval, SteadyClock clock) {
  if (max_events < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a rate limit must allow at least 1 event, got ", max_events));
  }
  if (interval <= std::chrono::nanoseconds::zero()) {
    return absl::InvalidArgumentError(
        "a rate limit's interval must be longer than 0");
  }
  return RateLimiter(max_events, interval, std::move(clock));
}

Admission RateLimiter::Admit() {
  const auto now = clock_();
  if (admitted_.size() < capacity_) {
    admitted_.push_back(now);
  } else if (now - admitted_[oldest_] >= interval_) {
    admitted_[oldest_] = now;
    oldest_ = (oldest_ + 1) % capacity_;
  } else {
    ++suppressed_;
    return {};
  }
  Admission admission{true, suppressed_};
  suppressed_ = 0;
  return admission;
}

std::string SuppressedNote(uint64_t suppressed) {
  if (suppressed == 0) return "";
  return absl::StrCat(" (", suppressed, " suppressed)");
}

}  // namespace vigil::watch
