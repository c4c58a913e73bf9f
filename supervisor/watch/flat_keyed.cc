#include "supervisor/watch/flat_keyed.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace vigil::watch {

absl::StatusOr<FlatKeyed> ParseFlatKeyed(absl::string_view text,
                                         absl::string_view source) {
  FlatKeyed entries;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    if (line.empty()) continue;
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    int64_t value = 0;
    if (fields.size() != 2 || !absl::SimpleAtoi(fields[1], &value)) {
      return absl::DataLossError(absl::StrCat(
          source, " line ", line_number, ": expected \"key number\", got \"",
          line, "\""));
    }
    entries.push_back({std::string(fields[0]), value});
  }
  return entries;
}

std::optional<int64_t> FindKey(const FlatKeyed& entries,
                               absl::string_view key) {
  for (const FlatKeyedEntry& entry : entries) {
    if (entry.key == key) return entry.value;
  }
  return std::nullopt;
}

std::vector<CounterIncrement> CounterDelta::Update(const FlatKeyed& reading) {
  std::vector<CounterIncrement> increments;
  for (const FlatKeyedEntry& entry : reading) {
    auto it = previous_.try_emplace(entry.key, 0).first;
    // A counter going backwards means the cgroup was recreated under the
    // same name: everything it counts now is new.
    int64_t increment =
        entry.value >= it->second ? entry.value - it->second : entry.value;
    it->second = entry.value;
    if (has_baseline_ && increment > 0) {
      increments.push_back({entry.key, increment, entry.value});
    }
  }
  has_baseline_ = true;
  return increments;
}

}  // namespace vigil::watch
