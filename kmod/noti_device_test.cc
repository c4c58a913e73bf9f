#include "kmod/noti_device.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "gtest/gtest.h"

namespace vigil::kmod {
namespace {

// In the VM the test loads the module it was built with (a data dep).
bool LoadModuleFromRunfiles() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (srcdir == nullptr || workspace == nullptr) return false;
  std::string path =
      std::string(srcdir) + "/" + workspace + "/kmod/rlimit_noti.ko";
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = syscall(SYS_finit_module, fd, "", 0) == 0 || errno == EEXIST;
  close(fd);
  return ok;
}

class NotiDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (NotiDevice::ModuleLoaded()) return;
    if (std::getenv("VIGIL_IN_VM") != nullptr) {
      ASSERT_TRUE(LoadModuleFromRunfiles()) << "finit_module rlimit_noti.ko";
      return;
    }
    GTEST_SKIP() << "needs the rlimit_noti kernel module loaded "
                    "(CONFIG_MODULES is off on this host; runs in the VM)";
  }
};

int CountFds() {
  int n = 0;
  for (int fd = 0; fd < 1024; ++fd) n += fcntl(fd, F_GETFD) >= 0;
  return n;
}

TEST_F(NotiDeviceTest, CrossesALevelUpAndDown) {
  absl::StatusOr<NotiDevice> device = NotiDevice::Open();
  ASSERT_TRUE(device.ok()) << device.status();
  int base = CountFds();
  ASSERT_TRUE(device->AddLevel(getpid(), RLIMIT_NOFILE, base + 1).ok());
  int fd = open("/dev/null", O_RDONLY);
  pollfd readable{device->fd(), POLLIN, 0};
  ASSERT_EQ(poll(&readable, 1, 0), 1);
  absl::StatusOr<std::optional<NotiEvent>> up = device->ReadEvent();
  ASSERT_TRUE(up.ok()) << up.status();
  ASSERT_TRUE(up->has_value());
  EXPECT_EQ((*up)->type, NotiEvent::Type::kCrossed);
  EXPECT_EQ((*up)->pid, getpid());
  EXPECT_EQ((*up)->resource, RLIMIT_NOFILE);
  EXPECT_EQ((*up)->value, static_cast<uint64_t>(base + 1));
  close(fd);
  absl::StatusOr<std::optional<NotiEvent>> down = device->ReadEvent();
  ASSERT_TRUE(down.ok() && down->has_value());
  EXPECT_EQ((*down)->value, static_cast<uint64_t>(base));
  absl::StatusOr<std::optional<NotiEvent>> none = device->ReadEvent();
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_F(NotiDeviceTest, RemovedLevelIsSilent) {
  absl::StatusOr<NotiDevice> device = NotiDevice::Open();
  ASSERT_TRUE(device.ok()) << device.status();
  int base = CountFds();
  ASSERT_TRUE(device->AddLevel(getpid(), RLIMIT_NOFILE, base + 1).ok());
  ASSERT_TRUE(device->RemoveLevel(getpid(), RLIMIT_NOFILE, base + 1).ok());
  close(open("/dev/null", O_RDONLY));
  absl::StatusOr<std::optional<NotiEvent>> none = device->ReadEvent();
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  EXPECT_EQ(device->RemoveLevel(getpid(), RLIMIT_NOFILE, base + 1).code(),
            absl::StatusCode::kNotFound);
}

TEST_F(NotiDeviceTest, ProcessExitEndsTheWatch) {
  absl::StatusOr<NotiDevice> device = NotiDevice::Open();
  ASSERT_TRUE(device.ok()) << device.status();
  int gate[2];
  ASSERT_EQ(pipe2(gate, O_CLOEXEC), 0);
  pid_t child = fork();
  if (child == 0) {
    char c;
    _exit(read(gate[0], &c, 1) == 1 ? 0 : 1);
  }
  ASSERT_TRUE(device->WatchEveryChange(child, RLIMIT_NOFILE).ok());
  ASSERT_EQ(write(gate[1], "x", 1), 1);
  ASSERT_EQ(waitpid(child, nullptr, 0), child);
  absl::StatusOr<std::optional<NotiEvent>> gone = device->ReadEvent();
  ASSERT_TRUE(gone.ok() && gone->has_value()) << gone.status();
  EXPECT_EQ((*gone)->type, NotiEvent::Type::kProcessGone);
  EXPECT_EQ((*gone)->pid, child);
  close(gate[0]);
  close(gate[1]);
}

TEST_F(NotiDeviceTest, ErrorsNameTheWatch) {
  absl::StatusOr<NotiDevice> device = NotiDevice::Open();
  ASSERT_TRUE(device.ok()) << device.status();
  absl::Status bad = device->AddLevel(getpid(), 99, 5);
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("resource 99"), std::string::npos) << bad;
  EXPECT_EQ(device->AddLevel(getpid(), RLIMIT_AS, 5).code(),
            absl::StatusCode::kUnimplemented);
  EXPECT_EQ(device->AddLevel(getpid(), RLIMIT_NOFILE, 5).code(),
            absl::StatusCode::kOk);
  EXPECT_EQ(device->AddLevel(getpid(), RLIMIT_NOFILE, 5).code(),
            absl::StatusCode::kAlreadyExists);
}

}  // namespace
}  // namespace vigil::kmod
