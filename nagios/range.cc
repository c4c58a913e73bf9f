#include "nagios/range.h"

#include <cstdlib>
#include <cstring>
#include <string>

namespace vigil::nagios {

std::optional<Range> ParseRange(absl::string_view text) {
  const std::string owned(text);
  const char* str = owned.c_str();
  Range range;
  if (str[0] == '@') {
    range.alert_inside = true;
    ++str;
  }
  const char* end_str = std::strchr(str, ':');
  if (end_str != nullptr) {
    if (str[0] == '~') {
      range.start_infinity = true;
    } else {
      range.start = std::strtod(str, nullptr);  // stops at the ':'
      range.start_infinity = false;
    }
    ++end_str;
  } else {
    end_str = str;
  }
  const double end = std::strtod(end_str, nullptr);
  if (end_str[0] != '\0') {
    range.end = end;
    range.end_infinity = false;
  }
  if (range.start_infinity || range.end_infinity || range.start <= range.end) {
    return range;
  }
  return std::nullopt;
}

bool RangeAlerts(const Range& range, double value) {
  const bool yes = !range.alert_inside;
  const bool no = range.alert_inside;
  if (!range.end_infinity && !range.start_infinity) {
    return (range.start <= value && value <= range.end) ? no : yes;
  }
  if (!range.start_infinity && range.end_infinity) {
    return range.start <= value ? no : yes;
  }
  if (range.start_infinity && !range.end_infinity) {
    return value <= range.end ? no : yes;
  }
  return no;
}

State GetStatus(double value, const Thresholds& thresholds) {
  if (thresholds.critical && RangeAlerts(*thresholds.critical, value)) {
    return kCritical;
  }
  if (thresholds.warning && RangeAlerts(*thresholds.warning, value)) {
    return kWarning;
  }
  return kOk;
}

State MaxState(State a, State b) {
  if (a == kCritical || b == kCritical) return kCritical;
  if (a == kWarning || b == kWarning) return kWarning;
  if (a == kOk || b == kOk) return kOk;
  return kUnknown;
}

}  // namespace vigil::nagios
