#include "bench/report.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace vigil::bench {
namespace {

double NearestRank(const std::vector<double>& sorted, double percentile) {
  size_t rank = static_cast<size_t>(std::ceil(percentile / 100.0 * sorted.size()));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

std::string Ratio(double numerator, double denominator) {
  if (denominator <= 0) return "n/a";
  return absl::StrFormat("%.1fx", numerator / denominator);
}

}  // namespace

LatencySummary Summarize(std::vector<double> samples_us) {
  LatencySummary summary;
  summary.count = samples_us.size();
  if (samples_us.empty()) return summary;
  std::sort(samples_us.begin(), samples_us.end());
  summary.p50_us = NearestRank(samples_us, 50);
  summary.p90_us = NearestRank(samples_us, 90);
  summary.p99_us = NearestRank(samples_us, 99);
  summary.max_us = samples_us.back();
  return summary;
}

std::string LatencyHeader() {
  return absl::StrFormat("%-28s %7s %10s %10s %10s %10s", "latency (us)", "n", "p50", "p90",
                         "p99", "max");
}

std::string LatencyRow(const std::string& name, const LatencySummary& s) {
  return absl::StrFormat("%-28s %7d %10.1f %10.1f %10.1f %10.1f", name, s.count, s.p50_us,
                         s.p90_us, s.p99_us, s.max_us);
}

std::string RatioRow(const std::string& name, const LatencySummary& numerator,
                     const LatencySummary& denominator) {
  return absl::StrFormat("%-28s %7s %10s %10s %10s %10s", name, "",
                         Ratio(numerator.p50_us, denominator.p50_us),
                         Ratio(numerator.p90_us, denominator.p90_us),
                         Ratio(numerator.p99_us, denominator.p99_us),
                         Ratio(numerator.max_us, denominator.max_us));
}

std::string MachineLine() {
  utsname uts{};
  uname(&uts);
  // The 1, 5 and 15 minute averages: others' work on a shared host shows here.
  std::string load;
  std::getline(std::ifstream("/proc/loadavg"), load);
  load = load.substr(0, load.find(' ', load.find(' ', load.find(' ') + 1) + 1));
  return absl::StrFormat("%s, kernel %s, %d CPUs online, loadavg %s",
                         absl::FormatTime("%Y-%m-%d %H:%M UTC", absl::Now(), absl::UTCTimeZone()),
                         uts.release, sysconf(_SC_NPROCESSORS_ONLN), load);
}

}  // namespace vigil::bench
