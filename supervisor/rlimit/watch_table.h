// WatchTable: every rlimit-events watch vigild holds, as plain data — which
// connection watches which (pid, resource, level), each with its own
// LevelTracker — and the rules for adding, removing and ending them. The
// service feeds it readings and turns what comes back into messages; no
// kernel interface is touched here.
//
// Keyed two ways: by process (a reading reaches every watcher of that pid and
// resource) and by connection (a closing connection drops its watches, and
// the per-connection cap is enforced).
#ifndef VIGIL_SUPERVISOR_RLIMIT_WATCH_TABLE_H_
#define VIGIL_SUPERVISOR_RLIMIT_WATCH_TABLE_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "rlimit/rlimit_events.h"
#include "supervisor/watch/level_tracker.h"

namespace vigil::rlimit {

using ConnectionId = uint64_t;

// An event for one connection.
struct Notice {
  ConnectionId connection;
  rle_event event;
};

bool IsKnownResource(uint32_t resource);

class WatchTable {
 public:
  explicit WatchTable(size_t max_watches_per_connection)
      : max_watches_(max_watches_per_connection) {}

  // InvalidArgument for a bad level, hysteresis or flags.
  static absl::Status Validate(const rle_watch& watch);

  // InvalidArgument (bad level, hysteresis, flags), AlreadyExists,
  // ResourceExhausted (the cap). The resource must already be known to be
  // supported; the pid to exist and be allowed.
  absl::Status Add(ConnectionId connection, const rle_watch& watch);
  // NotFound if the connection has no such watch. True in `*last` when the
  // process has no watch left.
  absl::Status Remove(ConnectionId connection, const rle_watch& watch, bool* last);

  // The crossings that `value` (read at `time_ns`) causes, watch by watch in
  // the order they were added.
  std::vector<Notice> Update(pid_t pid, uint32_t resource, int64_t value,
                             int64_t time_ns);
  // The process is gone: its watches end, with one exit notice per
  // connection that watched it.
  std::vector<Notice> RemoveProcess(pid_t pid, int64_t time_ns);
  // The connection is gone: its watches end. Returns the pids it watched
  // (HasProcess() tells which still have other watchers).
  std::vector<pid_t> RemoveConnection(ConnectionId connection);

  bool HasProcess(pid_t pid) const { return processes_.contains(pid); }
  bool Watches(pid_t pid, uint32_t resource) const;
  // The lowest level of `pid`'s `resource` watches that is not above yet:
  // the next upward crossing (for CPU-time based resources, when to look).
  std::optional<int64_t> LowestLevelBelow(pid_t pid, uint32_t resource) const;
  bool AnyAbove(pid_t pid, uint32_t resource) const;
  // Every level watched on `pid`'s `resource`, ascending, distinct.
  std::vector<int64_t> Levels(pid_t pid, uint32_t resource) const;
  // The values at which a watch on `pid`'s `resource` can change state:
  // each level (reached going up) and each level - hysteresis (passed going
  // down), ascending, distinct. An exact backend that reports every crossing
  // of these points lets every watch see every crossing of its own.
  std::vector<int64_t> CrossingPoints(pid_t pid, uint32_t resource) const;
  size_t WatchCount(ConnectionId connection) const;
  size_t ProcessCount() const { return processes_.size(); }

 private:
  struct Watch {
    ConnectionId connection;
    int64_t level;
    watch::LevelTracker tracker;
  };
  // A process's watches by resource.
  using ProcessWatches = absl::flat_hash_map<uint32_t, std::vector<Watch>>;
  struct Key {
    pid_t pid;
    uint32_t resource;
    int64_t level;
    bool operator==(const Key&) const = default;
    template <typename H>
    friend H AbslHashValue(H h, const Key& k) {
      return H::combine(std::move(h), k.pid, k.resource, k.level);
    }
  };

  const std::vector<Watch>* Find(pid_t pid, uint32_t resource) const;

  size_t max_watches_;
  absl::flat_hash_map<pid_t, ProcessWatches> processes_;
  absl::flat_hash_map<ConnectionId, absl::flat_hash_set<Key>> connections_;
};

}  // namespace vigil::rlimit

#endif  // VIGIL_SUPERVISOR_RLIMIT_WATCH_TABLE_H_
