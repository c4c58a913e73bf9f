// DeliveryQueue: the policy between vigild's passive results and one target
// (a Sink): a bounded FIFO, one delivery in flight, retries with exponential
// backoff on failure, and after `attempts` failures in a row every queued
// result is dropped and counted, so a target that stays down costs a
// bounded amount of memory and a few wakeups, never a blocked loop.
//
// Plain code: the sink and the timer are injected, so the policy is tested
// without a kernel.
#ifndef VIGIL_SUPERVISOR_PASSIVE_DELIVERY_QUEUE_H_
#define VIGIL_SUPERVISOR_PASSIVE_DELIVERY_QUEUE_H_

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/json.h"
#include "supervisor/passive/passive_result.h"

namespace vigil::passive {

// Moves results to one target. Deliver() must not block; it calls `done`
// exactly once, maybe before returning, with how many results from the front
// of `batch` were delivered and why it stopped if not all were.
class Sink {
 public:
  using Done = std::function<void(size_t delivered, absl::Status status)>;
  virtual ~Sink() = default;
  virtual std::string name() const = 0;  // "command file /var/lib/nagios4/rw/nagios.cmd"
  virtual void Deliver(const std::vector<PassiveResult>& batch, Done done) = 0;
};

class DeliveryQueue {
 public:
  struct Policy {
    std::chrono::milliseconds retry_initial{1000};
    std::chrono::milliseconds retry_max{30000};
    int64_t attempts = 5;
    size_t capacity = 1000;
  };
  // Runs `callback` after `delay` (vigild: its TimerQueue).
  using Schedule = std::function<void(std::chrono::milliseconds delay, std::function<void()>)>;
  // Told what went wrong and what was dropped (vigild: its log).
  using Report = std::function<void(const std::string& text)>;

  DeliveryQueue(std::unique_ptr<Sink> sink, Policy policy, Schedule schedule, Report report);
  ~DeliveryQueue();

  void Push(PassiveResult result);

  struct Stats {
    uint64_t sent = 0;
    uint64_t dropped = 0;   // after repeated failures or queue overflow
    uint64_t failures = 0;  // failed deliveries (attempts)
    size_t queued = 0;
    std::string last_error;
  };
  Stats stats() const;
  json::Value StatsJson() const;
  const Sink& sink() const { return *sink_; }
  // The delay before retry number `failures` (1-based).
  std::chrono::milliseconds Backoff(int64_t failures) const;

 private:
  struct Queued {
    uint64_t seq;
    PassiveResult result;
  };
  void Pump();
  void OnDone(uint64_t first_seq, size_t delivered, absl::Status status);

  std::unique_ptr<Sink> sink_;
  Policy policy_;
  Schedule schedule_;
  Report report_;
  std::deque<Queued> queue_;
  uint64_t next_seq_ = 1;
  bool in_flight_ = false;
  bool retry_pending_ = false;
  bool pumping_ = false;
  int64_t failures_in_row_ = 0;
  Stats stats_;
  // Callbacks outliving the queue (a timer, a sink finishing late) check it.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace vigil::passive

#endif  // VIGIL_SUPERVISOR_PASSIVE_DELIVERY_QUEUE_H_
