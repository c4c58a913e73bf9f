#include "bench/process_stats.h"

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace vigil::bench {
namespace {

absl::StatusOr<std::string> Slurp(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path, ": process gone?"));
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

absl::StatusOr<double> UserSystemMicros(pid_t pid) {
  std::string path = absl::StrCat("/proc/", pid, "/stat");
  absl::StatusOr<std::string> stat = Slurp(path);
  if (!stat.ok()) return stat.status();
  // Fields after the ")" that ends comm: state is field 3, utime 14, stime 15.
  size_t paren = stat->rfind(')');
  std::vector<absl::string_view> fields =
      absl::StrSplit(absl::string_view(*stat).substr(paren + 2), ' ');
  int64_t utime, stime;
  if (fields.size() < 13 || !absl::SimpleAtoi(fields[11], &utime) ||
      !absl::SimpleAtoi(fields[12], &stime)) {
    return absl::InternalError(absl::StrCat("unexpected format of ", path));
  }
  return (utime + stime) * 1e6 / sysconf(_SC_CLK_TCK);
}

absl::StatusOr<double> OnCpuMicros(pid_t pid) {
  std::string dir = absl::StrCat("/proc/", pid, "/task");
  DIR* tasks = opendir(dir.c_str());
  if (tasks == nullptr) return absl::NotFoundError(absl::StrCat("cannot list ", dir));
  double total_ns = 0;
  while (dirent* entry = readdir(tasks)) {
    if (entry->d_name[0] == '.') continue;
    absl::StatusOr<std::string> schedstat =
        Slurp(absl::StrCat(dir, "/", entry->d_name, "/schedstat"));
    if (!schedstat.ok()) continue;  // the thread just exited
    std::vector<absl::string_view> fields = absl::StrSplit(*schedstat, ' ');
    int64_t ns;
    if (absl::SimpleAtoi(fields[0], &ns)) {
      total_ns += ns;
    }
  }
  closedir(tasks);
  return total_ns / 1000;
}

absl::StatusOr<int64_t> StatusKib(const std::string& status, absl::string_view key) {
  for (absl::string_view line : absl::StrSplit(status, '\n')) {
    int64_t kib;
    if (absl::ConsumePrefix(&line, key) && absl::ConsumePrefix(&line, ":") &&
        absl::ConsumeSuffix(&line, "kB") && absl::SimpleAtoi(absl::StripAsciiWhitespace(line), &kib)) {
      return kib;
    }
  }
  return absl::NotFoundError(absl::StrCat("no ", key, " in /proc/<pid>/status"));
}

}  // namespace

absl::StatusOr<CpuTime> ReadCpuTime(pid_t pid) {
  absl::StatusOr<double> user_system = UserSystemMicros(pid);
  if (!user_system.ok()) return user_system.status();
  absl::StatusOr<double> on_cpu = OnCpuMicros(pid);
  if (!on_cpu.ok()) return on_cpu.status();
  return CpuTime{.user_system_us = *user_system, .on_cpu_us = *on_cpu};
}

CpuTime operator-(const CpuTime& after, const CpuTime& before) {
  return {.user_system_us = after.user_system_us - before.user_system_us,
          .on_cpu_us = after.on_cpu_us - before.on_cpu_us};
}

absl::StatusOr<Memory> ReadMemory(pid_t pid) {
  absl::StatusOr<std::string> status = Slurp(absl::StrCat("/proc/", pid, "/status"));
  if (!status.ok()) return status.status();
  absl::StatusOr<int64_t> rss = StatusKib(*status, "VmRSS");
  if (!rss.ok()) return rss.status();
  absl::StatusOr<int64_t> hwm = StatusKib(*status, "VmHWM");
  if (!hwm.ok()) return hwm.status();
  return Memory{.rss_kib = *rss, .hwm_kib = *hwm};
}

}  // namespace vigil::bench
