#include "supervisor/rlimit/client_connection.h"

#include <poll.h>
#include <sys/socket.h>

#include <cstring>

#include "gtest/gtest.h"

namespace vigil::rlimit {
namespace {

class ClientConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loop = EventLoop::Create(EventLoop::Backend::kAuto);
    ASSERT_TRUE(loop.ok()) << loop.status();
    loop_ = *std::move(loop);
    int fds[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    peer_ = UniqueFd(fds[1]);
    auto connection = ClientConnection::Create(
        *loop_, UniqueFd(fds[0]), 7, /*queue_limit=*/8,
        {[this](ClientConnection&, absl::string_view record, size_t received) {
           records_.push_back({std::string(record), received});
         },
         [this](ClientConnection&) { closed_ = true; }});
    ASSERT_TRUE(connection.ok()) << connection.status();
    connection_ = *std::move(connection);
  }

  // Lets the connection flush what it holds (it then waits for POLLOUT,
  // which the peer's reading provides).
  void Pump() {
    if (connection_->queued() > 0) ASSERT_TRUE(loop_->RunOnce().ok());
  }

  std::vector<rle_event> DrainPeer() {
    std::vector<rle_event> events;
    char buffer[RLE_MAX_MESSAGE];
    for (;;) {
      ssize_t n = recv(peer_.get(), buffer, sizeof buffer, MSG_DONTWAIT);
      if (n <= 0) break;
      rle_event e;
      std::memcpy(&e, buffer + sizeof(rle_header), sizeof e);
      events.push_back(e);
    }
    return events;
  }

  std::unique_ptr<EventLoop> loop_;
  UniqueFd peer_;
  std::unique_ptr<ClientConnection> connection_;
  std::vector<std::pair<std::string, size_t>> records_;
  bool closed_ = false;
};

TEST_F(ClientConnectionTest, KnowsItsPeerAndDeliversRecordsWithTheirRealLength) {
  EXPECT_EQ(connection_->peer().pid, getpid());
  EXPECT_EQ(connection_->peer().uid, getuid());
  ASSERT_EQ(send(peer_.get(), "hello", 5, 0), 5);
  std::string big(RLE_MAX_MESSAGE + 100, 'x');
  ASSERT_EQ(send(peer_.get(), big.data(), big.size(), 0), static_cast<ssize_t>(big.size()));
  ASSERT_TRUE(loop_->RunOnce().ok());
  ASSERT_EQ(records_.size(), 2u);
  EXPECT_EQ(records_[0].first, "hello");
  EXPECT_EQ(records_[0].second, 5u);
  EXPECT_EQ(records_[1].first.size(), static_cast<size_t>(RLE_MAX_MESSAGE));
  EXPECT_EQ(records_[1].second, big.size());
}

TEST_F(ClientConnectionTest, ASlowReaderLosesEventsCountedInOneOverflowEvent) {
  // Far more than the socket buffer and the 8-record queue can hold.
  constexpr int kSent = 5000;
  for (int i = 0; i < kSent; ++i) {
    rle_event e{};
    e.type = RLE_EV_CROSSING;
    e.value = i;
    connection_->SendEvent(e);  // never blocks
  }
  EXPECT_LE(connection_->queued(), 8u);
  EXPECT_GT(connection_->lost(), 0u);
  int crossings = 0;
  uint64_t lost = 0;
  int overflows = 0;
  int64_t last_value = -1;
  for (int round = 0; round < 100 && crossings + lost < kSent; ++round) {
    for (const rle_event& e : DrainPeer()) {
      if (e.type == RLE_EV_OVERFLOW) {
        ++overflows;
        lost += e.lost;
      } else {
        EXPECT_GT(e.value, last_value);  // in order, none twice
        last_value = e.value;
        ++crossings;
      }
    }
    Pump();
  }
  EXPECT_EQ(overflows, 1);
  EXPECT_EQ(crossings + lost, static_cast<uint64_t>(kSent));
  EXPECT_EQ(connection_->lost(), 0u);
}

TEST_F(ClientConnectionTest, RepliesAreNeverDroppedAndReadingPausesWhileFull) {
  for (int i = 0; i < 5000; ++i) connection_->SendReply(std::string(64, 'r'));
  EXPECT_GT(connection_->queued(), 8u);  // all kept
  // Requests are not read while the queue is full.
  ASSERT_EQ(send(peer_.get(), "req", 3, 0), 3);
  size_t replies = 0;
  for (int round = 0; round < 1000 && replies < 5000; ++round) {
    char buffer[RLE_MAX_MESSAGE];
    while (recv(peer_.get(), buffer, sizeof buffer, MSG_DONTWAIT) > 0) ++replies;
    if (connection_->queued() >= 8) EXPECT_TRUE(records_.empty());
    ASSERT_TRUE(loop_->RunOnce().ok());
  }
  EXPECT_EQ(replies, 5000u);
  for (int i = 0; i < 3 && records_.empty(); ++i) ASSERT_TRUE(loop_->RunOnce().ok());
  EXPECT_EQ(records_.size(), 1u);
}

TEST_F(ClientConnectionTest, HangupClosesOnce) {
  peer_.reset();
  ASSERT_TRUE(loop_->RunOnce().ok());
  EXPECT_TRUE(closed_);
  connection_->SendEvent(rle_event{});  // harmless after close
}

}  // namespace
}  // namespace vigil::rlimit
