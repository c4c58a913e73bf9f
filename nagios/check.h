// check_vigil's standalone mode end to end: command line, process source,
// evaluation and output, behaving exactly like check_procs 2.3.3.
#ifndef VIGIL_NAGIOS_CHECK_H_
#define VIGIL_NAGIOS_CHECK_H_

#include <memory>

#include "nagios/options.h"
#include "nagios/process_source.h"

namespace vigil::nagios {

// Picks the source a run uses: --input-file replays a file, otherwise /proc
// is scanned. The lead can swap in a vigild-backed source here.
std::unique_ptr<ProcessSource> DefaultProcessSource(const CheckConfig& config);

// Runs the plugin; prints to stdout/stderr and returns the exit code.
int RunCheck(int argc, char** argv);

}  // namespace vigil::nagios

#endif  // VIGIL_NAGIOS_CHECK_H_
