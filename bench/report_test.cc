#include "bench/report.h"

#include "gtest/gtest.h"

namespace vigil::bench {
namespace {

TEST(SummarizeTest, NearestRankPercentilesOfUnsortedSamples) {
  std::vector<double> samples;
  for (int i = 100; i >= 1; --i) samples.push_back(i);
  LatencySummary s = Summarize(samples);
  EXPECT_EQ(s.count, 100u);
  EXPECT_EQ(s.p50_us, 50);
  EXPECT_EQ(s.p90_us, 90);
  EXPECT_EQ(s.p99_us, 99);
  EXPECT_EQ(s.max_us, 100);
}

TEST(SummarizeTest, SmallSamplesUseTheirLargestForHighPercentiles) {
  LatencySummary s = Summarize({3, 1, 2});
  EXPECT_EQ(s.p50_us, 2);
  EXPECT_EQ(s.p99_us, 3);
  EXPECT_EQ(s.max_us, 3);
}

TEST(SummarizeTest, EmptySampleIsAllZero) {
  LatencySummary s = Summarize({});
  EXPECT_EQ(s.count, 0u);
  EXPECT_EQ(s.max_us, 0);
}

TEST(RatioRowTest, DividesPercentileByPercentile) {
  LatencySummary slow{.count = 1, .p50_us = 30, .p90_us = 40, .p99_us = 100, .max_us = 200};
  LatencySummary fast{.count = 1, .p50_us = 10, .p90_us = 20, .p99_us = 25, .max_us = 0};
  std::string row = RatioRow("r", slow, fast);
  EXPECT_NE(row.find("3.0x"), std::string::npos) << row;
  EXPECT_NE(row.find("2.0x"), std::string::npos) << row;
  EXPECT_NE(row.find("4.0x"), std::string::npos) << row;
  EXPECT_NE(row.find("n/a"), std::string::npos) << row;
}

}  // namespace
}  // namespace vigil::bench
