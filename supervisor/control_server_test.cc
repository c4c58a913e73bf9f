#include "supervisor/control_server.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "gtest/gtest.h"

namespace vigil {
namespace {

class ControlServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = "/tmp/vigil-cs-test-" + std::to_string(getpid()) + ".sock";
    loop_ = *EventLoop::Create(EventLoop::Backend::kAuto);
    auto server = ControlServer::Listen(
        *loop_, path_, 0600,
        [](const json::Value& request) {
          return json::Value::Object().Set("ok", true).Set("echo", *request.Find("cmd"));
        },
        /*max_queued_bytes=*/64 * 1024);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  int Connect() {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, path_.c_str());
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    return fd;
  }

  // Runs the loop until `fd` has data, then reads what is there.
  std::string Exchange(int fd, const std::string& send_line) {
    EXPECT_EQ(write(fd, send_line.data(), send_line.size()),
              static_cast<ssize_t>(send_line.size()));
    pollfd pfd{fd, POLLIN, 0};
    while (poll(&pfd, 1, 0) == 0) EXPECT_TRUE(loop_->RunOnce().ok());
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf);
    return std::string(buf, n > 0 ? n : 0);
  }

  std::string path_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<ControlServer> server_;
};

TEST_F(ControlServerTest, SocketHasRequestedModeAndAnswersLines) {
  struct stat st;
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  int fd = Connect();
  EXPECT_EQ(Exchange(fd, "{\"cmd\":\"hi\"}\n"), "{\"ok\":true,\"echo\":\"hi\"}\n");
  close(fd);
}

// A subscriber that never reads: vigild keeps at most the queue limit for it,
// counts what it drops, and says so in the stream once there is room again.
TEST_F(ControlServerTest, SlowSubscriberLosesCountedEventsNeverBlocksTheServer) {
  int fd = Connect();
  EXPECT_EQ(Exchange(fd, "{\"cmd\":\"events\"}\n"), "{\"ok\":true,\"subscribed\":true}\n");
  const int kEvents = 20000;
  std::string padding(150, 'x');
  for (int i = 0; i < kEvents; ++i) {
    server_->Broadcast(json::Value::Object().Set("n", i).Set("pad", padding));
  }
  // An always-ready fd keeps RunOnce from blocking while we drain.
  int always[2];
  ASSERT_EQ(pipe(always), 0);
  ASSERT_EQ(write(always[1], "x", 1), 1);
  ASSERT_TRUE(loop_->Add(always[0], POLLIN, [](uint32_t) {}).ok());
  std::string received;
  auto drain = [&] {
    for (int idle_rounds = 0; idle_rounds < 20;) {
      ASSERT_TRUE(loop_->RunOnce().ok());
      char buf[65536];
      ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        received.append(buf, n);
        idle_rounds = 0;
      } else {
        ++idle_rounds;
      }
    }
  };
  drain();
  server_->Broadcast(json::Value::Object().Set("n", kEvents).Set("pad", padding));
  drain();
  int events = 0;
  int64_t lost = 0;
  size_t pos = 0;
  while (pos < received.size()) {
    size_t end = received.find('\n', pos);
    ASSERT_NE(end, std::string::npos);
    auto line = json::Parse(std::string_view(received).substr(pos, end - pos));
    ASSERT_TRUE(line.ok()) << line.status();
    if (const json::Value* kind = line->Find("kind")) {
      EXPECT_EQ(kind->AsString(), "overflow");
      lost += line->Find("lost")->AsInt();
    } else {
      ++events;
    }
    pos = end + 1;
  }
  EXPECT_GT(lost, 0);
  EXPECT_EQ(events + lost, kEvents + 1) << "every event is either delivered or counted";
  close(fd);
  close(always[0]);
  close(always[1]);
}

}  // namespace
}  // namespace vigil
