// Passive results from vigild (issue 8): a unit's crash and recovery pushed
// the moment they happen into a Nagios command FIFO, to a send_nsca stand-in
// and to a fake Icinga 2 API on 127.0.0.1; a target that stays down is
// retried with backoff, then its results are dropped and counted.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "supervisor/passive/sink_testing.h"
#include "test/vigild_harness.h"

namespace vigil::testing {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// Reads lines from a FIFO (opened before vigild writes to it).
class FifoReader {
 public:
  explicit FifoReader(const std::string& path) {
    mkfifo(path.c_str(), 0600);
    fd_ = open(path.c_str(), O_RDONLY | O_NONBLOCK);
  }
  ~FifoReader() { close(fd_); }
  // The next line containing `needle`, or "" after `timeout`.
  std::string WaitFor(const std::string& needle, milliseconds timeout = milliseconds(5000)) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      size_t newline;
      while ((newline = buffer_.find('\n')) != std::string::npos) {
        std::string line = buffer_.substr(0, newline);
        buffer_.erase(0, newline + 1);
        if (absl::StrContains(line, needle)) return line;
      }
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return "";
      pollfd p{fd_, POLLIN, 0};
      poll(&p, 1, static_cast<int>(left.count()));
      char chunk[4096];
      ssize_t n = read(fd_, chunk, sizeof(chunk));
      if (n > 0) buffer_.append(chunk, static_cast<size_t>(n));
      if (n == 0) std::this_thread::sleep_for(milliseconds(5));  // no writer right now
    }
  }

 private:
  int fd_;
  std::string buffer_;
};

// A minimal HTTP/1.1 server standing in for Icinga 2's API: records each
// request (head and body) and answers 200.
class FakeIcinga {
 public:
  FakeIcinga() : fd_(passive::testing::ListenOnLoopback(&port_)) {
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeIcinga() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    thread_.join();
    close(fd_);
  }
  int port() const { return port_; }
  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  std::string WaitFor(const std::string& needle, milliseconds timeout = milliseconds(5000)) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      for (const std::string& r : requests()) {
        if (absl::StrContains(r, needle)) return r;
      }
      std::this_thread::sleep_for(milliseconds(5));
    }
    return "";
  }

 private:
  void Serve() {
    while (!stop_) {
      int client = accept(fd_, nullptr, nullptr);
      if (client < 0) return;
      std::string request;
      char chunk[4096];
      size_t body_at = std::string::npos, length = 0;
      while (body_at == std::string::npos || request.size() < body_at + length) {
        ssize_t n = read(client, chunk, sizeof(chunk));
        if (n <= 0) break;
        request.append(chunk, static_cast<size_t>(n));
        if (body_at == std::string::npos && (body_at = request.find("\r\n\r\n")) != std::string::npos) {
          body_at += 4;
          size_t at = request.find("Content-Length: ");
          if (at != std::string::npos) {
            (void)absl::SimpleAtoi(request.substr(at + 16, request.find("\r\n", at) - at - 16),
                                   &length);
          }
        }
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(request);
      }
      const std::string reply =
          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 14\r\n"
          "Connection: close\r\n\r\n{\"results\":[]}";
      (void)!write(client, reply.data(), reply.size());
      close(client);
    }
  }

  int port_ = 0;
  int fd_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> requests_;
};

// A port on 127.0.0.1 where nothing listens.
int ClosedPort() {
  int port = 0;
  close(passive::testing::ListenOnLoopback(&port));
  return port;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(PassiveTest, CrashAndRecoveryReachEveryTargetAtOnce) {
  VigildHarness vigild;
  FifoReader fifo(vigild.dir() + "/nagios.cmd");
  FakeIcinga icinga;
  const std::string nsca_out = vigild.dir() + "/nsca.out";
  vigild.AddMainConfig(absl::StrCat(
      "nagios:\n  host: web01\n  command_file: ", vigild.dir(), "/nagios.cmd\n",
      "  nsca: {command: [/bin/sh, -c, 'cat >> ", nsca_out, "']}\n",
      "  icinga2: {url: \"http://127.0.0.1:", icinga.port(), "\", user: vigil, password: pw}\n"));
  vigild.WriteUnit("crasher", "exec: [/bin/sleep, '600']\nrestart: never\n");
  ASSERT_TRUE(vigild.Start().ok()) << vigild.ReadLog();
  auto running = vigild.WaitForState("crasher", "running");
  ASSERT_TRUE(running.ok());
  EXPECT_NE(fifo.WaitFor("PROCESS_SERVICE_CHECK_RESULT;web01;vigil crasher;0;UNIT OK: crasher running"),
            "");
  const int pid = static_cast<int>(EventInt(*running, "pid"));
  const auto killed = Clock::now();
  kill(pid, SIGKILL);
  std::string critical = fifo.WaitFor(";vigil crasher;2;UNIT CRITICAL: crasher failed");
  const auto seen = Clock::now();
  ASSERT_NE(critical, "") << vigild.ReadLog();
  // Pushed the moment it happens: milliseconds on a quiet machine; the bound
  // leaves room for a loaded one, below the first retry's 1 s backoff.
  EXPECT_LT(seen - killed, milliseconds(1000));
  EXPECT_TRUE(absl::StrContains(critical, "killed by signal 9") ||
              absl::StrContains(critical, "SIGKILL"))
      << critical;

  std::string posted = icinga.WaitFor("\"exit_status\":2");
  ASSERT_NE(posted, "");
  EXPECT_TRUE(absl::StartsWith(posted, "POST /v1/actions/process-check-result HTTP/1.1")) << posted;
  EXPECT_TRUE(absl::StrContains(posted, "Authorization: Basic dmlnaWw6cHc=")) << posted;
  EXPECT_TRUE(absl::StrContains(
      posted, R"("filter":"host.name==\"web01\" && service.name==\"vigil crasher\"")"))
      << posted;

  // Recovery: started again by hand, OK everywhere.
  ASSERT_TRUE(vigild.Request("start", "crasher").ok());
  EXPECT_NE(fifo.WaitFor(";vigil crasher;0;UNIT OK: crasher running"), "");
  EXPECT_NE(icinga.WaitFor("\"exit_status\":0,\"plugin_output\":\"UNIT OK: crasher running"), "");
  const std::string recovered = "web01\tvigil crasher\t0\tUNIT OK: crasher running (pid ";
  auto recovered_twice = [&] {
    const std::string text = Slurp(nsca_out);
    const size_t first = text.find(recovered);
    return first != std::string::npos && text.find(recovered, first + 1) != std::string::npos;
  };
  for (int i = 0; i < 500 && !recovered_twice(); ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  const std::string nsca = Slurp(nsca_out);
  EXPECT_TRUE(absl::StrContains(nsca, "web01\tvigil crasher\t2\tUNIT CRITICAL: crasher failed"))
      << nsca;
  EXPECT_TRUE(recovered_twice()) << nsca;

  // A target counts a delivery once it has ended (send_nsca exited, Icinga
  // answered), a little after the bytes were seen: wait for the counts.
  json::Value stats;
  auto all_sent = [&] {
    auto reply = vigild.Request("nagios");
    if (!reply.ok()) return false;
    stats = *reply;
    for (const json::Value& target : stats.Find("targets")->AsArray()) {
      if (target.Find("sent")->AsInt() < 3) return false;
    }
    return true;
  };
  for (int i = 0; i < 1000 && !all_sent(); ++i) std::this_thread::sleep_for(milliseconds(10));
  for (const json::Value& target : stats.Find("targets")->AsArray()) {
    EXPECT_EQ(target.Find("dropped")->AsInt(), 0) << json::Serialize(target);
    EXPECT_GE(target.Find("sent")->AsInt(), 3) << json::Serialize(target);
  }
  // Stopping publishes the unit's last states, so deliveries start as vigild
  // stops: it must still stop at once (it once deadlocked there).
  const auto stopping = Clock::now();
  auto stopped = vigild.Stop();
  EXPECT_TRUE(stopped.ok()) << stopped.status();
  EXPECT_LT(Clock::now() - stopping, milliseconds(10000));
  if (HasFailure()) ADD_FAILURE() << "vigild log:\n" << vigild.ReadLog();
}

TEST(PassiveTest, TargetsThatStayDownAreRetriedThenDroppedWithACount) {
  VigildHarness vigild;
  vigild.AddMainConfig(absl::StrCat(
      "nagios:\n  command_file: ", vigild.dir(), "/nobody-reads.cmd\n",
      "  nsca: {command: [/bin/sh, -c, 'cat >/dev/null; exit 2']}\n",
      "  icinga2: {url: \"http://127.0.0.1:", ClosedPort(), "\"}\n",
      "  retry: {initial: 50ms, max: 100ms, attempts: 3}\n"));
  mkfifo((vigild.dir() + "/nobody-reads.cmd").c_str(), 0600);
  vigild.WriteUnit("steady", "exec: [/bin/sleep, '600']\n");
  ASSERT_TRUE(vigild.Start().ok()) << vigild.ReadLog();
  ASSERT_TRUE(vigild.WaitForState("steady", "running").ok());
  // starting? no: attached units go straight to running; one result each.
  json::Value stats;
  for (int i = 0; i < 300; ++i) {
    auto reply = vigild.Request("nagios");
    ASSERT_TRUE(reply.ok());
    stats = *reply;
    bool all_dropped = true;
    for (const json::Value& target : stats.Find("targets")->AsArray()) {
      all_dropped = all_dropped && target.Find("dropped")->AsInt() >= 1;
    }
    if (all_dropped) break;
    std::this_thread::sleep_for(milliseconds(10));
  }
  ASSERT_EQ(stats.Find("targets")->AsArray().size(), 3u);
  for (const json::Value& target : stats.Find("targets")->AsArray()) {
    SCOPED_TRACE(json::Serialize(target));
    EXPECT_GE(target.Find("dropped")->AsInt(), 1);
    EXPECT_EQ(target.Find("sent")->AsInt(), 0);
    EXPECT_EQ(target.Find("failures")->AsInt() % 3, 0);
    EXPECT_GE(target.Find("failures")->AsInt(), 3);
    EXPECT_EQ(target.Find("queued")->AsInt(), 0);
  }
  const std::string log = vigild.ReadLog();
  EXPECT_TRUE(absl::StrContains(log, "nothing reads the command file")) << log;
  EXPECT_TRUE(absl::StrContains(log, "/bin/sh exited with status 2")) << log;
  EXPECT_TRUE(absl::StrContains(log, "Connection refused") ||
              absl::StrContains(log, "Couldn't connect"))
      << log;
  EXPECT_TRUE(absl::StrContains(log, "gave up after 3 attempts, dropped")) << log;
  EXPECT_TRUE(absl::StrContains(log, "retrying in 50ms")) << log;
  EXPECT_TRUE(absl::StrContains(log, "retrying in 100ms")) << log;
  auto stopped = vigild.Stop();
  EXPECT_TRUE(stopped.ok()) << stopped.status() << "\n" << vigild.ReadLog();
}

}  // namespace
}  // namespace vigil::testing
