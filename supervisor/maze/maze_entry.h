// MazeEntry: one watch as written to the MAZE patch's /proc/maze/entries,
// "PID SOFT HARD SOFTSIG HARDSIG", and its form on vigild's control socket.
// Plain parsing and validation; no kernel interface.
//
// MAZE's limits were bare numbers of cputime_t (jiffies). Here a bare number
// is milliseconds, and a duration with a unit ("5s", "300ms") is accepted
// too. Signals are numbers (as MAZE) or names ("SIGXCPU", "KILL").
#ifndef VIGIL_SUPERVISOR_MAZE_MAZE_ENTRY_H_
#define VIGIL_SUPERVISOR_MAZE_MAZE_ENTRY_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/json.h"

namespace vigil::maze {

struct MazeEntry {
  pid_t pid = 0;
  absl::Duration soft;
  absl::Duration hard;
  int soft_signal = 0;
  int hard_signal = 0;
};

// The five whitespace-separated fields of one line. Errors name the field
// (PID, SOFT, HARD, SOFTSIG, HARDSIG) and quote what was given.
absl::StatusOr<MazeEntry> ParseMazeEntryLine(absl::string_view line);
absl::StatusOr<MazeEntry> ParseMazeEntryFields(
    const std::vector<std::string>& fields);

// {"cmd":"maze-add","pid":..,"soft":<ms>,"hard":<ms>,"soft_signal":..,
// "hard_signal":..}
json::Value MazeAddRequest(const MazeEntry& entry);

// The same request as vigild receives it: each of soft/hard may be a number
// of milliseconds or a duration string, each signal a number or a name.
// Errors name the JSON field, e.g. `field "hard_signal": ...`.
absl::StatusOr<MazeEntry> MazeEntryFromRequest(const json::Value& request);

}  // namespace vigil::maze

#endif  // VIGIL_SUPERVISOR_MAZE_MAZE_ENTRY_H_
