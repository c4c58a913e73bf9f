#include "supervisor/watch/level_tracker.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace vigil::watch {

absl::StatusOr<LevelTracker> LevelTracker::Create(std::vector<int64_t> levels,
                                                  int64_t hysteresis) {
  if (hysteresis < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "hysteresis must be >= 0, got ", hysteresis));
  }
  for (int64_t level : levels) {
    if (level <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("levels must be > 0, got ", level));
    }
    if (hysteresis >= level) {
      return absl::InvalidArgumentError(absl::StrCat(
          "hysteresis ", hysteresis, " must be below every level, but level ",
          level, " could then never be crossed downward"));
    }
  }
  std::sort(levels.begin(), levels.end());
  levels.erase(std::unique(levels.begin(), levels.end()), levels.end());
  std::vector<Level> tracked;
  tracked.reserve(levels.size());
  for (int64_t level : levels) tracked.push_back({level, false});
  return LevelTracker(std::move(tracked), hysteresis);
}

std::vector<Crossing> LevelTracker::Update(int64_t value) {
  std::vector<Crossing> crossings;
  for (Level& level : levels_) {
    if (!level.above && value >= level.value) {
      level.above = true;
      crossings.push_back({level.value, Direction::kUp});
    }
  }
  for (auto it = levels_.rbegin(); it != levels_.rend(); ++it) {
    if (it->above && value < it->value - hysteresis_) {
      it->above = false;
      crossings.push_back({it->value, Direction::kDown});
    }
  }
  return crossings;
}

bool LevelTracker::IsAbove(int64_t level) const {
  for (const Level& tracked : levels_) {
    if (tracked.value == level) return tracked.above;
  }
  return false;
}

}  // namespace vigil::watch
