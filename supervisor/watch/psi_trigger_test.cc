#include "supervisor/watch/psi_trigger.h"

#include <linux/capability.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <memory>

#include "gtest/gtest.h"
#include "supervisor/watch/test_cgroup.h"

namespace vigil::watch {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

PsiTriggerSpec Some(std::chrono::microseconds stall,
                    std::chrono::microseconds window) {
  return {PsiScope::kSome, stall, window};
}

TEST(PsiTriggerTest, TriggerLineIsWhatTheKernelReads) {
  EXPECT_EQ(PsiTriggerLine(Some(milliseconds(150), seconds(2))),
            "some 150000 2000000");
  EXPECT_EQ(PsiTriggerLine({PsiScope::kFull, milliseconds(50), seconds(4)}),
            "full 50000 4000000");
}

TEST(PsiTriggerTest, ValidationKnowsTheKernelsRules) {
  EXPECT_TRUE(ValidatePsiTrigger(Some(milliseconds(150), seconds(2)), false)
                  .ok());
  EXPECT_TRUE(
      ValidatePsiTrigger(Some(milliseconds(150), seconds(1)), true).ok());
  EXPECT_EQ(ValidatePsiTrigger(Some(milliseconds(150), seconds(1)), false)
                .message(),
            "PSI trigger \"some 150000 1000000\": without CAP_SYS_RESOURCE "
            "the kernel accepts only windows that are multiples of 2 s (2s, "
            "4s, 6s, 8s, 10s)");
  EXPECT_EQ(ValidatePsiTrigger(Some(milliseconds(150), seconds(3)), false)
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      ValidatePsiTrigger(Some(milliseconds(100), milliseconds(400)), true)
          .message(),
      "PSI trigger \"some 100000 400000\": the window must be at least 500 ms");
  EXPECT_EQ(ValidatePsiTrigger(Some(seconds(1), seconds(12)), true).message(),
            "PSI trigger \"some 1000000 12000000\": the window must be at "
            "most 10 s");
  EXPECT_EQ(ValidatePsiTrigger(Some(seconds(3), seconds(2)), false).message(),
            "PSI trigger \"some 3000000 2000000\": the stall must be longer "
            "than 0 and at most the window");
  EXPECT_FALSE(ValidatePsiTrigger(Some(seconds(0), seconds(2)), false).ok());
}

TEST(PsiTriggerTest, CapabilityCheckAgreesWithCapget) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  ASSERT_EQ(syscall(SYS_capget, &header, data), 0);
  const bool expected =
      data[CAP_TO_INDEX(CAP_SYS_RESOURCE)].effective & CAP_TO_MASK(CAP_SYS_RESOURCE);
  EXPECT_EQ(HasCapSysResource(), expected);

  EXPECT_TRUE(StatusHasCapSysResource("Name:\tx\nCapEff:\t000001ffffffffff\n"));
  EXPECT_FALSE(StatusHasCapSysResource("CapEff:\t000001fffeffffff\n"));
  EXPECT_FALSE(StatusHasCapSysResource("Name:\tx\n"));
}

TEST(PsiTriggerTest, ParsesPressureFiles) {
  absl::StatusOr<PsiReading> reading = ParsePressure(
      "some avg10=29.63 avg60=7.10 avg300=1.52 total=4415210\n"
      "full avg10=0.00 avg60=0.00 avg300=0.00 total=12\n",
      "cpu.pressure");
  ASSERT_TRUE(reading.ok()) << reading.status();
  EXPECT_DOUBLE_EQ(reading->some.avg10, 29.63);
  EXPECT_EQ(reading->some.total_us, 4415210u);
  ASSERT_TRUE(reading->full.has_value());
  EXPECT_EQ(reading->full->total_us, 12u);
  EXPECT_EQ(ParsePressure("some avg10=x\n", "cpu.pressure").status().message(),
            "cpu.pressure: unexpected line \"some avg10=x\"");
}

TEST(PsiTriggerTest, ShortWindowIsExplainedOrAcceptedByCapability) {
  const std::string file = SystemPressureFile(PsiResource::kCpu);
  absl::StatusOr<PsiTrigger> trigger =
      PsiTrigger::Open(file, Some(milliseconds(150), seconds(1)));
  if (HasCapSysResource()) {
    EXPECT_TRUE(trigger.ok()) << trigger.status();
    return;
  }
  EXPECT_EQ(trigger.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(trigger.status().message(),
            "write \"some 150000 1000000\" to /proc/pressure/cpu: Invalid "
            "argument: PSI trigger \"some 150000 1000000\": without "
            "CAP_SYS_RESOURCE the kernel accepts only windows that are "
            "multiples of 2 s (2s, 4s, 6s, 8s, 10s)");
}

TEST(PsiTriggerTest, SystemWideTriggerOpensAndReads) {
  absl::StatusOr<PsiTrigger> trigger = PsiTrigger::Open(
      SystemPressureFile(PsiResource::kMemory), Some(milliseconds(100), seconds(2)));
  ASSERT_TRUE(trigger.ok()) << trigger.status();
  EXPECT_TRUE(trigger->Consume().ok());
}

TEST(PsiTriggerTest, MissingFileIsNamed) {
  absl::StatusOr<PsiTrigger> trigger = PsiTrigger::Open(
      "/sys/fs/cgroup/unified/no-such-vigil-cgroup/cpu.pressure",
      Some(milliseconds(100), seconds(2)));
  EXPECT_EQ(trigger.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(trigger.status().message(),
            "open /sys/fs/cgroup/unified/no-such-vigil-cgroup/cpu.pressure: "
            "No such file or directory");
}

// Three busy loops on a 2-core host keep one of them waiting for a CPU most
// of the time: cgroup cpu pressure "some" near 30% and more (one loop alone
// produces none; see ENVIRONMENT.md).
TEST(PsiTriggerTest, FiresUnderCpuContentionInACgroup) {
  absl::StatusOr<std::unique_ptr<TestCgroup>> cgroup =
      TestCgroup::Create("psi");
  if (!cgroup.ok()) {
    GTEST_SKIP() << "needs a writable cgroup v2 hierarchy: "
                 << cgroup.status();
  }
  const std::string file =
      CgroupPressureFile((*cgroup)->path(), PsiResource::kCpu);
  absl::StatusOr<PsiTrigger> trigger =
      PsiTrigger::Open(file, Some(milliseconds(100), seconds(2)));
  ASSERT_TRUE(trigger.ok()) << trigger.status();
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  for (long i = 0; i <= cpus; ++i) {
    ASSERT_TRUE((*cgroup)
                    ->Spawn([] {
                      volatile uint64_t spins = 0;
                      for (;;) ++spins;
                    })
                    .ok());
  }

  pollfd pfd{trigger->fd(), PsiTrigger::kPollEvents, 0};
  // Unprivileged triggers are evaluated on the 2 s averaging clock: allow a
  // few windows.
  ASSERT_EQ(poll(&pfd, 1, 10000), 1) << "no PSI trigger within 10 s";
  EXPECT_EQ(pfd.revents, POLLPRI);
  absl::StatusOr<PsiReading> reading = trigger->Consume();
  ASSERT_TRUE(reading.ok()) << reading.status();
  EXPECT_GE(reading->some.total_us, 100000u);
}

}  // namespace
}  // namespace vigil::watch
