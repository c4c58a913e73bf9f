#include "supervisor/cgroup_tree.h"

#include <poll.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gtest/gtest.h"

namespace vigil {
namespace {

constexpr char kHybridMountinfo[] =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
constexpr char kUnifiedMountinfo[] =
    "22 1 0:21 / /proc rw - proc proc rw\n"
    "30 24 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";

TEST(CgroupHostInfoTest, RecognisesHybridLayout) {
  auto info = ParseCgroupHostInfo(kHybridMountinfo, "4:memory:/x\n0::/\n");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->layout, CgroupLayout::kHybrid);
  EXPECT_EQ(info->mount, "/sys/fs/cgroup/unified");
  EXPECT_EQ(info->own_cgroup, "/");
}

TEST(CgroupHostInfoTest, RecognisesUnifiedLayoutAndDelegatedCgroup) {
  auto info = ParseCgroupHostInfo(kUnifiedMountinfo, "0::/system.slice/vigild.service\n");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->layout, CgroupLayout::kUnified);
  EXPECT_EQ(info->mount, "/sys/fs/cgroup");
  EXPECT_EQ(info->own_cgroup, "/system.slice/vigild.service");
}

TEST(CgroupHostInfoTest, NoCgroup2MountIsAnActionableError) {
  auto info = ParseCgroupHostInfo("22 1 0:21 / /proc rw - proc proc rw\n", "0::/\n");
  ASSERT_FALSE(info.ok());
  EXPECT_NE(info.status().message().find("no cgroup2 filesystem is mounted"),
            std::string::npos);
}

// On the real kernel: the tree is set up, vigild (this test) moves into its
// leaf, a unit cgroup reports populated through cgroup.events and is killed
// through cgroup.kill.
TEST(CgroupTreeTest, UnitCgroupPopulatedKillAndCleanup) {
  auto host = DetectCgroupHost();
  ASSERT_TRUE(host.ok()) << host.status();
  std::string root = host->mount + "/vigil-test-" + std::to_string(getpid());
  {
    auto tree = CgroupTree::Setup(*host, root);
    ASSERT_TRUE(tree.ok()) << tree.status();
    auto unit = (*tree)->CreateUnit("sleeper");
    ASSERT_TRUE(unit.ok()) << unit.status();
    EXPECT_EQ(*(*unit)->Populated(), false);
    auto events = CgroupEventsWatch::Create();
    ASSERT_TRUE(events.ok()) << events.status();
    auto id = events->Add(**unit);
    ASSERT_TRUE(id.ok()) << id.status();
    pid_t child = fork();
    if (child == 0) {
      pause();
      _exit(0);
    }
    ASSERT_TRUE((*unit)->Adopt(child).ok());
    pollfd pfd{events->fd(), POLLIN, 0};
    ASSERT_EQ(poll(&pfd, 1, 5000), 1) << "cgroup.events did not notify populated 1";
    EXPECT_EQ(events->Read().ids, std::vector<int>{*id});
    EXPECT_EQ(*(*unit)->Populated(), true);
    EXPECT_EQ(*(*unit)->Pids(), std::vector<int>{child});
    ASSERT_TRUE((*unit)->Kill().ok());
    int status;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    // Each change is an event; populated 0 comes with the last of them.
    bool empty = false;
    for (int i = 0; i < 50 && !empty; ++i) {
      ASSERT_EQ(poll(&pfd, 1, 5000), 1) << "cgroup.events did not notify populated 0";
      EXPECT_EQ(events->Read().ids, std::vector<int>{*id});
      empty = !*(*unit)->Populated();
    }
    EXPECT_TRUE(empty);
    events->Remove(*id);
    unit->reset();
    EXPECT_TRUE((*tree)->RemoveUnit("sleeper").ok());
  }
  EXPECT_NE(access(root.c_str(), F_OK), 0) << root << " left behind";
}

// A vigild killed with SIGKILL leaves units running; the next one kills them
// before starting anything, and removes the stale cgroups.
TEST(CgroupTreeTest, SetupKillsAndRemovesLeftoversOfAKilledVigild) {
  auto host = DetectCgroupHost();
  ASSERT_TRUE(host.ok()) << host.status();
  std::string root = host->mount + "/vigil-stale-test-" + std::to_string(getpid());
  ASSERT_EQ(mkdir(root.c_str(), 0755), 0);
  ASSERT_EQ(mkdir((root + "/units").c_str(), 0755), 0);
  ASSERT_EQ(mkdir((root + "/units/orphaned").c_str(), 0755), 0);
  pid_t leftover = fork();
  if (leftover == 0) {
    pause();
    _exit(0);
  }
  ASSERT_TRUE(WriteStringToFile(root + "/units/orphaned/cgroup.procs",
                                std::to_string(leftover)).ok());
  {
    auto tree = CgroupTree::Setup(*host, root);
    ASSERT_TRUE(tree.ok()) << tree.status();
    int status;
    ASSERT_EQ(waitpid(leftover, &status, 0), leftover);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    EXPECT_NE(access((root + "/units/orphaned").c_str(), F_OK), 0);
    ASSERT_EQ((*tree)->setup_notes().size(), 2u);
    EXPECT_EQ((*tree)->setup_notes()[0],
              "killing processes left in " + root + "/units/orphaned by a previous vigild");
  }
  rmdir(root.c_str());  // pre-existing root: the tree leaves it in place
  EXPECT_NE(access(root.c_str(), F_OK), 0);
}

}  // namespace
}  // namespace vigil
