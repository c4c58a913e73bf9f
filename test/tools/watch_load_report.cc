#include "test/tools/watch_load_report.h"

#include <cstdint>
#include <fstream>

#include "absl/strings/numbers.h"

namespace vigil::testing {

std::vector<ReportLine> ReadReport(const std::string& path) {
  std::vector<ReportLine> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    size_t space = line.rfind(' ');
    int64_t ns;
    if (space == std::string::npos || !absl::SimpleAtoi(line.substr(space + 1), &ns)) continue;
    lines.push_back({line.substr(0, space), absl::FromUnixNanos(ns)});
  }
  return lines;
}

}  // namespace vigil::testing
