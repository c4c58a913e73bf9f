#include "supervisor/maze/maze_entry.h"

#include <signal.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vigil::maze {
namespace {

using ::testing::HasSubstr;

TEST(MazeEntryTest, AProcMazeEntriesLineInMilliseconds) {
  absl::StatusOr<MazeEntry> entry = ParseMazeEntryLine("1234 300 600 10 9\n");
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_EQ(entry->pid, 1234);
  EXPECT_EQ(entry->soft, absl::Milliseconds(300));
  EXPECT_EQ(entry->hard, absl::Milliseconds(600));
  EXPECT_EQ(entry->soft_signal, SIGUSR1);
  EXPECT_EQ(entry->hard_signal, SIGKILL);
}

TEST(MazeEntryTest, DurationsAndSignalNames) {
  absl::StatusOr<MazeEntry> entry =
      ParseMazeEntryLine("  77\t5s 1m SIGXCPU kill ");
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_EQ(entry->soft, absl::Seconds(5));
  EXPECT_EQ(entry->hard, absl::Minutes(1));
  EXPECT_EQ(entry->soft_signal, SIGXCPU);
  EXPECT_EQ(entry->hard_signal, SIGKILL);
}

TEST(MazeEntryTest, EachBadFieldIsNamed) {
  struct Case {
    const char* line;
    const char* error;
  } cases[] = {
      {"1 2 3 4", "expected 5 fields, PID SOFT HARD SOFTSIG HARDSIG"},
      {"1 2 3 4 5 6", "got 6"},
      {"abc 300 600 10 9", "PID: expected a process id (a positive integer), got \"abc\""},
      {"0 300 600 10 9", "PID: expected a process id"},
      {"-5 300 600 10 9", "PID: expected a process id"},
      {"99999999999 300 600 10 9", "PID: expected a process id"},
      {"1 lots 600 10 9", "SOFT: expected milliseconds (a bare number, as MAZE's entries) or a duration like 5s or 300ms, got \"lots\""},
      {"1 -300 600 10 9", "SOFT: expected milliseconds"},
      {"1 0 600 10 9", "SOFT: the limit must be more than 0, got \"0\""},
      {"1 300 5x 10 9", "HARD: expected milliseconds"},
      {"1 300 200 10 9", "HARD: the hard limit (200ms) must not be less than the soft limit (300ms)"},
      {"1 300 600 99 9", "SOFTSIG: expected a signal like SIGTERM, TERM or 15, got \"99\""},
      {"1 300 600 0 9", "SOFTSIG: expected a signal"},
      {"1 300 600 10 SIGFOO", "HARDSIG: expected a signal like SIGTERM, TERM or 15, got \"SIGFOO\""},
  };
  for (const Case& c : cases) {
    absl::StatusOr<MazeEntry> entry = ParseMazeEntryLine(c.line);
    EXPECT_EQ(entry.status().code(), absl::StatusCode::kInvalidArgument) << c.line;
    EXPECT_THAT(std::string(entry.status().message()), HasSubstr(c.error))
        << c.line;
  }
}

TEST(MazeEntryTest, TheRequestRoundTrips) {
  MazeEntry entry{42, absl::Milliseconds(250), absl::Seconds(2), SIGXCPU, SIGKILL};
  json::Value request = MazeAddRequest(entry);
  EXPECT_EQ(json::Serialize(request),
            "{\"cmd\":\"maze-add\",\"pid\":42,\"soft\":250,\"hard\":2000,"
            "\"soft_signal\":24,\"hard_signal\":9}");
  absl::StatusOr<MazeEntry> back = MazeEntryFromRequest(request);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->pid, 42);
  EXPECT_EQ(back->soft, entry.soft);
  EXPECT_EQ(back->hard, entry.hard);
  EXPECT_EQ(back->soft_signal, SIGXCPU);
  EXPECT_EQ(back->hard_signal, SIGKILL);
}

TEST(MazeEntryTest, BadRequestFieldsAreNamedAsJsonKeys) {
  struct Case {
    const char* json;
    const char* error;
  } cases[] = {
      {R"({"cmd":"maze-add"})", "field \"pid\" is missing"},
      {R"({"pid":1,"soft":300,"hard":600,"soft_signal":10})",
       "field \"hard_signal\" is missing"},
      {R"({"pid":true,"soft":300,"hard":600,"soft_signal":10,"hard_signal":9})",
       "field \"pid\": expected a number or a string, got bool"},
      {R"({"pid":1.5,"soft":300,"hard":600,"soft_signal":10,"hard_signal":9})",
       "field \"pid\": expected a number or a string, got number"},
      {R"({"pid":1,"soft":"soon","hard":600,"soft_signal":10,"hard_signal":9})",
       "field \"soft\": expected milliseconds"},
      {R"({"pid":1,"soft":300,"hard":100,"soft_signal":10,"hard_signal":9})",
       "field \"hard\": the hard limit (100ms) must not be less than the soft limit (300ms)"},
      {R"({"pid":1,"soft":300,"hard":600,"soft_signal":"NOPE","hard_signal":9})",
       "field \"soft_signal\": expected a signal"},
      {R"({"pid":1,"soft":300,"hard":600,"soft_signal":10,"hard_signal":-9})",
       "field \"hard_signal\": expected a signal"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<json::Value> request = json::Parse(c.json);
    ASSERT_TRUE(request.ok()) << c.json;
    absl::StatusOr<MazeEntry> entry = MazeEntryFromRequest(*request);
    EXPECT_EQ(entry.status().code(), absl::StatusCode::kInvalidArgument) << c.json;
    EXPECT_THAT(std::string(entry.status().message()), HasSubstr(c.error))
        << c.json;
  }
}

}  // namespace
}  // namespace vigil::maze
