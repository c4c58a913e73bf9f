// ProcTableService: vigild's process table for check_vigil. One /proc scan at
// start-up, then proc connector events (maze::ProcConnector, no fork filter)
// for every process on the host, including those vigild did not start:
//
//   fork (new process)  copy of the parent's facts, no /proc read
//   exec                /proc/<pid>/{stat,status,cmdline} of that process
//   uid / comm change   from the event itself
//   exit                marked exited; kept while /proc still lists it (an
//                       unreaped zombie); children re-read for their new ppid
//   events lost         (socket overflow) the table is rebuilt from /proc;
//                       the rest of that batch is dropped (older than the scan)
//
// Lazily: vigild does not wake for other processes' forks (an idle vigild
// stays at zero wakeups however busy the host is). The kernel queues the
// events in the socket's receive buffer (8 MiB, forced) and they are applied,
// in order, when check_vigil asks. A buffer that overflowed between two
// questions (ENOBUFS: roughly 10,000 events) makes the next question rebuild
// the table from /proc first — correct, at the price of one scan.
//
// Exited entries are confirmed gone (one access() each) a few at a time as
// later events are applied, and before an answer names them: a reaped
// process is never a candidate.
//
// Control command "procs": {"cmd":"procs","select":[{selector}, ...]} where a
// selector has any of pid, command, uid, ppid, args (substring), ereg (POSIX
// ERE on args); the reply is {"ok":true,"available":true,"pids":[...],
// "examined":N,"table":M}. Every queued event is applied before answering,
// so a process that existed before the request was sent is in the answer.
// Without the proc connector (no CAP_NET_ADMIN) the reply is
// {"ok":true,"available":false,"reason":...} and check_vigil scans /proc.
//
// What the table cannot see: a process that rewrites its own argv after exec
// (setproctitle) is matched by -a/--ereg on its exec-time arguments.
#ifndef VIGIL_SUPERVISOR_PROCTABLE_PROCTABLE_SERVICE_H_
#define VIGIL_SUPERVISOR_PROCTABLE_PROCTABLE_SERVICE_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/json.h"
#include "supervisor/maze/proc_connector.h"
#include "supervisor/proctable/process_table.h"

namespace vigil::proctable {

class ProcTableService {
 public:
  struct Stats {
    uint64_t events = 0;      // proc connector changes applied
    uint64_t proc_reads = 0;  // processes read from /proc (scan included)
    // Of proc_reads, those of a process an applied event named: its exec, a
    // fork from a parent the table does not know, a child whose parent exited.
    // Every other read is a scan's.
    uint64_t event_reads = 0;
    uint64_t rescans = 0;  // full scans after lost events
  };

  // Never fails: without the proc connector the service is unavailable and
  // says why. The receive buffer is room for a fork storm between two
  // questions (see above); tests shrink it to overflow it on purpose.
  static constexpr int kReceiveBufferBytes = 8 << 20;
  static std::unique_ptr<ProcTableService> Start(
      std::string proc_root = "/proc", int receive_buffer_bytes = kReceiveBufferBytes);
  ProcTableService(const ProcTableService&) = delete;
  ProcTableService& operator=(const ProcTableService&) = delete;

  bool available() const { return !unavailable_reason_; }
  // One line for vigild's start-up report.
  std::string Describe() const;
  // The "procs" control command.
  json::Value HandleProcs(const json::Value& request);

  // Applies every queued change now.
  void Sync();
  const ProcessTable& table() const { return table_; }
  const Stats& stats() const { return stats_; }

 private:
  explicit ProcTableService(std::string proc_root) : proc_root_(std::move(proc_root)) {}
  void Apply(const maze::ProcEvent& change);
  void Rescan();
  std::optional<ProcessFacts> ReadFacts(pid_t pid);
  std::optional<ProcessFacts> ReadForEvent(pid_t pid);
  void RefreshChildren(pid_t parent);
  void ConfirmExited(size_t budget);
  bool GoneFromProc(pid_t pid) const;
  // Erases the exited candidates that /proc no longer lists.
  void DropReaped(std::vector<pid_t>& candidates);

  std::string proc_root_;
  std::optional<maze::ProcConnector> connector_;
  std::optional<std::string> unavailable_reason_;
  ProcessTable table_;
  Stats stats_;
};

// check_procs' prog (-C) and args (-a) for a process, and its args once it
// is a zombie: what its ps line parses into.
struct PsKeys {
  std::string command;
  std::string args;
  std::string defunct_args;
};
PsKeys KeysFor(const std::string& comm, const std::string& cmdline);

}  // namespace vigil::proctable

#endif  // VIGIL_SUPERVISOR_PROCTABLE_PROCTABLE_SERVICE_H_
