// The ps text check_procs consumes: `ps axwwo 'stat uid pid ppid vsz rss pcpu
// etime comm args'` as procps-ng 4.0.2 prints it, and check_procs 2.3.3's
// line parser over that text (sscanf "%s %d %d %d %d %d %f %s %s %n", the
// zombie short-line rule, basename of comm, args = rest of line stripped).
//
// Every process source ends in the same parser, so a /proc scan, a vigild
// table and an --input-file replay are evaluated identically.
#ifndef VIGIL_NAGIOS_PS_OUTPUT_H_
#define VIGIL_NAGIOS_PS_OUTPUT_H_

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

namespace vigil::nagios {

// One process as check_procs sees it after parsing its ps line.
struct ProcessRecord {
  std::string stat;  // e.g. "Ssl", "Z", "I<"
  int uid = 0;       // effective uid
  int pid = 0;
  int ppid = 0;
  int vsz = 0;       // KiB
  int rss = 0;       // KiB
  float pcpu = 0;    // lifetime average, as ps rounds it
  std::string etime; // "[[DD-]hh:]mm:ss"
  std::string prog;  // basename() of the first word of comm
  std::string args;  // rest of the line, trailing whitespace stripped
};

// One ps output line after the header.
struct PsRow {
  std::string raw_line;  // echoed by -vvv
  bool parsed = false;   // false: "Not parseable" (skipped)
  ProcessRecord record;
};

// Parses ps output text (header line first) the way check_procs 2.3.3 does,
// including stale fields carried over from the previous line when a short
// zombie line is accepted.
std::vector<PsRow> ParsePsOutput(absl::string_view text);

// gnulib base_name(): drops everything up to the last '/' that is followed by
// something, keeps one trailing slash.
std::string BaseName(absl::string_view name);

// Kernel facts for one process, as /proc/<pid>/{stat,status,cmdline} expose
// them; all a ps line is computed from.
struct KernelProcess {
  int pid = 0;
  int ppid = 0;
  int pgrp = 0;
  int session = 0;
  int tpgid = -1;
  int threads = 1;
  long nice = 0;
  char state = '?';
  uint32_t euid = 0;
  unsigned long vsz_kib = 0;
  unsigned long rss_kib = 0;
  unsigned long locked_kib = 0;
  unsigned long long cpu_ticks = 0;    // utime + stime
  unsigned long long start_ticks = 0;  // since boot
  std::string comm;     // raw task name
  std::string cmdline;  // raw bytes, NUL separated, may be empty
};

// What ps reads once per run: clock ticks since boot (procps computes
// `(unsigned long long)(uptime_seconds * hertz)` from /proc/uptime) and ticks/s.
struct PsClock {
  unsigned long long boot_ticks = 0;
  unsigned long hertz = 100;
};

// Renders header + one line per process with procps' column widths and
// overflow rules. `pid_width` is the width procps derives from pid_max.
std::string RenderPsOutput(const std::vector<KernelProcess>& processes,
                           const PsClock& clock, int pid_width);

// The individual procps column texts, exposed for tests.
std::string PsStatText(const KernelProcess& p);
std::string PsPcpuText(const KernelProcess& p, const PsClock& clock);
std::string PsEtimeText(const KernelProcess& p, const PsClock& clock);
std::string PsArgsText(const KernelProcess& p);
std::string PsCommText(const KernelProcess& p);

}  // namespace vigil::nagios

#endif  // VIGIL_NAGIOS_PS_OUTPUT_H_
