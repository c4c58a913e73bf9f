// check_vigil's own checks over vigild's units (not part of check_procs):
//
//   check_vigil unit NAME
//       state, pid, restarts, reason and last event of the unit; perfdata
//       for restarts and each watched resource (memory, tasks, fds).
//       OK running; WARNING starting/stopping/backoff; CRITICAL
//       failed/exited; UNKNOWN when vigild is unreachable or has no such unit.
//   check_vigil level UNIT RESOURCE [-w RANGE] [-c RANGE]
//       the current value of memory (bytes), tasks or fds for the unit
//       (unit_usage.h), against Nagios ranges as check_procs parses them.
//
// Both take --vigil-socket=PATH (or $VIGIL_SOCKET).
#ifndef VIGIL_NAGIOS_NATIVE_CHECKS_H_
#define VIGIL_NAGIOS_NATIVE_CHECKS_H_

#include <string>
#include <vector>

namespace vigil::nagios {

// args[1] is "unit" or "level", and the binary was not invoked as
// check_procs (whose positional arguments mean something else).
bool IsNativeCheck(const std::vector<std::string>& args);

// Prints the result line; returns the exit code (0..3).
int RunNativeCheck(const std::vector<std::string>& args, const std::string& socket_path);

}  // namespace vigil::nagios

#endif  // VIGIL_NAGIOS_NATIVE_CHECKS_H_
