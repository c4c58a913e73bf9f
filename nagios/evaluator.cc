#include "nagios/evaluator.h"

#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace vigil::nagios {
namespace {

std::string Describe(const ProcessRecord& r) {
  return absl::StrFormat(
      "uid=%d vsz=%d rss=%d pid=%d ppid=%d pcpu=%.2f stat=%s etime=%s "
      "prog=%s args=%s",
      r.uid, r.vsz, r.rss, r.pid, r.ppid, r.pcpu, r.stat, r.etime, r.prog,
      r.args);
}

int MatchingFilters(const CheckConfig& c, const ProcessRecord& r) {
  int sum = 0;
  if ((c.filters & kFilterStat) && r.stat.find(c.state) != std::string::npos)
    sum |= kFilterStat;
  if ((c.filters & kFilterArgs) && r.args.find(c.args) != std::string::npos)
    sum |= kFilterArgs;
  if ((c.filters & kFilterEregArgs) && c.args_regex &&
      c.args_regex->Matches(r.args))
    sum |= kFilterEregArgs;
  if ((c.filters & kFilterProg) && c.command == r.prog) sum |= kFilterProg;
  if ((c.filters & kFilterPpid) && r.ppid == c.ppid) sum |= kFilterPpid;
  if ((c.filters & kFilterUser) && r.uid == c.uid) sum |= kFilterUser;
  if ((c.filters & kFilterVsz) && r.vsz >= c.vsz) sum |= kFilterVsz;
  if ((c.filters & kFilterRss) && r.rss >= c.rss) sum |= kFilterRss;
  if ((c.filters & kFilterPcpu) && r.pcpu >= c.pcpu) sum |= kFilterPcpu;
  return sum;
}

double MetricValue(Metric metric, const ProcessRecord& r, int seconds) {
  switch (metric) {
    case Metric::kVsz:
      return static_cast<double>(r.vsz);
    case Metric::kRss:
      return static_cast<double>(r.rss);
    case Metric::kCpu:
      return r.pcpu;
    case Metric::kElapsed:
      return static_cast<double>(seconds);
    case Metric::kProcs:
      break;
  }
  return 0;
}

}  // namespace

std::optional<int> ElapsedSeconds(const std::string& etime) {
  int hyphens = 0, colons = 0;
  for (char c : etime) {
    if (c == '-') ++hyphens;
    if (c == ':') ++colons;
  }
  int days = 0, hours = 0, minutes = 0, seconds = 0;
  if (hyphens > 0) {
    std::sscanf(etime.c_str(), "%d-%d:%d:%d", &days, &hours, &minutes,
                &seconds);
    if (days == 49710) return std::nullopt;
  } else if (colons == 2) {
    std::sscanf(etime.c_str(), "%d:%d:%d", &hours, &minutes, &seconds);
  } else if (colons == 1) {
    std::sscanf(etime.c_str(), "%d:%d", &minutes, &seconds);
  }
  // int arithmetic wraps like the C original on absurd inputs.
  const unsigned total = static_cast<unsigned>(days) * 86400u +
                         static_cast<unsigned>(hours) * 3600u +
                         static_cast<unsigned>(minutes) * 60u +
                         static_cast<unsigned>(seconds);
  return static_cast<int>(total);
}

Evaluation Evaluate(const CheckConfig& config, const std::vector<PsRow>& rows,
                    const Self& self, const ExeIdentityFn& exe_identity) {
  Evaluation e;
  int kthread_ppid = 0;
  for (const PsRow& row : rows) {
    if (config.verbose >= 3) e.trace += row.raw_line;
    if (!row.parsed) {
      // 2.3.3 prints an uninitialised buffer here; observed empty.
      if (config.verbose) e.trace += "Not parseable: ";
      continue;
    }
    const ProcessRecord& r = row.record;
    const std::optional<int> elapsed = ElapsedSeconds(r.etime);
    const int seconds = elapsed.value_or(0);
    if (config.verbose >= 3 && config.metric == Metric::kElapsed && elapsed) {
      absl::StrAppendFormat(&e.trace, "seconds: %d\n", seconds);
    }
    if (config.verbose >= 3) {
      absl::StrAppendFormat(&e.trace, "proc#=%d %s\n", e.procs, Describe(r));
    }
    const bool is_self =
        self.exe ? exe_identity(r.pid) == self.exe : r.pid == self.pid;
    if (is_self) {
      if (config.verbose >= 3) e.trace += "not considering - is myself or gone\n";
      continue;
    }
    if (r.pid == self.ppid) {
      if (config.verbose >= 3) e.trace += "not considering - is parent\n";
      continue;
    }
    if (config.kthread_filter) {
      if (kthread_ppid == 0 && r.prog == "kthreadd") kthread_ppid = r.pid;
      if (r.ppid == kthread_ppid) {
        if (config.verbose >= 2) {
          absl::StrAppendFormat(&e.trace,
                                "Ignore kernel thread: pid=%d ppid=%d "
                                "prog=%s args=%s\n",
                                r.pid, r.ppid, r.prog, r.args);
        }
        continue;
      }
    }
    const int matching = MatchingFilters(config, r);
    ++e.found;
    if (config.filters != matching && config.filters != kFilterAll) continue;
    ++e.procs;
    if (config.verbose >= 2) {
      absl::StrAppend(&e.trace, "Matched: ", Describe(r), "\n");
    }
    if (config.metric == Metric::kProcs) continue;
    const State s =
        GetStatus(MetricValue(config.metric, r, seconds), config.thresholds);
    if (s == kWarning) ++e.warn;
    if (s == kCritical) ++e.crit;
    if (s == kWarning || s == kCritical) {
      absl::StrAppend(&e.fails, e.fails.empty() ? "" : ", ", r.prog);
      e.state = MaxState(e.state, s);
    }
  }
  return e;
}

Report FormatReport(const CheckConfig& config, const Evaluation& e) {
  if (e.found == 0) return {"Unable to read output\n", kUnknown};
  State state = e.state == kUnknown ? kOk : e.state;
  const bool procs_metric = config.metric == Metric::kProcs;
  if (procs_metric) {
    state = MaxState(state, GetStatus(static_cast<double>(e.procs),
                                      config.thresholds));
  }
  std::string line = config.metric_name;
  switch (state) {
    case kOk:
      line += " OK: ";
      break;
    case kWarning:
      line += " WARNING: ";
      if (!procs_metric) absl::StrAppendFormat(&line, "%d warn out of ", e.warn);
      break;
    case kCritical:
      line += " CRITICAL: ";
      if (!procs_metric) {
        absl::StrAppendFormat(&line, "%d crit, %d warn out of ", e.crit, e.warn);
      }
      break;
    case kUnknown:
      break;
  }
  absl::StrAppend(&line, e.procs, e.procs == 1 ? " process" : " processes");
  if (!config.description.empty()) {
    absl::StrAppend(&line, " with ", config.description);
  }
  if (config.verbose >= 1 && !e.fails.empty()) {
    absl::StrAppend(&line, " [", e.fails, "]");
  }
  if (procs_metric) {
    absl::StrAppendFormat(&line, " | procs=%d;%s;%s;0;", e.procs,
                          config.warning_text.value_or(""),
                          config.critical_text.value_or(""));
  } else {
    absl::StrAppendFormat(
        &line, " | procs=%d;;;0; procs_warn=%d;;;0; procs_crit=%d;;;0;",
        e.procs, e.warn, e.crit);
  }
  line += "\n";
  return {std::move(line), state};
}

}  // namespace vigil::nagios
