#include "supervisor/proctable/process_table.h"

#include "gtest/gtest.h"

namespace vigil::proctable {
namespace {

ProcessFacts Facts(pid_t pid, pid_t ppid, uint32_t euid, std::string command,
                   std::string args) {
  return ProcessFacts{.pid = pid, .ppid = ppid, .euid = euid, .command = command,
                      .args = args, .defunct_args = "[" + command + "] <defunct>"};
}

class ProcessTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    table_.Put(Facts(1, 0, 0, "init", "/sbin/init"));
    table_.Put(Facts(10, 1, 0, "sshd", "sshd: /usr/sbin/sshd -D"));
    table_.Put(Facts(11, 10, 1000, "bash", "-bash"));
    table_.Put(Facts(12, 11, 1000, "sleep", "sleep 100"));
    table_.Put(Facts(13, 11, 1000, "sleep", "sleep 200"));
    table_.Put(Facts(14, 1, 33, "sleep", "sleep 300"));
  }
  ProcessTable table_;
};

TEST_F(ProcessTableTest, CommandIndexExaminesOnlyItsEntries) {
  QueryResult r = table_.Query({Selector{.command = "sleep"}});
  EXPECT_EQ(r.pids, (std::vector<pid_t>{12, 13, 14}));
  EXPECT_EQ(r.examined, 3u);
}

TEST_F(ProcessTableTest, SmallestIndexIsWalkedAndOthersTested) {
  QueryResult r = table_.Query({Selector{.command = "sleep", .euid = 33}});
  EXPECT_EQ(r.pids, (std::vector<pid_t>{14}));
  EXPECT_EQ(r.examined, 1u);  // uid 33 has one process, sleep has three
  r = table_.Query({Selector{.command = "sleep", .ppid = 11}});
  EXPECT_EQ(r.pids, (std::vector<pid_t>{12, 13}));
  EXPECT_EQ(r.examined, 2u);
}

TEST_F(ProcessTableTest, UnknownKeySelectsNothingWithoutAScan) {
  QueryResult r = table_.Query({Selector{.command = "nginx"}});
  EXPECT_TRUE(r.pids.empty());
  EXPECT_EQ(r.examined, 0u);
}

TEST_F(ProcessTableTest, ArgsAloneScansInMemory) {
  QueryResult r = table_.Query({Selector{.args_substring = "sleep 2"}});
  EXPECT_EQ(r.pids, (std::vector<pid_t>{13}));
  EXPECT_EQ(r.examined, table_.size());
  r = table_.Query({Selector{.args_match = [](const std::string& a) {
    return a.find("sshd") != std::string::npos;
  }}});
  EXPECT_EQ(r.pids, (std::vector<pid_t>{10}));
}

TEST_F(ProcessTableTest, EmptySelectorSelectsEverything) {
  EXPECT_EQ(table_.Query({Selector{}}).pids.size(), table_.size());
}

TEST_F(ProcessTableTest, UnionOfSelectors) {
  QueryResult r = table_.Query({Selector{.command = "bash"}, Selector{.pid = 1},
                                Selector{.euid = 33}});
  EXPECT_EQ(r.pids, (std::vector<pid_t>{1, 11, 14}));
}

TEST_F(ProcessTableTest, ReplacingAnEntryMovesItBetweenIndexes) {
  ProcessFacts renamed = *table_.Find(12);
  renamed.command = "worker";
  renamed.euid = 33;
  table_.Put(renamed);
  EXPECT_EQ(table_.Query({Selector{.command = "sleep"}}).pids,
            (std::vector<pid_t>{13, 14}));
  EXPECT_EQ(table_.Query({Selector{.euid = 33}}).pids, (std::vector<pid_t>{12, 14}));
  EXPECT_EQ(table_.Query({Selector{.euid = 1000}}).pids, (std::vector<pid_t>{11, 13}));
  table_.Erase(13);
  EXPECT_EQ(table_.Children(11), (std::vector<pid_t>{12}));
}

TEST_F(ProcessTableTest, ExitedEntryMatchesItsDefunctArgsUntilConfirmedGone) {
  EXPECT_TRUE(table_.Query({Selector{.args_substring = "<defunct>"}}).pids.empty());
  table_.MarkExited(12, "[sleep] <defunct>");
  table_.MarkExited(12, "ignored: already exited");
  EXPECT_EQ(table_.Query({Selector{.args_substring = "<defunct>"}}).pids,
            (std::vector<pid_t>{12}));
  // Still selected by its live args too: it may be a thread group whose
  // leader exited first.
  EXPECT_EQ(table_.Query({Selector{.args_substring = "sleep 100"}}).pids,
            (std::vector<pid_t>{12}));
  EXPECT_EQ(table_.TakeExitedToConfirm(5), (std::vector<pid_t>{12}));
  EXPECT_TRUE(table_.TakeExitedToConfirm(5).empty());
  table_.RequeueExited(12);
  // Reused pid: a fresh entry replaces the exited one and needs no check.
  table_.Put(Facts(12, 1, 0, "cron", "cron"));
  EXPECT_TRUE(table_.TakeExitedToConfirm(5).empty());
}

}  // namespace
}  // namespace vigil::proctable
