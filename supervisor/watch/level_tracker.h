// LevelTracker: notify-only levels over one value (memory.current,
// pids.current, VmRSS, ...) with hysteresis. Plain policy: the caller reads
// the value whenever something could have changed it and feeds it here.
//
// Each level is either "above" or "below". It goes above, and fires kUp, when
// value >= level; it goes back below, and fires kDown, only when
// value < level - hysteresis. A value oscillating inside [level - hysteresis,
// level) therefore fires nothing. All levels start below, so a first reading
// already past a level reports that crossing.
#ifndef VIGIL_SUPERVISOR_WATCH_LEVEL_TRACKER_H_
#define VIGIL_SUPERVISOR_WATCH_LEVEL_TRACKER_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "supervisor/event.h"

namespace vigil::watch {

struct Crossing {
  int64_t level = 0;
  Direction direction = Direction::kNone;
  bool operator==(const Crossing&) const = default;
};

class LevelTracker {
 public:
  // Levels (> 0, any order; duplicates collapse) and hysteresis (>= 0, below
  // every level) are in the value's unit: bytes, tasks, fds.
  static absl::StatusOr<LevelTracker> Create(std::vector<int64_t> levels,
                                             int64_t hysteresis);

  // Crossings caused by moving to `value`, in the order the value passed
  // them: ascending levels going up, descending levels going down.
  std::vector<Crossing> Update(int64_t value);

  bool IsAbove(int64_t level) const;
  int64_t hysteresis() const { return hysteresis_; }

 private:
  struct Level {
    int64_t value;
    bool above;
  };
  LevelTracker(std::vector<Level> levels, int64_t hysteresis)
      : levels_(std::move(levels)), hysteresis_(hysteresis) {}

  std::vector<Level> levels_;  // ascending
  int64_t hysteresis_;
};

}  // namespace vigil::watch

#endif  // VIGIL_SUPERVISOR_WATCH_LEVEL_TRACKER_H_
