// The one typed record every watch, state change and action produces. It is
// published on the control socket's event stream, in the log, to the
// rlimit-events subscribers and to Nagios.
#ifndef VIGIL_SUPERVISOR_EVENT_H_
#define VIGIL_SUPERVISOR_EVENT_H_

#include <chrono>
#include <cstdint>
#include <string>

namespace vigil {

enum class Direction { kNone, kUp, kDown };

struct Event {
  std::string unit;        // unit name, or "" for vigild itself
  int pid = 0;             // the process concerned, 0 if none
  std::string kind;        // "state", "exit", "memory.high", "runaway.soft", ...
  std::string resource;    // "memory", "tasks", "cpu", "fds", "" for state
  int64_t level = 0;       // the level crossed, if any
  int64_t value = 0;       // the value read when the event was produced
  Direction direction = Direction::kNone;
  std::string mechanism;   // "pidfd", "cgroup.events", "psi", "cpu-timer", ...
  std::string state;       // for kind "state": the unit's new state
  std::string message;     // human-readable detail
  std::chrono::system_clock::time_point time = std::chrono::system_clock::now();
};

const char* DirectionName(Direction d);

}  // namespace vigil

#endif  // VIGIL_SUPERVISOR_EVENT_H_
