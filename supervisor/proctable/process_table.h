// ProcessTable: vigild's picture of every process on the host, as plain data
// (no kernel access). ProcTableService fills it from one /proc scan and then
// from proc connector events; queries return the pids that may match a
// check_procs filter, in time proportional to the answer where an index
// applies:
//
//   command (check_procs -C: basename of ps' comm column)  -> by_command_
//   effective uid (-u)                                     -> by_uid_
//   parent pid (-p)                                        -> by_ppid_
//   pid                                                    -> entries_
//
// Arguments (-a, --ereg-argument-array) have no index: a query on them alone
// examines every entry, in memory. Several filters in one selector are ANDed;
// the smallest index is walked and the others are tested on its entries.
//
// Answers are candidates, not verdicts: the caller re-reads the dynamic
// fields (state, memory, CPU) from /proc for the pids returned and evaluates
// there. An entry whose process exited stays until its pid is confirmed gone
// from /proc (it may be an unreaped zombie, which check_procs counts).
#ifndef VIGIL_SUPERVISOR_PROCTABLE_PROCESS_TABLE_H_
#define VIGIL_SUPERVISOR_PROCTABLE_PROCESS_TABLE_H_

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"

namespace vigil::proctable {

// The static facts of one process: what only fork, exec, exit, setuid and
// prctl(PR_SET_NAME) change.
struct ProcessFacts {
  pid_t pid = 0;
  pid_t ppid = 0;
  uint32_t euid = 0;
  std::string comm;     // raw task name
  std::string cmdline;  // raw, NUL separated
  // check_procs' view: the prog (-C) and args (-a) a ps line of this process
  // parses into; derived by the service.
  std::string command;
  std::string args;
  // args once the process is a zombie ("[comm] <defunct>"), set on exit.
  std::string defunct_args;
  bool exited = false;
};

// One way of selecting processes; unset fields do not filter. An empty
// selector selects every process.
struct Selector {
  std::optional<pid_t> pid;
  std::optional<std::string> command;
  std::optional<uint32_t> euid;
  std::optional<pid_t> ppid;
  std::optional<std::string> args_substring;
  // An args predicate (a compiled regex, say).
  std::function<bool(const std::string& args)> args_match;
};

struct QueryResult {
  std::vector<pid_t> pids;  // ascending, unique
  size_t examined = 0;      // entries looked at
};

class ProcessTable {
 public:
  // Inserts or replaces the entry for facts.pid.
  void Put(ProcessFacts facts);
  void Erase(pid_t pid);
  const ProcessFacts* Find(pid_t pid) const;
  size_t size() const { return entries_.size(); }
  void Clear();

  // The process exited (maybe as a zombie still listed in /proc).
  void MarkExited(pid_t pid, std::string defunct_args);
  // Up to `budget` exited pids, oldest first, each removed from the queue of
  // pids to confirm; the caller erases those gone from /proc and hands the
  // rest back with RequeueExited().
  std::vector<pid_t> TakeExitedToConfirm(size_t budget);
  void RequeueExited(pid_t pid);

  std::vector<pid_t> Children(pid_t ppid) const;

  // The union of what each selector selects.
  QueryResult Query(const std::vector<Selector>& selectors) const;

 private:
  void Index(const ProcessFacts& facts);
  void Unindex(const ProcessFacts& facts);
  void Select(const Selector& selector, absl::flat_hash_set<pid_t>& out,
              size_t& examined) const;

  absl::flat_hash_map<pid_t, ProcessFacts> entries_;
  absl::flat_hash_map<std::string, absl::flat_hash_set<pid_t>> by_command_;
  absl::flat_hash_map<uint32_t, absl::flat_hash_set<pid_t>> by_uid_;
  absl::flat_hash_map<pid_t, absl::flat_hash_set<pid_t>> by_ppid_;
  std::deque<pid_t> exited_;
};

// Whether `facts` satisfies every filter of `selector`.
bool Matches(const Selector& selector, const ProcessFacts& facts);

}  // namespace vigil::proctable

#endif  // VIGIL_SUPERVISOR_PROCTABLE_PROCESS_TABLE_H_
