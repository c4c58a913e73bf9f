// Reload (SIGHUP and vigilctl) and the control socket's handling of bad input.
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "test/vigild_harness.h"

namespace vigil::testing {
namespace {

using std::chrono::milliseconds;

constexpr char kSleeper[] = "exec: [/bin/sleep, infinity]\n";

int PidOf(VigildHarness& vigild, const std::string& unit) {
  auto status = vigild.UnitStatus(unit);
  return status.ok() ? EventInt(*status, "pid") : -1;
}

void StartThreeSleepers(VigildHarness& vigild) {
  for (const char* name : {"keep", "change", "drop"}) vigild.WriteUnit(name, kSleeper);
  ASSERT_TRUE(vigild.Start().ok());
  // Units start in name order (no `after:`), so their events come in this order.
  for (const char* name : {"change", "drop", "keep"}) {
    ASSERT_TRUE(vigild.WaitForState(name, "running").ok()) << name;
  }
}

void ExpectReloadApplied(VigildHarness& vigild, int keep, int change, int drop) {
  ASSERT_TRUE(vigild.WaitForState("added", "running").ok());
  ASSERT_TRUE(vigild.WaitForEvent([](const json::Value& e) {
                      return EventField(e, "unit") == "change" && EventField(e, "kind") == "spawn";
                    }).ok());
  EXPECT_EQ(PidOf(vigild, "keep"), keep) << "an unchanged unit was touched";
  EXPECT_NE(PidOf(vigild, "change"), change);
  EXPECT_GT(PidOf(vigild, "change"), 0);
  EXPECT_EQ(vigild.UnitStatus("drop").status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(ProcessAlive(drop));
  EXPECT_NE(access((vigild.cgroup_root() + "/units/drop").c_str(), F_OK), 0);
  EXPECT_GT(PidOf(vigild, "added"), 0);
}

TEST(ReloadTest, VigilctlReloadAddsRemovesAndRestartsOnlyWhatChanged) {
  VigildHarness vigild;
  StartThreeSleepers(vigild);
  int keep = PidOf(vigild, "keep"), change = PidOf(vigild, "change"), drop = PidOf(vigild, "drop");
  vigild.WriteUnit("change", "exec: [/bin/sleep, '1000']\n");
  vigild.RemoveUnit("drop");
  vigild.WriteUnit("added", kSleeper);
  CommandResult ctl = RunCommand({VigilctlPath(), "--socket", vigild.socket_path(), "reload"});
  EXPECT_EQ(ctl.exit_code, 0) << ctl.err;
  EXPECT_EQ(ctl.out, "reloaded\n");
  ExpectReloadApplied(vigild, keep, change, drop);
}

TEST(ReloadTest, SighupReloads) {
  VigildHarness vigild;
  StartThreeSleepers(vigild);
  int keep = PidOf(vigild, "keep"), change = PidOf(vigild, "change"), drop = PidOf(vigild, "drop");
  vigild.WriteUnit("change", "exec: [/bin/sleep, '1000']\nenv: {X: y}\n");
  vigild.RemoveUnit("drop");
  vigild.WriteUnit("added", kSleeper);
  kill(vigild.pid(), SIGHUP);
  ExpectReloadApplied(vigild, keep, change, drop);
}

TEST(ReloadTest, InvalidFilesChangeNothingAndEveryErrorIsReported) {
  VigildHarness vigild;
  StartThreeSleepers(vigild);
  int keep = PidOf(vigild, "keep"), change = PidOf(vigild, "change"), drop = PidOf(vigild, "drop");
  vigild.WriteUnit("change", "exec: [/bin/sleep, '1000']\nrestart: sometimes\n");
  vigild.WriteUnit("added", "exec: [/bin/true]\nbogus: 1\n");
  vigild.RemoveUnit("drop");
  CommandResult ctl = RunCommand({VigilctlPath(), "--socket", vigild.socket_path(), "reload"});
  EXPECT_EQ(ctl.exit_code, 1);
  EXPECT_NE(ctl.err.find("units/change.yaml:2:1: restart: expected one of always, on-failure, never, got \"sometimes\""), std::string::npos)
      << ctl.err;
  EXPECT_NE(ctl.err.find("units/added.yaml:2:1: bogus: expected a key among exec, shell,"), std::string::npos)
      << ctl.err;
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(PidOf(vigild, "keep"), keep);
  EXPECT_EQ(PidOf(vigild, "change"), change);
  EXPECT_EQ(PidOf(vigild, "drop"), drop);
  EXPECT_EQ(vigild.UnitStatus("added").status().code(), absl::StatusCode::kNotFound);
}

class ControlSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    vigild_.WriteUnit("svc", kSleeper);
    ASSERT_TRUE(vigild_.Start().ok());
    ASSERT_TRUE(vigild_.WaitForState("svc", "running").ok());
  }
  std::string Ask(const std::string& line) {
    auto client = ControlClient::Connect(vigild_.socket_path());
    EXPECT_TRUE(client.ok());
    EXPECT_TRUE(client->SendLine(line).ok());
    auto reply = client->ReadLine(std::chrono::seconds(5));
    return reply.ok() ? *reply : std::string(reply.status().message());
  }
  VigildHarness vigild_;
};

TEST_F(ControlSocketTest, MalformedRequestsGetErrorsAndVigildCarriesOn) {
  int pid = PidOf(vigild_, "svc");
  struct Case {
    std::string request;
    std::string reply;
  } cases[] = {
      {"{", R"({"ok":false,"error":"malformed request: at byte 1: expected a string key, got end of input"})"},
      {"[1,2]", R"({"ok":false,"error":"malformed request: expected a JSON object like {\"cmd\":\"status\"}"})"},
      {"{}", R"({"ok":false,"error":"field \"cmd\" is missing"})"},
      {R"({"cmd":5})", R"({"ok":false,"error":"field \"cmd\": expected a string, got number"})"},
      {R"({"cmd":"explode"})", R"({"ok":false,"error":"field \"cmd\": unknown command \"explode\"; expected one of status, start, stop, restart, reload, events, capabilities, maze-add, maze-del, maze-list, nagios, procs"})"},
      {R"({"cmd":"stop"})", R"({"ok":false,"error":"field \"unit\" is missing"})"},
      {R"({"cmd":"stop","unit":"nope"})", R"({"ok":false,"error":"no unit named \"nope\""})"},
      {"\xff\xfe", R"({"ok":false,"error":"malformed request: at byte 0: expected a value, got byte 0xFF"})"},
  };
  for (const Case& c : cases) EXPECT_EQ(Ask(c.request), c.reply) << c.request;
  EXPECT_EQ(PidOf(vigild_, "svc"), pid);
}

TEST_F(ControlSocketTest, OversizedRequestIsRefusedAndConnectionClosed) {
  auto client = ControlClient::Connect(vigild_.socket_path());
  ASSERT_TRUE(client.ok());
  std::string huge(200 * 1024, 'x');
  (void)client->SendLine(huge);
  auto reply = client->ReadLine(std::chrono::seconds(5));
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(*reply, R"({"ok":false,"error":"request exceeds 65536 bytes without a newline; closing"})");
  EXPECT_FALSE(client->ReadLine(std::chrono::seconds(5)).ok());
  EXPECT_TRUE(vigild_.Request("status").ok());
}

TEST_F(ControlSocketTest, ClientsThatVanishMidRequestDoNotHurt) {
  for (int i = 0; i < 50; ++i) {
    auto client = ControlClient::Connect(vigild_.socket_path());
    ASSERT_TRUE(client.ok());
    (void)client->SendLine(R"({"cmd":"status"})");
  }  // each closes before reading its reply
  auto status = vigild_.UnitStatus("svc");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(EventField(*status, "state"), "running");
}

TEST_F(ControlSocketTest, VigilctlStatusAndUsageErrors) {
  CommandResult status = RunCommand({VigilctlPath(), "--socket", vigild_.socket_path(), "status"});
  EXPECT_EQ(status.exit_code, 0);
  EXPECT_NE(status.out.find("svc "), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("running"), std::string::npos) << status.out;
  CommandResult unknown = RunCommand({VigilctlPath(), "frobnicate"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_EQ(unknown.err.substr(0, unknown.err.find('\n')),
            "vigilctl: unknown command \"frobnicate\"");
  CommandResult missing = RunCommand({VigilctlPath(), "stop"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_EQ(missing.err.substr(0, missing.err.find('\n')),
            "vigilctl: stop: expected exactly one UNIT");
  CommandResult nosock = RunCommand({VigilctlPath(), "--socket", "/nonexistent/sock", "status"});
  EXPECT_EQ(nosock.exit_code, 1);
  EXPECT_NE(nosock.err.find("cannot connect to /nonexistent/sock"), std::string::npos);
  CommandResult stop = RunCommand({VigilctlPath(), "--socket", vigild_.socket_path(), "stop", "nope"});
  EXPECT_EQ(stop.exit_code, 1);
  EXPECT_EQ(stop.err, "vigilctl: no unit named \"nope\"\n");
}

TEST(VigildCliTest, CheckConfigExitsZeroOrOneWithErrors) {
  VigildHarness vigild;
  vigild.WriteUnit("ok", kSleeper);
  ASSERT_TRUE(vigild.Start().ok());  // writes the main config
  ASSERT_TRUE(vigild.Stop().ok());
  CommandResult good = RunCommand({VigildPath(), "--check-config", "--config",
                                   vigild.main_config_path()});
  EXPECT_EQ(good.exit_code, 0) << good.err;
  vigild.WriteUnit("bad", "exec: [/bin/true]\nwatch: {memory: {high: lots}}\n");
  CommandResult bad = RunCommand({VigildPath(), "--check-config", "--config",
                                  vigild.main_config_path()});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("units/bad.yaml:2:18: watch.memory.high: expected a size like 200M, got \"lots\""),
            std::string::npos)
      << bad.err;
  CommandResult usage = RunCommand({VigildPath(), "--event-backend", "kqueue"});
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_NE(usage.err.find("argument --event-backend: expected auto, io_uring or epoll, got \"kqueue\""),
            std::string::npos);
}

}  // namespace
}  // namespace vigil::testing
