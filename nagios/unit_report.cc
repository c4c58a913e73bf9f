#include "nagios/unit_report.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace vigil::nagios {

State UnitStateStatus(absl::string_view state) {
  if (state == "running") return kOk;
  if (state == "starting" || state == "stopping" || state == "backoff") return kWarning;
  if (state == "failed" || state == "exited") return kCritical;
  return kUnknown;
}

const char* StateName(State state) {
  switch (state) {
    case kOk:
      return "OK";
    case kWarning:
      return "WARNING";
    case kCritical:
      return "CRITICAL";
    case kUnknown:
      break;
  }
  return "UNKNOWN";
}

std::string FormatPerfValue(const PerfValue& p) {
  return absl::StrCat(p.label, "=", p.value, p.uom, ";", p.warning, ";", p.critical, ";0;");
}

std::string PluginResult::Line() const {
  if (perfdata.empty()) return absl::StrCat(output, "\n");
  return absl::StrCat(output, " | ", perfdata, "\n");
}

PluginResult UnitResult(const UnitFacts& f) {
  PluginResult r;
  r.status = UnitStateStatus(f.state);
  r.output = absl::StrCat("UNIT ", StateName(r.status), ": ", f.name, " ", f.state);
  std::vector<std::string> details;
  if (f.pid > 0) details.push_back(absl::StrCat("pid ", f.pid));
  if (f.restarts) {
    details.push_back(absl::StrCat(*f.restarts, *f.restarts == 1 ? " restart" : " restarts"));
  }
  if (!details.empty()) absl::StrAppend(&r.output, " (", absl::StrJoin(details, ", "), ")");
  if (!f.reason.empty()) absl::StrAppend(&r.output, ": ", f.reason);
  if (!f.last_event.empty()) absl::StrAppend(&r.output, "; last event: ", f.last_event);
  std::vector<std::string> perf;
  if (f.restarts) perf.push_back(FormatPerfValue({.label = "restarts", .value = *f.restarts}));
  for (const PerfValue& p : f.perf) perf.push_back(FormatPerfValue(p));
  r.perfdata = absl::StrJoin(perf, " ");
  return r;
}

PluginResult LevelResult(absl::string_view unit, const PerfValue& reading, State status) {
  PluginResult r;
  r.status = status;
  r.output = absl::StrCat("LEVEL ", StateName(status), ": ", unit, " ", reading.label, " = ",
                          reading.value, reading.uom);
  r.perfdata = FormatPerfValue(reading);
  return r;
}

PluginResult UnknownResult(absl::string_view prefix, absl::string_view why) {
  return PluginResult{.status = kUnknown,
                      .output = absl::StrCat(prefix, " UNKNOWN: ", why)};
}

}  // namespace vigil::nagios
