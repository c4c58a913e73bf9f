// check_vigil's standalone mode end to end: command line, process source,
// evaluation and output, behaving exactly like check_procs 2.3.3.
#ifndef VIGIL_NAGIOS_CHECK_H_
#define VIGIL_NAGIOS_CHECK_H_

#include <memory>

#include "nagios/options.h"
#include "nagios/process_source.h"

namespace vigil::nagios {

// Picks the source a run uses: --input-file replays a file; otherwise
// vigild's process table when its control socket at `vigil_socket` answers
// (vigild_source.h), else a /proc scan. Same output either way.
std::unique_ptr<ProcessSource> DefaultProcessSource(const CheckConfig& config,
                                                    const std::string& vigil_socket);

// Runs the plugin; prints to stdout/stderr and returns the exit code.
// `check_vigil unit|level ...` runs a native check (native_checks.h).
// --vigil-socket=PATH is taken out of the arguments first.
//
// With $VIGIL_CHECK_TRACE naming a file, one line per run is appended there
// saying which source answered and how many processes it read ("source=vigild
// candidates=3", "source=proc"): the tests and the bench check the mode with
// it; stdout and stderr are never touched.
int RunCheck(int argc, char** argv);

}  // namespace vigil::nagios

#endif  // VIGIL_NAGIOS_CHECK_H_
