// vigild's start-up capability report must match the kernel it runs on: the
// hybrid host (cgroup2 at /sys/fs/cgroup/unified without memory or pids) and
// the VM (pure cgroup v2, every controller). A regression in detection fails
// here in one place or the other.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "gtest/gtest.h"
#include "test/vigild_harness.h"

namespace vigil::testing {
namespace {

bool InVm() {
  const char* v = getenv("VIGIL_IN_VM");
  return v != nullptr && std::string(v) == "1";
}

std::vector<std::string> Strings(const json::Value* array) {
  std::vector<std::string> out;
  if (array == nullptr || !array->IsArray()) return out;
  for (const auto& v : array->AsArray()) out.push_back(v.AsString());
  return out;
}

bool Contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

TEST(CapabilitiesTest, ReportMatchesTheKernel) {
  VigildHarness vigild;
  vigild.WriteUnit("probe", "exec: [/bin/sleep, infinity]\n");
  ASSERT_TRUE(vigild.Start().ok());
  auto reply = vigild.Request("capabilities");
  ASSERT_TRUE(reply.ok()) << reply.status();
  const json::Value* caps = reply->Find("capabilities");
  ASSERT_NE(caps, nullptr) << json::Serialize(*reply);
  std::vector<std::string> controllers = Strings(caps->Find("unit_controllers"));
  EXPECT_EQ(EventField(*caps, "event_loop"), "io_uring");
  EXPECT_EQ(EventField(*caps, "spawn"), "clone3(CLONE_PIDFD|CLONE_INTO_CGROUP)");
  EXPECT_EQ(EventField(*caps, "psi"), "true");
  if (InVm()) {
    EXPECT_EQ(EventField(*caps, "cgroup_layout"), "unified");
    EXPECT_EQ(EventField(*caps, "cgroup_mount"), "/sys/fs/cgroup");
    for (const char* c : {"cpu", "io", "memory", "pids"}) {
      EXPECT_TRUE(Contains(controllers, c)) << c << " not enabled for units";
    }
    EXPECT_EQ(EventField(*caps, "memory_watch"), "cgroup v2 memory.events");
    EXPECT_EQ(EventField(*caps, "tasks_watch"), "cgroup v2 pids.events");
  } else {
    EXPECT_EQ(EventField(*caps, "cgroup_layout"), "hybrid");
    EXPECT_EQ(EventField(*caps, "cgroup_mount"), "/sys/fs/cgroup/unified");
    EXPECT_FALSE(Contains(controllers, "memory"));
    EXPECT_FALSE(Contains(controllers, "pids"));
    EXPECT_EQ(EventField(*caps, "memory_watch"),
              "per-process /proc/<pid>/status (no cgroup v2 memory controller)");
    EXPECT_EQ(EventField(*caps, "cap_sys_resource"), "false");
  }
  // The same report is in the log, line by line.
  std::string log = vigild.ReadLog();
  EXPECT_NE(log.find("capability cgroup_layout: " + EventField(*caps, "cgroup_layout")),
            std::string::npos);
}

// The plug-in services describe themselves in the same report: MAZE, the
// rlimit-events API, the process table and passive results.
TEST(CapabilitiesTest, ReportDescribesThePluginServices) {
  VigildHarness vigild;
  std::string command_file = vigild.dir() + "/nagios.cmd";
  vigild.AddMainConfig("nagios: {command_file: " + command_file + "}\n");
  ASSERT_TRUE(vigild.Start().ok());
  auto reply = vigild.Request("capabilities");
  ASSERT_TRUE(reply.ok()) << reply.status();
  const json::Value* caps = reply->Find("capabilities");
  ASSERT_NE(caps, nullptr) << json::Serialize(*reply);

  const json::Value* maze = caps->Find("maze");
  ASSERT_NE(maze, nullptr) << json::Serialize(*caps);
  // vigild runs as root in the initial namespaces, here and in the VM.
  EXPECT_EQ(EventField(*maze, "fork_following"),
            "proc connector, filtered in the kernel to forks of watched processes");
  EXPECT_EQ(EventField(*maze, "timer"),
            "CPU-time timer per watched process, SIGRTMIN+2 through a signalfd");
  EXPECT_EQ(EventField(*maze, "psi"), "cpu.pressure trigger per unit (some 100000 2000000)");
  EXPECT_EQ(EventField(*maze, "priority"),
            "nice -10 (children reset to 0 by SCHED_RESET_ON_FORK)");

  const json::Value* rlimit = caps->Find("rlimit_events");
  ASSERT_NE(rlimit, nullptr);
  EXPECT_EQ(EventField(*rlimit, "socket"), vigild.dir() + "/rlimit-events.sock");
  // No test here loads the rlimit_noti module before this vigild starts.
  EXPECT_EQ(EventField(*rlimit, "fd_backend")
                .rfind("rlimit-events: open-fd watches use the userspace backend: procfs", 0),
            0)
      << EventField(*rlimit, "fd_backend");

  const json::Value* table = caps->Find("process_table");
  ASSERT_NE(table, nullptr);
  EXPECT_EQ(EventField(*table, "proc_connector"), "true");
  EXPECT_NE(EventField(*table, "description").find("proc connector events"), std::string::npos)
      << EventField(*table, "description");

  const json::Value* passive = caps->Find("passive_results");
  ASSERT_NE(passive, nullptr);
  EXPECT_EQ(Strings(passive->Find("targets")),
            std::vector<std::string>{"command file " + command_file});

  std::string log = vigild.ReadLog();
  for (const char* entry : {"maze", "rlimit_events", "process_table", "passive_results"}) {
    EXPECT_NE(log.find(std::string("capability ") + entry + ": {"), std::string::npos) << entry;
  }
}

// On pure v2 a unit's cgroup has the controllers' files; vigild enabled them.
TEST(CapabilitiesTest, UnitCgroupsHaveMemoryAndPidsOnPureV2) {
  if (!InVm()) GTEST_SKIP() << "needs the cgroup v2 memory and pids controllers (hybrid host)";
  VigildHarness vigild;
  vigild.WriteUnit("probe", "exec: [/bin/sleep, infinity]\n");
  ASSERT_TRUE(vigild.Start().ok());
  ASSERT_TRUE(vigild.WaitForState("probe", "running").ok());
  std::string unit = vigild.cgroup_root() + "/units/probe";
  for (const char* file : {"/memory.max", "/memory.events", "/pids.max", "/pids.events"}) {
    EXPECT_EQ(access((unit + file).c_str(), F_OK), 0) << unit << file;
  }
}

// cgroup_root: auto inside a writable cgroup of its own (systemd's
// Delegate=yes, a container) uses that subtree, leaf for vigild included, and
// leaves it as it found it.
TEST(CapabilitiesTest, AutoRootUsesTheDelegatedSubtreeVigildStartsIn) {
  std::string mount = InVm() ? "/sys/fs/cgroup" : "/sys/fs/cgroup/unified";
  std::string delegated = mount + "/vigil-delegated-" + std::to_string(getpid());
  ASSERT_EQ(mkdir(delegated.c_str(), 0755), 0);
  {
    VigildHarness vigild;
    vigild.set_cgroup_root("auto");
    vigild.set_start_cgroup(delegated);
    vigild.WriteUnit("probe", "exec: [/bin/sleep, infinity]\n");
    ASSERT_TRUE(vigild.Start().ok());
    auto reply = vigild.Request("capabilities");
    ASSERT_TRUE(reply.ok());
    EXPECT_EQ(EventField(*reply->Find("capabilities"), "cgroup_root"), delegated);
    ASSERT_TRUE(vigild.WaitForState("probe", "running").ok());
    int pid = EventInt(*vigild.UnitStatus("probe"), "pid");
    std::ifstream cgroup("/proc/" + std::to_string(pid) + "/cgroup");
    std::string content((std::istreambuf_iterator<char>(cgroup)), {});
    EXPECT_NE(content.find("/vigil-delegated-" + std::to_string(getpid()) + "/units/probe"),
              std::string::npos)
        << content;
    std::ifstream self("/proc/" + std::to_string(vigild.pid()) + "/cgroup");
    std::string own((std::istreambuf_iterator<char>(self)), {});
    EXPECT_NE(own.find("/vigil-delegated-" + std::to_string(getpid()) + "/vigild"),
              std::string::npos)
        << own;
    ASSERT_TRUE(vigild.Stop().ok());
  }
  // vigild moved back into the delegated cgroup, removed its own children and
  // exited: the subtree is empty again and can be removed.
  EXPECT_EQ(rmdir(delegated.c_str()), 0) << strerror(errno);
}

}  // namespace
}  // namespace vigil::testing
