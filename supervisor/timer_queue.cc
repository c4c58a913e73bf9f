#include "supervisor/timer_queue.h"

#include <poll.h>
#include <sys/timerfd.h>

#include <cerrno>

#include "common/errno_status.h"

namespace vigil {

absl::StatusOr<std::unique_ptr<TimerQueue>> TimerQueue::Create(
    EventLoop& loop) {
  int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (fd < 0) return ErrnoStatus("timerfd_create", errno);
  auto queue =
      std::unique_ptr<TimerQueue>(new TimerQueue(loop, UniqueFd(fd)));
  TimerQueue* self = queue.get();
  auto watch = loop.Add(fd, POLLIN, [self](uint32_t) { self->OnReady(); });
  if (!watch.ok()) return watch.status();
  queue->watch_ = *watch;
  return queue;
}

TimerQueue::~TimerQueue() { loop_.Remove(watch_); }

TimerQueue::TimerId TimerQueue::ScheduleAfter(std::chrono::nanoseconds delay,
                                              std::function<void()> callback) {
  TimerId id = next_id_++;
  by_deadline_.emplace(Clock::now() + delay,
                       std::make_pair(id, std::move(callback)));
  Rearm();
  return id;
}

void TimerQueue::Cancel(TimerId id) {
  for (auto it = by_deadline_.begin(); it != by_deadline_.end(); ++it) {
    if (it->second.first == id) {
      by_deadline_.erase(it);
      Rearm();
      return;
    }
  }
}

void TimerQueue::OnReady() {
  uint64_t expirations;
  while (read(fd_.get(), &expirations, sizeof expirations) > 0) {
  }
  armed_for_.reset();
  // One at a time, so that a callback can still cancel a timer due in the same
  // wakeup; timers scheduled by these callbacks wait for the next wakeup.
  auto now = Clock::now();
  TimerId first_new_id = next_id_;
  while (!by_deadline_.empty() && by_deadline_.begin()->first <= now &&
         by_deadline_.begin()->second.first < first_new_id) {
    std::function<void()> callback = std::move(by_deadline_.begin()->second.second);
    by_deadline_.erase(by_deadline_.begin());
    callback();
  }
  Rearm();
}

void TimerQueue::Rearm() {
  std::optional<Clock::time_point> want;
  if (!by_deadline_.empty()) want = by_deadline_.begin()->first;
  if (want == armed_for_) return;
  itimerspec spec{};
  if (want) {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                  want->time_since_epoch())
                  .count();
    // steady_clock is CLOCK_MONOTONIC on Linux; 0 would disarm, so at least 1.
    if (ns <= 0) ns = 1;
    spec.it_value.tv_sec = ns / 1000000000;
    spec.it_value.tv_nsec = ns % 1000000000;
  }
  timerfd_settime(fd_.get(), TFD_TIMER_ABSTIME, &spec, nullptr);
  armed_for_ = want;
}

}  // namespace vigil
