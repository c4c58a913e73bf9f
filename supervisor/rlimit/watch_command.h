// `vigilctl watch PID RESOURCE LEVEL [PID RESOURCE LEVEL]...`: the RFC's
// sample test application over the rlimit-events client library. It adds
// each watch, prints one line per event as it comes, and returns when every
// watched process has exited or vigild hangs up.
#ifndef VIGIL_SUPERVISOR_RLIMIT_WATCH_COMMAND_H_
#define VIGIL_SUPERVISOR_RLIMIT_WATCH_COMMAND_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "rlimit/rlimit_events.h"

namespace vigil::rlimit {

// A level as the user writes it for `resource`: a count for nofile and
// tasks, a size (200M) for rss, a duration (5s, 300ms) for cpu and maze.
// Returns the wire value (bytes, count or nanoseconds).
absl::StatusOr<int64_t> ParseLevel(uint32_t resource, const std::string& text);

// `args` are the words after "watch". `control_socket` is vigilctl's control
// socket: the rlimit-events socket defaults to rlimit-events.sock beside it
// (as in vigil.yaml), unless $VIGIL_RLIMIT_SOCKET or --rlimit-socket says
// otherwise. Returns the process exit code.
int RunWatchCommand(const std::vector<std::string>& args,
                    const std::string& control_socket, bool json,
                    std::ostream& out, std::ostream& err);

}  // namespace vigil::rlimit

#endif  // VIGIL_SUPERVISOR_RLIMIT_WATCH_COMMAND_H_
