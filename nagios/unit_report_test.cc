#include "nagios/unit_report.h"

#include "gtest/gtest.h"

namespace vigil::nagios {
namespace {

TEST(UnitReportTest, StatesMapToNagiosStatus) {
  EXPECT_EQ(UnitStateStatus("running"), kOk);
  EXPECT_EQ(UnitStateStatus("backoff"), kWarning);
  EXPECT_EQ(UnitStateStatus("starting"), kWarning);
  EXPECT_EQ(UnitStateStatus("stopping"), kWarning);
  EXPECT_EQ(UnitStateStatus("failed"), kCritical);
  EXPECT_EQ(UnitStateStatus("exited"), kCritical);
  EXPECT_EQ(UnitStateStatus("bogus"), kUnknown);
}

TEST(UnitReportTest, UnitLineWithPerfdata) {
  UnitFacts facts{.name = "web", .state = "running", .reason = "started", .pid = 42,
                  .restarts = 1, .last_event = "spawn pid 42",
                  .perf = {{.label = "memory", .value = 1048576, .uom = "B"}}};
  EXPECT_EQ(UnitResult(facts).Line(),
            "UNIT OK: web running (pid 42, 1 restart): started; last event: spawn pid 42 | "
            "restarts=1;;;0; memory=1048576B;;;0;\n");
  facts = {.name = "db", .state = "failed", .reason = "exit status 3"};
  PluginResult r = UnitResult(facts);
  EXPECT_EQ(r.status, kCritical);
  EXPECT_EQ(r.Line(), "UNIT CRITICAL: db failed: exit status 3\n");
}

TEST(UnitReportTest, LevelAndUnknownLines) {
  PerfValue v{.label = "fds", .value = 12, .warning = "10", .critical = "20"};
  EXPECT_EQ(LevelResult("web", v, kWarning).Line(),
            "LEVEL WARNING: web fds = 12 | fds=12;10;20;0;\n");
  EXPECT_EQ(UnknownResult("UNIT", "no unit named \"x\"").Line(),
            "UNIT UNKNOWN: no unit named \"x\"\n");
}

}  // namespace
}  // namespace vigil::nagios
