// The texts of check_vigil's native checks, shared by the active plugin
// (`check_vigil unit`, `check_vigil level`) and vigild's passive results, so
// that a pushed result carries exactly what a polled run would print (the
// spec's §12 rule): plain code over plain data.
#ifndef VIGIL_NAGIOS_UNIT_REPORT_H_
#define VIGIL_NAGIOS_UNIT_REPORT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "nagios/range.h"

namespace vigil::nagios {

// running: OK; starting, stopping, backoff (restarting): WARNING; failed,
// exited (stopped included): CRITICAL; anything else: UNKNOWN.
State UnitStateStatus(absl::string_view state);
const char* StateName(State state);  // "OK", "WARNING", ...

struct PerfValue {
  std::string label;  // "memory", "restarts"
  int64_t value = 0;
  std::string uom;    // "B" for bytes, "" for counts
  std::string warning;
  std::string critical;
};
// "label=valueUOM;warn;crit;0;"
std::string FormatPerfValue(const PerfValue& perf);

struct UnitFacts {
  std::string name;
  std::string state;   // vigild's state name
  std::string reason;  // why it is in that state
  int pid = 0;
  std::optional<int64_t> restarts;
  std::string last_event;  // "exit: killed by SIGKILL", "" if none known
  std::vector<PerfValue> perf;
};

struct PluginResult {
  State status = kUnknown;
  std::string output;    // before " | "
  std::string perfdata;  // after " | ", may be empty
  // The whole line as printed, newline-terminated.
  std::string Line() const;
};

// UNIT <STATUS>: <name> <state> (pid N, R restarts): <reason>; last event:
// <event> | restarts=R;;;0; <resource>=...
PluginResult UnitResult(const UnitFacts& facts);
// LEVEL <STATUS>: <unit> <resource> = <value><uom> | <resource>=...
PluginResult LevelResult(absl::string_view unit, const PerfValue& reading, State status);
// A result that could not be determined (exit 3): "<PREFIX> UNKNOWN: <why>".
PluginResult UnknownResult(absl::string_view prefix, absl::string_view why);

}  // namespace vigil::nagios

#endif  // VIGIL_NAGIOS_UNIT_REPORT_H_
