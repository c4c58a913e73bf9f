// The promise to battery-powered devices: with nothing happening, vigild does
// not run at all. 50 units of `sleep infinity`, a 5 s window, zero context
// switches in every thread of vigild.
#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "test/vigild_harness.h"

namespace vigil::testing {
namespace {

TEST(IdleTest, FiftySleepingUnitsCostZeroContextSwitchesOverFiveSeconds) {
  VigildHarness vigild;
  for (int i = 0; i < 50; ++i) {
    vigild.WriteUnit(absl::StrCat("sleeper", i), "exec: [/bin/sleep, infinity]\n");
  }
  ASSERT_TRUE(vigild.Start().ok());
  for (int seen = 0; seen < 50;) {
    auto event = vigild.WaitForEvent([](const json::Value& e) {
      return EventField(e, "kind") == "state" && EventField(e, "state") == "running";
    });
    ASSERT_TRUE(event.ok()) << event.status();
    ++seen;
  }
  // Let start-up output and the replayed events settle, then measure.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto before = ContextSwitches(vigild.pid());
  ASSERT_TRUE(before.ok()) << before.status();
  std::this_thread::sleep_for(std::chrono::seconds(5));
  auto after = ContextSwitches(vigild.pid());
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after - *before, 0) << "vigild woke up while nothing happened";
  // And it is still alive and answering afterwards.
  auto status = vigild.Request("status");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->Find("units")->AsArray().size(), 50u);
}

}  // namespace
}  // namespace vigil::testing
