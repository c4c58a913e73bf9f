#include "config/duration.h"

#include <signal.h>

#include <chrono>
#include <string>

#include "gtest/gtest.h"

namespace vigil::config {
namespace {

using std::chrono::milliseconds;

TEST(ParseDurationTest, AcceptsUnitsFractionsAndSums) {
  struct Case {
    const char* text;
    int64_t ms;
  };
  for (const Case& c : {Case{"100ms", 100}, {"5s", 5000}, {"2m", 120000},
                        {"1h", 3600000}, {"1.5s", 1500}, {"0.25s", 250},
                        {"1h30m", 5400000}, {"1m0.5s", 60500}, {"0s", 0},
                        {"0ms", 0}}) {
    auto parsed = ParseDuration(c.text);
    ASSERT_TRUE(parsed.ok()) << c.text << ": " << parsed.status();
    EXPECT_EQ(*parsed, milliseconds(c.ms)) << c.text;
  }
}

TEST(ParseDurationTest, RejectsWithMessage) {
  struct Case {
    const char* text;
    const char* message;
  };
  for (const Case& c : {
           Case{"5", "expected a duration like 5s or 100ms, got \"5\" (a unit "
                     "is required: ms, s, m or h)"},
           {"lots", "expected a duration like 5s or 100ms, got \"lots\""},
           {"", "expected a duration like 5s or 100ms, got \"\""},
           {"-5s", "expected a duration like 5s or 100ms, got \"-5s\""},
           {"5 s", "expected a duration like 5s or 100ms, got \"5 s\" (a unit "
                   "is required: ms, s, m or h)"},
           {"5d", "expected a duration like 5s or 100ms, got \"5d\" (unknown "
                  "unit \"d\"; use ms, s, m or h)"},
           {"10us", "expected a duration like 5s or 100ms, got \"10us\" "
                    "(unknown unit \"us\"; use ms, s, m or h)"},
           {"1.5ms", "expected a duration like 5s or 100ms, got \"1.5ms\" (not "
                     "a whole number of milliseconds)"},
           {".5s", "expected a duration like 5s or 100ms, got \".5s\""},
           {"5.s", "expected a duration like 5s or 100ms, got \"5.s\""},
           {"9999999999999999999h",
            "expected a duration like 5s or 100ms, got \"9999999999999999999h\""},
       }) {
    auto parsed = ParseDuration(c.text);
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_EQ(std::string(parsed.status().message()), c.message);
  }
}

TEST(ParseSizeTest, AcceptsBinaryUnits) {
  struct Case {
    const char* text;
    uint64_t bytes;
  };
  for (const Case& c : {Case{"4096", 4096}, {"512K", 512 << 10},
                        {"200M", 200ull << 20}, {"1G", 1ull << 30},
                        {"1.5G", 3ull << 29}, {"2T", 2ull << 40},
                        {"64KiB", 64 << 10}, {"64Ki", 64 << 10},
                        {"64KB", 64 << 10}, {"10B", 10}, {"0", 0}}) {
    auto parsed = ParseSize(c.text);
    ASSERT_TRUE(parsed.ok()) << c.text << ": " << parsed.status();
    EXPECT_EQ(*parsed, c.bytes) << c.text;
  }
}

TEST(ParseSizeTest, RejectsWithMessage) {
  struct Case {
    const char* text;
    const char* message;
  };
  for (const Case& c : {
           Case{"lots", "expected a size like 200M, got \"lots\""},
           {"200 M", "expected a size like 200M, got \"200 M\" (units are K, M, "
                     "G and T, powers of 1024)"},
           {"200m", "expected a size like 200M, got \"200m\" (units are K, M, "
                    "G and T, powers of 1024)"},
           {"1P", "expected a size like 200M, got \"1P\" (units are K, M, G and "
                  "T, powers of 1024)"},
           {"1.5", "expected a size like 200M, got \"1.5\" (not a whole number "
                   "of bytes)"},
           {"-1M", "expected a size like 200M, got \"-1M\""},
           {"20000000T", "expected a size like 200M, got \"20000000T\" (too "
                         "large)"},
       }) {
    auto parsed = ParseSize(c.text);
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_EQ(std::string(parsed.status().message()), c.message);
  }
}

TEST(ParseSignalTest, AcceptsNamesNumbersAndRealtime) {
  struct Case {
    const char* text;
    int signal;
  };
  for (const Case& c :
       {Case{"SIGTERM", SIGTERM}, {"TERM", SIGTERM}, {"15", SIGTERM},
        {"sigkill", SIGKILL}, {"SIGXCPU", SIGXCPU}, {"USR1", SIGUSR1},
        {"SIGIOT", SIGABRT}, {"SIGRTMIN", SIGRTMIN},
        {"SIGRTMIN+1", SIGRTMIN + 1}, {"RTMAX-2", SIGRTMAX - 2},
        {"SIGRTMAX", SIGRTMAX}, {"64", 64}}) {
    auto parsed = ParseSignal(c.text);
    ASSERT_TRUE(parsed.ok()) << c.text << ": " << parsed.status();
    EXPECT_EQ(*parsed, c.signal) << c.text;
  }
}

TEST(ParseSignalTest, RejectsWithMessage) {
  struct Case {
    const char* text;
    const char* message;
  };
  for (const Case& c : {
           Case{"SIGFOO", "expected a signal like SIGTERM, TERM or 15, got "
                          "\"SIGFOO\""},
           {"0", "expected a signal like SIGTERM, TERM or 15, got \"0\" "
                 "(signals are 1 to 64)"},
           {"65", "expected a signal like SIGTERM, TERM or 15, got \"65\" "
                  "(signals are 1 to 64)"},
           {"+15", "expected a signal like SIGTERM, TERM or 15, got \"+15\""},
           {"SIGRTMIN+99", "expected a signal like SIGTERM, TERM or 15, got "
                           "\"SIGRTMIN+99\""},
           {"SIGRTMIN-1", "expected a signal like SIGTERM, TERM or 15, got "
                          "\"SIGRTMIN-1\""},
           {"", "expected a signal like SIGTERM, TERM or 15, got \"\""},
       }) {
    auto parsed = ParseSignal(c.text);
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_EQ(std::string(parsed.status().message()), c.message);
  }
}

TEST(SignalNameTest, NamesRoundTrip) {
  EXPECT_EQ(SignalName(SIGTERM), "SIGTERM");
  EXPECT_EQ(SignalName(SIGRTMIN), "SIGRTMIN");
  EXPECT_EQ(SignalName(SIGRTMIN + 3), "SIGRTMIN+3");
  EXPECT_EQ(SignalName(99), "signal 99");
  for (int signal = 1; signal <= SIGRTMAX; ++signal) {
    if (signal == 32 || signal == 33) continue;  // glibc's own, unnamed
    auto parsed = ParseSignal(SignalName(signal));
    ASSERT_TRUE(parsed.ok()) << signal << ": " << parsed.status();
    EXPECT_EQ(*parsed, signal);
  }
}

TEST(FormatDurationTest, RoundTripsThroughParse) {
  for (int64_t ms : {0, 1, 999, 1000, 1500, 60000, 90000, 3600000, 5400000,
                     3601500}) {
    std::string text = FormatDuration(milliseconds(ms));
    auto parsed = ParseDuration(text);
    ASSERT_TRUE(parsed.ok()) << text;
    EXPECT_EQ(parsed->count(), ms) << text;
  }
  EXPECT_EQ(FormatDuration(milliseconds(5400000)), "1h30m");
  EXPECT_EQ(FormatDuration(milliseconds(1500)), "1500ms");
}

TEST(QuoteForMessageTest, EscapesAndShortens) {
  EXPECT_EQ(QuoteForMessage("a\"b\n'\x01é"), "\"a\\\"b\\n'\\x01é\"");
  EXPECT_EQ(QuoteForMessage(std::string(100, 'x')),
            "\"" + std::string(60, 'x') + "...\"");
}

}  // namespace
}  // namespace vigil::config
