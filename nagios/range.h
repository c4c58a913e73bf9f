// Nagios threshold ranges exactly as monitoring-plugins 2.3.3 parses and
// checks them (lib/utils_base.c): parse_range_string, check_range,
// get_status and max_state, including their leniencies (strtod without
// validation, "Range format incorrect" only when start > end).
#ifndef VIGIL_NAGIOS_RANGE_H_
#define VIGIL_NAGIOS_RANGE_H_

#include <optional>
#include "absl/strings/string_view.h"

namespace vigil::nagios {

enum State { kOk = 0, kWarning = 1, kCritical = 2, kUnknown = 3 };

struct Range {
  double start = 0;
  bool start_infinity = false;
  double end = 0;
  bool end_infinity = true;
  bool alert_inside = false;  // "@" prefix
};

// nullopt when the plugin would die with "Range format incorrect".
std::optional<Range> ParseRange(absl::string_view text);

// True when `value` should raise an alert for `range`.
bool RangeAlerts(const Range& range, double value);

struct Thresholds {
  std::optional<Range> warning;
  std::optional<Range> critical;
};

// Critical is tested first, then warning.
State GetStatus(double value, const Thresholds& thresholds);

// CRITICAL > WARNING > OK > UNKNOWN.
State MaxState(State a, State b);

}  // namespace vigil::nagios

#endif  // VIGIL_NAGIOS_RANGE_H_
