// TimerQueue: owns one timerfd (CLOCK_MONOTONIC) registered with the
// EventLoop and a queue of one-shot deadlines. The timerfd is armed for the
// earliest pending deadline only and disarmed when none is pending, so an
// idle vigild has no timer that can wake it.
#ifndef VIGIL_SUPERVISOR_TIMER_QUEUE_H_
#define VIGIL_SUPERVISOR_TIMER_QUEUE_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <utility>

#include "absl/status/statusor.h"
#include "supervisor/event_loop.h"
#include "supervisor/unique_fd.h"

namespace vigil {

class TimerQueue {
 public:
  using Clock = std::chrono::steady_clock;
  using TimerId = uint64_t;

  static absl::StatusOr<std::unique_ptr<TimerQueue>> Create(EventLoop& loop);
  ~TimerQueue();

  TimerId ScheduleAfter(std::chrono::nanoseconds delay,
                        std::function<void()> callback);
  // Cancelling an id that already fired or was cancelled does nothing.
  void Cancel(TimerId id);
  size_t pending() const { return by_deadline_.size(); }
  bool armed() const { return armed_for_.has_value(); }

 private:
  TimerQueue(EventLoop& loop, UniqueFd fd) : loop_(loop), fd_(std::move(fd)) {}
  void OnReady();
  void Rearm();

  EventLoop& loop_;
  UniqueFd fd_;
  EventLoop::WatchId watch_ = 0;
  TimerId next_id_ = 1;
  std::multimap<Clock::time_point, std::pair<TimerId, std::function<void()>>>
      by_deadline_;
  std::optional<Clock::time_point> armed_for_;
};

}  // namespace vigil

#endif  // VIGIL_SUPERVISOR_TIMER_QUEUE_H_
