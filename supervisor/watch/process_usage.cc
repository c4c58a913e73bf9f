#include "supervisor/watch/process_usage.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/errno_status.h"
#include "supervisor/watch/kernel_file.h"

namespace vigil::watch {
namespace {

// Entries of the directory `name` under `dir_fd`, without "." and "..".
absl::StatusOr<std::vector<std::string>> ListDirectory(
    int dir_fd, const char* name, absl::string_view path) {
  int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(absl::StrCat("open ", path), errno);
  DIR* dir = fdopendir(fd);
  if (dir == nullptr) {
    close(fd);
    return ErrnoStatus(absl::StrCat("opendir ", path), errno);
  }
  std::vector<std::string> entries;
  while (dirent* entry = readdir(dir)) {
    absl::string_view entry_name = entry->d_name;
    if (entry_name != "." && entry_name != "..") {
      entries.emplace_back(entry_name);
    }
  }
  closedir(dir);
  return entries;
}

absl::StatusOr<std::optional<int64_t>> ReadOptionalNumber(
    const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return std::nullopt;
    return ErrnoStatus(absl::StrCat("open ", path), errno);
  }
  absl::StatusOr<std::string> text = PreadAll(fd.get(), path);
  if (!text.ok()) return text.status();
  int64_t value = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &value)) {
    return absl::DataLossError(
        absl::StrCat(path, ": expected a number, got \"", *text, "\""));
  }
  return value;
}

}  // namespace

absl::StatusOr<StatusFigures> ParseProcStatus(absl::string_view text,
                                              absl::string_view source) {
  StatusFigures figures;
  bool has_threads = false;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::ConsumePrefix(&line, "VmRSS:")) {
      // "VmRSS:	    1234 kB"
      absl::string_view kib = absl::StripAsciiWhitespace(line);
      if (!absl::ConsumeSuffix(&kib, " kB") ||
          !absl::SimpleAtoi(kib, &figures.rss_bytes)) {
        return absl::DataLossError(
            absl::StrCat(source, ": unexpected VmRSS line \"", line, "\""));
      }
      figures.rss_bytes *= 1024;
    } else if (absl::ConsumePrefix(&line, "Threads:")) {
      if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(line),
                            &figures.threads)) {
        return absl::DataLossError(
            absl::StrCat(source, ": unexpected Threads line \"", line, "\""));
      }
      has_threads = true;
    }
  }
  if (!has_threads) {
    return absl::DataLossError(absl::StrCat(source, ": no Threads line"));
  }
  return figures;
}

absl::StatusOr<ProcessUsageReader> ProcessUsageReader::Open(pid_t pid) {
  const std::string path = absl::StrCat("/proc/", pid);
  UniqueFd dir(open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) {
    if (errno == ENOENT) {
      return absl::NotFoundError(absl::StrCat("no process ", pid));
    }
    return ErrnoStatus(absl::StrCat("open ", path), errno);
  }
  return ProcessUsageReader(pid, std::move(dir));
}

absl::Status ProcessUsageReader::Exited(const absl::Status& status) const {
  // Once the process is reaped, everything under the pinned directory is
  // gone (ENOENT or ESRCH, depending on the file); tell that apart from
  // other failures by whether its status file is still there.
  struct stat st;
  if (fstatat(dir_.get(), "status", &st, 0) == 0) return status;
  return absl::NotFoundError(absl::StrCat("process ", pid_, " has exited"));
}

absl::StatusOr<int64_t> ProcessUsageReader::OpenFds() const {
  const std::string path = absl::StrCat("/proc/", pid_, "/fd");
  struct stat st;
  if (fstatat(dir_.get(), "fd", &st, 0) != 0) {
    return Exited(ErrnoStatus(absl::StrCat("stat ", path), errno));
  }
  if (st.st_size > 0) return st.st_size;
  // Before 6.2 st_size is always 0; listing is O(fds) but exact.
  absl::StatusOr<std::vector<std::string>> fds =
      ListDirectory(dir_.get(), "fd", path);
  if (!fds.ok()) return Exited(fds.status());
  return static_cast<int64_t>(fds->size());
}

absl::StatusOr<int64_t> ProcessUsageReader::Children() const {
  const std::string tasks_path = absl::StrCat("/proc/", pid_, "/task");
  absl::StatusOr<std::vector<std::string>> tasks =
      ListDirectory(dir_.get(), "task", tasks_path);
  if (!tasks.ok()) return Exited(tasks.status());
  int64_t children = 0;
  for (const std::string& tid : *tasks) {
    const std::string name = absl::StrCat("task/", tid, "/children");
    absl::StatusOr<std::string> text = ReadFileAt(
        dir_.get(), name.c_str(), absl::StrCat("/proc/", pid_, "/", name));
    // A thread that exited between the listing and now has no children.
    if (!text.ok() && text.status().code() == absl::StatusCode::kNotFound) {
      continue;
    }
    if (!text.ok()) return Exited(text.status());
    std::vector<absl::string_view> pids =
        absl::StrSplit(*text, ' ', absl::SkipWhitespace());
    children += pids.size();
  }
  return children;
}

absl::StatusOr<ProcessUsage> ProcessUsageReader::Read() const {
  const std::string status_path = absl::StrCat("/proc/", pid_, "/status");
  absl::StatusOr<std::string> status_text =
      ReadFileAt(dir_.get(), "status", status_path);
  if (!status_text.ok()) return Exited(status_text.status());
  absl::StatusOr<StatusFigures> figures =
      ParseProcStatus(*status_text, status_path);
  if (!figures.ok()) return figures.status();
  ProcessUsage usage;
  usage.rss_bytes = figures->rss_bytes;
  usage.threads = figures->threads;
  absl::StatusOr<int64_t> children = Children();
  if (!children.ok()) return children.status();
  usage.children = *children;
  absl::StatusOr<int64_t> fds = OpenFds();
  if (!fds.ok()) return fds.status();
  usage.open_fds = *fds;
  return usage;
}

absl::StatusOr<CgroupUsage> ReadCgroupUsage(const std::string& cgroup_dir) {
  CgroupUsage usage;
  absl::StatusOr<std::optional<int64_t>> memory =
      ReadOptionalNumber(cgroup_dir + "/memory.current");
  if (!memory.ok()) return memory.status();
  usage.memory_bytes = *memory;
  absl::StatusOr<std::optional<int64_t>> tasks =
      ReadOptionalNumber(cgroup_dir + "/pids.current");
  if (!tasks.ok()) return tasks.status();
  usage.tasks = *tasks;
  return usage;
}

}  // namespace vigil::watch
