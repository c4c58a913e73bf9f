#include "supervisor/maze/maze_detector.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace vigil::maze {
namespace {

absl::Duration Count(uint64_t run_ns, uint64_t baseline_run_ns) {
  return absl::Nanoseconds(run_ns - baseline_run_ns);
}

absl::Status ValidateLimits(MazeLimits limits) {
  if (limits.soft <= absl::ZeroDuration() || limits.hard < limits.soft ||
      limits.soft == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "runaway limits: need 0 < soft <= hard, got soft ",
        absl::FormatDuration(limits.soft), ", hard ",
        absl::FormatDuration(limits.hard)));
  }
  return absl::OkStatus();
}

}  // namespace

const char* MazeActionName(MazeAction action) {
  switch (action) {
    case MazeAction::kSoft:
      return "soft";
    case MazeAction::kHard:
      return "hard";
    case MazeAction::kReset:
      return "reset";
  }
  return "?";
}

absl::StatusOr<MazeDetector> MazeDetector::Create(MazeLimits limits,
                                                  WatchOrigin origin) {
  if (absl::Status valid = ValidateLimits(limits); !valid.ok()) return valid;
  return MazeDetector(limits, origin);
}

absl::Status MazeDetector::SetLimits(MazeLimits limits) {
  if (absl::Status valid = ValidateLimits(limits); !valid.ok()) return valid;
  limits_ = limits;
  return absl::OkStatus();
}

MazeDetector::TaskState MazeDetector::StartTask(const TaskSample& sample,
                                                bool first_sample) const {
  // A thread first seen after the watch began was created since the last
  // sample; if it never blocked, all of its run time counts.
  bool counts_from_creation =
      (!first_sample || origin_ == WatchOrigin::kForked) &&
      sample.voluntary_switches == 0;
  TaskState state;
  state.baseline_run_ns = counts_from_creation ? 0 : sample.run_ns;
  return state;
}

MazeVerdict MazeDetector::Observe(const std::vector<TaskSample>& tasks) {
  bool first_sample = !observed_;
  observed_ = true;
  MazeVerdict verdict;
  absl::flat_hash_map<pid_t, TaskState> next;
  next.reserve(tasks.size());
  for (const TaskSample& sample : tasks) {
    auto previous = tasks_.find(sample.tid);
    // Counters that went backwards mean the tid was reused by a new thread.
    bool known = previous != tasks_.end() &&
                 sample.run_ns >= previous->second.run_ns &&
                 sample.voluntary_switches >=
                     previous->second.voluntary_switches;
    TaskState state = known ? previous->second
                            : StartTask(sample, first_sample);
    if (known && sample.voluntary_switches > state.voluntary_switches) {
      if (state.soft_sent) {
        verdict.decisions.push_back(
            {sample.tid, MazeAction::kReset,
             Count(state.run_ns, state.baseline_run_ns)});
      }
      state.baseline_run_ns = sample.run_ns;
      state.soft_sent = state.hard_sent = false;
    }
    state.run_ns = sample.run_ns;
    state.voluntary_switches = sample.voluntary_switches;
    state.can_run = sample.state != 'Z' && sample.state != 'X';
    Decide(sample.tid, state, verdict.decisions);
    if (state.can_run) {
      absl::Duration remaining =
          std::max(Remaining(state), kMinCheckInterval);
      verdict.next_check =
          std::min(verdict.next_check.value_or(remaining), remaining);
    }
    next[sample.tid] = state;
  }
  tasks_ = std::move(next);
  return verdict;
}

void MazeDetector::Decide(pid_t tid, TaskState& state,
                          std::vector<MazeDecision>& out) {
  absl::Duration count = Count(state.run_ns, state.baseline_run_ns);
  if (!state.soft_sent && count >= limits_.soft) {
    out.push_back({tid, MazeAction::kSoft, count});
    state.soft_sent = true;
  }
  if (state.soft_sent && !state.hard_sent && count >= limits_.hard) {
    out.push_back({tid, MazeAction::kHard, count});
    state.hard_sent = true;
  }
}

absl::Duration MazeDetector::Remaining(const TaskState& state) const {
  absl::Duration count = Count(state.run_ns, state.baseline_run_ns);
  if (!state.soft_sent) return limits_.soft - count;
  if (!state.hard_sent && limits_.hard != absl::InfiniteDuration()) {
    return limits_.hard - count;
  }
  // Both signals sent (or no hard limit) and the thread survived: nothing more is due until it
  // blocks and runs a whole soft limit again, which is seen one soft limit
  // from now at the earliest.
  return limits_.soft;
}

std::vector<MazeTaskCount> MazeDetector::Counts() const {
  std::vector<MazeTaskCount> counts;
  counts.reserve(tasks_.size());
  for (const auto& [tid, state] : tasks_) {
    counts.push_back({tid, Count(state.run_ns, state.baseline_run_ns),
                      state.soft_sent, state.hard_sent});
  }
  std::sort(counts.begin(), counts.end(),
            [](const MazeTaskCount& a, const MazeTaskCount& b) {
              return a.tid < b.tid;
            });
  return counts;
}

}  // namespace vigil::maze
