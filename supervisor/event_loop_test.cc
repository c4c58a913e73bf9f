#include "supervisor/event_loop.h"

#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "supervisor/timer_queue.h"

namespace vigil {
namespace {

class EventLoopTest : public testing::TestWithParam<EventLoop::Backend> {
 protected:
  void SetUp() override {
    auto loop = EventLoop::Create(GetParam());
    ASSERT_TRUE(loop.ok()) << loop.status();
    loop_ = *std::move(loop);
    ASSERT_EQ(pipe(fds_), 0);
  }
  void TearDown() override {
    close(fds_[0]);
    close(fds_[1]);
  }
  std::unique_ptr<EventLoop> loop_;
  int fds_[2];
};

TEST_P(EventLoopTest, DispatchesReadinessAndIsLevelTriggered) {
  std::string got;
  auto id = loop_->Add(fds_[0], POLLIN, [&](uint32_t revents) {
    ASSERT_TRUE(revents & POLLIN);
    char c;
    ASSERT_EQ(read(fds_[0], &c, 1), 1);  // one byte per call: rest stays ready
    got += c;
  });
  ASSERT_TRUE(id.ok());
  ASSERT_EQ(write(fds_[1], "abc", 3), 3);
  while (got.size() < 3) ASSERT_TRUE(loop_->RunOnce().ok());
  EXPECT_EQ(got, "abc");
}

TEST_P(EventLoopTest, RemoveFromOwnCallbackStopsDispatch) {
  int calls = 0;
  EventLoop::WatchId id = 0;
  auto added = loop_->Add(fds_[0], POLLIN, [&](uint32_t) {
    ++calls;
    loop_->Remove(id);
  });
  ASSERT_TRUE(added.ok());
  id = *added;
  // A second fd that is always ready keeps the loop turning.
  int other[2];
  ASSERT_EQ(pipe(other), 0);
  int other_calls = 0;
  ASSERT_TRUE(loop_->Add(other[0], POLLIN, [&](uint32_t) { ++other_calls; }).ok());
  ASSERT_EQ(write(other[1], "x", 1), 1);
  ASSERT_EQ(write(fds_[1], "x", 1), 1);  // never read: stays ready
  while (other_calls < 5) ASSERT_TRUE(loop_->RunOnce().ok());
  EXPECT_EQ(calls, 1);
  close(other[0]);
  close(other[1]);
}

TEST_P(EventLoopTest, TimerQueueFiresInDeadlineOrderAndDisarmsWhenEmpty) {
  auto timers = TimerQueue::Create(*loop_);
  ASSERT_TRUE(timers.ok());
  std::vector<int> order;
  auto start = std::chrono::steady_clock::now();
  (*timers)->ScheduleAfter(std::chrono::milliseconds(30), [&] { order.push_back(2); });
  (*timers)->ScheduleAfter(std::chrono::milliseconds(10), [&] { order.push_back(1); });
  auto cancelled =
      (*timers)->ScheduleAfter(std::chrono::milliseconds(20), [&] { order.push_back(99); });
  (*timers)->Cancel(cancelled);
  EXPECT_TRUE((*timers)->armed());
  while (order.size() < 2) ASSERT_TRUE(loop_->RunOnce().ok());
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(30));
  EXPECT_FALSE((*timers)->armed());
  EXPECT_EQ((*timers)->pending(), 0u);
}

TEST_P(EventLoopTest, TimerCallbackCancelsATimerDueInTheSameWakeup) {
  auto timers = TimerQueue::Create(*loop_);
  ASSERT_TRUE(timers.ok());
  std::vector<int> fired;
  TimerQueue::TimerId second = 0;
  (*timers)->ScheduleAfter(std::chrono::milliseconds(5), [&] {
    fired.push_back(1);
    (*timers)->Cancel(second);
  });
  second = (*timers)->ScheduleAfter(std::chrono::milliseconds(5), [&] { fired.push_back(2); });
  // Both are due by the time the loop first runs.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  while ((*timers)->armed()) ASSERT_TRUE(loop_->RunOnce().ok());
  EXPECT_EQ(fired, std::vector<int>{1});
}

TEST_P(EventLoopTest, TimerScheduledByACallbackWaitsForTheNextWakeup) {
  auto timers = TimerQueue::Create(*loop_);
  ASSERT_TRUE(timers.ok());
  int runs = 0;
  std::function<void()> again = [&] {
    if (++runs < 3) (*timers)->ScheduleAfter(std::chrono::nanoseconds(0), again);
  };
  (*timers)->ScheduleAfter(std::chrono::nanoseconds(0), again);
  ASSERT_TRUE(loop_->RunOnce().ok());
  EXPECT_EQ(runs, 1);
  while (runs < 3) ASSERT_TRUE(loop_->RunOnce().ok());
  EXPECT_FALSE((*timers)->armed());
}

INSTANTIATE_TEST_SUITE_P(Backends, EventLoopTest,
                         testing::Values(EventLoop::Backend::kIoUring,
                                         EventLoop::Backend::kEpoll),
                         [](const auto& info) {
                           return info.param == EventLoop::Backend::kIoUring
                                      ? std::string("IoUring")
                                      : std::string("Epoll");
                         });

}  // namespace
}  // namespace vigil
