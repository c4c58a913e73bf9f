#include "supervisor/passive/delivery_queue.h"

#include <deque>

#include "gtest/gtest.h"

namespace vigil::passive {
namespace {

using std::chrono::milliseconds;

// A target whose next answers the test decides; it records what it got.
class ScriptedSink : public Sink {
 public:
  std::string name() const override { return "scripted"; }
  void Deliver(const std::vector<PassiveResult>& batch, Done done) override {
    batches.push_back(batch.size());
    seen.push_back(batch.front().output);
    if (hold) {
      held = std::move(done);
      return;
    }
    if (down) {
      done(0, absl::UnavailableError("target down"));
    } else {
      done(per_call == 0 ? batch.size() : std::min(per_call, batch.size()), absl::OkStatus());
    }
  }
  bool down = false;
  bool hold = false;
  size_t per_call = 0;  // 0: everything
  Done held;
  std::vector<size_t> batches;
  std::vector<std::string> seen;
};

class DeliveryQueueTest : public ::testing::Test {
 protected:
  DeliveryQueueTest() {
    auto sink = std::make_unique<ScriptedSink>();
    sink_ = sink.get();
    queue_ = std::make_unique<DeliveryQueue>(
        std::move(sink),
        DeliveryQueue::Policy{.retry_initial = milliseconds(100), .retry_max = milliseconds(300),
                              .attempts = 3, .capacity = 4},
        [this](milliseconds delay, std::function<void()> cb) {
          delays_.push_back(delay.count());
          timers_.push_back(std::move(cb));
        },
        [this](const std::string& text) { reports_.push_back(text); });
  }
  static PassiveResult Result(std::string output) { return {.output = std::move(output)}; }
  void FireTimer() {
    ASSERT_FALSE(timers_.empty());
    auto cb = std::move(timers_.front());
    timers_.pop_front();
    cb();
  }

  ScriptedSink* sink_;
  std::unique_ptr<DeliveryQueue> queue_;
  std::vector<int64_t> delays_;
  std::deque<std::function<void()>> timers_;
  std::vector<std::string> reports_;
};

TEST_F(DeliveryQueueTest, DeliversAtOnceWhenTheTargetIsUp) {
  queue_->Push(Result("a"));
  queue_->Push(Result("b"));
  EXPECT_EQ(queue_->stats().sent, 2u);
  EXPECT_EQ(queue_->stats().queued, 0u);
  EXPECT_TRUE(timers_.empty());
}

TEST_F(DeliveryQueueTest, PartialDeliveriesContinueInOrder) {
  sink_->per_call = 1;
  sink_->hold = true;
  queue_->Push(Result("a"));
  queue_->Push(Result("b"));  // waits: one delivery in flight
  queue_->Push(Result("c"));
  sink_->hold = false;
  auto done = std::move(sink_->held);
  done(1, absl::OkStatus());
  EXPECT_EQ(sink_->seen, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(queue_->stats().sent, 3u);
}

TEST_F(DeliveryQueueTest, RetriesWithBackoffThenDropsWithACount) {
  sink_->down = true;
  queue_->Push(Result("a"));
  queue_->Push(Result("b"));  // queued behind the pending retry
  EXPECT_EQ(delays_, (std::vector<int64_t>{100}));
  FireTimer();
  EXPECT_EQ(delays_, (std::vector<int64_t>{100, 200}));
  FireTimer();  // third failure: give up
  EXPECT_EQ(queue_->stats().dropped, 2u);
  EXPECT_EQ(queue_->stats().queued, 0u);
  EXPECT_EQ(queue_->stats().failures, 3u);
  EXPECT_EQ(queue_->stats().last_error, "target down");
  EXPECT_NE(reports_.back().find("dropped 2 result(s)"), std::string::npos) << reports_.back();
  // The target comes back: the next result goes through, counts stay.
  sink_->down = false;
  queue_->Push(Result("c"));
  EXPECT_EQ(queue_->stats().sent, 1u);
  EXPECT_EQ(queue_->stats().dropped, 2u);
}

TEST_F(DeliveryQueueTest, RecoveryBeforeGivingUpDeliversEverything) {
  sink_->down = true;
  queue_->Push(Result("a"));
  sink_->down = false;
  queue_->Push(Result("b"));
  FireTimer();
  EXPECT_EQ(queue_->stats().sent, 2u);
  EXPECT_EQ(queue_->stats().dropped, 0u);
}

TEST_F(DeliveryQueueTest, OverflowDropsTheOldest) {
  sink_->down = true;
  for (const char* r : {"1", "2", "3", "4", "5", "6"}) queue_->Push(Result(r));
  EXPECT_EQ(queue_->stats().queued, 4u);
  EXPECT_EQ(queue_->stats().dropped, 2u);
  sink_->down = false;
  FireTimer();
  EXPECT_EQ(sink_->seen.back(), "3");
  EXPECT_EQ(queue_->stats().sent, 4u);
}

TEST_F(DeliveryQueueTest, BackoffIsCapped) {
  EXPECT_EQ(queue_->Backoff(1), milliseconds(100));
  EXPECT_EQ(queue_->Backoff(2), milliseconds(200));
  EXPECT_EQ(queue_->Backoff(3), milliseconds(300));
  EXPECT_EQ(queue_->Backoff(30), milliseconds(300));
}

}  // namespace
}  // namespace vigil::passive
