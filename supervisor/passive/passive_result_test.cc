#include "supervisor/passive/passive_result.h"

#include <limits.h>

#include "gtest/gtest.h"

namespace vigil::passive {
namespace {

using std::chrono::seconds;
using std::chrono::system_clock;

PassiveResult Sample() {
  return {.host = "web01", .service = "vigil crasher", .status = 2,
          .output = "UNIT CRITICAL: crasher failed: exit status 3", .perfdata = "",
          .time = system_clock::time_point(seconds(1700000000))};
}

TEST(PassiveResultTest, ExternalCommandLine) {
  PassiveResult r = Sample();
  EXPECT_EQ(ExternalCommandLine(r),
            "[1700000000] PROCESS_SERVICE_CHECK_RESULT;web01;vigil crasher;2;"
            "UNIT CRITICAL: crasher failed: exit status 3\n");
  r.output = "a\nb\\c";
  r.perfdata = "x=1;;;0;";
  EXPECT_EQ(ExternalCommandLine(r),
            "[1700000000] PROCESS_SERVICE_CHECK_RESULT;web01;vigil crasher;2;"
            "a\\nb\\\\c|x=1;;;0;\n");
}

TEST(PassiveResultTest, ExternalCommandLineFitsAnAtomicPipeWrite) {
  PassiveResult r = Sample();
  r.output = std::string(10000, '\\');
  std::string line = ExternalCommandLine(r);
  EXPECT_LE(line.size(), static_cast<size_t>(PIPE_BUF));
  EXPECT_EQ(line.back(), '\n');
  // No dangling half escape before the newline.
  size_t backslashes = line.size() - 1 - line.find_last_not_of('\\', line.size() - 2) - 1;
  EXPECT_EQ(backslashes % 2, 0u);
}

TEST(PassiveResultTest, NscaInputSeparatesRecordsWithEtb) {
  PassiveResult a = Sample();
  PassiveResult b = Sample();
  b.status = 0;
  b.output = "UNIT OK: crasher running\tnow";
  EXPECT_EQ(NscaInput({a, b}),
            "web01\tvigil crasher\t2\tUNIT CRITICAL: crasher failed: exit status 3\n"
            "\x17web01\tvigil crasher\t0\tUNIT OK: crasher running now\n");
}

TEST(PassiveResultTest, Icinga2BodyEscapesTheFilter) {
  PassiveResult r = Sample();
  r.service = "say \"hi\"";
  r.perfdata = "restarts=1;;;0; memory=5B;;;0;";
  EXPECT_EQ(json::Serialize(Icinga2Body(r)),
            R"({"type":"Service","filter":"host.name==\"web01\" && service.name==\"say \\\"hi\\\"\"",)"
            R"("exit_status":2,"plugin_output":"UNIT CRITICAL: crasher failed: exit status 3",)"
            R"("performance_data":["restarts=1;;;0;","memory=5B;;;0;"],"check_source":"web01",)"
            R"("execution_end":1700000000})");
}

TEST(PassiveResultTest, StateEventsBecomeUnitResults) {
  config::NagiosConfig config;
  Event e{.unit = "crasher", .pid = 0, .kind = "state", .state = "backoff",
          .message = "restarting in 100ms"};
  auto r = ResultForEvent(e, config, "h", nullptr, "exit pid 7: killed by signal 9");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->service, "vigil crasher");
  EXPECT_EQ(r->status, 1);
  EXPECT_EQ(r->output,
            "UNIT WARNING: crasher backoff: restarting in 100ms; last event: exit pid 7: "
            "killed by signal 9");
  e.state = "failed";
  EXPECT_EQ(ResultForEvent(e, config, "h", nullptr, "")->status, 2);
  e.state = "running";
  EXPECT_EQ(ResultForEvent(e, config, "h", nullptr, "")->status, 0);
  e.kind = "spawn";
  EXPECT_FALSE(ResultForEvent(e, config, "h", nullptr, "").has_value());
  e.kind = "state";
  e.unit = "";
  EXPECT_FALSE(ResultForEvent(e, config, "h", nullptr, "").has_value());
}

TEST(PassiveResultTest, LevelCrossingsAreGradedByLevelsReached) {
  config::NagiosConfig config;
  UnitLevels levels{.memory = {100, 200}};
  Event e{.unit = "web", .kind = "memory.level", .resource = "memory", .level = 100,
          .value = 150, .direction = Direction::kUp};
  auto r = ResultForEvent(e, config, "h", &levels, "");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->service, "vigil web memory");
  EXPECT_EQ(r->status, 1);
  EXPECT_EQ(r->output, "LEVEL WARNING: web memory = 150B");
  EXPECT_EQ(r->perfdata, "memory=150B;100;200;0;");
  e.level = 200;
  e.value = 250;
  EXPECT_EQ(ResultForEvent(e, config, "h", &levels, "")->status, 2);
  e.direction = Direction::kDown;
  e.value = 180;
  EXPECT_EQ(ResultForEvent(e, config, "h", &levels, "")->status, 1);
  e.level = 100;
  e.value = 50;
  EXPECT_EQ(ResultForEvent(e, config, "h", &levels, "")->status, 0);
}

}  // namespace
}  // namespace vigil::passive
