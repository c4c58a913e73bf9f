// Passive check results and their three wire formats (the spec's §12), and
// the policy that turns vigild events into results. Plain code over plain
// data; the sinks (command_file_sink.h, nsca_sink.h, icinga2_sink.h) only
// move the bytes.
#ifndef VIGIL_SUPERVISOR_PASSIVE_PASSIVE_RESULT_H_
#define VIGIL_SUPERVISOR_PASSIVE_PASSIVE_RESULT_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/json.h"
#include "config/config.h"
#include "supervisor/event.h"

namespace vigil::passive {

struct PassiveResult {
  std::string host;
  std::string service;
  int status = 3;         // 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN
  std::string output;     // plugin output, before " | "
  std::string perfdata;   // after " | ", may be empty
  std::chrono::system_clock::time_point time;
};

// "[<unix time>] PROCESS_SERVICE_CHECK_RESULT;<host>;<service>;<status>;
// <output>[|<perfdata>]\n", at most PIPE_BUF bytes so that a write to the
// command FIFO is atomic (the output is cut to fit); newlines and
// backslashes are escaped as Nagios 4 unescapes them.
std::string ExternalCommandLine(const PassiveResult& result);

// send_nsca's input: "<host>\t<service>\t<status>\t<output>[|<perfdata>]\n";
// several records are separated by ETB (0x17), as send_nsca 2.9+ reads them.
std::string NscaInput(const std::vector<PassiveResult>& results);

// The JSON body of POST /v1/actions/process-check-result.
json::Value Icinga2Body(const PassiveResult& result);

// What vigild knows of a unit's watches: the levels of each, to grade a
// level crossing.
struct UnitLevels {
  std::vector<uint64_t> memory, tasks, fds;  // ascending
};
UnitLevels LevelsOf(const config::WatchSpec& watch);
// Resources with levels (the ones `check_vigil unit` reports as perfdata).
std::vector<std::string> WatchedResources(const config::WatchSpec& watch);

// The result an event gives, if any: a unit's state change (OK running,
// WARNING starting/stopping/backoff, CRITICAL failed/exited), or a level
// crossing (graded by how many of the watch's levels the value is at or
// above: none OK, all CRITICAL, some WARNING). `last_event` describes the
// unit's previous event (e.g. the exit that caused a backoff).
std::optional<PassiveResult> ResultForEvent(const Event& event, const config::NagiosConfig& config,
                                            const std::string& host, const UnitLevels* levels,
                                            const std::string& last_event);

// "<kind>[ <state>][ pid N][: message]", as vigild logs it.
std::string DescribeEvent(const Event& event);

// `pattern` with {unit} and {resource} replaced.
std::string ServiceName(const std::string& pattern, const std::string& unit,
                        const std::string& resource);

}  // namespace vigil::passive

#endif  // VIGIL_SUPERVISOR_PASSIVE_PASSIVE_RESULT_H_
