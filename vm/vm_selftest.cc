// Checks that the VM harness (vm/run_in_vm.sh) gives tests what they are
// run there for: pure cgroup v2 with every controller delegated, PSI,
// loadable modules, writable scratch space and working runfiles.
//
// On a host that lacks a capability the test needing it skips and names it;
// inside the VM (VIGIL_IN_VM=1) nothing may skip.

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace vigil {
namespace {

constexpr char kCgroupRoot[] = "/sys/fs/cgroup";

bool InVm() {
  const char* value = std::getenv("VIGIL_IN_VM");
  return value != nullptr && std::string(value) == "1";
}

bool IsPureCgroup2Root() {
  struct statfs fs {};
  return statfs(kCgroupRoot, &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
}

bool Exists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

bool WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  out.flush();
  return static_cast<bool>(out);
}

std::set<std::string> Words(const std::string& text) {
  std::istringstream in(text);
  std::set<std::string> words;
  for (std::string word; in >> word;) words.insert(word);
  return words;
}

// Skips (on a host without the capability) unless running in the VM, where
// the capability is mandatory and the assertions below must hold.
#define SKIP_ON_HOST_WITHOUT(present, capability)                         \
  if (!InVm() && !(present))                                              \
  GTEST_SKIP() << "needs " << capability                                  \
               << ", which this kernel lacks; runs in the VM harness "   \
                  "(VIGIL_IN_VM=1)"

const std::set<std::string> kRequiredControllers = {"cpuset", "cpu",     "io",
                                                     "memory", "hugetlb", "pids"};

TEST(VmSelftest, CgroupRootIsPureCgroup2) {
  SKIP_ON_HOST_WITHOUT(IsPureCgroup2Root(), "a pure cgroup v2 mount at /sys/fs/cgroup");
  EXPECT_TRUE(IsPureCgroup2Root()) << kCgroupRoot << " is not a cgroup2 mount";
  // No v1 hierarchy may be mounted next to it.
  for (const std::string& word : Words(ReadFile("/proc/self/mounts"))) {
    EXPECT_NE(word, "cgroup") << "a cgroup v1 hierarchy is mounted";
  }
}

TEST(VmSelftest, EveryControllerIsAvailableAndEnabled) {
  SKIP_ON_HOST_WITHOUT(IsPureCgroup2Root(),
                       "cgroup v2 controllers cpuset cpu io memory hugetlb pids at "
                       "/sys/fs/cgroup");
  const auto available = Words(ReadFile(std::string(kCgroupRoot) + "/cgroup.controllers"));
  const auto enabled = Words(ReadFile(std::string(kCgroupRoot) + "/cgroup.subtree_control"));
  for (const std::string& controller : kRequiredControllers) {
    EXPECT_TRUE(available.count(controller)) << controller << " not in cgroup.controllers";
    EXPECT_TRUE(enabled.count(controller)) << controller << " not in cgroup.subtree_control";
  }
}

class ChildCgroup : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIP_ON_HOST_WITHOUT(IsPureCgroup2Root(),
                         "a pure cgroup v2 root where child cgroups get memory.* and pids.*");
    path_ = std::string(kCgroupRoot) + "/vigil-vm-selftest-" + std::to_string(getpid());
    ASSERT_EQ(mkdir(path_.c_str(), 0755), 0) << path_ << ": " << std::strerror(errno);
  }
  void TearDown() override {
    if (!path_.empty()) rmdir(path_.c_str());
  }
  std::string path_;
};

TEST_F(ChildCgroup, HasMemoryPidsAndPressureFiles) {
  for (const char* file :
       {"memory.max", "memory.high", "memory.events", "pids.max", "pids.events", "cpu.pressure",
        "memory.pressure", "io.pressure", "cgroup.kill", "cgroup.freeze"}) {
    EXPECT_TRUE(Exists(path_ + "/" + file)) << path_ << "/" << file << " is missing";
  }
  ASSERT_TRUE(WriteFile(path_ + "/memory.max", "67108864"));
  EXPECT_EQ(ReadFile(path_ + "/memory.max"), "67108864\n");
}

// A real pids.max crossing: a process alone in a cgroup with pids.max=1
// cannot fork, and the kernel counts the refusal in pids.events.
TEST_F(ChildCgroup, PidsMaxRefusesForkAndCountsIt) {
  ASSERT_TRUE(WriteFile(path_ + "/pids.max", "1"));
  const std::string procs = path_ + "/cgroup.procs";
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (!WriteFile(procs, std::to_string(getpid()))) _exit(2);
    const pid_t grandchild = fork();
    if (grandchild == 0) _exit(0);
    _exit(grandchild < 0 && errno == EAGAIN ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: the fork was allowed; 2: could not join the cgroup";
  EXPECT_NE(ReadFile(path_ + "/pids.events").find("max 1"), std::string::npos)
      << ReadFile(path_ + "/pids.events");
}

TEST(VmSelftest, PressureStallInformationIsOn) {
  SKIP_ON_HOST_WITHOUT(Exists("/proc/pressure/cpu"), "PSI (/proc/pressure/cpu; boot with psi=1)");
  for (const char* resource : {"cpu", "memory", "io"}) {
    const std::string text = ReadFile(std::string("/proc/pressure/") + resource);
    EXPECT_EQ(text.rfind("some avg10=", 0), 0u) << resource << ": " << text;
  }
}

TEST(VmSelftest, KernelModulesCanBeLoaded) {
  SKIP_ON_HOST_WITHOUT(Exists("/proc/modules"), "loadable kernel modules (/proc/modules)");
  const std::string modules = ReadFile("/proc/modules");
  EXPECT_FALSE(modules.empty()) << "/proc/modules is empty";
  if (InVm()) {
    // The harness insmods these itself to reach the host root.
    EXPECT_NE(modules.find("9pnet_virtio"), std::string::npos) << modules;
  }
}

TEST(VmSelftest, ScratchDirectoriesAreWritable) {
  for (const char* variable : {"TEST_TMPDIR", "TEST_UNDECLARED_OUTPUTS_DIR"}) {
    const char* dir = std::getenv(variable);
    if (dir == nullptr) continue;
    const std::string file = std::string(dir) + "/vm_selftest_probe";
    EXPECT_TRUE(WriteFile(file, "probe\n")) << variable << "=" << dir << " is not writable";
    EXPECT_EQ(ReadFile(file), "probe\n");
  }
  EXPECT_TRUE(WriteFile("/tmp/vm_selftest_probe", "probe\n")) << "/tmp is not writable";
}

TEST(VmSelftest, RunfilesResolve) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (srcdir == nullptr || workspace == nullptr) {
    GTEST_SKIP() << "needs Bazel's runfiles (TEST_SRCDIR, TEST_WORKSPACE): run under bazel test";
  }
  const std::string data = std::string(srcdir) + "/" + workspace + "/vm/testdata/exit_with.sh";
  EXPECT_EQ(access(data.c_str(), X_OK), 0) << data << ": " << std::strerror(errno);
  EXPECT_NE(ReadFile(data).find("#!/bin/sh"), std::string::npos) << data;
}

}  // namespace
}  // namespace vigil
