// What the benchmarks print: order statistics of a sample of durations as
// fixed-width table rows, and a line naming the machine they ran on.
#ifndef VIGIL_BENCH_REPORT_H_
#define VIGIL_BENCH_REPORT_H_

#include <string>
#include <vector>

namespace vigil::bench {

struct LatencySummary {
  size_t count = 0;
  double p50_us = 0;
  double p90_us = 0;
  double p99_us = 0;
  double max_us = 0;
};

// Nearest-rank percentiles of `samples_us` (any order; empty gives zeros).
LatencySummary Summarize(std::vector<double> samples_us);

// "name  count  p50  p90  p99  max" with the numbers in µs.
std::string LatencyHeader();
std::string LatencyRow(const std::string& name, const LatencySummary& summary);
// The per-percentile quotient `numerator / denominator` as a row of ratios.
std::string RatioRow(const std::string& name, const LatencySummary& numerator,
                     const LatencySummary& denominator);

// "date, kernel release, online CPUs, load average": figures depend on it.
std::string MachineLine();

}  // namespace vigil::bench

#endif  // VIGIL_BENCH_REPORT_H_
