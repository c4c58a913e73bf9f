// Where check_vigil gets its process list from. Every source yields the rows
// check_procs 2.3.3 would have parsed from `ps axwwo 'stat uid pid ppid vsz
// rss pcpu etime comm args'`, so evaluation never depends on the source.
//
// To answer from another process table (e.g. vigild's event-maintained one),
// implement ProcessSource and build rows with RowsFromKernelProcesses().
#ifndef VIGIL_NAGIOS_PROCESS_SOURCE_H_
#define VIGIL_NAGIOS_PROCESS_SOURCE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nagios/ps_output.h"

namespace vigil::nagios {

class ProcessSource {
 public:
  virtual ~ProcessSource() = default;
  // Rows in ps order (header excluded). An error's message is printed
  // verbatim by the caller.
  virtual absl::StatusOr<std::vector<PsRow>> Rows() = 0;
};

// Replays a file holding ps output (the hidden --input-file option).
class PsFileSource : public ProcessSource {
 public:
  explicit PsFileSource(std::string path) : path_(std::move(path)) {}
  // Error message: "Error opening <path>: <strerror>" (no newline), as
  // check_procs prints it.
  absl::StatusOr<std::vector<PsRow>> Rows() override;
  // check_procs prints "read() returned -1: <strerror>\n" when the open
  // file cannot be read (e.g. a directory); the caller echoes this.
  const std::string& read_warning() const { return read_warning_; }

 private:
  std::string path_;
  std::string read_warning_;
};

// What /proc/<pid>/{stat,status,cmdline} say about one process; nullopt-like
// error when the process vanished or /proc is not readable.
absl::StatusOr<KernelProcess> ReadKernelProcess(const std::string& proc_root,
                                                int pid);

// The ps process check_procs 2.3.3 forks is itself in the list it reads (and
// is counted). Sources that do not fork ps add this stand-in for it, as child
// of `self`, so counts stay identical. Its pid is `unused_pid` (pid_max: never
// a live process, so it cannot be mistaken for another one).
KernelProcess PsChildStandIn(const KernelProcess& self, const PsClock& clock,
                             int unused_pid);

// kernel.pid_max (32768 when unreadable).
int PidMax(const std::string& proc_root);

// Rows for processes (already in pid order) exactly as ps would have listed
// them and check_procs parsed them.
std::vector<PsRow> RowsFromKernelProcesses(
    const std::vector<KernelProcess>& processes, const PsClock& clock,
    int pid_width);

// procps' PID column width: the number of digits of kernel.pid_max, at
// least 5.
int PidColumnWidth(const std::string& proc_root);

// Reads whole seconds since boot and the clock tick rate.
absl::StatusOr<PsClock> ReadPsClock(const std::string& proc_root);

// Scans /proc directly (no fork of ps).
class ProcSource : public ProcessSource {
 public:
  explicit ProcSource(std::string proc_root = "/proc")
      : proc_root_(std::move(proc_root)) {}
  // Error message names /proc and the errno text.
  absl::StatusOr<std::vector<PsRow>> Rows() override;

 private:
  std::string proc_root_;
};

}  // namespace vigil::nagios

#endif  // VIGIL_NAGIOS_PROCESS_SOURCE_H_
