// check_procs 2.3.3's evaluation over parsed ps rows: self/parent exclusion,
// the -k kernel-thread quirk, AND of all given filters, per-process metric
// thresholds, verbose traces; and the exact result line with perfdata.
// Plain code over plain data: the only outside input is ExeIdentity.
#ifndef VIGIL_NAGIOS_EVALUATOR_H_
#define VIGIL_NAGIOS_EVALUATOR_H_

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "nagios/options.h"
#include "nagios/ps_output.h"
#include "nagios/range.h"

namespace vigil::nagios {

struct FileIdentity {
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator==(const FileIdentity&) const = default;
};

// stat("/proc/<pid>/exe"); nullopt when that fails.
using ExeIdentityFn = std::function<std::optional<FileIdentity>(int pid)>;

// Who is asking: check_procs ignores itself and its parent.
struct Self {
  int pid = 0;
  int ppid = 0;
  // Executable of this process; nullopt means compare by pid (-T, or when
  // /proc/self/exe cannot be stat'ed).
  std::optional<FileIdentity> exe;
};

struct Evaluation {
  std::string trace;  // verbose lines printed while scanning, in order
  int found = 0;      // rows that survived exclusions
  int procs = 0;      // rows matching every filter
  int warn = 0;
  int crit = 0;
  State state = kUnknown;
  std::string fails;  // "prog1, prog2" for -v
};

Evaluation Evaluate(const CheckConfig& config, const std::vector<PsRow>& rows,
                    const Self& self, const ExeIdentityFn& exe_identity);

// check_procs' convert_to_seconds(); nullopt for the 49710-day kernel bug
// case (which counts as 0 seconds).
std::optional<int> ElapsedSeconds(const std::string& etime);

// Everything printed after the scan: the result line, or "Unable to read
// output\n" (exit 3) when no row survived.
struct Report {
  std::string text;
  int exit_code = 3;
};
Report FormatReport(const CheckConfig& config, const Evaluation& evaluation);

}  // namespace vigil::nagios

#endif  // VIGIL_NAGIOS_EVALUATOR_H_
