#include "supervisor/spawner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>

#include "gtest/gtest.h"
#include "supervisor/cgroup_tree.h"

namespace vigil {
namespace {

class SpawnerTest : public testing::TestWithParam<Spawner::Method> {
 protected:
  void SetUp() override {
    auto host = DetectCgroupHost();
    ASSERT_TRUE(host.ok()) << host.status();
    root_ = host->mount + "/vigil-spawn-test-" + std::to_string(getpid());
    auto tree = CgroupTree::Setup(*host, root_);
    ASSERT_TRUE(tree.ok()) << tree.status();
    tree_ = *std::move(tree);
    auto unit = tree_->CreateUnit("u");
    ASSERT_TRUE(unit.ok()) << unit.status();
    unit_ = *std::move(unit);
  }
  void TearDown() override {
    unit_.reset();
    (void)tree_->RemoveUnit("u");
    tree_.reset();
  }
  void WaitExit(const PidfdSource& child) {
    pollfd pfd{child.fd(), POLLIN, 0};
    ASSERT_EQ(poll(&pfd, 1, 10000), 1);
  }

  std::string root_;
  std::unique_ptr<CgroupTree> tree_;
  std::unique_ptr<UnitCgroup> unit_;
};

TEST_P(SpawnerTest, ChildStartsInsideItsCgroupWithEnvAndCwd) {
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  SpawnRequest request;
  request.argv = {"sh", "-c", "cat /proc/self/cgroup; echo \"$GREETING\"; pwd"};
  request.env = {"GREETING=hello", "PATH=/usr/bin:/bin"};
  request.cwd = "/tmp";
  UniqueFd cgroup_dir = *unit_->OpenDir();
  request.cgroup_dir_fd = cgroup_dir.get();
  request.stdout_fd = out[1];
  auto child = Spawner(GetParam()).Spawn(request);
  close(out[1]);
  ASSERT_TRUE(child.ok()) << child.status();
  WaitExit(*child);
  ExitStatus status = child->Reap();
  EXPECT_TRUE(status.success()) << status.Describe();
  std::string output(4096, '\0');
  output.resize(read(out[0], output.data(), output.size()));
  close(out[0]);
  std::string relative = root_.substr(root_.find("/vigil-spawn-test"));
  EXPECT_NE(output.find("0::" + relative + "/units/u\n"), std::string::npos) << output;
  EXPECT_NE(output.find("hello\n/tmp\n"), std::string::npos) << output;
}

TEST_P(SpawnerTest, ReportsSignalAndCoreOfChild) {
  SpawnRequest request;
  request.argv = {"/bin/sh", "-c", "kill -TERM $$"};
  UniqueFd cgroup_dir = *unit_->OpenDir();
  request.cgroup_dir_fd = cgroup_dir.get();
  auto child = Spawner(GetParam()).Spawn(request);
  ASSERT_TRUE(child.ok()) << child.status();
  WaitExit(*child);
  ExitStatus status = child->Reap();
  EXPECT_TRUE(status.known && status.signaled);
  EXPECT_EQ(status.signal, SIGTERM);
  EXPECT_EQ(status.Describe(), "killed by signal 15 (Terminated)");
}

TEST_P(SpawnerTest, ExecFailureIsAnErrorNotAChild) {
  SpawnRequest request;
  request.argv = {"/nonexistent/binary"};
  auto child = Spawner(GetParam()).Spawn(request);
  ASSERT_FALSE(child.ok());
  EXPECT_EQ(child.status().message(),
            "exec /nonexistent/binary: No such file or directory");
  request.argv = {"no-such-command-anywhere"};
  child = Spawner(GetParam()).Spawn(request);
  ASSERT_FALSE(child.ok());
  EXPECT_NE(child.status().message().find("not found in PATH"), std::string::npos);
  request.argv = {"/bin/true"};
  request.user = "no-such-user-vigil";
  child = Spawner(GetParam()).Spawn(request);
  ASSERT_FALSE(child.ok());
  EXPECT_EQ(child.status().message(), "user \"no-such-user-vigil\" does not exist");
}

TEST_P(SpawnerTest, RunsAsConfiguredUser) {
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  SpawnRequest request;
  request.argv = {"/usr/bin/id", "-u"};
  request.user = "nobody";
  request.stdout_fd = out[1];
  auto child = Spawner(GetParam()).Spawn(request);
  close(out[1]);
  ASSERT_TRUE(child.ok()) << child.status();
  WaitExit(*child);
  child->Reap();
  char buf[64] = {};
  ASSERT_GT(read(out[0], buf, sizeof buf - 1), 0);
  close(out[0]);
  EXPECT_EQ(std::string(buf), "65534\n");
}

TEST_P(SpawnerTest, ChildGetsTheOriginalOpenFileLimitBack) {
  rlimit before;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &before), 0);
  rlimit lowered = before;
  lowered.rlim_cur = 1024;  // the usual default soft limit
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &lowered), 0);
  auto raised = RaiseOpenFileLimit();
  ASSERT_TRUE(raised.ok()) << raised.status();
  EXPECT_EQ(*raised, before.rlim_max);
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  SpawnRequest request;
  request.argv = {"/bin/sh", "-c", "ulimit -n"};
  request.stdout_fd = out[1];
  auto child = Spawner(GetParam()).Spawn(request);
  close(out[1]);
  ASSERT_TRUE(child.ok()) << child.status();
  WaitExit(*child);
  child->Reap();
  char buf[64] = {};
  ASSERT_GT(read(out[0], buf, sizeof buf - 1), 0);
  close(out[0]);
  EXPECT_EQ(std::string(buf), "1024\n");
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &before), 0);
}

// vigild, a library in it or whoever started it may hold descriptors
// without O_CLOEXEC; none of them may reach a child (a unit holding a pipe
// end keeps the other side's reader from ever seeing EOF).
TEST_P(SpawnerTest, ChildGetsOnlyItsStandardDescriptors) {
  int out[2];
  ASSERT_EQ(pipe(out), 0);  // no O_CLOEXEC: out[1] is passed as stdout
  int inherited = open("/dev/null", O_RDONLY);  // no O_CLOEXEC
  ASSERT_GE(inherited, 0);
  constexpr int kHigh = 100;
  ASSERT_EQ(dup2(inherited, kHigh), kHigh);  // dup2 never sets FD_CLOEXEC
  SpawnRequest request;
  request.argv = {"/bin/sh", "-c",
                  "for fd in \"$@\"; do [ -e /proc/self/fd/$fd ] && echo \"leaked $fd\"; done;"
                  " echo checked",
                  "sh", std::to_string(out[0]), std::to_string(out[1]),
                  std::to_string(inherited), std::to_string(kHigh)};
  request.stdout_fd = out[1];
  auto child = Spawner(GetParam()).Spawn(request);
  close(out[1]);
  close(inherited);
  close(kHigh);
  ASSERT_TRUE(child.ok()) << child.status();
  WaitExit(*child);
  EXPECT_TRUE(child->Reap().success());
  char buf[256] = {};
  ASSERT_GT(read(out[0], buf, sizeof buf - 1), 0);
  close(out[0]);
  EXPECT_EQ(std::string(buf), "checked\n");
}

INSTANTIATE_TEST_SUITE_P(Methods, SpawnerTest,
                         testing::Values(Spawner::Method::kClone3, Spawner::Method::kFork),
                         [](const auto& info) {
                           return info.param == Spawner::Method::kClone3 ? std::string("Clone3")
                                                                         : std::string("Fork");
                         });

// The fallback for kernels without close_range(CLOSE_RANGE_CLOEXEC).
TEST(MarkCloseOnExecTest, ListedMarksEveryDescriptorFromLowestOnly) {
  int below = open("/dev/null", O_RDONLY);
  int from = open("/dev/null", O_RDONLY);
  int above = open("/dev/null", O_RDONLY);
  ASSERT_LT(below, from);
  ASSERT_LT(from, above);
  ASSERT_TRUE(MarkCloseOnExecListed(from));
  EXPECT_EQ(fcntl(below, F_GETFD), 0);
  EXPECT_EQ(fcntl(from, F_GETFD), FD_CLOEXEC);
  EXPECT_EQ(fcntl(above, F_GETFD), FD_CLOEXEC);
  close(below);
  close(from);
  close(above);
}

TEST(SpawnerDetectTest, Clone3IsAvailableOnThisKernel) {
  unsetenv("VIGIL_FORCE_FORK");
  EXPECT_EQ(Spawner::Detect().method(), Spawner::Method::kClone3);
  setenv("VIGIL_FORCE_FORK", "1", 1);
  EXPECT_EQ(Spawner::Detect().method(), Spawner::Method::kFork);
  unsetenv("VIGIL_FORCE_FORK");
}

}  // namespace
}  // namespace vigil
