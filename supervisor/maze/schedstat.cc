#include "supervisor/maze/schedstat.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include "absl/strings/string_view.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/errno_status.h"
#include "common/status_macros.h"

namespace vigil::maze {
namespace {

// procfs files are read in one read(2) so the kernel renders them atomically.
absl::StatusOr<std::string> ReadSmallFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(absl::StrCat("open ", path), errno);
  // A thread that exits between open and read reports ESRCH.
  char buffer[4096];
  ssize_t n = read(fd, buffer, sizeof(buffer));
  int err = errno;
  close(fd);
  if (n < 0) {
    return ErrnoStatus(absl::StrCat("read ", path), err == ESRCH ? ENOENT : err);
  }
  return std::string(buffer, n);
}

absl::Status ParseSchedstat(const std::string& path, absl::string_view text,
                            TaskSample& sample) {
  std::vector<absl::string_view> fields =
      absl::StrSplit(absl::StripAsciiWhitespace(text), ' ', absl::SkipEmpty());
  if (fields.size() != 3 || !absl::SimpleAtoi(fields[0], &sample.run_ns) ||
      !absl::SimpleAtoi(fields[1], &sample.wait_ns) ||
      !absl::SimpleAtoi(fields[2], &sample.timeslices)) {
    return absl::DataLossError(absl::StrCat(
        path, ": expected three integers (run ns, wait ns, timeslices), got \"",
        absl::StripAsciiWhitespace(text), "\""));
  }
  return absl::OkStatus();
}

absl::Status ParseStatus(const std::string& path, absl::string_view text,
                         TaskSample& sample) {
  bool have_voluntary = false, have_involuntary = false, have_state = false;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    absl::string_view value = line;
    if (absl::ConsumePrefix(&value, "State:")) {
      value = absl::StripLeadingAsciiWhitespace(value);
      have_state = !value.empty();
      if (have_state) sample.state = value[0];
    } else if (absl::ConsumePrefix(&value, "voluntary_ctxt_switches:")) {
      have_voluntary = absl::SimpleAtoi(value, &sample.voluntary_switches);
    } else if (absl::ConsumePrefix(&value, "nonvoluntary_ctxt_switches:")) {
      have_involuntary = absl::SimpleAtoi(value, &sample.involuntary_switches);
    }
  }
  if (!have_state || !have_voluntary || !have_involuntary) {
    return absl::DataLossError(absl::StrCat(
        path, ": missing or malformed State, voluntary_ctxt_switches or "
              "nonvoluntary_ctxt_switches"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string TaskSampler::TaskDir(pid_t pid, pid_t tid) const {
  return absl::StrCat(proc_root_, "/", pid, "/task/", tid);
}

absl::StatusOr<TaskSample> TaskSampler::SampleTask(pid_t pid, pid_t tid) const {
  TaskSample sample;
  sample.tid = tid;
  std::string schedstat_path = TaskDir(pid, tid) + "/schedstat";
  ASSIGN_OR_RETURN(std::string schedstat, ReadSmallFile(schedstat_path));
  RETURN_IF_ERROR(ParseSchedstat(schedstat_path, schedstat, sample));
  std::string status_path = TaskDir(pid, tid) + "/status";
  ASSIGN_OR_RETURN(std::string status, ReadSmallFile(status_path));
  RETURN_IF_ERROR(ParseStatus(status_path, status, sample));
  return sample;
}

absl::StatusOr<std::vector<TaskSample>> TaskSampler::SampleProcess(
    pid_t pid) const {
  std::string task_dir = absl::StrCat(proc_root_, "/", pid, "/task");
  DIR* dir = opendir(task_dir.c_str());
  if (dir == nullptr) {
    return ErrnoStatus(absl::StrCat("opendir ", task_dir), errno);
  }
  std::vector<pid_t> tids;
  while (dirent* entry = readdir(dir)) {
    if (pid_t tid; absl::SimpleAtoi(entry->d_name, &tid)) tids.push_back(tid);
  }
  closedir(dir);
  std::sort(tids.begin(), tids.end());

  std::vector<TaskSample> samples;
  samples.reserve(tids.size());
  for (pid_t tid : tids) {
    absl::StatusOr<TaskSample> sample = SampleTask(pid, tid);
    if (absl::IsNotFound(sample.status())) continue;  // thread exited
    if (!sample.ok()) return sample.status();
    samples.push_back(*sample);
  }
  if (samples.empty()) {
    return absl::NotFoundError(
        absl::StrCat(task_dir, ": no readable threads (process exited)"));
  }
  return samples;
}

}  // namespace vigil::maze
