// check_procs 2.3.3's command line: getopt_long with its exact option table,
// legacy positionals, the per-option validation texts, and the order in which
// errors win (§1 of the spec).
#ifndef VIGIL_NAGIOS_OPTIONS_H_
#define VIGIL_NAGIOS_OPTIONS_H_

#include <regex.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nagios/range.h"

namespace vigil::nagios {

// Filter bits, as check_procs numbers them.
enum Filter : int {
  kFilterAll = 1,
  kFilterStat = 2,
  kFilterPpid = 4,
  kFilterUser = 8,
  kFilterProg = 16,
  kFilterArgs = 32,
  kFilterVsz = 64,
  kFilterRss = 128,
  kFilterPcpu = 256,
  kFilterEregArgs = 1024,
};

enum class Metric { kProcs, kVsz, kRss, kCpu, kElapsed };

// A compiled POSIX extended regex (REG_EXTENDED | REG_NOSUB); owns regex_t.
class PosixRegex {
 public:
  // nullptr with `error` set to regerror()'s text when it does not compile.
  static std::unique_ptr<PosixRegex> Compile(const std::string& pattern,
                                             std::string* error);
  ~PosixRegex() { regfree(&regex_); }
  PosixRegex(const PosixRegex&) = delete;
  PosixRegex& operator=(const PosixRegex&) = delete;
  bool Matches(const std::string& text) const;
  // The pattern as compiled (sent to vigild, which compiles it the same way).
  const std::string& pattern() const { return pattern_; }

 private:
  PosixRegex() = default;
  regex_t regex_;
  std::string pattern_;
};

struct CheckConfig {
  int filters = kFilterAll;  // bitmask; kFilterAll when no filter was given
  Metric metric = Metric::kProcs;
  std::string metric_name = "PROCS";
  std::optional<std::string> warning_text;   // echoed in perfdata
  std::optional<std::string> critical_text;
  Thresholds thresholds;
  std::string state;    // -s: substring of ps STAT
  std::string command;  // -C: exact basename(comm)
  std::string args;     // -a: substring of args
  std::shared_ptr<PosixRegex> args_regex;  // --ereg-argument-array
  int ppid = 0;
  int uid = 0;
  int vsz = 0;
  int rss = 0;
  float pcpu = 0;
  std::string description;  // "command name 'x', UID = 0 (root)", ...
  int verbose = 0;
  bool kthread_filter = false;
  bool traditional_self_filter = false;  // -T
  int timeout_seconds = 10;
  std::optional<std::string> input_file;
};

// Either a configuration to run, or text to print and an exit code (help,
// version, usage errors). getopt's own diagnostics go to stderr directly.
struct ParsedCommandLine {
  std::optional<CheckConfig> config;
  std::string output;  // stdout text when !config
  int exit_code = 3;
};

// `args[0]` is argv[0] as invoked (used in getopt's messages).
ParsedCommandLine ParseCommandLine(std::vector<std::string> args);

}  // namespace vigil::nagios

#endif  // VIGIL_NAGIOS_OPTIONS_H_
