#include "supervisor/passive/delivery_queue.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace vigil::passive {

DeliveryQueue::DeliveryQueue(std::unique_ptr<Sink> sink, Policy policy, Schedule schedule,
                             Report report)
    : sink_(std::move(sink)),
      policy_(policy),
      schedule_(std::move(schedule)),
      report_(std::move(report)) {}

DeliveryQueue::~DeliveryQueue() { *alive_ = false; }

std::chrono::milliseconds DeliveryQueue::Backoff(int64_t failures) const {
  std::chrono::milliseconds delay = policy_.retry_initial;
  for (int64_t i = 1; i < failures && delay < policy_.retry_max; ++i) delay *= 2;
  return std::min(delay, policy_.retry_max);
}

void DeliveryQueue::Push(PassiveResult result) {
  if (queue_.size() >= policy_.capacity) {
    queue_.pop_front();
    ++stats_.dropped;
  }
  queue_.push_back({next_seq_++, std::move(result)});
  Pump();
}

void DeliveryQueue::Pump() {
  // A sink that completes synchronously re-enters here through OnDone; the
  // outer loop carries on instead of recursing.
  if (pumping_) return;
  pumping_ = true;
  while (!in_flight_ && !retry_pending_ && !queue_.empty()) {
    in_flight_ = true;
    std::vector<PassiveResult> batch;
    batch.reserve(queue_.size());
    for (const Queued& q : queue_) batch.push_back(q.result);
    const uint64_t first = queue_.front().seq;
    sink_->Deliver(batch, [this, alive = alive_, first](size_t n, absl::Status status) {
      if (*alive) OnDone(first, n, std::move(status));
    });
  }
  pumping_ = false;
}

void DeliveryQueue::OnDone(uint64_t first_seq, size_t delivered, absl::Status status) {
  in_flight_ = false;
  // Overflow may have dropped some of the batch meanwhile: remove by
  // sequence number, not by count.
  const uint64_t end_seq = first_seq + delivered;
  while (!queue_.empty() && queue_.front().seq < end_seq) queue_.pop_front();
  stats_.sent += delivered;
  if (status.ok()) {
    failures_in_row_ = 0;
    Pump();
    return;
  }
  ++stats_.failures;
  ++failures_in_row_;
  stats_.last_error = std::string(status.message());
  if (failures_in_row_ >= policy_.attempts) {
    const size_t lost = queue_.size();
    stats_.dropped += lost;
    queue_.clear();
    failures_in_row_ = 0;
    report_(absl::StrCat(sink_->name(), ": ", status.message(), "; gave up after ",
                         policy_.attempts, " attempts, dropped ", lost, " result(s) (",
                         stats_.dropped, " dropped so far)"));
    Pump();
    return;
  }
  const std::chrono::milliseconds delay = Backoff(failures_in_row_);
  report_(absl::StrCat(sink_->name(), ": ", status.message(), "; retrying in ", delay.count(),
                       "ms (attempt ", failures_in_row_ + 1, " of ", policy_.attempts, ")"));
  retry_pending_ = true;
  schedule_(delay, [this, alive = alive_] {
    if (!*alive) return;
    retry_pending_ = false;
    Pump();
  });
}

DeliveryQueue::Stats DeliveryQueue::stats() const {
  Stats s = stats_;
  s.queued = queue_.size();
  return s;
}

json::Value DeliveryQueue::StatsJson() const {
  const Stats s = stats();
  json::Value out = json::Value::Object();
  out.Set("target", sink_->name());
  out.Set("sent", s.sent);
  out.Set("dropped", s.dropped);
  out.Set("failures", s.failures);
  out.Set("queued", static_cast<int64_t>(s.queued));
  out.Set("last_error", s.last_error);
  return out;
}

}  // namespace vigil::passive
