#include "supervisor/unit_usage.h"

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "supervisor/cgroup_tree.h"
#include "supervisor/watch/process_usage.h"

namespace vigil {
namespace {

absl::StatusOr<std::vector<pid_t>> CgroupProcs(const std::string& cgroup_dir) {
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(cgroup_dir + "/cgroup.procs"));
  std::vector<pid_t> pids;
  for (absl::string_view word : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    pid_t pid;
    if (absl::SimpleAtoi(word, &pid)) pids.push_back(pid);
  }
  return pids;
}

// O(1) since 6.2; ProcessUsageReader lists the fds on older kernels.
absl::StatusOr<int64_t> OpenFds(pid_t pid) {
  ASSIGN_OR_RETURN(watch::ProcessUsageReader reader, watch::ProcessUsageReader::Open(pid));
  return reader.OpenFds();
}

}  // namespace

UnitUsage::UnitUsage(std::string cgroup_dir, pid_t main_pid,
                     const WatchFeatures& features, Wanted wanted)
    : cgroup_dir_(std::move(cgroup_dir)),
      main_pid_(main_pid),
      process_in_unit_cgroup_(features.process_in_unit_cgroup),
      memory_source_(MemorySource(features)),
      tasks_source_(TasksSource(features)),
      wanted_(wanted) {}

const char* UnitUsage::memory_source_name() const {
  return memory_source_ == UsageSource::kCgroup ? "memory.current" : "VmRSS";
}

const char* UnitUsage::tasks_source_name() const {
  return tasks_source_ == UsageSource::kCgroup ? "pids.current" : "Threads";
}

absl::StatusOr<UnitUsage::ProcessTotals> UnitUsage::SumProcesses() const {
  std::vector<pid_t> pids = {main_pid_};
  if (process_in_unit_cgroup_) {
    ASSIGN_OR_RETURN(pids, CgroupProcs(cgroup_dir_));
  }
  ProcessTotals totals;
  for (pid_t pid : pids) {
    std::string path = absl::StrCat("/proc/", pid, "/status");
    auto text = ReadFileToString(path);
    if (!text.ok()) continue;  // exited since cgroup.procs was read
    auto figures = watch::ParseProcStatus(*text, path);
    if (!figures.ok()) return figures.status();
    totals.rss_bytes += figures->rss_bytes;
    totals.threads += figures->threads;
  }
  return totals;
}

absl::StatusOr<UnitUsageFigures> UnitUsage::Read() const {
  UnitUsageFigures out;
  bool memory_from_cgroup = wanted_.memory && memory_source_ == UsageSource::kCgroup;
  bool tasks_from_cgroup = wanted_.tasks && tasks_source_ == UsageSource::kCgroup;
  if (memory_from_cgroup || tasks_from_cgroup) {
    ASSIGN_OR_RETURN(watch::CgroupUsage usage, watch::ReadCgroupUsage(cgroup_dir_));
    if (memory_from_cgroup) out.memory_bytes = usage.memory_bytes;
    if (tasks_from_cgroup) out.tasks = usage.tasks;
  }
  if ((wanted_.memory && !memory_from_cgroup) || (wanted_.tasks && !tasks_from_cgroup)) {
    ASSIGN_OR_RETURN(ProcessTotals totals, SumProcesses());
    if (wanted_.memory && !memory_from_cgroup) out.memory_bytes = totals.rss_bytes;
    if (wanted_.tasks && !tasks_from_cgroup) out.tasks = totals.threads;
  }
  if (wanted_.open_fds) {
    auto fds = OpenFds(main_pid_);
    if (fds.ok()) out.open_fds = *fds;
  }
  return out;
}

}  // namespace vigil
