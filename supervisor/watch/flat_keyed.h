// Flat-keyed cgroup files ("key value" per line: memory.events, pids.events,
// cgroup.events, memory.stat) and CounterDelta, which turns two readings of
// an events file into per-key increments. Plain code over text.
#ifndef VIGIL_SUPERVISOR_WATCH_FLAT_KEYED_H_
#define VIGIL_SUPERVISOR_WATCH_FLAT_KEYED_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace vigil::watch {

struct FlatKeyedEntry {
  std::string key;
  int64_t value = 0;
  bool operator==(const FlatKeyedEntry&) const = default;
};

// Entries in file order. `source` names the file in error messages.
using FlatKeyed = std::vector<FlatKeyedEntry>;
absl::StatusOr<FlatKeyed> ParseFlatKeyed(absl::string_view text,
                                         absl::string_view source);
std::optional<int64_t> FindKey(const FlatKeyed& entries, absl::string_view key);

struct CounterIncrement {
  std::string key;
  int64_t increment = 0;  // since the previous reading
  int64_t total = 0;      // the counter's value now
  bool operator==(const CounterIncrement&) const = default;
};

// memory.events keys: low, high, max, oom, oom_kill, oom_group_kill (and
// sock_throttled on newer kernels); pids.events: max. The kernel only ever
// increases these counters, so an increment is "that many new events".
class CounterDelta {
 public:
  // The first reading is the baseline and yields nothing: events that
  // happened before vigil watched are not news. A key seen for the first
  // time later counts from 0.
  std::vector<CounterIncrement> Update(const FlatKeyed& reading);

 private:
  bool has_baseline_ = false;
  absl::flat_hash_map<std::string, int64_t> previous_;
};

}  // namespace vigil::watch

#endif  // VIGIL_SUPERVISOR_WATCH_FLAT_KEYED_H_
