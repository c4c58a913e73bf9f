#include "supervisor/rlimit/permission.h"

#include "gtest/gtest.h"

namespace vigil::rlimit {
namespace {

TEST(PermissionTest, ParsesTheUidLine) {
  auto uids = ParseStatusUids("Name:\tsshd\nUid:\t1000\t0\t1001\t0\nGid:\t0\t0\t0\t0\n");
  ASSERT_TRUE(uids.ok()) << uids.status();
  EXPECT_EQ(uids->real, 1000u);
  EXPECT_EQ(uids->effective, 0u);
  EXPECT_EQ(uids->saved, 1001u);
  EXPECT_FALSE(ParseStatusUids("Name:\tx\n").ok());
  EXPECT_FALSE(ParseStatusUids("Uid:\tabc\n").ok());
}

TEST(PermissionTest, TheKillRule) {
  ProcessUids root_daemon{0, 0, 0};
  ProcessUids user_process{1000, 1000, 1000};
  ProcessUids setuid_program{1000, 0, 0};  // run by 1000, effective root
  EXPECT_TRUE(MayWatch(0, 1, root_daemon).ok());
  EXPECT_TRUE(MayWatch(1000, 2, user_process).ok());
  EXPECT_TRUE(MayWatch(1000, 3, setuid_program).ok());  // real uid matches
  absl::Status refused = MayWatch(65534, 1, root_daemon);
  EXPECT_EQ(refused.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(refused.message(),
            "uid 65534 may not watch pid 1 (real uid 0, saved uid 0): only root and the "
            "process's own user may watch it, as for kill(2)");
  EXPECT_FALSE(MayWatch(1001, 2, user_process).ok());
}

}  // namespace
}  // namespace vigil::rlimit
