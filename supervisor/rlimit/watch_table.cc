#include "supervisor/rlimit/watch_table.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace vigil::rlimit {

bool IsKnownResource(uint32_t resource) {
  return rle_resource_name(resource) != nullptr;
}

namespace {

int32_t WireDirection(Direction direction) {
  switch (direction) {
    case Direction::kUp:
      return RLE_DIR_UP;
    case Direction::kDown:
      return RLE_DIR_DOWN;
    case Direction::kNone:
      break;
  }
  return RLE_DIR_NONE;
}

}  // namespace

absl::Status WatchTable::Validate(const rle_watch& watch) {
  if (watch.flags != 0 || watch.reserved != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "flags and reserved must be 0, got flags %#x reserved %#x", watch.flags,
        watch.reserved));
  }
  return watch::LevelTracker::Create({watch.level}, watch.hysteresis).status();
}

absl::Status WatchTable::Add(ConnectionId connection, const rle_watch& watch) {
  if (absl::Status valid = Validate(watch); !valid.ok()) return valid;
  auto tracker = watch::LevelTracker::Create({watch.level}, watch.hysteresis);
  if (!tracker.ok()) return tracker.status();
  auto& keys = connections_[connection];
  Key key{watch.pid, watch.resource, watch.level};
  if (keys.contains(key)) {
    return absl::AlreadyExistsError(absl::StrFormat(
        "this connection already watches %s of pid %d at level %d",
        rle_resource_name(watch.resource), watch.pid, watch.level));
  }
  if (keys.size() >= max_watches_) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "this connection has reached its cap of %d watches "
        "(rlimit_events.max_watches in vigil.yaml); remove some first",
        max_watches_));
  }
  keys.insert(key);
  processes_[watch.pid][watch.resource].push_back(
      Watch{connection, watch.level, *std::move(tracker)});
  return absl::OkStatus();
}

absl::Status WatchTable::Remove(ConnectionId connection, const rle_watch& watch,
                                bool* last) {
  *last = false;
  auto conn = connections_.find(connection);
  Key key{watch.pid, watch.resource, watch.level};
  if (conn == connections_.end() || conn->second.erase(key) == 0) {
    return absl::NotFoundError(absl::StrFormat(
        "this connection has no watch on %s of pid %d at level %d",
        rle_resource_name(watch.resource) ? rle_resource_name(watch.resource)
                                          : "unknown resource",
        watch.pid, watch.level));
  }
  ProcessWatches& process = processes_[watch.pid];
  std::vector<Watch>& watches = process[watch.resource];
  std::erase_if(watches, [&](const Watch& w) {
    return w.connection == connection && w.level == watch.level;
  });
  if (watches.empty()) process.erase(watch.resource);
  if (process.empty()) {
    processes_.erase(watch.pid);
    *last = true;
  }
  return absl::OkStatus();
}

std::vector<Notice> WatchTable::Update(pid_t pid, uint32_t resource,
                                       int64_t value, int64_t time_ns) {
  std::vector<Notice> notices;
  auto process = processes_.find(pid);
  if (process == processes_.end()) return notices;
  auto watches = process->second.find(resource);
  if (watches == process->second.end()) return notices;
  for (Watch& w : watches->second) {
    for (const watch::Crossing& crossing : w.tracker.Update(value)) {
      rle_event event{};
      event.type = RLE_EV_CROSSING;
      event.resource = resource;
      event.pid = pid;
      event.direction = WireDirection(crossing.direction);
      event.level = crossing.level;
      event.value = value;
      event.time_ns = time_ns;
      notices.push_back({w.connection, event});
    }
  }
  // In the order the value passed the levels: ascending going up,
  // descending going down.
  std::stable_sort(notices.begin(), notices.end(), [](const Notice& a, const Notice& b) {
    if (a.event.direction != b.event.direction) return a.event.direction > b.event.direction;
    return a.event.direction == RLE_DIR_UP ? a.event.level < b.event.level
                                           : a.event.level > b.event.level;
  });
  return notices;
}

std::vector<Notice> WatchTable::RemoveProcess(pid_t pid, int64_t time_ns) {
  std::vector<Notice> notices;
  auto process = processes_.find(pid);
  if (process == processes_.end()) return notices;
  absl::flat_hash_set<ConnectionId> told;
  for (const auto& [resource, watches] : process->second) {
    for (const Watch& w : watches) {
      connections_[w.connection].erase(Key{pid, resource, w.level});
      if (!told.insert(w.connection).second) continue;
      rle_event event{};
      event.type = RLE_EV_EXIT;
      event.pid = pid;
      event.time_ns = time_ns;
      notices.push_back({w.connection, event});
    }
  }
  processes_.erase(process);
  return notices;
}

std::vector<pid_t> WatchTable::RemoveConnection(ConnectionId connection) {
  std::vector<pid_t> touched;
  auto conn = connections_.find(connection);
  if (conn == connections_.end()) return touched;
  absl::flat_hash_set<pid_t> pids;
  for (const Key& key : conn->second) pids.insert(key.pid);
  connections_.erase(conn);
  for (pid_t pid : pids) {
    ProcessWatches& process = processes_[pid];
    for (auto it = process.begin(); it != process.end();) {
      std::erase_if(it->second,
                    [&](const Watch& w) { return w.connection == connection; });
      if (it->second.empty()) {
        process.erase(it++);
      } else {
        ++it;
      }
    }
    if (process.empty()) processes_.erase(pid);
    touched.push_back(pid);
  }
  return touched;
}

const std::vector<WatchTable::Watch>* WatchTable::Find(pid_t pid,
                                                       uint32_t resource) const {
  auto process = processes_.find(pid);
  if (process == processes_.end()) return nullptr;
  auto watches = process->second.find(resource);
  return watches == process->second.end() ? nullptr : &watches->second;
}

bool WatchTable::Watches(pid_t pid, uint32_t resource) const {
  return Find(pid, resource) != nullptr;
}

std::optional<int64_t> WatchTable::LowestLevelBelow(pid_t pid,
                                                    uint32_t resource) const {
  std::optional<int64_t> lowest;
  if (const auto* watches = Find(pid, resource)) {
    for (const Watch& w : *watches) {
      if (!w.tracker.IsAbove(w.level) && (!lowest || w.level < *lowest)) {
        lowest = w.level;
      }
    }
  }
  return lowest;
}

bool WatchTable::AnyAbove(pid_t pid, uint32_t resource) const {
  const auto* watches = Find(pid, resource);
  return watches != nullptr &&
         std::any_of(watches->begin(), watches->end(),
                     [](const Watch& w) { return w.tracker.IsAbove(w.level); });
}

std::vector<int64_t> WatchTable::Levels(pid_t pid, uint32_t resource) const {
  std::vector<int64_t> levels;
  if (const auto* watches = Find(pid, resource)) {
    for (const Watch& w : *watches) levels.push_back(w.level);
  }
  std::sort(levels.begin(), levels.end());
  levels.erase(std::unique(levels.begin(), levels.end()), levels.end());
  return levels;
}

std::vector<int64_t> WatchTable::CrossingPoints(pid_t pid, uint32_t resource) const {
  std::vector<int64_t> points;
  if (const auto* watches = Find(pid, resource)) {
    for (const Watch& w : *watches) {
      points.push_back(w.level);
      points.push_back(w.level - w.tracker.hysteresis());
    }
  }
  std::sort(points.begin(), points.end());
  points.erase(std::unique(points.begin(), points.end()), points.end());
  return points;
}

size_t WatchTable::WatchCount(ConnectionId connection) const {
  auto conn = connections_.find(connection);
  return conn == connections_.end() ? 0 : conn->second.size();
}

}  // namespace vigil::rlimit
