#include "nagios/process_source.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/errno_status.h"

namespace vigil::nagios {
namespace {

// Reads a whole file with read(2) like check_procs' cmd_file_read does.
absl::StatusOr<std::string> ReadAll(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(absl::StrCat("open ", path), errno);
  std::string data;
  char chunk[4096];
  for (;;) {
    const ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      close(fd);
      return ErrnoStatus(absl::StrCat("read ", path), err);
    }
    if (n == 0) break;
    data.append(chunk, static_cast<size_t>(n));
  }
  close(fd);
  return data;
}

unsigned long StatusKib(absl::string_view status, absl::string_view key) {
  for (absl::string_view line : absl::StrSplit(status, '\n')) {
    if (absl::ConsumePrefix(&line, key)) {
      line = absl::StripAsciiWhitespace(absl::StripSuffix(
          absl::StripAsciiWhitespace(line), "kB"));
      unsigned long value = 0;
      if (absl::SimpleAtoi(line, &value)) return value;
    }
  }
  return 0;
}

}  // namespace

absl::StatusOr<std::vector<PsRow>> PsFileSource::Rows() {
  const int fd = open(path_.c_str(), O_RDONLY);
  if (fd < 0) {
    return absl::NotFoundError(
        absl::StrCat("Error opening ", path_, ": ", std::strerror(errno)));
  }
  std::string data;
  char chunk[4096];
  ssize_t n;
  while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
    data.append(chunk, static_cast<size_t>(n));
  }
  if (n < 0) {
    // _cmd_fetch_output reports and yields no lines at all.
    read_warning_ = absl::StrCat("read() returned ", n, ": ",
                                 std::strerror(errno), "\n");
    close(fd);
    return std::vector<PsRow>();
  }
  close(fd);
  return ParsePsOutput(data);
}

absl::StatusOr<KernelProcess> ReadKernelProcess(const std::string& proc_root,
                                                int pid) {
  const std::string dir = absl::StrCat(proc_root, "/", pid);
  auto stat = ReadAll(dir + "/stat");
  if (!stat.ok()) return stat.status();
  auto status = ReadAll(dir + "/status");
  if (!status.ok()) return status.status();
  auto cmdline = ReadAll(dir + "/cmdline");
  if (!cmdline.ok()) return cmdline.status();

  KernelProcess p;
  p.pid = pid;
  const size_t open_paren = stat->find('(');
  const size_t close_paren = stat->rfind(')');
  if (open_paren == std::string::npos || close_paren == std::string::npos ||
      close_paren < open_paren) {
    return absl::DataLossError(absl::StrCat(dir, "/stat: no (comm) field"));
  }
  p.comm = stat->substr(open_paren + 1, close_paren - open_paren - 1);
  // Fields after comm: state ppid pgrp session tty tpgid flags minflt
  // cminflt majflt cmajflt utime stime cutime cstime priority nice threads
  // itrealvalue starttime ...
  const std::vector<absl::string_view> f = absl::StrSplit(
      absl::string_view(*stat).substr(close_paren + 2), ' ', absl::SkipEmpty());
  if (f.size() < 20) {
    return absl::DataLossError(absl::StrCat(dir, "/stat: too few fields"));
  }
  unsigned long long utime = 0, stime = 0;
  bool ok = !f[0].empty();
  p.state = ok ? f[0][0] : '?';
  ok = ok && absl::SimpleAtoi(f[1], &p.ppid) && absl::SimpleAtoi(f[2], &p.pgrp) &&
       absl::SimpleAtoi(f[3], &p.session) && absl::SimpleAtoi(f[5], &p.tpgid) &&
       absl::SimpleAtoi(f[11], &utime) && absl::SimpleAtoi(f[12], &stime) &&
       absl::SimpleAtoi(f[16], &p.nice) && absl::SimpleAtoi(f[17], &p.threads) &&
       absl::SimpleAtoi(f[19], &p.start_ticks);
  if (!ok) {
    return absl::DataLossError(absl::StrCat(dir, "/stat: unparseable field"));
  }
  p.cpu_ticks = utime + stime;
  for (absl::string_view line : absl::StrSplit(*status, '\n')) {
    if (absl::ConsumePrefix(&line, "Uid:")) {
      const std::vector<absl::string_view> ids =
          absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
      if (ids.size() >= 2) (void)absl::SimpleAtoi(ids[1], &p.euid);
    }
  }
  p.vsz_kib = StatusKib(*status, "VmSize:");
  p.rss_kib = StatusKib(*status, "VmRSS:");
  p.locked_kib = StatusKib(*status, "VmLck:");
  p.cmdline = std::move(*cmdline);
  return p;
}

KernelProcess PsChildStandIn(const KernelProcess& self, const PsClock& clock,
                             int unused_pid) {
  KernelProcess ps;
  ps.pid = unused_pid;
  ps.ppid = self.pid;
  ps.pgrp = self.pgrp;
  ps.session = self.session;
  ps.tpgid = self.tpgid;
  ps.nice = self.nice;
  ps.state = 'R';
  ps.euid = self.euid;
  // What /bin/ps from procps-ng 4.0.2 measures of itself on Debian 12.
  ps.vsz_kib = 8548;
  ps.rss_kib = 4500;
  ps.start_ticks = clock.boot_ticks;
  ps.comm = "ps";
  for (const char* arg :
       {"/bin/ps", "axwwo", "stat uid pid ppid vsz rss pcpu etime comm args"}) {
    ps.cmdline.append(arg);
    ps.cmdline.push_back('\0');
  }
  return ps;
}

std::vector<PsRow> RowsFromKernelProcesses(
    const std::vector<KernelProcess>& processes, const PsClock& clock,
    int pid_width) {
  return ParsePsOutput(RenderPsOutput(processes, clock, pid_width));
}

int PidMax(const std::string& proc_root) {
  auto text = ReadAll(proc_root + "/sys/kernel/pid_max");
  int pid_max = 0;
  if (!text.ok() ||
      !absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &pid_max)) {
    return 32768;
  }
  return pid_max;
}

int PidColumnWidth(const std::string& proc_root) {
  return std::max(static_cast<int>(absl::StrCat(PidMax(proc_root)).size()), 5);
}

absl::StatusOr<PsClock> ReadPsClock(const std::string& proc_root) {
  auto uptime = ReadAll(proc_root + "/uptime");
  if (!uptime.ok()) return uptime.status();
  PsClock clock;
  double seconds = 0;
  if (std::sscanf(uptime->c_str(), "%lf", &seconds) != 1) {
    return absl::DataLossError(
        absl::StrCat(proc_root, "/uptime: no seconds field"));
  }
  clock.hertz = static_cast<unsigned long>(sysconf(_SC_CLK_TCK));
  clock.boot_ticks = static_cast<unsigned long long>(
      seconds * static_cast<double>(clock.hertz));
  return clock;
}

absl::StatusOr<std::vector<PsRow>> ProcSource::Rows() {
  auto clock = ReadPsClock(proc_root_);
  if (!clock.ok()) return clock.status();
  std::unique_ptr<DIR, int (*)(DIR*)> dir(opendir(proc_root_.c_str()),
                                          closedir);
  if (!dir) return ErrnoStatus(absl::StrCat("opendir ", proc_root_), errno);
  std::vector<int> pids;
  while (const dirent* entry = readdir(dir.get())) {
    int pid = 0;
    if (absl::SimpleAtoi(entry->d_name, &pid) && pid > 0) pids.push_back(pid);
  }
  std::sort(pids.begin(), pids.end());
  std::vector<KernelProcess> processes;
  processes.reserve(pids.size() + 1);
  const int self_pid = getpid();
  std::optional<KernelProcess> self;
  for (int pid : pids) {
    auto process = ReadKernelProcess(proc_root_, pid);
    if (!process.ok()) continue;  // exited while we scanned, as with ps
    if (pid == self_pid) self = *process;
    processes.push_back(*std::move(process));
  }
  if (self) {
    processes.push_back(PsChildStandIn(*self, *clock, PidMax(proc_root_)));
  }
  return RowsFromKernelProcesses(processes, *clock, PidColumnWidth(proc_root_));
}

}  // namespace vigil::nagios
