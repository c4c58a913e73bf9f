#include "supervisor/passive/nsca_sink.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "supervisor/passive/sink_testing.h"
#include "supervisor/pidfd_source.h"

namespace vigil::passive {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Real loop, timers and processes; parameterized over clone3 and the fork
// fallback of the Spawner.
class NscaSinkTest : public ::testing::TestWithParam<Spawner::Method> {
 protected:
  struct Outcome {
    size_t delivered = 0;
    absl::Status status;
    Clock::time_point at;
  };

  void SetUp() override {
    signal(SIGPIPE, SIG_IGN);  // as vigild
    auto test_loop = testing::TestLoop::Create();
    ASSERT_TRUE(test_loop.ok()) << test_loop.status();
    test_loop_ = *std::move(test_loop);
    char dir[] = "/tmp/nsca-sink-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override {
    sink_.reset();
    std::filesystem::remove_all(dir_);
  }

  void MakeSink(std::vector<std::string> argv, milliseconds timeout = std::chrono::seconds(30)) {
    sink_ = std::make_unique<NscaSink>(*test_loop_.loop, *test_loop_.timers, Spawner(GetParam()),
                                       std::move(argv), timeout);
  }
  static std::vector<PassiveResult> Batch(int n) {
    std::vector<PassiveResult> batch;
    for (int i = 0; i < n; ++i) {
      PassiveResult r;
      r.host = "web01";
      r.service = absl::StrCat("svc", i);
      r.status = i % 4;
      r.output = "text";
      batch.push_back(std::move(r));
    }
    return batch;
  }
  // Delivers and runs the loop until done is called or `limit` passes.
  // `between` runs before each wait, like the rest of vigild's loop would.
  std::optional<Outcome> DeliverAndWait(const std::vector<PassiveResult>& batch,
                                        milliseconds limit = milliseconds(20000),
                                        const std::function<void()>& between = nullptr) {
    std::optional<Outcome> outcome;
    sink_->Deliver(batch, [&](size_t n, absl::Status status) {
      outcome = Outcome{n, std::move(status), Clock::now()};
    });
    test_loop_.RunUntil([&] { return outcome.has_value(); }, limit, between);
    return outcome;
  }
  void RunLoopFor(milliseconds duration) {
    test_loop_.RunUntil([] { return false; }, duration);
  }
  static std::string Children() {
    return Slurp(absl::StrCat("/proc/self/task/", getpid(), "/children"));
  }

  testing::TestLoop test_loop_;
  std::string dir_;
  std::unique_ptr<NscaSink> sink_;
};

TEST_P(NscaSinkTest, WritesTheBatchToStdinAndSucceedsWhenTheCommandExitsZero) {
  const std::string out = dir_ + "/out";
  MakeSink({"/bin/sh", "-c", "cat > " + out});
  // Bigger than a pipe's buffer: written over several loop iterations.
  const std::vector<PassiveResult> batch = Batch(5000);
  auto outcome = DeliverAndWait(batch);
  ASSERT_TRUE(outcome.has_value());
  EXPECT_TRUE(outcome->status.ok()) << outcome->status;
  EXPECT_EQ(outcome->delivered, batch.size());
  EXPECT_EQ(Slurp(out), NscaInput(batch));
  EXPECT_EQ(Children(), "");  // reaped
}

// A unit started while a delivery is in flight must not hold the command's
// stdin open (send_nsca would wait for EOF until the timeout).
TEST_P(NscaSinkTest, AUnitSpawnedMeanwhileDoesNotHoldTheCommandsStdin) {
  const std::string out = dir_ + "/out";
  MakeSink({"/bin/sh", "-c", "cat > " + out});
  std::optional<PidfdSource> unit;
  auto spawn_unit_once = [&] {
    if (unit) return;
    SpawnRequest request;
    request.argv = {"/bin/sleep", "600"};
    auto spawned = Spawner(GetParam()).Spawn(request);
    ASSERT_TRUE(spawned.ok()) << spawned.status();
    unit.emplace(*std::move(spawned));
  };
  const std::vector<PassiveResult> batch = Batch(5000);  // several loop turns
  auto outcome = DeliverAndWait(batch, milliseconds(20000), spawn_unit_once);
  ASSERT_TRUE(unit.has_value());
  ASSERT_TRUE(unit->SendSignal(SIGKILL).ok());
  ASSERT_TRUE(outcome.has_value()) << "the delivery never ended";
  EXPECT_TRUE(outcome->status.ok()) << outcome->status;
  EXPECT_EQ(Slurp(out), NscaInput(batch));
  waitpid(unit->pid(), nullptr, 0);
}

// As PID 1 vigild reaps every exited child when SIGCHLD comes; the
// command's exit status must still reach the sink.
TEST_P(NscaSinkTest, ExitStatusSurvivesAReaperOfEveryOtherChild) {
  MakeSink({"/bin/sh", "-c", "cat >/dev/null; exit 3"});
  auto reap_everything = [] { ReapExitedChildren(); };
  auto outcome = DeliverAndWait(Batch(2), milliseconds(20000), reap_everything);
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->delivered, 0u);
  EXPECT_EQ(outcome->status.message(), "/bin/sh exited with status 3");
}

// A command that never exits (here: it reads its input, then hangs, with a
// background child holding the pipe too) fails the delivery at the timeout,
// and everything it started is killed and reaped.
TEST_P(NscaSinkTest, ACommandThatNeverExitsIsKilledAtTheTimeout) {
  const std::string bg = dir_ + "/bg";
  MakeSink({"/bin/sh", "-c", "sleep 600 & echo $! > " + bg + "; cat >/dev/null; wait"},
           milliseconds(2000));
  const auto start = Clock::now();
  auto outcome = DeliverAndWait(Batch(1));
  ASSERT_TRUE(outcome.has_value()) << "no outcome within 20 s";
  EXPECT_TRUE(absl::IsDeadlineExceeded(outcome->status)) << outcome->status;
  EXPECT_EQ(outcome->status.message(), "/bin/sh did not finish within 2000ms (killed)");
  EXPECT_GE(outcome->at - start, milliseconds(2000));
  EXPECT_LT(outcome->at - start, milliseconds(10000));  // generous: the timeout is the feature
  // The killed command is reaped through its pidfd; its background child
  // was killed with its session (gone or a zombie of whoever adopted it).
  for (int i = 0; i < 100 && Children() != ""; ++i) RunLoopFor(milliseconds(100));
  EXPECT_EQ(Children(), "");
  int bg_pid = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(Slurp(bg)), &bg_pid)) {
    return;  // a machine so loaded that sh never got that far in 2 s
  }
  std::string state;
  for (int i = 0; i < 100; ++i) {
    std::istringstream stat(Slurp(absl::StrCat("/proc/", bg_pid, "/stat")));
    std::string pid, comm;
    state.clear();
    stat >> pid >> comm >> state;
    if (state.empty() || state == "Z" || state == "X") break;
    usleep(50000);
  }
  EXPECT_TRUE(state.empty() || state == "Z" || state == "X") << "background sleep: " << state;
}

// vigild stopping with a delivery in flight: the command may not even have
// started running yet. Destroying the sink must never wait for it (it once
// blocked in waitpid while holding the command's stdin open: a deadlock).
TEST_P(NscaSinkTest, DestroyingTheSinkWithADeliveryInFlightNeverWaits) {
  for (int i = 0; i < 20; ++i) {
    MakeSink({"/bin/sh", "-c", "cat >/dev/null"});
    std::optional<absl::Status> status;
    sink_->Deliver(Batch(1), [&](size_t, absl::Status s) { status = std::move(s); });
    const auto start = Clock::now();
    sink_.reset();
    EXPECT_LT(Clock::now() - start, milliseconds(2000));
    ASSERT_TRUE(status.has_value());
    EXPECT_TRUE(absl::IsCancelled(*status)) << *status;
  }
}

TEST_P(NscaSinkTest, ACommandThatCannotStartFailsTheDelivery) {
  MakeSink({dir_ + "/no-such-send_nsca"});
  auto outcome = DeliverAndWait(Batch(1));
  ASSERT_TRUE(outcome.has_value());
  EXPECT_FALSE(outcome->status.ok());
  EXPECT_NE(outcome->status.message().find("no-such-send_nsca"), absl::string_view::npos)
      << outcome->status;
}

INSTANTIATE_TEST_SUITE_P(Methods, NscaSinkTest,
                         ::testing::Values(Spawner::Method::kClone3, Spawner::Method::kFork),
                         [](const auto& info) {
                           return info.param == Spawner::Method::kClone3 ? "clone3" : "fork";
                         });

}  // namespace
}  // namespace vigil::passive
