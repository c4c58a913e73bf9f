#include "nagios/range.h"

#include <cmath>

#include "gtest/gtest.h"

namespace vigil::nagios {
namespace {

bool Alerts(const char* text, double value) {
  std::optional<Range> range = ParseRange(text);
  EXPECT_TRUE(range.has_value()) << text;
  return range && RangeAlerts(*range, value);
}

TEST(RangeTest, PlainNumberAlertsOutsideZeroToMax) {
  EXPECT_FALSE(Alerts("10", 0));
  EXPECT_FALSE(Alerts("10", 10));
  EXPECT_TRUE(Alerts("10", 11));
  EXPECT_TRUE(Alerts("10", -1));
}

TEST(RangeTest, OpenEndedAndInfiniteStart) {
  EXPECT_TRUE(Alerts("10:", 9));
  EXPECT_FALSE(Alerts("10:", 1e9));
  EXPECT_FALSE(Alerts("~:10", -1e9));
  EXPECT_TRUE(Alerts("~:10", 11));
  EXPECT_TRUE(Alerts(":2", 3));  // leading ':' means start 0
  EXPECT_FALSE(Alerts("~:", 5));
}

TEST(RangeTest, InsideRanges) {
  EXPECT_TRUE(Alerts("@10:20", 10));
  EXPECT_TRUE(Alerts("@10:20", 20));
  EXPECT_FALSE(Alerts("@10:20", 21));
  EXPECT_TRUE(Alerts("@3", 0));
  EXPECT_TRUE(Alerts("@~:0", -5));
  EXPECT_FALSE(Alerts("@~:0", 1));
  // Both ends infinite and inside: 2.3.3 alerts on everything.
  EXPECT_TRUE(Alerts("@~:", 123));
}

TEST(RangeTest, LenientNumbersLikeStrtod) {
  EXPECT_TRUE(Alerts("0x2", 3));
  EXPECT_FALSE(Alerts("1e1", 10));
  EXPECT_TRUE(Alerts("abc", 1));    // garbage parses as 0
  EXPECT_TRUE(Alerts("1:2:3", 3));  // end stops at the second ':'
  EXPECT_FALSE(Alerts("", 1e9));    // empty: 0..inf
  EXPECT_TRUE(Alerts("-5:-1", 0));
}

TEST(RangeTest, StartAboveEndIsRejected) {
  EXPECT_FALSE(ParseRange("3:2").has_value());
  EXPECT_FALSE(ParseRange("-1").has_value());
  EXPECT_FALSE(ParseRange("@20:10").has_value());
  EXPECT_FALSE(ParseRange("nan").has_value());
  EXPECT_TRUE(ParseRange("nan:").has_value());
}

TEST(RangeTest, CriticalWinsOverWarning) {
  Thresholds t{ParseRange("10:20"), ParseRange("5:30")};
  EXPECT_EQ(GetStatus(3, t), kCritical);
  EXPECT_EQ(GetStatus(7, t), kWarning);
  EXPECT_EQ(GetStatus(15, t), kOk);
  EXPECT_EQ(GetStatus(1e9, Thresholds{}), kOk);
}

TEST(RangeTest, FloatPcpuAgainstDoubleRange) {
  // check_procs compares a float pcpu with a double bound: 0.1f > 0.1.
  EXPECT_TRUE(Alerts("0.1", 0.1f));
}

TEST(RangeTest, MaxStateOrder) {
  EXPECT_EQ(MaxState(kUnknown, kOk), kOk);
  EXPECT_EQ(MaxState(kWarning, kOk), kWarning);
  EXPECT_EQ(MaxState(kWarning, kCritical), kCritical);
  EXPECT_EQ(MaxState(kUnknown, kUnknown), kUnknown);
}

}  // namespace
}  // namespace vigil::nagios
