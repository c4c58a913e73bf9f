#include "nagios/unit_usage.h"

#include <sys/stat.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/errno_status.h"

namespace vigil::nagios {
namespace {

std::optional<std::string> ReadText(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::optional<int64_t> ReadNumber(const std::string& path) {
  auto text = ReadText(path);
  int64_t value = 0;
  if (!text || !absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &value)) return std::nullopt;
  return value;
}

// `key` from /proc/<pid>/status ("VmRSS:", "Threads:"); 0 when absent (a
// zombie has no VmRSS).
int64_t StatusField(int pid, absl::string_view key) {
  auto text = ReadText(absl::StrCat("/proc/", pid, "/status"));
  if (!text) return 0;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    if (!absl::ConsumePrefix(&line, key)) continue;
    line = absl::StripAsciiWhitespace(absl::StripSuffix(absl::StripAsciiWhitespace(line), "kB"));
    int64_t value = 0;
    if (absl::SimpleAtoi(line, &value)) return value;
  }
  return 0;
}

absl::StatusOr<int64_t> SumOverProcesses(const std::string& cgroup_dir, absl::string_view key) {
  auto procs = ReadText(cgroup_dir + "/cgroup.procs");
  if (!procs) {
    return absl::NotFoundError(absl::StrCat("cannot read ", cgroup_dir, "/cgroup.procs"));
  }
  int64_t sum = 0;
  for (absl::string_view word : absl::StrSplit(*procs, '\n', absl::SkipEmpty())) {
    int pid = 0;
    if (absl::SimpleAtoi(word, &pid)) sum += StatusField(pid, key);
  }
  return sum;
}

}  // namespace

absl::StatusOr<PerfValue> ReadUnitUsage(const std::string& cgroup_dir, int main_pid,
                                        const std::string& resource) {
  PerfValue p{.label = resource};
  if (resource == "memory") {
    p.uom = "B";
    if (auto current = ReadNumber(cgroup_dir + "/memory.current")) {
      p.value = *current;
      return p;
    }
    auto kib = SumOverProcesses(cgroup_dir, "VmRSS:");
    if (!kib.ok()) return kib.status();
    p.value = *kib * 1024;
    return p;
  }
  if (resource == "tasks") {
    if (auto current = ReadNumber(cgroup_dir + "/pids.current")) {
      p.value = *current;
      return p;
    }
    auto threads = SumOverProcesses(cgroup_dir, "Threads:");
    if (!threads.ok()) return threads.status();
    p.value = *threads;
    return p;
  }
  if (resource == "fds") {
    if (main_pid <= 0) return absl::NotFoundError("the unit has no main process");
    struct stat st;
    const std::string dir = absl::StrCat("/proc/", main_pid, "/fd");
    if (stat(dir.c_str(), &st) != 0) return ErrnoStatus(absl::StrCat("stat ", dir), errno);
    p.value = static_cast<int64_t>(st.st_size);
    return p;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown resource \"", resource, "\"; expected memory, tasks or fds"));
}

}  // namespace vigil::nagios
