#include "supervisor/passive/icinga2_sink.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "supervisor/passive/sink_testing.h"

namespace vigil::passive {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// A socket on 127.0.0.1 that listens but never accepts: connections
// complete in the backlog, and no request is ever answered.
class SilentServer {
 public:
  SilentServer() : fd_(testing::ListenOnLoopback(&port_)) {}
  ~SilentServer() { close(fd_); }
  int port() const { return port_; }

 private:
  int port_ = 0;
  int fd_;
};

// Descriptors of this process that a child would inherit through exec.
std::vector<std::string> InheritableFds() {
  std::vector<std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    const int fd = std::atoi(entry.path().filename().c_str());
    if (fd <= 2) continue;
    const int flags = fcntl(fd, F_GETFD);
    if (flags >= 0 && !(flags & FD_CLOEXEC)) {
      std::error_code error;
      out.push_back(absl::StrCat(fd, " -> ",
                                 std::filesystem::read_symlink(entry.path(), error).string()));
    }
  }
  return out;
}

class Icinga2SinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(Icinga2Sink::GlobalInit().ok());
    auto test_loop = testing::TestLoop::Create();
    ASSERT_TRUE(test_loop.ok()) << test_loop.status();
    test_loop_ = *std::move(test_loop);
    inherited_before_ = InheritableFds();
  }
  void MakeSink(int port, milliseconds timeout) {
    config::NagiosConfig::Icinga2 config;
    config.url = absl::StrCat("http://127.0.0.1:", port);
    auto sink = Icinga2Sink::Create(*test_loop_.loop, *test_loop_.timers, config, timeout);
    ASSERT_TRUE(sink.ok()) << sink.status();
    sink_ = *std::move(sink);
  }
  // Delivers one result and runs the loop until done (or 30 s). `during`
  // runs on each loop turn while in flight.
  std::optional<absl::Status> Deliver(const std::function<void()>& during = nullptr) {
    std::optional<absl::Status> outcome;
    PassiveResult result;
    result.host = "web01";
    result.service = "vigil crasher";
    result.status = 2;
    sink_->Deliver({result}, [&](size_t, absl::Status status) { outcome = std::move(status); });
    test_loop_.RunUntil([&] { return outcome.has_value(); }, std::chrono::seconds(30), during);
    return outcome;
  }

  testing::TestLoop test_loop_;
  std::unique_ptr<Icinga2Sink> sink_;
  std::vector<std::string> inherited_before_;
};

// An Icinga that accepts the connection and never answers: the delivery
// fails at the configured timeout (curl's timer driven by vigild's loop),
// and meanwhile no descriptor of curl's would leak into a spawned process.
TEST_F(Icinga2SinkTest, AServerThatNeverAnswersTimesOut) {
  SilentServer server;
  MakeSink(server.port(), milliseconds(1000));
  EXPECT_EQ(InheritableFds(), inherited_before_) << "curl_multi_init leaked descriptors";
  std::vector<std::string> leaked;
  const auto start = Clock::now();
  auto outcome = Deliver([&] {
    for (const std::string& fd : InheritableFds()) {
      if (std::find(inherited_before_.begin(), inherited_before_.end(), fd) ==
          inherited_before_.end()) {
        leaked.push_back(fd);
      }
    }
  });
  const auto took = Clock::now() - start;
  ASSERT_TRUE(outcome.has_value()) << "no outcome within 30 s";
  EXPECT_TRUE(absl::IsUnavailable(*outcome)) << *outcome;
  EXPECT_TRUE(absl::StrContains(outcome->message(), "timed out")) << *outcome;
  EXPECT_GE(took, milliseconds(1000));
  EXPECT_LT(took, milliseconds(10000));  // generous: the timeout is the feature
  EXPECT_TRUE(leaked.empty()) << leaked.front();
}

TEST_F(Icinga2SinkTest, NothingListeningFailsAtOnce) {
  int port;
  {
    SilentServer closed;  // bound, then closed: nothing listens there
    port = closed.port();
  }
  MakeSink(port, milliseconds(10000));
  const auto start = Clock::now();
  auto outcome = Deliver();
  ASSERT_TRUE(outcome.has_value());
  EXPECT_TRUE(absl::IsUnavailable(*outcome)) << *outcome;
  EXPECT_LT(Clock::now() - start, milliseconds(5000)) << *outcome;
}

}  // namespace
}  // namespace vigil::passive
