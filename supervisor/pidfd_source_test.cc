#include "supervisor/pidfd_source.h"

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "gtest/gtest.h"
#include "supervisor/spawner.h"

namespace vigil {
namespace {

ExitStatus ExitedWith(int code) { return ExitStatus{.known = true, .code = code}; }

TEST(ChildRegistryTest, StatusReapedBySomeoneElseGoesToTheOwner) {
  ChildRegistry registry;
  ChildRegistry::ClaimPtr claim = registry.Register(42);
  ASSERT_TRUE(registry.HandOver(42, ExitedWith(7)));
  ASSERT_TRUE(claim->collected.has_value());
  EXPECT_EQ(claim->collected->code, 7);
  // Reaped: the pid is free, and a later child with it is someone else's.
  EXPECT_FALSE(registry.HandOver(42, ExitedWith(0)));
}

TEST(ChildRegistryTest, UnclaimedAndGivenUpChildrenAreOrphans) {
  ChildRegistry registry;
  EXPECT_FALSE(registry.HandOver(43, ExitedWith(0)));
  ChildRegistry::ClaimPtr claim = registry.Register(44);
  claim.reset();  // its owner went away without reaping it
  EXPECT_FALSE(registry.HandOver(44, ExitedWith(0)));
}

TEST(ChildRegistryTest, AnOldClaimDoesNotDropANewerChildWithTheSamePid) {
  ChildRegistry registry;
  ChildRegistry::ClaimPtr old_claim = registry.Register(45);
  registry.Forget(*old_claim);  // its owner reaped it: pid 45 may be reused
  ChildRegistry::ClaimPtr new_claim = registry.Register(45);
  old_claim.reset();
  ASSERT_TRUE(registry.HandOver(45, ExitedWith(3)));
  ASSERT_TRUE(new_claim->collected.has_value());
  EXPECT_EQ(new_claim->collected->code, 3);
}

// What vigild does as PID 1 on SIGCHLD, with real children: the orphan is
// reaped, the spawned child's status still reaches its PidfdSource.
TEST(ReapExitedChildrenTest, ReapsOrphansAndKeepsOwnedStatuses) {
  SpawnRequest request;
  request.argv = {"/bin/sh", "-c", "exit 7"};
  auto owned = Spawner::Detect().Spawn(request);
  ASSERT_TRUE(owned.ok()) << owned.status();
  pid_t orphan = fork();  // nobody's: no PidfdSource
  if (orphan == 0) _exit(3);
  ASSERT_GT(orphan, 0);
  siginfo_t info{};
  ASSERT_EQ(waitid(P_PID, orphan, &info, WEXITED | WNOWAIT), 0);  // exited, not reaped
  pollfd pfd{owned->fd(), POLLIN, 0};
  ASSERT_EQ(poll(&pfd, 1, 10000), 1);

  std::vector<pid_t> orphans = ReapExitedChildren();
  EXPECT_EQ(orphans, std::vector<pid_t>{orphan});
  EXPECT_EQ(waitid(P_PID, orphan, &info, WEXITED | WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);  // gone: no zombie left
  ExitStatus status = owned->Reap();
  EXPECT_TRUE(status.known);
  EXPECT_EQ(status.Describe(), "exited with code 7");
}

TEST(ReapExitedChildrenTest, ReapedByItsOwnerTheChildIsNoLongerClaimed) {
  SpawnRequest request;
  request.argv = {"/bin/true"};
  auto owned = Spawner::Detect().Spawn(request);
  ASSERT_TRUE(owned.ok()) << owned.status();
  pollfd pfd{owned->fd(), POLLIN, 0};
  ASSERT_EQ(poll(&pfd, 1, 10000), 1);
  EXPECT_TRUE(owned->Reap().success());
  EXPECT_FALSE(ChildRegistry::ForThisProcess().HandOver(owned->pid(), ExitedWith(0)));
  EXPECT_TRUE(ReapExitedChildren().empty());
}

}  // namespace
}  // namespace vigil
