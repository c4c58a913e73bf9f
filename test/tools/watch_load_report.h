// Reading watch_load's report file (one "what [number] realtime_ns" line per
// thing it did or signal it got) in the tests and benchmarks that run it.
#ifndef VIGIL_TEST_TOOLS_WATCH_LOAD_REPORT_H_
#define VIGIL_TEST_TOOLS_WATCH_LOAD_REPORT_H_

#include <string>
#include <vector>

#include "absl/time/time.h"

namespace vigil::testing {

struct ReportLine {
  std::string what;  // the line without its time
  absl::Time time;
};

// The well-formed lines of the report at `path`, in order; none if it does
// not exist yet.
std::vector<ReportLine> ReadReport(const std::string& path);

}  // namespace vigil::testing

#endif  // VIGIL_TEST_TOOLS_WATCH_LOAD_REPORT_H_
